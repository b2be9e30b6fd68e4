"""Accuracy benchmark of the rice methods on the hard scenes (``make accuracy``).

For every named scene and every method (optical rule, SAR rule, self-trained maps when
:mod:`agromap.rice.self_trained` is installed, a supervised classifier trained on a few labels,
and the two one-line baselines), the map is compared with the scene's truth: overall accuracy
(OA), rice F1, the share of each non-rice cover mapped as rice (false-positive rate per
confounder), the share of pixels without a decision, and, where the method gives one, the
transplanting-date error. Targets are printed as ``met``/``MISSED``:

- every method's OA is at least that of both baselines on every scene;
- the rules reach OA >= 0.92 on the hard scenes (every scene but ``clean_delta``);
- the self-trained maps reach OA >= 0.95 on the hard scenes.

Inputs are what a user would pass: Sentinel-2 L2A bands with SCL; Sentinel-1 VH/VV in linear
power after a 7 x 7 edge-preserving speckle filter that averages only the neighbours whose time
series match (:func:`agromap.rice.speckle.homogeneous_speckle_filter`; ``--speckle-filter boxcar``
for a plain boxcar, which mixes the series of neighbouring fields); the same filtered stack for
every SAR method and the SAR baseline. Pixels without a decision (nodata 255) count as "not rice".

Run ``python -m agromap.scenes.evaluate --help``; results go to a JSON file as well.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import AgromapError
from . import SCENE_NAMES, Scene, make_scene
from .landscape import COVER_NAMES, RICE_CODES

__all__ = ["METHODS", "HARD_SCENES", "drop_s2_days", "evaluate_map", "run_benchmark", "summarize", "format_table",
           "main"]

HARD_SCENES: tuple[str, ...] = tuple(n for n in SCENE_NAMES if n != "clean_delta")
RULE_OA_TARGET = 0.92
SELF_OA_TARGET = 0.95
MATCH_DAYS = 30  # a predicted transplanting date within this many days of a true one is a match
BASELINES = ("optical_baseline", "sar_baseline")


# ---- methods: each takes a Scene (+ shared inputs) and returns a Dataset with rice_class --------


def _s2(sc: Scene) -> xr.Dataset:
    assert sc.s2 is not None  # every named scene has both sensors
    return sc.s2


def _sar_input(sc: Scene, speckle: int, speckle_filter: str = "homogeneous") -> xr.Dataset:
    from ..rice.rules_sar import boxcar_speckle_filter, homogeneous_speckle_filter

    assert sc.s1 is not None
    if speckle <= 1:
        return sc.s1
    filt = homogeneous_speckle_filter if speckle_filter == "homogeneous" else boxcar_speckle_filter
    out = xr.Dataset({v: filt(sc.s1[v], speckle) for v in ("vv", "vh")})
    return out.assign_attrs(sc.s1.attrs)


def _m_optical_rule(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    from ..rice.rules_optical import optical_rice_rule

    return optical_rice_rule(_s2(sc))


def _m_sar_rule(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    from ..rice.rules_sar import sar_rice_rule

    return sar_rice_rule(inputs["s1"][["vh", "vv"]])


def _self_trained(rule: Literal["optical", "sar", "both"]) -> Callable[[Scene, dict[str, Any]], xr.Dataset]:
    def run(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
        from ..rice.self_trained import self_trained_rice_map

        # Features from both sensors whatever rule labels (the scenes have both); the SAR rule
        # reads the filtered VH and VV given as sar=.
        return self_trained_rice_map(_s2(sc), sar=inputs["s1"], rule=rule)

    return run


def _m_supervised(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    """The classifier trained on ``n_labels`` truth pixels per class; scored on the others."""
    from ..rice.features import temporal_features
    from ..rice.model import TrainParams, predict, train

    feats = temporal_features(_s2(sc), inputs["s1"]).compute()
    truth = inputs["truth"]
    rice = truth.rice.values.ravel()
    n = int(inputs["n_labels"])
    rng = np.random.default_rng(int(inputs["seed"]))
    picks = []
    for cls in (1, 0):
        idx = np.flatnonzero(rice == cls)
        picks.append(rng.choice(idx, size=min(n, idx.size), replace=False))
    pick = np.concatenate(picks)
    X = feats.values.reshape(feats.sizes["feature"], -1)[:, pick].T
    samples = xr.Dataset(
        {"features": (("sample", "feature"), X.astype(np.float32)),
         "label_class": ("sample", rice[pick].astype(np.int64)),
         "label_id": ("sample", np.arange(pick.size)),
         "block_id": ("sample", np.arange(pick.size))},
        coords={"feature": feats["feature"].values},
    ).assign_attrs({k: v for k, v in feats.attrs.items() if k in ("band_scaling", "feature_spec")})
    model = train(samples, TrainParams(n_estimators=int(inputs["n_trees"]), group_by="label", n_splits=3))
    out = predict(model, feats)
    exclude = np.zeros(rice.size, dtype=bool)
    exclude[pick] = True
    return out.assign_attrs(n_labels_per_class=n, train_pixels=int(pick.size)).assign(
        _exclude=(("y", "x"), exclude.reshape(truth.rice.shape)))


def _m_optical_baseline(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    from ..rice.baselines import optical_baseline

    return optical_baseline(_s2(sc)).to_dataset(name="rice_class")


def _m_sar_baseline(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    from ..rice.baselines import sar_baseline

    return sar_baseline(inputs["s1"]["vh"]).to_dataset(name="rice_class")


def _self_trained_rules() -> tuple[Literal["optical", "sar", "both"], ...]:
    """The rules the installed self-trained map accepts (none when the module is absent)."""
    try:
        from ..rice.self_trained import self_trained_rice_map
    except ImportError:
        return ()
    import inspect

    both = "sar" in inspect.signature(self_trained_rice_map).parameters
    return ("optical", "sar", "both") if both else ("optical", "sar")


def methods() -> dict[str, Callable[[Scene, dict[str, Any]], xr.Dataset]]:
    """Method name -> runner; the self-trained maps only when their module is installed."""
    out: dict[str, Callable[[Scene, dict[str, Any]], xr.Dataset]] = {
        "optical_rule": _m_optical_rule,
        "sar_rule": _m_sar_rule,
    }
    for rule in _self_trained_rules():
        out[f"self_trained_{rule}"] = _self_trained(rule)
    out["supervised"] = _m_supervised
    out["optical_baseline"] = _m_optical_baseline
    out["sar_baseline"] = _m_sar_baseline
    return out


METHODS = tuple(methods())


def drop_s2_days(s2: xr.Dataset, ranges: Sequence[tuple[int, int]]) -> xr.Dataset:
    """The Sentinel-2 stack without the dates whose day of the year falls in any of ``ranges``.

    Thins a scene's optical series to the few clear dates a cloudy delta gives (e.g. ``[(41, 139),
    (171, 299)]`` leaves about 12 clear dates with gaps of 100 and 130 days), so that a rule can be
    measured on a sparse series with the scene's truth unchanged.

    Parameters
    ----------
    s2 : xarray.Dataset
        Stack with a ``time`` coordinate (lazy or in memory; selection stays lazy).
    ranges : sequence of (int, int)
        Inclusive day-of-year ranges (1-366) to remove.
    """
    doy = s2["time"].dt.dayofyear.values
    drop = np.zeros(doy.shape, dtype=bool)
    for lo, hi in ranges:
        drop |= (doy >= int(lo)) & (doy <= int(hi))
    return s2.isel(time=np.flatnonzero(~drop))


def _ranges_arg(text: str) -> list[tuple[int, int]]:
    """``"41-139,171-299"`` -> ``[(41, 139), (171, 299)]`` (empty text: no range)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        if not sep or not (lo.strip().isdigit() and hi.strip().isdigit()) or int(lo) > int(hi):
            raise argparse.ArgumentTypeError(f"day range {part!r} is not FIRST-LAST (days of the year, "
                                             "e.g. 41-139)")
        out.append((int(lo), int(hi)))
    return out


