"""Labelled points and polygons for the rice classifier, and the feature vectors at them.

:func:`read_labels` reads GeoJSON, GeoPackage (any OGR vector format) or CSV (``x``/``y`` or
``lon``/``lat`` columns) into a GeoDataFrame with ``label_id``, ``label_class`` and
``geometry``. :func:`extract_samples` checks the labels against the feature raster (same CRS,
inside the raster, at least two classes), turns polygons into the pixels whose centres they
contain, gives every sample the spatial block of its label, and returns the lazy table of
feature vectors the model trains on.

A CRS mismatch is an error, never a silent reprojection: the well-known failure is a silent
-9999 or NA for points read in the wrong CRS (yotarazona/scikit-eo#18, rspatial/terra#1287).
``reproject=True`` reprojects on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from odc.geo import CRS

from ..errors import InputError, LabelCRSError, LabelError, LabelOverlapError, SingleClassError
from ..io.gridspec import crs_name, crs_of

if TYPE_CHECKING:  # reading labels (a reference sample in `agromap validate`) needs no array stack
    import geopandas as gpd
    import xarray as xr
    from odc.geo.geobox import GeoBox

__all__ = [
    "read_labels",
    "check_label_crs",
    "extract_samples",
    "samples_from_points",
]

_VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".parquet")
_XY_PAIRS = (("x", "y"), ("lon", "lat"), ("longitude", "latitude"))
_MAX_LISTED = 20


def _listed(ids: Sequence[Any]) -> str:
    shown = ", ".join(map(str, ids[:_MAX_LISTED]))
    return shown + (f", ... ({len(ids) - _MAX_LISTED} more)" if len(ids) > _MAX_LISTED else "")


def _read_csv(path: Path, crs: Any, x_column: str | None, y_column: str | None) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    df = pd.read_csv(path)
    cols = {c.lower(): c for c in df.columns}
    if x_column and y_column:
        pair = (x_column, y_column)
    else:
        found = [(cols[a], cols[b]) for a, b in _XY_PAIRS if a in cols and b in cols]
        if not found:
            raise LabelError(
                f"{path.name}: no coordinate columns; expected x,y or lon,lat (columns: {list(df.columns)}). "
                "Name them, or pass x_column= and y_column=."
            )
        pair = found[0]
    missing = [c for c in pair if c not in df.columns]
    if missing:
        raise LabelError(f"{path.name}: coordinate columns {missing} not found (columns: {list(df.columns)}).")
    if crs is None:
        if pair[0].lower() in ("lon", "longitude"):
            crs = "EPSG:4326"  # lon/lat columns are geographic by name; anything else must be said
        else:
            raise LabelCRSError(
                f"{path.name}: CSV coordinates carry no CRS; pass crs= (e.g. crs='EPSG:32644' for "
                "UTM 44N metres, or name the columns lon,lat for WGS84 degrees)."
            )
    xs, ys = (pd.to_numeric(df[c], errors="coerce") for c in pair)
    bad = df.index[~(np.isfinite(xs) & np.isfinite(ys))].tolist()
    if bad:
        raise LabelError(f"{path.name}: {len(bad)} rows have no numeric coordinates (rows {_listed(bad)}).")
    return gpd.GeoDataFrame(df.drop(columns=list(pair)), geometry=gpd.points_from_xy(xs, ys), crs=crs)


def _read_vector(path: Path, crs: Any, layer: str | int | None) -> gpd.GeoDataFrame:
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ... for unreadable files
        raise LabelError(f"{path}: cannot read as a vector file ({exc}).") from exc
    if gdf.crs is None:
        if crs is None:
            raise LabelCRSError(f"{path.name}: the file declares no CRS; pass crs= (e.g. crs='EPSG:32644').")
        return gdf.set_crs(crs)
    if crs is not None and CRS(crs) != CRS(gdf.crs):
        raise LabelCRSError(
            f"{path.name} declares {crs_name(CRS(gdf.crs))} but crs={crs!r} was passed; drop crs= to use the "
            "file's own CRS, or fix the file."
        )
    return gdf


def read_labels(
    path: str | Path,
    *,
    class_column: str = "class",
    id_column: str | None = "id",
    crs: Any = None,
    layer: str | int | None = None,
    x_column: str | None = None,
    y_column: str | None = None,
) -> gpd.GeoDataFrame:
    """Read labelled points or polygons.

    Parameters
    ----------
    path : str or Path
        ``.csv`` with coordinate columns (``x``,``y`` or ``lon``,``lat``, case-insensitive), or
        any vector file GDAL reads (``.geojson``, ``.gpkg``, ``.shp``, ``.fgb``, ``.parquet``).
    class_column : str
        Integer class of each label (e.g. 1 rice, 0 other).
    id_column : str or None
        Unique label (site, field) identifier; ``None`` or absent: the row number.
    crs : str or CRS, optional
        Required for CSV ``x``/``y`` (``lon``/``lat`` default to EPSG:4326) and for vector files
        without a CRS; for a vector file with a CRS it must agree with it.
    layer : str or int, optional
        Layer of a multi-layer file (GeoPackage).
    x_column, y_column : str, optional
        CSV coordinate columns with other names.

    Returns
    -------
    geopandas.GeoDataFrame
        ``label_id`` (str), ``label_class`` (int64), ``geometry`` (Point, Polygon, MultiPolygon),
        the other columns as read; ``crs`` always set. Eager: label files are small.

    Raises
    ------
    LabelError
        Unknown format, missing columns, non-integer or missing classes, empty or unsupported
        geometries, duplicate ids.
    LabelCRSError
        No CRS known, or ``crs=`` disagrees with the file.
    """
    path = Path(path)
    if not path.exists():
        raise LabelError(f"label file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        gdf = _read_csv(path, crs, x_column, y_column)
    elif suffix in _VECTOR_SUFFIXES:
        gdf = _read_vector(path, crs, layer)
    else:
        raise LabelError(f"{path.name}: unknown label format {suffix!r}; use .csv or one of {_VECTOR_SUFFIXES}.")
    if class_column not in gdf.columns:
        raise LabelError(f"{path.name}: no class column {class_column!r} (columns: {list(gdf.columns)}); "
                         "pass class_column=.")  # fmt: skip
    ids = gdf[id_column].astype(str) if id_column and id_column in gdf.columns else gdf.index.astype(str)
    gdf = gdf.assign(label_id=np.asarray(ids, dtype=str))
    dup = gdf["label_id"][gdf["label_id"].duplicated()].unique().tolist()
    if dup:
        raise LabelError(f"{path.name}: duplicate label ids {_listed(dup)}; ids must be unique.")
    import pandas as pd

    cls = pd.to_numeric(gdf[class_column], errors="coerce")
    bad = gdf["label_id"][~np.isfinite(cls) | (cls != np.round(cls))].tolist()
    if bad:
        raise LabelError(f"{path.name}: {len(bad)} labels have no integer class in {class_column!r} "
                         f"(ids {_listed(bad)}).")  # fmt: skip
    gdf = gdf.assign(label_class=cls.astype(np.int64))
    empty = gdf["label_id"][gdf.geometry.is_empty | gdf.geometry.isna()].tolist()
    kinds = set(gdf.geometry.geom_type.dropna()) - {"Point", "Polygon", "MultiPolygon"}
    if empty or kinds:
        raise LabelError(f"{path.name}: empty geometries (ids {_listed(empty)}) or unsupported types "
                         f"{sorted(kinds)}; use points or polygons.")  # fmt: skip
    return gdf


def _pixel_centres(gbox: GeoBox, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of pixel centres (written out: affine's ``*`` on arrays is deprecated)."""
    aff = gbox.affine
    return (aff.c + aff.a * (cols + 0.5) + aff.b * (rows + 0.5),
            aff.f + aff.d * (cols + 0.5) + aff.e * (rows + 0.5))


