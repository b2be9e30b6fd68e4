"""Hard synthetic rice scenes with truth: the test bed of the rice methods and of ``make accuracy``.

Each named scene (:data:`SCENE_NAMES`) reproduces what breaks rice mapping on real data:
irregular Sentinel-1 series from two passes with missing passes and single-look-like speckle,
cloudy Sentinel-2 series with 8-15 clear dates and haze or shadow that the scene
classification misses, and non-rice land with its own flood-and-grow signature (seasonal
wetland, shrimp ponds, flood-irrigated orchards, lotus, water hyacinth, sugarcane, upland crops
after heavy rain, fallow with puddles). ``docs/scenes.md`` lists the published figures each
part is built from.

Examples
--------
>>> from agromap.scenes import SCENE_NAMES, make_scene
>>> sc = make_scene("wetland_confusion", size=32, seed=0)
>>> sc.s1.vh.dims, sc.truth.rice.dtype.name
(('time', 'y', 'x'), 'uint8')
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from ..errors import ConfigError
from ..io.grid import attach_geobox
from ..testing import make_geobox
from .acquisitions import s1_schedule, s2_schedule
from .catalog import SCENE_NAMES, SCENES, SceneConfig
from .landscape import COVER_NAMES, RICE_CODES
from .render import s1_block, s2_block, truth_block
from .signatures import S2_BANDS

__all__ = ["SCENE_NAMES", "COVER_NAMES", "RICE_CODES", "S2_BANDS", "Scene", "make_scene", "scene_config",
           "series_window"]

N_TRUTH_SEASONS = 3
_CRS, _ORIGIN = "EPSG:32648", (580_000.0, 1_120_000.0)  # UTM 48N, lower Mekong


@dataclass(frozen=True)
class Scene:
    """One rendered scene: lazy sensor stacks and the known truth on one grid."""

    name: str
    description: str
    s2: xr.Dataset | None
    """``(time, y, x)`` float32 reflectance (blue, green, red, nir, swir16, swir22; 0-1) and
    ``scl`` uint8 Sen2Cor classes; cloudy pixels keep cloud reflectance."""
    s1: xr.Dataset | None
    """``(time, y, x)`` float32 ``vv``, ``vh`` in linear power (``units="linear"``); ``orbit``
    coordinate on ``time`` ("ascending"/"descending")."""
    truth: xr.Dataset
    """``(y, x)``: ``rice`` uint8 0/1, ``cover`` uint8 (:data:`COVER_NAMES`), ``edge`` bool
    (mixed pixel at a field boundary), ``field_id`` uint32; ``transplant_doy``
    ``(season, y, x)`` float32 day of year of transplanting (sowing for direct-seeded rice)
    of each season established within the scene's dates, NaN if none."""
    cover_names: dict[int, str]
    config: SceneConfig


def scene_config(name: str) -> SceneConfig:
    """The definition of a named scene (:class:`~agromap.scenes.catalog.SceneConfig`)."""
    try:
        return SCENES[name]
    except KeyError:
        raise ConfigError(f"unknown scene {name!r}; choose one of {', '.join(SCENE_NAMES)}.") from None


def series_window(series_days: int | tuple[int, int] | Sequence[int] | None) -> tuple[int, int] | None:
    """The days ``(start, end)`` of a series a scene keeps: ``N`` -> ``(0, N)``, None -> None (every date).

    Days count from the scene's first date (0); the window keeps ``start <= day < end``.
    """
    if series_days is None:
        return None
    lo, hi = (0, series_days) if isinstance(series_days, int | np.integer) else tuple(series_days)
    if not (0 <= int(lo) < int(hi)):
        raise ConfigError(f"series_days must be N > 0 or (start, end) with 0 <= start < end, got {series_days!r}.")
    return int(lo), int(hi)


def _in_window(plan: tuple[Any, ...], cfg: SceneConfig, window: tuple[int, int] | None) -> tuple[Any, ...]:
    """The acquisitions of ``plan`` (each with a ``date``) whose day since ``cfg.start`` is in ``window``."""
    if window is None:
        return plan
    first = _dt.date.fromisoformat(cfg.start)
    return tuple(p for p in plan if window[0] <= (_dt.date.fromisoformat(p.date) - first).days < window[1])


def _stack(func: Callable[..., np.ndarray], args: tuple[Any, ...], n_vars: int, n_time: int, size: int,
           chunk: int, time_chunk: int | None, name: str) -> da.Array:
    """A lazy ``(n_vars, time, y, x)`` float32 array rendered block by block by ``func``."""
    sp = da.core.normalize_chunks((chunk, chunk), (size, size))
    tch = da.core.normalize_chunks((time_chunk or max(n_time, 1),), (n_time,))[0]
    return da.map_blocks(func, *args, chunks=((n_vars,), tch, *sp), dtype=np.float32,
                         meta=np.empty((0, 0, 0, 0), dtype=np.float32),
                         name=f"{name}-{da.core.tokenize(*args, size, chunk, time_chunk)}")


