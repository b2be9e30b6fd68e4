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
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import AgromapError, InputError
from ..io.read import open_band

__all__ = ["ChipScore", "METHODS", "WATER_CLASSES", "find_chips", "evaluate_chip", "evaluate", "format_table", "main"]

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


def evaluate_chip(chip: str, folder: Path, chunk: int = 512, ki: bool = True) -> list[ChipScore]:
    """Scores of every method on one chip (reads and computes it); ``ki=False`` skips "agromap KI"."""
    maps, keep, water = _maps(chip, folder, chunk, ki)
    w = water & keep
    scores = []
    for method, m in maps.items():
        p = m & keep
        scores.append(ChipScore(chip, method, int((p & w).sum()), int((p | w).sum()), int(p.sum()),
                                int(keep.sum()), int(w.sum())))
    return scores


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
    args = ap.parse_args(argv)
    try:
        scores = evaluate(args.folders or DEFAULT_DIRS, args.chunk,
                          progress=lambda c: print(f"evaluating {c}...", file=sys.stderr))
    except AgromapError as e:
        print(f"agromap: error: {e}", file=sys.stderr)
        return e.exit_code
    print(format_table(scores))
    return 0


if __name__ == "__main__":
    sys.exit(main())
