"""The pseudo-label score of the self-trained rice map: what each rule's verdict is worth as a label.

:func:`agromap.rice.self_trained.self_trained_rice_map` turns a rule's ``rice_score`` into
pseudo-labels. Before that, the scores are adjusted here, lazily, for what the sensors could see:

- :func:`abstain_where_blind`: the optical rule's non-rice verdict counts as no opinion where its
  clear-sky series has a gap a whole rice season could hide in (:func:`longest_clear_gap`),
- except on a persistent cover (:func:`persistent_cover`): evergreen canopy or open water on
  nearly every clear date is no paddy, whatever a gap hides (a sure vote in the fused labels);
- :func:`fuse_scores`: with both rules, the mean of their scores, and at field edges
  (:func:`edge_rescue`) the optical verdict where it saw the paddy's flood (:func:`flood_dates`)
  and follows its NDVI (:func:`edge_ndvi_rms`); elsewhere the radar's non-rice where no clear date
  was wet (:func:`wettest_lswi`);
  the optical rice verdict counts as no opinion on a pixel never seen drained
  (:func:`drained_dates`), a canal or pond under floating plants.

- :func:`drop_pond_rice`: the optical rule's rice verdict counts as no opinion on a pond (water on
  a large share of the clear dates, seldom dry), where lotus and floating plants look like rice
  (with both rules no vote at all: the radar decides there alone);
  :func:`drop_undrained_rice`: and on a pixel never seen drained (floating plants on a canal).

- :func:`water_mask_crop`: the optical rule's water-mask verdict counts as no opinion on a pond
  that carries a green canopy on a few clear dates (a rice-shrimp field).

- :func:`keep_seedbed_nonrice`: the SAR rule's non-rice verdict stands where only its seedbed
  reading lifted the score, and not past the rule's own cut.

docs/rice_self_trained.md gives the physical reasons and the measured effect of each.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from .self_train_clear import clear_indices
from .self_train_fuse_kernel import fused_score, fused_seasons, optical_vote, per_pixel
from .self_train_neighbours import any_within, ndvi_close_neighbours, ndvi_rms_to
from .self_train_params import SelfTrainParams

__all__ = ["QA_PERSISTENT_ONLY", "abstain_where_blind", "blind_optical_rule", "drop_pond_rice", "drop_undrained_rice",
           "clear_indices", "edge_ndvi_rms", "edge_rescue", "flood_dates", "drained_dates", "fuse_scores", "keep_seedbed_nonrice", "longest_clear_gap",
           "ndvi_close_neighbours", "ndvi_rms_to", "open_water", "open_water_nonrice", "persistent_cover", "water_mask_crop", "wettest_lswi"]

#: A ``qa_flags`` bit of the rule output used for training only (the rules use bits 0-4 and 6): a
#: non-rice verdict on a blind optical series kept because the cover is persistent
#: (:func:`persistent_cover`).
QA_PERSISTENT_ONLY = 128


def blind_optical_rule(out: xr.Dataset, optical: xr.Dataset, blind_gap_days: float,
                       spec: SelfTrainParams | None = None, rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its non-rice verdicts set to no opinion where it was
    blind (:func:`abstain_where_blind`), but kept on a persistent cover (:func:`persistent_cover`,
    unless ``spec.persistent_fraction`` is ``None``); those kept verdicts carry the
    :data:`QA_PERSISTENT_ONLY` bit in ``qa_flags`` (lazy); :func:`fuse_scores` makes them sure.
    Clear dates as the optical rule with ``rule_params`` saw them (:func:`clear_indices`).
    """
    gap = longest_clear_gap(optical, rule_params)
    if spec is None or spec.persistent_fraction is None:
        return out.assign(rice_score=abstain_where_blind(out["rice_score"], gap, blind_gap_days))
    # Evergreen canopy or open water on (nearly) every clear date is no paddy, whatever a gap hides:
    # its non-rice verdict stands, marked so that co-training knows which labels only it gave.
    kept = (gap >= np.float32(blind_gap_days)) & persistent_cover(optical, spec, rule_params) & (out["rice_score"] < 0.5)
    score = abstain_where_blind(out["rice_score"], gap.where(~kept, np.float32(0.0)), blind_gap_days)
    qa = (out["qa_flags"] | xr.where(kept, np.uint8(QA_PERSISTENT_ONLY), np.uint8(0))).astype(np.uint8)
    return out.assign(rice_score=score, qa_flags=qa)


