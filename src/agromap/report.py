"""The HTML run report: one self-contained page per run (maps, district tables, accuracy, manifest).

The page needs no network and no other file: quicklook PNGs are inlined as base64 ``data:`` URIs,
the CSS is inline, there are no external scripts or fonts, and a Content-Security-Policy forbids
any fetch (``default-src 'none'``; images only from ``data:``; the one inline script allowed by its
hash). Every text taken from the manifest, tables or paths is escaped with :func:`html.escape`.
The file is written atomically.

The small inline script only marks ``<body data-images-loaded="k/n">`` once the page has loaded,
for browser tests and monitoring; the page is complete without it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .report_format import fmt_number, table_html
from .report_maps import cached_figure, draw_map, draw_map_ahead, map_width

__all__ = ["write_report", "render_report", "run_summary_html", "draw_map_ahead", "AQI_CAVEAT"]

#: Shown wherever an AQI or PM2.5 layer appears (docs/science/air_quality.md#satellite-caveat).
AQI_CAVEAT = ("AQI and PM2.5 values derived from satellite data are estimates: a satellite-estimated PM2.5 "
              "sub-index is one estimated pollutant, not a CPCB or EPA AQI, which needs at least three measured "
              "pollutants. Do not use them as official air-quality readings.")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1160px;
padding:1rem 1.5rem;color:#1d1d1d;background:#fff;line-height:1.4}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}h2{font-size:1.3rem;border-bottom:2px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}h4{font-size:.98rem;margin:1rem 0 .2rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.82rem}th,td{border:1px solid #ccc;padding:.2rem .4rem;
text-align:left;vertical-align:top}th{background:#f2f2f2;font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}caption{text-align:left;font-weight:600;padding:.2rem 0}
.tablewrap{max-width:100%;overflow-x:auto}tr.total td{font-weight:bold;background:#fafafa}
.status-success{color:#1a7f37;font-weight:bold}.status-other{color:#b42318;font-weight:bold}
.maps{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:1px solid #ddd;padding:.4rem;max-width:100%;
box-sizing:border-box}figure.decision{flex:1 1 100%}figure.layer{flex:0 1 calc(50% - .5rem)}
figure img{display:block;max-width:100%;height:auto}
figcaption{font-size:.85rem;margin-top:.3rem}.legend{list-style:none;padding:0;margin:.3rem 0}
.legend li{display:flex;align-items:center;gap:.4rem;margin:.1rem 0}table.classes{margin:.3rem 0}
.swatch{display:inline-block;width:.9rem;height:.9rem;border:1px solid #333;vertical-align:middle;flex:none}
.ramp{height:.9rem;width:260px;max-width:100%;border:1px solid #333}.ramp-labels{display:flex;
justify-content:space-between;width:262px;max-width:100%;font-size:.8rem}
.caveat{border-left:4px solid #d97706;background:#fff7e6;padding:.5rem .8rem;margin:.6rem 0}
.caveat.small{font-size:.8rem;padding:.3rem .6rem}
.keyfigs{background:#f3f7fb;border:1px solid #c9d8e8;padding:.5rem 1rem .5rem 2rem;margin:.5rem 0 1rem}
.badge{display:inline-block;background:#d97706;color:#fff;border-radius:3px;padding:0 .35rem;font-size:.75rem}
.warn{color:#92400e}.muted{color:#666;font-size:.85rem}code{font-size:.85em;overflow-wrap:anywhere}
details summary{cursor:pointer;color:#1f3b5a}
"""
_SCRIPT = ("window.addEventListener('load',function(){var a=Array.prototype.slice.call(document.images);"
           "var ok=a.filter(function(i){return i.complete&&i.naturalWidth>0;}).length;"
           "document.body.setAttribute('data-images-loaded',ok+'/'+a.length);});")
_MIME = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _short(digest: Any, n: int = 12) -> str:
    s = str(digest or "")
    return s[:n] + "…" if len(s) > n else s


