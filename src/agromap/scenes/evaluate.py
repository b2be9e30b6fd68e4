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

The rows are condensed, checked against the targets and printed by
:mod:`agromap.scenes.accuracy_summary`.

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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import AgromapError
from ..rice.rule_param_overrides import params_class, rule_overrides, split_items
from . import SCENE_NAMES, Scene, make_scene
from .accuracy_summary import BASELINES, HARD_SCENES, format_table, summarize
from .accuracy_summary import targets as _targets  # its former name here, which callers still import
from .landscape import RICE_CODES

__all__ = ["METHODS", "HARD_SCENES", "drop_s2_days", "evaluate_map", "run_benchmark", "summarize", "format_table",
           "main"]

MATCH_DAYS = 30  # a predicted transplanting date within this many days of a true one is a match


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

    return optical_rice_rule(_s2(sc), inputs.get("optical_params"))


def _m_sar_rule(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    from ..rice.rules_sar import sar_rice_rule

    return sar_rice_rule(inputs["s1"][["vh", "vv"]], inputs.get("sar_params"))


def _rule_params(rule: Literal["optical", "sar", "both"], inputs: dict[str, Any]) -> Any:
    """The changed parameters (``--optical-param``, ``--sar-param``) of the rule(s) a self-trained map
    draws its labels from, as ``self_trained_rice_map(rule_params=)`` takes them; None: the defaults.
    """
    opt, sar = inputs.get("optical_params"), inputs.get("sar_params")
    if rule == "both":
        return None if opt is None and sar is None else (sar, opt)
    return opt if rule == "optical" else sar


def _self_trained(rule: Literal["optical", "sar", "both"]) -> Callable[[Scene, dict[str, Any]], xr.Dataset]:
    def run(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
        from ..rice.self_trained import self_trained_rice_map

        # Features from both sensors whatever rule labels (the scenes have both); the SAR rule
        # reads the filtered VH and VV given as sar=. A rule's changed parameters reach its labels.
        return self_trained_rice_map(_s2(sc), sar=inputs["s1"], rule=rule, rule_params=_rule_params(rule, inputs))

    return run


def _label_draw(inputs: dict[str, Any]) -> np.ndarray:
    """Flat indices of ``n_labels`` random truth pixels per class (rice first), drawn from the seed:
    the labels of ``supervised`` and ``self_trained_labelled`` are the same pixels.
    """
    rice = inputs["truth"].rice.values.ravel()
    n = int(inputs["n_labels"])
    rng = np.random.default_rng(int(inputs["seed"]))
    picks = []
    for cls in (1, 0):
        idx = np.flatnonzero(rice == cls)
        picks.append(rng.choice(idx, size=min(n, idx.size), replace=False))
    return np.concatenate(picks)


def _label_mask(inputs: dict[str, Any]) -> np.ndarray:
    """The pixels of :func:`_label_draw` as a ``(y, x)`` mask: left out of the scores of the maps trained
    on them, and of the others' ``oa_unlabelled``, so that a map with labels is compared with one
    without on the same pixels.
    """
    shape = inputs["truth"].rice.shape
    mask = np.zeros(int(np.prod(shape)), dtype=bool)
    mask[_label_draw(inputs)] = True
    return mask.reshape(shape)


def _m_supervised(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    """The classifier trained on ``n_labels`` truth pixels per class; scored on the others."""
    from ..rice.features import temporal_features
    from ..rice.model import TrainParams, predict, train

    feats = temporal_features(_s2(sc), inputs["s1"]).compute()
    truth = inputs["truth"]
    rice = truth.rice.values.ravel()
    n = int(inputs["n_labels"])
    pick = _label_draw(inputs)
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


def _m_self_trained_labelled(sc: Scene, inputs: dict[str, Any]) -> xr.Dataset:
    """``self_trained_both`` with the labels of ``supervised`` added; scored on the other pixels."""
    from ..rice.self_trained import self_trained_rice_map

    truth = inputs["truth"]
    rice = truth.rice.values
    pick = _label_draw(inputs)
    rows, cols = np.unravel_index(pick, rice.shape)
    table = {"row": rows, "col": cols, "label_class": rice.ravel()[pick].astype(np.int64)}
    out = self_trained_rice_map(_s2(sc), sar=inputs["s1"], rule="both", labels=table,
                                rule_params=_rule_params("both", inputs))
    exclude = np.zeros(rice.shape, dtype=bool)
    exclude[rows, cols] = True
    return out.assign_attrs(n_labels_per_class=int(inputs["n_labels"])).assign(_exclude=(("y", "x"), exclude))


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
    if "both" in _self_trained_rules():
        out["self_trained_labelled"] = _m_self_trained_labelled
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
        rice cover name, transplanted, direct-seeded and rice-shrimp: share missed), ``n_pixels``
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
                  s2_drop: Sequence[tuple[int, int]] = (),
                  calendar_shift: int = 0,
                  series_days: tuple[int, int] | None = None,
                  rule_params: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    rows: list[dict[str, Any]] = []
    for name in scenes:
        t0 = time.perf_counter()
        sc = make_scene(name, size=size, seed=seed, calendar_shift=calendar_shift, series_days=series_days)
        truth = sc.truth.compute()
        s1 = _sar_input(sc, speckle, speckle_filter).compute()
        s2 = (drop_s2_days(_s2(sc), s2_drop) if s2_drop else _s2(sc)).compute()
        sc = Scene(sc.name, sc.description, s2, sc.s1, truth, sc.cover_names, sc.config)
        inputs = {"s1": s1, "truth": truth, "n_labels": n_labels, "n_trees": n_trees, "seed": seed,
                  **(rule_params or {})}
        log(f"{name} (seed {seed}): scene rendered in {time.perf_counter() - t0:.1f} s "
            f"({s1.sizes['time']} S1 dates, {s2.sizes['time']} S2 dates)")
        for method, run in runners.items():
            t1 = time.perf_counter()
            row: dict[str, Any] = {"scene": name, "method": method, "seed": seed}
            try:
                out = run(sc, inputs).compute()
                exclude = out["_exclude"].values if "_exclude" in out else None
                row.update(evaluate_map(out, truth, sc.cover_names, exclude))
                if exclude is None:  # the pixels the maps trained on the label draw are scored on
                    row["oa_unlabelled"] = evaluate_map(out, truth, sc.cover_names, _label_mask(inputs))["oa"]
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
                  s2_drop: Sequence[tuple[int, int]] = (), calendar_shift: int = 0,
                  series_days: tuple[int, int] | None = None,
                  optical_params: Mapping[str, Any] | None = None,
                  sar_params: Mapping[str, Any] | None = None) -> dict[str, Any]:
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
    calendar_shift : int, optional
        Days every scene's local calendar is moved later against its acquisitions and weather
        (:func:`~agromap.scenes.make_scene`): a desk's series that starts where its own year
        starts. 0 (default): the scenes as drawn.
    series_days : (int, int), optional
        ``(start, end)``: only the acquisitions of both sensors from day ``start`` to before day
        ``end`` of each scene's series (0 = its first date) reach the methods
        (:func:`~agromap.scenes.make_scene`); the truth is the whole scene's. A desk's series of
        about 10 months cuts a season at both ends. None (default): every date.
    optical_params, sar_params : mapping, optional
        Changed fields of the optical rule's ``OpticalRiceParams`` / the SAR rule's ``SarRiceParams``
        (name -> value; ``--optical-param``, ``--sar-param``): a trial of a rule change. They reach
        the rule's own map and the self-trained maps that draw their labels from it (``both`` and
        ``labelled``: from the two rules); ``supervised`` and the baselines read no rule. Recorded as
        ``settings.optical_params`` / ``settings.sar_params`` (``{}``: the defaults) and printed
        above the table. None or empty (default): the rules' defaults.

    Returns
    -------
    dict
        ``rows`` (one per scene x method x seed; a map scored on every pixel also has
        ``oa_unlabelled``, its OA without the pixels of the label draw that ``supervised`` and
        ``self_trained_labelled`` are trained on and scored without), ``summary`` (one per scene x method: means and
        worst seeds, see :func:`summarize`), ``targets`` (see
        :func:`~agromap.scenes.accuracy_summary.targets`), ``settings``, ``machine``, ``created``.

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
    changed = {"optical": dict(optical_params or {}), "sar": dict(sar_params or {})}
    # Built once, before any scene: a refused value (ConfigError) stops the run at its start.
    built = {f"{k}_params": params_class(k)(**v) if v else None for k, v in changed.items()}
    for k, v in changed.items():
        if v:
            log(f"{k} rule parameters changed (the rule and the self-trained maps labelled by it): "
                + ", ".join(f"{n}={x!r}" for n, x in v.items()))
    from ..rice.self_train_rule import LABEL_FREE_OPTICAL, LABEL_FREE_SAR

    for sensor, name, free in (("optical", "optical", LABEL_FREE_OPTICAL), ("sar", "SAR", LABEL_FREE_SAR)):
        moved = sorted(set(free) & set(changed[sensor]))
        if moved:  # the labels read the rule without these terms (label_params, sar_label_params)
            log(f"{', '.join(moved)}: the {name} rule's map only; the self-trained labels read the rule without them")
    rows: list[dict[str, Any]] = []
    for sd in seeds:
        rows += _run_one_seed(scenes, runners, size=size, seed=sd, speckle=speckle, speckle_filter=speckle_filter,
                              n_labels=n_labels,
                              n_trees=n_trees, log=log, s2_drop=s2_drop, calendar_shift=calendar_shift,
                              series_days=series_days, rule_params=built)
    return {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "settings": {"size": size, "seeds": seeds, "speckle_filter": f"{speckle_filter} {speckle}x{speckle}",
                         "n_labels_per_class": n_labels,
                         "n_trees": n_trees, "s2_drop": [list(r) for r in s2_drop],
                         "calendar_shift": int(calendar_shift),
                         "series_days": list(series_days) if series_days else None,
                         "optical_params": changed["optical"], "sar_params": changed["sar"],
                         "scenes": list(scenes), "hard_scenes": [s for s in scenes if s in HARD_SCENES]},
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                        "cpus": os.cpu_count()},
            "rows": rows, "summary": summarize(rows), "targets": _targets(rows)}


