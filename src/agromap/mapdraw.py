"""Drawing a :class:`~agromap.mapview.LayerView`: map with graticule, scale bar, north arrow,
district outlines and hectare labels, legend or colour bar (matplotlib, Agg, no display needed).

:func:`render_figure` lays them out as the HTML report's panel; :mod:`agromap.mapsheet` lays the
same pieces out as an A4 map sheet.
"""


from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from .mapview import LayerView, district_impact_ha, impact_classes, product_key

__all__ = ["render_figure", "figure_png", "DrawnFigure", "draw_map", "legend", "colourbar", "north_arrow", "fmt_ha", "title_of",
           "is_geographic"]

#: Most districts labelled with their hectares; past that, outlines only.
_MAX_LABELS = 30


def fmt_ha(v: float) -> str:
    """Hectares for a label: no decimals from 10 ha, one from 1 ha, two below."""
    return f"{v:,.0f} ha" if v >= 10 else f"{v:,.1f} ha" if v >= 1 else f"{v:.2f} ha"


def _nice(x: float) -> float:
    mag = 10 ** math.floor(math.log10(x))
    return max(m * mag for m in (1, 2, 5) if m * mag <= x)


_PROJ = threading.local()
"""This thread's parsed CRSs and transformers by map CRS text: the maps of one run share one grid, so
each is built once rather than per map (pyproj transformers are not shared between threads)."""


def _crs(view: LayerView) -> Any:
    """The pyproj CRS of the view (WGS 84 when it has none), parsed once per thread."""
    return _projections(view)[0]


def _projections(view: LayerView) -> tuple[Any, Any, Any]:
    """(CRS, map -> lon/lat, lon/lat -> map) of the view's CRS, built once per thread."""
    from pyproj import CRS, Transformer

    cache = getattr(_PROJ, "by_crs", None)
    if cache is None:
        cache = _PROJ.by_crs = {}
    key = str(view.crs) if view.crs else None
    if key not in cache:
        if len(cache) >= 8:
            cache.clear()
        crs = CRS.from_user_input(view.crs) if view.crs else CRS.from_epsg(4326)
        cache[key] = (crs, Transformer.from_crs(crs, "EPSG:4326", always_xy=True),
                      Transformer.from_crs("EPSG:4326", crs, always_xy=True))
    return cache[key]


def _graticule(ax: Any, view: LayerView, fontsize: float) -> None:
    """Longitude/latitude lines and edge labels in degrees, drawn in the map's CRS."""
    left, right, bottom, top = view.extent
    _, to_ll, to_map = _projections(view)
    xs = np.linspace(left, right, 21)
    ys = np.linspace(bottom, top, 21)
    ex = np.concatenate([xs, xs, np.full(21, left), np.full(21, right)])
    ey = np.concatenate([np.full(21, bottom), np.full(21, top), ys, ys])
    lon, lat = to_ll.transform(ex, ey)
    lon0, lon1, lat0, lat1 = float(np.min(lon)), float(np.max(lon)), float(np.min(lat)), float(np.max(lat))
    step = _nice(max(lon1 - lon0, lat1 - lat0) / 3.0)
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    if step < 1 and round(step * 10 ** decimals) % 1:
        decimals += 1
    xt, xl, yt, yl = [], [], [], []
    lines: list[np.ndarray] = []
    for lo in np.arange(math.ceil(lon0 / step) * step, lon1 + 1e-12, step):
        lats = np.linspace(lat0, lat1, 50)
        x, y = to_map.transform(np.full(50, lo), lats)
        lines.append(np.column_stack([x, y]))
        xb = float(np.interp(bottom, y, x)) if y[0] <= bottom <= y[-1] else None
        if xb is not None and left <= xb <= right:
            xt.append(xb)
            xl.append(f"{abs(lo):.{decimals}f}°{'E' if lo >= 0 else 'W'}")
    for la in np.arange(math.ceil(lat0 / step) * step, lat1 + 1e-12, step):
        lons = np.linspace(lon0, lon1, 50)
        x, y = to_map.transform(lons, np.full(50, la))
        lines.append(np.column_stack([x, y]))
        yb = float(np.interp(left, x, y)) if x[0] <= left <= x[-1] else None
        if yb is not None and bottom <= yb <= top:
            yt.append(yb)
            yl.append(f"{abs(la):.{decimals}f}°{'N' if la >= 0 else 'S'}")
    _add_lines(ax, lines)
    ax.set_xticks(xt, xl, fontsize=fontsize)
    ax.set_yticks(yt, yl, fontsize=fontsize, rotation=90, va="center")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)