def _num(value: Any, column: str = "") -> str:
    return fmt_number(value, column)


def _is_aqi(name: Any) -> bool:
    s = str(name).lower()
    return "aqi" in s or "pm25" in s


def _data_uri(path: Path) -> tuple[str, str]:
    data = path.read_bytes()
    mime = next((m for magic, m in _MIME.items() if data.startswith(magic)), None)
    if mime is None:
        raise ValueError(f"{path} is not a PNG, JPEG or WebP image; quicklooks must be image files.")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", mime


def _dl(pairs: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{rows}</table>"


# ------------------------------------------------------------------------------------------ sections
def _summary(m: Mapping[str, Any]) -> str:
    status = str(m.get("status", "unknown"))
    cls = "status-success" if status == "success" else "status-other"
    timings = m.get("timings_s") or {}
    cluster = m.get("cluster") or {}
    pairs = [
        ("run id", f"<code>{_e(m.get('run_id'))}</code>"),
        ("status", f"<span class=\"{cls}\">{_e(status)}</span>"),
        ("agromap version", _e(m.get("agromap_version"))),
        ("config hash (sha256)", f"<code>{_e(_short(m.get('config_sha256'), 16))}</code>"),
        ("started / finished (UTC)", f"{_e(m.get('started'))} / {_e(m.get('finished'))}"),
        ("timings (s)", _e(", ".join(f"{k} {v}" for k, v in timings.items())) if isinstance(timings, Mapping)
         else _e(timings)),
        ("cluster", _e(", ".join(f"{k}: {v}" for k, v in cluster.items())) if isinstance(cluster, Mapping)
         else _e(cluster)),
    ]
    warnings = list(dict.fromkeys(str(w) for w in m.get("warnings") or []))
    warn_html = ("<details><summary>show</summary><ul>" + "".join(f"<li class=\"warn\">{_e(w)}</li>" for w in warnings)
                 + "</ul></details>") if warnings else "<span class=\"muted\">none</span>"
    pairs.append((f"warnings ({len(warnings)})", warn_html))
    return "<section id=\"summary\"><h2>Run summary</h2>" + _dl(pairs) + "</section>"


def _legend_html(legend: Mapping[str, Any] | None) -> str:
    if not legend:
        return ""
    if legend.get("type") == "classes":
        items = "".join(
            f"<li><span class=\"swatch\" style=\"background:{_e(_colour(e['color']))}\"></span>"
            f"{_e(e['value'])} {_e(e['name'])} <span class=\"muted\">{_e(_colour(e['color']))}</span></li>"
            for e in legend.get("entries", []))
        return f"<ul class=\"legend\">{items}</ul>"
    stops = ",".join(f"{_colour(s['color'])} {100 * float(s['position']):.1f}%" for s in legend.get("stops", []))
    units = legend.get("units")
    unit_txt = f" {units}" if units not in (None, "", "1") else ""
    return (f"<div class=\"ramp\" style=\"background:linear-gradient(to right,{_e(stops)})\"></div>"
            f"<div class=\"ramp-labels\"><span>{_e(_fmt(legend.get('min')))}</span>"
            f"<span>{_e(_fmt(legend.get('max')))}{_e(unit_txt)}</span></div>"
            f"<div class=\"muted\">fixed range and palette ({_e(legend.get('palette'))}), not stretched per scene</div>")


def _colour(c: Any) -> str:
    s = str(c).lstrip("#")
    return f"#{s}" if len(s) == 6 and not s.strip("0123456789abcdefABCDEF") else "#808080"


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def _legend_from_cog(cog: Path) -> dict[str, Any] | None:
    from .quicklook import legend_of, product_style, read_display

    try:
        r = read_display(cog, max_size=32)
    except Exception:  # a missing or unreadable COG only costs the legend
        return None
    style = None if r["kind"] == "class" else product_style(r["product"], r["units"], r["tags"])[0]
    return legend_of(r, style)


class _Panel:
    """One map of the report: the rendered figure (or the quicklook), its legend and its facts."""

    def __init__(self, key: str, area: str, product: str, html_: str, *, decision: bool, empty: bool,
                 view: Any = None) -> None:
        self.key, self.area, self.product, self.html, self.decision, self.empty = key, area, product, html_, \
            decision, empty
        self.view = view


def _class_table(view: Any) -> str:
    rows = "".join(f"<tr><td><span class=\"swatch\" style=\"background:#{_e(c)}\"></span> {_e(n)}</td>"
                   f"<td class=\"num\">{fmt_number(float(ha), '_ha')}</td></tr>" for _v, n, c, ha in view.classes)
    return (f"<table class=\"classes\"><thead><tr><th>class present</th><th>area (ha)</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _panel(out: Path, key: str, value: Any, entry: Mapping[str, Any]) -> _Panel:
    from .mapview import caveats_for, figure_render_ok, is_decision_layer

    area = str(entry.get("area") or (Path(key).parts[0] if len(Path(key).parts) > 1 else "outputs"))
    product = str((value.get("product") if isinstance(value, Mapping) else None) or entry.get("layer")
                  or Path(key).stem)
    decision = is_decision_layer(product)
    valid = entry.get("valid_fraction")
    badge = " <span class=\"badge\">satellite estimate</span>" if _is_aqi(product) or _is_aqi(key) else ""
    cog = out / key
    view = None
    w: int | None
    h: int | None
    if figure_render_ok(cog):
        width = map_width(product)
        png, view = cached_figure(out, key, entry, width, lambda: draw_map(out, key, cog, width))
        w = h = None
        if png:
            from PIL import Image

            with Image.open(io.BytesIO(png)) as im:
                w, h = im.size
        uri = f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}"
        legend = _class_table(view) if view.kind == "class" and view.classes else ""
        present = json.dumps([n for _v, n, _c, _h in view.classes]) if view.kind == "class" else "[]"
        empty = view.empty
        cav = "".join(f"<p class=\"caveat small\">{_e(c)}</p>" for c in caveats_for(product)
                      if not _is_aqi(product))
    else:
        png_path = Path(value["path"] if isinstance(value, Mapping) else value)
        png_path = png_path if png_path.is_absolute() else out / png_path
        uri, _mime = _data_uri(png_path)
        leg = value.get("legend") if isinstance(value, Mapping) else _legend_from_cog(cog)
        w = value.get("width") if isinstance(value, Mapping) else None
        h = value.get("height") if isinstance(value, Mapping) else None
        legend = _legend_html(leg)
        present = json.dumps([e["name"] for e in (leg or {}).get("entries", [])])
        empty = valid == 0.0
        cav = ""
    size = f" width=\"{int(w)}\" height=\"{int(h)}\"" if w and h else ""
    html_ = (f"<figure class=\"{'decision' if decision else 'layer'}\" data-output=\"{_e(key)}\" "
             f"data-product=\"{_e(product)}\" data-classes=\"{_e(present)}\">"
             f"<img src=\"{uri}\" alt=\"map of {_e(product)}\"{size}>"
             f"<figcaption><strong>{_e(product.replace('_', ' '))}</strong>{badge} <code>{_e(key)}</code>"
             + (f" · valid {100 * float(valid):.1f} %" if valid is not None else "")
             + legend + cav + "</figcaption></figure>")
    return _Panel(key, area, product, html_, decision=decision, empty=empty, view=view)


def _area_of_table(t: Mapping[str, Any]) -> str:
    files = [str(f) for f in t.get("files") or []]
    ref = str(t.get("layer") or (files[0] if files else ""))
    parts = Path(ref if "/" in ref else (files[0] if files else ref)).parts
    return parts[0] if len(parts) > 1 else "outputs"


def _table_title(layer: str) -> str:
    stem = Path(str(layer)).stem.replace("_", " ")
    return f"{stem} by district"


def _key_figures(area: str, panels: list[_Panel], accuracy: list[Mapping[str, Any]]) -> str:
    """One line per decision layer of an area: the totals a desk reports."""
    items = []
    for p in panels:
        v = p.view
        if v is None or v.kind != "class" or not v.classes or not p.decision:
            continue
        from .mapview import impact_classes

        imp = impact_classes(p.product)
        if imp is not None:
            total = sum(ha for val, _n, _c, ha in v.classes if val in imp[0])
            parts = ", ".join(f"{_e(n)} {fmt_number(float(ha), '_ha')} ha" for val, n, _c, ha in v.classes
                              if val in imp[0])
            items.append(f"<li><strong>{_e(p.product.replace('_', ' '))}</strong>: {imp[1]} "
                         f"<strong>{fmt_number(float(total), '_ha')} ha</strong>" + (f" ({parts})" if parts else "")
                         + "</li>")
        elif _is_aqi(p.product):
            top = max(v.classes, key=lambda c: c[3])
            items.append(f"<li><strong>{_e(p.product.replace('_', ' '))}</strong>: mostly "
                         f"<strong>{_e(top[1])}</strong> ({fmt_number(float(top[3]), '_ha')} ha) "
                         "<span class=\"badge\">satellite estimate</span></li>")
    for rep in accuracy:
        if str(rep.get("area", "")) != area:
            continue
        names = list(rep.get("classes") or [])
        if "rice" in names:
            i = names.index("rice")
            a, ci = (rep.get("area_ha") or [None] * (i + 1))[i], (rep.get("area_ci95_ha") or [None] * (i + 1))[i]
            if a is not None:
                items.append(f"<li><strong>rice area</strong> (sample-adjusted): <strong>{fmt_number(float(a), '_ha')}"
                             f" ± {fmt_number(float(ci or 0.0), '_ha')} ha</strong> (95 % CI), overall accuracy "
                             f"{_e(_ci(rep.get('overall_accuracy'), rep.get('overall_accuracy_ci95')))}</li>")
    return f"<ul class=\"keyfigs\">{''.join(items)}</ul>" if items else ""


def _area_rank(panels: list[_Panel]) -> tuple[int, float]:
    decisions = sum(1 for p in panels if p.decision and not p.empty)
    shown = [p for p in panels if not p.empty]
    return (-decisions, -len(shown))


def decision_rank(product: str) -> int:
    from .mapview import decision_rank as rank

    return rank(product)


def _areas(out: Path, quicklooks: Mapping[str, Any], tables: Mapping[str, Any] | None, m: Mapping[str, Any],
           max_rows: int, accuracy: list[Mapping[str, Any]]) -> str:
    by_path = {str(o.get("path")): o for o in m.get("outputs") or []}
    panels: dict[str, list[_Panel]] = {}
    for key, value in quicklooks.items():
        p = _panel(out, str(key), value, by_path.get(str(key), {}))
        panels.setdefault(p.area, []).append(p)
    area_tables: dict[str, list[tuple[str, Any]]] = {}
    if tables is None:
        for t in m.get("tables") or []:
            for f in t.get("files", []):
                if str(f).endswith(".csv") and (out / f).is_file():
                    area_tables.setdefault(_area_of_table({**t, "files": [f]}), []).append(
                        (_table_title(str(t.get("layer", f))), Path(f)))
    else:
        for name, t in tables.items():
            area_tables.setdefault("tables", []).append((str(name), t))
    areas = sorted(set(panels) | set(area_tables), key=lambda a: (*_area_rank(panels.get(a, [])), a))
    body = []
    for area in areas:
        ps = panels.get(area, [])
        shown = sorted((p for p in ps if not p.empty), key=lambda p: (decision_rank(p.product), p.key))
        hidden = [p for p in ps if p.empty]
        key = _key_figures(area, ps, accuracy)
        maps = "".join(p.html for p in shown)
        hid = (f"<p class=\"muted\">Not shown, no valid pixel (or under 0.1 %): {_e(', '.join(Path(p.key).stem for p in hidden))}</p>"
               if hidden else "")
        tabs = "".join(_table_html(name, t, out, max_rows) for name, t in area_tables.get(area, []))
        heading = "Tables per district" if area == "tables" and not ps else f"Area: {area}"
        body.append(f"<section class=\"area\" id=\"area-{_e(area)}\"><h2>{_e(heading)}</h2>{key}"
                    f"<div class=\"maps\">{maps}</div>{hid}"
                    + (f"<h3>Tables per district</h3>{tabs}" if tabs and heading != "Tables per district" else tabs)
                    + "</section>")
    return "".join(body)


def _table_html(name: str, table: Any, base: Path, max_rows: int) -> str:
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        path = Path(table)
        table = pd.read_csv(path if path.is_absolute() else base / path)
    badge = " <span class=\"badge\">satellite estimate</span>" if _is_aqi(name) else ""
    from .quicklook import DISPLAY_UNITS

    unit = next((v for k, v in DISPLAY_UNITS.items() if name.replace(" ", "_").startswith(k)), None)
    if unit is not None:  # trace-gas columns in the units people read them in (the CSV keeps mol m-2)
        cols = [c for c in ("mean", "max", "min", "median", "max_of_means") if c in table.columns]
        table = table.assign(**{c: table[c] * unit[0] for c in cols}).rename(
            columns={c: f"{c} ({unit[1]})" for c in cols})
    return (f"<h4>{_e(name)}{badge}</h4><p class=\"muted\">totals sum the area and count columns over all rows; "
            "fractions in percent</p>" + table_html(table, max_rows=max_rows))


def _ci(value: Any, ci: Any, pct: bool = True) -> str:
    if value is None:
        return "–"
    scale = 100.0 if pct else 1.0
    fmt = "{:.1f}" if pct else "{:,.1f}"
    core = fmt.format(float(value) * scale) + (" %" if pct else "")
    return core if ci is None else f"{core} ± {fmt.format(float(ci) * scale)}"


def _accuracy_one(title: str, rep: Mapping[str, Any]) -> str:
    names = rep.get("classes") or []
    kappa = (rep.get("sample_metrics") or {}).get("kappa", rep.get("kappa"))
    head = (f"<h3>{_e(title)}</h3><p>Overall accuracy <strong>{_e(_ci(rep.get('overall_accuracy'), rep.get('overall_accuracy_ci95')))}"
            f"</strong> (95 % CI, Olofsson et al. 2014 estimator)"
            + (f"; kappa {float(kappa):.3f} (unweighted sample statistic)" if kappa is not None else "") + "</p>")
    if not names:
        return head
    counts = rep.get("counts") or []

    def col(key: str, i: int) -> Any:
        vals = rep.get(key) or []
        return vals[i] if i < len(vals) else None

    rows = []
    for i, name in enumerate(names):
        n = sum(counts[i]) if i < len(counts) and isinstance(counts[i], list) else None
        rows.append(
            f"<tr><td>{_e(name)}</td><td class=\"num\">{_num(n)}</td>"
            f"<td class=\"num\">{_e(_ci(col('users_accuracy', i), col('users_accuracy_ci95', i)))}</td>"
            f"<td class=\"num\">{_e(_ci(col('producers_accuracy', i), col('producers_accuracy_ci95', i)))}</td>"
            f"<td class=\"num\">{_num(col('mapped_area_ha', i), '_ha')}</td>"
            f"<td class=\"num\">{_e(_ci(col('area_ha', i), col('area_ci95_ha', i), pct=False))}</td></tr>")
    return head + ("<table><thead><tr><th>class</th><th>n samples</th><th>user's accuracy ± 95 % CI</th>"
                   "<th>producer's accuracy ± 95 % CI</th><th>mapped area (ha)</th>"
                   "<th>adjusted area (ha) ± 95 % CI</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _accuracy_items(accuracy: Any) -> list[tuple[str, Mapping[str, Any]]]:
    if not accuracy:
        return []
    if isinstance(accuracy, Mapping) and "overall_accuracy" in accuracy:
        items = [(str(accuracy.get("layer") or accuracy.get("area") or "map"), accuracy)]
    elif isinstance(accuracy, Mapping):
        items = [(str(k), v) for k, v in accuracy.items()]
    else:
        items = [(" / ".join(str(r[k]) for k in ("area", "layer") if r.get(k)) or f"map {i + 1}", r)
                 for i, r in enumerate(accuracy)]
    return items


def _accuracy(accuracy: Any) -> str:
    items = _accuracy_items(accuracy)
    if not items:
        return ""
    body = "".join(_accuracy_one(t, r) for t, r in items)
    return f"<section id=\"accuracy\"><h2>Accuracy and area estimates</h2>{body}</section>"


def _manifest(m: Mapping[str, Any]) -> str:
    inputs = m.get("inputs") or []
    rows = []
    for inp in inputs:
        files = inp.get("files") or ([inp] if "sha256" in inp else [])
        cells = "<br>".join(f"<code>{_e(f.get('path', ''))}</code> {_num(f.get('size'))} B "
                            f"sha256 <code>{_e(_short(f.get('sha256')))}</code>" for f in files)
        rows.append(f"<tr><td>{_e(inp.get('area'))}</td><td>{_e(inp.get('scene_id') or inp.get('path'))}</td>"
                    f"<td>{_e(inp.get('datetime'))}</td><td>{cells}</td></tr>")
    inputs_html = ("<h3>Inputs</h3><table><thead><tr><th>area</th><th>scene</th><th>date</th><th>files</th></tr>"
                   "</thead><tbody>" + "".join(rows) + "</tbody></table>") if rows else ""
    rows = []
    for o in m.get("outputs") or []:
        vf = o.get("valid_fraction")
        rows.append(
            f"<tr><td>{_e(o.get('area'))}</td><td>{_e(o.get('layer'))}</td><td><code>{_e(o.get('path'))}</code></td>"
            f"<td>{_e(o.get('dtype'))}</td><td class=\"num\">{_num(o.get('size'))}</td>"
            f"<td class=\"num\">{'–' if vf is None else f'{100 * float(vf):.1f} %'}</td>"
            f"<td><code>{_e(_short(o.get('sha256')))}</code></td><td>{'reused' if o.get('reused') else 'new'}</td></tr>")
    outputs_html = ("<h3>Outputs</h3><table><thead><tr><th>area</th><th>layer</th><th>path</th><th>dtype</th>"
                    "<th>bytes</th><th>valid</th><th>sha256</th><th></th></tr></thead><tbody>" + "".join(rows)
                    + "</tbody></table>") if rows else ""
    versions = m.get("versions") or {}
    ver = ("<h3>Software</h3><p class=\"muted\">" + _e(", ".join(f"{k} {v}" for k, v in versions.items()))
           + "</p>") if isinstance(versions, Mapping) and versions else ""
    return (f"<section id=\"manifest\"><h2>Manifest summary</h2><details><summary>Inputs ({len(inputs)}), "
            f"outputs ({len(m.get('outputs') or [])}) and software</summary>{inputs_html}{outputs_html}{ver}"
            "</details></section>")


# ------------------------------------------------------------------------------------------ public
def render_report(manifest: Mapping[str, Any], *, quicklooks: Mapping[str, Any] | None = None,
                  tables: Mapping[str, Any] | None = None, accuracy: Any = None,
                  base_dir: str | os.PathLike[str] = ".", title: str | None = None, max_rows: int = 20) -> str:
    """The report as an HTML string; see :func:`write_report` for the arguments."""
    out = Path(base_dir)
    m = manifest
    names = [str(o.get("layer", "")) + str(o.get("path", "")) for o in m.get("outputs") or []]
    names += [str(k) for k in (quicklooks or {})] + [str(k) for k in (tables or {})]
    caveat = (f"<div class=\"caveat\" id=\"aqi-caveat\"><strong>Estimates.</strong> {_e(AQI_CAVEAT)}</div>"
              if any(_is_aqi(n) for n in names) else "")
    acc = accuracy if accuracy is not None else m.get("accuracy")
    heading = title or f"agromap run report: {m.get('config', {}).get('name') or m.get('run_id', '')}"
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'"
    acc_list = _accuracy_items(acc)
    body = (caveat + _areas(out, quicklooks or {}, tables, m, max_rows, [r for _t, r in acc_list])
            + _accuracy(acc) + _summary(m) + _manifest(m))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(csp)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head>\n<body>"
        f"<h1>{_e(heading)}</h1>{body}"
        f"<footer class=\"muted\"><p>Written by agromap {_e(m.get('agromap_version'))}; self-contained (no "
        "network access needed).</p></footer>"
        f"<script>{_SCRIPT}</script></body></html>\n")


def write_report(out_dir: str | os.PathLike[str], manifest: Mapping[str, Any], *,
                 quicklooks: Mapping[str, Any] | None = None, tables: Mapping[str, Any] | None = None,
                 accuracy: Any = None, path: str | os.PathLike[str] = "report.html", title: str | None = None,
                 max_rows: int = 20) -> Path:
    """Write the self-contained HTML report of a run, atomically.

    Parameters
    ----------
    out_dir : path
        The run's output directory; relative paths below are relative to it.
    manifest : dict
        The run manifest (:func:`agromap.pipeline.manifest.build_manifest`): run id, status,
        version, config hash, timings, cluster, warnings, inputs (checksums are shortened) and
        outputs (with valid fraction).
    quicklooks : dict, optional
        Output path (as in ``manifest["outputs"][i]["path"]``) -> PNG path, or the dict returned
        by :func:`agromap.quicklook.write_quicklook` (its legend is used). For a plain PNG path
        the legend is read from the COG at ``out_dir / output path``. Images are inlined.
    tables : dict, optional
        Name -> pandas DataFrame or CSV path; the first ``max_rows`` rows and a totals row of the
        area (``*_ha``) and count columns. Default: the CSV district tables listed in
        ``manifest["tables"]``.
    accuracy : dict or list, optional
        One :func:`agromap.rice.accuracy.accuracy_report` dict, a list of them (as in
        ``manifest["accuracy"]``) or name -> dict; default ``manifest["accuracy"]``.
    path : path
        Report file name, relative to ``out_dir``.
    title : str, optional
    max_rows : int

    Returns
    -------
    pathlib.Path
        The report path.
    """
    from .io.files import atomic_write_text

    out = Path(out_dir)
    target = Path(path) if Path(path).is_absolute() else out / path
    text = render_report(manifest, quicklooks=quicklooks, tables=tables, accuracy=accuracy, base_dir=out,
                         title=title, max_rows=max_rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, text)
    return target


def run_summary_html(manifest: Mapping[str, Any], thumbnail: str | os.PathLike[str] | None = None) -> str:
    """A compact HTML fragment (summary table and an optional inlined thumbnail) for ``_repr_html_``."""
    thumb = ""
    if thumbnail is not None:
        uri, _ = _data_uri(Path(thumbnail))
        thumb = f"<img src=\"{uri}\" alt=\"quicklook\" style=\"max-width:300px\">"
    outputs = manifest.get("outputs") or []
    return (f"<div><strong>agromap run</strong> {_summary(manifest)}"
            f"<p>{len(outputs)} output(s)</p>{thumb}</div>")
