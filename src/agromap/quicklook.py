"""Quicklook PNGs of published COGs: read from an overview, fixed stretch and palette per product.

docs/architecture.md#quicklooks: a PNG of at most 600 x 600 per product, read
from an internal overview (never the full resolution when an overview fits), with a stretch and
palette fixed per product, never auto-stretched per scene, so two dates of one product compare
by eye. Nodata is transparent (alpha 0; the PNG is paletted with per-entry alpha, which every
reader expands to RGBA). Class layers use the file's own embedded colormap and its ``CLASS_<n>``
band tags; continuous layers use :func:`product_styles` (each product plug-in brings its own).

The same styles serve :mod:`agromap.plot` and :mod:`agromap.report`. Pillow's
decompression-bomb cap (``PIL.Image.MAX_IMAGE_PIXELS``) is left as it is.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from .display_read import Kind, read_display
from .errors import ConfigError
from .styles import AQI, DECIBEL, FRACTION, PALETTES, SIGNED, VEGETATION, WATER, Style

__all__ = [
    "Style", "PALETTES", "PRODUCT_STYLES", "product_styles", "DEFAULT_STYLE", "VEGETATION", "WATER", "SIGNED",  # noqa: F822
    "FRACTION", "DECIBEL", "AQI", "product_style", "palette_lut", "continuous_rgba",
    "class_rgba", "write_quicklook", "read_display", "resolve_class_colours", "legend_of", "write_legend",
    "thumbnail_asset", "find_layer_spec", "DISPLAY_UNITS", "display_values", "display_style", "png_bytes",
    "PNG_COMPRESS_LEVEL",
]  # fmt: skip

if TYPE_CHECKING:
    PRODUCT_STYLES: Mapping[str, Style]  # provided by __getattr__ below

#: Styles of layers no product plug-in writes: run-level layers, raw bands, and indices offered
#: by the accessor and :mod:`agromap.plot` only. Each product brings its own (``Product.quicklook_style``).
_BASE_STYLES: Mapping[str, Style] = {
    "valid_fraction": FRACTION, "vv": DECIBEL, "vh": DECIBEL, "ndwi_mcfeeters": WATER,
    "nbr2": SIGNED, "ndsi": SIGNED, "ndfi": SIGNED, "pm25": Style(0.0, 250.0, "heat"),
}


def product_styles() -> Mapping[str, Style]:
    """Fixed styles per layer name (decoded values, i.e. after scale/offset): the base styles and
    every product plug-in's. Names are matched exactly, then by the longest registered prefix
    (``transplant_doy_2`` -> ``transplant_doy``).
    """
    return _styles()


@functools.cache
def _styles() -> Mapping[str, Style]:
    from .pipeline.products.registry import products

    merged = dict(_BASE_STYLES)
    for product in products().values():
        for name, style in product.quicklook_style.items():
            if merged.setdefault(name, style) != style:
                raise ConfigError(f"quicklook style of {name!r} is registered twice with different values "
                                  f"({merged[name]} and {style}, product {product.name!r}).")
    return MappingProxyType(merged)


def __getattr__(name: str) -> Any:
    # PRODUCT_STYLES is derived from the product registry on first use, not at import.
    if name == "PRODUCT_STYLES":
        return _styles()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Display units of products whose stored SI units put everyday values at 1e-4: (factor, label).
#: Tropospheric NO2 over a city is 20-200 umol m-2 (Eskes et al. 2022, S5P NO2 product user
#: manual), so mol m-2 hides the signal in the bottom of any legend.
DISPLAY_UNITS: Mapping[str, tuple[float, str]] = {
    "no2_trop_column": (1e6, "µmol m⁻²"), "so2_column": (1e6, "µmol m⁻²"), "hcho_column": (1e6, "µmol m⁻²"),
    "co_column": (1e3, "mmol m⁻²"),
}
#: Fixed display ranges in display units (after :data:`DISPLAY_UNITS`), where the fixed
#: stored-unit range of :data:`PRODUCT_STYLES` is too wide for the values a scene holds.
_DISPLAY_STYLES: Mapping[str, Style] = {
    "no2_trop_column": Style(0.0, 150.0, "heat"), "so2_column": Style(0.0, 500.0, "heat"),
    "hcho_column": Style(0.0, 300.0, "heat"), "co_column": Style(20.0, 60.0, "heat"),
}
#: Products whose useful range depends on the run (number of dates, season, region): counts of
#: observations, days of year, surface PM2.5. Shown on a range rounded out from the 2nd-98th
#: percentiles of the layer, and the legend says so.
_DATA_STRETCH: tuple[str, ...] = ("n_valid_obs", "n_valid_in_flood_window", "transplant_doy", "heading_doy",
                                  "harvest_doy", "pm25", "flood_duration_days")

#: By ``units`` when the product is unknown.
_UNIT_STYLES: Mapping[str, Style] = {
    "db": DECIBEL, "%": Style(0.0, 100.0, "viridis"), "day of year": Style(1.0, 366.0, "viridis"), "index": AQI,
}
#: Unknown product, no ``QUICKLOOK_MIN``/``QUICKLOOK_MAX`` tags and no known units: 0-1, viridis.
DEFAULT_STYLE = FRACTION


def product_style(product: str | None, units: str | None = None,
                  tags: Mapping[str, str] | None = None) -> tuple[Style, str]:
    """The fixed style of a continuous product, and where it came from.

    Order: ``QUICKLOOK_MIN``/``QUICKLOOK_MAX`` (optional ``QUICKLOOK_PALETTE``) in ``tags``;
    :func:`product_styles` by exact name, then longest prefix; by ``units`` (dB, %, day of year,
    index); :data:`DEFAULT_STYLE`. Never from the data values.

    Returns
    -------
    (Style, str)
        The style and its source: ``"tags"``, ``"product"``, ``"units"`` or ``"default"``.
    """
    t = {k.upper(): v for k, v in (tags or {}).items()}
    if "QUICKLOOK_MIN" in t and "QUICKLOOK_MAX" in t:
        return Style(float(t["QUICKLOOK_MIN"]), float(t["QUICKLOOK_MAX"]), t.get("QUICKLOOK_PALETTE", "viridis")), "tags"
    styles = _styles()
    key = _product_key(product, styles)
    if key is not None:
        return styles[key], "product"
    if units and units.strip().lower() in _UNIT_STYLES:
        return _UNIT_STYLES[units.strip().lower()], "units"
    return DEFAULT_STYLE, "default"


def _product_key(product: str | None, table: Mapping[str, Any]) -> str | None:
    name = (product or "").lower()
    if name in table:
        return name
    keys = [k for k in table if name.startswith(k) and (k.endswith("_") or name[len(k):][:1] == "_")]
    return max(keys, key=len) if keys else None


def display_values(product: str | None, units: str | None, values: np.ndarray) -> tuple[np.ndarray, str | None]:
    """Decoded values in display units (µmol m⁻² for trace-gas columns), and the units label."""
    key = _product_key(product, DISPLAY_UNITS)
    if key is None:
        return values, units
    factor, label = DISPLAY_UNITS[key]
    return values * factor, label


def _nice_floor(v: float, step: float) -> float:
    return math.floor(v / step) * step


def _nice_step(span: float) -> float:
    raw = max(span, 1e-12) / 10.0
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def display_style(product: str | None, units: str | None, tags: Mapping[str, str] | None,
                  values: np.ndarray | None = None, invalid: np.ndarray | None = None) -> tuple[Style, str]:
    """The style for showing a continuous layer to people, in display units.

    Like :func:`product_style` (tags first, then the fixed per-product style), except that trace
    gases use :data:`DISPLAY_UNITS` ranges and counts, days of year and PM2.5 are stretched to
    the layer's own 2nd-98th percentiles rounded out to a round step (source ``"data"``), so
    values 4-12 are not painted in the bottom fifth of a 0-60 ramp.
    """
    t = {k.upper() for k in (tags or {})}
    if "QUICKLOOK_MIN" in t and "QUICKLOOK_MAX" in t:
        return product_style(product, units, tags)
    key = _product_key(product, _DISPLAY_STYLES)
    if key is not None:
        return _DISPLAY_STYLES[key], "product"
    base, source = product_style(product, units, tags)
    if values is not None and _product_key(product, {k: 0 for k in _DATA_STRETCH}) is not None:
        v = np.asarray(values, dtype=np.float64)
        ok = np.isfinite(v) if invalid is None else (~invalid & np.isfinite(v))
        if ok.any():
            lo, hi = (float(x) for x in np.percentile(v[ok], [2, 98]))
            step = _nice_step(hi - lo)
            lo, hi = _nice_floor(lo, step), -_nice_floor(-hi, step)
            if hi <= lo:
                hi = lo + step
            if (product or "").lower().startswith("n_valid") or (product or "").lower().endswith("_days"):
                lo = max(0.0, lo)
            return Style(lo, hi, base.palette), "data"
    return base, source


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def palette_lut(palette: str, n: int = 256) -> np.ndarray:
    """``(n, 4)`` uint8 RGBA table of a :data:`PALETTES` ramp (opaque)."""
    if palette not in PALETTES:
        raise ConfigError(f"unknown palette {palette!r}; known: {', '.join(sorted(PALETTES))}.")
    stops = PALETTES[palette]
    pos = np.array([p for p, _ in stops])
    rgb = np.array([_hex_rgb(c) for _, c in stops], dtype=np.float64)
    x = np.linspace(0.0, 1.0, n)
    lut = np.empty((n, 4), np.uint8)
    for k in range(3):
        lut[:, k] = np.rint(np.interp(x, pos, rgb[:, k])).astype(np.uint8)
    lut[:, 3] = 255
    return lut


_LEVELS = 255


def continuous_rgba(values: np.ndarray, style: Style, invalid: np.ndarray | None = None) -> np.ndarray:
    """RGBA uint8 image of decoded ``values`` with a fixed ``style``; NaN and ``invalid`` transparent."""
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v) if invalid is None else (invalid | ~np.isfinite(v))
    # The same arithmetic in place (one temporary), then each pixel's colour fetched as one uint32:
    # twice as fast as gathering rows of the (levels, 4) table, with the same bytes.
    t = np.where(bad, style.vmin, v)
    t -= style.vmin
    t /= style.vmax - style.vmin
    np.clip(t, 0.0, 1.0, out=t)
    t *= _LEVELS - 1
    np.rint(t, out=t)
    # 255 levels: with the transparent colour, a quicklook fits one 256-entry PNG palette.
    lut = np.ascontiguousarray(palette_lut(style.palette, _LEVELS)).view(np.uint32).ravel()
    out = lut[t.astype(np.intp)]
    out[bad] = 0
    return out.view(np.uint8).reshape(*out.shape, 4)


def class_rgba(values: np.ndarray, colours: Mapping[int, tuple[int, int, int]], invalid: np.ndarray) -> np.ndarray:
    """RGBA uint8 image of integer class ``values``; ``invalid`` and values without a colour transparent."""
    vals, inv = np.unique(np.asarray(values), return_inverse=True)
    table = np.zeros((len(vals), 4), np.uint8)
    for i, v in enumerate(vals.tolist()):
        if int(v) in colours:
            table[i, :3] = colours[int(v)]
            table[i, 3] = 255
    out = table[inv.reshape(np.shape(values))]
    out[invalid] = 0
    return out


def resolve_class_colours(r: dict[str, Any]) -> dict[int, tuple[int, int, int]]:
    """Colours of a class :func:`read_display` result: the file's colormap, else the registered
    layer's, else viridis by class rank. Updates ``r["classes"]`` so the legend agrees.
    """
    cmap = r["colormap"] or {}
    if not cmap:
        spec = find_layer_spec(r["product"])
        cmap = spec.colormap() if spec is not None else {}
    colours = {int(v): tuple(int(x) for x in c[:3]) for v, c in cmap.items()}
    if not colours:
        lut = palette_lut("viridis", max(2, len(r["classes"])))
        colours = {v: tuple(int(x) for x in lut[k, :3]) for k, (v, _n, _c) in enumerate(r["classes"])}
    r["classes"] = [(v, n, "%02X%02X%02X" % colours[v] if v in colours else c) for v, n, c in r["classes"]]
    return colours  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ legend
def legend_of(read: Mapping[str, Any], style: Style | None = None) -> dict[str, Any]:
    """Legend entries for a :func:`read_display` result (and its style, for continuous layers)."""
    if read["kind"] == "class":
        return {"type": "classes", "title": read["product"],
                "entries": [{"value": v, "name": n, "color": f"#{c}"} for v, n, c in read["classes"]]}
    if style is None:
        raise ConfigError("legend_of: a continuous layer needs its Style.")
    return {"type": "ramp", "title": read["product"], "min": style.vmin, "max": style.vmax,
            "units": read.get("units"), "palette": style.palette,
            "stops": [{"position": p, "color": f"#{c}"} for p, c in PALETTES[style.palette]]}


def _atomic_bytes(path: Path, data: bytes) -> None:
    from .io.files import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


PNG_COMPRESS_LEVEL = 4
"""zlib level of every PNG agromap writes (quicklooks, legends, report maps, served tiles).