def drop_pond_rice(out: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                   abstain: float = 0.5, rule_params: Any = None,
                   keep: xr.DataArray | None = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its rice verdicts set to no opinion (``abstain``) on a
    pond (lazy).

    A pond is a pixel with at least ``spec.persistent_min_dates`` clear dates of which at least
    ``spec.pond_water_fraction`` show open water (the optical rule's water test, as in
    :func:`persistent_cover`) and fewer than ``spec.pond_dry_fraction`` are dry (LSWI < 0). A lotus
    or water-hyacinth pond holds water the year round and its floating-leaf canopy rises out of
    it (NDVI up while LSWI stays high), which the optical rule reads as a paddy's flood and
    canopy; a paddy is drained before every harvest and shows stubble on dry soil, and carries a
    canopy over most of its flooded weeks. The verdict becomes no opinion rather than non-rice:
    a paddy flooded right after harvest can look the same on a cloudy series, so it is left out
    of the labels, not taught as non-rice. ``abstain``: 0.5 for the optical rule's own labels; NaN
    (no vote) before :func:`fuse_scores`, where the radar then decides alone, as where the optical
    series has no valid date: averaged with 0.5, a radar sure of non-rice on a lotus pond (SAR score
    0.2-0.3) stayed out of the labels. With ``spec.pond_crop_labels`` a pixel that shows a pond, then
    one short rice canopy (the optical rule's ``pond_crop_green_days`` of ``rule_params``, default
    :class:`~agromap.rice.optical_params.OpticalRiceParams`; flood signal in its NDVI form, as
    :func:`flood_dates`) is no pond here: a rice-shrimp field is open water for half its clear dates
    and drained only for its harvest. Nor is a pixel of ``keep`` (boolean, optional): a rice-shrimp
    field whose crop the series opens in (:func:`~agromap.rice.self_train_ends.start_pond_field`).
    Unchanged when ``spec.pond_water_fraction`` is ``None``.
    """
    if spec.pond_water_fraction is None:
        return out
    from .optical_params import OpticalRiceParams
    from .pond_crop import pond_then_crop
    from .seasons import time_axis

    ok, ndvi, lswi = clear_indices(optical, rule_params)
    wet_min, dry_max, need = np.float32(spec.pond_water_fraction), np.float32(spec.pond_dry_fraction), \
        spec.persistent_min_dates
    rp = rule_params if rule_params is not None else OpticalRiceParams()
    days = time_axis(ndvi["time"].values)[0]

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear, n, water = _water_counts(clear, nd, lw, rp)
        with np.errstate(invalid="ignore"):
            dry = (clear & (lw < 0)).sum(axis=-1)
            flood = _flood_signal(clear, nd, lw, np.float32(rp.flood_t))
        pond = (n >= need) & (water >= wet_min * n) & (dry < dry_max * n)
        if not spec.pond_crop_labels:
            return pond
        lead = nd.shape[:-1]
        rows = [a.reshape(-1, nd.shape[-1]) for a in (clear, nd, lw, flood)]
        crop = pond_then_crop(rows[0], rows[1].astype(np.float32), rows[2].astype(np.float32), rows[3], days, rp)
        return pond & ~crop.reshape(lead)

    pond = xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                          output_dtypes=[bool])
    if keep is not None:
        pond = pond & ~keep
    score = out["rice_score"]
    return out.assign(rice_score=xr.where(pond & (score > 0.5), np.float32(abstain), score).astype(np.float32))


def open_water_nonrice(out: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                       rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its rice verdicts made sure non-rice (0) where the
    clear dates show open water nearly all year (lazy); those carry the :data:`QA_PERSISTENT_ONLY` bit.

    Open water nearly all year: at least ``spec.persistent_min_dates`` clear dates, of which at
    least ``spec.persistent_fraction`` pass the optical rule's water test, the open-water half of
    :func:`persistent_cover`. A paddy is open water only from puddling to tillering (and under a
    river flood between seasons), never while it carries its canopy, so it is water on 0.8 of its
    clear dates only where the series sees nothing but its flood season; a lotus pond seen on a
    dozen dates is, and the rule's rice verdict there rests on the one or two clear dates of its
    leaves standing in water. Without this the optical rule's own labels have
    no lotus among their non-rice examples and the classifier maps lotus as rice. Unchanged when
    ``spec.persistent_fraction`` is ``None``; non-rice verdicts are left to :func:`blind_optical_rule`.
    """
    if spec.persistent_fraction is None:
        return out
    ok, ndvi, lswi = clear_indices(optical, rule_params)
    frac, need = np.float32(spec.persistent_fraction), spec.persistent_min_dates

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        _, n, water = _water_counts(clear, nd, lw, rule_params)
        return (n >= need) & (water >= frac * n)

    water = xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                           output_dtypes=[bool])
    hit = water & (out["rice_score"] > 0.5)
    qa = (out["qa_flags"] | xr.where(hit, np.uint8(QA_PERSISTENT_ONLY), np.uint8(0))).astype(np.uint8)
    return out.assign(rice_score=xr.where(hit, np.float32(0.0), out["rice_score"]).astype(np.float32), qa_flags=qa)


