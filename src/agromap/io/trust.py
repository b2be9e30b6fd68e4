"""What agromap agrees to read: regular local files, inside the folder that points at them.

Inputs come from configurations, STAC items and tables written by someone else. A path is
checked *before* it is opened, by its file type (``os.stat`` never blocks, opening a named pipe
does) and by where it points, so a pipe, a device, a network URL or a link out of a product
folder is refused with a one-line error instead of hanging, reading gigabytes or calling out.

Two things are refused unless the run allows them (:class:`InputPolicy`): network reads (URLs
and every GDAL ``/vsi...`` path) and STAC asset hrefs outside the item's folder. A configuration
opts in with ``allow_remote: true`` / ``allow_outside_paths: true`` (or ``agromap run
--allow-remote`` / ``--allow-outside-paths``); Python code with ``with allow_inputs(remote=True):``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnsafeInputError
from .remote import is_remote

__all__ = ["is_remote", "offline", "check_regular_file", "check_local_input", "check_remote", "confine",
           "InputPolicy", "input_policy", "allow_inputs"]


@dataclass(frozen=True)
class InputPolicy:
    """What a run may read beyond local files inside the folders that name them.

    Attributes
    ----------
    allow_remote : bool
        Network reads: ``http(s)://``, ``s3://``... hrefs, STAC API searches and GDAL virtual file
        systems (``/vsicurl/``, ``/vsis3/``, also ``/vsizip/`` and the other ``/vsi...`` paths,
        which can reach a network or hide a file's real size).
    allow_outside_paths : bool
        Local STAC asset hrefs outside the item's folder (and its ``asset_root``).
    """

    allow_remote: bool = False
    allow_outside_paths: bool = False


_POLICY: ContextVar[InputPolicy] = ContextVar("agromap_input_policy", default=InputPolicy())


def input_policy() -> InputPolicy:
    """The policy in force (the default refuses remote reads and outside paths)."""
    return _POLICY.get()


@contextmanager
def allow_inputs(*, remote: bool = False, outside_paths: bool = False) -> Iterator[InputPolicy]:
    """Allow remote reads and/or outside paths while planning inputs (the checks run at planning time).

    Examples
    --------
    >>> from agromap.io.trust import allow_inputs
    >>> with allow_inputs(remote=True):
    ...     pass  # load_stac("https://earth-search.aws.element84.com/v1", ...)
    """
    token = _POLICY.set(InputPolicy(allow_remote=remote, allow_outside_paths=outside_paths))
    try:
        yield _POLICY.get()
    finally:
        _POLICY.reset(token)


#: A GDAL virtual file system path, alone or inside a connection string (``GPKG:/vsizip/a.zip/b.gpkg:t``).
_VSI = re.compile(r"(^|[:\"'])/vsi[a-z0-9_]+/", re.IGNORECASE)

_ENABLE_REMOTE = ("set allow_remote: true in the run configuration (or agromap run --allow-remote) to read it "
                  "over the network, or download it and give the local path (for a STAC item's assets: its asset_root)")


def check_remote(href: str | os.PathLike[str], what: str = "input") -> str:
    """Refuse a network path or GDAL ``/vsi...`` path unless remote reads are allowed (and not offline).

    Returns ``href`` as text when it is local or allowed.

    Raises
    ------
    UnsafeInputError
        Remote reads are not enabled, or ``AGROMAP_OFFLINE`` is set.
    """
    text = os.fspath(href)
    if not (is_remote(text) or _VSI.search(text)):
        return text
    if offline():
        raise UnsafeInputError(f"{text}: {what} is a network path and AGROMAP_OFFLINE is set, so agromap reads local "
                               "files only; download it and give the local path (or a STAC item's asset_root).")
    if not input_policy().allow_remote:
        raise UnsafeInputError(f"{text}: {what} is a network or GDAL /vsi path and remote inputs are not enabled; "
                               f"{_ENABLE_REMOTE}.")
    return text

#: Set (to 1/true/yes) to forbid every network read, declared or not: an air-gapped site, or a
#: run on items and tables written by someone else that must not make this machine call out.
OFFLINE_ENV = "AGROMAP_OFFLINE"


def offline() -> bool:
    """True when the operator configured offline operation (``AGROMAP_OFFLINE=1``)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def check_regular_file(path: str | os.PathLike[str], what: str = "input") -> Path:
    """Refuse anything but a regular file (a symlink to one is fine), without opening it.

    A named pipe would block the reader forever and ``/dev/zero`` would be read until memory
    runs out, so the file type is checked with ``stat`` first. A missing path is returned as is
    (the reader reports it in its own words).

    Raises
    ------
    UnsafeInputError
        A directory, pipe, socket or device.
    """
    p = Path(path)
    try:
        os.fspath(p).encode("utf-8")
    except UnicodeEncodeError:  # GDAL, STAC and the manifest need text names
        raise UnsafeInputError(f"{os.fsencode(p)!r}: {what} name is not UTF-8; rename the file.") from None
    try:
        mode = os.stat(p).st_mode
    except OSError:
        return p
    if stat.S_ISREG(mode):
        return p
    kind = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    raise UnsafeInputError(f"{p}: {what} is {kind}, not a regular file; give the path of a file on disk.")


def check_local_input(name: str | os.PathLike[str], what: str = "input") -> str:
    """Check a raster name before GDAL sees it: local unless remote reads are allowed, a regular file.

    GDAL connection strings (``GPKG:file.gpkg:table``, ``NETCDF:"f.nc":var``) are checked for
    network and ``/vsi`` paths; a plain path is also checked by :func:`check_regular_file`.
    """
    text = check_remote(name, what)
    if not text.startswith("/vsi"):
        check_regular_file(text, what)
    return text


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str] | list[str | os.PathLike[str]],
            what: str = "file", *, allow_outside: bool | None = None) -> Path:
    """``path`` resolved, refused if it lies outside ``root`` (symbolic links and ``..`` followed).

    Used for the hrefs of a STAC item (confined to the item's folder or its ``asset_root``).

    Parameters
    ----------
    root : path or list of paths
        The folder(s) ``path`` must lie in.
    allow_outside : bool, optional
        Skip the check; default: the policy's ``allow_outside_paths``.

    Raises
    ------
    UnsafeInputError
        ``path`` resolves outside every ``root`` and outside paths are not allowed.
    """
    resolved = Path(path).resolve()
    roots = [Path(r).resolve() for r in (root if isinstance(root, list) else [root])]
    if allow_outside is None:
        allow_outside = input_policy().allow_outside_paths
    if allow_outside or any(resolved == base or base in resolved.parents for base in roots):
        return resolved
    where = " or ".join(str(b) for b in roots)
    raise UnsafeInputError(
        f"{path}: {what} resolves to {resolved}, outside {where}; agromap reads only files inside the folder "
        "that refers to them. Move the file there, set asset_root to the folder holding it, or set "
        "allow_outside_paths: true in the run configuration (agromap run --allow-outside-paths) if you trust it."
    )