zlib's default 6 searches longer chains for little gain on maps: on the rice bench's seven
annotated quicklooks it took 0.140 CPU-s for 620 kB, level 4 0.082 CPU-s for 689 kB, and on
the report's five maps 0.131 CPU-s for 650 kB against 0.082 CPU-s for 705 kB.
"""


def png_bytes(rgba: np.ndarray) -> bytes:
    """PNG of an RGBA image: paletted with per-entry alpha (tRNS) when it has <= 256 colours, which
    our fixed palettes guarantee (exact, no quantisation; 5-10x smaller), else plain RGBA.
    """
    import io

    import pandas as pd
    from PIL import Image

    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    packed = rgba.view(np.uint32).reshape(rgba.shape[:2])
    # The same sorted colours and indices as np.unique(return_inverse=True), from a hash table
    # instead of a sort of every pixel: a quarter of the time on a 600 px quicklook.
    index, colours = pd.factorize(packed.ravel(), sort=True)
    buf = io.BytesIO()
    if len(colours) <= 256:
        table = colours.view(np.uint8).reshape(-1, 4)
        img = Image.fromarray(index.reshape(packed.shape).astype(np.uint8), mode="P")
        img.putpalette(table[:, :3].tobytes(), rawmode="RGB")
        img.save(buf, format="PNG", transparency=table[:, 3].tobytes(), compress_level=PNG_COMPRESS_LEVEL)
    else:
        Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def write_legend(legend: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Draw a legend (from :func:`write_quicklook`'s ``legend``) as a small RGBA PNG, atomically."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    if legend["type"] == "classes":
        rows = [(e["color"], f"{e['value']}  {e['name']}") for e in legend["entries"]]
        img = Image.new("RGBA", (320, 8 + 20 * max(1, len(rows))), (255, 255, 255, 255))
        draw = ImageDraw.Draw(img)
        for i, (colour, text) in enumerate(rows):
            y = 4 + 20 * i
            draw.rectangle((6, y, 22, y + 14), fill=_hex_rgb(colour), outline=(0, 0, 0))
            draw.text((30, y), text, fill=(0, 0, 0), font=font)
    else:
        lut = palette_lut(legend["palette"], 256)
        img = Image.new("RGBA", (320, 48), (255, 255, 255, 255))
        bar = Image.fromarray(np.repeat(lut[None, :, :], 16, axis=0), mode="RGBA").resize((300, 16))
        img.paste(bar, (10, 6))
        draw = ImageDraw.Draw(img)
        units = f" {legend['units']}" if legend.get("units") not in (None, "", "1") else ""
        draw.text((10, 26), f"{legend['min']:g}", fill=(0, 0, 0), font=font)
        right = f"{legend['max']:g}{units}"
        draw.text((310 - draw.textlength(right, font=font), 26), right, fill=(0, 0, 0), font=font)
    out = Path(path)
    _atomic_bytes(out, png_bytes(np.asarray(img)))
    return out


# ------------------------------------------------------------------------------------------ quicklook
def write_quicklook(
    cog_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    *,
    max_size: int = 600,
    kind: Kind | None = None,
    stretch: tuple[float, float] | Style | None = None,
    band: int = 1,
    legend_path: str | os.PathLike[str] | None = None,
    annotate: bool = False,
    partial: bool = False,
) -> dict[str, Any]:
    """Write an RGBA PNG quicklook of a COG, read from an overview, with a fixed per-product style.

    Parameters
    ----------
    cog_path : path
        A published COG (:func:`agromap.io.write.publish_cog`), or any GeoTIFF.
    png_path : path
        Output PNG; written atomically (temporary file in the same directory, then ``os.replace``).
    max_size : int
        Larger edge of the PNG in pixels (default 600, the STAC thumbnail limit). The finest
        internal overview that fits is read; the full resolution only when the raster fits.
    kind : {"class", "continuous"}, optional
        Default: ``"class"`` when the band has a colormap or ``CLASS_<n>`` tags.
    stretch : (vmin, vmax) or Style, optional
        Continuous layers: override the product's fixed range (decoded units; the palette stays
        the product's). Never derived from the data.
    band : int
        1-based band.
    legend_path : path, optional
        Also draw the legend into this PNG (:func:`write_legend`).
    annotate : bool
        Add a title (product and date) above the map and its legend below it (classes present
        only, or the colour ramp with its range and units); a raster smaller than 256 px is
        enlarged by whole-pixel repetition first, so a 48 x 12 CO grid is readable.
    partial : bool
        ``png_path`` is a new ``.partial`` name (:func:`agromap.io.files.partial_path`) that the
        caller renames into place itself: the PNG is written there directly (created exclusively,
        flushed), not through a temporary file and a rename of its own.

    Returns
    -------
    dict
        ``path``, ``width``, ``height``, ``kind``, ``product``, ``units``, ``overview_level``
        (None = full resolution), ``source_shape``, ``style`` ({vmin, vmax, palette} or None),
        ``style_source``, ``legend`` (class entries ``{value, name, color}`` or a ramp),
        ``legend_path``, ``valid_fraction`` (of the quicklook pixels), ``media_type``.
    """
    if max_size < 1:
        raise ConfigError(f"max_size must be >= 1 pixel, got {max_size}.")
    r = read_display(cog_path, max_size=max_size, band=band, kind=kind)
    style: Style | None = None
    source = None
    if r["kind"] == "class":
        colours = resolve_class_colours(r)
        rgba = class_rgba(r["values"], colours, r["invalid"])
    else:
        decoded = r["values"].astype(np.float64) * r["scale"] + r["offset"]
        if stretch is not None:
            style = product_style(r["product"], r["units"], r["tags"])[0]
            style = stretch if isinstance(stretch, Style) else Style(float(stretch[0]), float(stretch[1]), style.palette)
            source = "argument"
        else:  # trace gases in µmol m-2, counts and days of year on their own range
            decoded, r["units"] = display_values(r["product"], r["units"], decoded)
            style, source = display_style(r["product"], r["units"], r["tags"], decoded, r["invalid"])
        rgba = continuous_rgba(decoded, style, r["invalid"])
    out = Path(png_path)
    legend = legend_of(r, style)
    if annotate:
        rgba = _annotated(rgba, r, legend)
    if partial:
        from .io.files import write_partial

        write_partial(out, png_bytes(rgba), tmp=out)
    else:
        _atomic_bytes(out, png_bytes(rgba))
    if legend_path is not None:
        write_legend(legend, legend_path)
    return {
        "path": str(out), "width": int(rgba.shape[1]), "height": int(rgba.shape[0]), "kind": r["kind"],
        "product": r["product"], "units": r["units"], "overview_level": r["overview_level"],
        "source_shape": tuple(r["source_shape"]), "source": str(cog_path),
        "style": None if style is None else {"vmin": style.vmin, "vmax": style.vmax, "palette": style.palette},
        "style_source": source, "legend": legend, "legend_path": None if legend_path is None else str(legend_path),
        "valid_fraction": float(1.0 - r["invalid"].mean()) if r["invalid"].size else 0.0,
        "media_type": "image/png",
    }


def _font(size: int) -> Any:
    """DejaVu Sans as shipped with matplotlib (it has µ and superscripts), else Pillow's default.

    Loaded per call: a font object is not shared between the threads that publish layers.
    """
    from PIL import ImageFont

    path = _dejavu_path()
    try:
        return ImageFont.truetype(path, size) if path else ImageFont.load_default()
    except OSError:
        return ImageFont.load_default()


@functools.cache
def _dejavu_path() -> str | None:
    """matplotlib's copy of DejaVu Sans, found without importing matplotlib (half a second)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