# ---- scoring ---------------------------------------------------------------------------------


def _doy_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b) % 365
    return np.minimum(d, 365 - d)


def _transplant_error(pred: np.ndarray, truth: np.ndarray, ok: np.ndarray) -> dict[str, float | None]:
    """MAE (days) of the nearest predicted date to each true one, on pixels correctly mapped as rice."""
    t = truth[:, ok]  # (S_true, n)
    p = pred[:, ok].astype(np.float64)  # (S_pred, n); 0 = none
    p = np.where(p > 0, p, np.nan)
    errors = []
    n_true = 0
    for s in range(t.shape[0]):
        have = np.isfinite(t[s])
        n_true += int(have.sum())
        if not have.any() or p.shape[0] == 0:
            continue
        d = np.min(np.where(np.isfinite(p), _doy_distance(np.nan_to_num(p), t[s][None]), np.inf), axis=0)
        errors.append(d[have & (d <= MATCH_DAYS)])
    e = np.concatenate(errors) if errors else np.array([])
    return {"transplant_mae_days": float(e.mean()) if e.size else None,
            "transplant_matched": float(e.size / n_true) if n_true else None}


def evaluate_map(out: xr.Dataset, truth: xr.Dataset, cover_names: dict[int, str],
                 exclude: np.ndarray | None = None) -> dict[str, Any]:
    """Scores of one map against a scene's truth (numpy values; computes ``out`` if lazy).

    Returns
    -------
    dict
        ``oa``, ``rice_f1``, ``precision``, ``recall``, ``oa_interior`` (OA without the mixed
        pixels at field edges), ``nodata`` (share of pixels without a
        decision), ``fp_rate`` (per non-rice cover name: share mapped as rice), ``fn_rate`` (per
        rice cover name, transplanted and direct-seeded: share missed), ``n_pixels``
        and, when ``out`` has ``transplant_doy``, ``transplant_mae_days`` and
        ``transplant_matched`` (share of true seasons matched within 30 days).
    """
    cls = np.asarray(out["rice_class"].values)
    keep = np.ones(cls.shape, dtype=bool) if exclude is None else ~exclude
    pred = (cls == 1)[keep]
    ref = (np.asarray(truth.rice.values) == 1)[keep]
    cover = np.asarray(truth.cover.values)[keep]
    tp, fp = int((pred & ref).sum()), int((pred & ~ref).sum())
    fn = int((~pred & ref).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    res: dict[str, Any] = {
        "oa": float((pred == ref).mean()),
        "rice_f1": 2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        "precision": prec, "recall": rec,
        "oa_interior": float((pred == ref)[~np.asarray(truth.edge.values)[keep]].mean())
        if "edge" in truth and (~np.asarray(truth.edge.values)[keep]).any() else None,
        "nodata": float((cls[keep] == 255).mean()),
        "n_pixels": int(keep.sum()),
        "fp_rate": {cover_names[c]: float(pred[cover == c].mean())
                    for c in sorted(cover_names) if c not in RICE_CODES and (cover == c).any()},
        "fn_rate": {cover_names[c]: float((~pred[cover == c]).mean())
                    for c in sorted(cover_names) if c in RICE_CODES and (cover == c).any()},
    }
    if "transplant_doy" in out:
        tp_pred = np.asarray(out["transplant_doy"].transpose("season", ...).values)
        ok = (cls == 1) & (np.asarray(truth.rice.values) == 1) & keep
        res.update(_transplant_error(tp_pred, np.asarray(truth.transplant_doy.values), ok))
    return res


# ---- the run ---------------------------------------------------------------------------------


def _run_one_seed(scenes: Sequence[str], runners: dict[str, Callable[[Scene, dict[str, Any]], xr.Dataset]], *,
                  size: int, seed: int, speckle: int, speckle_filter: str, n_labels: int, n_trees: int,
                  log: Callable[[str], None],
                  s2_drop: Sequence[tuple[int, int]] = ()) -> list[dict[str, Any]]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name in scenes:
        t0 = time.perf_counter()
        sc = make_scene(name, size=size, seed=seed)
        truth = sc.truth.compute()
        s1 = _sar_input(sc, speckle, speckle_filter).compute()
        s2 = (drop_s2_days(_s2(sc), s2_drop) if s2_drop else _s2(sc)).compute()
        sc = Scene(sc.name, sc.description, s2, sc.s1, truth, sc.cover_names, sc.config)
        inputs = {"s1": s1, "truth": truth, "n_labels": n_labels, "n_trees": n_trees, "seed": seed}
        log(f"{name} (seed {seed}): scene rendered in {time.perf_counter() - t0:.1f} s "
            f"({s1.sizes['time']} S1 dates, {s2.sizes['time']} S2 dates)")
        for method, run in runners.items():
            t1 = time.perf_counter()
            row: dict[str, Any] = {"scene": name, "method": method, "seed": seed}
            try:
                out = run(sc, inputs).compute()
                exclude = out["_exclude"].values if "_exclude" in out else None
                row.update(evaluate_map(out, truth, sc.cover_names, exclude))
                if out.attrs:
                    row["attrs"] = {k: v for k, v in out.attrs.items() if isinstance(v, (int, float, str))
                                    and len(str(v)) < 300}
                    names = str(out.attrs.get("feature_names", "")).split()
                    if names:  # which sensors the classifier read
                        row["feature_sensors"] = "+".join(
                            s for s, ok in (("S2", "n_valid_opt" in names), ("S1", "n_valid_sar" in names)) if ok)
            except AgromapError as exc:  # a documented refusal (e.g. too few confident pixels)
                row["refused"] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # a crashing method is a finding, not the end of the run
                row["error"] = f"{type(exc).__name__}: {exc}"
                row["traceback"] = traceback.format_exc(limit=4)
            row["seconds"] = round(time.perf_counter() - t1, 2)
            log(f"  {method:22s} " + (f"OA {row['oa']:.3f}" if "oa" in row
                                          else (row.get("error") or row["refused"])[:120]))
            rows.append(row)
    return rows


def run_benchmark(scenes: Sequence[str] = SCENE_NAMES, *, size: int = 128, seed: int = 0,
                  seeds: Sequence[int] | None = None, speckle: int = 7, speckle_filter: str = "homogeneous",
                  n_labels: int = 50, n_trees: int = 100,
                  only: Sequence[str] | None = None, log: Callable[[str], None] = lambda s: None,
                  s2_drop: Sequence[tuple[int, int]] = ()) -> dict[str, Any]:
    """Run every method on every scene for each seed and score it. Returns the JSON-ready results.

    Parameters
    ----------
    seeds : sequence of int, optional
        Scene seeds (landscape, weather, acquisitions, and the supervised method's label draw);
        default ``[seed]``. Each seed is another scene of the same kind: the summary gives the
        mean and the worst seed of every score, and a target is met only when it holds on every
        seed.
    s2_drop : sequence of (int, int), optional
        Day-of-year ranges whose Sentinel-2 dates every method loses (:func:`drop_s2_days`):
        the sparse-series stress case. Empty (default): the scenes as drawn.

    Returns
    -------
    dict
        ``rows`` (one per scene x method x seed), ``summary`` (one per scene x method: means and
        worst seeds, see :func:`summarize`), ``targets`` (see :func:`_targets`), ``settings``,
        ``machine``, ``created``.

    A method that refuses the input with an :class:`~agromap.errors.AgromapError` (e.g. too few
    confident pixels for self-training) is recorded as ``"refused"``; any other exception as
    ``"error"`` with its traceback; the run goes on either way.
    """
    seeds = [int(seed)] if seeds is None else [int(s) for s in seeds]
    if not seeds:
        raise ValueError("run_benchmark needs at least one seed")
    runners = methods()
    if only:
        runners = {k: v for k, v in runners.items() if k in only or k in BASELINES}
    rows: list[dict[str, Any]] = []
    for sd in seeds:
        rows += _run_one_seed(scenes, runners, size=size, seed=sd, speckle=speckle, speckle_filter=speckle_filter,
                              n_labels=n_labels,
                              n_trees=n_trees, log=log, s2_drop=s2_drop)
    return {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "settings": {"size": size, "seeds": seeds, "speckle_filter": f"{speckle_filter} {speckle}x{speckle}",
                         "n_labels_per_class": n_labels,
                         "n_trees": n_trees, "s2_drop": [list(r) for r in s2_drop],
                         "scenes": list(scenes), "hard_scenes": [s for s in scenes if s in HARD_SCENES]},
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "cpus": os.cpu_count()},
            "rows": rows, "summary": summarize(rows), "targets": _targets(rows)}


