"""Adjacent Sentinel-2 L2A products cut from the real 29RKH sample, for mosaic and STAC tests.

Neighbouring MGRS tiles of one datatake carry the *same* acquisition time, so a loader that
keys dates by timestamp alone must still keep both. :func:`make_tiles` cuts a west and an east
product out of the sample tile (real DN, real SCL, real STAC item metadata), optionally warping
one of them into the neighbouring UTM zone, and writes each as its own product folder with a
STAC item whose hrefs are relative (so the folder can be served over HTTP unchanged).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import rasterio
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "sentinel2_l2a_29RKH_20200219"
ITEM = SAMPLE / "S2A_29RKH_20200219_0_L2A.json"
#: asset key -> file; 10 m bands are 100 m in the sample, 20 m bands 200 m.
ASSETS = {"blue": "B02.tif", "green": "B03.tif", "red": "B04.tif", "nir": "B08.tif",
          "swir16": "B11.tif", "scl": "SCL.tif"}
#: The cut, in 100 m pixels of the sample's 10 m bands: rows, then west/east column ranges.
ROWS = (300, 364)
COLS = {"west": (200, 264), "east": (264, 328)}
DATETIME = "2020-02-19T11:34:25.405000Z"


def _cut(src_path: Path, dst_path: Path, cols: tuple[int, int], dst_crs: str | None, block: int) -> None:
    with rasterio.open(src_path) as src:
        f = 100.0 / src.res[0]  # 1 for 10 m bands (100 m here), 0.5 for 20 m bands
        win = Window(int(cols[0] * f), int(ROWS[0] * f), int((cols[1] - cols[0]) * f), int((ROWS[1] - ROWS[0]) * f))
        data = src.read(1, window=win)
        transform = src.window_transform(win)
        crs = src.crs
        profile = {"driver": "GTiff", "dtype": data.dtype.name, "count": 1, "nodata": 0,
                   "compress": "deflate", "tiled": True, "blockxsize": block, "blockysize": block}
        if dst_crs is not None:
            h, w = data.shape
            bounds = rasterio.transform.array_bounds(h, w, transform)
            dst_t, dw, dh = calculate_default_transform(crs, dst_crs, w, h, *bounds, resolution=abs(transform.a))
            out = np.zeros((dh, dw), data.dtype)
            reproject(data, out, src_transform=transform, src_crs=crs, dst_transform=dst_t, dst_crs=dst_crs,
                      resampling=Resampling.nearest, src_nodata=0, dst_nodata=0)
            data, transform, crs = out, dst_t, rasterio.crs.CRS.from_string(dst_crs)
        profile.update(width=data.shape[1], height=data.shape[0], crs=crs, transform=transform)
        with rasterio.open(dst_path, "w", **profile) as dst:
            dst.write(data, 1)


def make_tiles(root: Path, *, west_crs: str | None = None, block: int = 32,
               cloud_cover: dict[str, float] | None = None, datetime: str = DATETIME,
               suffix: str = "") -> dict[str, Path]:
    """Write ``root/<id>/`` product folders for the west and east halves; returns side -> folder.

    ``west_crs`` warps the west product into another CRS (e.g. the neighbouring UTM zone,
    ``"EPSG:32628"``), as a tile delivered in its own zone would be.
    """
    base = json.loads(ITEM.read_text())
    folders = {}
    for side, cols in COLS.items():
        sid = f"S2A_29RK{'H' if side == 'west' else 'J'}_20200219_0_L2A{suffix}"
        folder = root / sid
        folder.mkdir(parents=True, exist_ok=True)
        crs = west_crs if side == "west" else None
        for key, fname in ASSETS.items():
            _cut(SAMPLE / fname, folder / fname, cols, crs, block)
        with rasterio.open(folder / "B04.tif") as ds:
            left, bottom, right, top = ds.bounds
            epsg = ds.crs.to_epsg()
            lon0, lat0, lon1, lat1 = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        item = copy.deepcopy(base)
        item["id"] = sid
        item["bbox"] = [lon0, lat0, lon1, lat1]
        item["geometry"] = {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1],
                                                                [lon0, lat1], [lon0, lat0]]]}
        props = item["properties"]
        props["datetime"] = datetime
        props["proj:epsg"] = epsg
        if cloud_cover and side in cloud_cover:
            props["eo:cloud_cover"] = cloud_cover[side]
        item["assets"] = {k: {**v, "href": f"./{ASSETS[k]}"} for k, v in base["assets"].items() if k in ASSETS}
        for k in item["assets"]:
            # Each asset's own grid (the projection extension), as real catalogues publish it.
            with rasterio.open(folder / ASSETS[k]) as ds:
                item["assets"][k].update({"proj:epsg": ds.crs.to_epsg(), "proj:shape": [ds.height, ds.width],
                                          "proj:transform": list(ds.transform)[:6]})
        item["links"] = []
        (folder / f"{sid}.json").write_text(json.dumps(item, indent=1))
        folders[side] = folder
    return folders


def grid_bounds(pad: float = 0.0) -> tuple[float, float, float, float]:
    """The union of both halves in the sample's own CRS (EPSG:32629)."""
    with rasterio.open(SAMPLE / "B04.tif") as src:
        t = src.transform
    left = t.c + COLS["west"][0] * t.a
    right = t.c + COLS["east"][1] * t.a
    top = t.f + ROWS[0] * t.e
    bottom = t.f + ROWS[1] * t.e
    return (left - pad, bottom - pad, right + pad, top + pad)
