"""Statistics per polygon of an admin layer (district, block, ward), with exact fractional coverage.

Areas are ``sum(coverage fraction × true pixel area)`` over the cells a polygon touches, where the
coverage fraction of each cell comes from exactextract (>= 0.3) and the true pixel area from
:func:`agromap.area.row_area_m2` (ellipsoidal for EPSG:4326 grids). That is the rule of
docs/science/rice.md#mapped-area-of-a-pixel: never count pixels of geographic grids. exactextract 0.3 has no area-weighted
coverage of its own (its ``coverage`` op takes no area option), so the pixel area is passed to it
as the *weights* raster and summed with ``weighted_sum``.

Coverage fractions are computed in the raster's CRS (degrees for EPSG:4326), so within one cell
the area is taken as uniform; for cells of 0.001° or less the error is far below 1e-6. Results
differ from centroid-based tools (rasterstats, a mask of "pixels whose centre is inside") by
design (prioritizr/prioritizr#130).

- :func:`class_area_by_polygon`: area of one class (rice) per polygon, optionally with the
  Olofsson-adjusted area and a pro-rated 95 % CI.
- :func:`class_area_sums` (lazy) and :func:`class_area_table`: the same areas, every class at
  once, summed chunk by chunk inside the graph of the map, so a run computes them with the map
  (polygons prepared once on the grid by :func:`prepare_districts`; each chunk's coverage by
  :mod:`agromap.zonal_lazy`).
- :func:`zonal_stats`: mean / max / count... of a continuous layer per polygon (air quality, flood).
- :func:`write_table`: CSV and GeoJSON, atomically.

The rasters reach exactextract through :mod:`agromap.zonal_extract` (window readers, the pixel
area as weights, the call itself); this module prepares the polygons and builds the tables.

Apart from :func:`class_area_sums`, these are export-edge functions: they read (and, for
dask-backed arrays, compute) the raster once. Pass the path of the stored class map (COG) for
maps larger than memory.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray
from odc.geo.geobox import GeoBox

from .errors import InputError, NoOverlapError, UnknownCRSError, ZonalError
from .io.grid import crs_name, crs_of, geobox_of
from .io.write import atomic_write_text
from .zonal_extract import RasterWindows, area_source, extract, open_raster, raster_source, result_column

if TYPE_CHECKING:
    import geopandas as gpd

    from .rice.accuracy import OlofssonResult

__all__ = [
    "class_area_by_polygon", "Districts", "prepare_districts", "class_area_sums", "class_area_table",
    "zonal_stats", "write_table", "round_table", "read_polygons", "STATS"]

#: Statistics :func:`zonal_stats` accepts (exactextract operation names).
STATS: frozenset[str] = frozenset(
    {"mean", "min", "max", "sum", "count", "median", "stdev", "variance", "majority", "minority", "variety"}
)
Outside = Literal["raise", "keep"]
log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Polygons
# --------------------------------------------------------------------------------------------


def read_polygons(polygons: gpd.GeoDataFrame | str | os.PathLike[str], *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Polygons from a GeoDataFrame or a vector file (GeoJSON, GeoPackage, Shapefile), CRS required."""
    import geopandas as gpd

    if isinstance(polygons, gpd.GeoDataFrame):
        gdf = polygons
    else:
        try:
            gdf = gpd.read_file(polygons, layer=layer)
        except Exception as exc:  # pyogrio raises DataSourceError and friends
            raise InputError(f"cannot read polygons from {str(polygons)!r}: {exc}") from exc
    if gdf.crs is None:
        raise UnknownCRSError(
            "the polygons have no CRS, so they cannot be placed on the raster; set it explicitly, e.g. "
            "gdf.set_crs('EPSG:4326'), or add a .prj / CRS to the file."
        )
    return gdf


