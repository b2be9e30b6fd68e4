"""Per-district summaries of a layer as lazy reductions of the layer's own graph.

A run computes its layers once; the statistics per district (mean, min, max and valid cell count
of NDVI, NO2, PM2.5...; the area of each class of a class map) are reductions of the same stored
(encoded) blocks, so they are computed in that pass and no published file is read back.

How districts cover the grid is worked out once per area and block (:class:`DistrictCover`), with
exactextract's exact cell coverage fractions (the method of :func:`agromap.zonal.zonal_stats`):
cells wholly inside one district go into an integer district-id block, the cells a boundary
crosses into a short list of ``(cell, district, coverage)``. Each layer's block then reduces to
five numbers per district (:func:`continuous_sums`), or to one area per class
(:func:`class_sums`), with :func:`numpy.bincount`; the blocks' numbers are added (or their
minimum and maximum taken) inside the graph. exactextract runs once per block for all the
area's layers, not once per layer and class. A block's coverage is kept until every layer has
used it: 2 bytes per cell (4 beyond 32 767 districts) plus the boundary list.

The statistics are those of :func:`agromap.zonal.zonal_stats` with ``area_weighted=True``:

- ``mean``: ``Σ v·c·a / Σ c·a`` over valid cells (``c`` the cell's coverage fraction, ``a`` its
  true area from :func:`agromap.area.row_area_m2`);
- ``min``, ``max``: over valid cells the district touches (``c > 0``);
- ``count``: ``Σ c`` over valid cells (a fractional number of cells).

They equal the read-back values to floating-point rounding (the sums are added in another order).
Percentiles are not reported: they would need a per-district histogram on a range fixed before
the compute, which most layers (column densities, backscatter) do not have.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
    from odc.geo.geobox import GeoBox

    from .io.layers import LayerSpec
    from .zonal import Districts

__all__ = ["DistrictCover", "BlockCover", "block_cover", "continuous_sums", "continuous_table", "class_sums",
           "STAT_COLUMNS"]

#: Columns of :func:`continuous_table`, in order, after ``id`` (and ``name``).
STAT_COLUMNS: tuple[str, ...] = ("mean", "min", "max", "count")

_SUM_VA, _SUM_A, _COUNT, _MIN, _MAX = range(5)
# exactextract 0.3 overwrites a column named "id" with the row index, so districts are matched
# back to their rows through a column of this name (also by zonal_extract)
FEATURE_ID_COLUMN = "__agromap_fid"
_serial = itertools.count()


@dataclass(frozen=True)
class BlockCover:
    """Which districts cover which cells of one grid block, and by how much."""

    whole: NDArray[np.signedinteger[Any]]
    """Flat ``(h * w,)``: the district covering the cell wholly and alone, -1 otherwise (int16, or
    int32 beyond 32 767 districts)."""
    cells: NDArray[np.int64]
    """Flat cell index of each partial (boundary or shared) entry."""
    district: NDArray[np.int64]
    """District (row of the polygons) of each partial entry."""
    coverage: NDArray[np.float64]
    """Coverage fraction (0-1] of each partial entry."""
    row_area_ha: NDArray[np.float64]
    """True area of the block's cells, one value per row (ha)."""


def block_cover(gbox: GeoBox, districts: Districts) -> BlockCover:
    """The districts' exact coverage of the cells of ``gbox`` (one block of the area's grid).

    Runs exactextract's ``cell_id`` and ``coverage`` operations on the block's grid alone (no
    pixel is read), for the districts whose polygons meet the block.
    """
    import geopandas as gpd
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource
    from shapely.geometry import box

    from .area import row_area_m2
    from .io.grid import crs_of

    ny, nx = (int(n) for n in gbox.shape)
    aff = gbox.affine
    frame = box(aff.c, aff.f + aff.e * ny, aff.c + aff.a * nx, aff.f)
    gdf = districts.gdf
    near = np.flatnonzero(np.asarray(gdf.geometry.intersects(frame)))
    rows_ha = np.asarray(row_area_m2(gbox), dtype=np.float64).reshape(-1)[:ny] / 10_000.0
    # int16 when it can hold every district: the block is kept until each layer has used it.
    whole: NDArray[np.signedinteger[Any]] = np.full(ny * nx, -1, dtype=np.int16 if len(gdf) < 2**15 else np.int32)
    empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float64)
    if near.size == 0:
        return BlockCover(whole, empty_i, empty_i, empty_f, rows_ha)
    # Coverage needs the grid only: the raster's values are never looked at.
    grid = NumPyRasterSource(np.zeros((ny, nx), np.float32), *frame.bounds, srs_wkt=crs_of(gbox).to_wkt())
    vec = gpd.GeoDataFrame({FEATURE_ID_COLUMN: near}, geometry=gdf.geometry.to_numpy()[near], crs=gdf.crs)
    res = exact_extract(grid, vec, ["cell_id", "coverage"], include_cols=[FEATURE_ID_COLUMN], output="pandas")
    parts = [(np.asarray(c, np.int64), np.full(len(c), d, np.int64), np.asarray(f, np.float64))
             for d, c, f in zip(res[FEATURE_ID_COLUMN], res["cell_id"], res["coverage"]) if len(c)]
    if not parts:
        return BlockCover(whole, empty_i, empty_i, empty_f, rows_ha)
    cells, district, coverage = (np.concatenate(p) for p in zip(*parts))
    keep = coverage > 0
    cells, district, coverage = cells[keep], district[keep], coverage[keep]
    # A cell goes into the id block only when one district covers all of it; shared and boundary
    # cells keep their fractions in the list.
    alone = (coverage == 1.0) & (np.bincount(cells, minlength=ny * nx)[cells] == 1)
    whole[cells[alone]] = district[alone]
    return BlockCover(whole, cells[~alone], district[~alone], coverage[~alone], rows_ha)


