"""Maps for people: a layer of a run drawn with legend, scale bar, coordinates and district outlines.

Two layouts share one drawing code:

- ``"panel"``: the map of one layer for the HTML report (map on the left, legend of the classes
  present with their hectares on the right, or a colour bar below a continuous layer);
- ``"sheet"``: an A4 landscape map sheet in the manner of Sentinel Asia and Copernicus EMS
  rapid-mapping products (title band, event and acquisition dates, map with graticule, scale
  bar and north arrow, district outlines with hectare labels, legend, data sources, caveats),
  written as PNG and PDF by :func:`write_mapsheets` and ``agromap mapsheet RUN_DIR``.

Everything is read from the published run folder (COGs, their tags, the district tables'
GeoJSON and the manifest), so a map sheet can be made again from a run without its inputs.
Hectares are true areas (:func:`agromap.area.row_area_m2`), also on geographic grids.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError

__all__ = ["LayerView", "load_view", "DECISION_LAYERS", "is_decision_layer", "district_layer",
           "render_figure", "figure_png", "write_mapsheets", "caveats_for", "impact_classes"]

#: Layers a disaster or crop desk acts on, in the order a report shows them.
DECISION_LAYERS: tuple[str, ...] = ("flood_class", "flooded_rice", "rice_class", "burned_paddy", "burn_severity",
                                    "aqi_category", "drought_class", "water_mask")

#: Classes summed for a district's hectare label (the event or the crop, not the background).
_IMPACT: Mapping[str, tuple[int, ...]] = {
    "flood_class": (2, 3, 4, 8), "burned_paddy": (2, 3), "burn_severity": (4, 5, 6, 7), "rice_class": (1,),
    "water_mask": (1,), "drought_class": (1, 2),
}
_IMPACT_WORD: Mapping[str, str] = {
    "flood_class": "flooded", "burned_paddy": "burned rice", "burn_severity": "burned", "rice_class": "rice",
    "water_mask": "water", "drought_class": "drought",
}

#: Shown on every map of the product (the estimate's limits, for a reader who sees only the map).
CAVEATS: Mapping[str, str] = {
    "burn_severity": ("On cropland, harvest and ploughing also lower NBR: 'burned' classes over fields may be "
                      "harvested stubble, not fire. Check with active-fire detections before reporting burning."),
    "dnbr": ("On cropland, harvest and ploughing also lower NBR: high dNBR over fields may be harvest, not fire."),
    "burned_paddy": ("'burned (index)' is a spectral estimate; only 'fire-confirmed' pixels coincide with an "
                     "active-fire detection."),
    "flood_class": ("Satellite-derived flood extent at the acquisition time; water under dense canopy or in "
                    "built-up areas can be missed, and radar shadow can look like water."),
    "rice_class": "Mapped rice area is an estimate; the area with its 95 % confidence interval is in the report.",
    "aqi": ("Satellite-estimated PM2.5 and its sub-index are estimates, not regulatory measurements: an official "
            "AQI needs at least three pollutants measured at ground stations."),
    "pm25": ("Satellite-estimated PM2.5 is not a regulatory measurement; use ground stations for compliance."),
}


def _key(product: str, table: Mapping[str, Any]) -> str | None:
    name = product.lower()
    keys = [k for k in table if name == k or name.startswith(k + "_") or name.startswith(k)]
    return max(keys, key=len) if keys else None


def is_decision_layer(product: str) -> bool:
    """True for the layers a desk acts on (flood classes, rice, burned paddy, AQI category...)."""
    return _key(product, {k: 0 for k in DECISION_LAYERS}) is not None


def decision_rank(product: str) -> int:
    """Position of ``product`` in :data:`DECISION_LAYERS` (len for other layers)."""
    k = _key(product, {k: 0 for k in DECISION_LAYERS})
    return DECISION_LAYERS.index(k) if k is not None else len(DECISION_LAYERS)


def impact_classes(product: str) -> tuple[tuple[int, ...], str] | None:
    """Class values summed in district labels and the word for them, or None."""
    k = _key(product, _IMPACT)
    return None if k is None else (_IMPACT[k], _IMPACT_WORD[k])


def caveats_for(product: str) -> list[str]:
    """Caveats printed with a map of ``product``."""
    out = []
    name = product.lower()
    for k, text in CAVEATS.items():
        if name.startswith(k) or (k in ("aqi", "pm25") and k in name):
            out.append(text)
    return out


# ------------------------------------------------------------------------------------------ data
@dataclass
class LayerView:
    """One band of a published layer, ready to draw (read once, from an overview)."""

    path: Path
    product: str
    kind: str
    rgba: np.ndarray
    extent: tuple[float, float, float, float]  # left, right, bottom, top in ``crs``
    crs: Any
    units: str | None = None
    style: Any = None
    style_source: str | None = None
    classes: list[tuple[int, str, str, float]] = field(default_factory=list)  # value, name, RRGGBB, ha present
    values: np.ndarray | None = None
    valid_fraction: float = 0.0
    datetime: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """No valid pixel, or so few (< 0.1 %) that the map would look blank."""
        return self.valid_fraction < 0.001


def _class_hectares(path: Path, values: np.ndarray, invalid: np.ndarray, shape: tuple[int, int]) -> dict[int, float]:
    """True area (ha) of each class in ``values`` (read at ``values.shape`` from a grid of ``shape``)."""
    import rasterio
    from odc.geo.geobox import GeoBox

    from .area import row_area_m2

    with rasterio.open(path) as src:
        gbox = GeoBox(shape, src.transform, src.crs.to_wkt() if src.crs else "EPSG:4326")
    rows_m2 = row_area_m2(gbox)
    fy, fx = shape[0] / values.shape[0], shape[1] / values.shape[1]
    # Area per read row: the mean full-resolution row area of the rows it covers, times the factors.
    idx = np.minimum((np.arange(values.shape[0]) * fy + fy / 2).astype(int), shape[0] - 1)
    row_ha = rows_m2[idx] * fy * fx / 1e4
    out: dict[int, float] = {}
    for v in np.unique(values[~invalid]):
        counts = ((values == v) & ~invalid).sum(axis=1)
        out[int(v)] = float((counts * row_ha).sum())
    return out


def figure_render_ok(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a georeferenced raster file a map can be drawn from."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in (".tif", ".tiff"):
        return False
    import rasterio

    try:
        with rasterio.open(p) as src:
            return src.crs is not None
    except rasterio.errors.RasterioIOError:
        return False


def load_view(path: str | os.PathLike[str], *, max_size: int = 1000) -> LayerView:
    """Read a published COG for drawing: colours, legend entries of the classes present (with
    their true area in ha), the display style of a continuous layer, extent and CRS.
    """
    from .quicklook import (
        class_rgba,
        continuous_rgba,
        display_style,
        display_values,
        read_display,
        resolve_class_colours,
    )

    p = Path(path)
    r = read_display(p, max_size=max_size)
    valid = float(1.0 - r["invalid"].mean()) if r["invalid"].size else 0.0
    left, bottom, right, top = r["bounds"]
    view = LayerView(path=p, product=str(r["product"]), kind=r["kind"], rgba=np.zeros((1, 1, 4), np.uint8),
                     extent=(left, right, bottom, top), crs=r["crs"], units=r["units"], valid_fraction=valid,
                     datetime=r["tags"].get("DATETIME"), description=r["tags"].get("DESCRIPTION"), tags=r["tags"])
    if r["kind"] == "class":
        colours = resolve_class_colours(r)
        view.rgba = class_rgba(r["values"], colours, r["invalid"])
        ha = _class_hectares(p, r["values"], r["invalid"], tuple(r["source_shape"]))
        view.classes = [(v, n, c, ha[v]) for v, n, c in r["classes"] if ha.get(v, 0.0) > 0.0]
        view.values = r["values"]
    else:
        decoded = r["values"].astype(np.float64) * r["scale"] + r["offset"]
        shown, units = display_values(view.product, r["units"], decoded)
        style, source = display_style(view.product, r["units"], r["tags"], shown, r["invalid"])
        view.rgba = continuous_rgba(shown, style, r["invalid"])
        view.style, view.style_source, view.units = style, source, units
        view.values = np.where(r["invalid"], np.nan, shown)
    return view


def district_layer(run_dir: str | os.PathLike[str], cog_rel: str | os.PathLike[str]) -> Any:
    """District polygons with the layer's table columns (``tables/<stem>_by_district.geojson``),
    or any district table of the same area for the outlines only; None without districts.
    """
    import geopandas as gpd

    rel = Path(cog_rel)
    tdir = Path(run_dir) / rel.parent / "tables"
    own = tdir / f"{rel.stem}_by_district.geojson"
    if own.is_file():
        return gpd.read_file(own)
    others = sorted(tdir.glob("*_by_district.geojson")) if tdir.is_dir() else []
    if others:
        gdf = gpd.read_file(others[0])
        return gdf[[c for c in ("id", "name", "geometry") if c in gdf.columns]]
    return None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def district_impact_ha(view: LayerView, districts: Any) -> dict[Any, float]:
    """Hectares of the impact classes per district id, from the district table columns."""
    imp = impact_classes(view.product)
    if imp is None or districts is None:
        return {}
    names = {v: n for v, n, _c, _h in view.classes}
    from .quicklook import find_layer_spec

    spec = find_layer_spec(view.product)
    if spec is not None:
        names.update({v: n for v, n, _c in spec.classes})
    cols = [f"{_slug(names[v])}_ha" for v in imp[0] if v in names and f"{_slug(names[v])}_ha" in districts.columns]
    if not cols:
        return {}
    return {row["id"]: float(np.nansum([row[c] for c in cols])) for _, row in districts.iterrows()}


# ------------------------------------------------------------------------------------------ drawing
_MAX_LABELS = 30
def _fmt_ha(v: float) -> str:
    return f"{v:,.0f} ha" if v >= 10 else f"{v:,.1f} ha" if v >= 1 else f"{v:.2f} ha"


def _nice(x: float) -> float:
    mag = 10 ** math.floor(math.log10(x))
    return max(m * mag for m in (1, 2, 5) if m * mag <= x)


def _graticule(ax: Any, view: LayerView, fontsize: float) -> None:
    """Longitude/latitude lines and edge labels in degrees, drawn in the map's CRS."""
    from pyproj import CRS, Transformer

    left, right, bottom, top = view.extent
    crs = CRS.from_user_input(view.crs) if view.crs else CRS.from_epsg(4326)
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
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
    for lo in np.arange(math.ceil(lon0 / step) * step, lon1 + 1e-12, step):
        lats = np.linspace(lat0, lat1, 50)
        x, y = to_map.transform(np.full(50, lo), lats)
        ax.plot(x, y, color="#555555", lw=0.4, alpha=0.6, zorder=3)
        xb = float(np.interp(bottom, y, x)) if y[0] <= bottom <= y[-1] else None
        if xb is not None and left <= xb <= right:
            xt.append(xb)
            xl.append(f"{abs(lo):.{decimals}f}°{'E' if lo >= 0 else 'W'}")
    for la in np.arange(math.ceil(lat0 / step) * step, lat1 + 1e-12, step):
        lons = np.linspace(lon0, lon1, 50)
        x, y = to_map.transform(lons, np.full(50, la))
        ax.plot(x, y, color="#555555", lw=0.4, alpha=0.6, zorder=3)
        yb = float(np.interp(left, x, y)) if x[0] <= left <= x[-1] else None
        if yb is not None and bottom <= yb <= top:
            yt.append(yb)
            yl.append(f"{abs(la):.{decimals}f}°{'N' if la >= 0 else 'S'}")
    ax.set_xticks(xt, xl, fontsize=fontsize)
    ax.set_yticks(yt, yl, fontsize=fontsize, rotation=90, va="center")
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)


