"""Pseudo-labels at the ends of the series: a season the series end cuts is no non-rice example.

A series that ends inside the crops' year (a desk's calendar year against a wet season
transplanted in October) holds only the first weeks of the last season: the puddled field's flood
and, at most, the seedlings. Both rules need the canopy's rise after the flood, so they call such
a single-season paddy non-rice with confidence, and the classifier, taught those pixels as
non-rice, maps every paddy whose season the series end cuts as non-rice too.
:func:`abstain_at_series_end` sets those verdicts to no opinion where the radar's last weeks hold
a dark spell on a pixel whose clear optical dates show dry soil often enough for a field that lies
fallow between seasons (docs/rice_self_trained.md, "A season cut by the series end").
:func:`abstain_at_series_start` does the same where the series opens inside a paddy's season: a
wet canopy in the first weeks, then a fallow on dry soil ("A season cut by the series start").
Both mark the pixels they judge with :data:`QA_SERIES_CUT`: there a long flat VH spell is the
fallow before (or after) the cut season, not a standing canopy, and gives no non-rice label.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import numpy as np
import xarray as xr

from .self_train_ends_kernel import dry_share_of, early_canopy, low_median_db, pond_and_drained
from .self_train_once import built_once
from .self_train_params import SelfTrainParams

__all__ = ["QA_SERIES_CUT", "SERIES_START_CUT", "abstain_at_series_end", "abstain_at_series_ends", "abstain_at_series_start", "cut_field_edge", "cut_no_vote",
           "dry_share", "keep_start_canopy_rice", "pond_after_harvest", "series_end_flood", "series_end_flood_held", "series_start_canopy",
           "harvest_stubble", "start_pond_field", "start_pond_no_vote"]

#: A ``qa_flags`` bit of the rule output used for training only (the rules use bits 0-4 and 6, the
#: label steps bit 7): a pixel whose season the series end or start cuts (:func:`abstain_at_series_ends`).
#: Its ``vh_canopy_days`` measures the months of fallow on either side of the cut season, whose VH
#: barely moves, so the canopy-duration labels (``SelfTrainParams.long_canopy_days``) skip it; it is
#: no stratum of its own (the self-trained map strips it before grouping).
QA_SERIES_CUT = 32

#: The boolean variable :func:`abstain_at_series_ends` adds to a rule output: the pixels the
#: series-start steps cut (:func:`abstain_at_series_start`, :func:`start_pond_field`) and those the
#: series-end flood cuts with a flood held over several passes (:func:`series_end_flood_held`), without
#: the other series-end floods and the field edges that :data:`QA_SERIES_CUT` marks too.
SERIES_START_CUT = "series_start_cut"


def series_end_flood(sar: xr.Dataset, spec: SelfTrainParams) -> xr.DataArray:
    """Where the radar's last ``spec.end_flood_days`` hold a dark spell (lazy, boolean).

    True where the lowest VH (dB) of the dates within ``spec.end_flood_days`` of the series' last
    date lies at least ``spec.end_flood_drop_db`` below the pixel's median VH over the whole series
    and reaches ``spec.end_flood_max_db``: a flooded field, open water, at the end of a series that
    shows the pixel as land for most of it. Permanent water is dark on every date (its median with
    it), an upland crop or a wetland outside its flood pulse shows no such drop, and a tall crop
    harvested in the last weeks (sugarcane) drops to bare soil, not to open water.
    """
    return _end_floods(sar, spec)[0]


def series_end_flood_held(sar: xr.Dataset, spec: SelfTrainParams) -> xr.DataArray:
    """Where the radar's last ``spec.end_flood_days`` hold a flood on consecutive passes (lazy,
    boolean): dates dark at both bars of :func:`series_end_flood` (``spec.end_flood_drop_db`` below
    the pixel's median VH and at most ``spec.end_flood_max_db``) one after the other, without a
    lighter date between them, over at least ``spec.end_flood_held_days``. A puddled paddy stays
    under water for weeks; a heavy rain's puddles on a fallow field drain within days and darken a
    single pass. False everywhere when ``spec.end_flood_held_days`` is ``None``.
    """
    return _end_floods(sar, spec)[1]


def _end_floods(sar: xr.Dataset, spec: SelfTrainParams) -> tuple[xr.DataArray, xr.DataArray]:
    """:func:`series_end_flood` and :func:`series_end_flood_held` from one pass over the VH stack:
    both read the same dB series and its median.
    """
    from .sar_series import nanmedian_rows, to_db
    from .seasons import prepare_series, time_axis

    assert spec.end_flood_days is not None
    vh = cast(xr.DataArray, prepare_series(sar["vh"], "SAR stack"))
    days = time_axis(vh["time"].values)[0]
    late = days >= days.max() - np.float32(spec.end_flood_days)
    drop, dark = np.float32(spec.end_flood_drop_db), np.float32(spec.end_flood_max_db)
    # without ``end_flood_held_days`` no spell is walked: nothing is held
    spell = np.flatnonzero(late) if spec.end_flood_held_days is not None else np.zeros(0, np.intp)
    held = np.float32(spec.end_flood_held_days or 0.0)

    def kernel(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            db = to_db(v)
            med = nanmedian_rows(db)
            end_min = np.nanmin(np.where(late, db, np.inf), axis=-1)
            flood = np.isfinite(end_min) & (med - end_min >= drop) & (end_min <= dark)
            out = np.zeros(db.shape[:-1], bool)
            first = np.full(db.shape[:-1], np.nan, np.float32)  # the first day of the running dark spell
            for i in spell:
                x = db[..., i]
                if not np.isfinite(x).any():  # a date without any value breaks no spell
                    continue
                wet = (x <= dark) & (med - x >= drop)
                first = np.where(wet, np.where(np.isnan(first), days[i], first), np.where(np.isnan(x), first, np.nan))
                out |= wet & (days[i] - first >= held)
        return flood, out

    flood, held_out = xr.apply_ufunc(kernel, vh, input_core_dims=[["time"]], output_core_dims=[[], []],
                                     dask="parallelized", output_dtypes=[bool, bool])
    return flood.rename("series_end_flood"), held_out.rename("series_end_flood_held")


@built_once
def dry_share(optical: xr.Dataset, spec: SelfTrainParams, rule_params: Any = None) -> xr.DataArray:
    """Per pixel, the share of its clear optical dates with LSWI below 0, dry soil or stubble (lazy;
    NaN with fewer than ``spec.persistent_min_dates`` clear dates, where a share says little).
    Clear as the optical rule with ``rule_params`` saw them, as in every series'-ends step here
    (:func:`~agromap.rice.self_train_clear.clear_indices`; default parameters when ``None``).
    """
    from .self_train_labels import clear_indices

    ok, _, lswi = clear_indices(optical, rule_params)
    return dry_share_of(ok, lswi, spec.persistent_min_dates).rename("dry_share")


def abstain_at_series_end(out: xr.Dataset, sar: xr.Dataset | None, optical: xr.Dataset | None,
                          spec: SelfTrainParams, rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """A rule's output ``out`` with its non-rice verdicts (below 0.5) set to no opinion (0.5) where the
    series ends in a flood (:func:`series_end_flood`) on a pixel whose clear optical dates are dry
    (:func:`dry_share`) on at least ``spec.end_flood_dry_fraction`` of them (lazy). Rice verdicts stand.

    The dry share tells a paddy from the other covers whose radar darkens in the last weeks: a
    paddy lies fallow on dry soil or stubble between its seasons (0.26-0.72 of its clear dates on the
    single-season paddies of ``wetland_confusion`` and ``monsoon_sparse_optical``), while a lotus or
    shrimp pond, floating plants and a flood-irrigated orchard are wet on nearly every clear date
    (at most 0.19). Unchanged without a radar or an optical stack, or when ``spec.end_flood_days``
    is ``None``.
    """
    if sar is None or optical is None or spec.end_flood_days is None or "vh" not in sar:
        return out
    return _no_opinion_where(out, _end_cut(series_end_flood(sar, spec), spec, dry_share(optical, spec, rule_params)))


def _no_opinion_where(out: xr.Dataset, cut: xr.DataArray) -> xr.Dataset:
    """``out`` with its non-rice verdicts (below 0.5) set to no opinion (0.5) where ``cut``; rice stands.
    ``cut`` is marked with :data:`QA_SERIES_CUT` in ``qa_flags``.
    """
    score = out["rice_score"]
    qa = (out["qa_flags"] | xr.where(cut, np.uint8(QA_SERIES_CUT), np.uint8(0))).astype(np.uint8)
    return out.assign(rice_score=xr.where(cut & (score < 0.5), np.float32(0.5), score).astype(np.float32), qa_flags=qa)


def _end_cut(flood: xr.DataArray, spec: SelfTrainParams, dry: xr.DataArray) -> xr.DataArray:
    return flood & (dry >= np.float32(spec.end_flood_dry_fraction))


def _start_cut(sar: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams, dry: xr.DataArray,
               pond: bool = False, rule_params: Any = None) -> xr.DataArray:  # fmt: skip
    after = dry >= np.float32(spec.start_dry_fraction)
    if pond and spec.start_pond_water_fraction is not None:
        after = after | pond_after_harvest(optical, spec, rule_params)
    return series_start_canopy(sar, optical, spec, rule_params) & after


@built_once
def pond_after_harvest(optical: xr.Dataset, spec: SelfTrainParams, rule_params: Any = None) -> xr.DataArray:
    """Where the clear optical dates show a pond and a drained field (lazy, boolean): at least
    ``spec.start_pond_water_fraction`` of them open water (NDVI < 0.1 and NDVI < LSWI, the optical
    rule's water test) and at least ``spec.start_pond_dry_dates`` dry (LSWI < 0), of at least
    ``spec.persistent_min_dates`` clear dates: a rice-shrimp field harvested, drained and stocked.
    """
    from .optical_params import OpticalRiceParams
    from .self_train_labels import clear_indices

    assert spec.start_pond_water_fraction is not None
    ok, ndvi, lswi = clear_indices(optical, rule_params)
    # the open water is the optical rule's test (self_train_labels.open_water) on the rule's bar
    bar = (rule_params if rule_params is not None else OpticalRiceParams()).water_ndvi_max
    return pond_and_drained(ok, ndvi, lswi, min_dates=spec.persistent_min_dates,
                            water_fraction=spec.start_pond_water_fraction, dry_dates=spec.start_pond_dry_dates,
                            water_ndvi_max=bar).rename("pond_after_harvest")


@built_once
def start_pond_field(sar: xr.Dataset | None, optical: xr.Dataset, spec: SelfTrainParams,
                     rule_params: Any = None) -> xr.DataArray | None:  # fmt: skip
    """Where the series opens in a wet canopy (:func:`series_start_canopy`) and a pond after a drained
    harvest follows (:func:`pond_after_harvest`): a rice-shrimp field whose crop the series start
    cuts. The opening canopy needs LSWI of only ``spec.start_pond_canopy_lswi``: the field is drained
    for its harvest, and nothing but a paddy turns from a canopy into a pond (lazy, boolean; ``None`` without a radar or when ``spec.start_pond_rice``,
    ``spec.start_canopy_days`` or ``spec.start_pond_water_fraction`` is off). Its open water is the
    shrimp pond after the rice, not a pond's year, so the optical rule's rice verdict there is no
    pond's (:func:`~agromap.rice.self_train_labels.drop_pond_rice`).
    """
    if (sar is None or "vh" not in sar or not spec.start_pond_rice or spec.start_canopy_days is None
            or spec.start_pond_water_fraction is None):
        return None
    # the canopy before a drained harvest: the wet-canopy bar of the fallow test would miss it
    opening = series_start_canopy(sar, optical, replace(spec, start_canopy_lswi=spec.start_pond_canopy_lswi),
                                  rule_params)
    field = opening & pond_after_harvest(optical, spec, rule_params)
    if spec.start_pond_stubble_ndvi is not None:  # a lotus pond's leaves die back into the water
        field = field & harvest_stubble(sar, optical, spec, rule_params)
    return field.rename("start_pond_field")


def harvest_stubble(sar: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                    rule_params: Any = None) -> xr.DataArray:  # fmt: skip
    """Where a harvest on a drained field follows the series' opening canopy (lazy, boolean): after
    the first clear date within ``spec.start_canopy_days`` of the first date with NDVI >=
    ``spec.start_canopy_ndvi``, the last such canopy date before the next open-water date (the
    optical rule's water test) is followed, before that water, by a dry clear date (LSWI < 0) with
    NDVI >= ``spec.start_pond_stubble_ndvi``: straw and stubble on drained soil. A lotus pond's
    leaves die back into the water and onto mud (NDVI below 0.2 on its dry dates).
    """
    from .self_train_labels import clear_indices, open_water

    assert spec.start_canopy_days is not None and spec.start_pond_stubble_ndvi is not None
    ok, ndvi, lswi = clear_indices(optical, rule_params)
    t = np.asarray(optical["time"].values).astype("datetime64[D]")
    early = t <= _first_date(sar, optical) + np.timedelta64(int(spec.start_canopy_days), "D")
    bar, stubble = np.float32(spec.start_canopy_ndvi), np.float32(spec.start_pond_stubble_ndvi)

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear = clear & np.isfinite(nd) & np.isfinite(lw)
        idx = np.arange(nd.shape[-1])
        with np.errstate(invalid="ignore"):
            canopy, water = clear & (nd >= bar), clear & open_water(nd, lw, rule_params)
            dry = clear & (lw < 0) & (nd >= stubble)
        none = nd.shape[-1]
        first = np.where(canopy & early, idx, none).min(axis=-1, initial=none)[..., None]
        pond = np.where(water & (idx > first), idx, none).min(axis=-1, initial=none)[..., None]
        last = np.where(canopy & (idx >= first) & (idx < pond), idx, -1).max(axis=-1, initial=-1)[..., None]
        return (dry & (idx > last) & (idx < pond) & (first < none)).any(axis=-1)

    return xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                          output_dtypes=[bool]).rename("harvest_stubble")


def start_pond_no_vote(sar_out: xr.Dataset, opt_out: xr.Dataset, sar: xr.Dataset | None,
                       optical: xr.Dataset | None, spec: SelfTrainParams | None,
                       rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The SAR rule's output ``sar_out`` with no score (NaN) where it says non-rice (below 0.5), the
    optical rule's output ``opt_out`` says rice (at least ``spec.rice_min_score``) and the pixel is a
    rice-shrimp field whose crop the series start cuts (:func:`start_pond_field`; lazy). The radar
    saw only the shrimp pond after that crop, and its sure non-rice averaged with the optical rule's
    rice is a hesitation; in :func:`~agromap.rice.self_train_labels.fuse_scores` the optical rule
    then decides alone there. Unchanged without an optical stack or ``spec``, without
    ``spec.start_pond_fused``, or where :func:`start_pond_field` is off.
    """
    if optical is None or spec is None or not spec.start_pond_fused:
        return sar_out
    field = start_pond_field(sar, optical, spec, rule_params)
    if field is None:
        return sar_out
    assert spec is not None
    quiet = field & (opt_out["rice_score"] >= np.float32(spec.rice_min_score)) & (sar_out["rice_score"] < 0.5)
    return sar_out.assign(rice_score=sar_out["rice_score"].where(~quiet).astype(np.float32))


def _first_date(*stacks: xr.Dataset) -> np.datetime64:
    return min(np.asarray(s["time"].values).astype("datetime64[D]").min() for s in stacks)


@built_once
def series_start_canopy(sar: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                        rule_params: Any = None) -> xr.DataArray:  # fmt: skip
    """Where the series opens inside a paddy's canopy (lazy, boolean): within ``spec.start_canopy_days``
    of the first date (of either stack) a clear optical date has NDVI >= ``spec.start_canopy_ndvi`` and
    LSWI >= ``spec.start_canopy_lswi``, a canopy over wet soil, and the median VH (dB) of the radar's
    dates in those days is at most ``spec.start_canopy_max_db``, below an upland crop's or
    sugarcane's brighter canopy.
    """
    from .self_train_labels import clear_indices

    assert spec.start_canopy_days is not None
    end = _first_date(sar, optical) + np.timedelta64(int(spec.start_canopy_days), "D")
    ok, ndvi, lswi = clear_indices(optical, rule_params)
    early = np.asarray(ok["time"].values).astype("datetime64[D]") <= end
    canopy = early_canopy(ok, ndvi, lswi, early, ndvi_min=spec.start_canopy_ndvi, lswi_min=spec.start_canopy_lswi)
    vh = sar["vh"]
    first = vh.isel(time=np.flatnonzero(np.asarray(vh["time"].values).astype("datetime64[D]") <= end))
    return (canopy & low_median_db(first, spec.start_canopy_max_db)).rename("series_start_canopy")


def abstain_at_series_start(out: xr.Dataset, sar: xr.Dataset | None, optical: xr.Dataset | None,
                            spec: SelfTrainParams, rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """A rule's output ``out`` with its non-rice verdicts (below 0.5) set to no opinion (0.5) where the
    series opens inside a paddy's canopy (:func:`series_start_canopy`) on a pixel whose clear optical
    dates are dry (:func:`dry_share`) on at least ``spec.start_dry_fraction`` of them (lazy): a
    single-season paddy transplanted before the series shows its canopy's tail, the harvest and the
    fallow, and no rule takes that for rice. Rice verdicts stand. Unchanged without a radar or an
    optical stack, or when ``spec.start_canopy_days`` is ``None``.
    """
    if sar is None or optical is None or spec.start_canopy_days is None or "vh" not in sar:
        return out
    return _no_opinion_where(out, _start_cut(sar, optical, spec, dry_share(optical, spec, rule_params),
                                             rule_params=rule_params))


def abstain_at_series_ends(out: xr.Dataset, sar: xr.Dataset | None, optical: xr.Dataset | None,
                           spec: SelfTrainParams, pond: bool = False, shrimp: bool = False,
                           rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """:func:`abstain_at_series_end` and :func:`abstain_at_series_start` in one step (lazy), the
    pixel's dry share built once for both. ``pond`` (the optical rule's own labels): after a wet
    canopy at the series start, a pond (:func:`pond_after_harvest`) counts as the fallow. ``shrimp``
    (the optical rule's and the fused labels): a rice-shrimp field the series opens in
    (:func:`start_pond_field`, whose canopy may stand on drained soil) is cut too. ``rule_params``:
    the optical rule's parameters, whose cloud, haze and snow tests and open-water bar every step
    here reads (default parameters when ``None``).
    """
    if sar is None or optical is None or "vh" not in sar:
        return out
    dry = dry_share(optical, spec, rule_params)
    end: xr.DataArray | None = None
    start: xr.DataArray | None = None
    held: xr.DataArray | None = None
    if spec.end_flood_days is not None:
        flood, held = _end_floods(sar, spec)
        end = _end_cut(flood, spec, dry)
    if spec.start_canopy_days is not None:
        start = _start_cut(sar, optical, spec, dry, pond, rule_params)
    field = start_pond_field(sar, optical, spec, rule_params) if shrimp else None
    if field is not None:
        start = field if start is None else start | field
    cut = start if end is None else end if start is None else end | start
    if cut is None:
        return out
    cut = cut | cut_field_edge(cut, optical, spec, rule_params)
    # the start cut apart: only a paddy opens the series in a wet canopy then lies fallow, while a
    # flood at the series end is also a fallow field's puddles (self_train_cutlike), unless it holds
    # for weeks as a puddled paddy's does
    opened = xr.zeros_like(cut, dtype=bool) if start is None else start
    if end is not None and held is not None and spec.end_flood_held_days is not None:
        opened = opened | (end & held)
    return _no_opinion_where(out, cut).assign({SERIES_START_CUT: opened.astype(bool)})


def cut_field_edge(cut: xr.DataArray, optical: xr.Dataset, spec: SelfTrainParams,
                   rule_params: Any = None) -> xr.DataArray:  # fmt: skip
    """Where a pixel beside cut ones carries the same crop (lazy, boolean): at least
    ``spec.cut_edge_neighbours`` of its eight neighbours are ``cut`` (a season the series end or
    start cuts) and lie within ``spec.cut_edge_ndvi_rms`` of its NDVI series
    (:func:`~agromap.rice.self_train_neighbours.ndvi_close_neighbours`, at least
    ``spec.edge_min_common_dates`` dates clear in both). The series-end and series-start
    tests read each pixel alone; a paddy's edge pixels mix its canopy and fallow with the bund or
    the next field and miss their bars by little, while the field's inner pixels pass, and the
    rule's non-rice verdict on those edges taught the classifier that the cut paddies are no rice
    (docs/rice_self_trained.md, "The edges of a season cut by the series' ends"). False everywhere
    when ``spec.cut_edge_ndvi_rms`` is ``None``.
    """
    from .self_train_neighbours import ndvi_close_neighbours

    if spec.cut_edge_ndvi_rms is None:
        return xr.zeros_like(cut, dtype=bool)
    close = ndvi_close_neighbours(optical, cut, 1, spec.edge_min_common_dates, spec.cut_edge_ndvi_rms, rule_params)
    return (close >= spec.cut_edge_neighbours).rename("cut_field_edge")


def keep_start_canopy_rice(out: xr.Dataset, full: xr.Dataset, sar: xr.Dataset | None, optical: xr.Dataset,
                           spec: SelfTrainParams, rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's strict output ``out`` (without its canopy-only evidence) with the rice
    verdicts of its ``full`` output (with it) where ``out`` is a sure non-rice verdict and the series opens inside a paddy's season
    (:func:`series_start_canopy` and the fallow or pond after it, as in
    :func:`abstain_at_series_start`); lazy. A single-season paddy transplanted before the series
    shows its canopy's tail, the harvest and the fallow: no flood, only the canopy standing in
    water that the full rule reads as a season hidden before the first date. Elsewhere a canopy
    alone stays no rice label (``SelfTrainParams.optical_canopy_labels``). Unchanged without a
    radar, or when ``spec.start_canopy_days`` is ``None``.
    """
    if sar is None or spec.start_canopy_days is None or "vh" not in sar:
        return out
    start = _start_cut(sar, optical, spec, dry_share(optical, spec, rule_params), True, rule_params)
    # only where the strict rule saw no season at all: where it hesitates the classifier decides
    rice = (start & (full["rice_score"] >= np.float32(spec.rice_min_score))
            & (out["rice_score"] <= np.float32(spec.other_max_score)))
    return out.assign(rice_score=xr.where(rice, full["rice_score"], out["rice_score"]).astype(np.float32))


def cut_no_vote(out: xr.Dataset) -> xr.Dataset:
    """A rule's output ``out`` with no score (NaN) where a series-end or series-start step made its
    non-rice verdict no opinion (:data:`QA_SERIES_CUT` and a score of 0.5; lazy). In the fusion of
    the two rules (:func:`~agromap.rice.self_train_labels.fuse_scores`) the other rule then decides
    alone there: the radar saw only the fallow around a season the series cuts, and its 0.5 would
    pull the optical rule's sure rice verdict on the cut paddy (0.74-0.85) into a hesitation. Where
    the other rule says non-rice, the series-end and series-start steps judge the fused score again.
    """
    cut = ((out["qa_flags"] & np.uint8(QA_SERIES_CUT)) > 0) & (out["rice_score"] == np.float32(0.5))
    return out.assign(rice_score=out["rice_score"].where(~cut).astype(np.float32))
