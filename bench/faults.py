"""Fault campaign: kill and terminate real runs at random moments, race them, re-run them many times.

``make soak`` (or ``python -m bench.faults --kills 20 --terms 20 --concurrent 20 --runs 200``)
runs the real ``agromap`` command line on a random two-band scene and checks, after every fault,
what a user would rely on. The faults are spread over the three phases of a run in turn: the
compute (a staging file exists), the publish (a validated COG is being written or renamed into
place) and the metadata writing (STAC items, quicklooks, tables, catalog, manifest, report). Each
fault waits for its phase to begin, then for a random fraction of that phase's duration as
measured on a calibration run, so the moments are random inside every phase, not only in the
long compute. What is checked:

* every file at a final path is complete: each COG is byte-identical to a reference run's, and each
  STAC item, collection and catalog parses;
* ``manifest.json`` is either absent or matches the files next to it (checksums);
* after SIGTERM: exit 143, no staging or partial file left, the lock released;
* the next plain run exits 0 and restores everything, byte-identical to the reference.

It then races ``--concurrent`` runs on one fresh folder (one writes, the others exit 5 or reuse)
and makes ``--runs`` incremental re-runs (nothing recomputed, exit 0). Figures are printed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import rasterio
import yaml
from rasterio.transform import from_origin


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _scene(work: Path, n: int) -> Path:
    rng = np.random.default_rng(11)
    bands = {}
    for band in ("red", "nir"):
        path = work / f"{band}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="uint16", nodata=0,
                           crs="EPSG:32643", transform=from_origin(500_000, 2_000_000, 10, 10), tiled=True,
                           blockxsize=512, blockysize=512, compress="deflate") as dst:
            dst.write(rng.integers(1, 9000, (1, n, n), dtype=np.uint16))
        bands[band] = str(path)
    cfg = {"version": 1, "name": "faults", "scheduler": "threads", "areas": [{
        "name": "a", "inputs": [{"kind": "files", "datetime": "2021-01-01", "bands": bands}],
        "layers": [{"product": "ndvi"}, {"product": "savi"}, {"product": "ndvi", "time": "max"}]}]}
    path = work / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _agromap(cfg: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agromap", "run", str(cfg), "--out", str(out), *extra]


PHASES = ("compute", "publish", "metadata")


def _finals(out: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every published file: a rename into place changes the inode."""
    found = {}
    for p in out.rglob("*"):
        if p.is_file() and not p.name.startswith(".") and ".agromap" not in p.parts:
            st = p.stat()
            found[str(p.relative_to(out))] = (st.st_ino, st.st_mtime_ns)
    return found


def _phase(out: Path, before: dict[str, tuple[int, int]]) -> str | None:
    """The latest phase a run writing ``out`` has reached, judged from the files alone."""
    try:
        now = _finals(out)
        hidden = [p.name for p in out.rglob(".*")]
    except OSError:  # a file renamed away while walking: look again
        return None
    changed = {k for k, v in now.items() if before.get(k) != v}
    if any(not k.endswith(".tif") for k in changed):
        return "metadata"
    if changed or any(n.endswith(".partial") and ".tif." in n for n in hidden):
        return "publish"
    if any(n.endswith(".staging.tif") for n in hidden):
        return "compute"
    return None


def _wait_phase(proc: subprocess.Popen, out: Path, before: dict[str, tuple[int, int]], phase: str) -> float | None:
    """Poll until ``proc`` reaches ``phase`` (or a later one); the time it did, or None if it ended first."""
    rank = PHASES.index(phase)
    while proc.poll() is None:
        now = _phase(out, before)
        if now is not None and PHASES.index(now) >= rank:
            return time.perf_counter()
        time.sleep(0.002)
    return None


