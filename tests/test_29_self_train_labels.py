"""What a rule's verdict is worth as a pseudo-label: blind optical series, persistent covers, field edges.

Hand-made series with a clear date every 10 days over a year and a 150-day cloud gap; each pixel's
NDVI and LSWI are set through its reflectances, so the clear-sky tests and the indices are the
real ones.
"""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr
from dask.base import is_dask_collection

from agromap.errors import ConfigError
from agromap.rice.self_train_labels import (
    QA_PERSISTENT_ONLY,
    blind_optical_rule,
    drained_dates,
    drop_pond_rice,
    drop_undrained_rice,
    edge_ndvi_rms,
    flood_dates,
    fuse_scores,
    open_water_nonrice,
    persistent_cover,
    water_mask_crop,
    wettest_lswi,
)
from agromap.rice.self_trained import SelfTrainParams, _fit
from agromap.testing import raise_if_dask_computes

DAYS = np.arange(0, 365, 10)
CLOUD = (DAYS > 130) & (DAYS < 280)  # the longest clear-sky gap: days 130 -> 280, 150 days
FLOOD, CANOPY, STUBBLE, WATER = (0.10, 0.25), (0.80, 0.35), (0.25, -0.05), (-0.30, 0.20)


def _bands(series: list[list[tuple[float, float] | None]]) -> xr.Dataset:
    """Optical stack (time, y=1, x=pixel) from per-date (NDVI, LSWI) pairs; ``None`` is a cloud (NaN)."""
    shape = (DAYS.size, 1, len(series))
    out = {b: np.full(shape, np.nan, np.float32) for b in ("blue", "green", "red", "nir", "swir16")}
    for j, pixel in enumerate(series):
        for t, v in enumerate(pixel):
            if v is None:
                continue
            nd, ls = v
            nir = 0.30
            out["nir"][t, 0, j] = nir
            out["red"][t, 0, j] = nir * (1 - nd) / (1 + nd)
            out["swir16"][t, 0, j] = nir * (1 - ls) / (1 + ls)
            out["blue"][t, 0, j], out["green"][t, 0, j] = 0.04, 0.06
    time = np.datetime64("2023-01-01") + DAYS.astype("timedelta64[D]")
    return xr.Dataset({b: (("time", "y", "x"), v) for b, v in out.items()}, coords={"time": time})


def _clouded(values: list[tuple[float, float]]) -> list[tuple[float, float] | None]:
    return [None if c else v for v, c in zip(values, CLOUD, strict=True)]


def _triple_crop() -> list[tuple[float, float]]:
    """A paddy cropped three times a year: flooded 3 dates, canopy 7, harvested and bare 2."""
    cycle = [FLOOD] * 3 + [CANOPY] * 7 + [STUBBLE] * 2
    return [cycle[t % len(cycle)] for t in range(DAYS.size)]


def _pixels() -> xr.Dataset:
    forest = [CANOPY] * DAYS.size
    forest[2] = (0.30, 0.05)  # one date under a cloud shadow the mask missed
    floodplain = [WATER if t % 5 < 3 else CANOPY for t in range(DAYS.size)]  # water on 60 % of the dates
    few = [CANOPY if t in (0, 4, 8, 30, 34) else None for t in range(DAYS.size)]  # five clear dates
    return _bands([_clouded(forest), _clouded(_triple_crop()), _clouded([WATER] * DAYS.size),
                   _clouded(floodplain), few, _clouded([STUBBLE] * DAYS.size)])  # fmt: skip


def test_only_evergreen_canopy_or_open_water_on_nearly_every_clear_date_is_a_persistent_cover():
    ds = _pixels()
    got = persistent_cover(ds, SelfTrainParams()).values.ravel().tolist()
    # forest (one shadowed date of 22), triple-cropped paddy, permanent water, floodplain paddy,
    # canopy on only five clear dates, bare all year (a rainfed paddy's dry season looks the same)
    assert got == [True, False, True, False, False, False]
    # a stricter share drops the forest with its shadowed date; fewer dates needed admits the five
    assert persistent_cover(ds, SelfTrainParams(persistent_fraction=1.0)).values.ravel().tolist()[:3] == [
        False, False, True]  # fmt: skip
    assert persistent_cover(ds, SelfTrainParams(persistent_min_dates=5)).values.ravel()[4]