def _metres_per_unit(view: LayerView) -> float:
    from pyproj import CRS

    crs = CRS.from_user_input(view.crs) if view.crs else CRS.from_epsg(4326)
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


def _north_arrow(ax: Any, fontsize: float) -> None:
    ax.annotate("N", xy=(0.95, 0.93), xytext=(0.95, 0.80), xycoords="axes fraction", ha="center", va="center",
                fontsize=fontsize + 2, fontweight="bold", zorder=7,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5},
                bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})


def _draw_map(ax: Any, view: LayerView, districts: Any, *, fontsize: float, labels: bool = True) -> None:
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
                text = name + (f"\n{_fmt_ha(impact[row['id']])} {word}" if row["id"] in impact else "")
                ax.text(pt.x, pt.y, text, ha="center", va="center", fontsize=fontsize, zorder=5,
                        path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])
    _graticule(ax, view, fontsize)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _scale_bar(ax, view, fontsize)
    ax.set_aspect("equal" if not _geographic(view) else 1 / math.cos(math.radians((bottom + top) / 2)))


def _geographic(view: LayerView) -> bool:
    from pyproj import CRS

    return view.crs is None or CRS.from_user_input(view.crs).is_geographic


def _legend(ax: Any, view: LayerView, fontsize: float, title: str | None = None) -> None:
    """Classes present only, each with its area; or the colour ramp with units and range."""
    from matplotlib.patches import Patch

    ax.set_axis_off()
    if view.kind == "class":
        handles = [Patch(facecolor=f"#{c}", edgecolor="#333333", label=f"{n}  ({_fmt_ha(ha)})")
                   for _v, n, c, ha in view.classes]
        if handles:
            ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=fontsize,
                      title=title or "Legend (classes present)", title_fontsize=fontsize + 1, alignment="left")
        else:
            ax.text(0, 1, "no classified pixels", va="top", fontsize=fontsize)
        return


