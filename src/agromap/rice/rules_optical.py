"""Optical flooding/transplanting rice rule (Xiao et al.; docs/science/rice.md#optical-flooding-rule).

The rule, per pixel, over the valid observations of one series (one agricultural year):

1. **Valid observation**: NDVI, EVI, LSWI finite, ``|EVI| <= max_abs_evi`` = 1 (docs/science/indices_and_masks.md),
   not cloud (``blue >= cloud_blue`` = 0.2 when ``blue`` is given; sensor QA through ``valid=``
   or an ``scl`` variable), not haze (``blue - 0.5 red > haze_hot`` = 0.08, Fmask's HOT test),
   not snow (NDSI > 0.40 and NIR > 0.11 when ``green`` is given).
2. **Flood signal**: ``LSWI + T >= EVI`` or ``LSWI + T >= NDVI`` (T = ``flood_t`` = 0.05).
3. **Flood onset**: flooded at t and not flooded at the previous *valid* observation (clouds do not
   reset the state). With ``onset_at_series_start`` (default) a flooded first valid observation
   is an onset too: a series that starts inside the flooding period would otherwise lose it. A
   flooded bare field (NDVI <= 0.40) after a clear interval of more than ``onset_gap_days`` (75 d)
   is an onset too: the state over an unseen interval that long is unknown (two seasons' floods).
4. **Growth confirmation** of an onset at day d0 (``growth_rule="either"`` by default):

   - *Xiao* (Xiao et al. 2005, 2006): some valid EVI in (d0, d0 + 40 d] reaches ``0.5 x`` the cycle's
     maximum EVI, the cycle being [d0, d0 + ``peak_window_days`` = 90 d]; and that maximum is at
     least ``min_peak_evi`` = 0.5 (PhenoRice's "EVI max >= 0.5", Boschetti et al. 2017), without which
     any flat, low series (seasonal water, bare soil) would pass the relative test.
   - *NDVI climb* (monsoon rule, docs/science/rice.md#optical-flooding-rule): the NDVI trough over [d0, d0 + 30 d]
     is <= 0.40, and the NDVI maximum over (d0, d0 + 90 d] is >= 0.50 and >= trough + 0.30.
     With a 10-16 day revisit the 40-day Xiao window holds only two or three dates, and a cloud
     or an onset seen early in the puddling period leaves none in the canopy phase; the climb
     test sees the same growth over the cycle.

   Whichever test is used, a canopy standing in water confirms it (``wet_canopy_lswi`` = 0.20):
   some date of the cycle with NDVI >= 0.50 has LSWI >= 0.20 (no vote when the cycle shows no
   such date). A paddy is flooded under its canopy until shortly before harvest; a rain puddle
   followed by an upland crop, or a cloud shadow that faked the flood signal, is followed by a
   canopy over soil.

   Whichever test is used, the flood must not stand under vegetation (``early_ndvi_days`` = 10):
   no clear date within 10 days after the onset has NDVI > 0.40, unless the onset is the
   pixel's first clear date. A paddy is water and seedlings for weeks after puddling; basin
   irrigation under orchard trees or rain on a growing crop is gone at the next date.

   ``"xiao"`` or ``"ndvi"`` use one test only, ``"both"`` requires both. Every window that ends
   inside a gap of the date axis longer than 30 d (cloud season, lost dates; up to 140 d) also
   takes the first date after the gap: a fixed window on a sparse series sees no canopy.
5. **Masks** (counts as fractions of all valid observations; docs/science/rice.md#optical-flooding-rule):
   permanent water when ``NDVI < 0.10 and NDVI < LSWI`` in >= 22 % (10 of 46 composites);
   evergreen forest when ``NDVI >= 0.70`` in >= 43 % (20 of 46); evergreen shrub when
   ``LSWI >= 0.10`` in every valid observation; a pixel with a clear date of a flooded bare field
   (NDVI <= 0.3, LSWI >= NDVI + ``flood_not_evergreen``), or on a sparse series of bare, dry ground (NDVI <= 0.3,
   LSWI < ``dry_not_evergreen``), is no evergreen forest, and on a sparse series a field edge's flood seen through
   a small green fraction (``shrub_flood_evi``) is no evergreen shrub. By default (``mask_outside_cycles``) only dates
   *outside* confirmed flood-growth cycles [onset, onset + 90 d] are counted as water/forest/shrub
   dates. Xiao's fractions were set on annual 8-day MODIS composites of 1-2 crops; a paddy's own
   flooded dates exceed 22 % of a 3-crop year (synthetic: 29 % of triple-crop paddies lost) or of a
   short monsoon series with clouds, and its green dates approach 43 %. Permanent water and forest
   have no confirmed cycle, so for them nothing changes. ``mask_outside_cycles=False`` is the
   literal rule. A pixel with a confirmed cycle is masked as water only when water covers
   ``cycle_water_fraction`` (75 %) of its other dates (floodplain paddies under the river's flood
   between seasons). So is a pixel that shows a *harvest* (``harvest_lswi_max``): a canopy
   standing in water (NDVI >= 0.6, LSWI >= 0.20), then on a later date stubble on dry soil
   (0.15 <= NDVI <= 0.3, LSWI < 0); such a pixel is also no evergreen shrub and its undated
   evidence has no flood-duration limit (step 7), whatever clouds hid of its cycles. So is a
   *flooded field on a sparse series* (``sparse_max_dates``): at most 15 clear dates, a gap of
   at least 90 days between two of them, a canopy standing in water (NDVI >= 0.6, LSWI >= 0.25)
   and open water on another date; it is no evergreen forest either (a forest is never open
   water), and its undated evidence may take a canopy seen early in the series one year on,
   within ``peak_window_days`` (90 d) after the series' last flooded date (the crop calendar
   repeats: a December flood puddles the season whose January canopy the series showed).
6. **Seasons**: confirmed onsets are accepted in time order when at least ``min_season_days``
   (80 d) after the previous accepted one; each accepted onset is a season, and its date (the
   onset observation's calendar day of year) is ``transplant_doy``: the start of flooding, which
   precedes transplanting by the puddling period (about 1-2 weeks). With season windows (a crop
   calendar), onsets outside every window are ignored and season *k* is the first confirmed
   onset inside window *k*.

7. **Undated evidence** (``undated_seasons``; without calendar windows): across a cloud gap the
   flood and the canopy of one season can lie further apart than any window. A pixel is then rice
   when its lowest clear NDVI is <= ``ndvi_low`` (0.3), a clear date with NDVI <= 0.4 shows the
   flood signal with LSWI > 0, a canopy NDVI >= ``ndvi_high`` (0.6) follows it within
   ``max_cycle_days`` (180 d) across a gap longer than ``gap_days`` (45 d) or with fewer than two
   clear dates in between, no flooded dark spell lasts more than ``max_flood_days`` (75 d), and
   at least half of its clear canopy dates (NDVI >= 0.5) stand in water (LSWI >= 0.20,
   ``undated_wet_share``: a flooded meadow greens over moist soil, a paddy's canopy in water).
   It counts one season without a date. The baseline "min NDVI <= 0.3 and max NDVI >= 0.6" is
   thus contained, with the flood, its order and its duration added (see docs/rice_rules.md).
   A canopy standing in water (NDVI >= 0.6, LSWI >= ``undated_wet_canopy_lswi`` = 0.32) seen
   more than ``gap_days`` after the last clear date that was neither water nor a young crop in
   water (NDVI < 0.5 with LSWI >= ``wet_canopy_lswi``), or with no such date before it, on a pixel
   with a bare date (NDVI <= 0.3), is undated evidence too: its flooding fell in a cloud gap.
   So is a young crop seen greening out of its flood (NDVI 0.30 above the flood's, 0.15 above the bare
   date before it, LSWI >= 0.05) on the last clear date before an interval of at least 90 days that
   hides its canopy, with the field drained after it (``hidden_young_rise``). A flooded spell before a gap
   may also follow the previous crop's canopy in water (LSWI >= 0.25, ``hidden_canopy_lswi``), and the
   stubble after a flooded seedbed may read NDVI up to 0.35 (``seedbed_stubble_ndvi_max``).
   So is a season hidden in a gap (``gap_season_lswi`` = 0.30): a bare, dry date (NDVI <= 0.35,
   LSWI < 0.10), a clear interval of 65-150 days, then a canopy spell whose wettest date (NDVI >=
   0.6) reads LSWI >= 0.30 and which ends within 170 days of the bare date. Where clouds hide the
   evidence the term abstains rather than refutes: a clear interval of more than 45 days after a
   canopy date hides the season's end, so the season is measured to its last canopy date seen
   (``gap_season_open_end``), and the first clear date after the interval may show the young crop
   on wetted soil (NDVI < 0.5, LSWI >= 0.05, ``gap_season_young_soil_lswi``: a drained paddy's
   saturated soil) with the canopy following within 45 days
   (``gap_season_young_days``; the canopy's bar is then 0.25, ``gap_season_young_lswi``), or on
   several clear dates within those 45 days (``gap_season_young_run``); one date below canopy
   greenness between canopy dates at most 40 days apart (missed haze or shadow) does not end the
   spell (``gap_season_dip_days``). A pixel
   whose season hidden in a gap votes rice is no evergreen forest (``gap_season_not_forest``), and a
   canopy spell on the first clear date votes too, the series' start standing for the unseen bare date
   and interval (``gap_season_open_start``), and so does the series' first spell when it begins within
   65 days of the first clear date after wet dates only (``gap_season_open_young``); a spell still running
   on the last clear date votes, measured to it (``gap_season_cut_end``).
   So is a flood the series' end cuts (``end_flood_days`` = 60): the clear dates that end the series
   all wet and below canopy greenness (LSWI >= 0.20, NDVI < 0.5), one of them open water (NDVI <= 0),
   beginning at most 60 days before the last clear date and at most 100 days after a bare, dry date
   (``end_flood_link_days``: the fallow may be seen last before the monsoon's cloud gap); in place of
   the open water, the young crop's NDVI rising by 0.10 within the run (``end_flood_rise``), and the
   run may end in canopy dates standing in water (LSWI >= 0.30, ``end_flood_canopy_lswi``), which
   also vote right after the bare date across a clear interval of at least 40 days
   (``end_canopy_min_gap``); turbid open water between the run and the bare date is passed over
   (``end_flood_turbid``), and so is shallow water over moist mud (NDVI <= 0.15 with the flood
   signal, ``end_flood_shallow_ndvi``); where no wet date ends the series, those first flooded days
   are the run themselves (open water on one date, a shallow flood on two). The open water of those
   first days counts as the run's (``end_flood_turbid_water``), the link may count from them when the
   whole flood is within 60 days of the last clear date (``end_flood_turbid_link``), and the flood may
   follow the previous crop's canopy standing in water (``end_flood_after_canopy``). A field flooded
   again after a gap that hid a crop and flooded to the last clear date votes when a young crop greens
   in that flood (``end_reflood``). Where such a flood votes rice on two clear dates or more, the water
   mask reads the dates before it (``end_flood_not_water``).

``rice_score`` is ``logistic(m)`` of the best onset's margin ``m``: the smallest of the growth
margin (index units / 0.05) and the mask margins (fraction / 0.05), so ``rice_score > 0.5`` when
the rule says rice and ``< 0.5`` otherwise (0 without any flood onset or canopy date; NaN without
valid data).

Known confusion: a short flood over a young *dryland* crop (flood water, then the crop's canopy)
passes the rule like a paddy; the disaster module's flood dates separate the two.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from .. import indices
from ..errors import ConfigError, MissingBandError
from .optical_params import OpticalRiceParams
from .seasons import (
    LAYER_SPECS,
    SeasonWindow,
    apply_rule,
    flatten_time,
    prepare_series,
    resolve_windows,
    time_axis,
    window_index,
)

__all__ = ["OpticalRiceParams", "optical_rice_rule", "clear_observations", "LAYER_SPECS"]

_F32 = np.float32

def _stretched_end(days: npt.NDArray[np.int32], end: float, min_gap: float = 30.0, max_gap: float = 140.0) -> int:
    """End index (exclusive) of a window ending at day ``end``, stretched over an observation gap.

    When ``end`` falls inside a gap of the date axis longer than ``min_gap`` days (a cloud
    season, lost dates), the window takes the first date after the gap too, for gaps up to
    ``max_gap``: a fixed day window on a sparse series otherwise holds no observation of the
    canopy. Dense series (gaps of a revisit or two) are unchanged.
    """
    i = int(np.searchsorted(days, end, side="right"))
    if 0 < i < days.size and min_gap < days[i] - days[i - 1] <= max_gap:
        return i + 1
    return i


def _axis(days: npt.NDArray[np.int32], window: npt.NDArray[np.int8], n_windows: int, p: OpticalRiceParams
          ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Per date: may an onset count there (inside a season window, or all), and its windows' end indices."""
    n_t = days.size
    in_win = window >= 0 if n_windows else np.ones(n_t, dtype=bool)
    ends = np.array([[_stretched_end(days, float(d) + span) for d in days]
                     for span in (p.growth_days, p.peak_window_days, p.trough_days)], dtype=np.int64).reshape(3, n_t)
    # The early-NDVI window is not stretched over gaps: the flood's next few days, or nothing.
    early = np.searchsorted(days, days.astype(np.float64) + (p.early_ndvi_days or 0.0), side="right")
    # The young crop's second flood (``young_reflood_days``): not stretched either.
    reflood = np.searchsorted(days, days.astype(np.float64) + (p.young_reflood_days or 0.0), side="right")
    # The cycle's dates before a gap its window is stretched over, and the first date the rise after the onset
    # is read on (``gap_canopy_rise``).
    pre = np.searchsorted(days, days.astype(np.float64) + p.peak_window_days, side="right")
    seen = np.searchsorted(days, days.astype(np.float64) + p.gap_canopy_seen_days, side="left")
    return in_win, np.concatenate([ends, *(a.astype(np.int64).reshape(1, n_t) for a in (early, reflood, pre, seen))])


