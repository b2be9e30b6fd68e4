"""Stress sweep of the label-free rice rules on the point tables (docs/rice_stress.md).

``python -m bench.rice_stress`` (``make rice-stress``): varies one realistic knob of the point
tables of ``tests/rice_series.py`` at a time around the fixed tables' values and prints, per
setting, the rule's and the one-line baseline's overall accuracy (mean over the seeds, and the
worst seed's margin of the rule over the baseline). A setting is flagged when the rule loses to
the baseline on some seed (``LOSS``) or its mean OA drops more than 0.05 below the fixed table's
(``DROP``); flagged settings print their errors by class (missed paddies, mapped non-rice points
per class, summed over the seeds).

Options: ``--sensor optical|sar|both``, ``--seeds 0,1,2``, ``--points 600``, ``--only WORD``
(settings whose name contains WORD), ``--optical-param NAME=VALUE`` and ``--sar-param NAME=VALUE``
(a field of the optical rule's ``OpticalRiceParams`` or of the SAR rule's ``SarRiceParams`` changed
for the whole sweep, the value in JSON: ``60``, ``-19.5``, ``null``, ``true``; a text value may go
without quotes; repeatable; an unknown name or a value of the wrong type or out of the rule's range
is a usage error), ``--kinds dense,sparse,four_track`` (SAR date axes), ``--vv`` (SAR tables with VV,
which the rule then reads with VH), ``--ceiling flagged|all|none`` (the supervised ceiling of
``bench/rice_ceiling.py`` on the fixed table and the flagged settings, on every setting, or not at
all), ``--raw`` (with the ceiling, the same forest on each date's values: what the summary
features leave out), ``--json PATH`` (write the rows). Not part of ``make test``: it times nothing and asserts nothing;
the tests keep one stressed table per fix (tests/test_29_rice_rules_robust.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import xarray as xr

from agromap.rice.rule_param_overrides import rule_params  # the one parser, shared with the accuracy benchmark

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

import rice_series as rs  # noqa: E402  (tests/rice_series.py: the point tables)
from bench.rice_ceiling import ceiling_oa, optical_point_features, raw_point_series, sar_point_features  # noqa: E402

#: A flagged setting whose rule is within this of the supervised ceiling is limited by the table's
#: data as far as the supervised path can tell: the ceiling's range over seeds 0-2 is 0.007 (optical)
#: and 0.017 (SAR) at the median and up to 0.03 on SAR, and a forest of 100 trees scores within
#: 0.003 of one of 200 (docs/rice_stress.md, "The ceiling").
DATA_LIMITED_GAP = 0.03

Run = Callable[[int, int, dict[str, Any]], tuple[np.ndarray, np.ndarray, Any, int, Any]]

# Confounder-heavy shares: rice 30 %, the named class 40 %, the rest in the tables' proportions.


def _heavy(names: tuple[str, ...], shares: tuple[float, ...], heavy: str) -> tuple[float, ...]:
    k = names.index(heavy)
    rest = [s if i not in (0, k) else 0.0 for i, s in enumerate(shares)]
    scale = 0.30 / sum(rest)
    out = [r * scale for r in rest]
    out[0], out[k] = 0.30, 0.40
    return tuple(out)


def optical_settings() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, optical_points keyword arguments); the first is the fixed table."""
    yield "table", {}
    for n in (6, 9, 12, 20, 30):  # clear dates after one lost date (5 % of observations cloudy besides)
        yield f"dates {n}", {"days": rs.optical_days(n + 1)}
    for g in ((30, 30), (60, 60), (100, 130), (120, 150), (180, 0), (0, 180)):
        yield f"gaps {g[0]}/{g[1]} d", {"days": rs.optical_days(13, g)}
    for h in (0.0, 0.1, 0.2):
        yield f"haze {h:.2f}", {"haze": h}
    for s in (0.05, 0.1, 0.2):
        yield f"shadow {s:.2f}", {"shadow": s}
    for k in (1, 2, 3):
        yield f"seasons {k}", {"seasons": k}
    for m in range(1, 12):
        yield f"shift {30 * m} d", {"shift_days": 30 * m}
    for p in ((0.6, 0.7), (0.7, 0.8), (0.8, 0.9)):
        yield f"peak {p[0]:.1f}-{p[1]:.1f}", {"peak": p}
    for c in ("aquaculture", "seasonal_wetland", "orchard", "sugarcane", "dryland_crop"):
        yield f"40 % {c}", {"shares": _heavy(rs.OPT_CLASSES, rs.OPT_SHARES, c)}
    for w in (0.25, 0.35):
        yield f"canopy LSWI {w:.2f}", {"canopy_lswi": w}
    for m in (3, 4, 10):  # the calendar shifts where the rule lost, with wetter canopies
        yield f"shift {30 * m} d, canopy LSWI 0.35", {"shift_days": 30 * m, "canopy_lswi": 0.35}
    yield "standing water", {"standing_water": True}
    for m in range(1, 12):  # paddies kept flooded until canopy closure, at every calendar shift
        yield f"shift {30 * m} d, standing water", {"shift_days": 30 * m, "standing_water": True}