def make_scene(
    name: str,
    size: int = 96,
    seed: int = 0,
    *,
    chunk: int = 128,
    time_chunk: int | None = None,
    res: float = 10.0,
    calendar_shift: int = 0,
    series_days: int | tuple[int, int] | None = None,
) -> Scene:
    """Build a named hard scene (lazy, dask-backed; deterministic for a given seed).

    Parameters
    ----------
    name : str
        One of :data:`SCENE_NAMES`.
    size : int
        Scene edge in pixels (square). Tests use 64-128; 96 px renders in well under 2 s.
    seed : int
        Landscape, weather and acquisition draws; values never depend on ``chunk``/``time_chunk``.
    chunk, time_chunk : int
        Spatial dask chunk edge and dates per chunk (default: all dates in one chunk).
    res : float
        Pixel size in metres (UTM zone 48N grid).
    calendar_shift : int
        Days the scene's whole local calendar is moved later against its acquisitions and weather
        (:attr:`~agromap.scenes.catalog.SceneConfig.calendar_shift`); 0: the scene as defined.
    series_days : int or (int, int), optional
        Keep only the acquisitions of both sensors inside a window of the series, in days counted
        from the scene's first date (day 0): ``N`` keeps days 0 to N - 1, ``(start, end)`` days
        ``start`` to ``end - 1`` (:func:`series_window`). A desk's series rarely spans a whole
        year (about 76 Sentinel-1 dates over 10 months is typical), so it may cut a season at
        both ends. The landscape, the weather of every kept date and the truth are those of the
        whole scene: the crops outside the window are still in the ground. None: every date.

    Returns
    -------
    Scene
    """
    cfg = scene_config(name)
    if calendar_shift % 365:
        cfg = replace(cfg, calendar_shift=int(calendar_shift) % 365)
    if size < 8 or chunk < 1:
        raise ConfigError(f"size must be >= 8 and chunk >= 1, got size={size}, chunk={chunk}.")
    gbox = make_geobox((size, size), crs=_CRS, res=res, origin=_ORIGIN)
    window = series_window(series_days)

    # Every date renders from its own date alone, so dropping dates from the plans before
    # rendering gives exactly the whole scene's values on the kept dates.
    passes = _in_window(s1_schedule(cfg, seed), cfg, window)
    arr = _stack(s1_block, (cfg, seed, passes), 2, len(passes), size, chunk, time_chunk, f"scene-s1-{name}")
    times = np.array([np.datetime64(p.date, "ns") for p in passes])
    orbit = xr.DataArray([p.orbit for p in passes], dims="time")
    s1 = xr.Dataset({
        v: attach_geobox(xr.DataArray(arr[i], dims=("time", "y", "x"), coords={"time": times, "orbit": orbit}), gbox)
        for i, v in enumerate(("vv", "vh"))
    })
    for v in ("vv", "vh"):
        s1[v].attrs.update(units="linear", long_name=f"backscatter {v.upper()} (linear power)")
    s1.attrs.update(platform="sentinel-1 (synthetic)", scene=name, seed=seed, enl=cfg.s1.enl)

    dates = _in_window(s2_schedule(cfg, seed), cfg, window)
    if window is not None and not (passes and dates):
        raise ConfigError(f"series_days={series_days} keeps {len(passes)} Sentinel-1 and {len(dates)} Sentinel-2 "
                          f"dates of scene {name!r} ({cfg.start} - {cfg.end}); both sensors need at least one.")
    nb = len(S2_BANDS)
    arr = _stack(s2_block, (cfg, seed, dates), nb + 1, len(dates), size, chunk, time_chunk, f"scene-s2-{name}")
    times = np.array([np.datetime64(d.date, "ns") for d in dates])
    s2_vars = {}
    for i, b in enumerate((*S2_BANDS, "scl")):
        a = arr[i].astype(np.uint8) if b == "scl" else arr[i]
        s2_vars[b] = attach_geobox(xr.DataArray(a, dims=("time", "y", "x"), coords={"time": times}), gbox)
    s2 = xr.Dataset(s2_vars)
    for b in S2_BANDS:
        s2[b].attrs.update(units="1", long_name=f"surface reflectance ({b})")
    s2.scl.attrs.update(long_name="Sen2Cor scene classification", nodata=0)
    s2.attrs.update(platform="sentinel-2 (synthetic)", scene=name, seed=seed)
    if window is not None:
        for ds in (s1, s2):
            ds.attrs["series_days"] = f"{window[0]}-{window[1]}"

    sp = da.core.normalize_chunks((chunk, chunk), (size, size))
    n_layers = 4 + N_TRUTH_SEASONS
    t = da.map_blocks(truth_block, cfg, seed, N_TRUTH_SEASONS, chunks=((n_layers,), *sp), dtype=np.float32,
                      meta=np.empty((0, 0, 0), dtype=np.float32),
                      name=f"scene-truth-{name}-{da.core.tokenize(cfg, seed, size, chunk)}")

    def layer(i: int, dtype: type) -> xr.DataArray:
        return attach_geobox(xr.DataArray(t[i].astype(dtype), dims=("y", "x")), gbox)

    truth = xr.Dataset({
        "rice": layer(1, np.uint8),
        "cover": layer(0, np.uint8),
        "edge": layer(2, np.bool_),
        "field_id": layer(3, np.uint32),
        "transplant_doy": attach_geobox(xr.DataArray(t[4:], dims=("season", "y", "x")), gbox),
    })
    truth.cover.attrs.update(flag_values=list(COVER_NAMES), flag_meanings=" ".join(COVER_NAMES.values()))
    truth.transplant_doy.attrs.update(units="day of year", long_name="transplanting (or sowing) day of year")
    truth.attrs.update(scene=name, seed=seed)
    return Scene(name=name, description=cfg.description, s2=s2, s1=s1, truth=truth,
                 cover_names=dict(COVER_NAMES), config=cfg)
