"""``agromap serve RUN_DIR``: a local web map of a finished run.

A small HTTP server (standard library, one thread per request) in front of rio-tiler:

- ``/`` the map page (Leaflet, shipped inside the package: nothing comes from the internet);
- ``/api/layers`` the run's STAC catalog as a layer list: area, product, date, legend, bounds;
- ``/tiles/<layer>/<z>/<x>/<y>.png`` Web Mercator tiles read from the COG (its overviews) by
  rio-tiler, coloured with the same styles as the report and the quicklooks;
- ``/api/point/<layer>?lon=&lat=`` the pixel's value (display units) and class name;
- ``/api/table/<layer>`` the layer's district table; ``/api/districts/<area>`` their outlines.

Only layers listed in the catalog can be read; paths never come from the request.
"""

from __future__ import annotations

import json
import math
import mimetypes
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from ..errors import InputError

__all__ = ["RunLayers", "make_server", "STATIC"]

STATIC = Path(__file__).parent / "static"
_TILE = 256
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'")


class RunLayers:
    """The layers of a run folder, read from its STAC catalog, with their display styles."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run = Path(run_dir).resolve()
        catalog = self.run / "catalog.json"
        if not catalog.is_file():
            raise InputError(f"{self.run} has no catalog.json; give the output folder of a finished 'agromap run'.")
        # Import rio-tiler once here: a first import from several request threads at once races.
        import rio_tiler.errors  # noqa: F401
        import rio_tiler.io  # noqa: F401

        self.layers: dict[str, dict[str, Any]] = {}
        try:
            self._load(catalog)
        except InputError:
            raise
        except Exception as exc:  # a damaged catalog or item: pystac raises JSON, key and STAC errors
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{catalog}: unreadable STAC catalog or item ({msg}); run 'agromap run' again on this "
                             "folder to rewrite it.") from None

    def _item_files(self, catalog: Path) -> list[Path]:
        """Item files reached from the catalog by relative child/item links, inside the run folder.

        Followed as file paths, not URLs: pystac would cut a folder named ``run#1`` at the ``#``.
        """
        found: list[Path] = []
        seen: set[Path] = {catalog.resolve()}
        todo = [catalog]
        while todo:
            doc = todo.pop()
            for link in json.loads(doc.read_bytes()).get("links") or []:
                rel, href = link.get("rel"), str(link.get("href", ""))
                if rel not in ("child", "item") or "://" in href:
                    continue
                target = (doc.parent / href).resolve()
                if target in seen or self.run not in target.parents or not target.is_file():
                    continue
                seen.add(target)
                (found if rel == "item" else todo).append(target)
        return found

    def _load(self, catalog: Path) -> None:
        import pystac

        from ..mapview import is_decision_layer, load_view

        items = [(pystac.Item.from_dict(json.loads(p.read_bytes()), preserve_dict=False), p)
                 for p in self._item_files(catalog)]
        for item, item_path in sorted(items, key=lambda i: i[0].id):
            asset = next((a for a in item.assets.values() if "data" in (a.roles or []) or
                          (a.media_type or "").startswith("image/tiff")), None)
            if asset is None:
                continue
            cog = (item_path.parent / asset.href).resolve()
            if not cog.is_file() or self.run not in cog.parents:
                continue
            rel = cog.relative_to(self.run)
            view = load_view(cog, max_size=512)
            product = str(item.properties.get("agromap:product") or view.product)
            entry: dict[str, Any] = {
                "id": item.id, "area": rel.parts[0] if len(rel.parts) > 1 else "", "path": str(rel),
                "product": product, "name": rel.stem, "kind": view.kind,
                "datetime": (item.datetime.isoformat()[:10] if item.datetime else
                             str(item.properties.get("start_datetime", ""))[:10]),
                "decision": is_decision_layer(product), "valid_fraction": view.valid_fraction,
                "bounds": list(item.bbox or []), "units": view.units,
            }
            if view.kind == "class":
                entry["legend"] = [{"value": v, "name": n, "color": f"#{c}", "ha": round(ha, 2)}
                                   for v, n, c, ha in view.classes]
                from ..quicklook import read_display, resolve_class_colours

                r = read_display(cog, max_size=8)
                colours = resolve_class_colours(r)
                entry["_colours"] = colours
                entry["_names"] = {v: n for v, n, _c in r["classes"]}
            else:
                from ..quicklook import PALETTES

                s = view.style
                entry["legend"] = {"min": s.vmin, "max": s.vmax, "units": view.units,
                                   "stops": [[p, f"#{c}"] for p, c in PALETTES[s.palette]],
                                   "stretch": "data" if view.style_source == "data" else "fixed"}
                entry["_style"] = s
            entry["_cog"] = cog
            table = self.run / entry["area"] / "tables" / f"{rel.stem}_by_district.csv"
            entry["table"] = table.is_file()
            self.layers[item.id] = entry

    def public(self) -> list[dict[str, Any]]:
        """Layer list for the page: by area, its decision layers first, then product and date."""
        rows = [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.layers.values()]
        return sorted(rows, key=lambda e: (e["area"], not e["decision"], e["product"], e["datetime"]))

    # ---------------------------------------------------------------------------------- reads
    def tile(self, layer_id: str, z: int, x: int, y: int) -> bytes:
        """PNG tile of a layer; transparent outside the layer."""
        from rio_tiler.errors import TileOutsideBounds
        from rio_tiler.io import Reader

        from ..quicklook import class_rgba, continuous_rgba, display_values, png_bytes

        e = self.layers[layer_id]
        try:
            with Reader(str(e["_cog"])) as src:
                resampling = "nearest" if e["kind"] == "class" else "bilinear"
                img = src.tile(x, y, z, tilesize=_TILE, indexes=1, resampling_method=resampling,
                               reproject_method="nearest" if e["kind"] == "class" else "bilinear")
                scale, offset = float(src.dataset.scales[0]), float(src.dataset.offsets[0])
        except TileOutsideBounds:
            return png_bytes(np.zeros((_TILE, _TILE, 4), np.uint8))
        values = img.array.data[0]
        invalid = np.ma.getmaskarray(img.array)[0]
        if e["kind"] == "class":
            rgba = class_rgba(values, e["_colours"], invalid)
        else:
            shown, _u = display_values(e["product"], e["units"], values.astype(np.float64) * scale + offset)
            rgba = continuous_rgba(shown, e["_style"], invalid)
        return png_bytes(rgba)

    def point(self, layer_id: str, lon: float, lat: float) -> dict[str, Any]:
        """Value of the pixel at lon/lat: display units, class name; ``value`` None on nodata."""
        from rio_tiler.errors import PointOutsideBounds
        from rio_tiler.io import Reader

        from ..quicklook import display_values

        e = self.layers[layer_id]
        out: dict[str, Any] = {"layer": layer_id, "product": e["product"], "lon": lon, "lat": lat,
                               "value": None, "class": None, "units": e["units"]}
        try:
            with Reader(str(e["_cog"])) as src:
                pt = src.point(lon, lat, indexes=1)
                scale, offset = float(src.dataset.scales[0]), float(src.dataset.offsets[0])
        except PointOutsideBounds:
            out["outside"] = True
            return out
        raw = pt.array[0]
        if np.ma.is_masked(raw) or (isinstance(raw, float) and math.isnan(raw)):
            return out
        if e["kind"] == "class":
            v = int(raw)
            out["value"], out["class"] = v, e["_names"].get(v, str(v))
        else:
            shown, _u = display_values(e["product"], e["units"], np.array([float(raw) * scale + offset]))
            val = float(shown[0])
            out["value"] = None if math.isnan(val) else float(f"{val:.6g}")
        return out

    def table(self, layer_id: str) -> dict[str, Any]:
        """The per-district table of a layer as JSON rows."""
        import pandas as pd

        e = self.layers[layer_id]
        path = self.run / e["area"] / "tables" / f"{Path(e['path']).stem}_by_district.csv"
        if not path.is_file():
            return {"columns": [], "rows": []}
        df = pd.read_csv(path)
        return {"columns": [str(c) for c in df.columns],
                "rows": json.loads(df.to_json(orient="values", double_precision=6))}

    def districts(self, area: str) -> dict[str, Any] | None:
        """The district polygons of an area (GeoJSON), or ``None`` when the run has none."""
        tdir = self.run / area / "tables"
        files = sorted(tdir.glob("*_by_district.geojson")) if tdir.is_dir() and "/" not in area else []
        return json.loads(files[0].read_text()) if files else None


class _Handler(BaseHTTPRequestHandler):
    layers: RunLayers
    server_version = "agromap-serve"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints the URL once
        pass

    def _send(self, body: bytes, ctype: str, status: int = 200, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the browser cancelled the tile (panned, switched)
            pass

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(json.dumps(obj).encode(), "application/json", status)

    def _error(self, status: HTTPStatus, text: str) -> None:
        self._json({"error": text}, int(status))

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if not parts:
                return self._static("index.html")
            if parts[0] == "static" and len(parts) > 1:
                return self._static("/".join(parts[1:]))
            if parts[:2] == ["api", "layers"]:
                return self._json(self.layers.public())
            if parts[0] == "tiles" and len(parts) == 5 and parts[4].endswith(".png"):
                lid, z, x, y = parts[1], int(parts[2]), int(parts[3]), int(parts[4][:-4])
                if lid not in self.layers.layers:
                    return self._error(HTTPStatus.NOT_FOUND, f"no layer {lid!r}")
                return self._send(self.layers.tile(lid, z, x, y), "image/png", cache=True)
            if parts[:2] == ["api", "point"] and len(parts) == 3:
                if parts[2] not in self.layers.layers:
                    return self._error(HTTPStatus.NOT_FOUND, f"no layer {parts[2]!r}")
                q = parse_qs(url.query)
                return self._json(self.layers.point(parts[2], float(q["lon"][0]), float(q["lat"][0])))
            if parts[:2] == ["api", "table"] and len(parts) == 3:
                if parts[2] not in self.layers.layers:
                    return self._error(HTTPStatus.NOT_FOUND, f"no layer {parts[2]!r}")
                return self._json(self.layers.table(parts[2]))
            if parts[:2] == ["api", "districts"] and len(parts) == 3:
                doc = self.layers.districts(parts[2])
                return self._json(doc) if doc else self._error(HTTPStatus.NOT_FOUND, "no districts for this area")
        except (KeyError, ValueError) as exc:
            return self._error(HTTPStatus.BAD_REQUEST, f"bad request: {exc}")
        return self._error(HTTPStatus.NOT_FOUND, "not found")

    def _static(self, rel: str) -> None:
        path = (STATIC / rel).resolve()
        if STATIC.resolve() not in path.parents or not path.is_file():
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype == "application/javascript":
            ctype += "; charset=utf-8"
        self._send(path.read_bytes(), ctype, cache=True)


def make_server(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """An HTTP server for the run (not started: call ``serve_forever``); ``port=0`` picks a free port."""
    layers = RunLayers(run_dir)
    handler = type("RunHandler", (_Handler,), {"layers": layers})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
