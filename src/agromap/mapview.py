"""What a map of a published layer shows: decision-layer facts and one band read for drawing.

- Decision layers (:data:`DECISION_LAYERS`): the layers a disaster or crop desk acts on, their
  order in a report, the classes summed as impact in district labels, and the caveats printed
  with them.
- :class:`LayerView`: one band of a COG of a run folder, read once from an overview with its
  style, classes and their true hectares (:func:`agromap.area.row_area_m2`, also on geographic
  grids); :func:`district_layer` and :func:`district_impact_ha` add the district tables.

Drawing is in :mod:`agromap.mapdraw`, the A4 map sheets in :mod:`agromap.mapsheet`.
"""


from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .io.layers import class_slug

__all__ = ["DECISION_LAYERS", "CAVEATS", "is_decision_layer", "decision_rank", "impact_classes", "caveats_for",
           "product_key", "LayerView", "load_view", "figure_render_ok", "district_layer", "district_impact_ha"]

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


def product_key(product: str, table: Mapping[str, Any]) -> str | None:
    """The longest key of ``table`` that ``product`` is or starts with (``flood_class_2024`` -> ``flood_class``)."""
    name = product.lower()
    keys = [k for k in table if name == k or name.startswith(k + "_") or name.startswith(k)]
    return max(keys, key=len) if keys else None


def is_decision_layer(product: str) -> bool:
    """True for the layers a desk acts on (flood classes, rice, burned paddy, AQI category...)."""
    return product_key(product, {k: 0 for k in DECISION_LAYERS}) is not None


def decision_rank(product: str) -> int:
    """Position of ``product`` in :data:`DECISION_LAYERS` (len for other layers)."""
    k = product_key(product, {k: 0 for k in DECISION_LAYERS})
    return DECISION_LAYERS.index(k) if k is not None else len(DECISION_LAYERS)


def impact_classes(product: str) -> tuple[tuple[int, ...], str] | None:
    """Class values summed in district labels and the word for them, or None."""
    k = product_key(product, _IMPACT)
    return None if k is None else (_IMPACT[k], _IMPACT_WORD[k])


def caveats_for(product: str) -> list[str]:
    """Caveats printed with a map of ``product``."""
    out = []
    name = product.lower()
    for k, text in CAVEATS.items():
        if name.startswith(k) or (k in ("aqi", "pm25") and k in name):
            out.append(text)
    return out


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
    rel = Path(cog_rel)
    tdir = Path(run_dir) / rel.parent / "tables"
    own = tdir / f"{rel.stem}_by_district.geojson"
    others = [] if own.is_file() or not tdir.is_dir() else sorted(tdir.glob("*_by_district.geojson"))
    if not own.is_file() and not others:
        return None  # an area without districts does not import geopandas (a third of a second)
    import geopandas as gpd

    if own.is_file():
        return gpd.read_file(own)
    gdf = gpd.read_file(others[0])
    return gdf[[c for c in ("id", "name", "geometry") if c in gdf.columns]]


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
    cols = [f"{class_slug(names[v])}_ha" for v in imp[0] if v in names and f"{class_slug(names[v])}_ha" in districts.columns]
    if not cols:
        return {}
    return {row["id"]: float(np.nansum([row[c] for c in cols])) for _, row in districts.iterrows()}
