"""The no-op re-run: when nothing a run depends on has changed, leave the output folder alone.

A nightly ``agromap run`` mostly finds its inputs unchanged. Deciding that through the full
plan (open every header, build the lazy graph, read every output's recipe tag, rewrite tables,
catalog and report) costs seconds and the whole array stack's import. This module decides it
from file system metadata alone, the way ``make`` does, but with the stricter stamp that
:class:`~agromap.pipeline.checksums.FileHashes` uses: size, modification time, change time and
inode. Nobody can set a file's change time, and any write or rename changes it, so an equal
stamp means an untouched file.

After every complete local run, the stamps of everything the run depended on are kept in
``<out>/.agromap/unchanged.json``:

- every input file, and every folder that holds one (a file added, removed or renamed there
  changes the folder's stamp, which covers ``folder`` inputs and GDAL side-car files);
- every local path the configuration names (district files, reference samples, models, input
  folders and all their sub-folders), with the files beside it that share its stem
  (a shapefile's ``.dbf``, a model's ``.json`` side-car);
- every file of the output folder (layers, items, quicklooks, tables, catalog, manifest, report).

The next run with the same configuration and agromap version compares them; if all are equal
it returns the published manifest and writes nothing. Anything different, missing or
unreadable falls back to the full run, which then decides layer by layer from the recipes.
Runs with remote inputs (STAC searches, URLs) are never short-cut: only the server knows
whether they changed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._version import __version__
from ..io.files import RUN_LOCK_NAME, atomic_write_text
from ..io.remote import is_remote

__all__ = ["STATE_FILE", "config_hash", "forget", "record", "remember_lines", "remembered_lines", "unchanged_manifest",
           "unchanged_run"]

STATE_FILE = Path(".agromap") / "unchanged.json"
_LINES_FILE = Path(".agromap") / "key-figures.json"
_MAX_WATCHED = 20_000
"""Beyond this many stamps (a configuration naming a huge folder), keep no state: the full
run's recipes decide, which stays correct."""


def config_hash(cfg: Any) -> str:
    """SHA-256 of the validated configuration, canonical JSON (key order and spacing do not count)."""
    canonical = json.dumps(cfg.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stamp(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)


def _config_paths(cfg: Any) -> tuple[set[str], bool]:
    """Local paths the configuration names (with their sub-folders and same-stem siblings), and
    whether it names anything remote.
    """
    paths: set[str] = set()
    remote = False
    for text in _strings(cfg.model_dump(mode="json")):
        if not text or "\n" in text or len(text) > 4096:
            continue
        if is_remote(text):
            remote = True
            continue
        p = cfg.resolve(text)
        try:
            exists = p.exists()
        except OSError:
            continue
        if not exists:
            continue
        paths.add(str(p))
        if p.is_dir():
            for dirpath, dirnames, _ in os.walk(p):
                paths.update(os.path.join(dirpath, d) for d in dirnames)
                if len(paths) > _MAX_WATCHED:
                    break
        elif p.parent.is_dir():
            paths.update(str(s) for s in p.parent.glob(f"{p.stem}.*") if s.is_file())
    return paths, remote


def _output_files(out: Path) -> set[str]:
    files: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(out):
        if Path(dirpath) == out:
            dirnames[:] = [d for d in dirnames if d != STATE_FILE.parent.name]
        files.update(os.path.join(dirpath, f) for f in filenames if f != RUN_LOCK_NAME)
    return files


def forget(out: Path) -> None:
    """Drop the kept stamps: called before a run changes anything in ``out``."""
    try:
        (out / STATE_FILE).unlink(missing_ok=True)
    except OSError:
        pass


def record(cfg: Any, out: Path, cfg_hash: str, plans: Iterable[Any]) -> None:
    """Keep the stamps of everything the run just completed in ``out`` depended on.

    Called last, with the run's lock held, with the run's area plans (their scenes name the
    input files). Nothing is kept for a run with remote inputs or a configuration naming more
    than ``_MAX_WATCHED`` paths.
    """
    plans = list(plans)
    sources = [part for plan in plans for scene in plan.scenes for band in scene.bands.values()
               for part in str(band.attrs.get("source", "")).split(";") if part]
    named, named_remote = _config_paths(cfg)
    if named_remote or any(is_remote(s) for s in sources):
        return
    inputs = {str(Path(f).resolve()) for plan in plans for f in plan.input_files}
    watched = named | inputs | {os.path.dirname(f) for f in inputs} | _output_files(out)
    if len(watched) > _MAX_WATCHED:
        return
    stamps = {p: _stamp(p) for p in sorted(watched)}
    if any(s is None for s in stamps.values()):
        return
    state = {"agromap_version": __version__, "config_sha256": cfg_hash, "stamps": stamps}
    (out / STATE_FILE).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / STATE_FILE, json.dumps(state, separators=(",", ":")))