def water_mask_crop(out: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                    rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its non-rice verdict set to no opinion (0.5) where its
    water mask (``QA_WATER``) took a pixel whose clear dates show a green canopy (NDVI >=
    ``spec.evergreen_ndvi``) on at least ``spec.water_crop_dates`` of them and open water on at least
    ``spec.water_crop_water_fraction`` of them (lazy).

    The mask reads a pixel that is open water on most clear dates as water all year. A rice-shrimp
    field is a pond for half the year and carries a rice crop for the other half; where the mask
    takes it, the crop's canopy still shows on a few clear dates (NDVI 0.69-0.79 at its highest on
    ``mekong_triple_sar``), while a fish or shrimp pond and a river never carry one (at most 0.47).
    Taught as non-rice, those fields made the classifier miss most rice-shrimp fields. The verdict
    becomes no opinion, not rice: lotus and floating plants carry a canopy on water too, and a lotus
    pond, whose leaves hide its water for months, keeps the mask's verdict by its lower water share. Unchanged
    when ``spec.water_crop_dates`` is ``None``.
    """
    if spec.water_crop_dates is None:
        return out
    from .seasons import QA_WATER

    ok, ndvi, lswi = clear_indices(optical, rule_params)
    need, share, green_min = spec.water_crop_dates, np.float32(spec.water_crop_water_fraction), spec.evergreen_ndvi

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear, n, water = _water_counts(clear, nd, lw, rule_params)
        with np.errstate(invalid="ignore"):
            green = (clear & (nd >= green_min)).sum(axis=-1)
        return (green >= need) & (water >= share * n) & (n > 0)

    crop = xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                          output_dtypes=[bool])
    hit = ((out["qa_flags"] & np.uint8(QA_WATER)) > 0) & (out["rice_score"] < 0.5) & crop
    return out.assign(rice_score=xr.where(hit, np.float32(0.5), out["rice_score"]).astype(np.float32))


def drop_undrained_rice(out: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams,
                        rule_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The optical rule's output ``out`` with its rice verdicts set to no opinion (0.5) on a pixel
    never seen drained (lazy).

    Never drained: no clear date with LSWI below ``spec.drained_lswi`` (:func:`drained_dates`). A
    paddy is drained before every harvest and lies as stubble on drying soil between seasons; a
    canal or pond under floating water hyacinth is water or a wet mat on every date, which the
    optical rule on a sparse series reads as a flood and a canopy standing in water. The verdict
    becomes no opinion, not non-rice: a paddy whose drained weeks all fell in cloud gaps looks the
    same on its clear dates, so it is left out of the labels (co-training's radar view may still
    label it). For ``rule="both"``, :func:`fuse_scores` applies the same test where the radar
    decides. Unchanged when ``spec.drained_lswi`` is ``None``.
    """
    if spec.drained_lswi is None:
        return out
    never = drained_dates(optical, spec.drained_lswi, rule_params) == 0
    score = out["rice_score"]
    return out.assign(rice_score=xr.where(never & (score > 0.5), np.float32(0.5), score).astype(np.float32))