def test_a_blind_optical_series_keeps_its_non_rice_verdict_only_on_a_persistent_cover():
    ds = _pixels()
    n = ds.sizes["x"]
    out = xr.Dataset({"rice_score": (("y", "x"), np.full((1, n), 0.1, np.float32)),
                      "n_seasons": (("y", "x"), np.zeros((1, n), np.uint8)),
                      "qa_flags": (("y", "x"), np.ones((1, n), np.uint8))})  # fmt: skip
    out["rice_score"][0, 5] = 0.9  # a rice verdict stands anyway, and gets no mark
    got = blind_optical_rule(out, ds, 100.0, SelfTrainParams())
    np.testing.assert_allclose(got.rice_score.values.ravel(), [0.1, 0.5, 0.1, 0.5, 0.5, 0.9])
    assert (got.qa_flags.values.ravel() & QA_PERSISTENT_ONLY > 0).tolist() == [True, False, True, False, False, False]
    assert (got.qa_flags.values.ravel() & 1).all()  # the rule's own bits are kept
    off = blind_optical_rule(out, ds, 100.0, SelfTrainParams(persistent_fraction=None))
    np.testing.assert_allclose(off.rice_score.values.ravel(), [0.5, 0.5, 0.5, 0.5, 0.5, 0.9])
    # not blind (the gap is shorter than blind_gap_days): the rule's verdicts, unmarked
    seen = blind_optical_rule(out, ds, 250.0, SelfTrainParams())
    np.testing.assert_allclose(seen.rice_score.values.ravel(), out.rice_score.values.ravel())
    assert not (seen.qa_flags.values & QA_PERSISTENT_ONLY).any()
    with raise_if_dask_computes():
        lazy = blind_optical_rule(out.chunk({"x": 2}), ds.chunk({"x": 2}), 100.0, SelfTrainParams())
    np.testing.assert_allclose(lazy.rice_score.values, got.rice_score.values)
    with pytest.raises(ConfigError, match="persistent_fraction"):
        SelfTrainParams(persistent_fraction=0.5)
    with pytest.raises(ConfigError, match="persistent_score"):
        SelfTrainParams(persistent_score=0.5)


def test_a_lotus_pond_kept_as_non_rice_on_a_blind_series_stays_a_non_rice_label_when_the_radar_hesitates():
    """A pond open water on nearly every clear date of a blind series: the optical rule's non-rice
    margin is narrow (0.16, the few dates show a flood and a floating canopy) and the radar
    hesitates (0.5). The kept verdict is sure, so the fused score is a non-rice label; a floodplain
    paddy (water on 60 % of its dates) with the same scores stays undecided."""
    ds = _pixels().isel(x=[2, 3])  # permanent water / lotus pond, floodplain paddy
    rule = xr.Dataset({"rice_score": (("y", "x"), np.full((1, 2), 0.16, np.float32)),
                       "n_seasons": (("y", "x"), np.zeros((1, 2), np.uint8)),
                       "qa_flags": (("y", "x"), np.full((1, 2), 9, np.uint8))})  # fmt: skip
    sar = rule.assign(rice_score=rule.rice_score * 0 + np.float32(0.5))
    spec = SelfTrainParams()
    fused = fuse_scores(sar, blind_optical_rule(rule, ds, 100.0, spec), None, spec).rice_score.values.ravel()
    np.testing.assert_allclose(fused, [0.25, 0.5])
    assert fused[0] <= spec.other_max_score < fused[1]
    old = SelfTrainParams(persistent_score=None)
    before = fuse_scores(sar, blind_optical_rule(rule, ds, 100.0, old), None, old).rice_score.values.ravel()
    np.testing.assert_allclose(before, [0.33, 0.5])  # undecided: no label at all
    # the optical rule's own labels keep its score (0.16 is a non-rice label already)
    alone = blind_optical_rule(rule, ds, 100.0, spec).rice_score.values.ravel()
    np.testing.assert_allclose(alone, [0.16, 0.5])
    with raise_if_dask_computes():
        lazy = fuse_scores(sar.chunk({"x": 1}), blind_optical_rule(rule.chunk({"x": 1}), ds.chunk({"x": 1}), 100.0,
                                                                   spec), None, spec)  # fmt: skip
    np.testing.assert_allclose(lazy.rice_score.values.ravel(), fused)