def _colourbar(fig: Any, cax: Any, view: LayerView, fontsize: float) -> None:
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


def _title_of(view: LayerView) -> str:
    k = _key(view.product, _TITLES)
    return _TITLES[k] if k else view.product.replace("_", " ").capitalize()


def render_figure(view: LayerView, districts: Any = None, *, title: str | None = None, width_px: int = 1000,
                  dpi: int = 100) -> Any:
    """The report panel of a layer: map with graticule, scale bar, outlines and labels, and its legend."""
    from matplotlib.figure import Figure

    w_in = width_px / dpi
    h_rel = (view.extent[3] - view.extent[2]) / max(view.extent[1] - view.extent[0], 1e-12)
    if _geographic(view):
        h_rel /= math.cos(math.radians((view.extent[2] + view.extent[3]) / 2))
    fs = 9.0
    if view.kind == "class":
        map_w = min(w_in * 0.58, 6.5)
        h_in = min(max(map_w * h_rel + 0.6, 3.0), 8.0)
        fig = Figure(figsize=(w_in, h_in), dpi=dpi)
        fx = map_w / w_in
        ax = fig.add_axes((0.6 / w_in, 0.4 / h_in, fx, 1 - 0.6 / h_in))
        lax = fig.add_axes((0.6 / w_in + fx + 0.03, 0.4 / h_in, 1 - fx - 0.6 / w_in - 0.04, 1 - 0.6 / h_in))
        _legend(lax, view, fs)
    else:
        map_w = w_in * 0.85
        h_in = min(max(map_w * h_rel + 1.6, 3.4), 9.5)
        fig = Figure(figsize=(w_in, h_in), dpi=dpi)
        cb_h = 0.35 / h_in
        ax = fig.add_axes((0.1, 0.1 + 2.6 * cb_h, 0.85, 0.88 - 2.6 * cb_h - 0.02))
        cax = fig.add_axes((0.15, 0.55 / h_in, 0.75, cb_h * 0.6))
        _colourbar(fig, cax, view, fs)
    _draw_map(ax, view, districts, fontsize=fs - 1)
    _north_arrow(ax, fs - 1)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=fs + 2, fontweight="bold")
    return fig


