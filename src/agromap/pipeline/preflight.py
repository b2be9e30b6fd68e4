"""Checks made before anything is computed: the output folder, names, free space, vector inputs.

A run that is going to fail should fail here, in a second, with a one-line error, not after an
hour of compute with half of its layers published. Everything below reads no pixel.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, InputError, NoOverlapError, OutputError, output_error
from ..io.files import RUN_LOCK_NAME
from ..io.trust import check_regular_file

__all__ = ["check_output_folder", "check_output_names", "check_free_space", "check_inputs_outside",
           "check_districts", "check_district_grid", "check_wait"]

_NAME_MAX = 255
_PATH_MAX = 4096
#: What agromap adds to a layer's file name for its temporary files (".<name>.<run id>.staging.tif").
_TEMP_SUFFIX = len(".." + "20260101T000000Z-0123abcd" + ".staging.tif.aux.xml")


def check_wait(wait: float) -> float:
    """``--wait-lock`` must be a finite number of seconds >= 0 (``nan`` would wait forever)."""
    try:
        value = float(wait)
    except (TypeError, ValueError):
        raise ConfigError(f"--wait-lock must be a number of seconds, not {wait!r}.") from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"--wait-lock must be a finite number of seconds >= 0, not {wait!r}.")
    return value


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _name_max(path: Path) -> int:
    try:
        return int(os.pathconf(_existing_ancestor(path), "PC_NAME_MAX"))
    except (OSError, ValueError):
        return _NAME_MAX


def check_output_folder(out: Path, *, create: bool = True) -> None:
    """The output folder is a folder (or can be created), writable, and not nested in another run's.

    With ``create=False`` (``agromap validate``) nothing is created or written.

    Raises
    ------
    ConfigError
        ``out`` is an existing file, lies inside another run's output folder, or holds one.
    OutputError
        ``out`` (or the folder it would be created in) is not writable, or a name is too long.
    """
    out = Path(out)
    try:
        str(out.absolute()).encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 (a Latin-1 name): STAC and the manifest need text
        raise ConfigError(f"--out {os.fsencode(out)!r} is not a UTF-8 path; rename the folder or choose another "
                          "--out.") from None
    limit = _name_max(out)
    for part in out.absolute().parts:
        if len(part.encode()) > limit:
            raise ConfigError(f"output folder name {part[:40]}... is {len(part.encode())} bytes, above the file "
                              f"system's limit of {limit}; choose a shorter --out or run name.")
    if len(str(out.absolute()).encode()) > _PATH_MAX - 512:
        raise ConfigError(f"output path {str(out)[:60]}... is too long; choose a shorter --out.")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is an existing file, not a folder; choose a folder path.")
    for parent in out.absolute().parents:
        if (parent / RUN_LOCK_NAME).exists():
            raise ConfigError(f"--out {out} is inside the output folder of another run ({parent}); its clean-up "
                              "and yours would collide. Choose a folder outside it.")
    if out.is_dir():
        nested = _nested_run(out)
        if nested is not None:
            raise ConfigError(f"--out {out} contains the output folder of another run ({nested}); choose a "
                              "folder that does not hold other runs.")
    base = out if out.is_dir() else _existing_ancestor(out)
    if not base.is_dir():
        raise OutputError(f"cannot create {out}: {base} is a file, not a folder; choose another --out.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {out}: {base} is not writable (permission denied or read-only); "
                          "choose a writable --out.")
    if not create:
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out) from None
    try:  # os.access says yes on a read-only mount for root; a real write does not lie
        probe = out / f".agromap-probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise output_error(exc, out) from None


def _nested_run(out: Path, depth: int = 3) -> Path | None:
    """A folder below ``out`` (up to ``depth`` levels) that is another run's output folder."""
    frontier = [out]
    for _ in range(depth):
        nxt = []
        for d in frontier:
            try:
                subs = [p for p in d.iterdir() if p.is_dir() and not p.is_symlink()]
            except OSError:
                continue
            for sub in subs:
                if (sub / RUN_LOCK_NAME).exists():
                    return sub
                nxt.append(sub)
        frontier = nxt
    return None


def check_output_names(out: Path, finals: list[Path]) -> None:
    """Every file a run will write fits the file system's limits and stays inside ``out``.

    An area folder that is a symbolic link out of the output folder is refused: the run would
    otherwise write (and clean up) somewhere else.
    """
    limit = _name_max(out)
    root = out.resolve()
    for final in finals:
        if final.parent.exists() and not (final.parent.resolve() == root or root in final.parent.resolve().parents):
            raise ConfigError(f"{final.parent} leads outside the output folder {out} (a symbolic link?); remove "
                              "the link, agromap writes only inside --out.")
        for part in final.relative_to(out).parts:
            if len(part.encode()) + _TEMP_SUFFIX > limit:
                raise ConfigError(
                    f"output name {part[:40]}... is too long for the file system ({len(part.encode())} bytes; "
                    f"names up to {limit - _TEMP_SUFFIX} fit); shorten the area or run name."
                )
        if len(str(final.absolute()).encode()) + _TEMP_SUFFIX > _PATH_MAX:
            raise ConfigError(f"output path {str(final)[:60]}... is too long; choose a shorter --out or area name.")