def test_an_optical_rice_verdict_on_a_never_drained_pixel_is_no_opinion_in_the_fused_labels():
    """A canal under water hyacinth: open water and a wet floating mat on every clear date (LSWI
    >= 0.3 throughout), which the optical rule on a sparse series reads as a flood and a canopy in
    water. A paddy shows stubble on drying soil. Both score 0.9 with the optical rule; the radar
    scores the canal 0.6 (and 0.05 next to a radar-sure paddy: the field-edge case)."""
    mat, open_water = (0.65, 0.35), (-0.20, 0.30)
    canal = [(open_water, mat)[t % 2] for t in range(DAYS.size)]
    ds = _bands([_clouded(canal), _clouded(_triple_crop()), _clouded(canal), _clouded(_triple_crop())])
    n = drained_dates(ds, SelfTrainParams().drained_lswi).values.ravel()
    assert n[0] == 0 and n[2] == 0 and n[1] >= 2 and n[3] >= 2

    def rule(score: list[float], **extra: np.ndarray) -> xr.Dataset:
        k = len(score)
        return xr.Dataset({"rice_score": (("y", "x"), np.array([score], np.float32)),
                           "n_seasons": (("y", "x"), np.ones((1, k), np.uint8)),
                           "qa_flags": (("y", "x"), np.zeros((1, k), np.uint8)),
                           **{name: (("y", "x"), v.reshape(1, k)) for name, v in extra.items()}})  # fmt: skip

    spec = SelfTrainParams()
    sar = rule([0.6, 0.6, 0.05, 0.95])  # canal, paddy, canal beside the radar-sure paddy, that paddy
    opt = rule([0.9, 0.9, 0.9, 0.9], drained_dates=n)
    got = fuse_scores(sar, opt, None, spec).rice_score.values.ravel()
    # the canal: (0.6 + 0.5) / 2 undecided, not a rice label; the paddy keeps its rice label; the edge
    # canal is not rescued (its optical verdict is no opinion) and becomes a non-rice label
    np.testing.assert_allclose(got, [0.55, 0.75, 0.275, 0.925], atol=1e-6)
    before = fuse_scores(sar, opt.drop_vars("drained_dates"), None, spec).rice_score.values.ravel()
    np.testing.assert_allclose(before, [0.75, 0.75, 0.9, 0.925], atol=1e-6)
    # a never-drained pixel the optical rule calls non-rice keeps its score
    low = fuse_scores(sar, rule([0.2, 0.2, 0.2, 0.2], drained_dates=n), None, spec).rice_score.values.ravel()
    np.testing.assert_allclose(low, [0.4, 0.4, 0.125, 0.575], atol=1e-6)
    with raise_if_dask_computes():
        lazy = drained_dates(ds.chunk({"x": 2}), 0.25)
    np.testing.assert_array_equal(lazy.values.ravel(), n)
    with pytest.raises(ConfigError, match="drained_lswi"):
        SelfTrainParams(drained_lswi=2.0)


def test_co_training_adds_no_rice_when_every_non_rice_label_is_a_persistent_cover():
    """The other view, trained against forest and water only, calls anything else rice: it may then
    add non-rice labels but no rice."""
    from agromap.rice.features import feature_names

    names = tuple(feature_names())
    sar = np.array([n in feature_names(optical=False) for n in names])
    rng = np.random.default_rng(0)
    X = rng.normal(0, 0.1, (300, len(names))).astype(np.float32)
    X[:100, sar] += 1.0  # the rule's rice
    X[200:, sar] += 1.0  # hesitant pixels that look like rice to the radar
    y = np.repeat(np.array([1, 0, -1], np.int8), 100)
    spec = SelfTrainParams(n_estimators=30, min_per_class=30)

    def counts(bit: int) -> dict[str, int]:
        stratum = np.where(y == 0, bit * 256, 0).astype(np.int64)
        table = {"X": X, "y": y, "stratum": stratum, "key": rng.random(300), "confident": np.array([100, 100])}
        return _fit([table], names, spec=spec, rule="optical", attrs={}).metadata["training_counts"]

    assert counts(QA_PERSISTENT_ONLY)["n_train_rice"] == 100
    assert counts(0)["n_train_rice"] > 150


def test_field_edge_rescue_can_ask_for_the_paddys_flood_in_the_optical_series():
    """An upland crop beside a paddy: mixed in the radar, a canopy the optical rule takes for rice,
    but no clear date of open water; the paddy's own edge shows its flood."""
    sar = np.full((3, 4), 0.05, np.float32)
    sar[:, 0] = 0.9  # the paddy the radar sees
    opt = np.full((3, 4), 0.9, np.float32)

    def rule(score: np.ndarray, **extra: np.ndarray) -> xr.Dataset:
        return xr.Dataset({"rice_score": (("y", "x"), score), "n_seasons": (("y", "x"), np.ones((3, 4), np.uint8)),
                           "qa_flags": (("y", "x"), np.zeros((3, 4), np.uint8)),
                           **{k: (("y", "x"), v) for k, v in extra.items()}})  # fmt: skip

    floods = np.zeros((3, 4), np.uint16)
    floods[0, 1] = 2  # the paddy's edge pixel saw the flood; (1, 1) and (2, 1) did not (upland crop)
    gated = SelfTrainParams(edge_min_flood_dates=1)
    got = fuse_scores(rule(sar), rule(opt, flood_dates=floods), None, gated).rice_score.values
    np.testing.assert_allclose(got[:, 1], [0.9, 0.475, 0.475], atol=1e-6)
    off = fuse_scores(rule(sar), rule(opt, flood_dates=floods), None)  # the default: the optical score decides
    np.testing.assert_allclose(off.rice_score.values[:, 1], 0.9, atol=1e-6)
    # the count itself, from a real series: the triple-cropped paddy shows its flooded dates, the forest none
    n = flood_dates(_pixels(), None).values.ravel()
    assert n[1] >= 3 and n[0] == 0 and n[5] == 0