def _mean(xs: Sequence[float | None]) -> float | None:
    v = [x for x in xs if x is not None]
    return float(np.mean(v)) if v else None


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per scene x method over the seeds: mean and worst (lowest OA) seed.

    Keys: ``scene``, ``method``, ``seeds`` (scored), ``oa_mean``, ``oa_worst``, ``worst_seed``,
    ``f1_mean``, ``f1_worst``, ``nodata_mean``, ``transplant_mae_days`` (mean over seeds) and
    ``transplant_mae_worst`` (largest), ``transplant_matched`` (mean), ``fp_rate`` and
    ``fn_rate`` (per cover: mean share over seeds), ``train`` (self-trained: mean training
    pixels per class), ``refused``/``error`` (first message, and how many seeds).
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["scene"], r["method"]), []).append(r)
    out = []
    for (scene, method), rs in groups.items():
        ok = [r for r in rs if "oa" in r]
        rec: dict[str, Any] = {"scene": scene, "method": method, "seeds": [r.get("seed", 0) for r in ok]}
        for bad in ("error", "refused"):
            failed = [r for r in rs if bad in r]
            if failed:
                rec[bad] = f"{len(failed)} of {len(rs)} seeds: {failed[0][bad]}"
        if ok:
            worst = min(ok, key=lambda r: r["oa"])
            maes = [r.get("transplant_mae_days") for r in ok]
            rec.update(
                oa_mean=_mean([r["oa"] for r in ok]), oa_worst=worst["oa"], worst_seed=worst.get("seed", 0),
                f1_mean=_mean([r["rice_f1"] for r in ok]), f1_worst=min(r["rice_f1"] for r in ok),
                nodata_mean=_mean([r["nodata"] for r in ok]),
                transplant_mae_days=_mean(maes),
                transplant_mae_worst=max((m for m in maes if m is not None), default=None),
                transplant_matched=_mean([r.get("transplant_matched") for r in ok]),
                fp_rate={k: _mean([r["fp_rate"].get(k) for r in ok]) for k in ok[0]["fp_rate"]},
                fn_rate={k: _mean([r.get("fn_rate", {}).get(k) for r in ok]) for k in ok[0].get("fn_rate", {})},
            )
            counts = [json.loads(r["attrs"]["training_counts"]) for r in ok
                      if "training_counts" in r.get("attrs", {})]
            if counts:
                rec["train"] = {k: _mean([c.get(k) for c in counts]) for k in ("n_train_rice", "n_train_other")}
        out.append(rec)
    return out


