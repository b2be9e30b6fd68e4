"""Flood-map accuracy on hand-labelled Sentinel-1 chips, against the baselines a user could type.

``python -m agromap.disaster.evaluate [FOLDER ...]`` (or ``make flood-eval``) reads every
Sen1Floods11-style chip in the folders (``<chip>_S1Hand.tif``: VV and VH sigma0 in dB;
``<chip>_LabelHand.tif``: -1 not labelled, 0 not water, 1 water; optional ``<chip>_S2Hand.tif``)
and prints, per chip, the water IoU of

- **agromap**: :func:`~agromap.disaster.flood.flood_map` on the single post-event scene, VV+VH,
  every water class counted (the labels do not separate flood from permanent water);
- **agromap KI**: the same with Kittler-Illingworth splits instead of Otsu;
- **Otsu**: a plain global Otsu (``skimage.filters.threshold_otsu``) on the speckle-filtered VH;
- **VV < -15** and **VH < -22**: fixed thresholds on the unfiltered dB values;

and, on chips without labelled water, the false-alarm fraction (water pixels / labelled pixels)
instead. IoU = TP / (TP + FP + FN) over labelled pixels with finite VV and VH; "pooled" sums
TP and the union over every chip. A chip with an S2 image also gets an "agromap + S2" row
(MNDWI from B3 and B11 fused), the map the pipeline makes when the same day's optical scene is
given. Defaults: the chips shipped in ``sample_data``. Nothing is downloaded.

``--loco`` scores the region-growing settings of :data:`LOCO_GRID` on every chip and, for each
chip with water, the setting picked on the *other* chips (best pooled IoU among the settings that
keep each of them at or above its best baseline): how much of the accuracy is tuning on the chip.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import AgromapError, InputError
from ..io.read import open_band

__all__ = ["ChipScore", "METHODS", "WATER_CLASSES", "LOCO_GRID", "find_chips", "evaluate_chip", "evaluate",
           "leave_one_chip_out", "format_table", "main"]

#: Classes of ``flood_class`` that are water of some kind.
WATER_CLASSES = (1, 2, 3, 4, 5, 7, 8)
#: Column order of the table.
METHODS = ("agromap", "agromap KI", "Otsu VH", "VV < -15", "VH < -22")
_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIRS = (_ROOT / "sample_data" / "sen1floods11_india", _ROOT / "sample_data" / "sen1floods11_world_dev")


@dataclass(frozen=True)
class ChipScore:
    """Counts of one method on one chip: true positives, union, predicted water, labelled pixels."""

    chip: str
    method: str
    tp: int
    union: int
    predicted: int
    labelled: int
    water: int

    @property
    def iou(self) -> float:
        """Water IoU (NaN on a chip without labelled water)."""
        return self.tp / self.union if self.water else float("nan")

    @property
    def false_alarm(self) -> float:
        """Share of labelled not-water pixels mapped as water."""
        dry = self.labelled - self.water
        return (self.predicted - self.tp) / dry if dry else float("nan")


def find_chips(dirs: Sequence[Path]) -> list[tuple[str, Path]]:
    """``(chip, folder)`` for every ``<chip>_S1Hand.tif`` with its ``<chip>_LabelHand.tif``."""
    chips = []
    for d in dirs:
        if not Path(d).is_dir():
            raise InputError(f"{d} is not a folder; pass folders holding <chip>_S1Hand.tif and <chip>_LabelHand.tif.")
        for s1 in sorted(Path(d).glob("*_S1Hand.tif")):
            chip = s1.name[: -len("_S1Hand.tif")]
            if (s1.parent / f"{chip}_LabelHand.tif").is_file():
                chips.append((chip, s1.parent))
    if not chips:
        raise InputError(f"no <chip>_S1Hand.tif with a <chip>_LabelHand.tif in {', '.join(map(str, dirs))}.")
    return chips


def _maps(chip: str, folder: Path, chunk: int, ki: bool) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Binary water maps per method, the evaluation mask and the label water mask."""
    from skimage.filters import threshold_otsu

    from ..sensors.s1 import to_db
    from .flood import FloodParams, flood_map, speckle_filter
    from .threshold import SAR_VH, SAR_VV

    s1 = folder / f"{chip}_S1Hand.tif"
    vv, vh = (open_band(s1, b, name=n, nodata=float("nan"), chunk=chunk) for b, n in ((1, "vv"), (2, "vh")))
    label = open_band(folder / f"{chip}_LabelHand.tif", raw=True, name="label", chunk=chunk).values
    post = xr.Dataset({"vv": vv, "vh": vh})
    runs: dict[str, xr.Dataset] = {"agromap": flood_map(post, units="db")}
    if ki:
        kip = FloodParams(vv=dataclasses.replace(SAR_VV, split="ki"), vh=dataclasses.replace(SAR_VH, split="ki"))
        runs["agromap KI"] = flood_map(post, units="db", params=kip)
    s2 = folder / f"{chip}_S2Hand.tif"
    if s2.is_file():  # B3 (green) and B11 (SWIR 1.6 um) of the 13-band L1C chip, DN = reflectance x 1e4
        optical = xr.Dataset({"green": open_band(s2, 3, name="green", scale=1e-4, nodata=0, chunk=chunk),
                              "swir16": open_band(s2, 12, name="swir16", scale=1e-4, nodata=0, chunk=chunk)})
        runs["agromap + S2"] = flood_map(post, optical=optical, units="db")
    vh_db = to_db(speckle_filter(10 ** (vh / 10), FloodParams().single_scene_radius_m)).values
    vv_raw, vh_raw = vv.values, vh.values
    out = {k: np.isin(r.flood_class.values, WATER_CLASSES) for k, r in runs.items()}
    finite = vh_db[np.isfinite(vh_db)]
    out["Otsu VH"] = vh_db < threshold_otsu(finite)
    out["VV < -15"] = vv_raw < -15.0
    out["VH < -22"] = vh_raw < -22.0
    keep = (label >= 0) & np.isfinite(vv_raw) & np.isfinite(vh_raw)
    return out, keep, label == 1