def test_field_edge_rescue_needs_the_crop_of_the_paddy_beside_it():
    """A paddy the radar sees between its own edge pixel (the same crop, mixed in the radar) and an
    upland crop (one long canopy season) the optical rule also takes for rice: only the edge pixel,
    whose NDVI series follows the paddy's, keeps the optical verdict."""
    upland = [STUBBLE] * 12 + [(0.55, 0.10)] * 12 + [STUBBLE] * 13
    ds = _bands([_triple_crop(), _triple_crop(), upland])
    sar = xr.DataArray(np.array([[0.05, 0.9, 0.05]], np.float32), dims=("y", "x"))
    rms = edge_ndvi_rms(ds, sar, SelfTrainParams()).values.ravel()
    assert rms[0] == pytest.approx(0.0, abs=1e-6) and rms[2] > 0.3 and np.isnan(rms[1])  # no SAR-rice neighbour
    # a neighbour sharing fewer clear dates than edge_min_common_dates does not count
    assert np.isnan(edge_ndvi_rms(ds, sar, SelfTrainParams(edge_min_common_dates=40)).values).all()
    # the same on a lazy one-row stack, and on a single pixel (no neighbour at all)
    lazy = edge_ndvi_rms(ds.chunk(), sar.chunk(), SelfTrainParams())
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.values.ravel(), rms)
    assert np.isnan(edge_ndvi_rms(ds.isel(x=[1]).chunk(), sar.isel(x=[1]).chunk(), SelfTrainParams()).values).all()

    def rule(score: list[float], **extra: np.ndarray) -> xr.Dataset:
        return xr.Dataset({"rice_score": (("y", "x"), np.array([score], np.float32)),
                           "n_seasons": (("y", "x"), np.ones((1, 3), np.uint8)),
                           "qa_flags": (("y", "x"), np.zeros((1, 3), np.uint8)),
                           **{k: (("y", "x"), v) for k, v in extra.items()}})  # fmt: skip

    opt = rule([0.9, 0.9, 0.9], edge_ndvi_rms=rms.reshape(1, 3))
    got = fuse_scores(rule([0.05, 0.9, 0.05]), opt, None).rice_score.values.ravel()
    np.testing.assert_allclose(got, [0.9, 0.9, 0.475], atol=1e-6)
    off = fuse_scores(rule([0.05, 0.9, 0.05]), opt, None, SelfTrainParams(edge_max_ndvi_rms=None))
    np.testing.assert_allclose(off.rice_score.values.ravel(), 0.9, atol=1e-6)
    with pytest.raises(ConfigError, match="edge_max_ndvi_rms"):
        SelfTrainParams(edge_max_ndvi_rms=0.0)


def test_a_contradiction_no_clear_date_saw_wet_is_the_radars_non_rice():
    """SAR non-rice against optical rice, no radar-seen paddy beside it: undecided where some clear
    date was wet (a paddy the radar missed), the radar's non-rice where none was (an upland crop
    whose shadowed bare date the optical rule read as a flood); a rescued field edge keeps its
    optical verdict whatever its wettest date."""
    sar = np.array([[0.05, 0.05, 0.05, 0.9]], np.float32)
    opt = np.array([[0.9, 0.9, 0.9, 0.9]], np.float32)
    wet = np.array([[0.20, 0.35, 0.20, 0.35]], np.float32)

    def rule(score: np.ndarray, **extra: np.ndarray) -> xr.Dataset:
        return xr.Dataset({"rice_score": (("y", "x"), score), "n_seasons": (("y", "x"), np.ones((1, 4), np.uint8)),
                           "qa_flags": (("y", "x"), np.zeros((1, 4), np.uint8)),
                           **{k: (("y", "x"), v) for k, v in extra.items()}})  # fmt: skip

    got = fuse_scores(rule(sar), rule(opt, wettest_lswi=wet), None).rice_score.values.ravel()
    np.testing.assert_allclose(got, [0.05, 0.475, 0.9, 0.9], atol=1e-6)  # (0, 2): pixel 2 is an edge of paddy 3
    off = fuse_scores(rule(sar), rule(opt, wettest_lswi=wet), None, SelfTrainParams(dry_contradiction_lswi=None))
    np.testing.assert_allclose(off.rice_score.values.ravel(), [0.475, 0.475, 0.9, 0.9], atol=1e-6)
    # from a real series: the triple-cropped paddy's canopy in water is wet, bare ground all year is not
    w = wettest_lswi(_pixels()).values.ravel()
    assert w[1] == pytest.approx(0.35, abs=0.01) and w[5] == pytest.approx(-0.05, abs=0.01)
    with pytest.raises(ConfigError, match="dry_contradiction_lswi"):
        SelfTrainParams(dry_contradiction_lswi=2.0)


