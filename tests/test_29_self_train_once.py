"""One self-trained rule run builds the optical arrays its label steps share once, not per step."""

from __future__ import annotations

import numpy as np
import xarray as xr

import agromap.rice.rules_optical as rules_optical
from agromap.rice.self_train_ends import dry_share, series_start_canopy, start_pond_field
from agromap.rice.self_train_once import once, one_run
from agromap.rice.self_train_params import SelfTrainParams
from agromap.rice.self_train_rule import run_rule, split_stacks
from agromap.scenes import make_scene
from agromap.testing import raise_if_dask_computes


def _counting(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def test_a_fused_rule_run_builds_the_clear_mask_once(monkeypatch):
    sc = make_scene("wetland_confusion", size=16, seed=0, chunk=8)
    optical, sar = split_stacks(sc.s2, sc.s1[["vv", "vh"]])
    spec = SelfTrainParams()
    clear = _counting(monkeypatch, rules_optical, "clear_observations")
    with raise_if_dask_computes():
        out = run_rule(optical, sar, "both", None, None, spec.blind_gap_days, True, spec=spec)
    assert out["rice_score"].chunks is not None
    # the label steps' clear_indices, longest_clear_gap among them: one (21 before the run shared them)
    assert len(clear) == 1, len(clear)
    # the next run builds its own
    clear.clear()
    run_rule(optical, sar, "both", None, None, spec.blind_gap_days, True, spec=spec)
    assert len(clear) == 1
    # the series-start masks several steps read: one array per run and arguments
    with one_run():
        field = start_pond_field(sar, optical, spec)
        assert start_pond_field(sar, optical, SelfTrainParams()) is field
        assert series_start_canopy(sar, optical, spec) is series_start_canopy(sar, optical, spec)
        assert dry_share(optical, spec) is not dry_share(optical, SelfTrainParams(persistent_min_dates=3))
    assert start_pond_field(sar, optical, spec) is not field


def _stack() -> xr.Dataset:
    v = np.ones((3, 1, 2), np.float32)
    return xr.Dataset({"nir": (("time", "y", "x"), v)})


def test_once_reuses_only_within_a_run_and_only_on_the_same_inputs():
    built = []

    def build(tag):
        built.append(tag)
        return len(built)

    ds, params = _stack(), SelfTrainParams()
    assert once("k", (ds, params), lambda: build("a")) == 1
    assert once("k", (ds, params), lambda: build("b")) == 2  # outside a run: built every time
    with one_run():
        first = once("k", (ds, params, 1), lambda: build("c"))
        with one_run():  # a nested run shares the outer one's arrays
            assert once("k", (ds, SelfTrainParams(), 1), lambda: build("d")) == first  # equal frozen params
        assert once("k", (ds, params, 2), lambda: build("e")) != first  # another radius
        assert once("k", (_stack(), params, 1), lambda: build("f")) != first  # an equal but other stack
        ds["nir"] = ds["nir"] * 2  # a band replaced in place: a new input
        assert once("k", (ds, params, 1), lambda: build("g")) != first
        assert once("other", (ds, params, 1), lambda: build("h")) != first
    assert once("k", (ds, params, 1), lambda: build("i")) == len(built)  # the run's memo is gone
    assert built == ["a", "b", "c", "e", "f", "g", "h", "i"]
