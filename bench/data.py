"""Synthetic Sentinel-2-like stacks on disk, generated once and cached under ``bench/cache/``.

Each stack is a folder of single-band GeoTIFFs named ``{date}_{band}.tif`` (the pipeline's
``folder`` input), written by :func:`agromap.testing.write_stack_geotiffs`: tiled 512 x 512,
deflate, uint16 DN with scale 1e-4 and nodata 0 (like real L2A COGs), SCL as uint8. A folder is
complete when its ``bench.json`` exists; it is keyed by size, dates and seed, so changing any of
them generates a new folder and never reuses a stale one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .settings import BANDS, REFLECTANCE_BANDS

__all__ = ["season_dates", "scene_spec", "ensure_stack", "stack_config", "decoded_bytes", "make_sparse_stack",
           "stack_arrays"]

#: Generator chunk = file tile: one window of the writer is one generator block.
_TILE = 512


def season_dates(n: int) -> tuple[str, ...]:
    """``n`` dates over the kharif season (1 June + 180 days); 12 gives the generator's 15-day default."""
    step = max(1, 180 // n)
    return tuple((dt.date(2023, 6, 1) + dt.timedelta(days=step * i)).isoformat() for i in range(n))


def scene_spec(size: int, dates: int, seed: int) -> Any:
    from agromap.testing import SceneSpec

    return SceneSpec(shape=(size, size), dates=season_dates(dates), chunk=_TILE, seed=seed)


def decoded_bytes(size: int, dates: int) -> int:
    """Bytes the pipeline decodes: float32 reflectance bands plus uint8 SCL, every date."""
    return dates * size * size * (4 * len(REFLECTANCE_BANDS) + 1)


def _write_part(size: int, dates: int, seed: int, times: list[int], part: str) -> float:
    """Worker process: write the given dates of the stack into ``part`` (its own folder)."""
    from agromap.testing import make_s2_stack, write_stack_geotiffs

    t0 = time.perf_counter()
    ds = make_s2_stack(scene_spec(size, dates, seed))[list(BANDS)].isel(time=times)
    write_stack_geotiffs(ds, part, blocksize=_TILE)
    return time.perf_counter() - t0


def ensure_stack(cache: Path, size: int, dates: int, seed: int, *, workers: int | None = None,
                 log: Any = print) -> Path:
    """The cached stack folder for (size, dates, seed), generated first if missing.

    Generation splits the dates over ``workers`` processes (default: the number of cores); each
    writes into its own part folder and the files are moved into place only when all are done.
    """
    root = cache / f"s2_{size}px_{dates}d_seed{seed}"
    marker = root / "bench.json"
    if marker.is_file():
        return root
    workers = workers or os.cpu_count() or 1
    staging = cache / f".{root.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)
    staging.mkdir(parents=True)
    log(f"generating {dates} dates x {len(BANDS)} bands x {size}^2 px into {root} ({workers} processes) ...")
    t0 = time.perf_counter()
    groups = [list(range(i, dates, workers)) for i in range(min(workers, dates))]
    # spawn: the parent may already hold dask/GDAL threads, which fork would copy half-alive.
    with ProcessPoolExecutor(len(groups), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_write_part, size, dates, seed, g, str(staging / f"part{i}"))
                   for i, g in enumerate(groups)]
        for f in futures:
            f.result()
    for tif in staging.glob("part*/*.tif"):
        os.replace(tif, staging / tif.name)
    for part in staging.glob("part*"):
        shutil.rmtree(part)
    elapsed = time.perf_counter() - t0
    files = sorted(p.name for p in staging.glob("*.tif"))
    meta: dict[str, Any] = {"size": size, "dates": list(season_dates(dates)), "bands": list(BANDS), "seed": seed,
            "files": len(files), "bytes_on_disk": sum((staging / f).stat().st_size for f in files),
            "decoded_bytes": decoded_bytes(size, dates), "generated_s": round(elapsed, 1),
            "encoding": "uint16 DN, scale 1e-4, nodata 0 (scl uint8); tiled 512, deflate, predictor 2"}
    (staging / "bench.json").write_text(json.dumps(meta, indent=2))
    os.replace(staging, root)
    log(f"  generated in {elapsed:.0f} s ({meta['bytes_on_disk'] / 2**20:.0f} MiB on disk)")
    return root


def stack_config(folder: Path, *, chunk: int = _TILE, scheduler: str = "threads", name: str = "bench",
                 max_graph_chunks: int | None = None) -> Any:
    """The run configuration the benchmarks use: one area, the folder input, the optical rice layer."""
    from agromap.pipeline.config import parse_config

    return parse_config({
        "version": 1, "name": name, "scheduler": scheduler, "chunk": chunk, "max_graph_chunks": max_graph_chunks,
        "areas": [{
            "name": "bench",
            "inputs": [{"kind": "folder", "path": str(folder), "bands": list(BANDS), "scale": 0.0001,
                        "nodata": 0, "raw": ["scl"]}],
            "layers": [{"product": "rice", "method": "optical"}],
        }],
    })  # fmt: skip


def make_sparse_stack(folder: Path, size: int, dates: int) -> Path:
    """Same layout as :func:`ensure_stack` but every tile left unwritten (a few KiB per file).

    Only for building graphs: the headers describe a ``size`` x ``size`` stack of 512 px tiles,
    so the pipeline plans exactly the chunks a real stack would have. Reading it gives nodata.
    """
    import rasterio
    from rasterio.transform import from_origin

    marker = folder / "bench.json"
    if marker.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for date in season_dates(dates):
        for band in BANDS:
            dtype = "uint8" if band == "scl" else "uint16"
            with rasterio.open(
                folder / f"{date}_{band}.tif", "w", driver="GTiff", width=size, height=size, count=1, dtype=dtype,
                crs="EPSG:32644", transform=from_origin(500_000.0, 2_900_000.0, 10.0, 10.0), nodata=0,
                tiled=True, blockxsize=_TILE, blockysize=_TILE, compress="deflate", SPARSE_OK="TRUE",
            ):  # fmt: skip
                pass
    marker.write_text(json.dumps({"size": size, "dates": dates, "sparse": True}))
    return folder


def stack_arrays(folder: Path) -> tuple[list[str], dict[str, list[Path]]]:
    """Dates and, per band, the files of a stack folder in date order."""
    meta = json.loads((folder / "bench.json").read_text())
    dates = list(meta["dates"])
    return dates, {b: [folder / f"{d}_{b}.tif" for d in dates] for b in BANDS}
