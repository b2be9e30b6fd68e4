"""Maps for people: a layer of a run drawn with legend, scale bar, coordinates and district outlines.

Two layouts share one drawing code (:mod:`agromap.mapdraw`, reading :mod:`agromap.mapview`):

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
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import InputError
from .mapdraw import (
    colourbar,
    draw_map,
    figure_png,
    fmt_ha,
    legend,
    north_arrow,
    render_figure,
    title_of,
)
from .mapview import (
    DECISION_LAYERS,
    LayerView,
    caveats_for,
    district_impact_ha,
    district_layer,
    impact_classes,
    is_decision_layer,
    load_view,
)

__all__ = ["LayerView", "load_view", "DECISION_LAYERS", "is_decision_layer", "district_layer",
           "render_figure", "figure_png", "write_mapsheets", "caveats_for", "impact_classes", "key_figures"]


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
    name = title_of(view)
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
    draw_map(ax, view, districts, fontsize=fs)
    north_arrow(ax, fs + 1)
    # Right panel: legend, district totals, sources, caveats.
    lax = fig.add_axes((0.68, 0.52, 0.31, 0.35))
    if view.kind == "class":
        legend(lax, view, fs + 1, title="Legend (classes present, area)")
    else:
        lax.set_axis_off()
        cax = fig.add_axes((0.69, 0.80, 0.28, 0.025))
        colourbar(fig, cax, view, fs)
    impact = district_impact_ha(view, districts)
    y = 0.50
    if impact:
        word = (impact_classes(view.product) or ((), ""))[1]
        fig.text(0.68, y, f"Area {word} by district", fontsize=fs + 1, fontweight="bold", va="top")
        names = {r["id"]: str(r.get("name", r["id"])) for _, r in districts.iterrows()}
        rows = sorted(impact.items(), key=lambda kv: -kv[1])[:8]
        for k, (i, ha) in enumerate(rows):
            fig.text(0.69, y - 0.03 - 0.022 * k, names.get(i, str(i)), fontsize=fs, va="top")
            fig.text(0.97, y - 0.03 - 0.022 * k, fmt_ha(ha), fontsize=fs, va="top", ha="right")
        total = sum(impact.values())
        y = y - 0.03 - 0.022 * len(rows)
        fig.text(0.69, y, "total", fontsize=fs, va="top", fontweight="bold")
        fig.text(0.97, y, fmt_ha(total), fontsize=fs, va="top", ha="right", fontweight="bold")
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