def check_label_crs(labels: gpd.GeoDataFrame, gbox: GeoBox, *, reproject: bool = False) -> gpd.GeoDataFrame:
    """The labels in the raster's CRS: unchanged if they already are, reprojected only on request.

    Raises
    ------
    LabelCRSError
        When the CRSs differ and ``reproject`` is False, or the labels have no CRS.
    """
    if labels.crs is None:
        raise LabelCRSError("labels have no CRS; set one with labels.set_crs('EPSG:...') or read them with crs=.")
    want, got = crs_of(gbox), CRS(labels.crs)
    if got == want:
        return labels
    if not reproject:
        raise LabelCRSError(
            f"labels are in {crs_name(got)} but the raster is in {crs_name(want)}; reproject them "
            f"explicitly (labels.to_crs('{crs_name(want)}'), or reproject=True), or fix the CRS they "
            "were read with."
        )
    return labels.to_crs(want.to_wkt())


def label_pixels(labels: gpd.GeoDataFrame, gbox: GeoBox) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Rows and columns of each label's pixels; the ids of labels with no pixel in the raster."""
    import shapely

    inv = ~gbox.transform
    h, w = gbox.shape
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    outside: list[str] = []
    is_point = (labels.geometry.geom_type == "Point").to_numpy()
    anchor = labels.geometry.representative_point()  # a point's own position; all points at once
    pc, pr = inv * (anchor.x.to_numpy(), anchor.y.to_numpy())
    pr, pc = np.floor(pr).astype(np.int64), np.floor(pc).astype(np.int64)
    for i, (lid, geom) in enumerate(zip(labels["label_id"], labels.geometry, strict=True)):
        if is_point[i]:
            rr, cc = pr[i : i + 1], pc[i : i + 1]
        else:  # polygons: the pixels whose centres they contain, within their bounding window
            x0, y0, x1, y1 = geom.bounds
            (ca, ra), (cb, rb) = inv * (x0, y0), inv * (x1, y1)
            r0, r1 = max(int(np.floor(min(ra, rb))), 0), min(int(np.ceil(max(ra, rb))), h)
            c0, c1 = max(int(np.floor(min(ca, cb))), 0), min(int(np.ceil(max(ca, cb))), w)
            gr, gc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
            xs, ys = _pixel_centres(gbox, gr.ravel(), gc.ravel())
            inside = shapely.contains_xy(geom, np.asarray(xs), np.asarray(ys))
            rr, cc = gr.ravel()[inside], gc.ravel()[inside]
            if rr.size == 0:  # smaller than a pixel: the pixel under a point inside it
                rr, cc = pr[i : i + 1], pc[i : i + 1]
        ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        if not ok.any():
            outside.append(str(lid))
        rows_out.append(rr[ok])
        cols_out.append(cc[ok])
    return rows_out, cols_out, outside