def keep_seedbed_nonrice(out: xr.DataArray | xr.Dataset, spec: SelfTrainParams) -> xr.Dataset:
    """The SAR rule's output ``out`` with its score capped at ``spec.other_max_score`` where only the
    seedbed-plateau reading lifted it, and not past the rule's own cut of 0.5 (lazy).

    The rule reads a direct-seeded season's timing from its flood minimum and from its seedbed
    plateau (a soft OR). ``qa_flags`` bit :data:`~agromap.rice.seasons.QA_SEEDBED_ONLY` marks pixels
    the reading from the minimum calls non-rice and the plateau reading lifts. Where the lift stops
    below 0.5 the rule itself still calls the pixel non-rice: the plateau passed its wet-soil bar
    (``seedbed_min_db``, -18 dB) by little or not at all, which is a pond whose lotus or floating
    leaves rise out of shallow water, not a direct-seeded paddy's moist seedbed. The reading from
    the minimum is trusted there and the pixel stays a non-rice example. Pixels lifted to 0.5 or
    more keep their score (rice, or undecided). Unchanged when ``spec.seedbed_labels`` is true.
    """
    from .seasons import QA_SEEDBED_ONLY

    ds = out if isinstance(out, xr.Dataset) else out.to_dataset()
    if spec.seedbed_labels:
        return ds
    score = ds["rice_score"]
    lifted = (ds["qa_flags"] & np.uint8(QA_SEEDBED_ONLY)) > 0
    capped = xr.where(lifted & (score < np.float32(0.5)), np.minimum(score, np.float32(spec.other_max_score)), score)
    return ds.assign(rice_score=capped.astype(np.float32))


def abstain_where_blind(score: xr.DataArray, gap: xr.DataArray, blind_gap_days: float) -> xr.DataArray:
    """The optical rule's non-rice verdict counts as no opinion (0.5) where its clear-sky series has a
    gap of at least ``blind_gap_days`` (about a rice season, puddling to harvest): a whole season
    can hide in it, so "not rice" there is the absence of evidence; its rice verdicts stand.
    """
    return xr.where((score < 0.5) & (gap >= np.float32(blind_gap_days)), np.float32(0.5), score).astype(np.float32)


def longest_clear_gap(optical: xr.Dataset, params: Any = None) -> xr.DataArray:
    """Per pixel, the longest interval (days) between successive clear optical dates (lazy).

    Clear as the optical rule with ``params`` sees it (:func:`clear_indices`: SCL and its cloud, haze
    and snow tests; default :class:`~agromap.rice.optical_params.OpticalRiceParams`); NaN where fewer
    than two dates are clear. Gaps before the first and after the last clear date are not counted
    (the series' own edges are not cloud).
    """
    from .seasons import time_axis

    ok = clear_indices(optical, params)[0]  # the label steps' clear dates, built once per run
    days, _ = time_axis(ok["time"].values)

    def kernel(clear: np.ndarray) -> np.ndarray:
        d = np.where(clear, days.astype(np.float32), np.float32(np.nan))
        last = np.full(clear.shape[:-1], np.nan, dtype=np.float32)
        gap = np.full(clear.shape[:-1], np.nan, dtype=np.float32)
        for t in range(clear.shape[-1]):
            gap = np.fmax(gap, d[..., t] - last)
            last = np.where(clear[..., t], d[..., t], last)
        return gap

    return xr.apply_ufunc(kernel, ok, input_core_dims=[["time"]], dask="parallelized",
                          output_dtypes=[np.float32]).rename("longest_clear_gap_days")


