"""The SAR rule's compiled run walks and its faster per-series helpers give the numpy
formulations' values bit for bit (``tests/sar_series_reference.py``), on random series with lost
dates, levels hit exactly (quantised values) and every break span the rule uses."""

from __future__ import annotations

import numpy as np
import pytest

import sar_series_reference as ref
from agromap.rice import sar_series
from agromap.rice.rules_sar import _candidates
from agromap.rice.sar_params import SarRiceParams

_F32 = np.float32


def _series(seed: int, n_pix: int = 150, n_t: int = 41, lost: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Irregular dates (gaps of 3 to 18 days) and a dB series quantised to 0.5 dB (so that values
    equal a level), a share ``lost`` of dates NaN, and a few rows with no valid date."""
    rng = np.random.default_rng(seed)
    days = np.cumsum(rng.choice([3, 6, 6, 12, 18], size=n_t)).astype(np.int32)
    db = (np.round(rng.normal(-17.0, 3.0, size=(n_pix, n_t)) * 2) / 2).astype(_F32)
    db[rng.random((n_pix, n_t)) < lost] = np.nan
    db[:3] = np.nan
    return db, days


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flood_runs_match_the_numpy_walk(seed):
    db, days = _series(seed)
    rng = np.random.default_rng(seed + 10)
    n_pix, n_t = db.shape
    before = (np.round(rng.normal(-18.0, 2.0, n_pix) * 2) / 2).astype(_F32)
    after = (np.round(rng.normal(-17.0, 2.0, n_pix) * 2) / 2).astype(_F32)
    bars = rng.choice(np.array([0.0, 6.0, 12.0, 24.0], _F32), n_pix)
    for t in range(n_t):
        for brk in (0.0, 12.0, bars):
            got = sar_series.flood_run_bounds(db, days, t, before, after, brk)
            want = ref.flood_run_bounds(db, days, t, before, after, brk)
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and np.array_equal(g, w)
        # A level given as a Python float is cast to the series' float32, as numpy compares it.
        got = sar_series.flood_run_bounds(db, days, t, -17.3, -16.7, 6.0)
        want = ref.flood_run_bounds(db, days, t, -17.3, -16.7, 6.0)  # type: ignore[arg-type]
        assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
        g1, w1 = sar_series.flood_run_start(db, days, t, before), ref.flood_run_start(db, days, t, before)
        assert g1.dtype == w1.dtype and g1.tobytes() == w1.tobytes()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bright_runs_match_the_numpy_walk(seed):
    db, days = _series(seed, lost=0.3)
    rng = np.random.default_rng(seed + 20)
    n_pix, n_t = db.shape
    level = (np.round(rng.normal(-16.0, 2.0, n_pix) * 2) / 2).astype(_F32)
    level[:5] = -np.inf  # a row without a canopy: every valid date passes
    level[5:8] = np.nan  # ... or a NaN level: none does
    bars = rng.choice(np.array([0.0, 12.0, 30.0], _F32), n_pix)
    for _ in range(6):
        start = rng.integers(0, n_t, n_pix).astype(np.intp)
        start[:2] = [0, n_t - 1]
        for brk in (0.0, 12.0, bars):
            span, open_end = sar_series.bright_run_days(db, days, start, level, brk)
            span_ref, open_ref = ref.bright_run_days(db, days, start, level, brk)
            assert span.dtype == span_ref.dtype and span.tobytes() == span_ref.tobytes()
            assert np.array_equal(open_end, open_ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_candidate_minima_match_the_numpy_scan(seed):
    db, days = _series(seed, lost=0.25)
    db[10] = -18.0  # a level series: its first date is the minimum, no other
    for h in (30, 12.5):
        p = SarRiceParams(trough_halfwidth_days=h)
        got = _candidates(db, days, np.full(days.size, -1, np.int8), 0, p)
        assert np.array_equal(got, ref.trough_minima(db, days, h))


def test_rows_of_a_larger_block_walk_alike():
    """The rule passes the candidate rows of a block (copies) and views; both read the same."""
    db, days = _series(3, n_pix=50)
    view = db[::2]
    level = np.full(view.shape[0], -17.0, _F32)
    got = sar_series.flood_run_bounds(view, days, 20, level, level, 12.0)
    want = ref.flood_run_bounds(np.ascontiguousarray(view), days, 20, level, level, 12.0)
    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize("seed", [0, 1])
def test_track_offsets_match_the_numpy_scan(seed):
    """Two and three tracks, dates of no known track (-1) among them, lost dates, pair spans of 6 to 30 d."""
    db, days = _series(seed, n_pix=300, lost=0.25)
    rng = np.random.default_rng(seed + 30)
    for n_tracks in (2, 3):
        track = rng.integers(-1, n_tracks, days.size).astype(np.int8)
        for max_days in (6.0, 12.0, 30.0):
            got = sar_series.track_offsets_db(db, days, track, max_days)
            want = ref.track_offsets_db(db, days, track, max_days)
            assert got.tobytes() == want.tobytes()


def test_moving_means_add_as_numpy_does():
    """Windows of 1 to 128 dates (numpy's pairwise sum: in turn below 8, then 8 partial sums),
    on a block as wide as a tile's and on one of a few rows; longer windows stay in numpy."""
    rng = np.random.default_rng(8)
    days = np.cumsum(rng.choice([1, 3, 6, 12], size=160)).astype(np.int32)
    for n_pix in (3, 5000):
        lin = (rng.lognormal(-4.0, 1.5, (n_pix, days.size))).astype(_F32)
        lin[rng.random(lin.shape) < 0.15] = np.nan
        for half in (0.0, 4.0, 13.0, 36.5, 90.0, 200.0, 400.0):
            got, want = sar_series.smooth_linear(lin, days, half), ref.smooth_linear(lin, days, half)
            assert np.array_equal(np.isnan(got), np.isnan(want)) and got.tobytes() == want.tobytes(), half


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nanmedian_rows_is_numpys(dtype):
    rng = np.random.default_rng(5)
    for n_t in (1, 2, 7, 40, 700):  # 700: numpy's path for long rows
        a = (np.round(rng.normal(0.0, 2.0, (300, n_t)) * 4) / 4).astype(dtype)
        a[rng.random(a.shape) < 0.3] = np.nan
        a[:4] = np.nan
        got, want = sar_series.nanmedian_rows(a), ref.nanmedian_rows(a)
        assert got.dtype == want.dtype and np.array_equal(np.isnan(got), np.isnan(want))
        assert got[~np.isnan(got)].tobytes() == want[~np.isnan(want)].tobytes()
    assert sar_series.nanmedian_rows(np.zeros((3, 0), _F32)).shape == (3,)


def test_window_mean_reads_only_the_columns_in_reach_with_the_same_bits():
    db, days = _series(7)
    rng = np.random.default_rng(7)
    lo = rng.uniform(days[0] - 20, days[-1], db.shape[0]).astype(_F32)
    hi = (lo + rng.choice([0.0, 10.0, 40.0, 400.0], db.shape[0])).astype(_F32)
    lo[:4] = np.nan  # rows without bounds take no date, and the others' columns stay read
    inside = (days.astype(_F32)[None, :] >= lo[:, None]) & (days.astype(_F32)[None, :] <= hi[:, None]) & ~np.isnan(db)
    n = inside.sum(axis=-1)
    total = np.where(inside, _F32(10.0) ** (db / _F32(10.0)), _F32(0.0)).sum(axis=-1, dtype=_F32)
    want = sar_series.to_db(np.where(n > 0, total / np.maximum(n, 1).astype(_F32), _F32(np.nan)).astype(_F32))
    got = sar_series.window_mean_db(db, days, lo, hi)
    assert np.array_equal(np.isnan(got), np.isnan(want)) and got[n > 0].tobytes() == want[n > 0].tobytes()
    none = sar_series.window_mean_db(db, days, np.full(db.shape[0], -99.0, _F32), np.full(db.shape[0], -98.0, _F32))
    assert np.isnan(none).all()