def _counts(chip: str, method: str, m: np.ndarray, keep: np.ndarray, water: np.ndarray) -> ChipScore:
    w, p = water & keep, m & keep
    return ChipScore(chip, method, int((p & w).sum()), int((p | w).sum()), int(p.sum()), int(keep.sum()), int(w.sum()))


def evaluate_chip(chip: str, folder: Path, chunk: int = 512, ki: bool = True) -> list[ChipScore]:
    """Scores of every method on one chip (reads and computes it); ``ki=False`` skips "agromap KI"."""
    maps, keep, water = _maps(chip, folder, chunk, ki)
    return [_counts(chip, method, m, keep, water) for method, m in maps.items()]


def evaluate(dirs: Sequence[Path] = DEFAULT_DIRS, chunk: int = 512,
             progress: Callable[[str], None] | None = None, ki: bool = True) -> list[ChipScore]:
    """Scores of every method on every chip found in ``dirs``."""
    scores: list[ChipScore] = []
    for chip, folder in find_chips(dirs):
        if progress:
            progress(chip)
        scores += evaluate_chip(chip, folder, chunk, ki)
    return scores


def pooled_iou(scores: Sequence[ChipScore], method: str, substitute: dict[str, str] | None = None) -> float:
    """Pooled IoU of ``method`` over the chips with water; ``substitute`` maps chip -> method to use instead."""
    sub = substitute or {}
    by = {(s.chip, s.method): s for s in scores}
    chips = sorted({s.chip for s in scores if s.water})
    picked = [by.get((c, sub.get(c, method))) or by[(c, method)] for c in chips]
    return sum(s.tp for s in picked) / max(sum(s.union for s in picked), 1)


#: Growth settings compared by ``--loco`` (name -> FloodParams overrides); docs/flood.md has the wider grid.
LOCO_GRID: dict[str, dict[str, Any]] = {
    f"grow {g:g} dB, seeds {sd:g} dB, {'seeds' if fb else 'plain'} without fit":
        {"grow_db": g, "seed_db": sd, "seeds_without_fit": fb, "grow_px": 10}
    for g in (1.0, 2.0) for sd in (2.0, 2.5, 3.0) for fb in (False, True)
}


