"""Result rows, targets, the printed table and the JSON file.

A :class:`Row` is one line of the table: a measured value, optionally a target (``<=`` or ``>=``),
and the status derived from both: ``ok``, ``MISSED`` (target not met), ``-`` (no target: context),
``SKIPPED`` or ``ERROR`` (the measurement did not run; the detail says why).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Row", "format_table", "write_json", "machine_info"]


@dataclass(frozen=True)
class Row:
    """One measured figure and its target."""

    section: str
    name: str
    value: float | None
    unit: str
    op: str | None = None
    """``<=`` or ``>=``: how ``value`` must compare with ``target``; ``None`` = context only."""
    target: float | None = None
    detail: str = ""
    error: str | None = None
    """Why there is no value (``SKIPPED: ...`` or the error), shown in the status column."""

    @property
    def status(self) -> str:
        if self.error is not None:
            return "SKIPPED" if self.error.startswith("SKIPPED") else "ERROR"
        if self.op is None or self.target is None or self.value is None:
            return "-"
        met = self.value <= self.target if self.op == "<=" else self.value >= self.target
        return "ok" if met else "MISSED"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("GiB", "MiB", "MiB/run", "s/10k"):
        return f"{value:.2f} {unit}"
    if unit == "%":
        return f"{value:.3f} %"
    if unit == "s":
        return f"{value:.1f} s"
    return f"{value:g} {unit}".strip()


def format_table(rows: list[Row], notes: dict[str, str] | None = None) -> str:
    """A plain-text table, one line per row, grouped by section (``notes`` follow section titles)."""
    head = ("measurement", "value", "target", "status", "detail")
    cells = [(r.name, _fmt(r.value, r.unit),
              f"{r.op} {_fmt(r.target, r.unit)}" if r.op and r.target is not None else "",
              r.status, r.error or r.detail) for r in rows]  # fmt: skip
    widths = [max(len(head[i]), *(len(c[i]) for c in cells)) for i in range(4)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head[:4], widths, strict=True)) + "  " + head[4]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    section = None
    for row, cell in zip(rows, cells, strict=True):
        if row.section != section:
            section = row.section
            note = (notes or {}).get(section)
            lines.append(f"[{section}]" + (f"  ({note})" if note else ""))
        lines.append("  ".join(c.ljust(w) for c, w in zip(cell[:4], widths, strict=True)) + "  " + cell[4])
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    """Cores, memory, load and library versions: what the ratios were measured on."""
    import psutil

    info: dict[str, Any] = {"cpus": os.cpu_count(), "memory_bytes": psutil.virtual_memory().total,
                            "python": platform.python_version(), "platform": platform.platform()}
    try:
        from agromap._versions import versions

        info["versions"] = versions()
    except Exception as exc:  # the table matters more than the version list
        info["versions"] = {"error": repr(exc)}
    return info


def write_json(directory: Path, payload: dict[str, Any]) -> Path:
    """``directory/<UTC timestamp>.json`` (``-2``, ``-3``, ... when a run finished in the same second),
    written atomically; returns the path.
    """
    from agromap.io.files import write_new_file

    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return write_new_file(directory, stamp, ".json", json.dumps(payload, indent=2, default=str).encode())
