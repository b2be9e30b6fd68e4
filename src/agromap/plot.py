"""Static matplotlib previews for notebooks and reports: colour composites, index and class maps, time series.

Every function returns the matplotlib ``Axes`` it drew on (pass ``ax=`` to draw into your own
figure) and never calls ``plt.show()``. matplotlib is imported inside the functions, so
``import agromap`` stays fast. Plotting is an edge, like export: the displayed pixels are
computed here, after thinning the array to at most ``max_pixels`` per edge (a strided
selection before the compute, so a large dask array is never read in full).

Stretches and palettes are fixed per product (:mod:`agromap.quicklook`), never per scene, so two
plots of one product compare by eye. Class maps take their colours from the layer's
:class:`~agromap.io.layers.LayerSpec` or the COG's embedded colormap, with a legend; AQI
categories are drawn in the official colours, flood classes as in docs/science/disaster.md#flood-classes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .errors import ConfigError, InputError, MissingBandError
from .quicklook import (
    Style,
    class_rgba,
    continuous_rgba,
    find_layer_spec,
    palette_lut,
    product_style,
    read_display,
    resolve_class_colours,
)

__all__ = ["true_colour", "false_colour", "index_map", "class_map", "time_series", "BAND_STRETCH"]

#: Fixed reflectance stretch per band for colour composites (0-1 reflectance).
BAND_STRETCH: Mapping[str, tuple[float, float]] = {
    "blue": (0.0, 0.3), "green": (0.0, 0.3), "red": (0.0, 0.3), "rededge1": (0.0, 0.4), "rededge2": (0.0, 0.5),
    "rededge3": (0.0, 0.5), "nir": (0.0, 0.5), "nir08": (0.0, 0.5), "swir16": (0.0, 0.5), "swir22": (0.0, 0.4),
}
_AQI_NOTE = "satellite-derived values are estimates, not a CPCB/EPA AQI"


def _axes(ax: Any, figsize: tuple[float, float] = (7.0, 6.0)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _fig, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def _select_time(obj: Any, time: Any) -> Any:
    """One date: ``time`` None -> the first date, int -> position, else the nearest label."""
    if "time" not in obj.dims:
        return obj
    if time is None:
        return obj.isel(time=0)
    if isinstance(time, (int, np.integer)):
        return obj.isel(time=int(time))
    return obj.sel(time=np.datetime64(time) if isinstance(time, str) else time, method="nearest")


def _thin(obj: Any, max_pixels: int) -> Any:
    """Strided subset with at most ``max_pixels`` along y and x (no compute)."""
    step = max(1, math.ceil(max(obj.sizes.get("y", 1), obj.sizes.get("x", 1)) / max_pixels))
    return obj.isel(y=slice(None, None, step), x=slice(None, None, step)) if step > 1 else obj


def _extent(obj: Any) -> tuple[list[float] | None, bool]:
    """imshow extent (left, right, bottom, top) from pixel-centre coordinates, and whether y ascends."""
    if "x" not in obj.coords or "y" not in obj.coords or obj.sizes["x"] < 1 or obj.sizes["y"] < 1:
        return None, False
    x, y = obj["x"].values.astype(float), obj["y"].values.astype(float)
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    ascending = y.size > 1 and y[1] > y[0]
    return [x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2], bool(ascending)


def _show(ax: Any, rgba: np.ndarray, obj: Any, **kwargs: Any) -> Any:
    extent, ascending = _extent(obj)
    img = rgba[::-1] if ascending else rgba
    im = ax.imshow(img, extent=extent, origin="upper", interpolation="nearest", **kwargs)
    if extent is not None:
        _map_axes(ax)
    return im


def _map_axes(ax: Any) -> None:
    """Equal aspect, plain map coordinates (no offset notation), small ticks."""
    ax.set_aspect("equal")
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)
    ax.tick_params(labelsize="x-small")
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("x (map units)", fontsize="small")
    ax.set_ylabel("y (map units)", fontsize="small")


def _title(base: str, obj: Any) -> str:
    if "time" in obj.coords and obj["time"].ndim == 0:
        return f"{base}, {np.datetime_as_string(obj['time'].values, unit='D')}"
    return base


def _rgb(ds: xr.Dataset, bands: Sequence[str], stretch: Any, time: Any, ax: Any, max_pixels: int,
         title: str | None, what: str) -> Any:
    if len(bands) != 3:
        raise ConfigError(f"{what} needs three bands (red, green, blue channels), got {list(bands)}.")
    missing = [b for b in bands if b not in ds.data_vars]
    if missing:
        raise MissingBandError(f"{what} needs bands {missing}, not in the dataset (bands present: "
                               f"{', '.join(map(str, ds.data_vars))}); pass bands=(...) with bands it has.")
    if stretch is None:
        ranges = [BAND_STRETCH.get(b, (0.0, 0.4)) for b in bands]
    elif np.ndim(stretch) == 1:
        ranges = [tuple(stretch)] * 3
    else:
        ranges = [tuple(s) for s in stretch]
    sub = _thin(_select_time(ds[list(bands)], time), max_pixels)
    chans = [np.asarray(sub[b].values, dtype=np.float64) for b in bands]  # the compute (plot edge)
    rgba = np.zeros(chans[0].shape + (4,), np.float64)
    for k, (c, (lo, hi)) in enumerate(zip(chans, ranges)):
        rgba[..., k] = np.clip((c - lo) / (hi - lo), 0.0, 1.0)
    rgba[..., 3] = np.all([np.isfinite(c) for c in chans], axis=0)  # nodata transparent
    rgba[..., :3] = np.nan_to_num(rgba[..., :3])
    ax = _axes(ax)
    _show(ax, rgba, sub)
    same = len(set(ranges)) == 1
    stretch_txt = (f"{ranges[0][0]:g}-{ranges[0][1]:g}" if same
                   else ", ".join(f"{lo:g}-{hi:g}" for lo, hi in ranges))
    ax.set_title(title or _title(f"{what} {'/'.join(bands)} (stretch {stretch_txt})", sub), fontsize="medium")
    return ax


def true_colour(ds: xr.Dataset, time: Any = None, *, stretch: tuple[float, float] = (0.0, 0.3),
                bands: Sequence[str] = ("red", "green", "blue"), ax: Any = None, max_pixels: int = 1200,
                title: str | None = None) -> Any:
    """True-colour composite of one date with a fixed reflectance stretch.

    Parameters
    ----------
    ds : xarray.Dataset
        Reflectance (0-1, NaN = nodata) with ``red``, ``green``, ``blue``; dims ``(time, y, x)``
        or ``(y, x)``; numpy or dask.
    time : int, str or datetime-like, optional
        Date to show: a position, or a label matched to the nearest date. Default: the first date.
    stretch : (float, float)
        Reflectance mapped to black and full brightness, the same for every scene.
    bands : three str
        Variables for the red, green and blue channels.
    ax : matplotlib.axes.Axes, optional
        Draw here; default: a new figure.
    max_pixels : int
        Largest edge drawn; larger arrays are thinned by striding before the compute.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Pixels with any NaN band are transparent.
    """
    return _rgb(ds, bands, stretch, time, ax, max_pixels, title, "true colour")


def false_colour(ds: xr.Dataset, bands: Sequence[str] = ("nir", "red", "green"), *,
                 stretch: Any = None, time: Any = None, ax: Any = None, max_pixels: int = 1200,
                 title: str | None = None) -> Any:
    """False-colour composite (default NIR/red/green: vegetation red, water dark) with a fixed stretch.

    ``stretch`` is one ``(lo, hi)`` for all channels, three pairs, or None for :data:`BAND_STRETCH`
    (visible 0-0.3, NIR and SWIR1 0-0.5). Other parameters as for :func:`true_colour`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    return _rgb(ds, bands, stretch, time, ax, max_pixels, title, "false colour")