def sar_settings() -> Iterator[tuple[str, dict[str, Any]]]:
    """(name, sar_points keyword arguments); the first is the fixed table."""
    yield "table", {}
    for e in (4.0, 30.0):
        yield f"ENL {e:.0f}", {"enl": e}
    for name, o in (("0", (0.0, 0.0)), ("3", (2.5, 3.5))):
        yield f"track offset {name} dB", {"offset_db": o}
    for loss in (0.0, 0.4):
        yield f"pass loss {loss:.1f}", {"loss": loss}
    for m in range(1, 6):
        yield f"shift {60 * m} d", {"shift_days": 60 * m}
    yield "fallow -15 dB", {"fallow_db": (-16.0, -14.0)}
    yield "fallow -21 dB", {"fallow_db": (-22.0, -20.0)}
    for c in ("seasonal_wetland", "pond", "orchard_flood_irrigated", "dryland_crop"):
        yield f"40 % {c}", {"shares": _heavy(rs.SAR_CLASSES, rs.SAR_SHARES, c)}


#: The rules' parameters for the whole sweep (``--optical-param``, ``--sar-param``: trying a change of
#: a rule); None: the defaults. Set by :func:`main`.
RULE_PARAMS: dict[str, Any] = {"optical": None, "sar": None}


def _optical_run(n: int, seed: int, kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, Any, int, Any]:
    from agromap.rice.rules_optical import optical_rice_rule

    ds, truth = rs.optical_points(n, seed=seed, **kw)
    pred = optical_rice_rule(ds, RULE_PARAMS["optical"]).rice_class.values
    return pred, rs.one_line_optical_baseline(ds.ndvi.values), truth, ds.sizes["time"], ds


def _sar_run(kind: str, vv: bool) -> Run:
    def run(n: int, seed: int, kw: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, Any, int, Any]:
        from agromap.rice.rules_sar import sar_rice_rule

        table, truth = rs.sar_points(n, kind, seed=seed, vv=vv, **kw)
        pred = sar_rice_rule(table, RULE_PARAMS["sar"]).rice_class.values
        vh = table["vh"] if vv else table  # the baseline reads VH alone, as it is defined
        # The ceiling reads what the rule reads: VH, and VV when the rule has it.
        return pred, rs.one_line_sar_baseline(vh.values), truth, vh.sizes["time"], table
    return run


def _errors(truth: Any, pred: np.ndarray) -> dict[str, int]:
    """Missed paddies and mapped non-rice points per class."""
    t, p = truth.rice.values == 1, pred == 1
    out = {"rice missed": int((t & ~p).sum())}
    for c in sorted(set(truth.cls) - {"rice"}):
        k = int((p & (truth.cls.values == c)).sum())
        if k:
            out[c] = k
    return out


def _verdict(row: dict[str, Any]) -> str:
    """``at ceiling`` (the rule within DATA_LIMITED_GAP of the ceiling: the supervised path does no
    better, the loss is the data's as far as the project's tools tell) or ``below ceiling``."""
    if row["ceiling_mean"] is None:
        return ""
    return "at ceiling" if row["gap_to_ceiling"] <= DATA_LIMITED_GAP else "below ceiling"