def _block_ids(labels: gpd.GeoDataFrame, block_size_m: float) -> np.ndarray:
    """``"<bx>_<by>"`` of the ``block_size_m`` grid cell holding each label's representative point."""
    pts = labels.geometry.representative_point()
    if labels.crs is not None and CRS(labels.crs).geographic:
        pts = pts.to_crs(labels.estimate_utm_crs())  # blocks are metres, also for a lon/lat raster
    bx = np.floor(pts.x.to_numpy() / block_size_m).astype(np.int64)
    by = np.floor(pts.y.to_numpy() / block_size_m).astype(np.int64)
    return np.array([f"{a}_{b}" for a, b in zip(bx, by, strict=True)])


def check_classes(classes: np.ndarray, what: str) -> None:
    found = np.unique(classes)
    if found.size < 2:
        raise SingleClassError(
            f"{what} contain only class {found.tolist()}; a classifier needs at least two classes. "
            "Add labels of the other class(es) (e.g. non-rice points: other crops, water, forest, urban)."
        )


def extract_samples(
    labels: gpd.GeoDataFrame,
    features: xr.DataArray,
    *,
    reproject: bool = False,
    block_size_m: float = 10_000.0,
    on_outside: Literal["raise", "drop"] = "raise",
) -> xr.Dataset:
    """Feature vectors at the labels: one sample per point, one per pixel of each polygon.

    Parameters
    ----------
    labels : geopandas.GeoDataFrame
        From :func:`read_labels` (``label_id``, ``label_class``, point or polygon geometry).
    features : xarray.DataArray
        ``(feature, y, x)`` float32 with a GeoBox in its coordinates (from
        :func:`agromap.rice.features.temporal_features`), numpy or dask.
    reproject : bool
        Reproject labels in another CRS instead of raising :class:`LabelCRSError`.
    block_size_m : float
        Edge of the square blocks (metres; a local UTM for geographic rasters) that group samples
        for spatially blocked cross-validation. A polygon's pixels share the block of its
        representative point, so a field never straddles two folds.
    on_outside : {"raise", "drop"}
        Labels without a pixel in the raster raise :class:`LabelOverlapError` (default), or are dropped
        and counted in ``attrs["n_labels_outside"]``. No label inside always raises.

    Returns
    -------
    xarray.Dataset
        ``features`` ``(sample, feature)`` float32 (NaN where the raster is nodata: training drops
        those rows), with per-sample coordinates ``label_class`` (int64), ``label_id`` (str; the
        polygon id for polygon pixels), ``block_id`` (str), ``row``, ``col`` and ``sample_x``,
        ``sample_y`` (pixel centres, raster CRS). ``attrs``: ``crs``, ``block_size_m``,
        ``band_scaling``, ``feature_spec``, ``n_labels``, ``n_labels_outside``,
        ``n_overlap_pixels_dropped`` (pixels claimed by two polygons, dropped). Lazy if
        ``features`` is: call ``.compute()`` before training.

    Raises
    ------
    LabelCRSError, LabelOverlapError, SingleClassError
    """
    if "feature" not in features.dims or features.ndim != 3:
        raise InputError(f"features must be (feature, y, x); got dims {features.dims}. For a table of points "
                         "use samples_from_points().")  # fmt: skip
    if not block_size_m > 0:
        raise LabelError(f"block_size_m must be > 0, got {block_size_m}.")
    import xarray as xr

    from ..io.grid import geobox_of

    gbox = geobox_of(features)
    labels = check_label_crs(labels, gbox, reproject=reproject)
    rows, cols, outside = label_pixels(labels, gbox)
    n = len(labels)
    if len(outside) == n:
        b = labels.total_bounds
        raise LabelOverlapError(
            f"none of the {n} labels overlaps the raster: labels span {tuple(round(v, 1) for v in b)}, the raster "
            f"{tuple(round(v, 1) for v in gbox.boundingbox)} in {crs_name(gbox.crs)}. Check the label file and "
            "its CRS, or the raster's area."
        )
    if outside and on_outside == "raise":
        raise LabelOverlapError(
            f"{len(outside)} of {n} labels fall outside the raster {crs_name(gbox.crs)} "
            f"{tuple(round(v, 1) for v in gbox.boundingbox)}: ids {_listed(outside)}. Remove them, or pass "
            "on_outside='drop'."
        )
    keep = np.array([r.size > 0 for r in rows])
    check_classes(labels["label_class"].to_numpy()[keep], "the labels inside the raster")
    blocks = _block_ids(labels, block_size_m)
    counts = np.array([r.size for r in rows])
    rr, cc = np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64)
    rep = np.repeat(np.arange(n), counts)
    is_poly = np.repeat((labels.geometry.geom_type != "Point").to_numpy(), counts)
    # A pixel inside two polygons belongs to neither (it could carry two classes or two groups).
    flat = np.where(is_poly, rr * gbox.shape[1] + cc, -1 - np.arange(rr.size))
    _, inverse, nclaims = np.unique(flat, return_inverse=True, return_counts=True)
    claimed_twice = nclaims[inverse] > 1
    sel = ~claimed_twice
    rr, cc, rep = rr[sel], cc[sel], rep[sel]
    xs, ys = _pixel_centres(gbox, rr, cc)
    table = features.isel(y=xr.DataArray(rr, dims="sample"), x=xr.DataArray(cc, dims="sample"))
    table = table.drop_vars([c for c in table.coords if c not in ("feature",)]).transpose("sample", "feature")
    ds = xr.Dataset(
        {"features": table.astype(np.float32)},
        coords={
            "label_class": ("sample", labels["label_class"].to_numpy()[rep].astype(np.int64)),
            "label_id": ("sample", labels["label_id"].to_numpy()[rep].astype(str)),
            "block_id": ("sample", blocks[rep]),
            "row": ("sample", rr), "col": ("sample", cc),
            "sample_x": ("sample", np.asarray(xs, dtype=np.float64)),
            "sample_y": ("sample", np.asarray(ys, dtype=np.float64)),
        },
    )  # fmt: skip
    return ds.assign_attrs(
        crs=crs_name(gbox.crs), block_size_m=float(block_size_m), n_labels=int(keep.sum()),
        n_labels_outside=len(outside), n_overlap_pixels_dropped=int(claimed_twice.sum()),
        band_scaling=features.attrs.get("band_scaling", ""), feature_spec=features.attrs.get("feature_spec", ""),
    )  # fmt: skip


