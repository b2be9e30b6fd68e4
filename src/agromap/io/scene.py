"""Scenes (one acquisition, several bands on their native grids) and the stack on one grid.

A loader returns a :class:`Scene`: lazy bands, the acquisition time and the metadata the
manifest records. :func:`stack_scenes` puts every band of every scene on the run GeoBox, groups
the scenes into dates (by local solar day unless told otherwise, so adjacent tiles of one pass
and several sensors of one day share a date), mosaics the scenes of each date and concatenates
along ``time``; nothing is read until the runner computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import GridMismatchError, MissingBandError
from ..sensors.s1_orbit import slice_label
from .grid import GridSpec, Resampling, geobox_from_spec, geobox_of, overlaps, to_grid
from .gridspec import covering
from .slices import slice_labels, solar_offset_hours

__all__ = ["Scene", "GroupBy", "Mosaic", "SCL_QUALITY", "group_scenes", "stack_scenes", "run_geobox"]

#: ``"solar_day"``, ``"time"`` (exact timestamps) or a duration such as ``"2h"``.
GroupBy = str
Mosaic = Literal["first", "best_quality"]


@dataclass(eq=False)  # compared by identity: equal-looking scenes are still two inputs (lazy bands have no ==)
class Scene:
    """One acquisition: lazy ``(y, x)`` bands keyed by common name, each on its own grid."""

    id: str
    datetime: pd.Timestamp
    bands: dict[str, xr.DataArray]
    metadata: dict[str, Any] = field(default_factory=dict)
    """Provenance for the manifest: sensor, product id, radiometry applied, file paths."""

    def band(self, name: str) -> xr.DataArray:
        """The band called ``name``; :class:`MissingBandError` listing the scene's bands if absent."""
        if name not in self.bands:
            raise MissingBandError(
                f"scene {self.id}: band {name!r} is missing; it has {sorted(self.bands)}. "
                "Add it to the band map or drop the product that needs it."
            )
        return self.bands[name]


def run_geobox(scenes: Sequence[Scene], grid: GridSpec | None, *, group_by: GroupBy = "solar_day") -> GeoBox:
    """The run grid: the declared one, or the finest band of the first scene widened to its date.

    Without a declared grid the run grid keeps the CRS, resolution and pixel alignment of the
    first scene's finest band and covers every scene of the first date (adjacent tiles of one
    pass), so a second tile is never cut off at the first tile's edge.
    """
    if not scenes:
        raise GridMismatchError("no scenes to define a grid; add at least one input.")
    first = scenes[0]
    finest = min(first.bands.values(), key=lambda b: abs(geobox_of(b).resolution.x))
    like = geobox_of(finest)
    if grid is not None:
        return geobox_from_spec(grid, like=like)
    key = group_scenes(scenes, group_by)
    same_date = [s for s in scenes if key[id(s)] == key[id(first)] and s is not first]
    if not same_date:
        return like
    return covering(like, (geobox_of(band) for scene in same_date for band in scene.bands.values()))


def group_scenes(scenes: Sequence[Scene], group_by: GroupBy = "solar_day") -> dict[int, pd.Timestamp]:
    """Which time slice each scene belongs to, keyed by ``id(scene)``; the value is the slice's time.

    Parameters
    ----------
    scenes : sequence of Scene
    group_by : "solar_day", "time" or a duration
        ``"solar_day"``: one slice per local solar day (UTC time + longitude / 15 h), the rule
        odc-stac and stackstac use, so adjacent tiles of one pass (which share the datatake's
        time) and acquisitions of one day by several sensors share a slice. ``"time"``: one
        slice per exact timestamp. A duration such as ``"2h"``: consecutive acquisitions no
        further apart than this share a slice.

    Returns
    -------
    dict
        ``id(scene)`` -> the earliest acquisition time of its slice (the slice's time label).
    """
    if not scenes:
        return {}
    if group_by == "time":
        keys = {id(s): s.datetime for s in scenes}
    elif group_by == "solar_day":
        day = {id(s): (s.datetime + pd.Timedelta(hours=solar_offset_hours(geobox_of(next(iter(s.bands.values()))))))
               .normalize() for s in scenes}
        keys = dict(day)
    else:
        try:
            tol = pd.Timedelta(group_by)
        except (ValueError, TypeError) as exc:
            raise GridMismatchError(
                f"group_by {group_by!r} is not 'solar_day', 'time' or a duration such as '2h'."
            ) from exc
        ordered = sorted(scenes, key=lambda s: s.datetime)
        keys, label, last = {}, ordered[0].datetime, ordered[0].datetime
        for s in ordered:
            if s.datetime - last > tol:
                label = s.datetime
            keys[id(s)] = label
            last = s.datetime
    return slice_labels(scenes, keys)


