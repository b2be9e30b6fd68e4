"""Regional crop calendars by name, and the rice API's contracts: tuning, folds, reference column."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from agromap.errors import ConfigError, FoldError, FoldReductionWarning
from agromap.rice import calendars as C
from agromap.rice import model as M
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.rice.rules_sar import SarRiceParams
from agromap.rice.seasons import SeasonWindow, resolve_windows
from agromap.rice.tuning import tune_thresholds
from agromap.testing import SceneSpec, make_s2_stack, make_truth

REQUIRED = ("mekong_delta", "red_river_delta", "central_thailand", "philippines", "java", "bangladesh_aus_aman_boro",
            "india_punjab", "india_west_bengal", "india_tamil_nadu", "japan")  # fmt: skip


# ---- calendars ---------------------------------------------------------------------------------


def test_shipped_table_is_valid_and_covers_the_regions():
    rows = C.calendar_table()
    names = C.calendar_names()
    assert set(REQUIRED) <= set(names) and {"india", "bangladesh"} <= set(names)
    assert all(r.sources and set(r.sources) <= set(C.SOURCES) for r in rows)
    mekong = C.calendar_windows("mekong_delta")
    assert [w.name for w in mekong] == ["winter_spring", "summer_autumn", "autumn_winter"]
    assert mekong[0].start_doy == 305 and mekong[0].end_doy == 31  # 1 Nov - 31 Jan wraps the new year
    assert [w.name for w in C.calendar_windows("bangladesh_aus_aman_boro")] == ["boro", "aus", "aman"]
    assert len(C.calendar_windows("india_tamil_nadu")) == 3 and len(C.calendar_windows("japan")) == 1
    # Every India state calendar has kharif, in June-September.
    for name in (n for n in names if n.startswith("india_")):
        kharif = [w for w in C.calendar_windows(name) if "kharif" in w.name or w.name in ("kuruvai", "samba")]
        assert kharif and all(152 <= w.start_doy <= 244 for w in kharif), name
    assert C.calendar_windows("india") == resolve_windows("india")  # the rules' built-ins stay as they are


def test_a_calendar_name_works_wherever_the_rules_take_windows():
    assert resolve_windows("red_river_delta") == C.calendar_windows("red_river_delta")
    spec = SceneSpec(shape=(32, 32), chunk=32, seed=1)
    ds = make_s2_stack(spec).compute()
    by_name = optical_rice_rule(ds, windows="india_uttar_pradesh")
    by_windows = optical_rice_rule(ds, windows=C.calendar_windows("india_uttar_pradesh"))
    xr.testing.assert_identical(by_name, by_windows)
    assert by_name.sizes["season"] == 1 and "kharif" in by_name.attrs["season_windows"]
    with pytest.raises(ConfigError, match="unknown crop calendar 'atlantis'.*mekong_delta"):
        optical_rice_rule(ds, windows="atlantis")


def test_table_validation_refuses_bad_rows():
    head = "calendar,country,region,season,start,end,establishment,source\n"
    ok = "x,C,R,wet,06-01,07-31,transplanted,riceatlas\n"
    assert C.load_table(head + ok)[0].window == SeasonWindow(152, 212, "wet")
    bad = {
        "x,C,R,wet,06-01,07-31,transplanted,riceatlas\nx,C,R,dry,07-15,08-31,transplanted,riceatlas\n": "overlapping",
        "x,C,R,wet,13-01,07-31,transplanted,riceatlas\n": "MM-DD",
        "x,C,R,wet,06-01,07-31,transplanted,blog\n": "sources",
        "x,C,R,wet,06-01,07-31,transplanted,riceatlas\nx,C,R,wet,01-01,01-31,transplanted,riceatlas\n": "twice",
        "India,C,R,wet,06-01,07-31,transplanted,riceatlas\n": "lower-case",
        "india,C,R,wet,06-01,07-31,transplanted,riceatlas\n": "built-in",
    }
    for body, msg in bad.items():
        with pytest.raises(ConfigError, match=msg):
            C.load_table(head + body)
    with pytest.raises(ConfigError, match="columns"):
        C.load_table("calendar,season\nx,wet\n")


# ---- tune_thresholds takes the rule from its parameters ---------------------------------------


@pytest.fixture(scope="module")
def points():
    spec = SceneSpec(shape=(24, 24), chunk=24, seed=2)
    ds = make_s2_stack(spec).compute()
    labels = (make_truth(spec).landcover == 1).astype(np.int8)
    return ds, labels


def test_tune_thresholds_infers_the_rule(points):
    ds, labels = points
    best, table = tune_thresholds(ds, labels, {"flood_t": [0.0, 0.05]})  # optical-only field
    assert isinstance(best, OpticalRiceParams) and len(table) == 2
    best, _ = tune_thresholds(ds, labels, {"min_season_days": [60, 80]}, base_params=OpticalRiceParams())
    assert isinstance(best, OpticalRiceParams)
    with pytest.raises(ConfigError, match="both rules"):  # a field both rules have: ambiguous without params
        tune_thresholds(ds, labels, {"min_season_days": [60, 80]})
    with pytest.raises(ConfigError, match="takes the rule from base_params"):
        tune_thresholds(ds, labels, {"flood_t": [0.0]}, method="sar")
    with pytest.raises(ConfigError, match="not SarRiceParams fields"):  # the params decide, the grid must fit
        tune_thresholds(ds, labels, {"flood_t": [0.0]}, base_params=SarRiceParams())
    with pytest.raises(ConfigError, match="OpticalRiceParams or SarRiceParams"):
        tune_thresholds(ds, labels, {"flood_t": [0.0]}, base_params={"flood_t": 0.0})


# ---- cross-validation folds ------------------------------------------------------------------


def _samples(groups: list[str], classes: list[int]) -> xr.Dataset:
    rng = np.random.default_rng(0)
    n = len(groups)
    feats = rng.normal(size=(n, 3)).astype(np.float32) + np.asarray(classes)[:, None] * 2
    return xr.Dataset(
        {"features": (("sample", "feature"), feats), "label_class": ("sample", np.asarray(classes, np.int64)),
         "block_id": ("sample", groups), "label_id": ("sample", [f"l{i}" for i in range(n)])},
        coords={"feature": ["a", "b", "c"]},
    )  # fmt: skip


def test_fewer_folds_than_requested_warn_and_are_recorded():
    groups = [f"b{i % 3}" for i in range(60)]
    classes = [i % 2 for i in range(60)]
    spec = M.TrainParams(n_estimators=10, n_splits=5)
    with pytest.warns(FoldReductionWarning, match="uses 3 spatially blocked folds, not the 5 requested"):
        report = M.cross_validate(_samples(groups, classes), spec)
    assert report.n_splits == 3 and report.n_splits_requested == 5 and "3 block group" in report.fold_reduction
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough groups: no warning at all
        full = M.cross_validate(_samples([f"b{i % 6}" for i in range(60)], classes), M.TrainParams(n_estimators=10,
                                                                                                  n_splits=3))
    assert full.n_splits == 3 and full.fold_reduction == ""


def test_one_site_per_class_explains_why_leave_one_site_out_is_impossible():
    groups = ["siteA"] * 20 + ["siteB"] * 20
    classes = [1] * 20 + [0] * 20
    with pytest.raises(FoldError) as err:
        M.cross_validate(_samples(groups, classes), M.TrainParams(n_estimators=10, group_by="block"))
    msg = str(err.value)
    assert "single spatial block" in msg and "siteA" in msg and "trains without the class" in msg
    assert "at least 2" in msg and err.value.exit_code == 3
