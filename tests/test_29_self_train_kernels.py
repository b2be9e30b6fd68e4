"""The label steps' numpy kernels (the fusion's arithmetic, the series'-ends counts) give the values of
the xarray expressions they replaced, to the last bit, NaNs included, and stay a few graph layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from agromap.rice.optical_params import OpticalRiceParams
from agromap.rice.self_train_ends import dry_share, pond_after_harvest, series_start_canopy
from agromap.rice.self_train_labels import QA_PERSISTENT_ONLY, clear_indices, fuse_scores, open_water
from agromap.rice.self_train_params import SelfTrainParams
from agromap.testing import raise_if_dask_computes
from pixel_stacks import random_optical

_T, _NY, _NX = 24, 8, 6


def _optical(seed: int) -> xr.Dataset:
    """24 dates of five bands, a fifth of the values missing, spread so that every test sees both ways."""
    rng = np.random.default_rng(seed)
    return random_optical(rng, (_T, _NY, _NX), {"blue": (0.01, 0.06), "green": (0.02, 0.1), "red": (0.02, 0.2),
                                                "nir": (0.02, 0.5), "swir16": (0.02, 0.4)}, 12)


def _sar(seed: int) -> xr.Dataset:
    rng = np.random.default_rng(seed + 100)
    vh = (10 ** (rng.uniform(-26, -12, (30, _NY, _NX)) / 10)).astype(np.float32)
    vh[rng.random(vh.shape) < 0.1] = np.nan
    vh[rng.random(vh.shape) < 0.05] = 0.0  # no positive power: the dB median skips it
    time = np.datetime64("2022-12-28") + (np.arange(30) * 10).astype("timedelta64[D]")
    return xr.Dataset({"vh": (("time", "y", "x"), vh)}, coords={"time": time})


def _chunked(ds: xr.Dataset) -> xr.Dataset:
    return ds.chunk({"time": -1, "y": 4, "x": 3})


def _same(got: xr.DataArray, want: xr.DataArray) -> None:
    assert got.dtype == want.dtype and got.dims == want.dims
    np.testing.assert_array_equal(got.values, want.values)  # NaNs in the same places, values bit for bit


# The xarray formulations the kernels replaced, as they were.
def _old_dry_share(optical: xr.Dataset, spec: SelfTrainParams) -> xr.DataArray:
    ok, _, lswi = clear_indices(optical)
    clear = ok & lswi.notnull()
    n = clear.sum("time")
    dry = (clear & (lswi < 0)).sum("time")
    return (dry / n).where(n >= spec.persistent_min_dates).astype(np.float32)


def _old_pond(optical: xr.Dataset, spec: SelfTrainParams) -> xr.DataArray:
    ok, ndvi, lswi = clear_indices(optical)
    clear = ok & ndvi.notnull() & lswi.notnull()
    n = clear.sum("time")
    water = (clear & open_water(ndvi, lswi)).sum("time")
    dry = (clear & (lswi < 0)).sum("time")
    assert spec.start_pond_water_fraction is not None
    return ((n >= spec.persistent_min_dates) & (water >= np.float32(spec.start_pond_water_fraction) * n)
            & (dry >= spec.start_pond_dry_dates))  # fmt: skip


def _old_start_canopy(sar: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams) -> xr.DataArray:
    assert spec.start_canopy_days is not None
    first_day = min(np.asarray(s["time"].values).astype("datetime64[D]").min() for s in (sar, optical))
    end = first_day + np.timedelta64(int(spec.start_canopy_days), "D")
    ok, ndvi, lswi = clear_indices(optical)
    early = xr.DataArray(np.asarray(optical["time"].values).astype("datetime64[D]") <= end, dims="time",
                         coords={"time": optical["time"]})
    canopy = (ok & early & (ndvi >= np.float32(spec.start_canopy_ndvi))
              & (lswi >= np.float32(spec.start_canopy_lswi))).any("time")
    vh = sar["vh"]
    first = vh.isel(time=np.flatnonzero(np.asarray(vh["time"].values).astype("datetime64[D]") <= end))
    with np.errstate(invalid="ignore", divide="ignore"):
        db = 10.0 * np.log10(first.where(first > 0))
    return canopy & (db.median("time", skipna=True) <= np.float32(spec.start_canopy_max_db))


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_series_ends_kernels_are_the_xarray_expressions(lazy, seed):
    optical, sar = _optical(seed), _sar(seed)
    # bars inside the random values' range, so that both answers occur
    spec = SelfTrainParams(persistent_min_dates=8, start_pond_water_fraction=0.15, start_pond_dry_dates=2,
                           start_canopy_days=60, start_canopy_ndvi=0.3, start_canopy_lswi=0.2,
                           start_canopy_max_db=-19.0)  # fmt: skip
    want = (_old_dry_share(optical, spec), _old_pond(optical, spec), _old_start_canopy(sar, optical, spec))
    if lazy:
        optical, sar = _chunked(optical), _chunked(sar)
    with raise_if_dask_computes():
        got = (dry_share(optical, spec), pond_after_harvest(optical, spec), series_start_canopy(sar, optical, spec))
    for g, w in zip(got, want):
        _same(g, w.compute())
    share = want[0].values
    assert np.isnan(share).any() and (share > 0).any()
    for w in want[1:]:
        assert 0 < int(w.values.sum()) < w.size


def _rule_out(rng: np.random.Generator, seasons: int = 3) -> xr.Dataset:
    score = rng.uniform(0, 1, (_NY, _NX)).astype(np.float32)
    score[rng.random(score.shape) < 0.2] = np.nan
    n = rng.integers(0, seasons, (_NY, _NX)).astype(np.uint8)
    n[rng.random(n.shape) < 0.3] = 255
    qa = rng.choice(np.array([0, 1, QA_PERSISTENT_ONLY, QA_PERSISTENT_ONLY | 2], dtype=np.uint8), (_NY, _NX))
    return xr.Dataset({"rice_score": (("y", "x"), score), "n_seasons": (("y", "x"), n), "qa_flags": (("y", "x"), qa)})


def _old_fuse(sar: xr.Dataset, optical: xr.Dataset, spec: SelfTrainParams) -> tuple[xr.DataArray, xr.DataArray]:
    from agromap.rice.self_train_labels import edge_rescue

    a, b = sar["rice_score"], optical["rice_score"]
    if spec.persistent_score is not None:
        kept = (optical["qa_flags"] & np.uint8(QA_PERSISTENT_ONLY)) > 0
        b = xr.where(kept, np.minimum(b, np.float32(spec.persistent_score)), b).astype(np.float32)
    if "drained_dates" in optical:
        b = xr.where((b > 0.5) & (optical["drained_dates"] == 0), np.float32(0.5), b).astype(np.float32)
    score = ((a.fillna(b) + b.fillna(a)) / 2).astype(np.float32)
    rescued: Any = xr.zeros_like(score, dtype=bool)
    if spec.edge_rescue_px is not None:
        rescued = edge_rescue(a, b, spec, optical.get("flood_dates"), optical.get("edge_ndvi_rms"))
        score = xr.where(rescued, b, score).astype(np.float32)
    if "wettest_lswi" in optical and spec.dry_contradiction_lswi is not None:
        dry = optical["wettest_lswi"] < np.float32(spec.dry_contradiction_lswi)
        sar_wins = (a <= spec.other_max_score) & (b >= spec.rice_min_score) & dry & ~rescued
        score = xr.where(sar_wins, a, score).astype(np.float32)
    na, nb = sar["n_seasons"], optical["n_seasons"]
    return score, xr.where(na == 255, nb, xr.where(nb == 255, na, np.maximum(na, nb))).astype(np.uint8)


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("variant", ["all", "plain", "no_rescue"])
def test_the_fusion_kernels_are_the_xarray_expressions(lazy, variant):
    rng = np.random.default_rng(7)
    sar, opt = _rule_out(rng), _rule_out(rng)
    spec = SelfTrainParams()
    if variant == "all":
        opt = opt.assign(drained_dates=(("y", "x"), rng.integers(0, 3, (_NY, _NX)).astype(np.uint16)),
                         flood_dates=(("y", "x"), rng.integers(0, 4, (_NY, _NX)).astype(np.uint16)),
                         edge_ndvi_rms=(("y", "x"), rng.uniform(0, 0.3, (_NY, _NX)).astype(np.float32)),
                         wettest_lswi=(("y", "x"), rng.uniform(0, 0.5, (_NY, _NX)).astype(np.float32)))  # fmt: skip
        spec = SelfTrainParams(persistent_score=0.2, dry_contradiction_lswi=0.25, edge_min_flood_dates=1,
                               edge_max_ndvi_rms=0.15)  # fmt: skip
    elif variant == "plain":
        spec = SelfTrainParams(persistent_score=None, dry_contradiction_lswi=None)
    else:
        opt = opt.assign(wettest_lswi=(("y", "x"), rng.uniform(0, 0.5, (_NY, _NX)).astype(np.float32)))
        spec = SelfTrainParams(edge_rescue_px=None, dry_contradiction_lswi=0.25, persistent_score=0.2)
    score, seasons = _old_fuse(sar, opt, spec)
    if lazy:
        sar, opt = sar.chunk({"y": 4, "x": 3}), opt.chunk({"y": 4, "x": 3})
    with raise_if_dask_computes():
        got = fuse_scores(sar, opt, None, spec)
    _same(got["rice_score"], score)
    _same(got["n_seasons"], seasons)
    assert np.isnan(score.values).any() and len(np.unique(score.values)) > 10


def _own_layers(out: xr.DataArray | xr.Dataset, *inputs: Any) -> set[str]:
    seen: set[str] = set()
    for x in inputs:
        seen |= set(x.__dask_graph__().layers)
    return set(out.__dask_graph__().layers) - seen


def test_the_fused_steps_are_a_few_layers():
    optical, sar = _chunked(_optical(0)), _chunked(_sar(0))
    spec = SelfTrainParams(start_canopy_days=60)
    ok, ndvi, lswi = clear_indices(optical)
    # one kernel each (the start canopy: the optical and the radar kernels, the radar's early dates and
    # the "and"): the xarray expressions were 10 (dry share), 21 (pond) and 16 (start canopy) layers
    assert len(_own_layers(dry_share(optical, spec), ok, lswi)) == 1
    assert len(_own_layers(pond_after_harvest(optical, spec), ok, ndvi, lswi)) == 1
    assert len(_own_layers(series_start_canopy(sar, optical, spec), ok, ndvi, lswi, sar["vh"])) <= 4
    # a layer's name covers its kernel's constants: the shrimp field's opening canopy (another LSWI
    # bar) on the same inputs is another layer, the same call the same one
    from agromap.rice.self_train_ends_kernel import early_canopy

    early = np.ones(_T, dtype=bool)
    names = [early_canopy(ok, ndvi, lswi, early, ndvi_min=0.5, lswi_min=bar).data.name for bar in (0.3, 0.2, 0.3)]
    assert names[0] != names[1] and names[0] == names[2]
    rng = np.random.default_rng(3)
    s, o = _rule_out(rng).chunk({"y": 4, "x": 3}), _rule_out(rng).chunk({"y": 4, "x": 3})
    o = o.assign(drained_dates=o["n_seasons"].astype(np.uint16), wettest_lswi=o["rice_score"])
    plain = SelfTrainParams(edge_rescue_px=None, persistent_score=0.2, dry_contradiction_lswi=0.25)
    # the vote, the mean and its two overrides, the seasons, the flags: 28 layers as xarray expressions
    assert len(_own_layers(fuse_scores(s, o, None, plain), s, o)) <= 4


def test_the_pond_kernel_reads_the_rules_water_bar():
    optical = _optical(2)
    spec = SelfTrainParams(persistent_min_dates=8, start_pond_water_fraction=0.1, start_pond_dry_dates=1)
    low, high = OpticalRiceParams(water_ndvi_max=0.0), OpticalRiceParams(water_ndvi_max=0.3)
    few, many = (int(pond_after_harvest(optical, spec, p).values.sum()) for p in (low, high))
    assert few < many


@pytest.mark.parametrize("chunk", [None, 2, 3])
@pytest.mark.parametrize("radius", [1, 2, 9])
def test_the_window_kernel_is_the_rolling_max(chunk, radius):
    from agromap.rice.self_train_neighbours import any_within

    score = xr.DataArray(np.random.default_rng(radius).uniform(0, 1, (_NY, _NX)).astype(np.float32), dims=("y", "x"))
    score[0, 0] = np.nan
    w = 2 * radius + 1
    sure = (score >= 0.93).astype(np.float32)
    want = sure.rolling(y=w, x=w, center=True, min_periods=1).max() > 0  # the expression it replaced
    lazy = score if chunk is None else score.chunk({"y": chunk, "x": chunk})
    with raise_if_dask_computes():
        got = any_within(lazy >= 0.93, radius)
    assert got.chunks == lazy.chunks  # the blocks of its input, whatever the window's reach
    _same(got, want)
    assert 0 < int(want.sum()) < want.size or radius == 9


def _old_edge_rescue(a: xr.DataArray, b: xr.DataArray, spec: SelfTrainParams, flood: Any, like: Any) -> xr.DataArray:
    assert spec.edge_rescue_px is not None
    w = 2 * spec.edge_rescue_px + 1
    sure_rice = (a >= spec.rice_min_score).astype(np.float32)
    near = sure_rice.rolling(y=w, x=w, center=True, min_periods=1).max() > 0
    rescue = (a <= spec.other_max_score) & (b >= spec.rice_min_score) & near
    if like is not None and spec.edge_max_ndvi_rms is not None:
        rescue = rescue & (like <= np.float32(spec.edge_max_ndvi_rms))
    if flood is None or not spec.edge_min_flood_dates:
        return rescue
    return rescue & (flood >= spec.edge_min_flood_dates)


@pytest.mark.parametrize("lazy", [False, True])
def test_the_edge_rescue_kernel_is_the_xarray_expression(lazy):
    from agromap.rice.self_train_labels import edge_rescue

    rng = np.random.default_rng(11)
    a, b = _rule_out(rng)["rice_score"], _rule_out(rng)["rice_score"]
    flood = xr.DataArray(rng.integers(0, 4, (_NY, _NX)).astype(np.uint16), dims=("y", "x"))
    like = xr.DataArray(rng.uniform(0, 0.3, (_NY, _NX)).astype(np.float32), dims=("y", "x"))
    like[1, 1] = np.nan
    for spec, fl, lk in ((SelfTrainParams(), None, None),
                         (SelfTrainParams(edge_min_flood_dates=1, edge_max_ndvi_rms=0.15), flood, like),
                         (SelfTrainParams(edge_rescue_px=2, edge_max_ndvi_rms=0.15), None, like)):  # fmt: skip
        want = _old_edge_rescue(a, b, spec, fl, lk)
        args = [x if x is None or not lazy else x.chunk({"y": 4, "x": 3}) for x in (a, b, fl, lk)]
        with raise_if_dask_computes():
            got = edge_rescue(args[0], args[1], spec, args[2], args[3])
        _same(got, want)
        assert 0 < int(want.sum()) < want.size
    # the window (its halo exchange with the raster's edges, its kernel) and one kernel: the xarray
    # expression was 32 layers
    ca, cb = a.chunk({"y": 4, "x": 3}), b.chunk({"y": 4, "x": 3})
    assert len(_own_layers(edge_rescue(ca, cb, SelfTrainParams()), ca, cb)) <= 10