def test_the_flood_test_reaches_the_fused_labels_of_a_scene_lazily():
    """``rule="both"`` on a monsoon scene: asking edge pixels for a flooded clear date only ever turns
    a rescued (optical) score back into the fusion without the rescue, and builds lazily."""
    from agromap.rice.rules_sar import boxcar_speckle_filter
    from agromap.rice.self_train_rule import run_rule, split_stacks
    from agromap.scenes import make_scene

    sc = make_scene("monsoon_sparse_optical", size=48, seed=5, chunk=24)
    s1 = xr.Dataset({v: boxcar_speckle_filter(sc.s1[v], 5) for v in ("vv", "vh")})
    optical, radar = split_stacks(sc.s2, s1)
    runs = {}
    for k in (0, 1):
        spec = SelfTrainParams(edge_min_flood_dates=k)
        with raise_if_dask_computes():
            runs[k] = run_rule(optical, radar, "both", None, None, spec.blind_gap_days, spec=spec).rice_score
    # the optical score as the fusion gets it (the fusion applies the drained test itself)
    opt = run_rule(optical, radar, "optical", None, None, 100.0, spec=SelfTrainParams(), fused=True).rice_score
    plain = run_rule(optical, radar, "both", None, None, SelfTrainParams().blind_gap_days,
                     spec=SelfTrainParams(edge_rescue_px=None)).rice_score
    # One compute: the four maps share their rules' graphs, so each rule runs once.
    runs[0], runs[1], opt, plain = (a.values for a in dask.compute(runs[0], runs[1], opt, plain))
    changed = ~np.isclose(runs[0], runs[1])
    assert changed.any()  # some edge pixel of this scene has no flooded clear date
    np.testing.assert_allclose(runs[0][changed], opt[changed], atol=1e-6)  # rescued without the test
    # ... and with it back to the fusion without the rescue: the mean, or the radar's score where the
    # optical series saw the field dry (`dry_contradiction_lswi`).
    np.testing.assert_allclose(runs[1][changed], plain[changed], atol=1e-6)


def _vh_points(series: list[list[float]], step: int = 6) -> xr.DataArray:
    """VH linear power (time, point) from per-point dB series on a regular ``step``-day axis."""
    db = np.asarray(series, np.float32).T
    time = np.datetime64("2023-01-01") + (np.arange(db.shape[0]) * step).astype("timedelta64[D]")
    return xr.DataArray((10 ** (db / 10)).astype(np.float32), dims=("time", "point"), coords={"time": time})


def test_sar_seedbed_only_lift_keeps_a_lotus_pond_as_a_non_rice_label():
    from agromap.rice.rules_sar import sar_rice_rule
    from agromap.rice.seasons import QA_SEEDBED_ONLY
    from agromap.rice.self_train_labels import keep_seedbed_nonrice

    # A lotus pond refilled after drying: its first floating leaves read about -18.5 dB, just under
    # the seedbed bar; the plateau reading lifts it, but not past the rule's cut of 0.5. A direct-seeded paddy whose
    # moist seedbed reads -17 to -15 dB passes with the reading from its flood minimum and is
    # confident rice; the seedbed bit is not set on it.
    lotus = ([-17.5] * 9 + [-19.0, -26.0, -25.0] + [-17.5, -19.0, -18.5, -19.0, -18.0, -17.5, -17.0, -16.5, -16.0]
             + [-15.5] * 7 + [-18.0] * 4 + [-17.5] * 18)
    paddy = ([-17.5] * 10 + [-23.0, -22.0] + [-16.8, -17.3, -16.8, -17.0, -15.0, -14.5, -14.0, -13.5]
             + [-13.0] * 8 + [-18.0] * 4 + [-17.5] * 18)
    out = sar_rice_rule(_vh_points([lotus, paddy]))
    qa, score = out["qa_flags"].values, out["rice_score"].values
    assert qa[0] & QA_SEEDBED_ONLY and 0.3 < score[0] < 0.5
    assert not qa[1] & QA_SEEDBED_ONLY and score[1] >= 0.7
    spec = SelfTrainParams()
    kept = keep_seedbed_nonrice(out, spec)["rice_score"].values
    assert kept[0] == pytest.approx(spec.other_max_score) and kept[1] == score[1]
    # with seedbed_labels the lifted score stands (the pond is left undecided)
    loose = keep_seedbed_nonrice(out, SelfTrainParams(seedbed_labels=True))["rice_score"].values
    assert loose[0] == score[0]
    # the self-trained map's SAR labels go through it
    from agromap.rice.self_train_rule import run_rule

    vh = _vh_points([lotus, paddy]).to_dataset(name="vh")
    ruled = run_rule(None, vh, "sar", None, None, spec=spec)["rice_score"].values
    np.testing.assert_allclose(ruled, kept)