def _series_days_arg(text: str) -> tuple[int, int] | None:
    """``"300"`` -> ``(0, 300)``; ``"60-360"`` -> ``(60, 360)``; empty text -> None (every date)."""
    text = text.strip()
    if not text:
        return None
    lo, sep, hi = text.partition("-") if "-" in text else ("0", "-", text)
    if not (lo.strip().isdigit() and hi.strip().isdigit()) or int(lo) >= int(hi):
        raise argparse.ArgumentTypeError(f"series days {text!r} is not N or START-END (days from the series' "
                                         "first date, START < END, e.g. 300 or 60-360)")
    return int(lo), int(hi)


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
    p.add_argument("--calendar-shift", type=int, default=int(os.environ.get("ACCURACY_CALENDAR_SHIFT", 0)),
                   help="days every scene's crop calendar is moved later against its acquisitions and weather "
                        "(a series that starts elsewhere in the crops' year; default 0)")
    p.add_argument("--series-days", type=_series_days_arg, default=os.environ.get("ACCURACY_SERIES_DAYS", ""),
                   help="keep only the dates of both sensors in the series' first N days, or from day START to "
                        "before day END (N or START-END, counted from the first date; a 10-month desk series: 300; "
                        "default: every date)")
    for sensor, cls in (("optical", "OpticalRiceParams"), ("sar", "SarRiceParams")):
        env = f"ACCURACY_{sensor.upper()}_PARAMS"
        p.add_argument(f"--{sensor}-param", action="append", metavar="NAME=VALUE",
                       help=f"a field of the {sensor} rule's {cls} changed for this run (a JSON value: 60, -19.5, "
                            f"null, true), for the rule and the self-trained maps labelled by it; repeatable; "
                            f"{env}='NAME=VALUE,NAME=VALUE' when no {f'--{sensor}-param'} is given "
                            "(default: the rule's defaults)")
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
    changed: dict[str, dict[str, Any]] = {}
    for sensor in ("optical", "sar"):  # the options replace the environment's list, as for every setting
        flags, env = getattr(a, f"{sensor}_param"), f"ACCURACY_{sensor.upper()}_PARAMS"
        try:
            changed[sensor] = rule_overrides(sensor, flags if flags is not None else
                                             split_items(os.environ.get(env, "")), None if flags else env)
        except ValueError as exc:
            p.error(str(exc))  # exit 2 with one line, as argparse's own usage errors
    t0 = time.perf_counter()
    res = run_benchmark(scenes, size=a.size, seeds=seeds, speckle=a.speckle, speckle_filter=a.speckle_filter,
                        n_labels=a.labels, only=only,
                        s2_drop=a.s2_drop if isinstance(a.s2_drop, list) else _ranges_arg(a.s2_drop),
                        calendar_shift=a.calendar_shift,
                        series_days=a.series_days if not isinstance(a.series_days, str)
                        else _series_days_arg(a.series_days),
                        optical_params=changed["optical"], sar_params=changed["sar"],
                        log=lambda s: print(s, file=sys.stderr, flush=True))
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(format_table(res))
    from ..io.files import write_new_file

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"accuracy-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
    path = write_new_file(out, stem, ".json", json.dumps(res, indent=1, default=str).encode())
    print(f"\nresults: {path} ({res['seconds']} s)")
    return 1 if any("error" in r for r in res["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