def _prepare(
    polygons: gpd.GeoDataFrame | str | os.PathLike[str],
    raster: RasterWindows,
    id_field: str,
    name_field: str | None,
    outside: Outside,
) -> tuple[gpd.GeoDataFrame, NDArray[np.bool_], NDArray[np.float64]]:
    """Reproject to the raster CRS; returns (polygons, overlaps raster?, polygon area in ha)."""
    from pyproj import CRS
    from shapely.geometry import box

    gdf = read_polygons(polygons)
    for f in (id_field, name_field):
        if f is not None and f not in gdf.columns:
            raise ZonalError(f"field {f!r} is not in the polygons; columns are {list(gdf.columns)}.")
    if gdf[id_field].duplicated().any():
        dups = gdf.loc[gdf[id_field].duplicated(), id_field].tolist()[:5]
        raise ZonalError(f"id_field {id_field!r} is not unique (e.g. {dups}); choose a unique id column.")
    has_geom = gdf.geometry.notna() & ~gdf.geometry.is_empty
    if not has_geom.all():
        log.warning("dropping %d polygon(s) without geometry (ids %s)", int((~has_geom).sum()),
                    gdf.loc[~has_geom, id_field].tolist()[:10])
        gdf = gdf[has_geom]
    if len(gdf) == 0:
        raise ZonalError("no polygon with a geometry to summarise.")
    rcrs = CRS.from_wkt(crs_of(raster.gbox).to_wkt())
    gdf = gdf.to_crs(rcrs)  # explicit: exactextract would only warn on a CRS mismatch
    if not gdf.geometry.is_valid.all():
        gdf = gdf.set_geometry(gdf.geometry.make_valid())
    aff, (ny, nx) = raster.gbox.affine, raster.gbox.shape
    frame = box(aff.c, aff.f + aff.e * ny, aff.c + aff.a * nx, aff.f)
    overlap = np.asarray(gdf.geometry.intersects(frame) & ~gdf.geometry.touches(frame))
    if not overlap.any():
        raise NoOverlapError(
            f"none of the {len(gdf)} polygons overlaps the raster ({crs_name(raster.gbox.crs)}, bounds "
            f"{tuple(round(v, 6) for v in frame.bounds)}); check that the layer and the map cover the same area."
        )
    if not overlap.all() and outside == "raise":
        ids = gdf.loc[~overlap, id_field].tolist()
        raise NoOverlapError(
            f"{len(ids)} polygon(s) do not overlap the raster (ids {ids[:10]}); clip the admin layer to the "
            "mapped area, or pass outside='keep' to report them with NaN areas."
        )
    if rcrs.is_geographic:
        geod = rcrs.get_geod()
        if geod is None:
            raise UnknownCRSError(f"{crs_name(raster.gbox.crs)} has no ellipsoid to measure areas on.")
        parea = np.array([abs(geod.geometry_area_perimeter(g)[0]) for g in gdf.geometry])
    else:
        unit = rcrs.axis_info[0].unit_conversion_factor if rcrs.axis_info else 1.0
        parea = np.asarray(gdf.geometry.area) * unit**2  # same (map) sense as the pixel areas
    return gdf.reset_index(drop=True), overlap, parea / 10_000.0


@dataclass(frozen=True)
class Districts:
    """Polygons prepared for one grid: reprojected to its CRS, with their overlap and true area."""

    gdf: gpd.GeoDataFrame
    overlap: NDArray[np.bool_]
    """Whether each polygon overlaps the grid."""
    polygon_area_ha: NDArray[np.float64]
    id_field: str
    name_field: str | None


def prepare_districts(polygons: gpd.GeoDataFrame | str | os.PathLike[str], gbox: GeoBox, id_field: str, *,
                      name_field: str | None = None, outside: Outside = "keep") -> Districts:
    """Read and reproject ``polygons`` onto ``gbox`` once, for :func:`class_area_sums` and
    :func:`class_area_table` (the checks of :func:`class_area_by_polygon`; no pixel is read).
    """
    gdf, overlap, parea = _prepare(polygons, RasterWindows(gbox, _no_read), id_field, name_field, outside)
    return Districts(gdf, overlap, parea, id_field, name_field)


def _no_read(x0: int, y0: int, nx: int, ny: int) -> NDArray[np.float64]:
    raise ZonalError("prepared polygons read no pixel (a bug).")