def open_water(nd: Any, lw: Any, params: Any = None) -> Any:
    """The optical rule's open-water test on NDVI and LSWI (numpy or xarray, element-wise): NDVI below
    the ``water_ndvi_max`` of ``params`` (the rule's parameters; default
    :class:`~agromap.rice.optical_params.OpticalRiceParams`) and below LSWI.
    """
    from .optical_params import OpticalRiceParams

    return (nd < (params if params is not None else OpticalRiceParams()).water_ndvi_max) & (nd < lw)


def _water_counts(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray,
                  params: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """The clear dates with both indices valid, their number per pixel, and the number of them
    showing open water (NDVI below ``water_ndvi_max``, 0.1 by default, and below LSWI: the optical rule's water test).
    """
    clear = clear & np.isfinite(nd) & np.isfinite(lw)
    with np.errstate(invalid="ignore"):
        water = (clear & open_water(nd, lw, params)).sum(axis=-1)
    return clear, clear.sum(axis=-1), water


def _flood_signal(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray, flood_t: np.float32) -> np.ndarray:
    """The optical rule's flood signal in its NDVI form (``LSWI + flood_t >= NDVI``) on clear dates."""
    return clear & (lw + flood_t >= nd)


def flood_dates(optical: xr.Dataset, params: Any) -> xr.DataArray:
    """Per pixel, the number of clear dates showing open water with at most seedlings in it (lazy, uint16).

    A date counts when it has the optical rule's flood signal (``LSWI + flood_t >= NDVI``) and
    ``NDVI <= ndvi_low``: the field is water, not a canopy over wet soil. A paddy is flooded for
    weeks from puddling to tillering, so a series that sees its season sees such a date; an upland
    crop shows one only on the day after heavy rain.
    """
    from .rules_optical import OpticalRiceParams

    p = params if params is not None else OpticalRiceParams()
    ok, ndvi, lswi = clear_indices(optical, p)
    t, low = np.float32(p.flood_t), np.float32(p.ndvi_low)

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (_flood_signal(clear, nd, lw, t) & (nd <= low)).sum(axis=-1).astype(np.uint16)

    return xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                          output_dtypes=[np.uint16]).rename("flood_dates")


