"""Summaries of the accuracy benchmark's rows: means and worst seeds, targets, printed tables.

:func:`agromap.scenes.evaluate.run_benchmark` scores every method on every scene and seed (one
row each); this module condenses the rows (:func:`summarize`), checks them against the targets
(:func:`targets`: beat both one-line baselines on the same seed; OA >= ``RULE_OA_TARGET`` for the
rules and ``SELF_OA_TARGET`` for the self-trained maps on the hard scenes; the self-trained map
with labels at least the supervised one and ``self_trained_both`` less ``LABELLED_TOLERANCE``
on the same seed) and prints them
(:func:`format_table`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .catalog import SCENE_NAMES
from .landscape import COVER_NAMES

__all__ = ["BASELINES", "HARD_SCENES", "LABELLED_TOLERANCE", "RULE_OA_TARGET", "SELF_OA_TARGET", "summarize", "targets",
           "format_table"]

HARD_SCENES: tuple[str, ...] = tuple(n for n in SCENE_NAMES if n != "clean_delta")
RULE_OA_TARGET = 0.92
SELF_OA_TARGET = 0.95
BASELINES = ("optical_baseline", "sar_baseline")
#: ``self_trained_labelled`` may trail ``self_trained_both`` of the same seed by at most this OA.
#: The labels are a random draw that can miss a rare confounder and the forest is refitted on
#: another table, so the two maps differ by a few pixels either way even where the labels add
#: nothing; on seeds 0-9 of the hard scenes (both scored on the same, unlabelled pixels) the
#: labelled map trailed by at most 0.0008 and led by up to 0.0034 once the desk's labels on and
#: beside a paddy's edge weighed no more than a pseudo-label (docs/rice_self_trained.md); since the
#: SAR rule's rice-shrimp terms lifted the fused map it trailed by up to 0.0020, until the map
#: without labels was kept where it reads every label right and the refit took 300 trees: at most
#: 0.0009 on seeds 0-9 (docs/rice_self_trained.md, "The fit with a desk's labels").
LABELLED_TOLERANCE = 0.001


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


def targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scene x method x target: whether it holds on every seed.

    A method must reach both baselines' OA *of the same seed* (the same scene); the rules must
    reach OA 0.92 and the self-trained maps 0.95 on the hard scenes; ``self_trained_labelled`` must
    reach ``supervised`` and ``self_trained_both`` less ``LABELLED_TOLERANCE``, each read on the pixels
    the labelled map is scored on (without its labels: a row's ``oa_unlabelled`` where it has one, the
    fused map's; ``supervised`` is scored without the same labels). Each record: ``scene``,
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
        if method == "self_trained_labelled":  # labels must add to both: the classifier alone and the rules' labels
            for other, less in (("supervised", 0.0), ("self_trained_both", LABELLED_TOLERANCE)):
                # on the pixels the labelled map is scored on: not its labels (rows of older runs: all)
                ref = by.get((scene, other, seed), {})
                got = ref.get("oa_unlabelled", ref.get("oa"))
                if got is not None:
                    todo.append((f">= {other}" + (f" - {less:g}" if less else ""), float(got) - less))
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
          "dryland_crop": "dryland", "aquaculture": "ponds", "rice_direct_seeded": "dsr",
          "rice_shrimp": "rshr", "built_up": "built",
          "sugarcane": "cane"}


def _fmt(x: Any, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def _status(t: dict[str, Any]) -> str:
    if t["met"]:
        return f"met ({t['target']})"
    seeds = f", {t['seeds_met']}/{t['seeds']} seeds" if t["seeds"] > 1 else ""
    return f"MISSED ({t['target']}{seeds})"


def _rule_params_lines(results: dict[str, Any]) -> list[str]:
    """The rules' changed parameters (``settings.optical_params`` / ``sar_params``), loud: such a run
    is a trial, not the rules' figures; nothing for results written before the settings existed.
    """
    settings = results.get("settings", {})
    if "optical_params" not in settings and "sar_params" not in settings:
        return []
    changed = [f"{sensor} " + ", ".join(f"{k}={json.dumps(v)}" for k, v in settings[f"{sensor}_params"].items())
               for sensor in ("optical", "sar") if settings.get(f"{sensor}_params")]
    if not changed:
        return ["rule parameters: the defaults"]
    return ["RULE PARAMETERS CHANGED (the rules and the self-trained maps labelled by them; not the defaults): "
            + "; ".join(changed)]


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
             "seed; a target is met only when it holds on every seed", *_rule_params_lines(results), head,
             "-" * len(head)]
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
