"""After the compute: accuracy and area estimates, and per-district tables of every layer.

These read the published COGs (small reads: reference points, zonal windows), never the
sources, so they add no pass over the input data.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from ..io.write import atomic_write_text
from .config import AreaConfig
from .products.rice import RiceLayer

__all__ = ["rice_accuracy", "read_reference_sample", "district_tables"]

log = logging.getLogger(__name__)


def _sample_map(cog: Path, points: Any) -> np.ndarray:
    """Class values of ``cog`` at the points (reprojected to the map CRS first)."""
    with rasterio.open(cog) as src:
        pts = points.to_crs(src.crs)
        coords = [(g.x, g.y) for g in pts.geometry]
        values = np.array([v[0] for v in src.sample(coords)], dtype=np.int64)
        inside = np.array([src.bounds.left <= x <= src.bounds.right and src.bounds.bottom <= y <= src.bounds.top
                           for x, y in coords])
    return np.where(inside, values, 255)


def mapped_area_ha(class_cog: Path) -> list[float]:
    """True area (ha) of classes 0 and 1 in a published class map, also on geographic grids."""
    from odc.geo.geobox import GeoBox

    from ..area import pixel_area_ha

    with rasterio.open(class_cog) as src:
        values = src.read(1)
        gbox = GeoBox((src.height, src.width), src.transform, src.crs.to_wkt())
    area = pixel_area_ha(gbox).values
    return [float(area[values == v].sum()) for v in (0, 1)]


def read_reference_sample(path: Path, field: str) -> Any:
    """Read a rice reference sample and check its class column before anything is computed.

    The column is ``field`` (default ``reference``, the column ``agromap rice-sample`` writes); every
    point needs 0 (other) or 1 (rice) there. Runs at planning time, so ``agromap validate`` and
    ``agromap run`` refuse a sample the accuracy step could not use, before computing the map.

    Raises
    ------
    LabelError
        Missing file or column (with a hint when the sample has ``reference_class``, the column
        name older samples used), points without a class, or classes other than 0 and 1.
    """
    from ..io.trust import check_regular_file
    from ..rice.labels import LabelError, read_labels

    path = check_regular_file(path, "reference sample")  # a named pipe would block the reader
    if not path.is_file():
        raise LabelError(f"reference sample {path} does not exist.")
    try:
        points = read_labels(path, class_column=field, id_column=None)
    except LabelError as exc:
        columns = _columns(path)
        if field not in columns:
            alt = [c for c in ("reference", "reference_class", "class") if c in columns and c != field]
            hint = (f" It has {alt[0]!r}: rename that column to {field!r}, or set reference_field: {alt[0]} on the "
                    "rice layer." if alt else " Add it: 1 rice, 0 other, one value per point.")
            raise LabelError(f"reference sample {path.name} has no class column {field!r} (the rice layer's "
                             f"reference_field); columns: {columns}.{hint}") from None
        raise LabelError(f"reference sample {path.name}: {exc} Fill {field!r} with 1 (rice) or 0 (other) for "
                         "every point after interpretation.") from None
    bad = sorted(set(points["label_class"].tolist()) - {0, 1})
    if bad:
        raise LabelError(f"reference sample {path.name}: column {field!r} holds {bad}; use 1 for rice and 0 for "
                         "any other cover.")
    return points


def _columns(path: Path) -> list[str]:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    import pyogrio

    return [str(c) for c in pyogrio.read_info(path)["fields"]]


def rice_accuracy(area: AreaConfig, layer: RiceLayer, class_cog: Path, resolve: Any, out_dir: Path) -> dict[str, Any]:
    """Confusion matrix, accuracies and the Olofsson area estimate of a rice map.

    The reference sample's points are reprojected to the map's CRS (a sample drawn by
    ``agromap.rice.sampling`` carries lon/lat); points on map nodata are left out and counted.
    """
    from ..rice.accuracy import accuracy_report, confusion_matrix, olofsson

    if layer.reference_sample is None:
        return {}
    points = read_reference_sample(resolve(layer.reference_sample), layer.reference_field)
    mapped = _sample_map(class_cog, points)
    reference = points["label_class"].to_numpy().astype(np.int64)
    keep = mapped != 255
    cm = confusion_matrix(mapped[keep], reference[keep], classes=[0, 1])
    estimate = olofsson(cm, mapped_area_ha(class_cog), class_names=["non-rice", "rice"], class_values=[0, 1])
    report, markdown = accuracy_report(estimate, title=f"Rice map accuracy and area, area '{area.name}' "
                                                       f"({layer.method} rule)")
    report["n_reference_points"] = int(len(points))
    report["n_points_on_nodata"] = int((~keep).sum())
    stem = class_cog.stem.replace("rice_class", "accuracy")
    atomic_write_text(out_dir / f"{stem}.json", json.dumps(report, indent=2, default=float))
    atomic_write_text(out_dir / f"{stem}.md", markdown)
    report["files"] = [f"{stem}.json", f"{stem}.md"]
    report["_estimate"] = estimate
    return report


def district_tables(area: AreaConfig, outputs: list[dict[str, Any]], out: Path, resolve: Any,
                    estimates: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV + GeoJSON per layer: class areas (ha) for class layers, mean/max/count otherwise."""
    from ..zonal import class_area_by_polygon, read_polygons, write_table, zonal_stats

    if area.districts is None:
        return []
    polygons = read_polygons(resolve(area.districts.path))
    d = area.districts
    written = []
    exceed: dict[str, list[Any]] = {}
    for entry in outputs:
        if entry["area"] != area.name:
            continue
        cog = out / entry["path"]
        with rasterio.open(cog) as src:
            classes = sorted(int(k.split("_", 1)[1]) for k in src.tags(1) if k.startswith("CLASS_"))
            is_class = bool(classes)
            scaled = src.scales[0] != 1.0 or src.dtypes[0] not in ("float32", "float64")
        if is_class:
            import pandas as pd

            with rasterio.open(cog) as src:
                names = {int(k.split("_", 1)[1]): v for k, v in src.tags(1).items() if k.startswith("CLASS_")}
            table = None
            for value in [c for c in classes if c != 0] or classes:
                est = estimates.get(entry["path"]) if value == 1 else None
                df = class_area_by_polygon(cog, polygons, value, d.id_field, name_field=d.name_field,
                                           outside="keep", estimate=est, estimate_class=value if est else None)
                slug = re.sub(r"[^a-z0-9]+", "_", names.get(value, str(value)).lower()).strip("_")
                keep = ["id"] + (["name"] if "name" in df else []) + ["polygon_area_ha", "covered_fraction"]
                wide = df[keep] if table is None else df[["id"]]
                wide = wide.assign(**{f"{slug}_ha": df["area_ha"]})
                if est is not None and "adj_area_ha" in df:
                    wide = wide.assign(**{f"{slug}_adjusted_ha": df["adj_area_ha"],
                                          f"{slug}_adjusted_ci95_ha": df["adj_area_ci95_ha"]})
                table = wide if table is None else table.merge(wide, on="id")
            if table is None:
                continue
        elif not scaled:
            table = zonal_stats(cog, polygons, ("mean", "max", "count"), d.id_field, name_field=d.name_field,
                                outside="keep")
        else:
            continue
        if entry["layer"] in area.exceedance and "mean" in table:
            exceed.setdefault(entry["layer"], []).append(table[["id", "mean"]].set_index("id")["mean"])
        stem = Path(entry["path"]).stem
        tdir = out / area.name / "tables"
        tdir.mkdir(parents=True, exist_ok=True)
        paths = write_table(table, tdir / f"{stem}_by_district.csv", tdir / f"{stem}_by_district.geojson",
                            polygons=polygons, id_field=d.id_field)
        written.append({"layer": entry["path"], "files": [str(p.relative_to(out)) for p in paths],
                        "rows": int(len(table))})
    for name, series in exceed.items():
        import pandas as pd

        limit = area.exceedance[name]
        means = pd.concat(series, axis=1)
        days = pd.DataFrame({"id": means.index, "dates": means.notna().sum(axis=1).to_numpy(),
                             "exceedance_days": (means > limit).sum(axis=1).to_numpy(), "limit": limit,
                             "max_of_means": means.max(axis=1).to_numpy()})
        if d.name_field and d.name_field in polygons.columns:  # people look wards up by name, not number
            names = dict(zip(polygons[d.id_field], polygons[d.name_field]))
            days.insert(1, "name", days["id"].map(names))
        tdir = out / area.name / "tables"
        paths = write_table(days, tdir / f"{name}_exceedance_by_district.csv",
                            tdir / f"{name}_exceedance_by_district.geojson", polygons=polygons, id_field=d.id_field)
        written.append({"layer": name, "files": [str(p.relative_to(out)) for p in paths], "rows": int(len(days)),
                        "kind": "exceedance", "limit": limit})
    return written
