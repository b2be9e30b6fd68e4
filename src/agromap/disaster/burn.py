"""Burn severity (dNBR, RdNBR, USGS classes) and the burned-paddy layer (docs/science/disaster.md).

- ``dnbr = NBR_pre - NBR_post``; ``rdnbr = dnbr / sqrt(|NBR_pre|)`` with |NBR_pre| floored at
  0.001 (Miller & Thode 2007) (both unscaled; the x1000 convention cancels out).
- ``burn_severity``: USGS FIREMON classes on dNBR x 1000, **rounded to an integer first**, so the
  class always agrees with the stored ``dnbr`` layer (int16 x 1000): class k holds
  ``lower_k <= round(1000 dNBR) < lower_(k+1)`` with lower bounds -250 (code 2), -100 (3),
  +100 (4), +270 (5), +440 (6), +660 (7). Values below -500 stay code 1 and above +1300 code 7
  (the table's outer limits flag likely artefacts; inspect ``dnbr`` for them).
- ``burned_paddy`` (uint8): 0 not rice, 1 rice unburned, 2 rice burned (indices), 3 rice burned
  and fire-confirmed (a nominal- or high-confidence VIIRS detection within 375 m and the date
  window), 255 nodata (rice pixel without clear pre/post observations, or rice mask nodata). A
  rice pixel is burned when dNBR >= 0.10, NBR_post < 0.1 and BAIS2_post > t, where t is an
  automatic threshold of BAIS2_post within the rice mask (:func:`~.threshold.robust_threshold`,
  lazy, fallback 1.0: an agromap recommendation, unverified).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..area import metres_per_degree
from ..errors import ConfigError, MissingBandError
from ..io.grid import crs_of, geobox_of, require_same_grid
from ..io.layers import LayerSpec
from .threshold import ThresholdParams, robust_threshold

__all__ = [
    "BURN_SEVERITY_CLASSES", "BURNED_PADDY_CLASSES", "SEVERITY_LOWER_BOUNDS", "LAYER_SPECS", "BurnedPaddyParams",
    "dnbr", "rdnbr", "burn_severity", "clear_composite", "burned_paddy",
]  # fmt: skip

#: USGS FIREMON classes (agromap codes) with the usual FIREMON/MTBS colour ramp; the one table.
BURN_SEVERITY_CLASSES: tuple[tuple[int, str, str], ...] = (
    (1, "enhanced regrowth, high", "7A8737"),
    (2, "enhanced regrowth, low", "ACBE4D"),
    (3, "unburned", "0AE042"),
    (4, "low severity", "FFF70B"),
    (5, "moderate-low severity", "FFAF38"),
    (6, "moderate-high severity", "FF641B"),
    (7, "high severity", "A41FD6"),
)
#: Lower bound (dNBR x 1000, inclusive) of codes 2..7 (docs/science/disaster.md#burn-severity).
SEVERITY_LOWER_BOUNDS: tuple[int, ...] = (-250, -100, 100, 270, 440, 660)

# Colours keep one meaning across products: grey = not the crop, the rice map's green = rice,
# orange is kept for flooded rice (flood_class), so burned stubble is brown and charred black.
BURNED_PADDY_CLASSES: tuple[tuple[int, str, str], ...] = (
    (0, "not rice", "C8C8C8"),
    (1, "rice, unburned", "00A600"),
    (2, "rice, burned (index)", "8C510A"),
    (3, "rice, burned and fire-confirmed", "252525"),
)

LAYER_SPECS: dict[str, LayerSpec] = {
    "burn_severity": LayerSpec("burn_severity", "class", "uint8", 255, "class",
                               "Burn severity, USGS FIREMON classes on dNBR (Key & Benson 2006)",
                               classes=BURN_SEVERITY_CLASSES),
    "dnbr": LayerSpec("dnbr", "continuous", "int16", -32768, "1", "Differenced Normalized Burn Ratio",
                      scale=0.001),
    "burned_paddy": LayerSpec("burned_paddy", "class", "uint8", 255, "class",
                              "Burned paddy stubble (dNBR, NBR, BAIS2)", classes=BURNED_PADDY_CLASSES),
}

#: BAIS2 thresholding within the rice mask: fallback 1.0 (recommendation, unverified).
BAIS2_THRESHOLD = ThresholdParams(fallback=1.0, value_range=(-1.0, 3.0), plausible=(0.3, 2.5))


@dataclass(frozen=True)
class BurnedPaddyParams:
    """Rules of :func:`burned_paddy` (docs/science/disaster.md#burned-paddy)."""

    dnbr_min: float = 0.10
    """Minimum dNBR (tune within 0.10-0.27)."""
    nbr_post_max: float = 0.1
    """Post-fire NBR must be below this."""
    bais2: ThresholdParams = BAIS2_THRESHOLD
    """Automatic BAIS2 threshold within the rice mask."""
    fire_radius_m: float = 375.0
    """VIIRS I-band pixel: detections within this distance confirm a burn."""
    fire_days: int = 3
    """Detections within this many days of the burn window confirm it."""
    fire_confidence: tuple[str, ...] = ("n", "h", "nominal", "high", "1", "2")
    """Accepted VIIRS ``confidence`` values (low-confidence daytime pixels are mostly glint)."""


# ---- dNBR and severity ------------------------------------------------------------------------


def _dnbr_kernel(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    return (pre.astype(np.float32) - post.astype(np.float32)).astype(np.float32)


def _rdnbr_kernel(pre: np.ndarray, post: np.ndarray, floor: float) -> np.ndarray:
    d = pre.astype(np.float32) - post.astype(np.float32)
    return (d / np.sqrt(np.maximum(np.abs(pre.astype(np.float32)), np.float32(floor)))).astype(np.float32)


def _ufunc(kernel: Any, *args: Any, dtype: Any = np.float32, **kwargs: Any) -> xr.DataArray:
    arrays = [a for a in args if isinstance(a, xr.DataArray) and a.ndim >= 2]
    require_same_grid(*arrays)
    out: xr.DataArray = xr.apply_ufunc(kernel, *args, kwargs=kwargs, dask="parallelized", output_dtypes=[dtype])
    return out


def dnbr(nbr_pre: xr.DataArray, nbr_post: xr.DataArray) -> xr.DataArray:
    """Differenced NBR, ``pre - post`` (burned is positive).

    Parameters
    ----------
    nbr_pre, nbr_post : xarray.DataArray
        NBR (unitless, -1..1; NaN = nodata), numpy or dask, same grid.

    Returns
    -------
    xarray.DataArray
        ``dnbr`` float32 (-2..2), NaN where an input is NaN. Lazy. Store with
        ``LAYER_SPECS["dnbr"]`` (int16 x 1000, nodata -32768).

    Examples
    --------
    >>> dnbr(xr.DataArray([0.75, 0.5]), xr.DataArray([-0.25, 0.625])).values
    array([ 1.   , -0.125], dtype=float32)
    """
    return _ufunc(_dnbr_kernel, nbr_pre, nbr_post).rename("dnbr").assign_attrs(units="1", long_name="dNBR")


def rdnbr(nbr_pre: xr.DataArray, nbr_post: xr.DataArray, *, floor: float = 0.001) -> xr.DataArray:
    """Relativized dNBR, ``dnbr / sqrt(max(|NBR_pre|, floor))`` (Miller & Thode 2007); float32, lazy.

    Examples
    --------
    >>> rdnbr(xr.DataArray([0.25]), xr.DataArray([-0.25])).values
    array([1.], dtype=float32)
    """
    return _ufunc(_rdnbr_kernel, nbr_pre, nbr_post, floor=floor).rename("rdnbr").assign_attrs(units="1")


def _severity_kernel(d: np.ndarray) -> np.ndarray:
    v = np.rint(d.astype(np.float64) * 1000.0)
    cls = (1 + np.searchsorted(np.asarray(SEVERITY_LOWER_BOUNDS, np.float64), v, side="right")).astype(np.uint8)
    return np.where(np.isfinite(v), cls, np.uint8(255)).astype(np.uint8)


def burn_severity(dnbr_arr: xr.DataArray) -> xr.DataArray:
    """USGS burn severity codes 1-7 (uint8, 255 = nodata) from dNBR (unscaled); lazy.

    Examples
    --------
    >>> burn_severity(xr.DataArray([-0.3, -0.1, 0.0999, 0.1, 0.66, np.nan])).values
    array([  1,   3,   4,   4,   7, 255], dtype=uint8)
    """
    out = _ufunc(_severity_kernel, dnbr_arr, dtype=np.uint8)
    return out.rename("burn_severity").assign_attrs(units="class", nodata=255)


# ---- composites ---------------------------------------------------------------------------------


def clear_composite(ds: xr.Dataset, *, invalid_scl: Sequence[int] = (0, 1, 3, 8, 9, 10)) -> xr.Dataset:
    """Per-pixel median over ``time`` of the clear observations (SCL classes masked), lazily.

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` float32 reflectance bands and optionally ``scl`` (uint8).

    Returns
    -------
    xarray.Dataset
        ``(y, x)`` float32 bands (NaN where no clear observation), without ``scl``.
    """
    from ..masks import scl_valid

    bands = [v for v in ds.data_vars if v != "scl"]
    out = ds[bands]
    if "scl" in ds:
        out = out.where(scl_valid(ds.scl, tuple(invalid_scl)))
    if "time" not in out.dims:
        return out
    if out.chunks:
        out = out.chunk(time=-1)
    return xr.apply_ufunc(_median_kernel, out, input_core_dims=[["time"]], dask="parallelized",
                          output_dtypes=[np.float32], keep_attrs=True)


def _median_kernel(x: np.ndarray) -> np.ndarray:
    empty = ~np.isfinite(x).any(axis=-1)  # all-cloudy pixels: NaN on purpose, without numpy's warning
    med = np.nanmedian(np.where(empty[..., None], np.float32(0), x), axis=-1).astype(np.float32)
    return np.where(empty, np.float32(np.nan), med).astype(np.float32)


# ---- burned paddy -------------------------------------------------------------------------------


def _fire_points(fires: Any, like: xr.DataArray, period: tuple[Any, Any] | None, p: BurnedPaddyParams) -> np.ndarray:
    """Accepted detections as (k, 2) grid-CRS coordinates (metres, or degrees scaled to metres)."""
    import pandas as pd
    from pyproj import Transformer

    df = pd.DataFrame(fires)
    missing = {"longitude", "latitude"} - set(df.columns)
    if missing:
        raise MissingBandError(f"fire table lacks {sorted(missing)}; expected VIIRS columns longitude, latitude, "
                               "acq_date, confidence (FIRMS CSV).")
    if "confidence" in df:
        df = df[df["confidence"].astype(str).str.strip().str.lower().isin(p.fire_confidence)]
    if period is not None:
        if "acq_date" not in df:
            raise MissingBandError("fire table lacks 'acq_date', needed to match the burn period.")
        when = pd.to_datetime(df["acq_date"]).dt.normalize()
        lo = pd.Timestamp(period[0]) - pd.Timedelta(days=p.fire_days)
        hi = pd.Timestamp(period[1]) + pd.Timedelta(days=p.fire_days)
        df = df[(when >= lo) & (when <= hi)]
    crs = crs_of(geobox_of(like))
    tr = Transformer.from_crs("EPSG:4326", crs.to_wkt(), always_xy=True)
    x, y = tr.transform(df["longitude"].to_numpy(float), df["latitude"].to_numpy(float))
    return np.column_stack([y, x]).astype(np.float64) if len(df) else np.empty((0, 2))


def _paddy_kernel(rice: np.ndarray, d: np.ndarray, nbr_post: np.ndarray, bais: np.ndarray, t: np.ndarray,
                  yy: np.ndarray, xx: np.ndarray, *, p: BurnedPaddyParams, pts: np.ndarray,
                  geographic: bool) -> np.ndarray:
    rice_i = np.asarray(rice)
    if rice_i.dtype == np.bool_:
        is_rice, nodata = rice_i, np.zeros(rice_i.shape, bool)
    else:
        is_rice, nodata = rice_i == 1, rice_i == 255
    ok = np.isfinite(d) & np.isfinite(nbr_post) & np.isfinite(bais)
    burned = ok & (d >= p.dnbr_min) & (nbr_post < p.nbr_post_max) & (bais > np.asarray(t, np.float32))
    out = np.where(is_rice, np.where(burned, np.uint8(2), np.uint8(1)), np.uint8(0)).astype(np.uint8)
    if len(pts):
        from scipy.spatial import cKDTree

        y2, x2 = np.broadcast_arrays(yy, xx)
        scale = np.array([1.0, 1.0])
        if geographic:  # local equirectangular metres around the points
            scale = np.array(metres_per_degree(float(pts[:, 0].mean())))
        tree = cKDTree(pts * scale)
        dist, _ = tree.query(np.column_stack([y2.ravel(), x2.ravel()]) * scale, k=1,
                             distance_upper_bound=p.fire_radius_m)
        near = np.isfinite(dist).reshape(y2.shape)
        out = np.where((out == 2) & near, np.uint8(3), out)
    out = np.where(is_rice & ~ok, np.uint8(255), out)
    return np.where(nodata, np.uint8(255), out).astype(np.uint8)


def burned_paddy(
    rice: xr.DataArray,
    pre: xr.Dataset,
    post: xr.Dataset,
    *,
    fires: Any = None,
    period: tuple[Any, Any] | None = None,
    params: BurnedPaddyParams | None = None,
) -> xr.Dataset:
    """Burned paddy stubble (docs/science/disaster.md#burned-paddy), lazily.

    Parameters
    ----------
    rice : xarray.DataArray
        ``(y, x)`` rice mask: bool, or uint8 (1 rice, 0 not, 255 nodata; e.g. ``rice_class``).
    pre, post : xarray.Dataset
        Clear ``(y, x)`` composites (see :func:`clear_composite`) before and after the burning
        window: ``nir``, ``swir22`` in both (NBR); ``rededge2``, ``rededge3``, ``nir08``, ``red`` in
        ``post`` (BAIS2, Filipponi 2018). Float32 reflectance, same grid as ``rice``.
    fires : table-like, optional
        VIIRS detections (pandas DataFrame or mapping of columns ``longitude``, ``latitude``,
        ``acq_date``, ``confidence``). Nominal/high confidence within 375 m give class 3.
    period : (date, date), optional
        Burning window (between the pre and post composites); detections within it +/- 3 days
        are used. None uses every accepted detection.
    params : BurnedPaddyParams, optional
        Tunable parameters; ``None`` uses the defaults (``BurnedPaddyParams()``).

    Returns
    -------
    xarray.Dataset
        ``burned_paddy`` uint8 (codes :data:`BURNED_PADDY_CLASSES`, 255 nodata), ``dnbr`` and
        ``bais2`` float32, 0-d ``bais2_threshold`` float32 and ``bais2_threshold_method`` uint8.
        Lazy for dask inputs; the fire table (small) is read eagerly.
    """
    from ..indices import bais2, nbr

    params = params if params is not None else BurnedPaddyParams()
    for role, ds, need in (("pre", pre, ("nir", "swir22")),
                           ("post", post, ("nir", "swir22", "rededge2", "rededge3", "nir08", "red"))):
        missing = [b for b in need if b not in ds]
        if missing:
            raise MissingBandError(f"{role} composite lacks {missing}; build it with clear_composite() from a "
                                   "Sentinel-2 L2A stack with common band names.")
        if "time" in ds.dims:
            raise ConfigError(f"{role} must be a (y, x) composite; reduce the stack with clear_composite(ds).")
    require_same_grid(rice, pre.nir, post.nir)
    nbr_pre, nbr_post = nbr(pre.nir, pre.swir22), nbr(post.nir, post.swir22)
    d = dnbr(nbr_pre, nbr_post)
    b2 = bais2(post.rededge2, post.rededge3, post.nir08, post.red, post.swir22)
    is_rice = rice if rice.dtype == bool else rice == 1
    thr = robust_threshold(b2.where(is_rice), params.bais2)
    pts = np.empty((0, 2)) if fires is None else _fire_points(fires, rice, period, params)
    cls = xr.apply_ufunc(
        _paddy_kernel, rice, d, nbr_post, b2, thr.threshold, rice.y, rice.x,
        kwargs={"p": params, "pts": pts, "geographic": bool(crs_of(geobox_of(rice)).geographic)},
        dask="parallelized", output_dtypes=[np.uint8],
    ).transpose(*rice.dims)
    out = xr.Dataset({
        "burned_paddy": cls.assign_attrs(units="class", nodata=255),
        "dnbr": d, "bais2": b2,
        "bais2_threshold": thr.threshold, "bais2_threshold_method": thr.method,
    })
    out.attrs.update(dnbr_min=params.dnbr_min, nbr_post_max=params.nbr_post_max, n_fire_points=int(len(pts)))
    if period is not None:
        out.attrs["period"] = "/".join(str(_dt.date.fromisoformat(str(d)[:10])) for d in period)
    return out