def samples_from_points(
    features: xr.DataArray,
    label_class: Any,
    group: Any,
    *,
    label_id: Any = None,
    crs: str | None = None,
) -> xr.Dataset:
    """The training table of :func:`extract_samples` from features already extracted at points.

    Parameters
    ----------
    features : xarray.DataArray
        ``(feature, point)`` float32, e.g. :func:`temporal_features` of a ``(time, point)`` table.
    label_class : array-like of int
        Class of each point.
    group : array-like
        Site or block of each point, used as the cross-validation group (keep a
        ``site_id`` or ``block_id`` on every sample); required, since points carry no raster grid.
    label_id : array-like, optional
        Identifier of each point (default: its position).
    crs : str, optional
        Recorded in the model metadata.

    Returns
    -------
    xarray.Dataset
        As :func:`extract_samples` (without ``row``/``col``/``sample_x``/``sample_y``). Lazy if
        ``features`` is.
    """
    if features.dims != ("feature", "point"):
        raise InputError(f"features must be (feature, point); got {features.dims}.")
    n = features.sizes["point"]
    cls = np.asarray(label_class)
    grp = np.asarray(group).astype(str)
    ids = np.arange(n).astype(str) if label_id is None else np.asarray(label_id).astype(str)
    if cls.shape != (n,) or grp.shape != (n,) or ids.shape != (n,):
        raise LabelError(f"label_class, group and label_id must each have one value per point ({n}).")
    if not np.issubdtype(cls.dtype, np.integer):
        raise LabelError(f"label_class must be integers, got {cls.dtype}.")
    check_classes(cls, "the point labels")
    import xarray as xr

    table = features.drop_vars([c for c in features.coords if c != "feature"]).rename(point="sample")
    ds = xr.Dataset(
        {"features": table.transpose("sample", "feature").astype(np.float32)},
        coords={"label_class": ("sample", cls.astype(np.int64)), "label_id": ("sample", ids),
                "block_id": ("sample", grp)},
    )  # fmt: skip
    return ds.assign_attrs(
        crs=crs or "", block_size_m=float("nan"), n_labels=n, n_labels_outside=0, n_overlap_pixels_dropped=0,
        band_scaling=features.attrs.get("band_scaling", ""), feature_spec=features.attrs.get("feature_spec", ""),
    )  # fmt: skip