def unchanged_manifest(cfg: Any, out: Path, cfg_hash: str) -> dict[str, Any] | None:
    """The published manifest of ``out`` when nothing the last run depended on has changed since,
    with every output marked ``reused``; ``None`` when a full run must decide.

    Call it with the run's lock held. It reads stamps and two small JSON files, and writes nothing.
    """
    try:
        state = json.loads((out / STATE_FILE).read_bytes())
        manifest = json.loads((out / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return None
    if not (isinstance(state, dict) and isinstance(manifest, dict)):
        return None
    if state.get("agromap_version") != __version__ or state.get("config_sha256") != cfg_hash \
            or manifest.get("config_sha256") != cfg_hash:
        return None
    stamps = state.get("stamps")
    if not isinstance(stamps, dict) or not stamps:
        return None
    if any(_stamp(p) != s for p, s in stamps.items()):
        return None
    # A configuration path that did not exist last time (a district file put in place since) or a
    # new file in the output folder that the last run did not leave (say, a stale partial) is a change.
    if not _config_paths(cfg)[0] <= stamps.keys() or not _output_files(out) <= stamps.keys():
        return None
    reused = copy.deepcopy(manifest)
    for entry in reused.get("outputs") or []:
        entry["reused"] = True
    return reused


def unchanged_run(cfg: Any, out: Path, *, scheduler: str | None = None, wait_lock: float = 0.0) -> dict[str, Any] | None:
    """What ``agromap run`` checks before loading anything else: the manifest of an unchanged
    ``out`` (see :func:`unchanged_manifest`), or ``None`` when the full run must go ahead.

    Usage errors are the full run's: a bad scheduler name or ``--wait-lock`` (exit 2), another
    run holding the folder (exit 5, or wait up to ``wait_lock`` seconds).
    """
    from .lock import output_lock
    from .preflight import check_wait
    from .scheduler import check_scheduler

    check_scheduler(scheduler or cfg.scheduler)
    wait = check_wait(wait_lock)
    try:
        kept = (out / STATE_FILE).is_file()
    except OSError:  # a name too long, a folder not searchable: the full run says what is wrong
        return None
    if not kept:
        return None
    with output_lock(out, wait=wait):
        return unchanged_manifest(cfg, out, config_hash(cfg))


def remember_lines(out: Path, run_id: Any, lines: list[str]) -> None:
    """Keep the console's key figures of the run that published ``out``'s manifest: reading them
    back costs the raster and vector stack, which an unchanged re-run has no other use for.
    """
    try:
        (out / _LINES_FILE).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / _LINES_FILE, json.dumps({"run_id": run_id, "lines": lines}))
    except Exception:  # a cache: failing to keep it costs time on the next run, nothing else
        pass


def remembered_lines(out: Path, run_id: Any) -> list[str] | None:
    """The key figures kept for the manifest of run ``run_id``, or ``None``."""
    try:
        kept = json.loads((out / _LINES_FILE).read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("run_id") != run_id or not isinstance(kept.get("lines"), list):
        return None
    return [str(line) for line in kept["lines"]]