def test_keep_seedbed_nonrice_leaves_confident_rice_and_unmarked_pixels_and_stays_lazy():
    from agromap.rice.seasons import QA_SEEDBED_ONLY
    from agromap.rice.self_train_labels import keep_seedbed_nonrice

    # lifted to 0.45 (the rule still says non-rice): capped; lifted to 0.55 or 0.85 (the rule says
    # rice): kept; 0.45 without the bit, and 0.2 with it: kept
    score = np.array([[0.45, 0.55, 0.85, 0.45, 0.2]], np.float32)
    b = QA_SEEDBED_ONLY
    qa = np.array([[b, b, b, 0, b]], np.uint8)
    ds = xr.Dataset({"rice_score": (("y", "x"), score), "qa_flags": (("y", "x"), qa)})
    out = keep_seedbed_nonrice(ds, SelfTrainParams())["rice_score"].values
    np.testing.assert_allclose(out, [[0.3, 0.55, 0.85, 0.45, 0.2]])
    with raise_if_dask_computes():
        lazy = keep_seedbed_nonrice(ds.chunk({"x": 2}), SelfTrainParams())
    np.testing.assert_allclose(lazy["rice_score"].values, out)


def test_a_lotus_pond_is_dropped_from_the_rice_labels_and_a_drained_paddy_is_kept():
    # A lotus pond: open water half the year, a floating-leaf canopy rising out of it the other
    # half (NDVI up, LSWI still high), never a dry date. A paddy: flooded, canopy, stubble on dry soil.
    lotus_leaves = (0.60, 0.30)
    pond = [WATER if t % 12 < 6 else lotus_leaves for t in range(DAYS.size)]
    paddy = [([WATER] * 3 + [CANOPY] * 7 + [STUBBLE] * 2)[t % 12] for t in range(DAYS.size)]
    optical = _bands([_clouded(pond), _clouded(paddy), _clouded(pond)]).chunk({"x": 1})
    score = xr.DataArray(np.array([[0.9, 0.9, 0.2]], np.float32), dims=("y", "x")).chunk({"x": 1})
    out = xr.Dataset({"rice_score": score})
    with raise_if_dask_computes():
        lazy = drop_pond_rice(out, optical, SelfTrainParams())
    got = lazy["rice_score"].values[0]
    # The pond's rice verdict becomes no opinion (not non-rice); the paddy's stands; a non-rice
    # verdict on a pond is left alone.
    np.testing.assert_allclose(got, [0.5, 0.9, 0.2])
    off = drop_pond_rice(out, optical, SelfTrainParams(pond_water_fraction=None))["rice_score"].values[0]
    np.testing.assert_allclose(off, [0.9, 0.9, 0.2])
    # As watery, but dry on a third of its clear dates: drained before harvest, so a paddy.
    drained = [(WATER, lotus_leaves, STUBBLE)[t % 3] for t in range(DAYS.size)]
    kept = drop_pond_rice(xr.Dataset({"rice_score": score[:, :1].compute()}), _bands([_clouded(drained)]),
                          SelfTrainParams())["rice_score"].values[0]
    np.testing.assert_allclose(kept, [0.9])
    with pytest.raises(ConfigError, match="pond_water_fraction"):
        SelfTrainParams(pond_water_fraction=1.5)


def test_the_optical_rules_rice_verdict_on_open_water_nearly_all_year_is_a_sure_non_rice_label():
    """``rule="optical"``: a lotus pond seen as open water on 21 of its 23 clear dates and twice
    with its leaves standing in water, which the rule calls rice, becomes a non-rice label (0, marked
    as a persistent cover); a floodplain paddy, open water on 60 % of its clear dates, and a
    triple-cropped paddy keep their rice verdict, and a non-rice verdict is left alone."""
    lotus_leaves = (0.60, 0.30)
    seen = np.flatnonzero(~CLOUD)
    pond = [lotus_leaves if t in seen[[3, 9]] else WATER for t in range(DAYS.size)]
    floodplain = [WATER if t % 5 < 3 else CANOPY for t in range(DAYS.size)]
    optical = _bands([_clouded(pond), _clouded(floodplain), _clouded(_triple_crop()), _clouded(pond)]).chunk({"x": 1})
    out = xr.Dataset({"rice_score": (("y", "x"), np.array([[0.9, 0.9, 0.9, 0.2]], np.float32)),
                      "qa_flags": (("y", "x"), np.zeros((1, 4), np.uint8))}).chunk({"x": 1})  # fmt: skip
    with raise_if_dask_computes():
        lazy = open_water_nonrice(out, optical, SelfTrainParams())
    got = lazy.compute()
    np.testing.assert_allclose(got.rice_score.values[0], [0.0, 0.9, 0.9, 0.2])
    np.testing.assert_array_equal(got.qa_flags.values[0] & QA_PERSISTENT_ONLY, [QA_PERSISTENT_ONLY, 0, 0, 0])
    off = open_water_nonrice(out, optical, SelfTrainParams(persistent_fraction=None)).rice_score.values[0]
    np.testing.assert_allclose(off, [0.9, 0.9, 0.9, 0.2])