def _add_lines(ax: Any, lines: list[np.ndarray]) -> None:
    """The graticule's lines as one collection, drawn line by line as separate ``plot`` calls drew
    them, without each line's data-limit and autoscale bookkeeping (the limits are set after).
    """
    from matplotlib.collections import LineCollection

    ax.add_collection(LineCollection(lines, colors="#555555", linewidths=0.4, alpha=0.6, zorder=3,
                                     capstyle="projecting", joinstyle="round"),
                      autolim=False)


def _metres_per_unit(view: LayerView) -> float:
    crs = _crs(view)
    if crs.is_geographic:
        lat = (view.extent[2] + view.extent[3]) / 2
        from .area import metres_per_degree

        return float(metres_per_degree(lat)[1])
    return float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0


def _scale_bar(ax: Any, view: LayerView, fontsize: float) -> None:
    left, right, bottom, top = view.extent
    mpu = _metres_per_unit(view)
    width_m = (right - left) * mpu
    length_m = _nice(width_m / 4)
    length = length_m / mpu
    x0 = left + 0.05 * (right - left)
    y0 = bottom + 0.05 * (top - bottom)
    h = 0.012 * (top - bottom)
    for k in range(4):
        ax.add_patch(_rect((x0 + k * length / 4, y0), length / 4, h, "black" if k % 2 == 0 else "white"))
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    for pos, txt in ((x0, "0"), (x0 + length, label)):
        ax.text(pos, y0 + 1.8 * h, txt, ha="center", va="bottom", fontsize=fontsize, zorder=6,
                bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})


def _rect(xy: tuple[float, float], w: float, h: float, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle(xy, w, h, facecolor=colour, edgecolor="black", lw=0.6, zorder=6)


def north_arrow(ax: Any, fontsize: float) -> None:
    """A north arrow in the top-right corner (every agromap grid is north-up)."""
    ax.annotate("N", xy=(0.95, 0.93), xytext=(0.95, 0.80), xycoords="axes fraction", ha="center", va="center",
                fontsize=fontsize + 2, fontweight="bold", zorder=7,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5},
                bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})


def draw_map(ax: Any, view: LayerView, districts: Any, *, fontsize: float, labels: bool = True) -> None:
    """The layer on ``ax`` in its own CRS, with graticule, scale bar, district outlines and impact labels."""
    import matplotlib.patheffects as pe

    left, right, bottom, top = view.extent
    ax.set_facecolor("#f4f4f4")
    ax.imshow(view.rgba, extent=(left, right, bottom, top), interpolation="nearest", zorder=1)
    if districts is not None and len(districts):
        gdf = districts.to_crs(view.crs) if view.crs else districts
        gdf.boundary.plot(ax=ax, color="#222222", lw=0.9, zorder=4)
        impact = district_impact_ha(view, gdf)
        word = (impact_classes(view.product) or ((), ""))[1]
        # Past a few dozen districts (city wards) names overlap into a grey smear: outlines only.
        if labels and len(gdf) <= _MAX_LABELS:
            for _, row in gdf.iterrows():
                pt = row.geometry.representative_point()
                if not (left <= pt.x <= right and bottom <= pt.y <= top):
                    continue
                name = str(row.get("name") if "name" in gdf.columns and row.get("name") is not None else row["id"])
                text = name + (f"\n{fmt_ha(impact[row['id']])} {word}" if row["id"] in impact else "")
                ax.text(pt.x, pt.y, text, ha="center", va="center", fontsize=fontsize, zorder=5,
                        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])
    _graticule(ax, view, fontsize)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _scale_bar(ax, view, fontsize)
    ax.set_aspect("equal" if not is_geographic(view) else 1 / math.cos(math.radians((bottom + top) / 2)))


def is_geographic(view: LayerView) -> bool:
    """Whether the layer's CRS is in degrees (its map then needs the latitude correction of its aspect)."""
    return view.crs is None or bool(_crs(view).is_geographic)


def legend(ax: Any, view: LayerView, fontsize: float, title: str | None = None) -> None:
    """Classes present only, each with its area; or the colour ramp with units and range."""
    from matplotlib.patches import Patch

    ax.set_axis_off()
    if view.kind == "class":
        handles = [Patch(facecolor=f"#{c}", edgecolor="#333333", label=f"{n}  ({fmt_ha(ha)})")
                   for _v, n, c, ha in view.classes]
        if handles:
            ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=fontsize,
                      title=title or "Legend (classes present)", title_fontsize=fontsize + 1, alignment="left")
        else:
            ax.text(0, 1, "no classified pixels", va="top", fontsize=fontsize)
        return