def class_area_sums(class_map: xr.DataArray, districts: Districts, classes: Sequence[int],
                    nodata: float | None = 255) -> Any:
    """Area (ha) of each of ``classes``, and of valid cells, in each district: lazy, block by block.

    Every chunk of ``class_map`` is summarised on its own (exactextract coverage fraction x true
    pixel area, the method of :func:`class_area_by_polygon`, from the chunk's district coverage:
    :func:`agromap.zonal_lazy.class_sums`) and the chunk sums are added, so the areas are computed
    with the map in one pass instead of reading it back.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        float64 ``(district, len(classes) + 1)``: the class areas, then the valid area; lazy when
        ``class_map`` is dask-backed.
    """
    from .zonal_lazy import DistrictCover, class_sums

    arr = class_map.transpose("y", "x")
    return class_sums(arr, DistrictCover(districts, geobox_of(arr)), classes, nodata)


def class_area_table(sums: NDArray[np.float64], districts: Districts, classes: Sequence[int], class_value: int, *,
                     estimate: OlofssonResult | None = None) -> pd.DataFrame:
    """The table of :func:`class_area_by_polygon` for ``class_value``, from :func:`class_area_sums`."""
    sums = np.asarray(sums, dtype=np.float64)
    k = [int(c) for c in classes].index(int(class_value))
    return _area_table(districts.gdf, districts.overlap, districts.polygon_area_ha, sums[:, k], sums[:, -1],
                       districts.id_field, districts.name_field, class_value, estimate, None)


def _area_table(gdf: gpd.GeoDataFrame, overlap: NDArray[np.bool_], parea: NDArray[np.float64],
                area: NDArray[np.float64], valid: NDArray[np.float64], id_field: str, name_field: str | None,
                class_value: int, estimate: OlofssonResult | None, estimate_class: int | str | None) -> pd.DataFrame:
    table = _base_table(gdf, id_field, name_field)
    table["area_ha"] = np.where(overlap, area, np.nan)
    table["valid_area_ha"] = np.where(overlap, valid, np.nan)
    table["polygon_area_ha"] = parea
    with np.errstate(invalid="ignore", divide="ignore"):
        table["covered_fraction"] = np.where(overlap, table["valid_area_ha"] / parea, 0.0)
        table["class_fraction"] = table["area_ha"] / table["valid_area_ha"]
    if estimate is not None:
        k = estimate.index_of(class_value if estimate_class is None else estimate_class)
        mapped_k = float(estimate.mapped_area_ha[k])
        if mapped_k <= 0:
            raise ZonalError(f"the estimate maps no area of class {estimate.class_names[k]!r}; cannot pro-rate it.")
        share = table["area_ha"].to_numpy() / mapped_k
        table["adj_area_ha"] = share * float(estimate.area_ha[k])
        table["adj_area_ci95_ha"] = share * float(estimate.area_ci_ha[k])
    table.attrs.update(
        id_field=id_field,
        class_value=int(class_value),
        method="sum of exactextract coverage fraction x true pixel area (ha)",
        adjustment=None if estimate is None else "global Olofsson estimate pro-rated by mapped class area",
    )
    return table


