"""After the compute: accuracy and area estimates, and per-district tables of every layer.

The accuracy report and the tables per district work on values computed with each map in the
run's one pass (the map at the reference points, its true class areas, its class areas per
district, the sums behind the mean/min/max/count per district of continuous layers), so no
published file is read back and nothing adds a pass over the inputs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.files import atomic_write_text
from ..io.layers import LayerSpec, class_slug
from .config import AreaConfig

__all__ = ["rice_accuracy", "read_reference_sample", "reference_pixels", "district_tables", "has_district_stats",
           "column_notes"]

log = logging.getLogger(__name__)


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
    from ..errors import LabelError
    from ..io.trust import check_regular_file
    from ..rice.labels import read_labels

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


def reference_pixels(points: Any, gbox: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of each reference point on ``gbox`` (reprojected to its CRS first).

    Returns
    -------
    (inside, rows, cols)
        Per point: whether it falls on the grid, and its row and column (0 for points off the grid).
    """
    pts = points.to_crs(gbox.crs.to_wkt())
    xs = np.array([g.x for g in pts.geometry], dtype=np.float64)
    ys = np.array([g.y for g in pts.geometry], dtype=np.float64)
    col_f, row_f = ~gbox.affine * (xs, ys)
    rows, cols = np.floor(np.asarray(row_f)).astype(np.int64), np.floor(np.asarray(col_f)).astype(np.int64)
    ny, nx = (int(n) for n in gbox.shape)
    inside = (rows >= 0) & (rows < ny) & (cols >= 0) & (cols < nx)
    return inside, np.where(inside, rows, 0), np.where(inside, cols, 0)


def _columns(path: Path) -> list[str]:
    import pandas as pd

    if path.suffix.lower() == ".csv":
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    import pyogrio

    return [str(c) for c in pyogrio.read_info(path)["fields"]]


def rice_accuracy(area: str, method: str, points: Any, mapped: np.ndarray, mapped_area: np.ndarray,
                  out_dir: Path, stem: str) -> tuple[dict[str, Any], Any]:
    """Confusion matrix, accuracies and the Olofsson area estimate of a rice map; report files written.

    Parameters
    ----------
    area, method : str
        For the report's title.
    points : GeoDataFrame
        The reference sample (:func:`read_reference_sample`), ``label_class`` 0 or 1.
    mapped : numpy.ndarray
        The map's stored class at each point, in the sample's order (255 off the map or on nodata),
        computed with the map in the run's one pass.
    mapped_area : numpy.ndarray
        True mapped area (ha) of classes 0 and 1 (:func:`agromap.area.mapped_area_ha`), same pass.
    out_dir : Path
        The area folder; ``accuracy_<...>.json`` and ``.md`` are written there, atomically.
    stem : str
        The class map's file stem (``rice_class_<method>_<dates>``).

    Returns
    -------
    (dict, OlofssonResult)
        The report (with ``files``, ``n_reference_points``, ``n_points_on_nodata``) and the estimate.
    """
    from ..rice.accuracy import accuracy_report, confusion_matrix, olofsson

    mapped = np.asarray(mapped, dtype=np.int64)
    reference = points["label_class"].to_numpy().astype(np.int64)
    keep = mapped != 255
    cm = confusion_matrix(mapped[keep], reference[keep], classes=[0, 1])
    estimate = olofsson(cm, [float(v) for v in np.asarray(mapped_area)], class_names=["non-rice", "rice"],
                        class_values=[0, 1])
    report, markdown = accuracy_report(estimate, title=f"Rice map accuracy and area, area '{area}' ({method} rule)")
    report["n_reference_points"] = int(len(points))
    report["n_points_on_nodata"] = int((~keep).sum())
    stem = stem.replace("rice_class", "accuracy")
    atomic_write_text(out_dir / f"{stem}.json", json.dumps(report, indent=2, default=float))
    atomic_write_text(out_dir / f"{stem}.md", markdown)
    report["files"] = [f"{stem}.json", f"{stem}.md"]
    return report, estimate


