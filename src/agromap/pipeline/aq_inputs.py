"""Loaders of the air-quality inputs: S5P L2 swaths binned daily, L3 rasters, AOD rasters.

``kind: s5p_l2``, ``s5p_l3`` and ``aod``, as registered in :mod:`agromap.pipeline.input_registry`.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, InputError
from ..io.grid import geobox_from_spec
from ..io.scene import Scene
from .config import AreaConfig, RunConfig
from .input_registry import InputLoader

__all__ = ["LOADERS"]


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def _expand(cfg: RunConfig, patterns: list[str]) -> list[str]:
    paths: list[str] = []
    for pattern in patterns:
        full = str(cfg.resolve(pattern))
        hits = sorted(glob.glob(full)) if any(c in pattern for c in "*?[") else [full]
        if not hits:
            raise InputError(f"no file matches {pattern!r} (resolved to {full}).")
        paths.extend(hits)
    return paths


def _load_s5p_l2(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """One scene per UTC day of QA-filtered columns binned onto the area's declared grid."""
    from ..airquality.s5p import grid_s5p

    spec = area.grid.spec(cfg.chunk)
    if spec is None or spec.bounds is None:
        raise ConfigError(f"area {area.name}: Sentinel-5P swaths need a declared grid (crs EPSG:4326, "
                          "resolution in degrees, bounds) to be binned onto.")
    gbox = geobox_from_spec(spec)
    daily = grid_s5p(_expand(cfg, inp.paths), gbox, product=inp.product, qa_threshold=inp.qa_threshold,
                     method=inp.method)
    band = next(str(v) for v in daily.data_vars if v not in ("weight", "count"))
    scenes = []
    for i, t in enumerate(pd.to_datetime(daily["time"].values)):
        day = daily.isel(time=i).drop_vars("time")
        bands = {band: day[band], f"{band}_weight": day["weight"], f"{band}_count": day["count"]}
        scenes.append(Scene(f"s5p-{band}-{t:%Y%m%d}", _utc(t), bands,
                            {"loader": "s5p_l2", "qa_filter": daily.attrs.get("QA_FILTER"),
                             "bin_method": daily.attrs.get("bin_method"), "files": daily.attrs.get("source")}))
    return scenes


def _load_s5p_l3(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """One scene of a gridded Level-3 column raster, converted from its declared unit."""
    from ..io.s5p_read import open_l3_raster
    from ..sensors.s5p import S5P_PRODUCTS

    layer = S5P_PRODUCTS[inp.product].band
    arr = open_l3_raster(str(cfg.resolve(inp.path)) if not inp.path.startswith("GPKG:") else _gpkg(cfg, inp.path),
                         units=inp.units, product=inp.product, band=inp.band, chunk=cfg.chunk)
    return [Scene(f"s5p-l3-{layer}-{_utc(inp.datetime):%Y%m%d}", _utc(inp.datetime), {layer: arr.rename(layer)},
                  {"loader": "s5p_l3", "units_declared": inp.units})]


def _load_aod(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """One scene of aerosol optical depth: the Sentinel-2 AOT band, or QA-filtered MAIAC."""
    path = str(cfg.resolve(inp.path))
    if inp.source == "s2_aot":
        from ..io.aod_read import open_s2_aot

        arr = open_s2_aot(path, chunk=cfg.chunk)
    else:
        from ..airquality.aod import open_maiac

        qa = str(cfg.resolve(inp.qa_path)) if inp.qa_path else None
        arr = open_maiac(path, qa, chunk=cfg.chunk)
    return [Scene(f"aod-{Path(path).stem}-{_utc(inp.datetime):%Y%m%d}", _utc(inp.datetime), {"aod": arr},
                  {"loader": f"aod/{inp.source}"})]


def _gpkg(cfg: RunConfig, name: str) -> str:
    """``GPKG:relative/file.gpkg:table`` with the file resolved against the YAML's folder."""
    _, file, table = name.split(":", 2)
    return f"GPKG:{cfg.resolve(file)}:{table}"


LOADERS = (
    InputLoader("s5p_l2", _load_s5p_l2),
    InputLoader("s5p_l3", _load_s5p_l3),
    InputLoader("aod", _load_aod),
)
