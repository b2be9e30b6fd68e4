"""The optical rule's fast time loops give the plain column loops' results bit for bit.

The ``_plain_*`` functions below are the rule's loops as first written (one column per date,
``numpy.nanmedian`` for the median gap); :mod:`agromap.rice.optical_kernel` must match them
exactly on cloudy, gappy and degenerate series, alone and inside the whole rule.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from agromap.rice import optical_kernel as ok_mod
from agromap.rice import rules_optical
from agromap.rice.rules_optical import OpticalRiceParams, optical_rice_rule
from agromap.testing import SceneSpec, make_s2_stack

_F32 = np.float32


# ---- the plain loops (reference) -------------------------------------------------------------

def _plain_water_spell_days(wet, ok, days, max_link=45.0):
    n_pix, n_t = wet.shape
    start = np.full(n_pix, -1.0, dtype=_F32)
    prev = np.full(n_pix, -1e9, dtype=_F32)
    best = np.zeros(n_pix, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        w, o = wet[:, t], ok[:, t]
        linked = w & (start >= 0) & (d - prev <= _F32(max_link))
        start = np.where(o & ~w, _F32(-1.0), np.where(w & ~linked, d, start))
        prev = np.where(w, d, prev)
        best = np.maximum(best, np.where(w, d - start, _F32(0.0)))
    return best


def _plain_clear_gap(ok, days):
    d = np.where(ok, days[None, :].astype(_F32), _F32(np.nan))
    gaps = np.full(ok.shape, np.nan, dtype=_F32)
    last = np.full(ok.shape[0], np.nan, dtype=_F32)
    for t in range(ok.shape[1]):
        gaps[:, t] = d[:, t] - last
        last = np.where(ok[:, t], d[:, t], last)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(gaps, axis=1)
    return np.where(np.isnan(med), _F32(365.0), med).astype(_F32)


def _plain_flood_onsets(flood, ok, in_win, at_series_start):
    n_pix, n_t = flood.shape
    state = np.full(n_pix, 0 if at_series_start else -1, dtype=np.int8)
    onset = np.zeros((n_pix, n_t), dtype=bool)
    for t in range(n_t):
        onset[:, t] = flood[:, t] & (state == 0)
        state = np.where(ok[:, t], flood[:, t].astype(np.int8), state)
    onset &= in_win[None, :]
    return onset


def _plain_undated_canopy(ok, nd, wet, days, *, gap_days, max_cycle_days):
    n_pix, n_t = ok.shape
    last_wet = np.full(n_pix, -np.inf, dtype=_F32)
    last_ok = np.full(n_pix, -np.inf, dtype=_F32)
    between = np.zeros(n_pix, dtype=np.int32)
    widest = np.zeros(n_pix, dtype=_F32)
    canopy = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        o = ok[:, t]
        widest = np.where(o, np.maximum(widest, d - last_ok), widest)
        hidden = (widest > _F32(gap_days)) | (between < 2)
        canopy = np.where(o & (d - last_wet <= _F32(max_cycle_days)) & hidden, np.maximum(canopy, nd[:, t]), canopy)
        wet_now = wet[:, t] >= 0
        between = np.where(wet_now, 0, between + o).astype(np.int32)
        widest = np.where(wet_now, _F32(0.0), widest)
        last_wet = np.where(wet_now, d, last_wet)
        last_ok = np.where(o, d, last_ok)
    return canopy


def _plain_canopy_after_gap(ok, canopy, wet, days, *, gap_days, scale_days):
    n_pix, n_t = ok.shape
    last = np.full(n_pix, -np.inf, dtype=_F32)
    best = np.full(n_pix, -np.inf, dtype=_F32)
    for t in range(n_t):
        d = _F32(days[t])
        m = np.minimum(canopy[:, t], (d - last - _F32(gap_days)) / scale_days)
        best = np.where(ok[:, t], np.fmax(best, m), best)
        last = np.where(ok[:, t] & ~wet[:, t], d, last)
    return best


# ---- random cloudy series ---------------------------------------------------------------------

def _series(seed: int, n_pix: int = 3000, n_t: int = 23, clear: float = 0.6):
    """Irregular dates (gaps up to 120 d), clouds, all-cloud and single-clear-date pixels."""
    rng = np.random.default_rng(seed)
    days = np.cumsum(rng.choice([5, 10, 12, 16, 45, 120], size=n_t, p=[.3, .3, .15, .15, .05, .05])).astype(np.int32)
    ok = rng.random((n_pix, n_t)) < clear
    ok[:50] = False  # never clear
    ok[50:100] = False
    ok[50:100, rng.integers(0, n_t, 50)] = True  # one clear date (at most)
    ok[100:150] = True
    nd = np.where(ok, rng.uniform(-0.3, 0.95, (n_pix, n_t)), np.nan).astype(_F32)
    wet = np.where(ok, rng.uniform(-0.2, 0.2, (n_pix, n_t)), -np.inf).astype(_F32)
    return days, ok, nd, wet, rng


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)  # NaN == NaN here, and -0.0 == 0.0 is checked below
    assert np.array_equal(np.signbit(a), np.signbit(b))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_time_loops_match_the_plain_loops(seed):
    days, ok, nd, wet, rng = _series(seed)
    for link in (20.0, 45.0, 60.0):
        _same(ok_mod.water_spell_days(wet >= 0, ok, days, max_link=link),
              _plain_water_spell_days(wet >= 0, ok, days, max_link=link))
    _same(ok_mod.clear_gap(ok, days), _plain_clear_gap(ok, days))
    flood = ok & (rng.random(ok.shape) < 0.3)
    in_win = rng.random(days.size) < 0.7
    for start in (True, False):
        fast = ok_mod.flood_onsets(flood, ok, in_win, start)
        assert fast.dtype == bool
        np.testing.assert_array_equal(fast, _plain_flood_onsets(flood, ok, in_win, start))
    for gap, cycle in ((45.0, 180.0), (10.0, 60.0)):
        _same(ok_mod.undated_canopy(ok, nd, wet, days, gap_days=gap, max_cycle_days=cycle),
              _plain_undated_canopy(ok, nd, wet, days, gap_days=gap, max_cycle_days=cycle))
    scale = rng.uniform(5.0, 60.0, ok.shape[0]).astype(_F32)
    for gap in (0.0, 45.0, 100.0):
        wet_dates = ok & (wet >= 0)
        _same(ok_mod.canopy_after_gap(ok, nd / _F32(0.05), wet_dates, days, gap_days=gap, scale_days=scale),
              _plain_canopy_after_gap(ok, nd / _F32(0.05), wet_dates, days, gap_days=gap, scale_days=scale))


def test_median_gap_of_even_and_odd_counts_and_edge_series():
    days = np.array([1, 11, 31, 61, 62], np.int32)
    ok = np.array([[1, 1, 1, 1, 1],   # gaps 10, 20, 30, 1 -> (10 + 20) / 2
                   [1, 1, 1, 0, 0],   # 10, 20 -> 15
                   [1, 0, 1, 1, 0],   # 30, 30 -> 30
                   [0, 0, 1, 0, 0],   # one clear date: no gap -> 365
                   [0, 0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(ok_mod.clear_gap(ok, days), np.array([15, 15, 30, 365, 365], _F32))
    _same(ok_mod.clear_gap(ok, days), _plain_clear_gap(ok, days))
    none = np.zeros((3, 0), bool)
    assert ok_mod.clear_gap(none, np.zeros(0, np.int32)).tolist() == [365.0] * 3
    assert ok_mod.water_spell_days(none, none, np.zeros(0, np.int32)).tolist() == [0.0] * 3


def _with_plain_loops(monkeypatch):
    monkeypatch.setattr(rules_optical, "_water_spell_days", _plain_water_spell_days)
    monkeypatch.setattr(rules_optical, "_clear_gap", _plain_clear_gap)
    monkeypatch.setattr(rules_optical, "flood_onsets", _plain_flood_onsets)
    monkeypatch.setattr(rules_optical, "undated_canopy", _plain_undated_canopy)
    monkeypatch.setattr(rules_optical, "canopy_after_gap", _plain_canopy_after_gap)


@pytest.mark.parametrize("case", ["cloudy_scl", "nan_gaps_windows", "literal_params"])
def test_whole_rule_is_bit_identical_to_the_plain_loops(case, monkeypatch):
    spec = SceneSpec(shape=(64, 64), seed=3, n_seasons=2, cloud_fraction=0.35, chunk=32,
                     mask_clouds=case == "nan_gaps_windows")
    ds = make_s2_stack(spec).compute()
    kwargs: dict = {}
    if case == "nan_gaps_windows":  # random lost pixel-dates and two whole lost dates
        rng = np.random.default_rng(5)
        lost = rng.random((ds.sizes["time"], 64, 64)) < 0.25
        lost[[3, 4]] = True
        ds = ds.assign({b: ds[b].where(~xr.DataArray(lost, dims=("time", "y", "x"))) for b in ("red", "nir", "blue",
                                                                                             "swir16", "green")})
        kwargs["windows"] = "india"
    if case == "literal_params":
        kwargs["params"] = OpticalRiceParams(onset_at_series_start=False, mask_outside_cycles=False,
                                             growth_rule="both", max_green_days=90.0, green_link_days=30.0)
    fast = optical_rice_rule(ds, **kwargs).compute()
    _with_plain_loops(monkeypatch)
    plain = optical_rice_rule(ds, **kwargs).compute()
    assert fast.rice_class.values.any() or case == "literal_params"
    for name in plain.data_vars:
        _same(fast[name].values, plain[name].values)
