"""Per-pixel water evidence of :func:`~agromap.disaster.flood.flood_map`, lazily.

Each function turns one kind of observation into a float32 likelihood (0-1, NaN = no data) or a
bool mask on the input grid, by the rules set out in :mod:`agromap.disaster.flood` and
docs/flood.md: the SAR memberships weighted by their thresholds' reliabilities, the change
between a pre- and a post-event scene (UN-SPIDER ratio or difference), the optical water index,
water that is normal on the pre-event dates (reference water), and rice in its own
puddling/transplanting stage (managed water). :func:`~agromap.disaster.flood.flood_map` weighs
them and assigns the classes.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from .sar_water import apply_kernel, membership, sigmoid, weighted_membership
from .threshold import robust_threshold

if TYPE_CHECKING:
    from .flood import FloodParams

__all__ = ["sar_water_likelihood", "change_likelihood", "optical_water_likelihood", "managed_paddy_water",
           "reference_water", "require_bands"]


def sar_water_likelihood(db: dict[str, xr.DataArray], thresholds: dict[str, Any], scale_db: float = 1.0,
                         weights: dict[str, Any] | None = None) -> xr.DataArray:
    """Weighted mean over polarisations of ``1 / (1 + exp(-(t - x_db) / scale_db))``; float32 0-1, NaN = no data.

    ``weights`` (default: equal) are the thresholds' reliabilities, so a fallback threshold never
    outvotes a fitted one (:mod:`agromap.disaster.sar_water`).
    """
    w = weights or {}
    return weighted_membership([(membership(db[pol], thresholds[pol], scale=scale_db), w.get(pol, 1.0))
                                for pol in db]).rename("sar_water_likelihood")


def _change_kernel(post: np.ndarray, pre: np.ndarray, t_dark: np.ndarray, *, p: FloodParams) -> np.ndarray:
    valid = np.isfinite(post) & np.isfinite(pre)
    both_neg = valid & (post < 0) & (pre < 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(both_neg, post / np.where(both_neg, pre, -1.0), 0.0)
    l_ratio = np.where(both_neg, sigmoid((ratio - p.ratio_threshold) / p.ratio_scale), 0.0)
    l_diff = sigmoid((p.difference_db - (post - pre)) / p.sar_scale_db)
    lik = {"ratio": l_ratio, "difference": l_diff, "both": np.minimum(l_ratio, l_diff)}[p.change_rule]
    if p.require_dark_post:
        lik = np.minimum(lik, sigmoid((np.asarray(t_dark, np.float32) - post) / np.float32(p.sar_scale_db)))
    return np.where(valid, lik, np.nan).astype(np.float32)


def change_likelihood(post_db: xr.DataArray, pre_db: xr.DataArray, dark_threshold: xr.DataArray | float,
                      params: FloodParams) -> xr.DataArray:
    """Change-detection flood likelihood (UN-SPIDER ratio and/or difference), float32 0-1, lazy.

    ``post_db``/``pre_db`` are speckle-filtered dB; the ratio is only defined where both are
    negative (elsewhere: no flood). ``dark_threshold`` (dB) is used when ``require_dark_post``.
    """
    return apply_kernel(_change_kernel, post_db, pre_db, dark_threshold, p=params).rename("change_likelihood")


def _optical_kernel(index: np.ndarray, t: np.ndarray, scale: float) -> np.ndarray:
    return np.where(np.isfinite(index), sigmoid((index - np.asarray(t, np.float32)) / np.float32(scale)),
                    np.nan).astype(np.float32)


def optical_water_likelihood(optical: xr.Dataset, params: FloodParams) -> tuple[xr.DataArray, xr.Dataset | None]:
    """Water likelihood from MNDWI (``green``, ``swir16``) or NDWI (``green``, ``nir``), SCL masked.

    Returns the float32 0-1 likelihood (NaN where masked or missing) and, with an automatic
    threshold, the :func:`robust_threshold` Dataset (else None). Lazy.
    """
    from ..indices import mndwi, ndwi_mcfeeters
    from ..masks import scl_valid
    from .threshold import OPTICAL_MNDWI

    need = ("green", "swir16") if params.optical_index == "mndwi" else ("green", "nir")
    require_bands(optical, need, "optical")
    idx = mndwi(optical.green, optical.swir16) if params.optical_index == "mndwi" else \
        ndwi_mcfeeters(optical.green, optical.nir)
    if "scl" in optical:
        idx = idx.where(scl_valid(optical.scl, params.scl_invalid))
    thr_ds = None
    thr: Any = params.optical_threshold
    if thr is None:
        thr_ds = robust_threshold(idx, OPTICAL_MNDWI)
        thr = thr_ds.threshold
    return apply_kernel(_optical_kernel, idx, thr, scale=params.optical_scale).rename("optical_water_likelihood"), thr_ds


def _doy(date: Any) -> int:
    d = _dt.date.fromisoformat(str(np.datetime_as_string(np.datetime64(date, "D"))))
    return d.timetuple().tm_yday


def _managed_kernel(rice: np.ndarray, doys: np.ndarray, *, event_doy: int, before: int, after: int) -> np.ndarray:
    t = doys.astype(np.int64)
    d = (event_doy - t + 182) % 365 - 182  # days since transplanting, wrapped across the new year
    hit = (t > 0) & (d >= -before) & (d <= after)
    return rice.astype(bool) & hit.any(axis=-1)


def managed_paddy_water(rice: xr.DataArray, transplant_doy: xr.DataArray, event_date: Any,
                        params: FloodParams) -> xr.DataArray:
    """Rice pixels in their own puddling/transplanting stage on ``event_date`` (bool, lazy).

    ``transplant_doy`` is uint16 day of year (0 = none), ``(y, x)`` or with one leading season
    dimension; the stage is transplanting - ``puddling_days`` to + ``managed_days_after``.
    """
    doys = transplant_doy if transplant_doy.ndim == 3 else transplant_doy.expand_dims("season")
    season = str(doys.dims[0])
    return apply_kernel(_managed_kernel, rice, doys, dtype=np.bool_, core=[[], [season]], event_doy=_doy(event_date),
                        before=params.puddling_days, after=params.managed_days_after).rename("managed_paddy_water")


def _frequency_kernel(lik: np.ndarray, min_freq: float) -> np.ndarray:
    ok = np.isfinite(lik)
    n = ok.sum(axis=-1)
    water = (ok & (lik >= 0.5)).sum(axis=-1)
    return (n > 0) & (water >= min_freq * np.maximum(n, 1))


def reference_water(pre_lik: xr.DataArray, min_frequency: float) -> xr.DataArray:
    """Water on at least ``min_frequency`` of the valid pre-event dates (likelihood >= 0.5); bool, lazy."""
    if "time" not in pre_lik.dims:
        pre_lik = pre_lik.expand_dims("time")
    if pre_lik.chunks is not None:
        pre_lik = pre_lik.chunk(time=-1)
    return apply_kernel(_frequency_kernel, pre_lik, dtype=np.bool_, core=[["time"]],
                        min_freq=min_frequency).rename("reference_water")


def require_bands(ds: xr.Dataset, bands: tuple[str, ...], role: str) -> None:
    """Raise :class:`~agromap.errors.MissingBandError` when the ``role`` scene lacks any of ``bands``."""
    from ..errors import MissingBandError

    missing = [b for b in bands if b not in ds]
    if missing:
        raise MissingBandError(f"{role} scene lacks {missing}; it has {sorted(map(str, ds.data_vars))}. "
                               "Load it with common band names (vv, vh, green, swir16, nir, scl).")