def leave_one_chip_out(dirs: Sequence[Path] = DEFAULT_DIRS, grid: dict[str, dict[str, Any]] | None = None,
                       chunk: int = 512, progress: Callable[[str], None] | None = None
                       ) -> tuple[list[ChipScore], list[tuple[str, str, float]]]:
    """Score every setting of ``grid`` (default :data:`LOCO_GRID`) on every chip, then, per chip
    with water, pick the setting with the best pooled IoU on the *other* chips among those keeping
    each of them at or above its best baseline, and score it on the held-out chip.

    Returns the scores (method = setting name, plus the baselines) and ``(held-out chip, picked
    setting, held-out IoU)`` rows.
    """
    from .flood import FloodParams, flood_map

    grid = LOCO_GRID if grid is None else grid
    scores: list[ChipScore] = []
    for chip, folder in find_chips(dirs):
        if progress:
            progress(chip)
        maps, keep, water = _maps(chip, folder, chunk, ki=False)
        scores += [_counts(chip, b, maps[b], keep, water) for b in METHODS[2:]]
        s1 = folder / f"{chip}_S1Hand.tif"
        post = xr.Dataset({n: open_band(s1, b, name=n, nodata=float("nan"), chunk=chunk)
                           for b, n in ((1, "vv"), (2, "vh"))})
        for name, over in grid.items():
            out = flood_map(post, units="db", params=FloodParams(**over))
            scores.append(_counts(chip, name, np.isin(out.flood_class.values, WATER_CLASSES), keep, water))
    by = {(s.chip, s.method): s for s in scores}
    wet = sorted({s.chip for s in scores if s.water})
    best_base = {c: max(by[(c, b)].iou for b in METHODS[2:]) for c in wet}
    rows = []
    for held in wet:
        others = [c for c in wet if c != held]
        ok = [g for g in grid if all(by[(c, g)].iou >= best_base[c] for c in others)] or list(grid)
        pick = max(ok, key=lambda g: sum(by[(c, g)].tp for c in others) / max(sum(by[(c, g)].union for c in others), 1))
        rows.append((held, pick, by[(held, pick)].iou))
    return scores, rows


def format_table(scores: Sequence[ChipScore]) -> str:
    """The per-chip table (IoU, or false alarms in % on chips without water) and the pooled IoU."""
    chips = list(dict.fromkeys(s.chip for s in scores))
    by = {(s.chip, s.method): s for s in scores}
    extra = [m for m in dict.fromkeys(s.method for s in scores) if m not in METHODS]
    present = {s.method for s in scores}
    cols = [m for m in METHODS if m in present] + extra
    lines = [f"{'chip':<16}{'water px':>9}  " + "".join(f"{c:>14}" for c in cols)]
    for chip in chips:
        first = next(s for s in scores if s.chip == chip)
        cells = []
        for c in cols:
            s = by.get((chip, c))
            cells.append("" if s is None else f"{s.iou:.3f}" if s.water else f"FA {100 * s.false_alarm:.2f}%")
        lines.append(f"{chip:<16}{first.water:>9}  " + "".join(f"{v:>14}" for v in cells))
    lines.append(f"{'pooled IoU':<16}{'':>9}  " + "".join(
        f"{pooled_iou(scores, c):>14.3f}" if all((ch, c) in by for ch in chips) else f"{'':>14}" for c in cols))
    fused = {s.chip: "agromap + S2" for s in scores if s.method == "agromap + S2"}
    if fused:
        lines.append(f"pooled IoU of agromap with S2 fused where a chip has it ({', '.join(fused)}): "
                     f"{pooled_iou(scores, 'agromap', fused):.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the table; exit 0, or the error's exit code (3: bad input)."""
    ap = argparse.ArgumentParser(prog="python -m agromap.disaster.evaluate", description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", type=Path, help="folders of Sen1Floods11-style chips (default: sample_data)")
    ap.add_argument("--chunk", type=int, default=512,
                    help="dask chunk size in pixels (default 512; any gives the same figures)")
    ap.add_argument("--loco", action="store_true",
                    help="leave-one-chip-out over the region-growing settings of LOCO_GRID (a few minutes)")
    args = ap.parse_args(argv)
    progress = lambda c: print(f"evaluating {c}...", file=sys.stderr)  # noqa: E731
    try:
        if args.loco:
            scores, rows = leave_one_chip_out(args.folders or DEFAULT_DIRS, chunk=args.chunk, progress=progress)
        else:
            scores = evaluate(args.folders or DEFAULT_DIRS, args.chunk, progress=progress)
    except AgromapError as e:
        print(f"agromap: error: {e}", file=sys.stderr)
        return e.exit_code
    if not args.loco:
        print(format_table(scores))
        return 0
    wet = sorted({s.chip for s in scores if s.water})
    print(f"{'setting':<48}" + "".join(f"{c[:14]:>15}" for c in wet) + f"{'pooled':>9}")
    by = {(s.chip, s.method): s for s in scores}
    for g in dict.fromkeys(s.method for s in scores):
        print(f"{g:<48}" + "".join(f"{by[(c, g)].iou:>15.3f}" for c in wet) + f"{pooled_iou(scores, g):>9.3f}")
    print("\nheld-out chip    IoU with the setting picked on the other chips")
    tp = union = 0
    for held, pick, iou in rows:
        tp, union = tp + by[(held, pick)].tp, union + by[(held, pick)].union
        print(f"{held:<16} {iou:.3f}  ({pick})")
    print(f"pooled over the held-out chips: {tp / max(union, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
