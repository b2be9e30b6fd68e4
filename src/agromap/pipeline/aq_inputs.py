"""Air-quality inputs as scenes: S5P L2 swaths binned daily, L3 rasters, AOD rasters."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError, InputError
from ..io.grid import geobox_from_spec
from ..io.scene import Scene
from .config import AreaConfig, RunConfig

__all__ = ["load_aq_input"]


def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def _expand(cfg: RunConfig, patterns: list[str]) -> list[str]:
    paths: list[str] = []
    for pattern in patterns:
        full = str(cfg.resolve(pattern))
        hits = sorted(glob.glob(full)) if any(c in pattern for c in "*?[") else [full]
        if not hits:
            raise InputError(f"no file matches {pattern!r} (resolved to {full}).")
        paths.extend(hits)
    return paths


def load_aq_input(cfg: RunConfig, inp: Any, area: AreaConfig) -> list[Scene]:
    """Scenes of an air-quality input (Sentinel-5P L2/L3 columns or AOD), gridded onto the area."""
    from ..airquality import aod, s5p

    if inp.kind == "s5p_l2":
        spec = area.grid.spec(cfg.chunk)
        if spec is None or spec.bounds is None:
            raise ConfigError(f"area {area.name}: Sentinel-5P swaths need a declared grid (crs EPSG:4326, "
                              "resolution in degrees, bounds) to be binned onto.")
        gbox = geobox_from_spec(spec)
        daily = s5p.grid_s5p(_expand(cfg, inp.paths), gbox, product=inp.product, qa_threshold=inp.qa_threshold,
                             method=inp.method)
        band = next(str(v) for v in daily.data_vars if v not in ("weight", "count"))
        scenes = []
        for i, t in enumerate(pd.to_datetime(daily["time"].values)):
            day = daily.isel(time=i).drop_vars("time")
            bands = {band: day[band], f"{band}_weight": day["weight"], f"{band}_count": day["count"]}
            scenes.append(Scene(f"s5p-{band}-{t:%Y%m%d}", _utc(t), bands,
                                {"loader": "s5p_l2", "qa_filter": daily.attrs.get("QA_FILTER"),
                                 "bin_method": daily.attrs.get("bin_method"), "files": daily.attrs.get("source")}))
        return scenes
    if inp.kind == "s5p_l3":
        layer = s5p.S5P_PRODUCTS[inp.product].band
        arr = s5p.open_l3_raster(str(cfg.resolve(inp.path)) if not inp.path.startswith("GPKG:") else
                                 _gpkg(cfg, inp.path), units=inp.units, product=inp.product, band=inp.band,
                                 chunk=cfg.chunk)
        return [Scene(f"s5p-l3-{layer}-{_utc(inp.datetime):%Y%m%d}", _utc(inp.datetime), {layer: arr.rename(layer)},
                      {"loader": "s5p_l3", "units_declared": inp.units})]
    path = str(cfg.resolve(inp.path))
    if inp.source == "s2_aot":
        arr = aod.open_s2_aot(path, chunk=cfg.chunk)
    else:
        qa = str(cfg.resolve(inp.qa_path)) if inp.qa_path else None
        arr = aod.open_maiac(path, qa, chunk=cfg.chunk)
    return [Scene(f"aod-{Path(path).stem}-{_utc(inp.datetime):%Y%m%d}", _utc(inp.datetime), {"aod": arr},
                  {"loader": f"aod/{inp.source}"})]


def _gpkg(cfg: RunConfig, name: str) -> str:
    """``GPKG:relative/file.gpkg:table`` with the file resolved against the YAML's folder."""
    _, file, table = name.split(":", 2)
    return f"GPKG:{cfg.resolve(file)}:{table}"