#: A zip archive (a skops model) may not expand beyond this, nor any large member by more than
#: _MAX_RATIO times: real forests compress about 5-10x, a zip bomb 1000x.
MAX_ARCHIVE_BYTES = 1 << 30
_MAX_RATIO = 200
_RATIO_FROM = 16 << 20


def check_archive(data: bytes, name: str, what: str = "archive") -> None:
    """Refuse a zip archive whose members would decompress too far, before anything reads them.

    Reads only the central directory (declared sizes); a lying directory is caught by the
    zip module's own CRC/size checks while extracting.

    Raises
    ------
    UnsafeInputError
        Total declared size above MAX_ARCHIVE_BYTES, or a large member compressed beyond 200:1.
    """
    import io
    import zipfile

    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: the loader reports what it is in its own words
    total = sum(i.file_size for i in infos)
    if total > MAX_ARCHIVE_BYTES:
        raise UnsafeInputError(f"{name}: {what} would expand to {total / 2**20:,.0f} MiB (limit "
                               f"{MAX_ARCHIVE_BYTES >> 20} MiB); it is not a file agromap wrote.")
    for i in infos:
        ratio = i.file_size // max(i.compress_size, 1)
        if i.file_size > _RATIO_FROM and ratio > _MAX_RATIO:
            raise UnsafeInputError(f"{name}: {what} member {i.filename!r} expands {ratio}-fold to "
                                   f"{i.file_size / 2**20:,.0f} MiB (a zip bomb?); it is not a file agromap wrote.")