def colourbar(fig: Any, cax: Any, view: LayerView, fontsize: float) -> None:
    """A horizontal colour bar of a continuous layer, with its units, on ``cax``."""
    import matplotlib as mpl

    from .quicklook import palette_lut

    lut = palette_lut(view.style.palette, 256) / 255.0
    cmap = mpl.colors.ListedColormap(lut)
    norm = mpl.colors.Normalize(view.style.vmin, view.style.vmax)
    cb = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    units = "" if view.units in (None, "", "1") else f" ({view.units})"
    how = "stretched to this layer's 2-98 % range" if view.style_source == "data" else "fixed range"
    cb.set_label(f"{view.product}{units}; {how}", fontsize=fontsize)
    cb.ax.tick_params(labelsize=fontsize)


_TITLES: Mapping[str, str] = {
    "flood_class": "Flood classes", "rice_class": "Rice map", "burned_paddy": "Burned rice stubble",
    "burn_severity": "Burn severity", "aqi_category_cpcb": "AQI category (CPCB), satellite estimate",
    "aqi_category": "AQI category, satellite estimate", "water_mask": "Surface water", "drought_class": "Drought",
}


def title_of(view: LayerView) -> str:
    """A map title for the layer (``Flood classes``...), or its product name in words."""
    k = product_key(view.product, _TITLES)
    return _TITLES[k] if k else view.product.replace("_", " ").capitalize()


def render_figure(view: LayerView, districts: Any = None, *, title: str | None = None, width_px: int = 1000,
                  dpi: int = 100) -> Any:
    """The report panel of a layer: map with graticule, scale bar, outlines and labels, and its legend."""
    from matplotlib.figure import Figure

    w_in = width_px / dpi
    h_rel = (view.extent[3] - view.extent[2]) / max(view.extent[1] - view.extent[0], 1e-12)
    if is_geographic(view):
        h_rel /= math.cos(math.radians((view.extent[2] + view.extent[3]) / 2))
    fs = 9.0
    if view.kind == "class":
        map_w = min(w_in * 0.58, 6.5)
        h_in = min(max(map_w * h_rel + 0.6, 3.0), 8.0)
        fig = Figure(figsize=(w_in, h_in), dpi=dpi)
        fx = map_w / w_in
        ax = fig.add_axes((0.6 / w_in, 0.4 / h_in, fx, 1 - 0.6 / h_in))
        lax = fig.add_axes((0.6 / w_in + fx + 0.03, 0.4 / h_in, 1 - fx - 0.6 / w_in - 0.04, 1 - 0.6 / h_in))
        legend(lax, view, fs)
    else:
        map_w = w_in * 0.85
        h_in = min(max(map_w * h_rel + 1.6, 3.4), 9.5)
        fig = Figure(figsize=(w_in, h_in), dpi=dpi)
        cb_h = 0.35 / h_in
        ax = fig.add_axes((0.1, 0.1 + 2.6 * cb_h, 0.85, 0.88 - 2.6 * cb_h - 0.02))
        cax = fig.add_axes((0.15, 0.55 / h_in, 0.75, cb_h * 0.6))
        colourbar(fig, cax, view, fs)
    draw_map(ax, view, districts, fontsize=fs - 1)
    north_arrow(ax, fs - 1)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=fs + 2, fontweight="bold")
    return fig


def figure_png(fig: Any, dpi: int | None = None) -> bytes:
    """PNG bytes of a figure (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .quicklook import PNG_COMPRESS_LEVEL

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return buf.getvalue()


class DrawnFigure:
    """A figure drawn on its Agg canvas but not yet encoded: :meth:`png` gives the bytes
    :func:`figure_png` gives. The encoding (zlib, with the GIL released) can then run on another
    thread while the drawing thread, which holds the GIL, goes on with the next figure.
    """

    def __init__(self, fig: Any) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        # The renderer's buffer as savefig hands it over: no copy, and imsave takes it as it is.
        self._rgba = canvas.buffer_rgba()
        self._dpi = fig.dpi

    def png(self) -> bytes:
        """The PNG bytes, encoded as ``savefig`` encodes them (same text chunk, resolution and zlib level)."""
        from matplotlib.image import imsave

        from .quicklook import PNG_COMPRESS_LEVEL

        buf = io.BytesIO()
        imsave(buf, self._rgba, format="png", origin="upper", dpi=self._dpi,
               pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        return buf.getvalue()