def _targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scene x method x target: whether it holds on every seed.

    A method must reach both baselines' OA *of the same seed* (the same scene); the rules must
    reach OA 0.92 and the self-trained maps 0.95 on the hard scenes. Each record: ``scene``,
    ``method``, ``target``, ``needed`` (mean over seeds of what was needed), ``oa`` (mean),
    ``oa_worst``, ``seeds_met``, ``seeds`` and ``met`` (True only when met on every seed; a
    refused or crashed seed misses).
    """
    by = {(r["scene"], r["method"], r.get("seed", 0)): r for r in rows}
    checks: dict[tuple[str, str, str], list[tuple[float, float | None, bool]]] = {}
    for r in rows:
        if r["method"] in BASELINES:
            continue
        scene, method, seed = r["scene"], r["method"], r.get("seed", 0)
        oa = r.get("oa")
        base = [by[(scene, b, seed)].get("oa") for b in BASELINES if (scene, b, seed) in by]
        todo: list[tuple[str, float]] = []
        if base and all(b is not None for b in base):
            todo.append(("beats both baselines", max(float(b) for b in base if b is not None)))
        if scene in HARD_SCENES and method in ("optical_rule", "sar_rule"):
            todo.append((f"OA >= {RULE_OA_TARGET}", RULE_OA_TARGET))
        if scene in HARD_SCENES and method.startswith("self_trained"):
            todo.append((f"OA >= {SELF_OA_TARGET}", SELF_OA_TARGET))
        for what, need in todo:
            checks.setdefault((scene, method, what), []).append((need, oa, bool(oa is not None and oa >= need)))
    out = []
    for (scene, method, what), cs in checks.items():
        oas = [oa for _, oa, _ in cs]
        out.append({"scene": scene, "method": method, "target": what, "needed": _mean([n for n, _, _ in cs]),
                    "oa": _mean(oas), "oa_worst": min((o for o in oas if o is not None), default=None),
                    "seeds_met": sum(ok for *_, ok in cs), "seeds": len(cs), "met": all(ok for *_, ok in cs)})
    return out


_SHORT = {"seasonal_wetland": "wetland", "flooded_grassland": "grassland", "orchard_flood_irrigated": "orchard",
          "permanent_water": "water", "water_hyacinth": "hyacinth", "fallow_puddles": "fallow",
          "dryland_crop": "dryland", "aquaculture": "ponds", "rice_direct_seeded": "dsr", "built_up": "built",
          "sugarcane": "cane"}


def _fmt(x: Any, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def _status(t: dict[str, Any]) -> str:
    if t["met"]:
        return f"met ({t['target']})"
    seeds = f", {t['seeds_met']}/{t['seeds']} seeds" if t["seeds"] > 1 else ""
    return f"MISSED ({t['target']}{seeds})"


def format_table(results: dict[str, Any]) -> str:
    """Two tables over the seeds: scores with targets, then false positives and misses per cover.

    The first gives per scene x method the mean OA, the worst seed's OA (and which seed), mean
    F1, nodata, transplanting-date error (mean and worst MAE, share of true seasons matched) and
    the targets (met only when met on every seed). The second gives, per cover class, the mean
    share of non-rice pixels mapped as rice and of rice pixels missed (``dsr``: direct-seeded),
    and the self-trained maps' training pixels per class.
    """
    summary = results.get("summary") or summarize(results["rows"])
    targets = results["targets"]
    n_seeds = len(results.get("settings", {}).get("seeds", [0]))
    status: dict[tuple[str, str], list[str]] = {}
    for t in targets:
        status.setdefault((t["scene"], t["method"]), []).append(_status(t))
    head = (f"{'scene':23s} {'method':21s} {'OA':>6s} {'worst':>6s} {'seed':>4s} {'F1':>6s} {'nodata':>6s} "
            f"{'tp MAE':>6s} {'worst':>5s} {'tp hit':>6s}  targets")
    lines = [f"mean over {n_seeds} seed(s) {results.get('settings', {}).get('seeds', [0])}; 'worst' = lowest-OA "
             "seed; a target is met only when it holds on every seed", head, "-" * len(head)]
    last = None
    for r in summary:
        if last is not None and r["scene"] != last:
            lines.append("")
        last = r["scene"]
        st = "; ".join(status.get((r["scene"], r["method"]), [])) or ("(reference)" if r["method"] in BASELINES else "")
        if "oa_mean" not in r:
            what = "ERROR" if "error" in r else "REFUSED"
            lines.append(f"{r['scene']:23s} {r['method']:21s} {what} {(r.get('error') or r['refused'])[:150]}  {st}")
            continue
        note = "".join(f"  [{k}: {r[k][:100]}]" for k in ("error", "refused") if k in r)
        lines.append(f"{r['scene']:23s} {r['method']:21s} {_fmt(r['oa_mean']):>6s} {_fmt(r['oa_worst']):>6s} "
                     f"{r['worst_seed']:>4d} {_fmt(r['f1_mean']):>6s} {_fmt(r['nodata_mean'], '.2f'):>6s} "
                     f"{_fmt(r.get('transplant_mae_days'), '.1f'):>6s} {_fmt(r.get('transplant_mae_worst'), '.1f'):>5s} "
                     f"{_fmt(r.get('transplant_matched'), '.2f'):>6s}  {st}{note}")
    n_missed = sum(not t["met"] for t in targets)
    lines.append("")
    lines.append(f"targets: {len(targets) - n_missed} met, {n_missed} MISSED of {len(targets)}; "
                 f"refused: {sum('refused' in r for r in results['rows'])}; "
                 f"errors: {sum('error' in r for r in results['rows'])} (scene x method x seed runs)")
    lines += ["", _cover_table(summary)]
    return "\n".join(lines)


def _cover_table(summary: Sequence[dict[str, Any]]) -> str:
    """Mean false-positive rate per non-rice cover and miss rate per rice cover, per scene x method."""
    seen = {k for r in summary for k in (*r.get("fn_rate", {}), *r.get("fp_rate", {}))}
    covers = [n for n in COVER_NAMES.values() if n in seen]  # rice covers first, then by cover code
    fn_names = {k for r in summary for k in r.get("fn_rate", {})}
    cols = [("miss " if c in fn_names else "") + _SHORT.get(c, c) for c in covers]
    w = max(5, *(len(c) for c in cols)) if cols else 5
    head = f"{'scene':23s} {'method':21s} " + " ".join(f"{c:>{w}s}" for c in cols) + "  train rice/other"
    lines = ["share of each cover mapped rice (false positives) and of each rice cover missed, mean over seeds",
             head, "-" * len(head)]
    last = None
    for r in summary:
        if "oa_mean" not in r:
            continue
        if last is not None and r["scene"] != last:
            lines.append("")
        last = r["scene"]
        rates = {**r.get("fp_rate", {}), **r.get("fn_rate", {})}
        cells = " ".join(f"{_fmt(rates.get(c), '.2f'):>{w}s}" for c in covers)
        tr = r.get("train")
        train = f"  {tr['n_train_rice']:.0f}/{tr['n_train_other']:.0f}" if tr else ""
        lines.append(f"{r['scene']:23s} {r['method']:21s} {cells}{train}")
    return "\n".join(lines)


def _seeds_arg(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be one or more integers >= 0, got {text!r}")
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agromap.scenes.evaluate``: print the tables, write the JSON; exit 1 on a crashed method
    (a refusal is a finding, like a missed target: exit 0).
    """
    p = argparse.ArgumentParser(prog="python -m agromap.scenes.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=int(os.environ.get("ACCURACY_SIZE", 128)), help="scene edge (px)")
    p.add_argument("--seeds", type=_seeds_arg,
                   default=os.environ.get("ACCURACY_SEEDS", os.environ.get("ACCURACY_SEED", "0")),
                   help="comma-separated scene seeds, e.g. 0,1,2: mean and worst seed are reported (default 0)")
    p.add_argument("--seed", type=_seeds_arg, dest="seeds", help=argparse.SUPPRESS)  # the former one-seed option
    p.add_argument("--scenes", default=os.environ.get("ACCURACY_SCENES", ",".join(SCENE_NAMES)),
                   help="comma-separated scene names")
    p.add_argument("--only", default=os.environ.get("ACCURACY_ONLY", ""),
                   help="comma-separated methods (the baselines always run)")
    p.add_argument("--speckle", type=int, default=7, help="speckle filter window for S1 (px; 1 = none)")
    p.add_argument("--speckle-filter", choices=("homogeneous", "boxcar"), default="homogeneous",
                   help="homogeneous: mean of the neighbours whose series match (edge-preserving); boxcar: all")
    p.add_argument("--labels", type=int, default=50, help="labelled pixels per class for the supervised method")
    p.add_argument("--s2-drop", type=_ranges_arg, default=os.environ.get("ACCURACY_S2_DROP", ""),
                   help="comma-separated day-of-year ranges whose Sentinel-2 dates are removed, e.g. 41-139,171-299 "
                        "(a sparse optical series; default: none)")
    p.add_argument("--out", default=os.environ.get("ACCURACY_RESULTS", "bench/results"),
                   help="folder of the JSON results")
    a = p.parse_args(argv)
    seeds = a.seeds if isinstance(a.seeds, list) else _seeds_arg(a.seeds)
    scenes = [s.strip() for s in a.scenes.split(",") if s.strip()]
    unknown = sorted(set(scenes) - set(SCENE_NAMES))
    if unknown:
        print(f"agromap: error: unknown scenes {unknown}; choose from {', '.join(SCENE_NAMES)}.", file=sys.stderr)
        return 2
    only = [m.strip() for m in a.only.split(",") if m.strip()] or None
    t0 = time.perf_counter()
    res = run_benchmark(scenes, size=a.size, seeds=seeds, speckle=a.speckle, speckle_filter=a.speckle_filter,
                        n_labels=a.labels, only=only,
                        s2_drop=a.s2_drop if isinstance(a.s2_drop, list) else _ranges_arg(a.s2_drop),
                        log=lambda s: print(s, file=sys.stderr, flush=True))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(format_table(res))
    from ..io.write import atomic_write_bytes

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"accuracy-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    atomic_write_bytes(path, json.dumps(res, indent=1, default=str).encode())
    print(f"\nresults: {path} ({res['seconds']} s)")
    return 1 if any("error" in r for r in res["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
