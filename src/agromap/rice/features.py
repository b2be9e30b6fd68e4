"""Temporal features for the supervised rice classifier (docs/science/rice.md#supervised-classifier).

Per pixel (or per field point), the time series of four optical indices and of Sentinel-1
backscatter are summarised into a fixed, named list of statistics: the ``feature`` axis of
the array the classifier trains on and predicts from.

- Optical, for each of NDVI, EVI, LSWI and MNDWI: ``<idx>_min``, ``<idx>_max``, ``<idx>_amp``
  (max - min), ``<idx>_tmax`` (day number of the maximum), ``<idx>_mean``, ``<idx>_std``;
  then ``flood_frac``, the fraction of valid dates with the Xiao flood signal
  ``LSWI + T >= min(EVI, NDVI)`` (docs/science/rice.md#optical-flooding-rule), and ``n_valid_opt``.
- SAR (VH, optionally VV): ``vh_min_db``, ``vh_tmin``, ``vh_max_after_db`` (the maximum within
  ``rise_window_days`` after the minimum), ``vh_delta_db``, ``vh_rise_days`` (t_max - t_min),
  ``vh_mean_db`` (mean in linear power, then dB), ``vh_var_db`` (variance of the dB series),
  ``vh_p10_db``/``vh_p50_db``/``vh_p90_db``, ``vh_harvest_drop_db`` (peak minus the lowest value
  after the peak), ``vh_canopy_days`` (the longest spell, in days, of the VH series smoothed over
  ``canopy_smooth_days`` either side staying within ``canopy_band_db`` of its own 90th percentile:
  how long the canopy stands; see :class:`FeatureSpec`); only when ``vv`` is given:
  ``vh_vv_peak_db`` (VH - VV in dB at the peak), ``vv_p10_db``/``vv_p50_db`` (the VV dip and
  level), ``vh_vv_p50_db`` (median of the VH - VV ratio in dB) and ``vv_at_min_db`` (VV on the
  date of the VH minimum); then ``n_valid_sar``.
  With ``FeatureSpec.sar_smooth_days`` > 0 the minimum, the peak, the drop after it, their dates,
  ``vh_vv_peak_db`` and ``vv_at_min_db`` read the series smoothed over that many days either side
  (a mean in linear power over the valid dates), not the speckle extremes of single dates; the
  mean, variance and percentiles always read the single dates.

Day numbers count from 1 January of the first date's year (1 = 1 Jan), so a season crossing the
new year keeps increasing. Coordinates (x, y, latitude, longitude) and site identifiers are never
features: a model must not learn where the labels were.

Every feature is finite wherever the pixel has at least one valid observation of its sensor
(so a pixel is not lost to nodata for a short series), except ``vh_vv_peak_db`` which needs VV on
the peak date; with no valid observation every statistic is NaN and the count is 0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError, InputError, MissingBandError
from ..indices import evi, lswi, mndwi, ndvi
from ..io.grid import require_same_grid
from ..masks import SCL_INVALID_DEFAULT, scl_valid
from .feature_names import OPTICAL_FEATURE_BANDS, OPTICAL_INDICES, feature_names

__all__ = [
    "FeatureSpec",
    "OPTICAL_INDICES",
    "feature_names",
    "index_features",
    "optical_features",
    "sar_features",
    "temporal_features",
]

@dataclass(frozen=True)
class FeatureSpec:
    """Parameters of the temporal features; recorded in the model file with the feature names."""

    flood_threshold: float = 0.05
    """T of the flood signal ``LSWI + T >= min(EVI, NDVI)`` (Xiao 2005; tune over 0, 0.05, 0.10)."""
    rise_window_days: float = 110.0
    """``vh_max_after_db`` is the VH maximum within this many days after (and including) the minimum."""
    sar_smooth_days: float = 0.0
    """Half-width (days) of a temporal mean, in linear power, that the SAR extremes, their dates and
    the VH-VV ratio at the peak are read from; 0 (the default) reads the single dates. On an
    unfiltered series a single Sentinel-1 date carries speckle of 1-3 dB, so the extremes of a
    20-80 date series are mostly speckle; 12 days (one satellite's repeat cycle: three dates of one
    track, five of two, nine of four, and the tracks' incidence-angle offsets averaged) lifts the
    supervised ceiling of the unfiltered stress tables by 0.01-0.07 OA, while on spatially
    speckle-filtered scenes the supervised map moves by -0.004 to +0.005 OA depending on the seeds
    (docs/rice_stress.md, "Speckle-robust SAR features"): meant for point series or unfiltered stacks."""
    canopy_band_db: float = 1.5
    """``vh_canopy_days`` counts the dates whose smoothed VH lies within this many dB of the pixel's
    90th percentile (of the smoothed series): the SAR rule's ``canopy_drop_db``. A paddy's VH falls
    by 2.5-9 dB from its canopy to the stubble or the next flood (Nguyen et al. 2016), so harvest
    ends the spell, while a level canopy's slow wobble stays in it. With 2 dB, moist bare soil
    between two crops (about 2 dB below a rice canopy) joined them: 13 % of the paddies of
    ``wetland_confusion`` seed 0 had spells over 90 days, against 3 % with 1.5 dB."""
    canopy_smooth_days: float = 6.0
    """Half-width (days) of the mean in linear power that ``vh_canopy_days`` reads, so one speckled
    dark date (or the other track's incidence offset) does not end a spell: three dates of the
    6-day two-track revisit."""
    canopy_link_days: float = 40.0
    """Dates of a canopy spell more than this many days apart (passes lost) do not join: a harvest,
    fallow and the next crop's flood can hide in a longer hole, and the spell is then
    under-estimated, never invented."""
    mask_scl: bool = True
    """Mask optical dates whose ``scl`` class is in ``scl_invalid`` (when the dataset has ``scl``)."""
    scl_invalid: tuple[int, ...] = SCL_INVALID_DEFAULT
    """SCL classes treated as invalid (docs/science/indices_and_masks.md#sentinel-2-l2a)."""
    blue_cloud: float | None = 0.2
    """Optical dates with blue reflectance >= this are treated as cloud (Xiao et al. 2005); ``None`` disables."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.sar_smooth_days <= 60.0:
            raise ConfigError(f"sar_smooth_days must be in [0, 60], got {self.sar_smooth_days}.")
        if not 0.0 < self.rise_window_days <= 366.0:
            raise ConfigError(f"rise_window_days must be in (0, 366], got {self.rise_window_days}.")
        if not (0.0 < self.canopy_band_db <= 20.0 and 0.0 <= self.canopy_smooth_days <= 60.0
                and self.canopy_link_days > 0.0):
            raise ConfigError(f"canopy_band_db must be in (0, 20], canopy_smooth_days in [0, 60] and "
                              f"canopy_link_days > 0; got {self.canopy_band_db}, {self.canopy_smooth_days}, "
                              f"{self.canopy_link_days}.")
        if not -1.0 <= self.flood_threshold <= 1.0:
            raise ConfigError(f"flood_threshold must be in [-1, 1], got {self.flood_threshold}.")
        object.__setattr__(self, "scl_invalid", tuple(int(c) for c in self.scl_invalid))


# ---- numpy kernels (time on the last axis) ----------------------------------------------------


def _series_stats(v: np.ndarray, valid: np.ndarray, n: np.ndarray, days: np.ndarray) -> list[np.ndarray]:
    """min, max, amplitude, day of max, mean, std of ``v`` over valid dates (NaN where n == 0)."""
    vmin = np.where(valid, v, np.inf).min(axis=-1)
    hi = np.where(valid, v, -np.inf)
    vmax = hi.max(axis=-1)
    tmax = days[hi.argmax(axis=-1)]
    s = np.where(valid, v, 0.0).sum(axis=-1, dtype=np.float64)
    mean = np.divide(s, n, out=np.full(n.shape, np.nan), where=n > 0)
    dev = np.where(valid, v - mean[..., None], 0.0)
    var = np.divide((dev * dev).sum(axis=-1), n, out=np.full(n.shape, np.nan), where=n > 0)
    return [vmin, vmax, vmax - vmin, tmax, mean, np.sqrt(var)]


def _percentiles(v: np.ndarray, valid: np.ndarray, n: np.ndarray, qs: tuple[float, ...]) -> list[np.ndarray]:
    """Linear-interpolated percentiles over valid dates (numpy's default method), no NaN warnings."""
    xs = np.sort(np.where(valid, v, np.nan), axis=-1)  # NaN sorts last
    last = xs.shape[-1] - 1
    out = []
    for q in qs:
        pos = (q / 100.0) * np.maximum(n - 1, 0)
        lo = np.clip(np.floor(pos).astype(np.int64), 0, last)
        hi = np.clip(np.minimum(lo + 1, n - 1), 0, last)
        a = np.take_along_axis(xs, lo[..., None], axis=-1)[..., 0]
        b = np.take_along_axis(xs, hi[..., None], axis=-1)[..., 0]
        out.append(a + (b - a) * (pos - lo))
    return out


def _finish(cols: list[np.ndarray], n: np.ndarray) -> np.ndarray:
    """Stack to (..., feature) float32 with every statistic NaN where there is no valid date."""
    out = np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=-1)
    out[n == 0, :-1] = np.nan  # the last column is the count itself
    return out.astype(np.float32)


def _optical_kernel(
    ndvi_: np.ndarray, evi_: np.ndarray, lswi_: np.ndarray, mndwi_: np.ndarray, blue: np.ndarray,
    clear: np.ndarray, *, days: np.ndarray, flood_threshold: float, blue_cloud: float | None,
) -> np.ndarray:  # fmt: skip
    """(..., time) index series -> (..., 26) float32 optical features."""
    stack = [np.asarray(a, dtype=np.float64) for a in (ndvi_, evi_, lswi_, mndwi_)]
    valid = np.asarray(clear, dtype=bool) & np.isfinite(blue)
    for a in stack:
        valid &= np.isfinite(a)
    if blue_cloud is not None:
        valid &= np.where(np.isfinite(blue), blue, np.inf) < blue_cloud
    n = valid.sum(axis=-1)
    cols: list[np.ndarray] = []
    for a in stack:
        cols += _series_stats(a, valid, n, days)
    nd, ev, lw = stack[0], stack[1], stack[2]
    flood = valid & (np.where(valid, lw, 0.0) + flood_threshold >= np.where(valid, np.minimum(ev, nd), np.inf))
    cols.append(np.divide(flood.sum(axis=-1), n, out=np.full(n.shape, np.nan), where=n > 0))
    cols.append(n)
    return _finish(cols, n)


def _db(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    np.log10(x, out=out, where=valid)
    return np.where(valid, 10.0 * out, np.nan)


def _smooth_db(lin: np.ndarray, valid: np.ndarray, days: np.ndarray, half_days: float) -> np.ndarray:
    """dB of the mean, in linear power, of the valid dates within ``+-half_days`` (> 0) of each date (NaN where invalid)."""
    # A (time, time) band matrix: the dates differ per pixel only through ``valid``.
    w = (np.abs(days[:, None] - days[None, :]) <= half_days).astype(np.float64)
    num = np.where(valid, lin, 0.0) @ w.T
    den = valid.astype(np.float64) @ w.T
    mean = np.divide(num, den, out=np.ones(num.shape), where=den > 0)
    return _db(mean, valid)


def _longest_spell(flag: np.ndarray, valid: np.ndarray, days: np.ndarray, link_days: float) -> np.ndarray:
    """Days from the first to the last date of the longest run of flagged valid dates (0 if none).

    A valid date that is not flagged ends a run; so does a hole of more than ``link_days``
    between two flagged dates (what happened in it is unknown).
    """
    best = np.zeros(flag.shape[:-1])
    start = np.full(best.shape, np.nan)
    last = np.full(best.shape, np.nan)
    for t in range(flag.shape[-1]):
        v = valid[..., t]
        f = v & flag[..., t]
        cut = (v & ~f) | (f & (days[t] - last > link_days))  # NaN compares False: no run yet
        start = np.where(cut, np.nan, start)
        last = np.where(v & ~f, np.nan, last)
        start = np.where(f & np.isnan(start), days[t], start)
        last = np.where(f, days[t], last)
        best = np.maximum(best, np.where(f, days[t] - start, 0.0))
    return best


def _canopy_days(vh: np.ndarray, valid: np.ndarray, n: np.ndarray, days: np.ndarray, band_db: float,
                 smooth_days: float, link_days: float, batch: int = 1 << 16) -> np.ndarray:
    """``vh_canopy_days``: the longest spell of the smoothed VH within ``band_db`` of its 90th percentile.

    Computed ``batch`` pixels at a time: the smoothed series and its spells then add a bounded
    amount of memory to the kernel's, whatever the block size.
    """
    T = vh.shape[-1]
    v2, ok2, n2 = vh.reshape(-1, T), valid.reshape(-1, T), n.reshape(-1)
    out = np.zeros(n2.shape)
    for i in range(0, n2.size, batch):
        b = slice(i, i + batch)
        sm = _smooth_db(v2[b], ok2[b], days, smooth_days) if smooth_days > 0 else _db(v2[b], ok2[b])
        top = _percentiles(sm, ok2[b], n2[b], (90.0,))[0]
        with np.errstate(invalid="ignore"):
            flag = sm >= top[:, None] - band_db
        out[b] = _longest_spell(flag, ok2[b], days, link_days)
    return out.reshape(n.shape)


def _sar_kernel(
    vh: np.ndarray, *vv: np.ndarray, days: np.ndarray, rise_window_days: float, smooth_days: float,
    canopy: tuple[float, float, float] = (1.5, 6.0, 40.0),
) -> np.ndarray:
    """(..., time) linear VH (and VV) -> (..., 13 or 18) float32 SAR features.

    ``canopy``: ``(canopy_band_db, canopy_smooth_days, canopy_link_days)`` of ``vh_canopy_days``.
    """
    vh = np.asarray(vh, dtype=np.float64)
    valid = np.isfinite(vh) & (vh > 0)
    vv64 = np.asarray(vv[0], dtype=np.float64) if vv else None
    if vv64 is not None:
        valid &= np.isfinite(vv64) & (vv64 > 0)
    n = valid.sum(axis=-1)
    db = _db(vh, valid)
    # The extremes and their dates come from the smoothed series (the single dates when
    # smooth_days is 0); the level statistics (mean, variance, percentiles) always from the
    # single dates, which they already average over.
    sm = _smooth_db(vh, valid, days, smooth_days) if smooth_days > 0 else db
    low = np.where(valid, sm, np.inf)
    i_min = low.argmin(axis=-1)
    vmin, t_min = low.min(axis=-1), days[i_min]
    # The rise: the maximum within the window after the minimum (the minimum itself included).
    after = valid & (days >= t_min[..., None]) & (days <= t_min[..., None] + rise_window_days)
    peak = np.where(after, sm, -np.inf)
    i_max = peak.argmax(axis=-1)
    vmax, t_max = peak.max(axis=-1), days[i_max]
    # Harvest drop: peak minus the lowest value on or after the peak date.
    post = valid & (days >= t_max[..., None])
    drop = vmax - np.where(post, sm, np.inf).min(axis=-1)
    lin_mean = np.divide(np.where(valid, vh, 0.0).sum(axis=-1), n, out=np.ones(n.shape), where=n > 0)
    dbmean = np.divide(np.where(valid, db, 0.0).sum(axis=-1), n, out=np.zeros(n.shape), where=n > 0)
    dev = np.where(valid, db - dbmean[..., None], 0.0)
    var = np.divide((dev * dev).sum(axis=-1), n, out=np.full(n.shape, np.nan), where=n > 0)
    cols = [vmin, t_min, vmax, vmax - vmin, t_max - t_min, 10.0 * np.log10(lin_mean), var]
    cols += _percentiles(db, valid, n, (10.0, 50.0, 90.0))
    cols.append(drop)
    cols.append(_canopy_days(vh, valid, n, days, *canopy))
    if vv64 is not None:
        vv_db = _db(vv64, valid)
        vv_sm = _smooth_db(vv64, valid, days, smooth_days) if smooth_days > 0 else vv_db

        def at(a: np.ndarray, i: np.ndarray) -> np.ndarray:
            return np.take_along_axis(a, i[..., None], axis=-1)[..., 0]

        cols.append(at(sm - vv_sm, i_max))
        cols += _percentiles(vv_db, valid, n, (10.0, 50.0))
        cols += _percentiles(db - vv_db, valid, n, (50.0,))
        cols.append(at(vv_sm, i_min))
    cols.append(n)
    return _finish(cols, n)


# ---- xarray wrappers ---------------------------------------------------------------------------


def _day_numbers(time: xr.DataArray) -> np.ndarray:
    """Days since 31 December before the first date's year (1 = 1 January), float64."""
    t = np.asarray(time.values, dtype="datetime64[D]")
    if t.size == 0:
        raise InputError("the time axis is empty; features need at least one date.")
    year0 = t.min().astype("datetime64[Y]").astype("datetime64[D]")
    return (t - year0).astype(np.float64) + 1.0


def _require(ds: xr.Dataset, bands: tuple[str, ...], what: str) -> None:
    missing = [b for b in bands if b not in ds.data_vars]
    if missing:
        raise MissingBandError(
            f"{what} features need bands {list(bands)}; missing {missing} (present: "
            f"{', '.join(map(str, ds.data_vars)) or 'none'}). Load them under their common names."
        )
    if "time" not in ds.dims:
        raise InputError(f"{what} features need a 'time' dimension; the dataset has dims {tuple(ds.dims)}.")


def _time_in_one_chunk(arr: xr.DataArray) -> xr.DataArray:
    # The kernels consume time on the last axis, which apply_ufunc needs in one chunk. Ingest
    # normally does this once; doing it here too is a no-op then, and lazy otherwise.
    if arr.chunks is not None and len(arr.chunksizes["time"]) > 1:
        return arr.chunk(time=-1)
    return arr


def _wrap_features(kernel: Any, arrays: list[xr.DataArray], names: tuple[str, ...], **kwargs: Any) -> xr.DataArray:
    arrays = [_time_in_one_chunk(a) for a in arrays]
    out: xr.DataArray = xr.apply_ufunc(
        kernel, *arrays, kwargs=kwargs,
        input_core_dims=[["time"]] * len(arrays), output_core_dims=[["feature"]],
        dask="parallelized", output_dtypes=[np.float32],
        dask_gufunc_kwargs={"output_sizes": {"feature": len(names)}},
    )  # fmt: skip
    out = out.assign_coords(feature=list(names))
    return out.transpose("feature", ...)


def optical_features(ds: xr.Dataset, spec: FeatureSpec | None = None) -> xr.DataArray:
    """Optical index statistics over time (see the module docstring for the list).

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` or ``(time, point)`` surface reflectance 0-1 (float, NaN = nodata) with
        ``blue``, ``green``, ``red``, ``nir``, ``swir16``; optionally ``scl`` (uint8), used as a
        cloud mask when ``spec.mask_scl``. numpy or dask.
    spec : FeatureSpec, optional
        Which features and their settings; ``None`` uses the defaults (``FeatureSpec()``).

    Returns
    -------
    xarray.DataArray
        ``(feature, ...)`` float32 with ``feature`` = :func:`feature_names` ``(sar=False)``; NaN
        where a pixel has no valid date (``n_valid_opt`` is then 0). Lazy if ``ds`` is; the
        ``feature`` axis is one chunk.
    """
    spec = spec if spec is not None else FeatureSpec()
    _require(ds, OPTICAL_FEATURE_BANDS, "optical")
    b = {k: ds[k] for k in OPTICAL_FEATURE_BANDS}
    require_same_grid(*b.values())
    idx = [ndvi(b["nir"], b["red"]), evi(b["nir"], b["red"], b["blue"]),
           lswi(b["nir"], b["swir16"]), mndwi(b["green"], b["swir16"])]  # fmt: skip
    if spec.mask_scl and "scl" in ds.data_vars:
        clear = scl_valid(ds["scl"], spec.scl_invalid)
    else:
        clear = xr.ones_like(b["blue"], dtype=bool)
    names = feature_names(sar=False)
    return _wrap_features(
        _optical_kernel, [*idx, b["blue"], clear], names, days=_day_numbers(ds["time"]),
        flood_threshold=float(spec.flood_threshold), blue_cloud=spec.blue_cloud,
    ).rename("optical_features")  # fmt: skip


def index_features(ds: xr.Dataset, spec: FeatureSpec | None = None) -> xr.DataArray:
    """The optical statistics of index series already computed (a table exported from elsewhere).

    ``ds`` holds ``ndvi``, ``evi`` and ``lswi`` (and ``mndwi`` if there is a green band) over
    ``time``, NaN on a cloudy date: the same features as :func:`optical_features`, which derives
    these indices from reflectances. Without ``mndwi`` its six statistics are a constant 0 and
    carry nothing. No cloud test is applied beyond the NaNs (there is no blue band or ``scl``).
    """
    spec = spec if spec is not None else FeatureSpec()
    _require(ds, ("ndvi", "evi", "lswi"), "optical index")
    zero = xr.zeros_like(ds["ndvi"])
    mnd = ds["mndwi"] if "mndwi" in ds.data_vars else zero
    clear = xr.ones_like(ds["ndvi"], dtype=bool)
    return _wrap_features(
        _optical_kernel, [ds["ndvi"], ds["evi"], ds["lswi"], mnd, zero, clear], feature_names(sar=False),
        days=_day_numbers(ds["time"]), flood_threshold=float(spec.flood_threshold), blue_cloud=None,
    ).rename("optical_features")  # fmt: skip


def sar_features(ds: xr.Dataset, spec: FeatureSpec | None = None) -> xr.DataArray:
    """Sentinel-1 VH time-series statistics (see the module docstring for the list).

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` or ``(time, point)`` backscatter in **linear power** (``vh``, optional
        ``vv``); values <= 0 and NaN are nodata. numpy or dask. dB is computed inside, per value;
        the mean is taken in linear power.
    spec : FeatureSpec, optional
        Which features and their settings; ``None`` uses the defaults (``FeatureSpec()``).

    Returns
    -------
    xarray.DataArray
        ``(feature, ...)`` float32, dB for backscatter statistics, day numbers for dates, days for
        durations; NaN where no date is valid. Lazy if ``ds`` is; ``feature`` is one chunk.
    """
    spec = spec if spec is not None else FeatureSpec()
    _require(ds, ("vh",), "SAR")
    with_vv = "vv" in ds.data_vars
    arrays = [ds["vh"], ds["vv"]] if with_vv else [ds["vh"]]
    require_same_grid(*arrays)
    names = feature_names(optical=False, with_vv=with_vv)
    return _wrap_features(
        _sar_kernel, arrays, names, days=_day_numbers(ds["time"]), rise_window_days=float(spec.rise_window_days),
        smooth_days=float(spec.sar_smooth_days),
        canopy=(float(spec.canopy_band_db), float(spec.canopy_smooth_days), float(spec.canopy_link_days)),
    ).rename("sar_features")


def temporal_features(
    optical: xr.Dataset | None = None,
    sar: xr.Dataset | None = None,
    *,
    extra: Mapping[str, xr.DataArray] | None = None,
    spec: FeatureSpec | None = None,
) -> xr.DataArray:
    """All features of the rice classifier, optical then SAR, on one ``feature`` axis.

    Parameters
    ----------
    optical : xarray.Dataset, optional
        Sentinel-2/Landsat reflectance stack, as for :func:`optical_features`.
    sar : xarray.Dataset, optional
        Sentinel-1 stack in linear power, as for :func:`sar_features`; its dates may differ from
        the optical ones, its grid (or points) may not.
    extra : mapping of str to xarray.DataArray, optional
        More per-pixel features appended in the given order under their keys, e.g. the rule flags
        or scores of the optical and SAR rules: ``(y, x)`` or ``(point)`` on the same grid, cast to float32 (bool
        -> 0/1; give NaN, not a sentinel, for nodata).
    spec : FeatureSpec, optional
        Which features and their settings; ``None`` uses the defaults (``FeatureSpec()``).

    Returns
    -------
    xarray.DataArray
        ``features``: ``(feature, y, x)`` or ``(feature, point)``, float32, NaN = nodata, the
        ``feature`` axis in one chunk and the spatial chunks of the inputs. ``attrs`` hold
        ``band_scaling`` and ``feature_spec`` (JSON strings) for the model file. Lazy.

    Raises
    ------
    ConfigError
        When neither stack is given.
    MissingBandError, InputError, GridMismatchError
        When bands or the time axis are missing, or the two stacks are on different grids.
    """
    spec = spec if spec is not None else FeatureSpec()
    parts: list[xr.DataArray] = []
    if optical is not None:
        parts.append(optical_features(optical, spec))
    if sar is not None:
        parts.append(sar_features(sar, spec))
    for name, arr in (extra or {}).items():
        if "time" in arr.dims or "feature" in arr.dims:
            raise InputError(f"extra feature {name!r} must be one value per pixel or point; it has dims {arr.dims}.")
        parts.append(arr.astype(np.float32).expand_dims(feature=[str(name)]).rename("extra"))
    if not parts:
        raise ConfigError("temporal_features needs an optical stack, a SAR stack, or both.")
    for other in parts[1:]:
        require_same_grid(parts[0].isel(feature=0), other.isel(feature=0))
    out = xr.concat(parts, dim="feature", join="exact", coords="minimal", compat="override")
    if out.chunks is not None:
        out = out.chunk(feature=-1)
    scaling = {
        "optical": "surface reflectance 0-1 (float32), indices unitless" if optical is not None else None,
        "sar": "linear power in, statistics in dB" if sar is not None else None,
        "days": "day number from 1 January of the first date's year (1 = 1 Jan)",
    }
    return out.rename("features").assign_attrs(
        units="mixed (see feature names)",
        band_scaling=json.dumps(scaling, sort_keys=True),
        feature_spec=json.dumps(asdict(spec), sort_keys=True),
    )
