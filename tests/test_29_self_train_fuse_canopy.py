"""The fused labels where only the optical rule's canopy evidence lifted a non-rice verdict
(self_train_fuse_canopy): upland crops of ``wetland_confusion`` shifted 180 days, seed 2, and the
direct-seeded paddies of ``monsoon_sparse_optical`` (whole year, seed 2) that other canopy terms lift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.rules_optical import optical_rice_rule
from agromap.rice.self_train_fuse_canopy import canopy_lift_nonrice, without_canopy_evidence
from agromap.rice.self_train_params import SelfTrainParams
from agromap.scenes import make_scene
from agromap.scenes.landscape import COVER_NAMES

DRY = next(k for k, v in COVER_NAMES.items() if v == "dryland_crop")
DSR = next(k for k, v in COVER_NAMES.items() if v == "rice_direct_seeded")


@pytest.fixture(scope="module")
def upland_edge() -> tuple[xr.Dataset, xr.Dataset, np.ndarray]:
    """Optical and radar stacks of a paddy row above an upland field (rows 5-8, columns 0-11), in memory."""
    sc = make_scene("wetland_confusion", size=64, seed=2, calendar_shift=180)
    win = {"y": slice(5, 9), "x": slice(0, 12)}
    return sc.s2.isel(win).compute(), sc.s1.isel(win).compute(), sc.truth.cover.isel(win).values


def test_a_non_rice_verdict_lifted_by_the_canopy_evidence_alone_stands_where_the_radar_leans_non_rice(upland_edge):
    s2, s1, cover = upland_edge
    out = optical_rice_rule(s2, OpticalRiceParams())
    full = out["rice_score"].values
    plain = optical_rice_rule(s2, without_canopy_evidence(OpticalRiceParams()))["rice_score"].values
    nogap = optical_rice_rule(s2, replace(OpticalRiceParams(), gap_season_lswi=None))["rice_score"].values
    dry = cover == DRY
    lifted = (full < 0.5) & (full > 0.3) & (plain <= 0.3) & (nogap < full)
    # The upland crop's canopy before the monsoon's cloud gap lifts it out of the non-rice labels.
    assert lifted[dry].sum() >= 20 and (full[cover != DRY] >= 0.7).any()
    # where the lifted score is still a confident non-rice the rule's verdict did not move: kept
    still = (full <= 0.3) & (plain < full) & (nogap < full)
    assert still.sum() == 2, still.sum()
    spec = SelfTrainParams(fuse_canopy_nonrice=True, fuse_canopy_field_px=None)  # each pixel alone
    leans = xr.full_like(out["rice_score"], 0.4)  # the radar hesitates below its cut
    got = canopy_lift_nonrice(out, s2, leans, spec).rice_score.values
    np.testing.assert_array_equal(got[lifted], plain[lifted])
    np.testing.assert_array_equal(got[~lifted], full[~lifted])  # the still-sure pixels among them
    # averaged with the radar's 0.4, the upland field becomes non-rice labels (before: none of it)
    labels = [int(((0.4 + x) / 2 <= spec.other_max_score)[dry].sum()) for x in (full, got)]
    assert labels[0] == 0 and labels[1] >= 20, labels
    # The radar's no opinion (a season the series' ends cut) or its rice lean leave the optical score;
    # so does the setting off.
    for sar in (0.5, 0.6):
        same = canopy_lift_nonrice(out, s2, xr.full_like(leans, sar), spec).rice_score.values
        np.testing.assert_array_equal(same, full)
    off = canopy_lift_nonrice(out, s2, leans, SelfTrainParams(fuse_canopy_nonrice=False)).rice_score.values
    np.testing.assert_array_equal(off, full)
    # With the field window (the default, 5 x 5 pixels, a quarter of them lifted) the upland field
    # still takes the score without the canopy evidence ...
    field = canopy_lift_nonrice(out, s2, leans, SelfTrainParams(fuse_canopy_nonrice=True)).rice_score.values
    assert ((field == plain) & lifted & dry).sum() >= 20
    np.testing.assert_array_equal(field[~lifted], full[~lifted])
    # ... but one lifted pixel whose neighbours the radar reads otherwise (0.6) is no field: it keeps
    # its score with the window and takes the plain one without it.
    one = tuple(int(v[0]) for v in np.nonzero(lifted & dry & (full > 0.3)))
    alone = xr.full_like(leans, 0.6)
    alone[one] = 0.4
    with_window = canopy_lift_nonrice(out, s2, alone, SelfTrainParams(fuse_canopy_nonrice=True)).rice_score.values
    np.testing.assert_array_equal(with_window, full)
    np.testing.assert_array_equal(canopy_lift_nonrice(out, s2, alone, spec).rice_score.values[one], plain[one])
    # A radar that never saw the field in water (flat VH) lets the step act; one that saw a flood
    # (6 dB below the field's level on three dates: a paddy's, a rice-shrimp field's pond) does not.
    flat = xr.Dataset({"vh": xr.full_like(s1["vh"], 10 ** -1.5)})
    np.testing.assert_array_equal(canopy_lift_nonrice(out, s2, leans, spec, radar=flat).rice_score.values, got)
    flooded = flat.copy(deep=True)
    flooded["vh"][10:13] = 10 ** -2.1
    np.testing.assert_array_equal(canopy_lift_nonrice(out, s2, leans, spec, radar=flooded).rice_score.values, full)


def test_the_fused_labels_take_the_upland_crop_as_non_rice_where_the_radar_hesitates(upland_edge, monkeypatch):
    from agromap.rice import rules_sar
    from agromap.rice.self_train_rule import run_rule

    s2, s1, cover = upland_edge

    def hesitating(sar: xr.Dataset, params=None, windows=None) -> xr.Dataset:  # the radar leans non-rice
        like = sar["vh"].isel(time=0, drop=True)
        return xr.Dataset({"rice_score": xr.full_like(like, 0.4, dtype=np.float32),
                           "qa_flags": xr.zeros_like(like, dtype=np.uint8),
                           "n_seasons": xr.zeros_like(like, dtype=np.uint8)})

    monkeypatch.setattr(rules_sar, "sar_rice_rule", hesitating)
    # a radar series without any flood, so that no series'-end step reads a cut season in it
    s1 = s1.assign(vh=xr.full_like(s1["vh"], 10 ** -1.5), vv=xr.full_like(s1["vv"], 4 * 10 ** -1.5))
    on, off = SelfTrainParams(fuse_canopy_nonrice=True), SelfTrainParams(fuse_canopy_nonrice=False)
    fused = {s.fuse_canopy_nonrice: run_rule(s2, s1, "both", None, None, s.blind_gap_days, spec=s).rice_score.values
             for s in (on, off)}
    dry = cover == DRY
    before, after = (int((fused[k][dry] <= on.other_max_score).sum()) for k in (False, True))
    assert before == 0 and after >= 8, (before, after)
    # no pixel moves towards rice
    assert (fused[True] <= fused[False]).all()


def test_a_paddy_lifted_by_canopy_evidence_other_than_the_gap_season_keeps_its_optical_score():
    """Direct-seeded paddies of ``monsoon_sparse_optical`` (whole year, seed 2; rows 60-63, columns 28-40):
    the rule without its canopy evidence reads them sure non-rice (0.00) and the canopy evidence lifts
    them to 0.34-0.48, but not through the season hidden in a gap (the rule without that term alone
    scores them the same). A radar that leans non-rice and never saw them in water does not make
    them non-rice labels: the step undoes only the gap season's lift, the one an upland canopy over
    moist soil reaches."""
    sc = make_scene("monsoon_sparse_optical", size=64, seed=2)
    win = {"y": slice(60, 64), "x": slice(28, 41)}
    s2, cover = sc.s2.isel(win).compute(), sc.truth.cover.isel(win).values
    out = optical_rice_rule(s2, OpticalRiceParams())
    full = out["rice_score"].values
    plain = optical_rice_rule(s2, without_canopy_evidence(OpticalRiceParams()))["rice_score"].values
    nogap = optical_rice_rule(s2, replace(OpticalRiceParams(), gap_season_lswi=None))["rice_score"].values
    other = (cover == DSR) & (full > 0.3) & (full < 0.5) & (plain <= 0.3) & (nogap >= full)
    assert other.sum() >= 3, other.sum()
    spec = SelfTrainParams(fuse_canopy_nonrice=True, fuse_canopy_field_px=None)  # each pixel alone
    leans = xr.full_like(out["rice_score"], 0.4)
    flat = xr.Dataset({"vh": xr.full_like(sc.s1["vh"].isel(win), 10 ** -1.5)})  # never saw water
    got = canopy_lift_nonrice(out, s2, leans, spec, radar=flat).rice_score.values
    np.testing.assert_array_equal(got[other], full[other])
    # averaged with the radar's 0.4 they stay hesitations, not non-rice labels
    assert not ((0.4 + got[other]) / 2 <= spec.other_max_score).any()
    # a pixel the gap season lifted in the same window still takes the score without the canopy evidence
    gap = (full < 0.5) & (full > 0.3) & (plain <= 0.3) & (nogap < full)
    np.testing.assert_array_equal(got[gap], plain[gap])
    np.testing.assert_array_equal(got[~gap], full[~gap])
