"""Loaders of the raster inputs read by :mod:`agromap.io.loaders`: files, product folders, SAR, STAC items.

``kind: files``, ``sentinel2_l2a``, ``landsat_c2``, ``sentinel1``, ``stac_item`` and ``folder``, as
registered in :mod:`agromap.pipeline.input_registry`. Each turns its configuration entry into the
arguments of one reader; paths resolve against the configuration file's folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..io import loaders
from ..io.scene import Scene
from .input_registry import InputLoader

if TYPE_CHECKING:
    from .config import AreaConfig, RunConfig

__all__ = ["LOADERS"]


def _common(cfg: RunConfig) -> dict[str, Any]:
    return {"chunk": cfg.chunk, "max_pixels": cfg.max_pixels}


def _load_files(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    bands = {n: (cfg.href(b.path), b.band) for n, b in inp.bands.items()}
    return [loaders.load_files(bands, datetime=inp.datetime, scene_id=inp.id, scale=inp.scale, offset=inp.offset,
                               nodata=inp.nodata, raw=inp.raw, **_common(cfg))]


def _load_sentinel2(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    return [loaders.load_sentinel2_l2a(cfg.resolve(inp.path), bands=inp.bands,
                                       processing_baseline=inp.processing_baseline, **_common(cfg))]


def _load_landsat(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    return [loaders.load_landsat_c2(cfg.resolve(inp.path), bands=inp.bands, **_common(cfg))]


def _load_sentinel1(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    bands = {n: (cfg.href(b.path), b.band) for n, b in inp.bands.items()}
    return [loaders.load_sentinel1(bands, datetime=inp.datetime, units=inp.units, scene_id=inp.id,
                                   orbit=inp.orbit, **_common(cfg))]


def _load_stac_item(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    asset_root = cfg.resolve(inp.asset_root) if inp.asset_root else None
    return [loaders.load_stac_item(cfg.href(inp.path), bands=inp.bands, asset_root=asset_root, sign=inp.sign,
                                   **_common(cfg))]


def _load_folder(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    return loaders.load_folder(cfg.resolve(inp.path), pattern=inp.pattern, bands=inp.bands, scale=inp.scale,
                               offset=inp.offset, nodata=inp.nodata, raw=inp.raw, sar_units=inp.sar_units,
                               orbit=inp.orbit, **_common(cfg))


LOADERS = (
    InputLoader("files", _load_files),
    InputLoader("sentinel2_l2a", _load_sentinel2),
    InputLoader("landsat_c2", _load_landsat),
    InputLoader("sentinel1", _load_sentinel1),
    InputLoader("stac_item", _load_stac_item),
    InputLoader("folder", _load_folder),
)