def _date_label(value: str) -> str:
    parts = [p[:10] for p in str(value).split("/") if p]
    return " to ".join(dict.fromkeys(parts))


def _annotated(rgba: np.ndarray, r: Mapping[str, Any], legend: Mapping[str, Any]) -> np.ndarray:
    """The map with a title bar above and its legend below (white background)."""
    from PIL import Image, ImageDraw

    h, w = rgba.shape[:2]
    k = max(1, math.ceil(256 / max(h, w)))
    if k > 1:
        rgba = np.repeat(np.repeat(rgba, k, axis=0), k, axis=1)
        h, w = rgba.shape[:2]
    font, small = _font(14), _font(12)
    if legend["type"] == "classes":
        present = set(np.unique(r["values"][~r["invalid"]]).tolist())
        rows = [(e["color"], str(e["name"])) for e in legend["entries"] if e["value"] in present]
        leg_h = 8 + 18 * max(1, len(rows))
    else:
        rows, leg_h = [], 44
    width = max(w, 320)
    img = Image.new("RGBA", (width, 26 + h + leg_h), (255, 255, 255, 255))
    draw = ImageDraw.Draw(img)
    date = _date_label(r["tags"].get("DATETIME", ""))
    draw.text((4, 5), f"{r['product']}  {date}".strip(), fill=(0, 0, 0), font=font)
    tile = Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA")
    img.alpha_composite(tile, ((width - w) // 2, 26))
    y0 = 26 + h + 4
    if legend["type"] == "classes":
        for i, (colour, text) in enumerate(rows):
            y = y0 + 18 * i
            draw.rectangle((6, y, 20, y + 13), fill=_hex_rgb(colour), outline=(0, 0, 0))
            draw.text((28, y), text, fill=(0, 0, 0), font=small)
        if not rows:
            draw.text((6, y0), "no valid pixel", fill=(0, 0, 0), font=small)
    else:
        lut = palette_lut(legend["palette"], 256)
        bar = Image.fromarray(np.repeat(lut[None, :, :], 14, axis=0), mode="RGBA").resize((width - 20, 14))
        img.paste(bar, (10, y0))
        units = f" {legend['units']}" if legend.get("units") not in (None, "", "1") else ""
        draw.text((10, y0 + 18), f"{legend['min']:g}", fill=(0, 0, 0), font=small)
        right = f"{legend['max']:g}{units}"
        draw.text((width - 10 - draw.textlength(right, font=small), y0 + 18), right, fill=(0, 0, 0), font=small)
    return np.asarray(img)


def thumbnail_asset(info: Mapping[str, Any], href: str) -> dict[str, Any]:
    """A STAC asset dict (docs/architecture.md#stac-items, role ``thumbnail``) for a :func:`write_quicklook` result."""
    return {"href": href, "type": "image/png", "roles": ["thumbnail"],
            "title": f"{info['product']} quicklook ({info['width']} x {info['height']} px, from overviews)"}


def find_layer_spec(name: str | None) -> Any:
    """The :class:`~agromap.io.layers.LayerSpec` called ``name`` in the layer registry, or None
    (:func:`agromap.layer_registry.find_layer_spec`).
    """
    from .layer_registry import find_layer_spec as find

    return find(name)
