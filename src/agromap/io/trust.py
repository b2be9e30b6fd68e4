"""What agromap agrees to read: regular local files, inside the folder that points at them.

Inputs come from configurations, STAC items and tables written by someone else. A path is
checked *before* it is opened, by its file type (``os.stat`` never blocks, opening a named pipe
does) and by where it points, so a pipe, a device, a network URL or a link out of a product
folder is refused with a one-line error instead of hanging, reading gigabytes or calling out.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import UnsafeInputError
from .remote import is_remote

__all__ = ["is_remote", "offline", "check_regular_file", "check_local_input", "confine"]

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
        mode = os.stat(p).st_mode
    except OSError:
        return p
    if stat.S_ISREG(mode):
        return p
    kind = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    raise UnsafeInputError(f"{p}: {what} is {kind}, not a regular file; give the path of a file on disk.")


def check_local_input(name: str | os.PathLike[str], what: str = "input", *, allow_remote: bool = False) -> str:
    """Check a raster name before GDAL sees it: local unless remote reads are allowed, a regular file.

    GDAL connection strings (``GPKG:file.gpkg:table``, ``NETCDF:"f.nc":var``) are checked for
    network paths; a plain path is also checked by :func:`check_regular_file`.
    """
    text = os.fspath(name)
    if is_remote(text) and (not allow_remote or offline()):
        why = ("AGROMAP_OFFLINE is set, so agromap reads local files only" if allow_remote
               else "agromap reads this input from local files only")
        raise UnsafeInputError(
            f"{text}: {what} is a network path and {why}; download it and give the local path (or a STAC "
            "item's asset_root)."
        )
    if not text.startswith("/vsi"):
        check_regular_file(text, what)
    return text


def confine(path: str | os.PathLike[str], root: str | os.PathLike[str], what: str = "file", *,
            allow_outside: bool = False) -> Path:
    """``path`` resolved, refused if it lies outside ``root`` (symbolic links and ``..`` followed).

    Used for the hrefs of a STAC item (confined to the item's folder or its ``asset_root``) and
    for everything agromap writes (confined to the output folder).

    Raises
    ------
    UnsafeInputError
        ``path`` resolves outside ``root`` and ``allow_outside`` is false.
    """
    resolved = Path(path).resolve()
    base = Path(root).resolve()
    if allow_outside or resolved == base or base in resolved.parents:
        return resolved
    raise UnsafeInputError(
        f"{path}: {what} resolves to {resolved}, outside {base}; agromap reads only files inside the folder "
        "that refers to them. Move the file there, or set asset_root to the folder holding it."
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