def _cells(block: NDArray[Any], cover: BlockCover, nodata: float | None, scale: float = 1.0,
           offset: float = 0.0) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """The block's decoded values, validity and cell areas (ha), flat."""
    values = np.asarray(block).reshape(-1)
    v = values.astype(np.float64)
    if scale != 1.0 or offset != 0.0:
        v = v * scale + offset
    valid = np.isfinite(v)
    if nodata is not None and not np.isnan(nodata):
        valid &= values != nodata
    return v, valid, np.repeat(cover.row_area_ha, np.asarray(block).shape[-1])


def _block_stats(block: NDArray[Any], cover: BlockCover, n: int, nodata: float, scale: float,
                 offset: float) -> NDArray[np.float64]:
    """``(n, 5)``: Σ v·c·a, Σ c·a, Σ c, min, max of the block's valid decoded values per district."""
    v, valid, area = _cells(block, cover, nodata, scale, offset)
    out = np.zeros((n, 5), dtype=np.float64)
    out[:, _MIN], out[:, _MAX] = np.inf, -np.inf
    inside = valid & (cover.whole >= 0)
    _add(out, cover.whole[inside].astype(np.int64), v[inside], area[inside], None)
    ok = valid[cover.cells]
    cells = cover.cells[ok]
    _add(out, cover.district[ok], v[cells], area[cells], cover.coverage[ok])
    return out


def _block_class_sums(block: NDArray[Any], cover: BlockCover, n: int, classes: tuple[int, ...],
                      nodata: float | None) -> NDArray[np.float64]:
    """``(n, k + 1)``: area (ha) of each class, then of valid cells, per district, within one block."""
    v, valid, area = _cells(block, cover, nodata)
    k = len(classes)
    which = np.full(v.shape, k, dtype=np.int64)  # k: valid, none of the classes
    for i, value in enumerate(classes):
        which[v == value] = i
    out = np.zeros((n, k + 1), dtype=np.float64)
    inside = valid & (cover.whole >= 0)
    ok = valid[cover.cells]
    cells = cover.cells[ok]
    for d, w, cls in ((cover.whole[inside].astype(np.int64), area[inside], which[inside]),
                      (cover.district[ok], cover.coverage[ok] * area[cells], which[cells])):
        out[:, k] += np.bincount(d, weights=w, minlength=n)
        named = cls < k
        out[:, :k] += np.bincount(d[named] * k + cls[named], weights=w[named], minlength=n * k).reshape(n, k)
    return out


def _add(out: NDArray[np.float64], d: NDArray[np.int64], v: NDArray[np.float64], a: NDArray[np.float64],
         c: NDArray[np.float64] | None) -> None:
    n = out.shape[0]
    w = a if c is None else c * a
    out[:, _SUM_VA] += np.bincount(d, weights=v * w, minlength=n)
    out[:, _SUM_A] += np.bincount(d, weights=w, minlength=n)
    out[:, _COUNT] += np.bincount(d, weights=c, minlength=n)
    np.minimum.at(out[:, _MIN], d, v)
    np.maximum.at(out[:, _MAX], d, v)


@dataclass(eq=False)
class DistrictCover:
    """An area's districts on its grid, with each block's coverage made once for all its layers.

    The coverage of a block is one task in the run's graph, named after the block, so every layer
    chunked the same way shares it.
    """

    districts: Districts
    gbox: GeoBox
    _name: str = field(default_factory=lambda: f"agromap-district-cover-{next(_serial)}")
    _blocks: dict[tuple[int, int, int, int], Any] = field(default_factory=dict)

    def block(self, y0: int, x0: int, h: int, w: int) -> Any:
        """The lazy :class:`BlockCover` of rows ``y0:y0+h`` and columns ``x0:x0+w``."""
        import dask

        key = (y0, x0, h, w)
        if key not in self._blocks:
            sub = self.gbox[y0:y0 + h, x0:x0 + w]
            self._blocks[key] = dask.delayed(block_cover, pure=True)(
                sub, self.districts, dask_key_name=f"{self._name}-{y0}-{x0}-{h}-{w}")
        return self._blocks[key]