def drained_dates(optical: xr.Dataset, lswi_max: float, rule_params: Any = None) -> xr.DataArray:
    """Per pixel, the number of clear dates with LSWI below ``lswi_max`` (lazy, uint16).

    With ``lswi_max`` at the optical rule's ``sparse_canopy_lswi`` (0.25) such a date is neither
    open water (LSWI about 0.3) nor a canopy standing in water: bare or drying soil, stubble, a
    canopy over drained ground. A paddy shows one when the series sees it between seasons or after the
    pre-harvest drainage; a canal or pond under floating plants never does.
    """
    ok, _, lswi = clear_indices(optical, rule_params)
    bar = np.float32(lswi_max)

    def kernel(clear: np.ndarray, lw: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (clear & (lw < bar)).sum(axis=-1).astype(np.uint16)

    return xr.apply_ufunc(kernel, ok, lswi, input_core_dims=[["time"]] * 2, dask="parallelized",
                          output_dtypes=[np.uint16]).rename("drained_dates")


def persistent_cover(optical: xr.Dataset, spec: SelfTrainParams, rule_params: Any = None) -> xr.DataArray:
    """Where the clear dates show one cover all year, evergreen canopy or open water (lazy, boolean).

    True where the pixel has at least ``spec.persistent_min_dates`` clear dates and at least
    ``spec.persistent_fraction`` of them are canopy (NDVI >= ``spec.evergreen_ndvi``) or at least
    that share are open water (NDVI below ``water_ndvi_max``, 0.1 by default, and below LSWI: the optical rule's water test). A paddy
    is harvested, fallow, puddled and flooded in every season and carries a canopy for only the
    last two-thirds of it, so neither share reaches 0.8 on its clear dates, with a season hidden
    in a gap or not.
    """
    assert spec.persistent_fraction is not None
    ok, ndvi, lswi = clear_indices(optical, rule_params)
    frac, need, green_min = np.float32(spec.persistent_fraction), spec.persistent_min_dates, spec.evergreen_ndvi

    def kernel(clear: np.ndarray, nd: np.ndarray, lw: np.ndarray) -> np.ndarray:
        clear, n, water = _water_counts(clear, nd, lw, rule_params)
        with np.errstate(invalid="ignore"):
            green = (clear & (nd >= green_min)).sum(axis=-1)
        return (n >= need) & ((green >= frac * n) | (water >= frac * n))

    return xr.apply_ufunc(kernel, ok, ndvi, lswi, input_core_dims=[["time"]] * 3, dask="parallelized",
                          output_dtypes=[bool]).rename("persistent_cover")


def fuse_scores(sar: xr.Dataset, optical: xr.Dataset, blind_gap_days: float | None,
                spec: SelfTrainParams | None = None) -> xr.Dataset:  # fmt: skip
    """One score from two rules: the mean of their scores, the optical one having abstained where it
    was blind (:func:`blind_optical_rule`).

    The mean is confident (beyond 0.7 or 0.3) where both rules lean the same way or one is sure
    and the other hesitates, and undecided where they contradict each other. One rule alone
    decides where the other has no score (NaN: no valid date, or a pond's optical no-vote,
    :func:`drop_pond_rice`). One contradiction is resolved (:func:`edge_rescue`):
    SAR non-rice against sure optical rice next to SAR-confident rice is a field edge, and the
    optical score stands, where the optical series saw the paddy's flood (its ``flood_dates``
    variable, :func:`flood_dates`, when present) and whose NDVI follows that paddy's (its
    ``edge_ndvi_rms`` variable, :func:`edge_ndvi_rms`, when present). A second one: SAR non-rice
    against optical rice where that rescue does not apply and, with a ``wettest_lswi`` variable
    (:func:`wettest_lswi`), no clear date was wet (LSWI below ``spec.dry_contradiction_lswi``): the
    SAR score stands, an upland crop the optical rule took for rice on a shadowed bare date. Where ``optical`` has a ``drained_dates``
    variable (:func:`drained_dates`), an optical rice verdict (> 0.5) on a pixel with no drained
    clear date counts as no opinion (0.5) before both: a paddy is drained before every harvest, a
    canal under water hyacinth is water or a wet mat on every date and looks to the optical rule
    like a flood and a canopy standing in water; the radar decides there, and such a pixel is no
    field-edge rescue. A non-rice verdict a blind optical series keeps on a persistent cover
    (``qa_flags`` bit :data:`QA_PERSISTENT_ONLY`, :func:`blind_optical_rule`) counts at most
    ``spec.persistent_score``: the rule's own margin says little there (on a sparse series a
    lotus pond shows a flood and a floating canopy, which narrows its water mask's margin), and a
    hesitant radar would otherwise lift the mean out of the non-rice labels.
    ``blind_gap_days`` is only recorded in the parameters.
    """
    spec = spec if spec is not None else SelfTrainParams()
    a = sar["rice_score"]
    # one numpy kernel per step, not an xarray chain: a graph layer each (self_train_fuse_kernel)
    b = optical_vote(optical["rice_score"], optical["qa_flags"], optical.get("drained_dates"),
                     spec.persistent_score, QA_PERSISTENT_ONLY)
    rescued = None
    if spec.edge_rescue_px is not None and "y" in a.dims and "x" in a.dims:
        flood = optical["flood_dates"] if "flood_dates" in optical else None
        like = optical["edge_ndvi_rms"] if "edge_ndvi_rms" in optical else None
        rescued = edge_rescue(a, b, spec, flood, like)
    wettest = optical["wettest_lswi"] if "wettest_lswi" in optical else None
    score = fused_score(a, b, rescued, wettest, dry_lswi=spec.dry_contradiction_lswi,
                        other_max=spec.other_max_score, rice_min=spec.rice_min_score)
    seasons = fused_seasons(sar["n_seasons"], optical["n_seasons"])
    qa = (sar["qa_flags"] | optical["qa_flags"]).astype(np.uint8)
    return xr.Dataset({"rice_score": score, "n_seasons": seasons, "qa_flags": qa}).assign_attrs(
        parameters=json.dumps({"sar": sar.attrs.get("parameters", ""), "optical": optical.attrs.get("parameters", ""),
                               "blind_gap_days": blind_gap_days}))


def edge_rescue(sar_score: xr.DataArray, opt_score: xr.DataArray, spec: SelfTrainParams,
                flood: xr.DataArray | None = None, like: xr.DataArray | None = None) -> xr.DataArray:  # fmt: skip
    """Where the SAR rule's non-rice is a field edge the optical rule sees as rice (lazy, boolean).

    The SAR rule reads a speckle-filtered series, so a paddy's edge pixels mix its flood with a
    brighter neighbour (a road, an upland field) and the dark spell fails the rule's depth test,
    while the 10-20 m optical pixel still sees the flood and the canopy. A pixel qualifies when
    the SAR rule is confident of non-rice, the optical rule is confident of rice, and some pixel
    within ``spec.edge_rescue_px`` (square window) is SAR-confident rice: the contradiction sits
    next to a paddy the radar does see. Far from any SAR rice (an upland crop puddled by rain, a
    lotus pond) the contradiction stays undecided. With ``flood`` (:func:`flood_dates`) the pixel
    must also show at least ``spec.edge_min_flood_dates`` clear dates of open water: an upland crop
    beside the paddies, mixed in the radar too, carries a canopy the optical rule may take for
    rice, but shows no flood. With ``like`` (:func:`edge_ndvi_rms`) and ``spec.edge_max_ndvi_rms``
    the pixel's NDVI series must also follow that of a SAR-confident paddy in the window: an edge
    pixel carries the paddy's crop, an upland field across the boundary does not.
    """
    assert spec.edge_rescue_px is not None
    near = any_within(sar_score >= spec.rice_min_score, spec.edge_rescue_px)
    use_like = like is not None and spec.edge_max_ndvi_rms is not None
    use_flood = flood is not None and bool(spec.edge_min_flood_dates)
    other_max, rice_min, min_flood = spec.other_max_score, spec.rice_min_score, spec.edge_min_flood_dates
    max_rms = np.float32(spec.edge_max_ndvi_rms if spec.edge_max_ndvi_rms is not None else 0)

    def rescue(a: np.ndarray, b: np.ndarray, near: np.ndarray, *rest: np.ndarray) -> np.ndarray:
        it = iter(rest)
        with np.errstate(invalid="ignore"):
            out = (a <= other_max) & (b >= rice_min) & near
            if use_like:
                out = out & (next(it) <= max_rms)
            return out & (next(it) >= min_flood) if use_flood else out

    extra = [x for x, on in ((like, use_like), (flood, use_flood)) if on and x is not None]
    return per_pixel(rescue, sar_score, opt_score, near, *extra, dtype=bool)


def edge_ndvi_rms(optical: xr.Dataset, sar_score: xr.DataArray, spec: SelfTrainParams,
                  rule_params: Any = None) -> xr.DataArray:  # fmt: skip
    """Per pixel, how far its NDVI series lies from the nearest paddy the radar is sure of (lazy).

    :func:`ndvi_rms_to` the pixels within ``spec.edge_rescue_px`` whose SAR score is
    ``>= spec.rice_min_score``, each sharing at least ``spec.edge_min_common_dates`` clear dates
    (clear as the optical rule with ``rule_params`` saw them).
    """
    assert spec.edge_rescue_px is not None
    return ndvi_rms_to(optical, sar_score >= spec.rice_min_score, spec.edge_rescue_px,
                       spec.edge_min_common_dates, rule_params).rename("edge_ndvi_rms")


def wettest_lswi(optical: xr.Dataset, rule_params: Any = None) -> xr.DataArray:
    """Per pixel, the largest LSWI over its clear dates (lazy; NaN where none is clear).

    A paddy's flood, its wet seedbed or its canopy standing in water reach about 0.3 on some clear
    date; an upland crop's wettest clear date stays below that, whatever a shadow did to its NDVI.
    :func:`fuse_scores` reads it (``spec.dry_contradiction_lswi``).
    """
    ok, _, lswi = clear_indices(optical, rule_params)
    return lswi.where(ok).max("time").astype(np.float32).rename("wettest_lswi")
