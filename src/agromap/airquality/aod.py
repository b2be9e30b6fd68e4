"""Aerosol optical depth at 550 nm: the MAIAC (MCD19A2-style) QA filter, DN decoding and orbit mean.

docs/science/air_quality.md#aerosol-optical-depth. Files are opened by :mod:`agromap.io.aod_read`
(MAIAC DN and QA per orbit, and the Sentinel-2 L2A AOT band, which needs no more than its scale);
this module turns MAIAC DN into float32 ``aod`` (NaN nodata) on the file's own grid, lazily:
``Optical_Depth_055`` int16 x 0.001, valid DN -100..5000 (fill -28672 falls outside); kept where
``AOD_QA`` bits 0-2 (cloud mask) == 1 (clear) **and** bits 8-11 (AOD QA) == 0 (best). Both sets of
accepted codes are configurable (:class:`MaiacQA`). A file with several bands (one per orbit, as
MCD19A2 stores a day) gives the mean of the valid orbits per pixel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ConfigError
from ..io.aod_read import read_maiac_orbits
from ..io.grid import require_same_grid
from ..io.layers import LayerSpec

__all__ = [
    "MaiacQA", "MaiacSpec", "LAYER_SPECS", "CLOUD_MASK_CODES", "AOD_QA_CODES", "maiac_cloud_mask",
    "maiac_aod_qa", "maiac_qa_valid", "decode_maiac_aod", "open_maiac",
]  # fmt: skip

LAYER_SPECS: dict[str, LayerSpec] = {
    "aod550": LayerSpec("aod550", "continuous", "float32", float("nan"), "1",
                        "Aerosol optical depth at 550 nm (MAIAC Optical_Depth_055 or Sentinel-2 AOT), QA-filtered"),
}

#: AOD_QA bits 0-2 (docs/science/air_quality.md#aerosol-optical-depth).
CLOUD_MASK_CODES: dict[int, str] = {0: "undefined", 1: "clear", 2: "possibly cloudy", 3: "cloudy",
                                    4: "cloudy (reserved)", 5: "cloud shadow", 6: "fire hot spot",
                                    7: "water sediments"}  # fmt: skip
#: AOD_QA bits 8-11.
AOD_QA_CODES: dict[int, str] = {0: "best quality", 1: "water sediments", 3: "one neighbouring cloud",
                                4: "more than one neighbouring cloud", 5: "no retrieval (conditions)",
                                6: "no retrieval (boundary)", 7: "climatology AOD (altitude > 3.5 km)",
                                8: "no retrieval (snow/ice)", 11: "research quality"}  # fmt: skip


@dataclass(frozen=True)
class MaiacQA:
    """``AOD_QA`` codes that keep a pixel (docs/science/air_quality.md#aerosol-optical-depth): clear, best."""

    cloud_keep: tuple[int, ...] = (1,)
    """Accepted cloud-mask codes (bits 0-2); 1 = clear."""
    qa_keep: tuple[int, ...] = (0,)
    """Accepted AOD QA codes (bits 8-11); 0 = best quality."""

    def __post_init__(self) -> None:
        if not self.cloud_keep or not all(0 <= c <= 7 for c in self.cloud_keep):
            raise ConfigError(f"MaiacQA.cloud_keep {self.cloud_keep} must hold 3-bit codes 0..7.")
        if not self.qa_keep or not all(0 <= c <= 15 for c in self.qa_keep):
            raise ConfigError(f"MaiacQA.qa_keep {self.qa_keep} must hold 4-bit codes 0..15.")


@dataclass(frozen=True)
class MaiacSpec:
    """How MAIAC DN become AOD: scale, valid DN range and the QA rule."""

    scale: float = 0.001
    """AOD = DN x scale."""
    valid_range: tuple[int, int] = (-100, 5000)
    """Closed DN range of valid retrievals; anything else (fill -28672) is NaN."""
    qa: MaiacQA = field(default_factory=MaiacQA)
    """Accepted AOD_QA codes."""


def maiac_cloud_mask(qa: np.ndarray) -> np.ndarray:
    """Cloud-mask code, ``AOD_QA`` bits 0-2, as uint8."""
    return (np.asarray(qa).astype(np.uint16) & 0b111).astype(np.uint8)


def maiac_aod_qa(qa: np.ndarray) -> np.ndarray:
    """AOD QA code, ``AOD_QA`` bits 8-11, as uint8."""
    return ((np.asarray(qa).astype(np.uint16) >> 8) & 0b1111).astype(np.uint8)


def _qa_keep_kernel(qa: np.ndarray, cloud_keep: tuple[int, ...], qa_keep: tuple[int, ...]) -> np.ndarray:
    return np.isin(maiac_cloud_mask(qa), cloud_keep) & np.isin(maiac_aod_qa(qa), qa_keep)


def maiac_qa_valid(qa: xr.DataArray, rule: MaiacQA | None = None) -> xr.DataArray:
    """Boolean keep-mask from a raw ``AOD_QA`` band (uint16), lazily; True = keep."""
    r = rule or MaiacQA()
    out = xr.apply_ufunc(_qa_keep_kernel, qa, kwargs={"cloud_keep": r.cloud_keep, "qa_keep": r.qa_keep},
                         dask="parallelized", output_dtypes=[np.bool_])
    return out.rename("maiac_qa_valid").assign_attrs(cloud_keep=str(r.cloud_keep), qa_keep=str(r.qa_keep))


def _decode_kernel(dn: np.ndarray, qa: np.ndarray | None, spec: MaiacSpec) -> np.ndarray:
    lo, hi = spec.valid_range
    out = np.asarray(dn).astype(np.float32) * np.float32(spec.scale)
    bad = (dn < lo) | (dn > hi)
    if qa is not None:
        bad |= ~_qa_keep_kernel(qa, spec.qa.cloud_keep, spec.qa.qa_keep)
    out[bad] = np.nan
    return out


def _decode_range_kernel(dn: np.ndarray, spec: MaiacSpec) -> np.ndarray:
    return _decode_kernel(dn, None, spec)


def decode_maiac_aod(dn: xr.DataArray, qa: xr.DataArray | None = None, spec: MaiacSpec | None = None
                     ) -> xr.DataArray:
    """MAIAC ``Optical_Depth_055`` DN to QA-filtered AOD, lazily.

    Parameters
    ----------
    dn : xarray.DataArray
        Raw int16 DN (not yet scaled), numpy or dask.
    qa : xarray.DataArray, optional
        Raw uint16 ``AOD_QA`` on the same grid. Without it only the valid range is applied.
    spec : MaiacSpec, optional

    Returns
    -------
    xarray.DataArray
        float32 ``aod`` (unitless), NaN outside the valid range or where QA rejects; chunks of ``dn``.
    """
    s = spec or MaiacSpec()
    if qa is None:
        out = xr.apply_ufunc(_decode_range_kernel, dn, kwargs={"spec": s}, dask="parallelized",
                             output_dtypes=[np.float32])
    else:
        require_same_grid(dn, qa)
        if dn.chunks is not None:
            qa = qa.chunk(dict(dn.chunksizes))
        out = xr.apply_ufunc(_decode_kernel, dn, qa, kwargs={"spec": s}, dask="parallelized",
                             output_dtypes=[np.float32])
    return out.rename("aod").assign_attrs(
        units="1", long_name="aerosol optical depth at 550 nm (MAIAC)", scale_applied=s.scale,
        QA_FILTER=f"AOD_QA cloud in {s.qa.cloud_keep} and qa in {s.qa.qa_keep}" if qa is not None else "none",
    )


def _nanmean_kernel(stack: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; NaN where every value is NaN (and no warning)."""
    ok = np.isfinite(stack)
    n = ok.sum(axis=-1)
    total = np.where(ok, stack, 0).sum(axis=-1, dtype=np.float32)
    out = np.full(n.shape, np.nan, dtype=np.float32)
    np.divide(total, n, out=out, where=n > 0)
    return out


def open_maiac(aod_path: str | os.PathLike[str], qa_path: str | os.PathLike[str] | None = None, *,
               spec: MaiacSpec | None = None, time: Any = None, crs: str | None = None,
               chunk: int = 1024) -> xr.DataArray:
    """A MAIAC AOD raster (GeoTIFF or GDAL NetCDF subdataset) as QA-filtered float32 ``aod``, lazily.

    Parameters
    ----------
    aod_path : path or GDAL name
        ``Optical_Depth_055`` raw int16 DN; one band per orbit.
    qa_path : path or GDAL name, optional
        ``AOD_QA`` raw uint16 with the same bands and grid. Without it only the valid range is used
        (not recommended: clouds and low-quality retrievals stay).
    spec : MaiacSpec, optional
    time : date-like, optional
        Adds a ``time`` dimension of length 1.
    crs : str, optional
        CRS to assume when the file declares none but GDAL finds a geotransform (a NetCDF with plain
        ``lat``/``lon`` coordinate variables: ``"EPSG:4326"``). Ignored when the file has a CRS.

    Returns
    -------
    xarray.DataArray
        float32 ``(y, x)`` or ``(time, y, x)``, NaN nodata, units "1"; mean of the valid orbits.
    """
    s = spec or MaiacSpec()
    raw = read_maiac_orbits(aod_path, qa_path, crs=crs, chunk=chunk)
    qas = raw.qa if raw.qa is not None else (None,) * len(raw.dn)
    orbits = [decode_maiac_aod(dn, qa, s) for dn, qa in zip(raw.dn, qas, strict=True)]
    if len(orbits) == 1:
        out = orbits[0]
    else:
        stacked = xr.concat(orbits, dim="orbit").chunk({"orbit": -1})
        out = xr.apply_ufunc(_nanmean_kernel, stacked, input_core_dims=[["orbit"]], dask="parallelized",
                             output_dtypes=[np.float32], keep_attrs=True)
    out = out.rename("aod").assign_attrs(source=raw.path, n_orbits=len(raw.dn), product="MAIAC Optical_Depth_055")
    if time is not None:
        out = out.expand_dims(time=[np.datetime64(pd.Timestamp(time), "ns")])
    return out
