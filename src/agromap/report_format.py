"""Numbers and tables for people: thousands separators, units in the header, names before codes.

Used by the HTML report (:mod:`agromap.report`); kept apart so the formatting rules live in one
place and are tested on their own.
"""

from __future__ import annotations

import html
import math
import re
from typing import Any

__all__ = ["fmt_number", "column_label", "is_additive", "table_html", "esc"]


def esc(value: Any) -> str:
    """HTML-escaped text (``None`` -> empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def _is_fraction(column: str) -> bool:
    c = column.lower()
    return c.endswith("fraction") or c.endswith("_frac")


def column_label(column: str) -> str:
    """Header text with its unit: ``flooded_rice_ha`` -> ``flooded rice (ha)``, fractions in %."""
    c = str(column)
    special = {"id": "id", "name": "name", "polygon_area_ha": "district area (ha)", "count": "pixels",
               "covered_fraction": "covered (%)"}
    if c in special:
        return special[c]
    m = re.match(r"(.*?)_?(adjusted_ci95|ci95)_ha$", c)
    if m:
        return f"{m.group(1).replace('_', ' ')} ± 95 % CI (ha)".strip()
    if c.endswith("_ha"):
        return c[:-3].replace("_", " ") + " (ha)"
    if _is_fraction(c):
        return c.replace("_", " ") + " (%)"
    return c.replace("_", " ")


def fmt_number(value: Any, column: str = "") -> str:
    """A number as people read it: ``12,345.6 ha``-style separators, no scientific notation.

    Hectares get one decimal (0 past 10,000), fractions are shown in percent with one decimal,
    integers with separators, other floats with three significant digits (but never as
    ``1.035e+04``).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    col = column.lower()
    if isinstance(value, float) and value.is_integer() and not col.endswith("_ha") and not _is_fraction(col) \
            and abs(value) < 1e15 and col in ("count", "n", "pixels", "dates", "exceedance_days", "rows"):
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if _is_fraction(col):
            return f"{100 * value:.1f}"
        if col.endswith("_ha"):
            return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:,.1f}"
        a = abs(value)
        if a == 0:
            return "0"
        if a >= 1000:
            return f"{value:,.0f}"
        digits = max(0, 2 - int(math.floor(math.log10(a))))
        return f"{value:,.{min(digits, 6)}f}"
    return esc(value)


def is_additive(column: str) -> bool:
    """Columns whose total over districts means something (areas and counts, not means or CIs)."""
    c = column.lower()
    if any(t in c for t in ("ci95", "_se", "fraction", "mean", "std", "var", "min", "max", "median", "limit")):
        return False
    return c.endswith("_ha") or c in ("count", "n", "pixels", "n_pixels", "rows", "exceedance_days")


def table_html(df: Any, *, max_rows: int = 20, caption: str | None = None) -> str:
    """An HTML table of a district table: labelled columns, names first, a totals row."""
    import pandas as pd

    df = df.drop(columns=[c for c in ("geometry",) if c in df.columns])
    first = [c for c in ("name", "id") if c in df.columns]
    df = df[first + [c for c in df.columns if c not in first]]
    head = "".join(f"<th>{esc(column_label(str(c)))}</th>" for c in df.columns)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, rec):
            v = v.item() if hasattr(v, "item") else v
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool) and str(col) != "id"
            cells.append(f"<td class=\"num\">{fmt_number(v, str(col))}</td>" if numeric
                         else f"<td>{esc(v) if not isinstance(v, float) else fmt_number(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    totals = []
    for i, col in enumerate(df.columns):
        if is_additive(str(col)) and pd.api.types.is_numeric_dtype(df[col]):
            total = df[col].sum(skipna=True)
            total = total.item() if hasattr(total, "item") else total
            totals.append(f"<td class=\"num\">{fmt_number(total, str(col))}</td>")
        else:
            totals.append("<td>total (all rows)</td>" if i == 0 else "<td></td>")
    note = f"showing the first {max_rows} of {len(df)} rows" if len(df) > max_rows else f"{len(df)} rows"
    cap = f"<caption>{esc(caption)} <span class=\"muted\">({esc(note)})</span></caption>" if caption else ""
    return (f"<div class=\"tablewrap\"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            f"<tr class=\"total\">{''.join(totals)}</tr></tbody></table></div>")