def check_free_space(out: Path, sizes: list[int]) -> None:
    """Refuse to start when the folder cannot hold the run's uncompressed staging files.

    ``sizes`` are the uncompressed bytes of the layers to compute (GDAL reserves that much when
    it creates an uncompressed GeoTIFF, so this is the same bound, only checked before compute).
    """
    need = int(sum(sizes))
    if not need:
        return
    try:
        free = shutil.disk_usage(out).free
    except OSError:
        return
    if free < need:
        raise OutputError(f"cannot write {out}: disk full ({free / 2**20:,.1f} MiB free, the run needs about "
                          f"{need / 2**20:,.1f} MiB for its staging files); free some space or choose another --out.")


def check_inputs_outside(out: Path, files: list[str]) -> None:
    """No input file may live inside the output folder (a clean-up or re-run would touch it)."""
    root = out.resolve()
    for f in files:
        p = Path(f).resolve()
        if root in p.parents:
            raise ConfigError(f"input {f} is inside the output folder {out}; keep inputs and outputs apart.")


def check_districts(path: Path, id_field: str, name_field: str | None, gbox: Any, area: str) -> None:
    """A district file is readable, has polygons with valid coordinates and the named fields,
    and at least one polygon overlaps the area's grid.

    Raises
    ------
    InputError, NoOverlapError, ConfigError
        With the file, what is wrong and how to fix it.
    """
    import geopandas as gpd
    from shapely.geometry import box

    where = f"area {area!r}: districts"
    check_regular_file(path, "district file")
    if not path.is_file():
        raise InputError(f"{path}: district file not found; check the {where}.path.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable district file ({msg}); give a GeoJSON, GeoPackage or "
                         "Shapefile of polygons.") from None
    if len(gdf) == 0:
        raise InputError(f"{path}: district file holds no polygon; give a file with the district polygons.")
    if gdf.crs is None:
        raise InputError(f"{path}: district file has no CRS; add one (a .prj, or a GeoJSON in EPSG:4326).")
    for field, key in ((id_field, "id_field"), (name_field, "name_field")):
        if field is not None and field not in gdf.columns:
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            raise ConfigError(f"{where}.{key}: field {field!r} is not in {path}; its fields are {cols}.")
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if len(geoms) == 0:
        raise InputError(f"{path}: no district has a geometry; fix or re-export the file.")
    bounds = np.asarray(geoms.bounds, dtype=float)
    if not np.isfinite(bounds).all() or (gdf.crs.is_geographic and (np.abs(bounds[:, [1, 3]]) > 90).any()
                                          or gdf.crs.is_geographic and (np.abs(bounds[:, [0, 2]]) > 360).any()):
        raise InputError(f"{path}: district coordinates are out of range for {gdf.crs.to_string()} (e.g. "
                         "latitude beyond 90 or swapped x/y); fix the file or its CRS.")
    from pyproj import CRS

    try:
        projected = geoms.to_crs(CRS.from_wkt(gbox.crs.to_wkt()))
        pb = np.asarray(projected.bounds, dtype=float)
    except Exception as exc:  # pyproj raises its own types on impossible transforms
        raise InputError(f"{path}: district polygons cannot be placed on the area's grid ({exc}).") from None
    aff, (ny, nx) = gbox.affine, gbox.shape
    (x0, x1), (y0, y1) = sorted((aff.c, aff.c + aff.a * nx)), sorted((aff.f, aff.f + aff.e * ny))
    frame = box(x0, y0, x1, y1)
    finite = np.isfinite(pb).all(axis=1)
    if not finite.any() or not projected[finite].intersects(frame).any():
        raise NoOverlapError(f"{path}: none of the {len(gdf)} districts overlaps area {area!r} "
                             f"(grid bounds {tuple(round(v, 3) for v in frame.bounds)}); check the file and its CRS.")


def check_district_grid(path: Path, id_field: str, name_field: str | None, gbox: Any) -> None:
    """What preparing the districts for their tables also requires, checked without the array stack.

    :func:`agromap.zonal.prepare_districts` (run by the full plan after :func:`check_districts`)
    also refuses repeated ids, and polygons that only touch the grid's frame or whose CRS has no
    ellipsoid to measure areas on. ``agromap validate`` checks the same here and, finding any of
    it, raises :class:`~agromap.errors.PlanNeeded` so that the full plan reports it in its words.
    """
    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import box

    from ..errors import PlanNeeded

    gdf = gpd.read_file(path)
    if gdf[id_field].duplicated().any():
        raise PlanNeeded(f"{path}: repeated district ids")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    rcrs = CRS.from_wkt(gbox.crs.to_wkt())
    gdf = gdf.to_crs(rcrs)
    if not gdf.geometry.is_valid.all():
        gdf = gdf.set_geometry(gdf.geometry.make_valid())
    aff, (ny, nx) = gbox.affine, gbox.shape
    frame = box(aff.c, aff.f + aff.e * ny, aff.c + aff.a * nx, aff.f)
    if not (gdf.geometry.intersects(frame) & ~gdf.geometry.touches(frame)).any():
        raise PlanNeeded(f"{path}: no district overlaps the grid's frame")
    if rcrs.is_geographic and rcrs.get_geod() is None:
        raise PlanNeeded(f"{path}: no ellipsoid to measure district areas on")