def test_with_both_rules_the_radar_alone_labels_a_pond_and_a_drained_paddy_keeps_the_mean():
    """``rule="both"``: the pond's optical rice verdict is no vote (NaN), so a radar that calls the
    lotus pond non-rice (0.25, short of the 0.3 label bar once averaged with 0.5) makes it a
    non-rice label; a drained paddy the radar doubts keeps the mean of both rules."""
    lotus_leaves = (0.60, 0.30)
    pond = [WATER if t % 12 < 6 else lotus_leaves for t in range(DAYS.size)]
    paddy = [([WATER] * 3 + [CANOPY] * 7 + [STUBBLE] * 2)[t % 12] for t in range(DAYS.size)]
    optical = _bands([_clouded(pond), _clouded(paddy)])

    def rule(score: list[float]) -> xr.Dataset:
        return xr.Dataset({"rice_score": (("y", "x"), np.array([score], np.float32)),
                           "n_seasons": (("y", "x"), np.ones((1, 2), np.uint8)),
                           "qa_flags": (("y", "x"), np.zeros((1, 2), np.uint8))})  # fmt: skip

    spec = SelfTrainParams(edge_rescue_px=None)
    sar, opt = rule([0.25, 0.25]), rule([0.9, 0.9])
    fused = fuse_scores(sar, drop_pond_rice(opt, optical, spec, np.nan), None, spec).rice_score.values.ravel()
    np.testing.assert_allclose(fused, [0.25, 0.575], atol=1e-6)
    before = fuse_scores(sar, drop_pond_rice(opt, optical, spec), None, spec).rice_score.values.ravel()
    np.testing.assert_allclose(before, [0.375, 0.575], atol=1e-6)  # the pond: undecided, no label


def test_the_optical_rules_own_rice_label_on_a_never_drained_canal_is_no_opinion_and_a_drained_paddy_keeps_it():
    """``rule="optical"``: a canal under water hyacinth (open water and a wet floating mat on every
    clear date, LSWI >= 0.3 throughout) loses its rice label; a paddy seen drained on a single
    clear date keeps it, and so does the canal's non-rice verdict."""
    mat, open_water = (0.65, 0.35), (-0.20, 0.30)
    canal = [(open_water, mat)[t % 2] for t in range(DAYS.size)]
    # a paddy on a sparse series: flooded and green on every clear date but one, after its drainage
    once = [CANOPY if t % 2 else FLOOD for t in range(DAYS.size)]
    once[4] = STUBBLE
    optical = _bands([_clouded(canal), _clouded(once), _clouded(_triple_crop()), _clouded(canal)]).chunk({"x": 1})
    score = xr.DataArray(np.array([[0.9, 0.9, 0.9, 0.2]], np.float32), dims=("y", "x")).chunk({"x": 1})
    out = xr.Dataset({"rice_score": score})
    with raise_if_dask_computes():
        lazy = drop_undrained_rice(out, optical, SelfTrainParams())
    np.testing.assert_allclose(lazy["rice_score"].values[0], [0.5, 0.9, 0.9, 0.2])
    off = drop_undrained_rice(out, optical, SelfTrainParams(drained_lswi=None))["rice_score"].values[0]
    np.testing.assert_allclose(off, [0.9, 0.9, 0.9, 0.2])


def test_the_drained_test_reaches_the_fused_labels_of_a_sparse_scene_lazily():
    """``rule="both"`` on the floodplain scene thinned to a dozen clear dates: only pixels the optical
    rule calls rice and that show no drained clear date change, to the mean of 0.5 and the radar."""
    from agromap.rice.rules_sar import boxcar_speckle_filter
    from agromap.rice.self_train_rule import run_rule, split_stacks
    from agromap.scenes import make_scene
    from agromap.scenes.evaluate import drop_s2_days

    sc = make_scene("mekong_triple_sar", size=48, seed=1, chunk=24)
    s1 = xr.Dataset({v: boxcar_speckle_filter(sc.s1[v], 5) for v in ("vv", "vh")})
    optical, radar = split_stacks(drop_s2_days(sc.s2, [(41, 139), (171, 299)]), s1)
    runs = {}
    for lswi in (None, 0.25):
        spec = SelfTrainParams(drained_lswi=lswi, persistent_score=None)
        with raise_if_dask_computes():
            runs[lswi] = run_rule(optical, radar, "both", None, None, spec.blind_gap_days, spec=spec).rice_score
    # the optical score as the fusion gets it (the fusion applies the drained test itself)
    opt = run_rule(optical, radar, "optical", None, None, 100.0, spec=SelfTrainParams(), fused=True).rice_score
    sar = run_rule(optical, radar, "sar", None, None).rice_score
    # the optical rule's own labels (rule="optical"), asserted below (a rice-shrimp field the series
    # opens in keeps its rice there only: start_pond_rice, off here; so is the upland-crop test, which
    # takes other pixels' rice: upland_dip_db)
    with raise_if_dask_computes():
        alone = run_rule(optical, radar, "optical", None, None, 100.0,
                         spec=SelfTrainParams(start_pond_rice=False, upland_dip_db=None)).rice_score
    # One compute: the six arrays share their rules' and indices' graphs, so each rule runs once.
    runs[None], runs[0.25], opt, sar, alone, drained = (a.values for a in dask.compute(
        runs[None], runs[0.25], opt, sar, alone, drained_dates(optical, 0.25)))
    never = drained == 0
    changed = ~np.isclose(runs[None], runs[0.25])
    assert changed.any() and (never & (opt > 0.5))[changed].all()
    np.testing.assert_allclose(runs[0.25][changed], (sar[changed] + 0.5) / 2, atol=1e-6)
    # rice verdicts with a drained date, and non-rice verdicts, keep their fused score
    np.testing.assert_allclose(runs[0.25][~(never & (opt > 0.5))], runs[None][~(never & (opt > 0.5))], atol=1e-6)
    # the optical rule's own labels: the same pixels, and only they, become no opinion (a pond's
    # verdict, no vote before the fusion, is no opinion there too)
    expected = np.where(np.isnan(opt) | (never & (opt > 0.5)), 0.5, opt)
    np.testing.assert_allclose(alone, expected, atol=1e-6)


