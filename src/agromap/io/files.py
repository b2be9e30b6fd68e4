"""Files written safely: atomic replacement, checksums, and the clean-up of what a killed run left.

Kept apart from the raster writers (:mod:`agromap.io.write`) and free of heavy imports, so the
command line can read and write run metadata without loading the array stack.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..errors import output_error

__all__ = [
    "RUN_LOCK_NAME", "PARTIAL_SUFFIX", "STAGING_SUFFIX", "atomic_write_bytes", "atomic_write_text",
    "clean_stale_partials", "sha256_file", "unlink_quietly", "remove_partial", "fsync_file", "fsync_dir",
    "CACHE_DIR_ENV", "machine_cache_dir", "file_stamp", "partial_path", "write_partial", "atomic_write_group",
    "folders_flushed_once", "write_new_file",
]  # fmt: skip

PARTIAL_SUFFIX = ".partial"
"""Name ending of a file being written; :func:`clean_stale_partials` removes those a killed run left."""
RUN_LOCK_NAME = ".agromap.lock"
"""The lock file that marks a folder as an agromap run's output folder."""
STAGING_SUFFIX = ".staging.tif"
"""Name ending of a run's uncompressed staging GeoTIFF, converted to a COG when its pixels are written."""


def sha256_file(path: str | os.PathLike[str], *, bufsize: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: a ``.partial`` file in the same directory, fsync, ``os.replace``.

    The temporary name carries the pid, so :func:`clean_stale_partials` removes what a killed
    process left; a reader never sees a half-written file at ``path``. The temporary file is
    created exclusively and never through a symbolic link, and the rename replaces a link at
    ``path`` instead of writing where it points. OS failures (disk full, permission denied,
    read-only, name too long) become :class:`~agromap.errors.OutputError` (exit code 7).

    ``durable=False``: neither the file nor its folder is flushed to disk, for caches whose reader
    treats an empty or unreadable entry as missing: a reader still never sees a half-written file,
    but a crash of the machine may leave an empty one.
    """
    final = Path(path)
    tmp = partial_path(final)
    _write_new(tmp, data, final, flush=durable)
    with _removed_on_failure(tmp, final):
        os.replace(tmp, final)
    if durable:
        _flush_folder(final.parent)


def write_new_file(directory: str | os.PathLike[str], stem: str, suffix: str, data: bytes) -> Path:
    """Write ``data`` atomically to ``directory/<stem><suffix>``, or ``<stem>-2<suffix>``, ``-3``, ...
    when that name is taken; returns the path written. Never replaces an existing file.

    Results named by a timestamp (a benchmark run) collide when two runs finish in the same second:
    the name is claimed with a hard link, which fails on an existing name instead of overwriting it.
    """
    folder = Path(directory)
    first = folder / f"{stem}{suffix}"
    tmp = partial_path(first)
    _write_new(tmp, data, first)
    try:
        for n in itertools.count(1):
            final = first if n == 1 else folder / f"{stem}-{n}{suffix}"
            try:
                os.link(tmp, final)
            except FileExistsError:
                continue
            except OSError as exc:
                raise output_error(exc, final) from None
            _flush_folder(folder)
            return final
        raise AssertionError("unreachable")  # itertools.count never ends
    finally:
        unlink_quietly(tmp)


def atomic_write_group(files: Sequence[tuple[Path, bytes]], *, first: int = 0) -> None:
    """Write several files atomically, as :func:`atomic_write_bytes` writes one: each to a new
    ``.partial`` name beside it, flushed to disk, then renamed into place, in the order given.

    The files are written and flushed at once, on threads, so that their waits for the disk
    overlap (flushes under way together share the file system's journal commits); each folder is
    then flushed once after the renames. Nothing is renamed until every file is on disk: a failure
    while writing leaves none of them, nor any ``.partial`` name.

    ``first``: the first ``first`` files are renamed and their folders flushed before any other is
    renamed, for files the others refer to (the collections a catalog links to).
    """
    if len(files) < 2:
        for path, data in files:
            atomic_write_bytes(path, data)
        return
    from concurrent.futures import ThreadPoolExecutor

    tmps = [partial_path(path) for path, _ in files]
    pool = ThreadPoolExecutor(len(files), thread_name_prefix="agromap-write")
    try:
        written = [pool.submit(write_partial, path, data, tmp) for tmp, (path, data) in zip(tmps, files)]
        for f in written:
            f.result()
        pool.shutdown()
        for i, (tmp, (path, _)) in enumerate(zip(tmps, files)):
            if i == first and first:
                for folder in dict.fromkeys(Path(p).parent for p, _ in files[:first]):
                    fsync_dir(folder)  # not held back (folders_flushed_once): the others refer to these
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise output_error(exc, Path(path)) from None
    except BaseException:
        # Also a signal's exception (SIGTERM, Ctrl-C) while the writes run: every write has ended
        # (or never started) before the clean-up, so none creates its name after it.
        pool.shutdown(wait=True, cancel_futures=True)
        for tmp in tmps:
            unlink_quietly(tmp)  # those not yet renamed
        raise
    for folder in dict.fromkeys(Path(path).parent for path, _ in files[first:] or files):
        _flush_folder(folder)


_DEFERRED = threading.local()
"""Per thread: the folders whose flush :func:`folders_flushed_once` holds back, or none."""


@contextlib.contextmanager
def folders_flushed_once() -> Iterator[None]:
    """Within the block, the atomic writes of this thread flush each file before its rename as
    always, but leave the flush of its folder (what makes the rename itself durable) to the end of
    the block, which flushes each folder once, also when the block fails.

    For a series of files written one after the other whose order on disk after a crash does not
    matter: any of their renames may be lost by a crash before the block ends, each leaving the
    previous file (or none) at its path, never a partial one.
    """
    outer = getattr(_DEFERRED, "folders", None)
    if outer is not None:  # nested: the outer block flushes
        yield
        return
    folders: dict[Path, None] = {}
    _DEFERRED.folders = folders
    try:
        yield
    finally:
        _DEFERRED.folders = None
        for folder in folders:
            fsync_dir(folder)


def _flush_folder(folder: Path) -> None:
    folders = getattr(_DEFERRED, "folders", None)
    if folders is None:
        fsync_dir(folder)
    else:
        folders[folder] = None


def partial_path(path: str | os.PathLike[str]) -> Path:
    """A new ``.partial`` name beside ``path`` (hidden, with this process's pid), as every
    temporary file of an output is named: :func:`clean_stale_partials` removes what a killed run left.
    """
    final = Path(path)
    return final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")


def write_partial(path: str | os.PathLike[str], data: bytes, tmp: Path | None = None) -> Path:
    """Write ``data`` to a new ``.partial`` file beside ``path`` (``tmp``, or :func:`partial_path`)
    and flush it to disk; returns its name, for the caller to rename onto ``path`` when it chooses.

    The file is created exclusively and never through a symbolic link; on failure nothing is left,
    and OS errors become :class:`~agromap.errors.OutputError` naming ``path``.
    """
    final = Path(path)
    tmp = partial_path(final) if tmp is None else tmp
    _write_new(tmp, data, final)
    return tmp


def _write_new(tmp: Path, data: bytes, final: Path, *, flush: bool = True) -> None:
    with _removed_on_failure(tmp, final):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if flush:
                f.flush()
                os.fsync(f.fileno())


@contextlib.contextmanager
def _removed_on_failure(tmp: Path, final: Path) -> Iterator[None]:
    """Remove the temporary ``tmp`` when the block fails; an OS error becomes an
    :class:`~agromap.errors.OutputError` naming ``final``, the file the user asked for.
    """
    try:
        yield
    except OSError as exc:
        unlink_quietly(tmp)
        raise output_error(exc, final) from None
    except BaseException:
        unlink_quietly(tmp)
        raise


def unlink_quietly(path: Path) -> None:
    """Remove ``path`` if it exists, ignoring OS errors (clean-up after a failure must not mask it)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", durable: bool = True) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding), durable=durable)


def clean_stale_partials(
    directory: str | os.PathLike[str],
    *,
    keep_run_id: str | None = None,
    include_live: bool = False,
    recursive: bool = True,
) -> list[Path]:
    """Remove ``.partial`` and staging files left by crashed runs in ``directory``.

    Call it while holding the output directory's lock, so no other run is writing there.

    Parameters
    ----------
    directory : path
        Output directory.
    recursive : bool
        Also clean sub-directories (per-area folders).
    keep_run_id : str, optional
        Staging files of this run (``staging_path_for(..., run_id)``) are kept.
    include_live : bool
        Also remove ``.partial`` files whose writing process still runs (default: keep them).

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed: list[Path] = []
    root = Path(directory)
    for p in (_walk_own(root) if recursive else root.glob(".*")):
        if not p.is_file():
            continue
        # GDAL's COG driver computes overviews into "<partial>.ovr.tmp" (and ".msk.ovr.tmp")
        # beside the file it writes; a run killed meanwhile leaves them as it leaves the partial.
        name = next((p.name[: -len(s)] for s in _COG_SCRATCH if p.name.endswith(PARTIAL_SUFFIX + s)), p.name)
        if name.endswith(PARTIAL_SUFFIX):
            pid = name[: -len(PARTIAL_SUFFIX)].rsplit(".", 2)
            if not include_live and len(pid) == 3 and pid[1].isdigit() and _pid_alive(int(pid[1])):
                continue
        elif p.name.endswith(STAGING_SUFFIX) or p.name.endswith(STAGING_SUFFIX + ".aux.xml"):
            if keep_run_id is not None and f".{keep_run_id}{STAGING_SUFFIX}" in p.name:
                continue
        else:
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


_COG_SCRATCH = (".msk.ovr.tmp", ".ovr.tmp")  # the longer first


def _walk_own(root: Path) -> Iterator[Path]:
    """Hidden files under ``root``, not descending into another run's output folder (one with
    its own lock file), whose live staging files are that run's business.
    """
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not (here / d / RUN_LOCK_NAME).exists()
                       and not (here / d).is_symlink()]
        for name in filenames:
            if name.startswith("."):
                yield here / name


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only checks existence; PermissionError means it exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_partial(tmp: Path) -> None:
    """Remove a partial raster and the ``.aux.xml`` sidecar GDAL may have written next to it."""
    for p in (tmp, Path(f"{tmp}.aux.xml")):
        p.unlink(missing_ok=True)


def fsync_file(path: Path) -> None:
    """Flush a written file to disk before it is renamed into place."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(directory: Path) -> None:
    """Flush ``directory`` so a rename into it survives a crash; a no-op where the OS refuses it."""
    # Makes the rename itself durable; some filesystems refuse fsync on directories.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


CACHE_DIR_ENV = "AGROMAP_CACHE_DIR"
"""Environment variable naming the folder of the user's machine caches (input checksums, raster
headers); set empty, no such cache."""


def machine_cache_dir() -> Path | None:
    """The folder of the machine's caches, or ``None`` when ``AGROMAP_CACHE_DIR`` is set empty."""
    chosen = os.environ.get(CACHE_DIR_ENV)
    if chosen is not None:
        return Path(chosen).expanduser() if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agromap"


def file_stamp(st: os.stat_result) -> dict[str, int]:
    """What identifies a file's contents for the machine caches without reading it: size,
    modification and change time (ns), inode and device. No user can set the change time, and any
    write or rename over the file changes it.
    """
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino,
            "device": st.st_dev}
