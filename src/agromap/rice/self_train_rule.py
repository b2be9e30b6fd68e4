"""The rule that labels the self-trained rice map, run on its own sensor and adjusted for training.

:func:`run_rule` runs the SAR rule, the optical rule or both (fused), and applies the label
steps of :mod:`agromap.rice.self_train_labels` and :mod:`agromap.rice.self_train_ends` that say
what each verdict is worth as a pseudo-label (the optical rule without its flood-seen-again vote,
:func:`label_params`, the SAR rule without its crop harvested in the series' first weeks,
:func:`sar_label_params`); :func:`split_stacks` separates the optical and the SAR
stacks so that the rule and the classifier's features share every input block.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr
from dask.base import is_dask_collection

from ..errors import ConfigError, InputError
from .self_train_ends import (
    abstain_at_series_ends,
    cut_no_vote,
    keep_start_canopy_rice,
    start_pond_field,
    start_pond_no_vote,
)
from .self_train_fuse_canopy import canopy_lift_nonrice, without_canopy_evidence
from .self_train_labels import (
    blind_optical_rule,
    drained_dates,
    drop_pond_rice,
    drop_undrained_rice,
    edge_ndvi_rms,
    flood_dates,
    fuse_scores,
    keep_seedbed_nonrice,
    open_water_nonrice,
    water_mask_crop,
    wettest_lswi,
)
from .self_train_once import one_run
from .self_train_params import SelfTrainParams
from .self_train_upland import drop_upland_rice

__all__ = ["LABEL_FREE_OPTICAL", "LABEL_FREE_SAR", "RuleName", "label_params", "run_rule", "sar_label_params",
           "split_stacks"]

# The optical rule's parameters whose change reaches the rule's own map but not the pseudo-labels
# (:func:`label_params` runs the labels without the flood seen again, which the second flood refines,
# without the standing-flood test, the flood read under a missed shadow, the onset at a pond's end and the
# pond-then-ripe harvest), unless the self-trained map's parameters ask for them.
LABEL_FREE_OPTICAL = ("young_flood_t", "young_reflood_days", "young_reflood_rise", "undated_flood_stands",
                      "flood_shadow_ndvi", "pond_end_onset", "pond_ripe_ndvi")
# The SAR rule's: the crop harvested in the series' first weeks (:func:`sar_label_params`) and the
# parameters only that reading reads.
LABEL_FREE_SAR = ("start_harvest_db", "start_harvest_noise", "start_fallow_days", "start_rise_days",
                  "start_regrow_days", "start_water_db")

RuleName = Literal["sar", "optical", "both"]

_OPTICAL = ("blue", "green", "red", "nir", "swir16")

def run_rule(optical: xr.Dataset | None, sar: xr.Dataset | None, rule: RuleName, params: Any,
              windows: Any, blind_gap_days: float | None = None, canopy_labels: bool = True, *,
              spec: SelfTrainParams | None = None, fused: bool = False,
              optical_params: Any = None) -> xr.Dataset:  # fmt: skip
    """The rule's output; ``spec`` (for ``both``) gives the fusion's confidence cuts and edge window.
    ``fused``: the optical rule's output goes to :func:`fuse_scores`, which applies the drained test itself.
    ``optical_params`` (the SAR rule's run within ``both``): the optical rule's parameters, whose clear
    sky and open-water bar the series'-ends steps read on the optical stack (default when ``None``).
    The label steps' shared optical arrays are built once per run (:mod:`~agromap.rice.self_train_once`).
    """
    with one_run():
        return _run_rule(optical, sar, rule, params, windows, blind_gap_days, canopy_labels, spec=spec,
                         fused=fused, optical_params=optical_params)


def _run_rule(optical: xr.Dataset | None, sar: xr.Dataset | None, rule: RuleName, params: Any,
              windows: Any, blind_gap_days: float | None = None, canopy_labels: bool = True, *,
              spec: SelfTrainParams | None = None, fused: bool = False,
              optical_params: Any = None) -> xr.Dataset:  # fmt: skip
    if rule == "both":
        sar_p, opt_p = params if params is not None else (None, None)
        opt_p = label_params(opt_p, spec)
        opt = run_rule(optical, sar, "optical", opt_p, windows, blind_gap_days, canopy_labels, spec=spec,
                        fused=True)
        if optical is not None and spec is not None and spec.edge_min_flood_dates:
            opt = opt.assign(flood_dates=flood_dates(optical, opt_p))
        if optical is not None and spec is not None and spec.drained_lswi is not None:
            opt = opt.assign(drained_dates=drained_dates(optical, spec.drained_lswi, opt_p))
        sar_out = run_rule(optical, sar, "sar", sar_p, windows, spec=spec, optical_params=opt_p)
        sar_out = start_pond_no_vote(sar_out, opt, sar, optical, spec, opt_p)  # it saw a rice-shrimp field's pond
        if spec is not None and spec.fuse_cut_sar_no_vote:
            sar_out = cut_no_vote(sar_out)
        # both sensors lean non-rice: the optical canopy evidence's lift does not keep the pixel out
        opt = canopy_lift_nonrice(opt, optical, sar_out["rice_score"], spec, opt_p, windows, sar)
        if optical is not None and spec is not None and spec.dry_contradiction_lswi is not None:
            opt = opt.assign(wettest_lswi=wettest_lswi(optical, opt_p))
        if optical is not None and spec is not None and spec.edge_rescue_px is not None \
                and spec.edge_max_ndvi_rms is not None:
            opt = opt.assign(edge_ndvi_rms=edge_ndvi_rms(optical, sar_out["rice_score"], spec, opt_p))
        fused_out = fuse_scores(sar_out, opt, blind_gap_days, spec)
        return fused_out if spec is None else abstain_at_series_ends(fused_out, sar, optical, spec,
                                                                     shrimp=spec.start_pond_fused, rule_params=opt_p)
    if rule == "sar":
        from .rules_sar import SarRiceParams, sar_rice_rule

        if params is not None and not isinstance(params, SarRiceParams):
            raise ConfigError(f"rule='sar' takes SarRiceParams, got {type(params).__name__}.")
        if sar is None:
            raise InputError("the SAR rule needs a 'vh' band (linear power): give it in ds or as sar=.")
        # VV, when given, adds the rule's VV evidence (a flood is dark in VV too).
        out = sar_rice_rule(sar[[v for v in ("vh", "vv") if v in sar]], sar_label_params(params, spec),
                            windows=windows)
        return out if spec is None else abstain_at_series_ends(keep_seedbed_nonrice(out, spec), sar, optical, spec,
                                                               shrimp=spec.start_pond_sar_labels,
                                                               rule_params=optical_params)
    from .rules_optical import OpticalRiceParams

    if params is not None and not isinstance(params, OpticalRiceParams):
        raise ConfigError(f"rule='optical' takes OpticalRiceParams, got {type(params).__name__}.")
    if optical is None:
        raise InputError(f"the optical rule needs bands {list(_OPTICAL)}; the dataset has none of them all.")
    out, params = _optical_verdicts(optical, sar, label_params(params, spec) or OpticalRiceParams(), windows,
                                    canopy_labels, spec)
    if spec is not None:  # a pond's standing water and floating canopy are no paddy's season
        if not fused:  # open water nearly all year is no paddy (with both rules the radar decides)
            out = open_water_nonrice(out, optical, spec, params)
            out = water_mask_crop(out, optical, spec, params)  # but a pond that grows a crop may be a paddy
        # With both rules the pond's verdict is no vote (NaN): the radar decides alone there.
        out = drop_pond_rice(out, optical, spec, np.nan if fused else 0.5, params,
                             keep=start_pond_field(sar, optical, spec, params) if spec.start_pond_fused or not fused else None)
        if not fused:  # nor is a canal never seen drained; with both rules the radar decides there
            out = drop_undrained_rice(out, optical, spec, params)
            out = drop_upland_rice(out, optical, sar, spec, params)  # nor an upland crop never seen in water
    out = out if blind_gap_days is None else blind_optical_rule(out, optical, blind_gap_days, spec, params)
    # with both rules the fused score is judged once, after the fusion
    return out if spec is None or fused else abstain_at_series_ends(out, sar, optical, spec, pond=True, shrimp=True,
                                                                    rule_params=params)


def label_params(params: Any, spec: SelfTrainParams | None) -> Any:
    """The optical rule's parameters ``params`` (``None``: its defaults) as the pseudo-labels read them:
    without the flood-seen-again vote (``young_flood_t=None``) unless ``spec.young_flood_labels``, and
    without the undated evidence's standing-flood test (``undated_flood_stands=False``) unless
    ``spec.undated_stands_labels``, without the flood read under a missed shadow (``flood_shadow_ndvi=False``)
    unless ``spec.shadow_flood_labels``, without the onset at a pond's end (``pond_end_onset=False``)
    unless ``spec.pond_end_labels`` and without the pond-then-ripe harvest (``pond_ripe_ndvi=None``) unless
    ``spec.pond_ripe_labels``.

    The vote reads a transplanted paddy's water in the onset's first days: a direct-seeded paddy, sown
    on saturated soil, and a paddy's edge pixel fail it, and the rice labels it takes from them teach
    the classifier to miss paddy edges (docs/rice_self_trained.md, "The flood seen again stays out of
    the labels"). The standing-flood test takes rice labels from paddy edges whose flood a cloud gap hid
    (docs/rice_self_trained.md, "The standing flood stays out of the labels"). Unchanged without ``spec``
    (the rule's own output) or where both are off or asked for.
    """
    from dataclasses import replace

    from .optical_params import OpticalRiceParams

    if spec is None:
        return params
    base = params if params is not None else OpticalRiceParams()
    if not isinstance(base, OpticalRiceParams):  # a wrong type is refused later
        return params
    drop: dict[str, Any] = {}
    if not spec.young_flood_labels and base.young_flood_t is not None:
        drop["young_flood_t"] = None
    if not spec.undated_stands_labels and base.undated_flood_stands:
        drop["undated_flood_stands"] = False
    # Both change the rule's map where the labels' cuts seldom fall, and the classifier's edges move with the
    # few labels they do change (docs/rice_rules.md, "A pond's last flooded date as the onset").
    if not spec.shadow_flood_labels and base.flood_shadow_ndvi:
        drop["flood_shadow_ndvi"] = False
    if not spec.pond_end_labels and base.pond_end_onset:
        drop["pond_end_onset"] = False
    # a sparse series' rice-shrimp interiors sit among ponds: the classifier's pond edges move with their labels
    if not spec.pond_ripe_labels and base.pond_ripe_ndvi is not None:
        drop["pond_ripe_ndvi"] = None
    return replace(base, **drop) if drop else params


def sar_label_params(params: Any, spec: SelfTrainParams | None) -> Any:
    """The SAR rule's parameters ``params`` (``None``: its defaults) as the pseudo-labels read them: without
    the crop harvested in the series' first weeks (``start_harvest_db=None``) unless ``spec.sar_start_labels``.

    That reading sees no flood: it maps single-season paddies whose flood fell before a 10-month series, and
    the upland crops harvested in the same weeks with them, and a classifier trained on those labels maps
    the upland fields whole (docs/rice_rules.md, "SAR: a crop harvested on a 10-month series' first weeks").
    Unchanged without ``spec`` (the rule's own output), where the reading is off or asked for.
    """
    from dataclasses import replace

    from .sar_params import SarRiceParams

    if spec is None or spec.sar_start_labels:
        return params
    base = params if params is not None else SarRiceParams()
    if not isinstance(base, SarRiceParams) or base.start_harvest_db is None:  # a wrong type is refused later
        return params
    return replace(base, start_harvest_db=None)


def _optical_verdicts(optical: xr.Dataset, sar: xr.Dataset | None, base: Any, windows: Any, canopy_labels: bool,
                      spec: SelfTrainParams | None) -> tuple[xr.Dataset, Any]:  # fmt: skip
    """The optical rule's output and the parameters it ran with: without ``canopy_labels``
    (``SelfTrainParams.optical_canopy_labels``) its canopy-only evidence gives no rice verdict, but
    where the series opens inside a paddy's canopy (``SelfTrainParams.start_canopy_rice``).
    """
    from .rules_optical import optical_rice_rule

    if canopy_labels:
        return optical_rice_rule(optical, base, windows=windows), base
    # The seedbed's stubble above ndvi_low is weak evidence too: no pseudo-labels from it.
    params = without_canopy_evidence(base)
    out = optical_rice_rule(optical, params, windows=windows)
    if spec is not None and spec.start_canopy_rice:
        out = keep_start_canopy_rice(out, optical_rice_rule(optical, base, windows=windows), sar, optical, spec, base)
    return out, params


def split_stacks(ds: xr.Dataset, sar: xr.Dataset | None) -> tuple[xr.Dataset | None, xr.Dataset | None]:
    """The optical and the SAR stacks, each with time in one chunk (dask) so that the rule and the
    features share every input key: each input block is read (and filtered) once for both.
    """
    radar = ("vh", "vv", "hh", "hv")
    optical = ds[[v for v in ds.data_vars if v not in radar]] if all(b in ds for b in _OPTICAL) else None
    if sar is None:
        sar = ds[[v for v in ("vh", "vv") if v in ds]] if "vh" in ds else None
    elif "vh" not in sar:
        raise InputError(f"sar= needs a 'vh' band (linear power); it has {sorted(map(str, sar.data_vars))}.")
    if optical is None and sar is None:
        raise InputError(f"the classifier needs optical bands {list(_OPTICAL)} or a 'vh' band; the dataset has "
                         f"{sorted(map(str, ds.data_vars))}.")

    def one_chunk(part: xr.Dataset | None) -> xr.Dataset | None:
        lazy = part is not None and any(is_dask_collection(v.data) for v in part.data_vars.values())
        if lazy and "time" in part.dims:  # type: ignore[union-attr]
            # .chunk() chunks coordinates too; the SAR rule reads a date's orbit track from an
            # in-memory coordinate only (a dask one would drop the per-track offsets), so keep them.
            kept = {k: c for k, c in part.coords.items()  # type: ignore[union-attr]
                    if k not in part.indexes and not is_dask_collection(c.data)}  # type: ignore[union-attr]
            return part.chunk({"time": -1}).assign_coords(kept)  # type: ignore[union-attr]
        return part

    return one_chunk(optical), one_chunk(sar)