def test_lazy_split_keeps_the_orbit_tracks_for_the_sar_rule():
    """Rechunking time for the classifier must not hide the dates' orbit tracks from the SAR rule: a
    dask ``orbit`` coordinate made it skip the per-track offsets (with a warning) on lazy input only."""
    import warnings

    from agromap.rice.self_train_rule import run_rule, split_stacks
    from agromap.scenes import make_scene

    sc = make_scene("mekong_triple_sar", size=32, seed=1, chunk=16)
    assert len(set(sc.s1["orbit"].values.tolist())) > 1  # several tracks, offsets to remove
    lazy_opt, lazy_sar = split_stacks(sc.s2, sc.s1)
    assert lazy_sar is not None and not is_dask_collection(lazy_sar["orbit"].data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazy = run_rule(lazy_opt, lazy_sar, "sar", None, None).rice_score.values
    _, eager_sar = split_stacks(sc.s2.compute(), sc.s1.compute())
    eager = run_rule(None, eager_sar, "sar", None, None).rice_score.values
    np.testing.assert_allclose(lazy, eager, atol=1e-6)


def test_the_water_masks_non_rice_verdict_on_a_pond_that_grows_a_crop_is_no_opinion():
    """``rule="optical"``: a rice-shrimp field the rule's water mask (``QA_WATER``) calls non-rice,
    a pond on most clear dates with a rice canopy on four of them, becomes no opinion (0.5); a fish
    pond (water on every clear date), a pond with a single green date and a lotus pond (leaves on 14
    of its 23 clear dates, water on the rest) keep the mask's verdict, and so does a non-rice verdict
    outside the mask; a rice verdict is left alone."""
    from agromap.rice.seasons import QA_WATER

    seen = np.flatnonzero(~CLOUD)
    field = [CANOPY if t in seen[4:8] else WATER for t in range(DAYS.size)]
    once = [CANOPY if t == seen[4] else WATER for t in range(DAYS.size)]
    pond = [WATER] * DAYS.size
    lotus = [CANOPY if t in seen[2:16] else WATER for t in range(DAYS.size)]  # leaves over 14 of 23 dates
    optical = _bands([_clouded(v) for v in (field, pond, once, field, field, lotus)]).chunk({"x": 1})
    qa = np.array([[QA_WATER, QA_WATER, QA_WATER, 0, QA_WATER, QA_WATER]], np.uint8)
    out = xr.Dataset({"rice_score": (("y", "x"), np.array([[0.1, 0.1, 0.1, 0.1, 0.9, 0.1]], np.float32)),
                      "qa_flags": (("y", "x"), qa)}).chunk({"x": 1})  # fmt: skip
    with raise_if_dask_computes():
        lazy = water_mask_crop(out, optical, SelfTrainParams())
    np.testing.assert_allclose(lazy.compute().rice_score.values[0], [0.5, 0.1, 0.1, 0.1, 0.9, 0.1])
    any_share = water_mask_crop(out, optical, SelfTrainParams(water_crop_water_fraction=0.0)).rice_score.values[0]
    np.testing.assert_allclose(any_share, [0.5, 0.1, 0.1, 0.1, 0.9, 0.5])  # the lotus pond, by its water share
    off = water_mask_crop(out, optical, SelfTrainParams(water_crop_dates=None)).rice_score.values[0]
    np.testing.assert_allclose(off, [0.1, 0.1, 0.1, 0.1, 0.9, 0.1])
    with pytest.raises(ConfigError, match="water_crop_dates"):
        SelfTrainParams(water_crop_dates=0)