def index_map(da: xr.DataArray | xr.Dataset, product: str = "ndvi", *, time: Any = None, ax: Any = None,
              stretch: tuple[float, float] | None = None, colorbar: bool = True, max_pixels: int = 1200,
              title: str | None = None) -> Any:
    """Map of a continuous layer with the product's fixed range and palette.

    Parameters
    ----------
    da : xarray.DataArray or xarray.Dataset
        The index (float, NaN = nodata), ``(y, x)`` or ``(time, y, x)``. A Dataset: its variable
        ``product`` or, failing that, the index computed with
        :func:`agromap.indices.compute_index`.
    product : str
        Gives the style (:data:`agromap.quicklook.PRODUCT_STYLES`): NDVI/EVI/SAVI -0.2..0.9
        green, water indices -1..1 blue, dB -25..0 grey...
    time, ax, max_pixels, title
        As for :func:`true_colour`.
    stretch : (float, float), optional
        Override the product's range (the palette stays).
    colorbar : bool
        Add a colour bar with the units.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if isinstance(da, xr.Dataset):
        if product in da.data_vars:
            da = da[product]
        else:
            from .indices import compute_index

            da = compute_index(da, product)
    style, _source = product_style(product, da.attrs.get("units"))
    if stretch is not None:
        style = Style(float(stretch[0]), float(stretch[1]), style.palette)
    sub = _thin(_select_time(da, time), max_pixels)
    values = np.asarray(sub.values, dtype=np.float64)
    ax = _axes(ax)
    _show(ax, continuous_rgba(values, style), sub)
    if colorbar:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import ListedColormap, Normalize

        sm = ScalarMappable(Normalize(style.vmin, style.vmax), ListedColormap(palette_lut(style.palette) / 255.0))
        units = da.attrs.get("units")
        label = product + (f" ({units})" if units not in (None, "", "1") else "")
        ax.figure.colorbar(sm, ax=ax, label=label, shrink=0.8, extend="both")
    ax.set_title(title or _title(f"{product} ({style.vmin:g} to {style.vmax:g}, fixed)", sub), fontsize="medium")
    return ax


def _classes_of(spec: Any) -> list[tuple[int, str, str]]:
    return [(int(v), str(n), str(c)) for v, n, c in spec.classes]


def class_map(obj: xr.DataArray | str | os.PathLike[str], spec: Any = None, *, time: Any = None, ax: Any = None,
              legend: bool = True, max_pixels: int = 1200, title: str | None = None) -> Any:
    """Class map in the layer's own colours, with a legend of class names.

    Parameters
    ----------
    obj : xarray.DataArray or path
        Integer classes ``(y, x)`` (or ``(time, y, x)``), or a class COG: then its embedded
        colormap and ``CLASS_<n>`` tags are used, read from an overview (:func:`agromap.quicklook.read_display`).
    spec : LayerSpec or str, optional
        Arrays only: the layer (or its name). Default: the registered layer named ``obj.name``
        (``flood_class``, ``rice_class``, ``aqi_category_cpcb``...).
    time, ax, max_pixels, title
        As for :func:`true_colour`.
    legend : bool
        Add a legend of the classes present on the map.

    Returns
    -------
    matplotlib.axes.Axes
        nodata (the spec's, or the ``nodata`` attribute) and NaN are transparent.

    Raises
    ------
    ConfigError
        No spec was given and none is registered under the array's name.
    """
    if isinstance(obj, (str, os.PathLike)):
        r = read_display(obj, max_size=max_pixels, kind="class")
        resolve_class_colours(r)
        classes, name, values, invalid = r["classes"], r["product"], r["values"], r["invalid"]
        extent_src: Any = None
        left, bottom, right, top = r["bounds"]
        extent = [left, right, bottom, top]
    else:
        if isinstance(spec, str) or spec is None:
            found = find_layer_spec(spec if isinstance(spec, str) else str(obj.name))
            if found is None:
                raise ConfigError(
                    f"class_map: no layer registered as {spec or obj.name!r}; pass spec=LayerSpec(...) or the "
                    "name of a class layer, e.g. spec='flood_class'.")
            spec = found
        if spec.kind != "class":
            raise ConfigError(f"class_map: layer {spec.name!r} is continuous; use index_map for it.")
        classes, name = _classes_of(spec), spec.name
        sub = _thin(_select_time(obj, time), max_pixels)
        raw = np.asarray(sub.values)
        invalid = ~np.isfinite(raw) if raw.dtype.kind == "f" else np.zeros(raw.shape, bool)
        nodata = obj.attrs.get("nodata", spec.nodata)
        invalid |= raw == nodata
        values = np.where(invalid, 0, raw).astype(np.int64)
        extent_src, extent = sub, None
    colours = {v: (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)) for v, _n, c in classes}
    rgba = class_rgba(values, colours, invalid)
    ax = _axes(ax)
    if extent_src is not None:
        _show(ax, rgba, extent_src)
    else:
        ax.imshow(rgba, extent=extent, origin="upper", interpolation="nearest")
        _map_axes(ax)
    if legend:
        from matplotlib.patches import Patch

        present = set(np.unique(np.asarray(values)[~np.asarray(invalid)]).tolist())  # a legend of what is on the map
        handles = [Patch(facecolor=f"#{c}", edgecolor="black", linewidth=0.4, label=f"{v} {n}") for v, n, c in classes
                   if v in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title=name,
                  frameon=False)
    heading = title or (_title(name, extent_src) if extent_src is not None else name)
    if name.startswith(("aqi", "pm25")):
        heading += f"\n({_AQI_NOTE})"
    ax.set_title(heading, fontsize="medium")
    return ax


# ------------------------------------------------------------------------------------------ time series
def _is_geometry(at: Any) -> bool:
    return hasattr(at, "geom_type") or hasattr(at, "to_crs") or hasattr(at, "__geo_interface__")


def _locate(obj: Any, at: Any) -> tuple[Any, Any, str]:
    """Subset ``obj`` to ``at``: (subset, pixel mask for a polygon or None, label). No compute."""
    if "point" in obj.dims and not _is_geometry(at) and not isinstance(at, tuple):
        return obj.sel(point=at), None, f"point {at}"
    if _is_geometry(at):
        import shapely

        geom = at
        if hasattr(at, "to_crs"):  # GeoSeries / GeoDataFrame: to the data CRS, then one geometry
            gbox = obj.odc.geobox
            geom = (at.to_crs(str(gbox.crs)) if gbox is not None and at.crs is not None else at).union_all()
        elif not hasattr(at, "geom_type"):
            geom = shapely.geometry.shape(at.__geo_interface__)
        minx, miny, maxx, maxy = geom.bounds
        y = obj["y"].values
        box = obj.sel(x=slice(minx, maxx), y=slice(maxy, miny) if y.size > 1 and y[1] < y[0] else slice(miny, maxy))
        xx, yy = np.meshgrid(box["x"].values, box["y"].values)
        inside = shapely.contains_xy(geom, xx, yy)
        if not inside.any():
            raise InputError(f"time_series: the polygon {geom.bounds} contains no pixel centre of the data; "
                             "check it is in the data's CRS (pass a GeoSeries with a crs to reproject).")
        mask = xr.DataArray(inside, dims=("y", "x"), coords={"y": box["y"], "x": box["x"]})
        return box, mask, f"polygon, mean of {int(inside.sum())} px"
    x, y = at
    xs, ys = obj["x"].values, obj["y"].values
    tol_x = abs(xs[1] - xs[0]) if xs.size > 1 else np.inf
    tol_y = abs(ys[1] - ys[0]) if ys.size > 1 else np.inf
    if not (xs.min() - tol_x <= x <= xs.max() + tol_x and ys.min() - tol_y <= y <= ys.max() + tol_y):
        raise InputError(f"time_series: ({x}, {y}) is outside the data (x {xs.min()}..{xs.max()}, "
                         f"y {ys.min()}..{ys.max()}); give map coordinates in the data's CRS.")
    return obj.sel(x=x, y=y, method="nearest"), None, f"x={x:.10g}, y={y:.10g}"


def _reduce(arr: xr.DataArray, mask: xr.DataArray | None) -> xr.DataArray:
    return arr if mask is None else arr.where(mask).mean(("y", "x"))


def _series(ds: xr.Dataset, name: str) -> xr.DataArray:
    if name in ds.data_vars:
        return ds[name]
    from .indices import INDICES, compute_index

    if name.lower() in INDICES:
        return compute_index(ds, name)
    raise MissingBandError(f"time_series: {name!r} is neither a variable of the dataset "
                           f"({', '.join(map(str, ds.data_vars))}) nor a known index.")


def _season_dates(seasons: Any, at: Any, t0: np.datetime64, t1: np.datetime64) -> list[np.datetime64]:
    """Transplanting dates in [t0 - 60 d, t1 + 60 d] from DOYs, dates, or a rice-rule output."""
    if isinstance(seasons, (xr.Dataset, xr.DataArray)):
        obj = seasons
        if isinstance(obj, xr.Dataset):
            if "transplant_doy" in obj:
                obj = obj["transplant_doy"]
            else:  # make_truth / split_seasons layout: transplant_doy_1..k
                keys = sorted(str(k) for k in obj.data_vars if str(k).startswith("transplant_doy_"))
                obj = xr.concat([obj[k] for k in keys], dim="season")
        sub, mask, _ = _locate(obj, at)
        local = _reduce(sub.astype(np.float32).where(sub > 0), mask)
        doys = np.atleast_1d(np.asarray(local.values, dtype=np.float64))
        seasons = [int(round(d)) for d in doys if np.isfinite(d) and d > 0]
    out: list[np.datetime64] = []
    lo, hi = t0 - np.timedelta64(60, "D"), t1 + np.timedelta64(60, "D")
    year0 = int(str(t0.astype("datetime64[Y]")))
    for s in seasons:
        if not isinstance(s, (int, np.integer)):
            out.append(np.datetime64(s, "D"))
            continue
        # Seasons come in time order: take the first matching date after the previous mark.
        for year in range(year0 - 1, int(str(t1.astype("datetime64[Y]"))) + 2):
            d = np.datetime64(f"{year}-01-01") + np.timedelta64(int(s) - 1, "D")
            if lo <= d <= hi and (not out or d > out[-1]):
                out.append(d)
                break
    return out


def time_series(obj: xr.Dataset | xr.DataArray, at: Any, bands: Sequence[Hashable] = ("ndvi",), *,
                seasons: Any = None, ax: Any = None, title: str | None = None) -> Any:
    """Time series at a point or over a polygon, with detected rice seasons marked.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        ``(time, y, x)`` raster or ``(time, point)`` table; numpy or dask. A DataArray is drawn
        as it is (``bands`` ignored).
    at : (x, y), polygon or point id
        Map coordinates in the data's CRS (nearest pixel); a shapely polygon (same CRS) or a
        GeoSeries/GeoDataFrame (reprojected), averaged over the pixel centres inside; or a
        ``point`` label for tables.
    bands : sequence of str
        Variables of ``obj``, or index names computed with :func:`agromap.indices.compute_index`
        (``"ndvi"``, ``"lswi"``, ``"evi"``...).
    seasons : optional
        Transplanting dates drawn as vertical lines: the Dataset of
        :func:`agromap.rice.rules_optical.optical_rice_rule` / ``sar_rice_rule`` (its
        ``transplant_doy`` at ``at``), a truth Dataset with ``transplant_doy_1..k``, a DataArray
        of day-of-year values, or a sequence of day-of-year ints or dates.
    ax, title
        As for :func:`true_colour`.

    Returns
    -------
    matplotlib.axes.Axes
        One line per band through the valid observations (NaN dates skipped).
    """
    if "time" not in obj.dims:
        raise InputError(f"time_series needs a 'time' dimension; dims are {obj.dims}.")
    ax = _axes(ax, figsize=(8.0, 4.0))
    sub, mask, where = _locate(obj, at)
    # Indices are computed per pixel on the subset, then averaged over a polygon.
    if isinstance(sub, xr.DataArray):
        series = {str(obj.name or "value"): _reduce(sub, mask)}
    else:
        series = {str(b): _reduce(_series(sub, str(b)), mask) for b in bands}
    times = obj["time"].values
    for name, s in series.items():
        vals = np.asarray(s.values, dtype=np.float64)  # the compute (plot edge)
        ok = np.isfinite(vals)
        ax.plot(times[ok], vals[ok], marker="o", markersize=3, linewidth=1.2, label=name)
    if seasons is not None:
        for k, d in enumerate(_season_dates(seasons, at, times.min(), times.max()), start=1):
            ax.axvline(d, color="#1f6f3f", linestyle="--", linewidth=1.0,
                       label="season start (flooding or VH minimum)" if k == 1 else None)
            ax.annotate(f"S{k}", (d, 1.0), xycoords=("data", "axes fraction"), ha="left", va="top", fontsize="small")
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("date")
    ax.legend(fontsize="small", loc="best")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or f"time series at {where}", fontsize="medium")
    return ax
