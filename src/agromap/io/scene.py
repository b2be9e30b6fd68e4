"""Scenes (one acquisition, several bands on their native grids) and the stack on one grid.

A loader returns a :class:`Scene`: lazy bands, the acquisition time and the metadata the
manifest records. :func:`stack_scenes` puts every band of every scene on the run GeoBox and
concatenates along ``time``; nothing is read until the runner computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from ..errors import GridMismatchError, MissingBandError
from .grid import GridSpec, Resampling, geobox_from_spec, geobox_of, to_grid

__all__ = ["Scene", "stack_scenes", "run_geobox"]


@dataclass
class Scene:
    """One acquisition: lazy ``(y, x)`` bands keyed by common name, each on its own grid."""

    id: str
    datetime: pd.Timestamp
    bands: dict[str, xr.DataArray]
    metadata: dict[str, Any] = field(default_factory=dict)
    """Provenance for the manifest: sensor, product id, radiometry applied, file paths."""

    def band(self, name: str) -> xr.DataArray:
        if name not in self.bands:
            raise MissingBandError(
                f"scene {self.id}: band {name!r} is missing; it has {sorted(self.bands)}. "
                "Add it to the band map or drop the product that needs it."
            )
        return self.bands[name]


def run_geobox(scenes: Sequence[Scene], grid: GridSpec | None) -> GeoBox:
    """The run grid: the declared one, or the finest-resolution band of the first scene."""
    if not scenes:
        raise GridMismatchError("no scenes to define a grid; add at least one input.")
    first = scenes[0]
    finest = min(first.bands.values(), key=lambda b: abs(geobox_of(b).resolution.x))
    like = geobox_of(finest)
    if grid is None:
        return like
    return geobox_from_spec(grid, like=like)


def _resampling_for(arr: xr.DataArray, continuous: Resampling) -> Resampling:
    # Classes and bit fields must never be interpolated.
    return "nearest" if not np.issubdtype(arr.dtype, np.floating) else continuous


def _nodata_like(arr: xr.DataArray) -> xr.DataArray:
    if np.issubdtype(arr.dtype, np.floating):
        return xr.full_like(arr, np.nan)
    # QA_PIXEL marks fill in bit 0; SCL and other class bands use 0 as nodata.
    return xr.full_like(arr, 1 if arr.name == "qa_pixel" else arr.attrs.get("nodata", 0))


def stack_scenes(
    scenes: Sequence[Scene],
    gbox: GeoBox,
    *,
    bands: Sequence[str] | None = None,
    resampling: Resampling = "nearest",
    chunk: int = 1024,
) -> xr.Dataset:
    """Every scene's bands on ``gbox``, concatenated along ``time`` (sorted, lazy).

    Parameters
    ----------
    scenes : sequence of Scene
    gbox : GeoBox
        The run grid.
    bands : sequence of str, optional
        Bands to keep; default: all. A requested band missing from a date raises
        :class:`MissingBandError`; by default a date simply holds nodata for the bands of the
        area's other sensors.
    resampling : str
        For continuous bands; class/QA bands always use nearest.
    chunk : int
        Chunk edge on the run grid; ``time`` is one chunk per scene.

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)``; float32 physical bands with NaN nodata, raw class/QA bands in their
        stored integer dtype; ``time`` coordinate; grid in ``spatial_ref``/``y``/``x``.
    """
    if not scenes:
        raise MissingBandError("no scenes to stack; add at least one input.")
    if bands is not None:
        for scene in scenes:
            missing = [b for b in bands if b not in scene.bands]
            if missing:
                scene.band(missing[0])  # raises MissingBandError naming the scene and its bands
    by_time: dict[pd.Timestamp, list[Scene]] = {}
    for scene in scenes:
        by_time.setdefault(scene.datetime, []).append(scene)
    per_time: list[xr.Dataset] = []
    for when in sorted(by_time):
        variables: dict[str, xr.DataArray] = {}
        # Scenes of one acquisition time (e.g. S1 and S2 of the same day) share one time slice.
        for scene in by_time[when]:
            for name, arr in scene.bands.items():
                if (bands is None or name in bands) and name not in variables:
                    variables[name] = to_grid(arr, gbox, resampling=_resampling_for(arr, resampling), chunk=chunk)
        per_time.append(xr.Dataset(variables).expand_dims(time=[np.datetime64(when.tz_localize(None), "ns")]))
    names = [set(ds.data_vars) for ds in per_time]
    wanted = set(bands) if bands is not None else set.union(*names)
    templates = {name: ds[name] for ds in per_time for name in ds.data_vars}
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
    return out.chunk({"time": 1, "y": chunk, "x": chunk})
