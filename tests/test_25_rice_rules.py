"""Label-free rice rules (optical Xiao PPPM and Sentinel-1 VH) on synthetic scenes with known truth.

Accuracy figures are printed (run with ``-s`` to see them) and asserted against floors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import ndimage

from agromap.errors import ConfigError, InputError, MissingBandError
from agromap.io.layers import encode
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.rice.rules_sar import SarRiceParams, boxcar_speckle_filter, sar_rice_rule
from agromap.rice.seasons import LAYER_SPECS, SeasonWindow, doy_difference, split_seasons, time_axis, window_index
from agromap.rice.tuning import classify_points, read_point_table, tune_thresholds
from agromap.testing import SceneSpec, make_s1_stack, make_s2_stack, make_truth, raise_if_dask_computes

DAYS6 = tuple((dt.date(2023, 5, 1) + dt.timedelta(days=6 * i)).isoformat() for i in range(61))  # a year, 6-day
DAYS12_KHARIF = tuple((dt.date(2023, 5, 27) + dt.timedelta(days=12 * i)).isoformat() for i in range(15))
# shape/seed/field size chosen so that every land-cover class is present (checked in _metrics).
BASE = {"shape": (96, 96), "field_size": 8, "seed": 2, "include_flood_event": False}
OUTPUTS = {"rice_class": "uint8", "n_seasons": "uint8", "transplant_doy": "uint16", "rice_score": "float32",
           "n_valid_obs": "uint8", "n_valid_in_flood_window": "uint8", "qa_flags": "uint8"}


def _metrics(name: str, out: xr.Dataset, truth: xr.Dataset, where: np.ndarray | None = None) -> dict:
    """Precision/recall/F1 vs landcover == 1, per-class false-positive rate, date MAE per season."""
    lc, pred = truth.landcover.values, out.rice_class.values
    keep = np.ones(lc.shape, bool) if where is None else where
    for c in range(5):
        assert ((lc == c) & keep).sum() >= 50, f"scene lacks class {c}: the non-rice checks would be vacuous"
    t, p = (lc == 1) & keep, (pred == 1) & keep
    tp, fp, fn = int((t & p).sum()), int((~t & p).sum()), int((t & ~p & keep).sum())
    prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    m = {"precision": prec, "recall": rec, "f1": 2 * prec * rec / max(prec + rec, 1e-9),
         "fp_rate": {c: float(((pred == 1) & (lc == c) & keep).sum() / ((lc == c) & keep).sum()) for c in (0, 2, 3, 4)}}
    hit = t & p
    m["n_seasons_exact"] = float((truth.n_seasons.values[hit] == out.n_seasons.values[hit]).mean())
    m["mae"], m["bias"] = {}, {}
    for k in range(out.sizes["season"]):
        name_k = f"transplant_doy_{k + 1}"
        if name_k not in truth:
            continue
        tt, pp = truth[name_k].values, out.transplant_doy.values[k]
        both = hit & (tt > 0) & (pp > 0)
        if both.sum() >= 20:
            d = doy_difference(pp[both], tt[both]).astype(np.float32)
            m["mae"][k + 1], m["bias"][k + 1] = float(np.abs(d).mean()), float(d.mean())
    print(f"\n[{name}] P={m['precision']:.3f} R={m['recall']:.3f} F1={m['f1']:.3f} "
          f"FP rate by class {m['fp_rate']} n_seasons exact={m['n_seasons_exact']:.3f} "
          f"date MAE {m['mae']} bias {m['bias']} (days)")
    return m


def _pure(truth: xr.Dataset, size: int = 3) -> np.ndarray:
    """Pixels whose size x size neighbourhood is one field of one land cover (the river crosses
    fields); the boxcar speckle filter blurs across such borders."""
    same = np.ones(truth.landcover.shape, bool)
    for v in ("field_id", "landcover"):
        a = truth[v].values.astype(np.int64)
        same &= ndimage.minimum_filter(a, size) == ndimage.maximum_filter(a, size)
    return same


@pytest.fixture(scope="module")
def one_season():
    spec = SceneSpec(**BASE, cloud_fraction=0.2, missing_dates=(SceneSpec().dates[4],))
    s2 = make_s2_stack(spec).compute()
    return spec, make_truth(spec).compute(), s2, optical_rice_rule(s2).compute()


@pytest.fixture(scope="module", params=[2, 3], ids=["2-seasons", "3-seasons"])
def multi_season(request):
    spec = SceneSpec(**BASE, n_seasons=request.param, dates=DAYS6, cloud_fraction=0.2,
                     missing_dates=(DAYS6[20], DAYS6[21]))
    s2 = make_s2_stack(spec).compute()
    return spec, make_truth(spec).compute(), s2, optical_rice_rule(s2).compute()


# ---- optical rule: accuracy ------------------------------------------------------------------

def test_optical_one_season_with_clouds(one_season):
    spec, truth, s2, out = one_season
    m = _metrics("optical 1 season, 20% clouds, 15-d revisit, 1 missing date", out, truth)
    assert m["f1"] >= 0.9 and m["precision"] >= 0.95
    assert m["mae"][1] <= 16.0
    assert m["fp_rate"][2] == 0 and m["fp_rate"][3] == 0 and m["fp_rate"][4] == 0  # water, forest, urban
    assert m["fp_rate"][0] <= 0.02  # dryland crop / bare
    assert int(out.n_valid_obs.max()) <= len(spec.dates) - 1  # the missing date never counts


def test_optical_multi_season(multi_season):
    spec, truth, s2, out = multi_season
    m = _metrics(f"optical {spec.n_seasons} seasons, 20% clouds, 6-d revisit, 2 missing dates", out, truth)
    assert m["f1"] >= 0.9
    assert m["n_seasons_exact"] >= 0.9
    assert all(v <= 16.0 for v in m["mae"].values()) and len(m["mae"]) == spec.n_seasons
    assert max(m["fp_rate"].values()) <= 0.02


def test_optical_literal_xiao_masks_lose_triple_crops():
    """Counting every valid date in the 22 % water mask (Xiao on MODIS) deletes 3-crop paddies;
    counting outside confirmed cycles (the default) keeps them: evidence for the adaptation. The
    literal masks are Xiao's alone: the harvest evidence (which also relaxes the water mask of a
    pixel whose canopy in water is followed by dry stubble) is off for them."""
    spec = SceneSpec(**BASE, n_seasons=3, dates=DAYS6, cloud_fraction=0.2)
    truth, s2 = make_truth(spec).compute(), make_s2_stack(spec).compute()
    triple = truth.n_seasons.values == 3
    default = optical_rice_rule(s2).rice_class.values
    literal = optical_rice_rule(s2, OpticalRiceParams(mask_outside_cycles=False, harvest_lswi_max=None)).rice_class.values
    r_def, r_lit = float((default[triple] == 1).mean()), float((literal[triple] == 1).mean())
    print(f"\n[optical triple-crop recall] masks outside cycles {r_def:.3f}; literal masks {r_lit:.3f}")
    assert r_def >= 0.95 and r_lit < r_def - 0.1


def test_optical_flood_event_on_dryland_crops_is_the_known_confusion():
    spec = SceneSpec(**{**BASE, "include_flood_event": True}, cloud_fraction=0.2)
    truth = make_truth(spec).compute()
    out = optical_rice_rule(make_s2_stack(spec)).compute()
    m = _metrics("optical 1 season with a flood event", out, truth)
    flooded_dry = truth.flood.values & (truth.landcover.values == 0)
    fp_flooded = float((out.rice_class.values[flooded_dry] == 1).mean())
    fp_dry_elsewhere = float((out.rice_class.values[~truth.flood.values & (truth.landcover.values == 0)] == 1).mean())
    print(f"  rice among flooded dryland/bare pixels {fp_flooded:.3f}; elsewhere {fp_dry_elsewhere:.3f}")
    assert fp_dry_elsewhere <= 0.02 and m["f1"] >= 0.85
    assert m["fp_rate"][2] == m["fp_rate"][3] == m["fp_rate"][4] == 0


def test_optical_irregular_and_unsorted_dates():
    rng = np.random.default_rng(7)
    gaps = rng.integers(3, 22, size=40)
    days = np.cumsum(np.concatenate([[0], gaps]))
    dates = tuple((dt.date(2023, 5, 15) + dt.timedelta(days=int(d))).isoformat() for d in days if d < 200)
    # 10 % clouds: with 20 % this date set leaves part of the scene unobserved for ~90 days after
    # the flood (no rule can confirm growth there); irregularity itself is what is tested here.
    spec = SceneSpec(**BASE, dates=dates, cloud_fraction=0.1)
    truth, s2 = make_truth(spec).compute(), make_s2_stack(spec).compute()
    out = optical_rice_rule(s2).compute()
    m = _metrics(f"optical irregular dates ({len(dates)} dates, gaps 3-21 d)", out, truth)
    assert m["f1"] >= 0.9 and m["mae"][1] <= 16.0
    shuffled = s2.isel(time=rng.permutation(s2.sizes["time"]))
    again = optical_rice_rule(shuffled).compute()
    for v in out.data_vars:
        np.testing.assert_array_equal(out[v].values, again[v].values)


# ---- SAR rule: accuracy -----------------------------------------------------------------------

def test_sar_one_season():
    spec = SceneSpec(**BASE, s1_dates=DAYS12_KHARIF, missing_dates=(DAYS12_KHARIF[6],))
    truth = make_truth(spec).compute()
    vh = boxcar_speckle_filter(make_s1_stack(spec).vh, 3)
    out = sar_rice_rule(vh).compute()
    pure = _pure(truth)
    m = _metrics("SAR 1 season, 12-d revisit, 3x3 boxcar, pure pixels", out, truth, pure)
    m_all = _metrics("SAR 1 season, 12-d revisit, 3x3 boxcar, all pixels", out, truth)
    raw = _metrics("SAR 1 season, 12-d revisit, no speckle filter", sar_rice_rule(make_s1_stack(spec)).compute(), truth)
    assert m["f1"] >= 0.95 and m["mae"][1] <= 16.0 and max(m["fp_rate"].values()) <= 0.01
    assert m_all["f1"] >= 0.85
    assert raw["precision"] < m["precision"]  # ~2 dB single-pixel speckle crosses -18 dB by chance


@pytest.mark.parametrize("n_seasons", [2, 3])
def test_sar_multi_season(n_seasons):
    spec = SceneSpec(**BASE, n_seasons=n_seasons, dates=DAYS6, missing_dates=(DAYS6[30],))
    truth = make_truth(spec).compute()
    vh = boxcar_speckle_filter(make_s1_stack(spec).vh, 3)
    out = sar_rice_rule(vh, SarRiceParams(smooth_days=13)).compute()
    m = _metrics(f"SAR {n_seasons} seasons, 6-d revisit, 3x3 boxcar + 13-d linear mean, pure pixels",
                 out, truth, _pure(truth))
    assert m["f1"] >= 0.95 and m["n_seasons_exact"] >= 0.9
    assert len(m["mae"]) == n_seasons and all(v <= 16.0 for v in m["mae"].values())
    assert max(m["fp_rate"].values()) <= 0.01


def test_season_windows_assign_slots():
    spec = SceneSpec(**BASE, n_seasons=2, dates=DAYS6, cloud_fraction=0.1)
    truth = make_truth(spec).compute()
    windows = (SeasonWindow(120, 215, "kharif"), SeasonWindow(240, 345, "late"))
    out = optical_rice_rule(make_s2_stack(spec), windows=windows).compute()
    assert out.sizes["season"] == 2
    m = _metrics("optical 2 seasons with calendar windows", out, truth)
    assert m["f1"] >= 0.9 and set(m["mae"]) == {1, 2} and max(m["mae"].values()) <= 16
    assert (out.n_valid_in_flood_window <= out.n_valid_obs).all()
    assert (out.n_valid_in_flood_window < out.n_valid_obs).any()
    sar = sar_rice_rule(boxcar_speckle_filter(make_s1_stack(spec).vh, 3), windows=windows).compute()
    ms = _metrics("SAR 2 seasons with calendar windows, pure pixels", sar, truth, _pure(truth))
    assert ms["f1"] >= 0.9 and set(ms["mae"]) == {1, 2} and max(ms["mae"].values()) <= 16


# ---- behaviour on exact, hand-made series -----------------------------------------------------

def _table(ndvi, evi, lswi, start="2023-05-01", step=10):
    """A (time, point) table of precomputed indices, one column per point."""
    n = np.asarray(ndvi, np.float32)
    times = pd.date_range(start, periods=n.shape[0], freq=f"{step}D")
    dims = ("time", "point")
    return xr.Dataset({"ndvi": (dims, n), "evi": (dims, np.asarray(evi, np.float32)),
                       "lswi": (dims, np.asarray(lswi, np.float32))}, coords={"time": times})


def test_optical_rule_semantics_on_a_table():
    # dates every 10 d from 1 May (doy 121); point 0 paddy (flooded at t=2, cloud at t=3),
    # point 1 permanent water, point 2 dryland crop (never flooded), point 3 all NaN.
    nan = np.nan
    ndvi = np.array([[.15, -.3, .2, nan], [.15, -.3, .2, nan], [.0, -.3, .25, nan], [nan, -.3, .3, nan],
                     [.2, -.3, .45, nan], [.45, -.3, .6, nan], [.7, -.3, .75, nan], [.8, -.3, .8, nan],
                     [.8, -.3, .7, nan], [.5, -.3, .4, nan]])
    evi = np.array([[.1, -.07, .12, nan], [.1, -.07, .12, nan], [.02, -.07, .15, nan], [nan, -.07, .2, nan],
                    [.1, -.07, .3, nan], [.3, -.07, .4, nan], [.5, -.07, .55, nan], [.6, -.07, .6, nan],
                    [.6, -.07, .5, nan], [.3, -.07, .3, nan]])
    lswi = np.array([[-.1, .4, -.1, nan], [-.1, .4, -.1, nan], [.3, .4, -.05, nan], [nan, .4, 0, nan],
                     [.3, .4, .1, nan], [.3, .4, .2, nan], [.3, .4, .25, nan], [.3, .4, .25, nan],
                     [.2, .4, .2, nan], [-.1, .4, 0, nan]])
    out = optical_rice_rule(_table(ndvi, evi, lswi))
    assert out.rice_class.values.tolist() == [1, 0, 0, 255]
    assert out.n_seasons.values.tolist() == [1, 0, 0, 255]
    assert out.transplant_doy.values[:, 0].tolist() == [141, 0, 0]  # 1 May + 20 d
    assert out.n_valid_obs.values.tolist() == [9, 10, 10, 0]
    assert out.qa_flags.values[1] & 8 and not out.qa_flags.values[0] & 8  # permanent-water bit
    score = out.rice_score.values
    assert score[0] > 0.5 > score[2] and score[1] < 0.5 and np.isnan(score[3])
    # the cloud at t=3 does not reset the flood state, so t=4 (flooded again) is no new onset,
    # and a flooded first observation is an onset unless the strict rule is asked for
    # (undated evidence off: the flag is about dated onsets; with it on, the paddy is still rice
    # from its flooded and green dates, but its season has no date)
    strict = optical_rice_rule(_table(ndvi[2:], evi[2:], lswi[2:]),
                               OpticalRiceParams(onset_at_series_start=False, undated_seasons=False))
    assert strict.rice_class.values[0] == 0
    undated = optical_rice_rule(_table(ndvi[2:], evi[2:], lswi[2:]), OpticalRiceParams(onset_at_series_start=False))
    assert undated.rice_class.values[0] == 1 and undated.transplant_doy.values[0, 0] == 0
    lenient = optical_rice_rule(_table(ndvi[2:], evi[2:], lswi[2:]))
    assert lenient.rice_class.values[0] == 1
    # T is a parameter: with T = -0.35 the paddy's flooding no longer shows (LSWI - 0.35 < NDVI, EVI)
    assert optical_rice_rule(_table(ndvi, evi, lswi), OpticalRiceParams(flood_t=-0.35)).rice_class.values[0] == 0


def _vh_table(db_columns, start="2023-05-01", step=10):
    db = np.asarray(db_columns, np.float32)
    times = pd.date_range(start, periods=db.shape[0], freq=f"{step}D")
    return xr.DataArray((10.0 ** (db / 10.0)).astype(np.float32), dims=("time", "point"),
                        coords={"time": times}, name="vh")


def test_sar_rule_semantics_on_a_table():
    base = np.full(20, -16.0)
    rice = base.copy()
    rice[3:6] = [-22.0, -21.0, -19.0]
    rice[6:12] = [-17.0, -15.0, -14.0, -13.5, -14.0, -16.0]  # max at t=9: 60 d after the minimum at t=3
    small_rise = rice.copy()
    small_rise[6:] = -20.0  # harvested: the canopy ends (a plateau for months would be lotus or sedge)
    small_rise[6:12] = [-19.0, -18.0, -17.5, -17.2, -17.5, -18.0]  # max -17.2 < -16.5 and rise 4.8 dB
    early_peak = base.copy()
    early_peak[3:6] = [-22.0, -13.0, -14.0]  # rises within 20 d, then nothing in [t+30, t+110] reaches -16.5
    early_peak[6:] = -17.0
    water = np.full(20, -22.0)
    forest = np.full(20, -12.0)
    two = base.copy()  # two seasons: minima at t=1 and t=11 (100 d apart), each flood seen on two passes
    two[1:8] = [-21.0, -19.5, -18.0, -16.5, -15.0, -14.0, -14.5]  # a gradual rise (a jump back to
    two[8:11] = -17.0                                             # the base at the next pass is a
    two[11:18] = [-21.5, -19.5, -18.0, -16.5, -15.0, -14.0, -14.5]  # flood on a standing crop)
    out = sar_rice_rule(_vh_table(np.stack([rice, small_rise, early_peak, water, forest, two], axis=1)))
    assert out.rice_class.values.tolist() == [1, 0, 0, 0, 0, 1]
    assert out.transplant_doy.values[:, 0].tolist() == [151, 0, 0]  # 1 May + 30 d
    assert out.n_seasons.values[5] == 2 and out.transplant_doy.values[:, 5].tolist() == [131, 231, 0]
    assert out.qa_flags.values[3] & 8 and out.qa_flags.values[4] & 64 and out.qa_flags.values[0] & 4
    assert out.rice_score.values[0] > 0.5 and (out.rice_score.values[1:5] < 0.5).all()
    # thresholds are parameters: a 4.5 dB rise requirement and a -17.5 dB heading accept small_rise
    relaxed = sar_rice_rule(_vh_table(small_rise[:, None]), SarRiceParams(rise_db=4.5, vh_max_db=-17.5))
    assert relaxed.rice_class.values[0] == 1


def test_sar_linear_smoothing_not_db():
    """The temporal mean is taken in linear power: the mean of -10 and -20 dB is -12.6 dB."""
    col = np.array([-10.0, -20.0, -10.0, -20.0, -10.0, -20.0], np.float32)
    from agromap.rice.sar_series import smooth_linear as _smooth
    from agromap.rice.sar_series import to_db as _to_db

    lin = (10 ** (col / 10)).astype(np.float32)[None, :]
    days = np.arange(0, 60, 10, dtype=np.int32)
    sm = _to_db(_smooth(lin, days, 5.0))  # two neighbours 10 d apart -> pairs within +-5 d: itself only
    np.testing.assert_allclose(sm[0], col, atol=1e-4)
    sm = _to_db(_smooth(lin, days, 10.0))  # +-10 d: (-10, -20) at the ends
    assert abs(float(sm[0, 0]) - (-12.596)) < 0.01 and sm.dtype == np.float32


# ---- data contract ----------------------------------------------------------------------------

def _small_spec(**kw):
    return SceneSpec(**{"shape": (40, 40), "chunk": 16, "seed": 3, "field_size": 8, **kw})


@pytest.mark.parametrize("method", ["optical", "sar"])
def test_lazy_dtypes_and_numpy_dask_identical(method):
    spec = _small_spec(n_seasons=2, dates=DAYS6[::2], cloud_fraction=0.2)
    stack = make_s2_stack(spec) if method == "optical" else make_s1_stack(spec)
    rule = optical_rice_rule if method == "optical" else sar_rice_rule
    with raise_if_dask_computes():
        lazy = rule(stack)
        assert {k: v.dtype.name for k, v in lazy.data_vars.items()} == OUTPUTS
        assert all(isinstance(v.data, da.Array) for v in lazy.data_vars.values())
        assert lazy.rice_class.chunks == ((16, 16, 8), (16, 16, 8))
        assert lazy.transplant_doy.dims == ("season", "y", "x")
    computed = lazy.compute()
    eager = rule(stack.compute())
    assert not any(isinstance(v.data, da.Array) for v in eager.data_vars.values())
    for v in OUTPUTS:
        np.testing.assert_array_equal(computed[v].values, eager[v].values)
        assert computed[v].dtype.name == OUTPUTS[v]
    assert computed.odc.geobox == stack.odc.geobox  # grid kept
    assert not any(v.dtype == np.float64 for v in computed.data_vars.values())


@pytest.mark.parametrize("method", ["optical", "sar"])
def test_kernel_never_runs_while_building(method, monkeypatch):
    """dtypes come from output_dtypes: dask must not call the kernel on fake input."""
    import agromap.rice.rules_optical as ro
    import agromap.rice.rules_sar as rs

    # float32 bands go to the band kernel, which computes the indices itself; other inputs to the
    # index kernel: spy on both so neither path can run at build time
    module, names = (
        (ro, ("_optical_kernel", "_optical_band_kernel")) if method == "optical" else (rs, ("_sar_kernel",))
    )
    calls = []

    def spy_on(real):
        def spy(*args, **kwargs):
            calls.append(args[0].shape)
            return real(*args, **kwargs)

        return spy

    for name in names:
        monkeypatch.setattr(module, name, spy_on(getattr(module, name)))
    spec = _small_spec()
    stack = make_s2_stack(spec) if method == "optical" else make_s1_stack(spec)
    out = (ro.optical_rice_rule if method == "optical" else rs.sar_rice_rule)(stack)
    assert calls == []
    out.rice_class.compute()
    assert len(calls) == 9 and all(s[-1] == len(spec.dates) for s in calls)  # 3 x 3 spatial chunks


def test_optical_valid_mask_and_time_checks():
    s2 = make_s2_stack(_small_spec(cloud_fraction=0.0)).compute()
    none = xr.zeros_like(s2.nir, dtype=bool)
    out = optical_rice_rule(s2, valid=none)
    assert (out.rice_class == 255).all() and (out.n_valid_obs == 0).all()
    some = none.copy(data=np.broadcast_to(np.arange(s2.sizes["time"])[:, None, None] % 2 == 0, none.shape))
    assert int(optical_rice_rule(s2, valid=some).n_valid_obs.max()) == (s2.sizes["time"] + 1) // 2
    with pytest.raises(InputError, match="not dates"):
        optical_rice_rule(s2.assign_coords(time=np.arange(s2.sizes["time"])))


@pytest.mark.parametrize("method", ["optical", "sar"])
def test_point_table_matches_raster(method):
    spec = _small_spec(cloud_fraction=0.2)
    stack = (make_s2_stack(spec) if method == "optical" else make_s1_stack(spec)).compute()
    rule = optical_rice_rule if method == "optical" else sar_rice_rule
    # The mixed-edge reading needs a pixel's neighbours, which a point table does not have.
    raster = rule(stack) if method == "optical" else sar_rice_rule(stack, SarRiceParams(mixed_min_fraction=None))
    rng = np.random.default_rng(1)
    iy, ix = rng.integers(0, 40, 60), rng.integers(0, 40, 60)
    points = stack.isel(y=xr.DataArray(iy, dims="point"), x=xr.DataArray(ix, dims="point"))
    table = rule(points)
    assert table.rice_class.dims == ("point",) and table.transplant_doy.dims == ("season", "point")
    for v in OUTPUTS:
        np.testing.assert_array_equal(table[v].values, raster[v].values[..., iy, ix])


def test_all_nan_pixel_is_nodata():
    spec = _small_spec(mask_clouds=True, cloud_fraction=0.1)
    s2 = make_s2_stack(spec).compute()
    s2 = s2.where(~((s2.y == s2.y[5]) & (s2.x == s2.x[7])))  # pixel (5, 7) NaN on every date
    for v in s2.data_vars:
        s2[v] = s2[v].fillna(0).astype(np.uint8) if v == "scl" else s2[v].astype(np.float32)
    out = optical_rice_rule(s2)
    assert out.rice_class.values[5, 7] == 255 and out.n_seasons.values[5, 7] == 255
    assert np.isnan(out.rice_score.values[5, 7]) and out.n_valid_obs.values[5, 7] == 0
    assert (out.transplant_doy.values[:, 5, 7] == 0).all() and out.qa_flags.values[5, 7] == 0
    assert (out.rice_class.values != 255).sum() == 40 * 40 - 1
    s1 = make_s1_stack(spec).compute()
    vh = s1.vh.where(~((s1.y == s1.y[5]) & (s1.x == s1.x[7]))).astype(np.float32)
    sar = sar_rice_rule(vh)
    assert sar.rice_class.values[5, 7] == 255 and np.isnan(sar.rice_score.values[5, 7])


@pytest.mark.parametrize("method", ["optical", "sar"])
def test_score_agrees_with_class(method):
    spec = _small_spec(n_seasons=2, dates=DAYS6[::2])
    stack = make_s2_stack(spec) if method == "optical" else boxcar_speckle_filter(make_s1_stack(spec).vh, 3)
    out = (optical_rice_rule if method == "optical" else sar_rice_rule)(stack).compute()
    s, c = out.rice_score.values, out.rice_class.values
    assert ((s >= 0) & (s <= 1)).all()
    assert (c[s > 0.5] == 1).all() and (c[s < 0.5] == 0).all()
    assert (c == 1).any() and (c == 0).any()


def test_time_axis_and_windows_across_the_new_year():
    days, doy = time_axis(np.array(["2023-12-30", "2024-01-02", "2024-12-31"], dtype="datetime64[ns]"))
    assert days.tolist() == [364, 367, 731] and doy.tolist() == [364, 2, 366] and days.dtype == np.int32
    rabi = SeasonWindow(319, 59, "rabi")
    assert window_index(np.array([318, 319, 365, 1, 59, 60]), [rabi]).tolist() == [-1, 0, 0, 0, 0, -1]
    assert doy_difference([2, 360], [360, 2]).tolist() == [7, -7]
    with pytest.raises(ConfigError, match="outside 1-366"):
        SeasonWindow(0, 10)
    with pytest.raises(ConfigError, match="unknown crop calendar"):
        optical_rice_rule(make_s2_stack(_small_spec()), windows="atlantis")


def test_input_errors():
    s2 = make_s2_stack(_small_spec())
    with pytest.raises(MissingBandError, match="swir16"):
        optical_rice_rule(s2.drop_vars("swir16"))
    with pytest.raises(InputError, match="'time' dimension"):
        optical_rice_rule(s2.isel(time=0))
    with pytest.raises(InputError, match="duplicated dates"):
        optical_rice_rule(xr.concat([s2.isel(time=[0]), s2], dim="time"))
    vh = make_s1_stack(_small_spec()).vh
    with pytest.raises(InputError, match="linear power"):  # linear values declared dB: refused at compute
        sar_rice_rule(vh.assign_attrs(units="dB")).compute()
    with pytest.raises(MissingBandError, match="vh"):
        sar_rice_rule(xr.Dataset({"vv": vh}))
    with pytest.raises(ConfigError, match="growth_rule"):
        OpticalRiceParams(growth_rule="maybe")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="min_rise_days"):
        SarRiceParams(min_rise_days=120)


def test_layer_specs():
    assert {"rice_class", "transplant_doy", "rice_score", "n_seasons", "n_valid_obs"} <= set(LAYER_SPECS)
    rc = LAYER_SPECS["rice_class"]
    assert (rc.kind, rc.dtype, rc.nodata, rc.overview_resampling) == ("class", "uint8", 255, "mode")
    assert rc.colormap() == {0: (200, 200, 200, 255), 1: (0, 166, 0, 255)}
    td = LAYER_SPECS["transplant_doy"]
    assert (td.dtype, td.nodata, td.overview_resampling) == ("uint16", 0, "nearest")
    score = xr.DataArray(np.array([0.0, 0.5, 0.987, np.nan], np.float32))
    assert encode(score, LAYER_SPECS["rice_score"]).values.tolist() == [0, 50, 99, 255]
    out = split_seasons(optical_rice_rule(make_s2_stack(_small_spec())))
    assert {"transplant_doy_1", "transplant_doy_2", "transplant_doy_3"} <= set(out.data_vars)
    assert out.transplant_doy_1.dims == ("y", "x") and out.transplant_doy_1.dtype == np.uint16


# ---- tuning and point tables ------------------------------------------------------------------

@pytest.fixture(scope="module")
def labelled_points():
    spec = SceneSpec(**BASE, cloud_fraction=0.2)
    s2 = make_s2_stack(spec).compute()
    lc = make_truth(spec).landcover.values
    rng = np.random.default_rng(11)
    iy, ix = rng.integers(0, 96, 400), rng.integers(0, 96, 400)
    pts = s2.isel(y=xr.DataArray(iy, dims="point"), x=xr.DataArray(ix, dims="point"))
    pts = pts.drop_vars(["y", "x", "spatial_ref"]).assign_coords(point=[f"p{i:03d}" for i in range(400)])
    return pts.assign(label=("point", (lc[iy, ix] == 1).astype(np.int8)))


def test_tune_thresholds_picks_a_sensible_t(labelled_points):
    grid = {"flood_t": [0.5, 0.3, 0.10, 0.05, 0.0, -0.3]}
    best, table = tune_thresholds(labelled_points, labelled_points["label"], grid)
    print("\n[tune_thresholds flood_t]\n" + table[["flood_t", "precision", "recall", "f1", "rank"]].to_string())
    assert best.flood_t in (0.0, 0.05, 0.10)
    top = table.loc[table["rank"] == 1].iloc[0]
    assert top["flood_t"] == best.flood_t and top["f1"] >= 0.9
    assert table.loc[table.flood_t == 0.5, "f1"].iloc[0] < top["f1"] - 0.1  # a loose T floods everything
    best2, table2 = tune_thresholds(labelled_points, labelled_points["label"], grid)
    assert best2 == best and table2.equals(table)  # deterministic
    reversed_labels = labelled_points["label"].isel(point=slice(None, None, -1))  # aligned by coordinate
    assert tune_thresholds(labelled_points, reversed_labels, grid)[1].equals(table)
    assert dataclasses.replace(OpticalRiceParams(), flood_t=best.flood_t) == best
    with pytest.raises(ConfigError, match="not OpticalRiceParams fields"):
        tune_thresholds(labelled_points, labelled_points["label"], {"T": [0.05]})
    with pytest.raises(ConfigError, match="labels have shape"):
        tune_thresholds(labelled_points, np.zeros(3), {"flood_t": [0.05]})


def test_classify_points_csv_and_netcdf_round_trip(labelled_points, tmp_path):
    pts = labelled_points.isel(point=slice(0, 80))
    df = pts[["nir", "red", "blue", "swir16", "scl"]].to_dataframe().reset_index()
    df = df.rename(columns={"point": "point_id"}).merge(
        pd.DataFrame({"point_id": pts.point.values, "label": pts.label.values}), on="point_id")
    df["time"] = df["time"].dt.strftime("%Y-%m-%d")
    df.sample(frac=1.0, random_state=0).to_csv(tmp_path / "points.csv", index=False)  # row order must not matter
    expected = split_seasons(optical_rice_rule(pts.drop_vars("label")))

    table = classify_points(tmp_path / "points.csv", tmp_path / "labels.csv")
    back = pd.read_csv(tmp_path / "labels.csv").set_index("point_id").loc[pts.point.values]
    assert list(back.columns[:5]) == ["rice_class", "n_seasons", "transplant_doy_1", "transplant_doy_2",
                                      "transplant_doy_3"]
    np.testing.assert_array_equal(back["rice_class"].to_numpy(), expected.rice_class.values)
    np.testing.assert_array_equal(back["transplant_doy_1"].to_numpy(), expected.transplant_doy_1.values)
    np.testing.assert_allclose(back["rice_score"].to_numpy(), expected.rice_score.values, atol=1e-4)
    np.testing.assert_array_equal(back["label"].to_numpy(), pts.label.values)
    assert len(table) == 80 and not list(tmp_path.glob("*.partial-*"))

    pts.drop_vars("label").to_netcdf(tmp_path / "points.nc")
    nc = classify_points(tmp_path / "points.nc", tmp_path / "labels_nc.csv").set_index("point_id")
    np.testing.assert_array_equal(nc.loc[pts.point.values, "rice_class"].to_numpy(), expected.rice_class.values)


def test_classify_points_sar_from_db_column(tmp_path):
    spec = _small_spec(s1_dates=DAYS12_KHARIF)
    vh = boxcar_speckle_filter(make_s1_stack(spec).vh, 3).compute()
    pts = vh.isel(y=xr.DataArray([3, 10, 20, 30], dims="point"), x=xr.DataArray([4, 12, 25, 33], dims="point"))
    db = (10 * np.log10(pts)).drop_vars(["y", "x", "spatial_ref"]).rename("vh_db")
    df = db.to_dataframe().reset_index().rename(columns={"point": "point_id"})
    df.to_csv(tmp_path / "s1.csv", index=False)
    got = classify_points(tmp_path / "s1.csv", tmp_path / "s1_labels.csv", method="sar")
    want = sar_rice_rule(pts)
    np.testing.assert_array_equal(got["rice_class"].to_numpy(), want.rice_class.values)
    np.testing.assert_array_equal(got["transplant_doy_1"].to_numpy(), want.transplant_doy.values[0])


def test_bad_point_tables(tmp_path):
    good = pd.DataFrame({"point_id": ["a", "a", "b", "b"], "time": ["2023-06-01", "2023-06-11"] * 2,
                         "nir": 0.3, "red": 0.1, "blue": 0.05, "swir16": 0.2})
    cases = {
        "no_id.csv": (good.drop(columns="point_id"), InputError, "point_id"),
        "no_band.csv": (good.drop(columns="swir16"), MissingBandError, "swir16"),
        "dup.csv": (pd.concat([good, good.iloc[[0]]]), InputError, "duplicated"),
        "bad_time.csv": (good.assign(time=["2023-06-01", "soon", "2023-06-01", "2023-06-11"]), InputError, "not dates"),
    }
    for name, (frame, err, match) in cases.items():
        frame.to_csv(tmp_path / name, index=False)
        with pytest.raises(err, match=match):
            classify_points(tmp_path / name, tmp_path / "out.csv")
    good.to_csv(tmp_path / "good.csv", index=False)
    with pytest.raises(MissingBandError, match="vh"):
        classify_points(tmp_path / "good.csv", tmp_path / "out.csv", method="sar")
    with pytest.raises(ConfigError, match="method"):
        classify_points(tmp_path / "good.csv", tmp_path / "out.csv", method="radar")
    (tmp_path / "points.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unknown point-table type"):
        read_point_table(tmp_path / "points.xlsx")
    with pytest.raises(InputError, match="does not exist"):
        read_point_table(tmp_path / "absent.csv")
    xr.Dataset({"nir": (("time", "site"), np.zeros((2, 2), np.float32))},
               coords={"time": pd.date_range("2023-06-01", periods=2)}).to_netcdf(tmp_path / "bad.nc")
    with pytest.raises(InputError, match=r"dims \(time, point\)"):
        read_point_table(tmp_path / "bad.nc")
    assert not (tmp_path / "out.csv").exists()
