"""A simple water mask by thresholding one piece of evidence (optical index or SAR dB).

This is the foundation's water layer; the disaster module builds flood classes on top.
Defaults (docs/science/indices_and_masks.md#water-mask): MNDWI > 0, NDWI > 0 for optical water; backscatter below
-20 dB (VH) or -15 dB (VV) for open water on Sentinel-1 (fallback values, unverified).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

__all__ = ["WaterMethod", "DEFAULT_THRESHOLDS", "water_mask", "WATER_CLASSES"]

WaterMethod = Literal["mndwi", "ndwi", "vh", "vv"]

DEFAULT_THRESHOLDS: dict[str, float] = {"mndwi": 0.0, "ndwi": 0.0, "vh": -20.0, "vv": -15.0}

#: (value, name, colour) of the uint8 water mask; 255 is nodata.
WATER_CLASSES = ((0, "not water", "C8C8C8"), (1, "water", "0000FF"))


def _threshold_kernel(x: np.ndarray, threshold: float, below: bool) -> np.ndarray:
    x32 = x.astype(np.float32, copy=False)
    t = np.float32(threshold)
    hit = x32 < t if below else x32 > t
    out = hit.astype(np.uint8)
    out[np.isnan(x32)] = 255  # no evidence is nodata, never "not water"
    return out


def water_mask(evidence: xr.DataArray, method: WaterMethod, threshold: float | None = None) -> xr.DataArray:
    """Threshold ``evidence`` into a uint8 water mask (1 water, 0 not water, 255 nodata).

    Parameters
    ----------
    evidence : xarray.DataArray
        float32 MNDWI/NDWI (unitless), or backscatter in **dB** for ``vh``/``vv``. NaN = nodata.
    method : {"mndwi", "ndwi", "vh", "vv"}
        Optical methods flag water above the threshold, SAR methods below it.
    threshold : float, optional
        Defaults to :data:`DEFAULT_THRESHOLDS`.

    Returns
    -------
    xarray.DataArray
        uint8, same dims/chunks/coords; lazy when the input is.
    """
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
    below = method in ("vh", "vv")
    out = xr.apply_ufunc(
        _threshold_kernel, evidence, kwargs={"threshold": thr, "below": below},
        dask="parallelized", output_dtypes=[np.uint8],
    )
    return out.rename("water_mask").assign_attrs(
        units="class", method=method, threshold=thr, nodata=255,
        long_name=f"water mask ({method} {'<' if below else '>'} {thr:g})",
    )