def _resampling_for(arr: xr.DataArray, continuous: Resampling) -> Resampling:
    # Classes and bit fields must never be interpolated.
    return "nearest" if not np.issubdtype(arr.dtype, np.floating) else continuous


def _nodata_like(arr: xr.DataArray) -> xr.DataArray:
    if np.issubdtype(arr.dtype, np.floating):
        return xr.full_like(arr, np.nan)
    # QA_PIXEL marks fill in bit 0; SCL and other class bands use 0 as nodata.
    return xr.full_like(arr, 1 if arr.name == "qa_pixel" else arr.attrs.get("nodata", 0))


#: Rank of each Sentinel-2 SCL class for ``mosaic="best_quality"`` (higher is better): clear land,
#: water and bare soil first, then dark/unclassified, snow, thin cirrus, shadow, clouds.
SCL_QUALITY = np.array([0, 1, 8, 3, 10, 10, 10, 8, 2, 1, 4, 6], dtype=np.int8)
#: Score of a valid pixel of a scene without an SCL band (ranks with unclassified pixels).
_NO_SCL_SCORE = 7


def _valid(arr: xr.DataArray) -> xr.DataArray:
    if np.issubdtype(arr.dtype, np.floating):
        return arr.notnull()
    if arr.name == "qa_pixel":
        return (arr & 1) == 0
    return arr != arr.attrs.get("nodata", 0)


def _scl_score(scl: xr.DataArray) -> xr.DataArray:
    lut = SCL_QUALITY

    def score(block: np.ndarray) -> np.ndarray:
        return np.take(lut, np.clip(block.astype(np.int64), 0, len(lut) - 1))

    return xr.apply_ufunc(score, scl, dask="parallelized", output_dtypes=[np.int8])


def _mosaic(arrs: list[xr.DataArray], scores: list[xr.DataArray | None] | None) -> xr.DataArray:
    """Per pixel: the first valid value in order, or the value of the best-scored valid scene."""
    out = arrs[0]
    if len(arrs) == 1:
        return out
    attrs, name = dict(out.attrs), out.name
    if scores is None:
        for arr in arrs[1:]:
            out = xr.where(_valid(out), out, arr)
    else:
        def score_of(arr: xr.DataArray, sc: xr.DataArray | None) -> xr.DataArray:
            base = sc if sc is not None else xr.full_like(arr, _NO_SCL_SCORE, dtype=np.int8)
            return xr.where(_valid(arr), base, np.int8(-1))

        best = score_of(arrs[0], scores[0])
        for arr, sc in zip(arrs[1:], scores[1:]):
            this = score_of(arr, sc)
            take = this > best  # ties keep the earlier scene: the declared order decides
            out = xr.where(take, arr, out)
            best = xr.where(take, this, best)
    return out.astype(arrs[0].dtype).rename(name).assign_attrs(attrs)