def figure_png(fig: Any, dpi: int | None = None) -> bytes:
    """PNG bytes of a figure (Agg canvas, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ map sheets
def _sources(manifest: Mapping[str, Any], area: str) -> tuple[list[str], list[str]]:
    """Input scenes (id and date) of ``area`` from the manifest, and the data-source lines."""
    scenes, kinds = [], set()
    for inp in manifest.get("inputs") or []:
        if inp.get("area") != area:
            continue
        sid = str(inp.get("scene_id") or "")
        scenes.append(f"{sid} ({str(inp.get('datetime', ''))[:10]})")
        low = sid.lower()
        kinds.add("Copernicus Sentinel-1 SAR" if ("s1" in low or "sentinel1" in low) else
                  "Copernicus Sentinel-5P TROPOMI" if "s5p" in low else
                  "Copernicus Sentinel-2 MSI" if ("s2" in low or "sentinel2" in low or low.startswith("t")) else
                  "satellite imagery")
    return scenes, sorted(kinds)


def _sheet(view: LayerView, districts: Any, manifest: Mapping[str, Any], area: str, rel: str) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.69, 8.27), dpi=150)  # A4 landscape
    fs = 8.0
    name = _title_of(view)
    run = manifest.get("config", {}).get("name") or manifest.get("run_id", "")
    fig.patches.append(_band(fig))
    fig.text(0.015, 0.955, f"{name} — {area.replace('_', ' ')}", fontsize=17, fontweight="bold",
             color="white", va="center")
    event = _event_line(view, manifest, area)
    fig.text(0.015, 0.915, event, fontsize=9.5, color="white", va="center")
    fig.text(0.985, 0.955, "agromap", fontsize=12, color="white", ha="right", va="center", fontweight="bold")
    fig.text(0.985, 0.915, f"run {run} · {manifest.get('run_id', '')}", fontsize=8, color="white", ha="right",
             va="center")
    ax = fig.add_axes((0.05, 0.07, 0.60, 0.80))
    _draw_map(ax, view, districts, fontsize=fs)
    _north_arrow(ax, fs + 1)
    # Right panel: legend, district totals, sources, caveats.
    lax = fig.add_axes((0.68, 0.52, 0.31, 0.35))
    if view.kind == "class":
        _legend(lax, view, fs + 1, title="Legend (classes present, area)")
    else:
        lax.set_axis_off()
        cax = fig.add_axes((0.69, 0.80, 0.28, 0.025))
        _colourbar(fig, cax, view, fs)
    impact = district_impact_ha(view, districts)
    y = 0.50
    if impact:
        word = (impact_classes(view.product) or ((), ""))[1]
        fig.text(0.68, y, f"Area {word} by district", fontsize=fs + 1, fontweight="bold", va="top")
        names = {r["id"]: str(r.get("name", r["id"])) for _, r in districts.iterrows()}
        rows = sorted(impact.items(), key=lambda kv: -kv[1])[:8]
        for k, (i, ha) in enumerate(rows):
            fig.text(0.69, y - 0.03 - 0.022 * k, names.get(i, str(i)), fontsize=fs, va="top")
            fig.text(0.97, y - 0.03 - 0.022 * k, _fmt_ha(ha), fontsize=fs, va="top", ha="right")
        total = sum(impact.values())
        y = y - 0.03 - 0.022 * len(rows)
        fig.text(0.69, y, "total", fontsize=fs, va="top", fontweight="bold")
        fig.text(0.97, y, _fmt_ha(total), fontsize=fs, va="top", ha="right", fontweight="bold")
        y -= 0.04
    scenes, kinds = _sources(manifest, area)
    lines = ["Data sources: " + (", ".join(kinds) or "see run manifest")]
    if scenes:
        shown = scenes[:4] + ([f"… and {len(scenes) - 4} more"] if len(scenes) > 4 else [])
        lines.append("Scenes: " + "; ".join(shown))
    lines.append(f"Layer: {rel}")
    if view.description:
        lines.append("Method: " + re.sub(r"\s*\((?:[^()]*;\s*)?SCIENCE\.md[^)]*\)|\s*\(SCIENCE\.md[^)]*\)", "",
                                         view.description))
    lines.append(f"Map CRS: {_crs_label(view)}; graticule in WGS 84 degrees")
    caveats = caveats_for(view.product)
    text = "\n".join(_wrap(s, 62) for s in lines)
    fig.text(0.68, y, text, fontsize=fs - 0.5, va="top", linespacing=1.35)
    if caveats:
        text = "\n".join(_wrap(("Caveat: " if k == 0 else "") + c, 56) for k, c in enumerate(caveats))
        fig.text(0.68, 0.17, text, fontsize=fs - 0.5, va="top",
                 color="#7a3e00", linespacing=1.35,
                 bbox={"boxstyle": "round,pad=0.4", "fc": "#fff7e6", "ec": "#d97706"})
    fig.text(0.05, 0.012, f"Produced with agromap {manifest.get('agromap_version', '')}; run finished "
             f"{str(manifest.get('finished', ''))[:19].replace('T', ' ')} UTC. Contains modified Copernicus data. "
             "Estimates from satellite data: see the caveats.", fontsize=fs - 1, color="#555555")
    return fig


def _band(fig: Any) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((0, 0.89), 1, 0.11, transform=fig.transFigure, facecolor="#1f3b5a", edgecolor="none",
                     zorder=-1)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _crs_label(view: LayerView) -> str:
    from pyproj import CRS

    if not view.crs:
        return "unknown"
    crs = CRS.from_user_input(view.crs)
    epsg = crs.to_epsg()
    return f"{crs.name}" + (f" (EPSG:{epsg})" if epsg else "")


def _event_line(view: LayerView, manifest: Mapping[str, Any], area: str) -> str:
    dates = sorted({str(i.get("datetime", ""))[:10] for i in manifest.get("inputs") or [] if i.get("area") == area})
    when = view.datetime or ""
    parts = []
    if "/" in when:
        a, b = when.split("/", 1)
        parts.append(f"Season / period {a[:10]} to {b[:10]}")
    elif when:
        parts.append(f"Event / map date {when[:10]}")
    if dates:
        parts.append("acquisitions " + (dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]} ({len(dates)})"))
    return " · ".join(parts)


def write_mapsheets(run_dir: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None,
                    layers: Sequence[str] | None = None, all_layers: bool = False) -> list[Path]:
    """Write a PNG and a PDF map sheet per decision layer and area of a run, atomically.

    Parameters
    ----------
    run_dir : path
        A finished run folder (``manifest.json``, the COGs, ``<area>/tables``).
    out_dir : path, optional
        Where to write (default ``RUN_DIR/mapsheets``); files are ``<area>_<layer>.png|pdf``.
    layers : list of str, optional
        Only these layer stems (default: every decision layer, :data:`DECISION_LAYERS`).
    all_layers : bool
        Also continuous layers.

    Returns
    -------
    list of pathlib.Path
        The files written. Layers without any valid pixel are skipped.
    """
    from .io.files import atomic_write_bytes

    run = Path(run_dir)
    mpath = run / "manifest.json"
    if not mpath.is_file():
        raise InputError(f"{run} has no manifest.json; give the output folder of a finished 'agromap run'.")
    try:
        manifest = json.loads(mpath.read_bytes())
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise InputError(f"{mpath}: unreadable manifest ({str(exc).splitlines()[0]}); run 'agromap run' again on "
                         "this folder to rewrite it.") from None
    dest = Path(out_dir) if out_dir else run / "mapsheets"
    written: list[Path] = []
    for o in manifest.get("outputs") or []:
        rel = str(o.get("path", ""))
        stem = Path(rel).stem
        if layers is not None and stem not in layers and o.get("layer") not in layers:
            continue
        if layers is None and not all_layers and not is_decision_layer(str(o.get("layer") or stem)):
            continue
        if not (run / rel).is_file() or o.get("valid_fraction") == 0.0:
            continue
        view = load_view(run / rel, max_size=1400)
        if view.empty:
            continue
        fig = _sheet(view, district_layer(run, rel), manifest, str(o.get("area")), rel)
        base = dest / f"{o.get('area')}_{stem}"
        dest.mkdir(parents=True, exist_ok=True)
        for ext in ("png", "pdf"):
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(fig)
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=150, metadata={"Title": f"{stem} — {o.get('area')}",
                                                           "Creator": "agromap"} if ext == "pdf" else None)
            atomic_write_bytes(base.with_suffix(f".{ext}"), buf.getvalue())
            written.append(base.with_suffix(f".{ext}"))
    return written


def key_figures(run_dir: str | os.PathLike[str], manifest: Mapping[str, Any]) -> list[str]:
    """One line per decision layer of a run for the console: ``delta flood_class: flooded 31 ha
    (observed flood water 18 ha, flooded rice 13 ha) in 3 districts``.
    """
    run = Path(run_dir)
    lines = []
    for o in manifest.get("outputs") or []:
        rel = str(o.get("path", ""))
        product = str(o.get("layer") or Path(rel).stem)
        imp = impact_classes(product)
        if not is_decision_layer(product) or o.get("valid_fraction") == 0.0 or not (run / rel).is_file():
            continue
        if imp is None:
            if "aqi" in product.lower():
                view = load_view(run / rel, max_size=1000)
                if view.classes:
                    top = max(view.classes, key=lambda c: c[3])
                    lines.append(f"{o.get('area')} {Path(rel).stem}: mostly {top[1]} ({top[3]:,.0f} ha; "
                                 "satellite estimate)")
            continue
        view = load_view(run / rel, max_size=1000)
        hit = [(n, ha) for v, n, _c, ha in view.classes if v in imp[0]]
        total = sum(ha for _n, ha in hit)
        text = f"{o.get('area')} {Path(rel).stem}: {imp[1]} {total:,.0f} ha"
        if len(hit) > 1:
            text += " (" + ", ".join(f"{n} {ha:,.0f} ha" for n, ha in hit) + ")"
        unknown = [(n, ha) for v, n, _c, ha in view.classes if product == "flood_class" and v == 7]
        if unknown:  # water seen, but no reference to tell flood from normal water: say so, not 0 ha alone
            text += f"; {unknown[0][0]} {unknown[0][1]:,.0f} ha"
        districts = district_layer(run, rel)
        per = district_impact_ha(view, districts) if districts is not None else {}
        if per:
            text += f" in {sum(1 for v in per.values() if v > 0)} of {len(per)} districts"
        lines.append(text)
    return lines
