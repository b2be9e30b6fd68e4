"""Lazy GeoTIFF writes from dask, then an atomic, validated COG publish.

The two steps (docs/architecture.md#cog-publishing):

1. :func:`store_gtiff` (before compute): creates an empty, tiled, sparse GTiff staging file and
   returns the lazy ``dask.array.store`` that fills it, always with a lock fit for the active
   scheduler. Every task opens the staging file by path, writes one window and closes it.
2. :func:`publish_cog` (after compute): writes all metadata into the staging file, converts it
   with the GDAL COG driver into a ``.partial`` file next to the final path, validates the result
   (GDAL warnings here; layout and overview content in :mod:`agromap.io.cog_check`, which also
   gives the item statistics) and publishes it with ``os.replace``. Any failure leaves the final
   path untouched.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from dask.delayed import Delayed
from rasterio.crs import CRS
from rasterio.windows import Window

from ..errors import AgromapError, ExportError, output_error
from .cog_check import check_layout, scan_cog
from .files import (  # noqa: F401
    PARTIAL_SUFFIX,
    RUN_LOCK_NAME,
    STAGING_SUFFIX,
    atomic_write_bytes,
    atomic_write_text,
    clean_stale_partials,
    fsync_dir,
    fsync_file,
    remove_partial,
    sha256_file,
    unlink_quietly,
)
from .grid import geobox_of
from .layers import LayerSpec, encode

__all__ = [
    "CogInfo", "GTiffWindowWriter", "lock_for_scheduler", "store_gtiff", "create_staging", "store_window",
    "publish_cog", "discard_staging", "staging_path_for", "sha256_file", "prepare_cog", "commit_cog", "disk_errno", "atomic_write_text",
    "atomic_write_bytes", "clean_stale_partials",
]  # fmt: skip

log = logging.getLogger(__name__)

BLOCK = 512
"""COG and staging tile edge in pixels (chunk edges are multiples of it)."""
_NUMPY_CHUNK = 4 * BLOCK  # chunk edge used when wrapping a numpy-backed array
_TASK_GDAL_ENV: tuple[tuple[str, str], ...] = (("GDAL_NUM_THREADS", "1"),)  # dask already parallelises


@dataclass(frozen=True)
class CogInfo:
    """What was published, for the run manifest and the STAC item.

    ``path`` is the final path, ``size`` in bytes, ``sha256`` the hex digest, ``dtype``/``nodata``
    as stored (NaN for floats), ``valid_fraction`` the share of full-resolution pixels that are not
    nodata (0-1), ``overview_count`` the number of internal overview levels and ``statistics`` the
    band statistics of the STAC item.
    """

    path: str
    size: int
    sha256: str
    dtype: str
    nodata: float | int
    valid_fraction: float
    overview_count: int
    statistics: Mapping[str, float] | None = None
    """Band statistics of the stored values for the STAC item (:func:`agromap.io.cog_check.band_statistics`),
    from the same read as the checks; ``None``: the item builder reads them itself."""


@dataclass(frozen=True)
class GTiffWindowWriter:
    """A ``dask.array.store`` target that writes each block into an existing GTiff by path.

    Holds a path and settings only (docs/architecture.md#readers-and-writers-hold-paths): each ``__setitem__`` opens
    the file in ``r+`` mode, writes one window and closes it, so no handle outlives a task and
    the object pickles to any worker.
    """

    path: str
    """Staging GTiff, created beforehand by :func:`store_gtiff`."""
    band: int = 1
    """1-based band index to write."""
    gdal_env: tuple[tuple[str, str], ...] = _TASK_GDAL_ENV
    """GDAL configuration applied inside the task."""

    def __setitem__(self, index: tuple[slice, ...], block: np.ndarray) -> None:
        rows, cols = index
        window = Window.from_slices(rows, cols)
        with rasterio.Env(**dict(self.gdal_env)), rasterio.open(self.path, "r+") as dst:
            dst.write(block, self.band, window=window)


def lock_for_scheduler(name: str = "agromap-write") -> Any:
    """A write lock that really excludes every writer of the active scheduler (docs/architecture.md#cog-publishing).

    Parameters
    ----------
    name : str
        Name of the distributed lock; use one per output file so files are written in parallel.

    Returns
    -------
    threading.Lock or distributed.Lock
        ``distributed.Lock(name)`` when a distributed client is active, else ``threading.Lock()``.

    Raises
    ------
    ExportError
        Under dask's local process pool, where no lock is shared between processes.
    """
    # A client cannot exist unless distributed was imported; skipping the import keeps agromap light.
    if "distributed" in sys.modules:
        import distributed

        try:
            client = distributed.get_client()
        except ValueError:
            pass
        else:
            workers = client.scheduler_info().get("workers", {})
            # Workers inside this process (LocalCluster(processes=False)) share its memory, so a
            # process-local lock is correct and avoids a scheduler round trip per block; the graph
            # is still pickled for the scheduler, hence SerializableLock (same name -> same lock).
            if workers and all(str(addr).startswith("inproc://") for addr in workers):
                from dask.utils import SerializableLock

                return SerializableLock(name)
            return distributed.Lock(name)
    if dask.config.get("scheduler", None) in ("processes", "multiprocessing"):
        raise ExportError(
            "GeoTIFF writes on dask's local process pool cannot share a lock and may drop tiles; "
            "use the threaded scheduler or a distributed LocalCluster(processes=True) with a Client."
        )
    return threading.Lock()


def store_gtiff(
    arr: xr.DataArray, staging_path: str | os.PathLike[str], spec: LayerSpec, *, lock: Any = None
) -> Any:
    """Create a tiled GTiff staging file and return the lazy store that fills it.

    Parameters
    ----------
    arr : xarray.DataArray
        ``(y, x)`` science output with its GeoBox in the coordinates; float32/bool physical values
        (encoded here with :func:`~agromap.io.layers.encode`) or already ``spec.dtype``. numpy or dask.
    staging_path : path
        Where the staging GTiff goes; the same directory as the final COG keeps ``os.replace`` atomic.
        Use :func:`staging_path_for` for a name :func:`clean_stale_partials` recognises.
    spec : LayerSpec
        Stored dtype and nodata.
    lock : lock, optional
        Write lock; ``None`` picks one with :func:`lock_for_scheduler`. ``False`` is refused.

    Returns
    -------
    dask.delayed.Delayed
        Computing it writes every pixel. Nothing is computed here; only the empty file
        (metadata, no pixel data) is created now.
    """
    _check_store_input(arr, spec, lock)
    create_staging(arr, staging_path, spec)
    return store_window(arr, staging_path, spec, lock=lock)


def _check_store_input(arr: xr.DataArray, spec: LayerSpec, lock: Any) -> None:
    if arr.dims != ("y", "x"):
        raise ExportError(f"{spec.name}: store_gtiff takes a (y, x) array, got dims {arr.dims}; "
                          "select one time step or band first, e.g. arr.isel(time=0).")
    if lock is False:
        raise ExportError("store_gtiff needs a real lock for the active scheduler; pass None to pick one.")


def create_staging(arr: xr.DataArray, staging_path: str | os.PathLike[str], spec: LayerSpec) -> Path:
    """Create the empty tiled staging GTiff for ``arr``'s grid (header only, nothing computed).

    The first half of :func:`store_gtiff`; a run that computes an area in spatial blocks creates
    the file once and fills it block by block with :func:`store_window`.
    """
    gbox = geobox_of(arr)
    path = Path(staging_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # CRS, transform and nodata come from the GeoBox and the spec, never from attrs (arithmetic drops them).
    # Uncompressed and sparse: creation writes the header only, unwritten tiles read back as nodata,
    # and a tile shared by two chunks is patched in place instead of re-appended compressed.
    profile = dict(
        driver="GTiff", height=gbox.shape.y, width=gbox.shape.x, count=1, dtype=spec.dtype, nodata=spec.nodata,
        crs=_rio_crs(gbox.crs), transform=gbox.transform, tiled=True, blockxsize=BLOCK,
        blockysize=BLOCK, interleave="band", BIGTIFF="IF_SAFER", SPARSE_OK="TRUE",
    )
    try:
        with rasterio.Env(**dict(_TASK_GDAL_ENV)), rasterio.open(path, "w", **profile):
            pass
    except Exception as exc:
        code = disk_errno(exc)
        if code is None:
            raise
        unlink_quietly(path)
        raise output_error(OSError(code, os.strerror(code)), path) from None
    return path


def store_window(arr: xr.DataArray, staging_path: str | os.PathLike[str], spec: LayerSpec, *, lock: Any = None,
                 window: tuple[slice, slice] | None = None) -> Any:
    """The lazy write of ``arr`` into a staging file made by :func:`create_staging`.

    Parameters
    ----------
    arr : xarray.DataArray
        ``(y, x)`` values, encoded here with :func:`~agromap.io.layers.encode`.
    staging_path : path
        The staging GTiff.
    spec : LayerSpec
        Stored dtype and nodata.
    lock : lock, optional
        Write lock; ``None`` picks one with :func:`lock_for_scheduler`.
    window : (slice, slice), optional
        Rows and columns of the file that ``arr`` covers (whole file by default).

    Returns
    -------
    dask.delayed.Delayed
        One object per file, depending on every block's write.
    """
    _check_store_input(arr, spec, lock)
    enc = encode(arr, spec)
    data = enc.data if enc.chunks is not None else da.from_array(np.asarray(enc.data), chunks=_NUMPY_CHUNK)
    path = Path(staging_path)
    if lock is None:
        lock = lock_for_scheduler(f"agromap-write-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]}")
    # dask's hints name arrays only; store() writes to any target with __setitem__.
    stored = da.store(data, GTiffWindowWriter(str(path)), lock=lock, compute=False,  # type: ignore[arg-type]
                      regions=[window] if window is not None else None)
    if isinstance(stored, Delayed):
        return stored
    # dask >= 2025 returns a dask Array of None chunks here, despite its docstring. One Delayed
    # depending on every store task gives the pipeline one object per file; it is assembled as a
    # graph layer, not with delayed(), which would optimise the whole upstream graph once per file.
    return _all_written(stored)


def _all_written(stored: da.Array) -> Delayed:
    from dask._task_spec import List, Task, TaskRef
    from dask.core import flatten
    from dask.highlevelgraph import HighLevelGraph

    name = f"store-gtiff-{stored.name}"
    task = Task(name, _stored, List(*(TaskRef(k) for k in flatten(stored.__dask_keys__()))))
    graph = HighLevelGraph.from_collections(name, {name: task}, dependencies=[stored])  # type: ignore[list-item]
    return Delayed(name, graph, layer=name)


def _stored(parts: list[None]) -> None:  # the final task: every block has been written
    return None


def staging_path_for(final_path: str | os.PathLike[str], run_id: str) -> Path:
    """``.<final name>.<run_id>.staging.tif`` next to ``final_path`` (same filesystem as the final file)."""
    final = Path(final_path)
    return final.with_name(f".{final.name}.{run_id}{STAGING_SUFFIX}")


def discard_staging(staging_path: str | os.PathLike[str]) -> None:
    """Remove a staging file and its PAM sidecar, if present (after a failed compute)."""
    for p in (Path(staging_path), Path(f"{staging_path}.aux.xml")):
        p.unlink(missing_ok=True)


def publish_cog(
    staging_path: str | os.PathLike[str],
    final_path: str | os.PathLike[str],
    spec: LayerSpec,
    *,
    tags: Mapping[str, Any] | None = None,
    band_description: str | None = None,
    creation_options: Mapping[str, str] | None = None,
) -> CogInfo:
    """Turn a computed staging GTiff into a validated COG at ``final_path``, atomically.

    Parameters
    ----------
    staging_path : path
        The GTiff filled by :func:`store_gtiff` after compute. Removed in every case.
    final_path : path
        Destination. Replaced only when the new COG passed every check.
    spec : LayerSpec
        Gives units, scale/offset, colormap, ``CLASS_<n>`` tags, compression predictor and
        overview resampling.
    tags : mapping, optional
        Dataset tags (``ALGORITHM``, ``ALGORITHM_VERSION``, ``RUN_ID``...); values are str-converted.
        ``PRODUCT`` defaults to ``spec.name``.
    band_description : str, optional
        Band description; default ``spec.name``.
    creation_options : mapping, optional
        COG driver options overriding the defaults (e.g. ``{"COMPRESS": "ZSTD"}``).

    Returns
    -------
    CogInfo

    Raises
    ------
    ExportError
        Staging file missing or unreadable, a GDAL warning during conversion, invalid under
        ``cog_validate(strict=True)``, or an overview empty or inventing values. Then nothing is at
        ``final_path`` (a previous file stays as it was) and no temp file remains.
    """
    tmp, info = prepare_cog(staging_path, final_path, spec, tags=tags, band_description=band_description,
                            creation_options=creation_options)
    commit_cog(tmp, final_path)
    return info


def prepare_cog(
    staging_path: str | os.PathLike[str],
    final_path: str | os.PathLike[str],
    spec: LayerSpec,
    *,
    tags: Mapping[str, Any] | None = None,
    band_description: str | None = None,
    creation_options: Mapping[str, str] | None = None,
) -> tuple[Path, CogInfo]:
    """Everything :func:`publish_cog` does except the final rename: a validated COG beside ``final_path``.

    A run prepares every layer (and its STAC item) first and renames them all at the end, so a
    late failure publishes nothing. Returns the temporary path (hand it to :func:`commit_cog`, or
    remove it) and the :class:`CogInfo` of the file as it will be published.
    """
    staging, final = Path(staging_path), Path(final_path)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    try:
        if not staging.is_file():
            raise ExportError(f"{spec.name}: staging file {staging} does not exist; compute the store from "
                              "store_gtiff() before publish_cog().")
        _write_metadata(staging, spec, tags or {}, band_description or spec.name)
        _convert(staging, tmp, spec, creation_options or {})
        check_layout(tmp, spec)
        scan = scan_cog(tmp, spec, source=staging)  # full resolution read back uncompressed
        fsync_file(tmp)
        digest, size = sha256_file(tmp), tmp.stat().st_size
    except AgromapError:
        remove_partial(tmp)
        raise
    except Exception as exc:
        remove_partial(tmp)
        code = disk_errno(exc) or _full_disk(final.parent, staging)
        if code is not None:
            raise output_error(OSError(code, os.strerror(code)), final) from None
        raise ExportError(f"{spec.name}: publishing {final} failed ({type(exc).__name__}: {exc}); "
                          "nothing was published.") from exc
    except BaseException:  # KeyboardInterrupt, SystemExit: clean up, keep the original signal
        remove_partial(tmp)
        raise
    finally:
        discard_staging(staging)
    return tmp, CogInfo(str(final), size, digest, spec.dtype, spec.nodata, scan.valid_fraction, scan.overview_count,
                         scan.statistics)


def commit_cog(tmp: str | os.PathLike[str], final_path: str | os.PathLike[str]) -> None:
    """Publish a file made by :func:`prepare_cog`: ``os.replace`` onto the final path, then fsync the folder."""
    final = Path(final_path)
    try:
        os.replace(tmp, final)
    except OSError as exc:
        remove_partial(Path(tmp))
        raise output_error(exc, final) from None
    fsync_dir(final.parent)
    log.info("published %s", final)


def _full_disk(folder: Path, staging: Path) -> int | None:
    """ENOSPC when a failed GDAL write left less room than the layer needs.

    libtiff reports a full disk as a seek or write error of a strip, without the OS error, so
    the free space after the failure tells what happened.
    """
    import shutil

    try:
        need = max(staging.stat().st_size, 1 << 20)
        return errno.ENOSPC if shutil.disk_usage(folder).free < need else None
    except OSError:
        return None


def disk_errno(exc: BaseException) -> int | None:
    """The errno of a write that failed for want of space or permission (GDAL words it its own way)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS,
                                                  errno.EPERM):
        return exc.errno
    text = str(exc).lower()
    for needle, code in (("no space left", errno.ENOSPC), ("free disk space", errno.ENOSPC),
                         ("disk full", errno.ENOSPC), ("read-only file system", errno.EROFS),
                         ("permission denied", errno.EACCES)):
        if needle in text:
            return code
    return None


def _write_metadata(path: Path, spec: LayerSpec, tags: Mapping[str, Any], description: str) -> None:
    # A COG cannot be edited after conversion (docs/architecture.md#cog-publishing), so everything goes into the
    # staging GTiff; the COG driver carries description, units, scale/offset, tags and colormap over.
    dataset_tags = {"PRODUCT": spec.name, **dict(spec.tags), **{k: str(v) for k, v in tags.items()}}
    with rasterio.open(path, "r+") as dst:
        dst.set_band_description(1, description)
        dst.set_band_unit(1, spec.units)
        dst.scales = (spec.scale,)
        dst.offsets = (spec.offset,)
        dst.update_tags(**dataset_tags)
        # `units` as a band tag too: rio-cogeo's translate drops GDAL band units.
        dst.update_tags(1, units=spec.units, **spec.class_tags())
        if spec.kind == "class":
            dst.write_colormap(1, spec.colormap())


class _GdalWarnings(logging.Handler):
    """Collects GDAL warnings, which rasterio forwards to the ``rasterio._env`` logger.

    Layers are published on several threads at once: a handler keeps the warnings raised in its
    own thread, and those from threads that capture nothing (GDAL's own encoding threads), so a
    warning is never lost and is blamed on another layer only when its origin is unknown.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.thread = threading.get_ident()

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread or record.thread not in _CAPTURING:
            self.messages.append(record.getMessage())


_CAPTURING: dict[int, int] = {}
"""Threads inside :func:`_capture_gdal_warnings`, with their nesting depth."""
_CAPTURE_LOCK = threading.Lock()
_SAVED_LEVEL: list[int] = []


@contextlib.contextmanager
def _capture_gdal_warnings() -> Iterator[_GdalWarnings]:
    logger = logging.getLogger("rasterio._env")
    handler = _GdalWarnings()
    with _CAPTURE_LOCK:
        if not _CAPTURING:
            _SAVED_LEVEL[:] = [logger.level]
            if logger.getEffectiveLevel() > logging.WARNING:  # a quiet CLI must not hide them from us
                logger.setLevel(logging.WARNING)
        _CAPTURING[handler.thread] = _CAPTURING.get(handler.thread, 0) + 1
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        with _CAPTURE_LOCK:
            logger.removeHandler(handler)
            _CAPTURING[handler.thread] -= 1
            if not _CAPTURING[handler.thread]:
                del _CAPTURING[handler.thread]
            if not _CAPTURING:
                logger.setLevel(_SAVED_LEVEL[0])


DEFLATE_LEVEL = 5
"""DEFLATE effort of the published COGs (libdeflate, 1-12). Level 5 is the last before the encoder
switches to a deeper match search: on the rice bench's seven 2048² layers GDAL's default 6 took
twice the CPU (0.61 vs 0.31 CPU-s) for files 6 % smaller (4.01 vs 4.28 MB); see docs/architecture.md#cog-publishing."""


def _convert(staging: Path, tmp: Path, spec: LayerSpec, overrides: Mapping[str, str]) -> None:
    upper = {k.upper(): str(v) for k, v in overrides.items()}
    options = {
        "BLOCKSIZE": str(BLOCK),
        "COMPRESS": "DEFLATE",
        "PREDICTOR": str(spec.predictor),
        "OVERVIEW_RESAMPLING": str(spec.overview_resampling).upper(),
        "OVERVIEWS": "IGNORE_EXISTING",
        "BIGTIFF": "IF_SAFER",
        "NUM_THREADS": "ALL_CPUS",  # the one place GDAL threads help
        # Another codec chosen without a level takes its own default, not DEFLATE's.
        **({"LEVEL": str(DEFLATE_LEVEL)} if upper.get("COMPRESS", "DEFLATE").upper() == "DEFLATE" else {}),
        **upper,
    }
    # GDAL_NUM_THREADS: overviews on every core too (the creation option covers the encoding only);
    # the read tasks' GDAL_NUM_THREADS=1, in the environment under the embedded cluster, must not apply.
    # COG_TMP_COMPRESSION=NONE: the driver computes the overviews into a temporary file that it
    # compresses (ZSTD) only to decode it again at once; left uncompressed, the COG costs a fifth
    # less CPU for a transient file of a third of the staging's size. The bytes are the same except
    # averaged float overviews of an odd-length side, at one tile border (docs/architecture.md#cog-publishing).
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", COG_TMP_COMPRESSION="NONE"), \
            _capture_gdal_warnings() as caught:
        rasterio.shutil.copy(str(staging), str(tmp), driver="COG", **options)
    # Any GDAL warning stops publication: "optimizations ... invalidated" passed the validator
    # once (cogeotiff/rio-cogeo#258), and an ignored creation option means a different file.
    if caught.messages:
        raise ExportError(f"{spec.name}: GDAL warned while writing the COG: {'; '.join(caught.messages)}")


def _rio_crs(crs: Any) -> CRS:
    """rasterio CRS of an odc-geo CRS: by EPSG code when it has one, else from WKT."""
    epsg = getattr(crs, "epsg", None)
    return CRS.from_epsg(epsg) if epsg else CRS.from_wkt(crs.to_wkt())