def stack_scenes(
    scenes: Sequence[Scene],
    gbox: GeoBox,
    *,
    bands: Sequence[str] | None = None,
    resampling: Resampling = "nearest",
    chunk: int = 1024,
    group_by: GroupBy = "solar_day",
    mosaic: Mosaic = "first",
) -> xr.Dataset:
    """Every scene's bands on ``gbox``, grouped into dates and mosaicked (sorted, lazy).

    Parameters
    ----------
    scenes : sequence of Scene
        In the declared order, which decides ``mosaic="first"``.
    gbox : GeoBox
        The run grid.
    bands : sequence of str, optional
        Bands to keep; default: all. A requested band missing from a date raises
        :class:`MissingBandError`; by default a date simply holds nodata for the bands of the
        area's other sensors.
    resampling : str
        For continuous bands; class/QA bands always use nearest.
    chunk : int
        Chunk edge on the run grid; ``time`` is one chunk per date.
    group_by : "solar_day", "time" or a duration
        Which scenes share a time slice (see :func:`group_scenes`). Adjacent tiles of one pass
        carry the same time, and a district routinely spans tiles and UTM zones.
    mosaic : "first" or "best_quality"
        How scenes of one slice that cover the same pixel combine: the first valid pixel in
        the declared order, or the pixel whose Sentinel-2 SCL class is best (clear > dark or
        unclassified > snow > cirrus > shadow > cloud; scenes without SCL rank with
        unclassified), the same scene for every band of that pixel.

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)``; float32 physical bands with NaN nodata, raw class/QA bands in their
        stored integer dtype; ``time`` coordinate (each slice's earliest acquisition); grid in
        ``spatial_ref``/``y``/``x``; attrs ``scene_ids`` (``+``-joined per slice) and ``present``.
        When a scene names its orbit track (``metadata["orbit"]``, set by the Sentinel-1
        loaders), an in-memory ``orbit`` coordinate on ``time`` holds each date's track label
        (``""`` for dates without one, ``a+b`` for a date mosaicked from two tracks).
    """
    if not scenes:
        raise MissingBandError("no scenes to stack; add at least one input.")
    if mosaic not in ("first", "best_quality"):
        raise GridMismatchError(f"mosaic {mosaic!r} is not 'first' or 'best_quality'.")
    if bands is not None:
        for scene in scenes:
            missing = [b for b in bands if b not in scene.bands]
            if missing:
                scene.band(missing[0])  # raises MissingBandError naming the scene and its bands
    slice_of = group_scenes(scenes, group_by)
    by_time: dict[pd.Timestamp, list[Scene]] = {}
    for scene in scenes:
        by_time.setdefault(slice_of[id(scene)], []).append(scene)
    per_time: list[xr.Dataset] = []
    dropped: list[str] = []
    for when in sorted(by_time):
        group = by_time[when]
        if len(group) > 1:
            # A tile of a pass that misses the area adds nothing; keep the ones that overlap.
            inside = [s for s in group if any(overlaps(geobox_of(b), gbox) for b in s.bands.values())]
            dropped += [s.id for s in group if s not in inside]
            group = inside or group[:1]
            by_time[when] = group
        gridded = [
            {name: to_grid(arr, gbox, resampling=_resampling_for(arr, resampling), chunk=chunk)
             for name, arr in scene.bands.items() if bands is None or name in bands}
            for scene in group
        ]
        scores = None
        if mosaic == "best_quality" and len(group) > 1:
            scores = [_scl_score(g["scl"]) if "scl" in g else None for g in gridded]
        variables: dict[str, xr.DataArray] = {}
        for name in dict.fromkeys(n for g in gridded for n in g):
            idx = [i for i, g in enumerate(gridded) if name in g]
            variables[name] = _mosaic([gridded[i][name] for i in idx],
                                      None if scores is None else [scores[i] for i in idx])
        per_time.append(xr.Dataset(variables).expand_dims(time=[np.datetime64(when.tz_localize(None), "ns")]))
    names = [{str(n) for n in ds.data_vars} for ds in per_time]
    wanted = set(bands) if bands is not None else set.union(*names)
    templates = {str(name): ds[name] for ds in per_time for name in ds.data_vars}
    for i, (when, have) in enumerate(zip(sorted(by_time), names)):
        missing = sorted(wanted - have)
        if missing and bands is not None:
            ids = ", ".join(s.id for s in by_time[when])
            raise MissingBandError(
                f"scene(s) {ids} at {when:%Y-%m-%d %H:%M} lack band(s) {missing} that were requested."
            )
        # Several sensors in one area (S1 every 12 days, S2 every 5): a date without a band holds
        # nodata for it, lazily (NaN for physical values, the band's nodata for classes/QA).
        for name in missing:
            per_time[i][name] = _nodata_like(templates[name]).isel(time=0).expand_dims(time=per_time[i]["time"])
    present = {name: [name in have for have in names] for name in sorted(wanted)}
    out = xr.concat(per_time, dim="time", combine_attrs="drop_conflicts", join="exact")
    out.attrs["present"] = present
    out["time"].attrs["standard_name"] = "time"
    out.attrs["scene_ids"] = ["+".join(s.id for s in by_time[t]) for t in sorted(by_time)]
    out.attrs["group_by"] = str(group_by)
    out.attrs["mosaic"] = mosaic
    if dropped:
        out.attrs["scenes_outside_grid"] = dropped
    return _with_tracks(out.chunk({"time": 1, "y": chunk, "x": chunk}), [by_time[t] for t in sorted(by_time)])


def _with_tracks(out: xr.Dataset, slices: list[list[Scene]]) -> xr.Dataset:
    """``out`` with the orbit track of each SAR date as an ``orbit`` coordinate, when any scene names one.

    The label is the relative orbit or the direction (``""`` when unknown), for the per-track
    offsets of the SAR rice rule. It is added after chunking: a label that is a dask array could
    not be read without a compute.
    """
    tracks = [slice_label([s.metadata.get("orbit") for s in group]) for group in slices]
    if not any(tracks):
        return out
    return out.assign_coords(orbit=("time", np.array(tracks, dtype=str)))
