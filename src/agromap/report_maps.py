"""The run report's maps: drawn from each layer's COG overview, kept in a cache beside the outputs.

A layer's map is drawn once per published file (the cache, under ``.agromap/report-maps``, is keyed
by the COG's and the district tables' checksums), either by the report itself or ahead of it, while
the run publishes its other layers (:func:`draw_map_ahead`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["cached_figure", "draw_map", "draw_map_ahead", "map_view", "map_width"]


def map_width(product: str) -> int:
    """Width in pixels of a layer's report map: the decision maps are drawn twice as wide."""
    from .mapview import is_decision_layer

    return 1100 if is_decision_layer(product) else 540


def draw_map(out: Path, key: str, cog: Path, width: int) -> tuple[bytes, Any]:
    """A layer's report map (PNG bytes, empty for a layer without valid pixels) and its view."""
    drawn, v = _render_map(out, key, cog, width)
    return (b"" if drawn is None else drawn.png()), v


def map_view(cog: str | os.PathLike[str]) -> Any:
    """What a layer's report map is drawn from: :func:`~agromap.mapview.load_view` of its overview."""
    from .mapview import load_view

    return load_view(cog, max_size=900)


def _render_map(out: Path, key: str, cog: Path, width: int, view: Any = None) -> tuple[Any, Any]:
    """A layer's report map drawn but not encoded (``None`` without valid pixels) and its view
    (``view``: already read by :func:`map_view`).
    """
    from .mapdraw import DrawnFigure, render_figure
    from .mapview import district_layer

    v = map_view(cog) if view is None else view
    if v.empty:  # listed by name under the maps, never shown: no map to draw
        return None, v
    return DrawnFigure(render_figure(v, district_layer(out, key), width_px=width)), v


def draw_map_ahead(out_dir: str | os.PathLike[str], key: str, entry: Mapping[str, Any],
                   cog: str | os.PathLike[str], encode_on: Callable[[Callable[[], None]], Any] | None = None,
                   view: Any = None) -> None:
    """Draw a published layer's report map into the report's map cache now, so that
    :func:`write_report` later finds it drawn: the run draws while its other layers are still being
    encoded, with the GIL free. ``key`` is the layer's output path as in the manifest, ``entry`` its
    manifest entry (``layer``, ``sha256``) and ``cog`` the file to read (the same bytes as the
    published file, which may still wait beside its final path). The cache key is the one the
    report computes, so a map drawn from other district tables than the report sees is redrawn.

    ``encode_on`` (e.g. an executor's ``submit``): hand it the map's PNG encoding and cache write,
    which need neither ``cog`` nor the GIL for most of their time, and return once it is drawn.
    ``view``: :func:`map_view` of ``cog``, read already (by a thread with time to spare).
    """
    out = Path(out_dir)
    product = str(entry.get("layer") or Path(key).stem)
    width = map_width(product)
    path = _figure_cache_path(out, key, entry, width)
    if encode_on is None or path is None:
        cached_figure(out, key, entry, width, lambda: draw_map(out, key, Path(cog), width))
        return
    if _read_figure_cache(path) is not None:
        return
    drawn, v = _render_map(out, key, Path(cog), width, view)
    encode_on(lambda: _write_figure_cache(path, drawn.png() if drawn is not None else b"", v))


#: Bump when the drawing of report maps changes, so cached maps are redrawn.
_FIGURE_VERSION = "1"


def cached_figure(out: Path, key: str, entry: Mapping[str, Any], width: int, draw: Any) -> tuple[bytes, Any]:
    """The map of a layer and its facts (classes present with areas), drawn once per published
    file: a rerun that reuses a layer reuses its map (kept under ``.agromap/report-maps``, keyed
    by the COG and district table checksums).
    """
    path = _figure_cache_path(out, key, entry, width)
    if path is None:
        return draw()
    cached = _read_figure_cache(path)
    if cached is not None:
        return cached
    png, view = draw()
    _write_figure_cache(path, png, view)
    return png, view


def _figure_cache_path(out: Path, key: str, entry: Mapping[str, Any], width: int) -> Path | None:
    """Where :func:`cached_figure` keeps a layer's map; ``None`` for an entry without checksum."""
    digest = entry.get("sha256")
    if not digest:
        return None
    h = hashlib.sha256(f"{_FIGURE_VERSION}|{key}|{digest}|{width}".encode())
    for t in sorted((out / Path(key).parent / "tables").glob("*_by_district.geojson")):
        h.update(t.read_bytes())
    return out / ".agromap" / "report-maps" / f"{h.hexdigest()[:32]}.cache"


def _read_figure_cache(path: Path) -> tuple[bytes, Any] | None:
    from types import SimpleNamespace

    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        view = SimpleNamespace(kind=d["kind"], classes=[tuple(c) for c in d["classes"]],
                               valid_fraction=d["valid_fraction"], empty=d["empty"])
        return base64.b64decode(d["png"]), view
    except (ValueError, KeyError):  # a damaged cache entry is redrawn
        return None


def _write_figure_cache(path: Path, png: bytes, view: Any) -> None:
    from .io.files import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    # Not flushed to disk (durable=False): an entry a crash leaves empty reads as damaged and is drawn
    # again, and the flushes of the last map's entry would be waited for by the report.
    atomic_write_text(path, json.dumps({"png": base64.b64encode(png).decode("ascii"), "kind": view.kind,
                                        "classes": [list(c) for c in view.classes],
                                        "valid_fraction": view.valid_fraction, "empty": view.empty}), durable=False)