def column_notes(columns: Sequence[Any], spec: LayerSpec, id_field: str, name_field: str | None) -> dict[str, str]:
    """What each column of a district table of the layer ``spec`` holds, with its unit (for the manifest).

    Everything is said from the spec (description, units, class names), so a new layer's tables
    are described without code of their own.
    """
    unit = spec.units
    notes = {
        "id": f"district id (the polygons' {id_field!r})",
        "name": f"district name (the polygons' {name_field!r})",
        "polygon_area_ha": "area of the district (ha; on the ellipsoid for geographic grids)",
        "covered_fraction": "share of the district's area covered by valid map cells",
        "mean": f"{spec.description}: mean over the district, each cell weighted by its area inside it ({unit})",
        "min": f"{spec.description}: smallest value of a valid cell the district touches ({unit})",
        "max": f"{spec.description}: largest value of a valid cell the district touches ({unit})",
        "count": "valid cells in the district, each counted by the fraction of it inside",
        "dates": "dates with a district mean",
        "exceedance_days": "dates whose district mean is above the limit",
        "limit": f"the configured limit ({unit})",
        "max_of_means": f"largest district mean over the dates ({unit})",
    }
    for value, name, _colour in spec.classes:
        slug = class_slug(name)
        notes[f"{slug}_ha"] = f"mapped area of class {value} ({name}) in the district (ha)"
        notes[f"{slug}_adjusted_ha"] = (f"area of class {value} ({name}) from the accuracy assessment's estimate, "
                                        "shared among districts by mapped area (ha)")
        notes[f"{slug}_adjusted_ci95_ha"] = f"95 % confidence half-width of {slug}_adjusted_ha, shared the same way (ha)"
    return {str(c): notes.get(str(c), "") for c in columns}


def has_district_stats(spec: LayerSpec) -> bool:
    """Whether a continuous layer gets mean/min/max/count per district: float values stored as is.

    Integer continuous layers (bit fields such as ``qa_flags``, counts, indices stored with a
    scale) have no table; class layers get class areas instead.
    """
    return spec.kind == "continuous" and spec.is_float and spec.scale == 1.0 and spec.offset == 0.0


def district_tables(area: AreaConfig, districts: Any, layers: Sequence[tuple[dict[str, Any], LayerSpec, Mapping[str, Any]]],
                    out: Path, resolve: Any, estimates: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV + GeoJSON per layer: class areas (ha) for class layers, mean/min/max/count otherwise.

    Parameters
    ----------
    area : AreaConfig
        The area; nothing is written without ``districts``.
    districts : agromap.zonal.Districts
        The area's polygons prepared on its grid (by the runner, when planning).
    layers : list of (dict, LayerSpec, mapping)
        Per published layer: its manifest entry, its spec, and its computed ``derived`` values, of
        which ``district_areas`` (:func:`agromap.zonal.class_area_sums`) and ``district_stats``
        (:func:`agromap.zonal_lazy.continuous_sums`) were computed with the layer in the run's
        one pass. No published file is read.
    out : Path
        The output folder; tables go to ``<area>/tables``.
    resolve : callable
        Resolves configuration paths (the district file, for the GeoJSON tables).
    estimates : dict
        Output path -> area estimate that class tables pro-rate.
    """
    from ..zonal import class_area_table, read_polygons, write_table
    from ..zonal_lazy import continuous_table

    if area.districts is None or districts is None:
        return []
    polygons = read_polygons(resolve(area.districts.path))
    d = area.districts
    written = []
    exceed: dict[str, list[Any]] = {}
    for entry, spec, values in layers:
        if entry["area"] != area.name:
            continue
        names = {int(v): n for v, n, _c in spec.classes}
        classes = sorted(names)
        if "district_areas" in values:
            sums = values["district_areas"]
            table = None
            for value in [c for c in classes if c != 0] or classes:
                est = estimates.get(entry["path"]) if value == 1 else None
                df = class_area_table(sums, districts, classes, value, estimate=est)
                slug = class_slug(names.get(value, str(value)))
                keep = ["id"] + (["name"] if "name" in df else []) + ["polygon_area_ha", "covered_fraction"]
                wide = df[keep] if table is None else df[["id"]]
                wide = wide.assign(**{f"{slug}_ha": df["area_ha"]})
                if est is not None and "adj_area_ha" in df:
                    wide = wide.assign(**{f"{slug}_adjusted_ha": df["adj_area_ha"],
                                          f"{slug}_adjusted_ci95_ha": df["adj_area_ci95_ha"]})
                table = wide if table is None else table.merge(wide, on="id")
            if table is None:
                continue
        elif "district_stats" in values:
            table = continuous_table(values["district_stats"], districts)
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
                        "rows": int(len(table)), "description": spec.description, "units": spec.units,
                        "columns": column_notes(table.columns, spec, d.id_field, d.name_field)})
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
        spec = next(sp for e, sp, _v in layers if e["layer"] == name)
        written.append({"layer": name, "files": [str(p.relative_to(out)) for p in paths], "rows": int(len(days)),
                        "kind": "exceedance", "limit": limit, "description": spec.description, "units": spec.units,
                        "columns": column_notes(days.columns, spec, d.id_field, d.name_field)})
    return written
