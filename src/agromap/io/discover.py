"""Which files an input names, found without opening any: band maps and folders of dated files.

Shared by the loaders (:mod:`agromap.io.loaders`), which then open the files as lazy arrays, and
by ``agromap validate``, which opens their headers only; both therefore see the same files and
refuse the same folders with the same messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, MetadataError, MissingBandError

__all__ = ["BandSource", "split_source", "folder_scenes"]

#: A band map entry: a file (band 1) or (file, band index).
BandSource = str | os.PathLike[str] | tuple[str | os.PathLike[str], int]


def split_source(src: BandSource) -> tuple[str, int]:
    """``(path, band index)`` of a band map entry (band 1 when only a file is given)."""
    if isinstance(src, tuple):
        return os.fspath(src[0]), int(src[1])
    return os.fspath(src), 1


def folder_scenes(root: Path, pattern: str, bands: tuple[str, ...]) -> Iterator[tuple[tuple[str, str], dict[str, Path]]]:
    """The band files of each (date, orbit track) of a folder input, every date with every band.

    The folder is listed at once; a date lacking a band raises when it is reached, so a reader
    that opens each date's files as they come fails on the first bad date, whichever its fault.

    Parameters
    ----------
    root : Path
        The folder.
    pattern : str
        File name pattern with ``{date}`` and ``{band}``, optionally ``{orbit}``.
    bands : tuple of str
        The bands every date must have.

    Yields
    ------
    ((date as written, track or ""), {band: file})
        Sorted by date and track; band maps in the order of ``bands``.

    Raises
    ------
    InputError
        ``root`` is not a folder, or no file matches.
    MetadataError
        The pattern lacks ``{date}`` or ``{band}``.
    MissingBandError
        A date lacks one of ``bands``.
    """
    if not root.is_dir():
        raise InputError(f"{root}: not a directory; a folder input needs the folder of band files.")
    if "{date}" not in pattern or "{band}" not in pattern:
        raise MetadataError(f"pattern {pattern!r} must contain {{date}} and {{band}}.")
    regex = re.compile("^" + re.escape(pattern).replace(r"\{date\}", r"(?P<date>\d{4}-?\d{2}-?\d{2})")
                       .replace(r"\{band\}", r"(?P<band>[A-Za-z0-9]+)")
                       .replace(r"\{orbit\}", r"(?P<orbit>[A-Za-z0-9]+)") + "$")
    found: dict[tuple[str, str], dict[str, Path]] = {}
    for path in sorted(root.iterdir()):
        m = regex.match(path.name)
        if m and m.group("band") in bands:
            track = m.group("orbit") if "orbit" in regex.groupindex else ""
            found.setdefault((m.group("date"), track), {})[m.group("band")] = path
    if not found:
        raise InputError(f"{root}: no file matches {pattern!r} for bands {list(bands)}.")
    return _complete(root, pattern, bands, found)


def _complete(root: Path, pattern: str, bands: tuple[str, ...],
              found: dict[tuple[str, str], dict[str, Path]]) -> Iterator[tuple[tuple[str, str], dict[str, Path]]]:
    for (date, track), files in sorted(found.items()):
        missing = [b for b in bands if b not in files]
        if missing:
            raise MissingBandError(f"{root}: date {date} lacks band file(s) {missing} ({pattern}).")
        yield (date, track), {b: files[b] for b in bands}