def _per_block(stored: xr.DataArray, cover: DistrictCover, fn: Any, width: int, *args: Any) -> Any:
    """``fn(block, BlockCover, *args) -> (district, width)`` of every block of ``stored``, stacked
    ``(block, district, width)``; numpy for an in-memory array, else lazy.
    """
    import dask
    import dask.array as dsa

    arr = stored.transpose("y", "x")
    if tuple(arr.shape) != tuple(cover.gbox.shape):
        from .errors import ZonalError

        raise ZonalError(f"the layer is {tuple(arr.shape)} px, its districts were prepared on "
                         f"{tuple(cover.gbox.shape)} px; prepare them on the layer's grid.")
    n = len(cover.districts.gdf)
    if arr.chunks is None:
        return fn(np.asarray(arr.values), block_cover(cover.gbox, cover.districts), *args)[None]
    blocks = arr.data.to_delayed()
    parts = []
    y0 = 0
    for i, h in enumerate(arr.chunks[0]):
        x0 = 0
        for j, w in enumerate(arr.chunks[1]):
            part = dask.delayed(fn, pure=True)(blocks[i, j], cover.block(y0, x0, h, w), *args)
            parts.append(dsa.from_delayed(part, (n, width), dtype=np.float64))
            x0 += w
        y0 += h
    return dsa.stack(parts)


def continuous_sums(stored: xr.DataArray, cover: DistrictCover, spec: LayerSpec) -> Any:
    """Lazy per-district sums of a layer's stored ``(y, x)`` values, for :func:`continuous_table`.

    Parameters
    ----------
    stored : xarray.DataArray
        The layer as written (``spec.dtype``, ``spec.nodata``) on the area's grid, numpy or dask.
    cover : DistrictCover
        The area's districts on the same grid.
    spec : LayerSpec
        Gives nodata, scale and offset: statistics are of decoded values.

    Returns
    -------
    dask.array.Array or numpy.ndarray
        float64 ``(district, 5)``: Σ v·c·a, Σ c·a, Σ c, min, max (``inf``/``-inf`` where a district
        has no valid cell); lazy when ``stored`` is dask-backed.
    """
    n = len(cover.districts.gdf)
    stacked = _per_block(stored, cover, _block_stats, 5, n, float(spec.nodata), float(spec.scale), float(spec.offset))
    parts = [stacked[:, :, :3].sum(axis=0), stacked[:, :, 3:4].min(axis=0), stacked[:, :, 4:5].max(axis=0)]
    if isinstance(stacked, np.ndarray):
        return np.concatenate(parts, axis=1)
    import dask.array as dsa

    return dsa.concatenate(parts, axis=1)


def class_sums(stored: xr.DataArray, cover: DistrictCover, classes: Sequence[int], nodata: float | None = 255) -> Any:
    """Lazy area (ha) of each of ``classes``, then of valid cells, per district: ``(district, k + 1)``.

    Each cell counts with its coverage fraction times its true area, as in
    :func:`agromap.zonal.class_area_by_polygon`; the layout of :func:`agromap.zonal.class_area_sums`.
    """
    n = len(cover.districts.gdf)
    codes = tuple(int(c) for c in classes)
    return _per_block(stored, cover, _block_class_sums, len(codes) + 1, n, codes, nodata).sum(axis=0)


def continuous_table(sums: NDArray[np.float64], districts: Districts) -> pd.DataFrame:
    """``id``, [``name``], ``mean``, ``min``, ``max``, ``count`` per district from :func:`continuous_sums`.

    A district without a valid cell has NaN statistics and a count of 0; one off the grid has NaN
    everywhere (as in :func:`agromap.zonal.zonal_stats` with ``outside="keep"``).
    """
    import pandas as pd

    s = np.asarray(sums, dtype=np.float64)
    table = pd.DataFrame({"id": districts.gdf[districts.id_field].to_numpy()})
    if districts.name_field is not None:
        table["name"] = districts.gdf[districts.name_field].to_numpy()
    seen = s[:, _COUNT] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(seen, s[:, _SUM_VA] / s[:, _SUM_A], np.nan)
    columns = {"mean": mean, "min": np.where(seen, s[:, _MIN], np.nan), "max": np.where(seen, s[:, _MAX], np.nan),
               "count": s[:, _COUNT]}
    for name in STAT_COLUMNS:
        table[name] = np.where(districts.overlap, columns[name], np.nan)
    table.attrs.update(id_field=districts.id_field, stats=list(STAT_COLUMNS), area_weighted=True)
    return table