def _calibrate(cfg: Path, out: Path) -> dict[str, float]:
    """Duration of each phase of a forced re-run into ``out`` (seconds)."""
    before = _finals(out)
    t0 = time.perf_counter()
    proc = subprocess.Popen(_agromap(cfg, out, "--force"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    starts = {p: _wait_phase(proc, out, before, p) for p in PHASES}
    proc.wait()
    end = time.perf_counter()
    marks = [starts[p] or end for p in PHASES] + [end]
    durations = {p: max(marks[i + 1] - marks[i], 0.001) for i, p in enumerate(PHASES)}
    durations["before"] = (starts["compute"] or end) - t0
    return durations


def _check(out: Path, ref: dict[str, str]) -> list[str]:
    """What is wrong in ``out`` right now (empty list: consistent)."""
    problems = []
    for tif in out.rglob("*.tif"):
        if tif.name.startswith("."):
            continue
        rel = str(tif.relative_to(out))
        if _sha(tif) != ref.get(rel):
            problems.append(f"{rel}: differs from the reference")
    for doc in out.rglob("*.json"):
        if doc.name.startswith(".") or ".agromap" in doc.parts:
            continue
        try:
            json.loads(doc.read_bytes())
        except ValueError:
            problems.append(f"{doc.relative_to(out)}: not valid JSON")
    manifest = out / "manifest.json"
    if manifest.exists():
        for entry in json.loads(manifest.read_bytes())["outputs"]:
            if not (out / entry["path"]).exists() or _sha(out / entry["path"]) != entry["sha256"]:
                problems.append(f"manifest.json: stale checksum for {entry['path']}")
    return problems


def _sigterm_problems(returncode: int, err: str, out: Path) -> list[str]:
    """What a SIGTERM-ed run did wrong: exit code, traceback, not one error line, files left behind."""
    problems = []
    if returncode not in (0, 143):
        problems.append(f"exit {returncode}: {err.strip().splitlines()[-1:]}")
    if "Traceback" in err:
        problems.append("traceback on SIGTERM")
    errors = [line for line in err.splitlines() if line.startswith("agromap: error:")]
    if returncode == 143 and len(errors) != 1:
        problems.append(f"SIGTERM printed {len(errors)} error lines, not one")
    left = [p.name for p in out.rglob(".*") if p.name.endswith((".partial", ".staging.tif"))]
    if left:
        problems.append(f"left behind: {left}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--terms", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=20)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=None, help="Keep the scene and outputs in this folder.")
    args = ap.parse_args(argv)
    rnd = random.Random(args.seed)
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="agromap-faults-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cfg = _scene(work, args.size)
        ref_out = work / "ref"
        t = time.perf_counter()
        subprocess.run(_agromap(cfg, ref_out), check=True, capture_output=True)
        full = time.perf_counter() - t
        ref = {str(p.relative_to(ref_out)): _sha(p) for p in ref_out.rglob("*.tif") if not p.name.startswith(".")}
        print(f"reference run: {len(ref)} COGs in {full:.1f} s")

        out = work / "out"
        subprocess.run(_agromap(cfg, out), check=True, capture_output=True)
        durations = _calibrate(cfg, out)
        print("phases of a forced re-run: " + ", ".join(f"{k} {v:.2f} s" for k, v in durations.items()))
        codes: Counter[str] = Counter()
        signals = [signal.SIGKILL] * args.kills + [signal.SIGTERM] * args.terms
        for i, sig in enumerate(signals):
            phase = PHASES[i % len(PHASES)]
            before = _finals(out)
            proc = subprocess.Popen(_agromap(cfg, out, "--force"), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            reached = _wait_phase(proc, out, before, phase)
            if reached is not None:
                time.sleep(rnd.uniform(0.0, durations[phase]))
            proc.send_signal(sig)
            _, err = proc.communicate()
            codes[f"{signal.Signals(sig).name} in {phase} -> {proc.returncode}"] += 1
            problems = _check(out, ref)
            if sig == signal.SIGTERM:
                problems += _sigterm_problems(proc.returncode, err, out)
            rerun = subprocess.run(_agromap(cfg, out, "--wait-lock", "30"), capture_output=True, text=True)
            if rerun.returncode != 0:
                problems.append(f"re-run exit {rerun.returncode}: {rerun.stderr.strip().splitlines()[-1:]}")
            problems += _check(out, ref)
            if set(ref) - {str(p.relative_to(out)) for p in out.rglob("*.tif") if not p.name.startswith(".")}:
                problems.append("re-run did not restore every COG")
            if not (out / "manifest.json").is_file():
                problems.append("re-run left no manifest.json")
            failures += [f"fault {i} ({signal.Signals(sig).name} in {phase}): {p}" for p in problems]
        print("faults (signal in phase -> exit code: count):", dict(sorted(codes.items())),
              f"-> {len(failures)} problem(s)")

        race = work / "race"
        procs = [subprocess.Popen(_agromap(cfg, race), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(args.concurrent)]
        race_codes = Counter(p.wait() for p in procs)
        print(f"{args.concurrent} concurrent runs on one folder: exit codes {dict(race_codes)}")
        if set(race_codes) - {0, 5} or race_codes[0] < 1:
            failures.append(f"race: exit codes {dict(race_codes)}")
        failures += [f"race: {p}" for p in _check(race, ref)]

        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            r = subprocess.run(_agromap(cfg, out), capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            if r.returncode != 0 or "0 computed" not in r.stderr:
                failures.append(f"incremental run: exit {r.returncode}")
        if times:
            print(f"{args.runs} incremental re-runs: median {np.median(times):.2f} s, max {max(times):.2f} s, "
                  f"{sum(1 for f in failures if f.startswith('incremental'))} failed")
        failures += [f"after soak: {p}" for p in _check(out, ref)]
    for f in failures[:50]:
        print("FAIL", f)
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