def _base_table(gdf: gpd.GeoDataFrame, id_field: str, name_field: str | None) -> pd.DataFrame:
    table = pd.DataFrame({"id": gdf[id_field].to_numpy()})
    if name_field is not None:
        table["name"] = gdf[name_field].to_numpy()
    return table


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def class_area_by_polygon(
    class_map: xr.DataArray | str | os.PathLike[str],
    polygons: gpd.GeoDataFrame | str | os.PathLike[str],
    class_value: int,
    id_field: str,
    *,
    name_field: str | None = None,
    nodata: int | None = 255,
    outside: Outside = "raise",
    estimate: OlofssonResult | None = None,
    estimate_class: int | str | None = None,
) -> pd.DataFrame:
    """Area of one class in each polygon, by exact coverage fraction × true pixel area.

    Parameters
    ----------
    class_map : xarray.DataArray or path
        ``(y, x)`` integer class map (uint8, nodata 255) with a GeoBox, numpy or dask (computed
        window by window, each chunk once), or the path of a stored GeoTIFF/COG (band 1; the
        file's nodata is used when ``nodata`` is None). Any north-up CRS, EPSG:4326 included.
    polygons : GeoDataFrame or path
        Admin polygons (GeoJSON, GeoPackage, Shapefile) with a CRS; reprojected to the raster CRS.
    class_value : int
        The class to measure (1 = rice in ``rice_class``).
    id_field : str
        Unique polygon id column; becomes ``id`` in the table.
    name_field : str, optional
        Name column; becomes ``name``.
    nodata : int, optional
        Class-map nodata value, excluded from ``valid_area_ha``.
    outside : {"raise", "keep"}
        A polygon that misses the raster entirely raises :class:`NoOverlapError`, or is kept with
        NaN areas. When *no* polygon overlaps, it always raises.
    estimate : OlofssonResult, optional
        A stratified estimate of the same map (:func:`agromap.rice.accuracy.olofsson`); adds the
        pro-rated adjusted area and CI (see Notes).
    estimate_class : int or str, optional
        The class in ``estimate`` (code or name); defaults to ``class_value``.

    Returns
    -------
    pandas.DataFrame
        One row per polygon: ``id``, [``name``], ``area_ha`` (mapped area of the class),
        ``valid_area_ha`` (area of non-nodata cells), ``polygon_area_ha`` (ellipsoidal for
        geographic rasters, map area for projected ones), ``covered_fraction``
        (valid / polygon area: below 1 where the map has gaps or ends), ``class_fraction``
        (area / valid area); with ``estimate``: ``adj_area_ha`` and ``adj_area_ci95_ha``.
        ``attrs`` records ``id_field``, ``class_value`` and the method.

    Notes
    -----
    With ``estimate``, the map's class area in each polygon is scaled by the global ratio
    Â_k / A_m,k (adjusted / mapped area of the class), and the global 95 % CI is shared in
    proportion to the polygon's mapped class area: ``ci_d = 1.96 S(Â_k) · A_m,k,d / A_m,k``. This
    assumes the map's commission and omission rates are the same in every polygon. It pro-rates
    the global estimate, it is **not** a district estimate: a sample-based district estimate
    needs reference samples in each district (Stehman 2014, districts as domains) and would have
    a wider interval. Report it as such.
    """
    raster = open_raster(class_map, nodata)
    gdf, overlap, parea = _prepare(polygons, raster, id_field, name_field, outside)
    value = float(class_value)

    def indicator(w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.isnan(w), np.nan, (w == value).astype(np.float64))

    def valid(w: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.where(np.isnan(w), np.nan, 1.0)

    rast = [raster_source(raster, indicator, "cls"), raster_source(raster, valid, "valid")]
    res = extract(gdf, rast, ["weighted_sum"], area_source(raster.gbox), raster)
    return _area_table(gdf, overlap, parea, result_column(res, "cls", "weighted_sum"), result_column(res, "valid", "weighted_sum"),
                       id_field, name_field, class_value, estimate, estimate_class)


def zonal_stats(
    raster: xr.DataArray | str | os.PathLike[str],
    polygons: gpd.GeoDataFrame | str | os.PathLike[str],
    stats: Sequence[str] = ("mean", "max", "count"),
    id_field: str = "id",
    *,
    name_field: str | None = None,
    nodata: float | None = None,
    area_weighted: bool = True,
    outside: Outside = "raise",
) -> pd.DataFrame:
    """Statistics of a continuous layer (NO2, PM2.5, flood depth...) per polygon.

    Parameters
    ----------
    raster : xarray.DataArray or path
        ``(y, x)`` layer with a GeoBox (NaN = nodata for floats), or a GeoTIFF path.
    polygons : GeoDataFrame or path
        Polygons with a CRS; reprojected to the raster CRS.
    stats : sequence of str
        exactextract operations from :data:`STATS`. Every one weights cells by their coverage
        fraction; ``count`` is the covered number of valid cells (fractional), ``sum`` is
        ``Σ value × coverage`` (not multiplied by area).
    id_field, name_field : str
        Polygon id (unique) and optional name columns.
    nodata : float, optional
        Nodata value of an integer raster (float rasters use NaN; a file's own nodata is used by default).
    area_weighted : bool
        ``mean`` (and ``stdev``/``variance``) also weighted by true pixel area, which matters on a
        geographic grid spanning many rows.
    outside : {"raise", "keep"}
        As in :func:`class_area_by_polygon`.

    Returns
    -------
    pandas.DataFrame
        ``id``, [``name``], one float column per statistic (NaN where a polygon has no valid cell
        or misses the raster).
    """
    bad = [s for s in stats if s not in STATS]
    if bad or not stats:
        raise ZonalError(f"unknown statistic(s) {bad}; choose from {sorted(STATS)}.")
    src = open_raster(raster, nodata)
    gdf, overlap, _ = _prepare(polygons, src, id_field, name_field, outside)
    weighted = {"mean", "stdev", "variance"} if area_weighted else set()
    ops = [f"weighted_{s}" if s in weighted else s for s in stats]
    res = extract(gdf, [raster_source(src, None, "v")], ops, area_source(src.gbox) if weighted & set(stats) else None, src)
    table = _base_table(gdf, id_field, name_field)
    for s, op in zip(stats, ops):
        vals = result_column(res, "v", op)
        table[s] = np.where(overlap, vals, np.nan)
    table.attrs.update(id_field=id_field, stats=list(stats), area_weighted=area_weighted)
    return table


def round_table(df: pd.DataFrame) -> pd.DataFrame:
    """Round a zonal table to the precision its numbers carry, for files people open.

    Areas (``*_ha``) to 0.0001 ha (1 m², well below a pixel), fractions to 4 decimals, weighted pixel counts
    to 0.01, anything else to 6 significant digits: exactextract's coverage weights leave float
    noise such as ``covered_fraction`` 1.000000000012733, which is 1.
    """
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_float_dtype(out[col]):
            continue
        c = str(col).lower()
        if c.endswith("_ha"):
            out[col] = out[col].round(4)
        elif c.endswith("fraction"):
            out[col] = out[col].round(4).clip(upper=1.0) if (out[col] <= 1.0 + 1e-6).all() else out[col].round(4)
        elif c in ("count", "pixels", "n", "dates", "exceedance_days"):
            out[col] = out[col].round(2)
        else:
            vals = out[col].to_numpy(dtype=np.float64)
            ok = np.isfinite(vals) & (vals != 0)
            mag = np.zeros_like(vals)
            mag[ok] = np.floor(np.log10(np.abs(vals[ok])))
            dec = (5 - mag).astype(int)
            out[col] = [float(np.round(v, d)) if np.isfinite(v) else v for v, d in zip(vals, dec)]
    out.attrs.update(df.attrs)
    return out


def write_table(
    df: pd.DataFrame,
    csv_path: str | os.PathLike[str],
    geojson_path: str | os.PathLike[str] | None = None,
    polygons: gpd.GeoDataFrame | str | os.PathLike[str] | None = None,
    *,
    id_field: str | None = None,
) -> list[Path]:
    """Write a zonal table as CSV and, with ``polygons``, as a GeoJSON of the polygons; atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        From :func:`class_area_by_polygon` or :func:`zonal_stats` (an ``id`` column).
    csv_path : path-like
        CSV destination (UTF-8, no index).
    geojson_path : path-like, optional
        GeoJSON destination (EPSG:4326, RFC 7946); needs ``polygons``.
    polygons : GeoDataFrame or path, optional
        The polygons the table was made from, joined on ``id_field`` (default ``df.attrs["id_field"]``).

    Returns
    -------
    list of pathlib.Path
        Written files. Each is written to a ``.partial`` file, fsynced and renamed into place.
    """
    df = round_table(df)
    out = [Path(csv_path)]
    out[0].parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out[0], df.to_csv(index=False))
    if geojson_path is None:
        return out
    if polygons is None:
        raise ZonalError("geojson_path needs the polygons the table was computed from (polygons=...).")
    field = id_field or df.attrs.get("id_field")
    gdf = read_polygons(polygons)
    if field is None or field not in gdf.columns:
        raise ZonalError(f"cannot join the table to the polygons: id field {field!r} not in {list(gdf.columns)}.")
    geo = gdf[[field, gdf.geometry.name]].rename(columns={field: "id"}).merge(df, on="id", how="inner")
    geo = geo.to_crs("EPSG:4326")
    doc = json.loads(geo.to_json(na="null", show_bbox=False, drop_id=True))
    dest = Path(geojson_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dest, json.dumps(doc, ensure_ascii=False))
    out.append(dest)
    return out