def sweep(label: str, settings: Iterator[tuple[str, dict[str, Any]]], run: Run, seeds: list[int],
          n: int, only: str, ceiling: str = "flagged", raw: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    table_oa = None
    print(f"\n{label}: rule / baseline OA (mean of seeds {','.join(map(str, seeds))}), worst seed's "
          "rule - baseline, rule - table; ceiling: the supervised path's cross-validated OA, gap = ceiling - rule")
    for name, kw in settings:
        if only and only not in name and name != "table":
            continue
        rule, base, dates, tables, rice = [], [], [], [], []
        errs: dict[str, int] = {}
        for seed in seeds:
            pred, b, truth, n_t, table = run(n, seed, kw)
            rule.append(rs.scores(pred, truth.rice.values)["oa"])
            base.append(rs.scores(b, truth.rice.values)["oa"])
            dates.append(n_t)
            tables.append(table)
            rice.append(truth.rice.values)
            for k, v in _errors(truth, pred).items():
                errs[k] = errs.get(k, 0) + v
        r, b_ = float(np.mean(rule)), float(np.mean(base))
        if table_oa is None:
            table_oa = r
        margin = float(min(np.subtract(rule, base)))
        flag = ("LOSS " if margin < 0 else "") + ("DROP" if r < table_oa - 0.05 else "")
        ceil: list[float] | None = None
        raw_oa: list[float] | None = None
        dropped = 0
        if ceiling == "all" or (ceiling == "flagged" and (flag or name == "table")):
            ceil = []
            raw_oa = [] if raw else None
            for table, y in zip(tables, rice, strict=True):
                optical = isinstance(table, xr.Dataset) and "ndvi" in table
                oa, d = ceiling_oa(optical_point_features(table) if optical else sar_point_features(table), y)
                ceil.append(oa)
                dropped += d
                if raw_oa is not None:
                    raw_oa.append(ceiling_oa(raw_point_series(table), y)[0])
        c = float(np.mean(ceil)) if ceil else None
        rw = float(np.mean(raw_oa)) if raw_oa else None
        row = {"sensor": label, "setting": name, "dates": dates, "rule_oa": rule, "baseline_oa": base,
               "rule_mean": r, "baseline_mean": b_, "worst_margin": margin, "vs_table": r - table_oa,
               "flag": flag.strip(), "errors": errs, "ceiling_oa": ceil, "ceiling_mean": c,
               "gap_to_ceiling": None if c is None else c - r, "ceiling_dropped": dropped,
               "raw_series_oa": raw_oa, "raw_series_mean": rw}
        row["verdict"] = _verdict(row) if flag else ""
        rows.append(row)
        per_seed = " ".join(f"{x:.3f}" for x in rule)
        ceil_txt = ("" if c is None else f"  ceiling {c:.3f} gap {c - r:+.3f}") + ("" if rw is None else f"  raw {rw:.3f}")
        print(f"  {name:<24} {r:.3f} / {b_:.3f}  margin {margin:+.3f}  vs table {r - table_oa:+.3f}{ceil_txt}  "
              f"[rule {per_seed}; {min(dates)}-{max(dates)} dates] {flag}")
        if flag:
            print("      errors (summed over seeds): " + ", ".join(f"{k} {v}" for k, v in errs.items())
                  + (f"; {row['verdict']}" if row["verdict"] else ""))
    return rows


def _summary(rows: list[dict[str, Any]]) -> None:
    """The flagged settings against their ceilings, and the fixed tables' rows."""
    keep = [r for r in rows if r["flag"] or r["setting"] == "table"]
    if not any(r["ceiling_mean"] is not None for r in keep):
        return
    print("\nflagged settings and fixed tables: rule / baseline / ceiling (gap = ceiling - rule)")
    for r in keep:
        c = "  -  " if r["ceiling_mean"] is None else f"{r['ceiling_mean']:.3f}"
        g = "" if r["gap_to_ceiling"] is None else f"{r['gap_to_ceiling']:+.3f}"
        rw = "" if r["raw_series_mean"] is None else f"  raw {r['raw_series_mean']:.3f}"
        print(f"  {r['sensor']:<20} {r['setting']:<32} {r['rule_mean']:.3f} / {r['baseline_mean']:.3f} / {c} "
              f"{g:>7}  {r['flag']:<9} {r['verdict']:<13}{rw}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.rice_stress", description=__doc__.splitlines()[0])
    ap.add_argument("--sensor", choices=("optical", "sar", "both"), default="both")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--points", type=int, default=600)
    ap.add_argument("--only", default="")
    ap.add_argument("--kinds", default="dense,sparse,four_track")
    ap.add_argument("--vv", action="store_true", help="SAR tables with VV too, read by the rule (the baseline reads VH)")
    ap.add_argument("--ceiling", choices=("flagged", "all", "none"), default="flagged",
                    help="the supervised ceiling on the fixed table and the flagged settings (default), on every "
                         "setting, or not at all")
    ap.add_argument("--raw", action="store_true",
                    help="with the ceiling, the same forest on each date's values (bench/rice_ceiling.py: "
                         "raw_point_series), a diagnostic of what the summary features leave out")
    ap.add_argument("--json", default="")
    ap.add_argument("--optical-param", action="append", default=[], metavar="NAME=VALUE",
                    help="an OpticalRiceParams field for this sweep (a JSON value), e.g. gap_days=60; repeatable")
    ap.add_argument("--sar-param", action="append", default=[], metavar="NAME=VALUE",
                    help="a SarRiceParams field for this sweep (a JSON value), e.g. vh_min_db=-19 or "
                         "cycle_last_pass_deep_db=null; repeatable")
    a = ap.parse_args(argv)
    for sensor, items in (("optical", a.optical_param), ("sar", a.sar_param)):
        try:
            RULE_PARAMS[sensor] = rule_params(sensor, items)
        except ValueError as exc:
            ap.error(str(exc))  # exit 2, as argparse's own usage errors
        if items:
            print(f"{sensor} rule parameters changed: " + ", ".join(items))
    seeds = [int(s) for s in a.seeds.split(",")]
    t0 = time.process_time()
    rows: list[dict[str, Any]] = []
    if a.sensor in ("optical", "both"):
        rows += sweep("optical", optical_settings(), _optical_run, seeds, a.points, a.only, a.ceiling, a.raw)
    if a.sensor in ("sar", "both"):
        for kind in a.kinds.split(","):
            label = f"SAR {kind}" + (" VH+VV" if a.vv else "")
            rows += sweep(label, sar_settings(), _sar_run(kind, a.vv), seeds, a.points, a.only, a.ceiling, a.raw)
    flagged = [r for r in rows if r["flag"]]
    _summary(rows)
    print(f"\n{len(flagged)} of {len(rows)} settings flagged; CPU {time.process_time() - t0:.1f} s")
    if a.json:
        tmp = a.json + ".partial"
        with open(tmp, "w") as f:
            json.dump(rows, f, indent=1)
        os.replace(tmp, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