def _optical_kernel(
    ndvi: npt.NDArray[Any], evi: npt.NDArray[Any], lswi: npt.NDArray[Any], valid: npt.NDArray[Any], *,
    days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16], window: npt.NDArray[np.int8],
    n_windows: int, p: OpticalRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """The rule on ``(..., time)`` index arrays; returns the arrays of ``seasons.OUTPUT_DTYPES``.

    Validity, onsets, growth margins, masks and the undated evidence are computed per pixel by
    the compiled kernel (:mod:`agromap.rice.optical_kernel`, imported here on first use so that
    importing the package does not load numba); seasons and the score follow in numpy.
    """
    from .optical_kernel import optical_pixels

    lead, (nd, ev, ls, ok) = flatten_time(ndvi, evi, lswi, valid)
    nd, ev, ls = (a.astype(_F32, copy=False) for a in (nd, ev, ls))
    in_win, ends = _axis(days, window, n_windows, p)
    k = optical_pixels(nd, ev, ls, ok.astype(bool, copy=False), days, in_win, ends, p)
    return _seasons_and_score(k, lead, days=days, doy=doy, window=window, n_windows=n_windows, p=p)


def _optical_band_kernel(
    nir: npt.NDArray[Any], red: npt.NDArray[Any], blue: npt.NDArray[Any], swir16: npt.NDArray[Any],
    lswi_nir: npt.NDArray[Any], green: npt.NDArray[Any], base: npt.NDArray[Any], *, has_green: bool, has_base: bool,
    days: npt.NDArray[np.int32], doy: npt.NDArray[np.uint16], window: npt.NDArray[np.int8],
    n_windows: int, p: OpticalRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """:func:`_optical_kernel` on float32 reflectance arrays: the kernel computes the indices and the
    clear-sky tests itself (``green``/``base`` are ignored without ``has_green``/``has_base``).
    """
    from .optical_kernel import optical_band_pixels

    lead, (n, r, b, s, ln, g, ok) = flatten_time(nir, red, blue, swir16, lswi_nir, green, base)
    in_win, ends = _axis(days, window, n_windows, p)
    k = optical_band_pixels(n, r, b, s, ln, g if has_green else None, ok.astype(bool, copy=False) if has_base else None,
                            days, in_win, ends, p)
    return _seasons_and_score(k, lead, days=days, doy=doy, window=window, n_windows=n_windows, p=p)


def _seasons_and_score(
    k: dict[str, npt.NDArray[Any]], lead: tuple[int, ...], *, days: npt.NDArray[np.int32],
    doy: npt.NDArray[np.uint16], window: npt.NDArray[np.int8], n_windows: int, p: OpticalRiceParams,
) -> tuple[npt.NDArray[Any], ...]:
    """Seasons, score and QA flags from the kernel's per-pixel results (see the module's steps 6-7).

    The seasons (in time order, one per window with a calendar), the undated season, the QA bits
    and the nodata conventions are one compiled walk over the pixels that releases the
    interpreter's lock (:func:`agromap.rice.seasons_kernel.season_pixels`; the tests check it
    against a numpy formulation, bit for bit). Takes the ``(pixel, time)`` arrays ``onset`` and ``growth`` out of ``k``
    once the seasons are chosen.
    """
    from .seasons_kernel import rule_outputs, season_pixels

    o = season_pixels(k, n_slots=n_windows or p.max_seasons, window=window, doy=doy, days=days,
                      n_windows=n_windows, min_season_days=p.min_season_days, undated=p.undated_seasons)
    # The (pixel, time) onsets and growth margins are read only above: freed here, before the
    # score is made (a fifth of the tile's memory while the rule runs).
    del k["onset"], k["growth"]
    return rule_outputs(o, lead)


def _kernel_bands(ds: xr.Dataset, p: OpticalRiceParams) -> list[xr.DataArray] | None:
    """The reflectances the kernel reads itself (``nir, red, blue, swir16, lswi_nir, green or None``), or
    ``None`` when the indices come from ``ds`` or a band is not float32 (the indices are then computed
    by :mod:`agromap.indices` and the clear-sky tests by :func:`clear_observations`, in the
    input's precision).
    """
    if any(v in ds for v in ("ndvi", "evi", "lswi")):
        return None
    names = ["nir", "red", "blue", "swir16", p.lswi_nir_band]
    if p.snow_ndsi is not None and "green" in ds:
        names.append("green")
    if any(b not in ds or ds[b].dtype != _F32 for b in names):
        return None
    bands = [ds[b] for b in names]
    from ..io.grid import require_same_grid

    # As agromap.indices checks the bands of each index.
    require_same_grid(*bands[:3])
    require_same_grid(bands[4], bands[3])
    if len(bands) > 5:
        require_same_grid(bands[5], bands[3])
    return bands


def _bands(ds: xr.Dataset, p: OpticalRiceParams) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """NDVI, EVI and LSWI: taken from ``ds`` when present, else computed from the bands (lazy)."""
    if all(v in ds for v in ("ndvi", "evi", "lswi")):
        return ds["ndvi"], ds["evi"], ds["lswi"]
    need = ("nir", "red", "blue", "swir16", p.lswi_nir_band)
    missing = sorted({b for b in need if b not in ds})
    if missing:
        raise MissingBandError(
            f"the optical rice rule needs bands {sorted(set(need))} (or variables ndvi, evi, lswi); "
            f"missing {missing} among {sorted(map(str, ds.data_vars))}. Rename bands to common names "
            "(agromap.sensors) or compute the indices with agromap.indices first."
        )
    return (indices.ndvi(ds["nir"], ds["red"]), indices.evi(ds["nir"], ds["red"], ds["blue"]),
            indices.lswi(ds[p.lswi_nir_band], ds["swir16"]))


def clear_observations(ds: xr.Dataset, like: xr.DataArray, p: OpticalRiceParams, valid: xr.DataArray | None
                       ) -> xr.DataArray:
    """Clear-observation mask from ``valid``/``scl``, the blue cloud test and the snow test (lazy bool).

    Parameters
    ----------
    ds : xarray.Dataset
        Reflectance stack; ``scl``, ``blue``, ``green``, ``swir16`` and ``nir`` are used when present.
    like : xarray.DataArray
        Gives the mask its shape and coordinates (e.g. the NDVI stack).
    p : OpticalRiceParams
        ``cloud_blue`` and ``snow_ndsi`` thresholds (``None`` skips that test).
    valid : xarray.DataArray or None
        A caller's own validity mask; used instead of ``scl`` when given.

    Returns
    -------
    xarray.DataArray
        bool, True where the observation is clear, lazy.
    """
    out = xr.ones_like(like, dtype=bool)
    qa = _qa_valid(ds, valid)
    if qa is not None:
        out = out & qa
    if p.cloud_blue is not None and "blue" in ds:
        out = out & (ds["blue"] < np.float32(p.cloud_blue))
    if p.haze_hot is not None and "blue" in ds and "red" in ds:
        # Fmask's HOT test (Zhu & Woodcock 2012): haze is brighter in blue than in red.
        out = out & ~(ds["blue"] - np.float32(0.5) * ds["red"] > np.float32(p.haze_hot))
    if p.snow_ndsi is not None and "green" in ds and "swir16" in ds and "nir" in ds:
        ndsi = indices.ndsi(ds["green"], ds["swir16"])
        snow = (ndsi > np.float32(p.snow_ndsi)) & (ds["nir"] > np.float32(p.snow_nir))
        out = out & ~snow
    return out.rename("valid")


def _qa_valid(ds: xr.Dataset, valid: xr.DataArray | None) -> xr.DataArray | None:
    """The caller's mask, else the ``scl`` band's usable classes, else ``None`` (lazy bool)."""
    from .. import masks

    if valid is not None:
        return valid.astype(bool)
    if "scl" in ds:
        return masks.scl_valid(ds["scl"])
    return None


def optical_rice_rule(
    ds: xr.Dataset,
    params: OpticalRiceParams | None = None,
    *,
    valid: xr.DataArray | None = None,
    windows: str | Sequence[SeasonWindow] | None = None,
) -> xr.Dataset:
    """Label-free paddy rice map and transplanting dates from an optical time series.

    Parameters
    ----------
    ds : xarray.Dataset
        ``(time, y, x)`` raster or ``(time, point)`` table (any dims with ``time``), numpy or
        dask. Either reflectance bands ``nir``, ``red``, ``blue``, ``swir16`` (0-1, NaN = nodata;
        optional ``green`` for the snow test and ``scl`` for the Sentinel-2 cloud mask), or
        precomputed ``ndvi``, ``evi``, ``lswi`` (float, NaN = nodata). Dates may be irregular,
        unsorted (they are sorted) or missing; duplicates are an error.
    params : OpticalRiceParams, optional
        Thresholds (defaults: published values).
    valid : xarray.DataArray of bool, optional
        Clear-observation mask (True = usable) aligned with ``ds``; when given, ``scl`` is not used.
    windows : str or sequence of SeasonWindow, optional
        Flooding/transplanting windows (a :data:`~agromap.rice.seasons.CROP_CALENDARS` name or
        windows); ``None`` finds seasons anywhere in the series.

    Returns
    -------
    xarray.Dataset
        The variables of :mod:`agromap.rice.seasons` (``rice_class`` uint8/255, ``n_seasons``
        uint8/255, ``transplant_doy`` uint16 ``(season, ...)``/0, ``rice_score`` float32/NaN,
        ``n_valid_obs``, ``n_valid_in_flood_window``, ``qa_flags`` uint8) on the non-time dims
        of ``ds``, with its coordinates (grid included). Lazy when ``ds`` is dask-backed (time is
        merged into one chunk); dtypes are known before computing. No float64.

    Raises
    ------
    MissingBandError
        Neither the bands nor the indices are present.
    InputError
        No ``time`` dimension or coordinate, or duplicated dates.

    References
    ----------
    Xiao X. et al. 2005, RSE 95:480-492; Xiao X. et al. 2006, RSE 100:95-113; docs/science/rice.md.

    Examples
    --------
    >>> from agromap.testing import SceneSpec, make_s2_stack
    >>> out = optical_rice_rule(make_s2_stack(SceneSpec(shape=(16, 16))))
    >>> out.rice_class.dtype.name, out.transplant_doy.dims
    ('uint8', ('season', 'y', 'x'))
    """
    p = params if params is not None else OpticalRiceParams()
    if not isinstance(ds, xr.Dataset):
        raise ConfigError("optical_rice_rule takes an xarray.Dataset of bands (nir, red, blue, swir16) "
                          "or of indices (ndvi, evi, lswi).")
    win = resolve_windows(windows)
    ds = prepare_series(ds, "optical_rice_rule input")  # type: ignore[assignment]
    if valid is not None:
        valid = prepare_series(valid, "valid mask")  # type: ignore[assignment]
    days, doy = time_axis(ds["time"].values)
    kwargs: dict[str, Any] = {"days": days, "doy": doy, "window": window_index(doy, win), "n_windows": len(win),
                              "p": p}
    attrs = {"algorithm": "xiao-pppm-multiseason", "rice_rule": "optical",
             "parameters": json.dumps(dataclasses.asdict(p), sort_keys=True),
             "season_windows": json.dumps([dataclasses.asdict(w) for w in win])}
    bands = _kernel_bands(ds, p)
    if bands is not None:
        # The kernel computes the indices and the clear-sky tests per date: no (time, y, x) index
        # or mask arrays, and no passes over them (a third of the rule's time on a tile).
        base = _qa_valid(ds, valid)
        inputs = [*bands[:5], bands[5] if len(bands) > 5 else bands[0], bands[0] if base is None else base]
        kwargs.update(has_green=len(bands) > 5, has_base=base is not None)
        return apply_rule(_optical_band_kernel, inputs, kwargs, len(win) or p.max_seasons, attrs)
    ndvi, evi, lswi = _bands(ds, p)
    ok = clear_observations(ds, ndvi, p, valid)
    return apply_rule(_optical_kernel, [ndvi, evi, lswi, ok], kwargs, len(win) or p.max_seasons, attrs)
