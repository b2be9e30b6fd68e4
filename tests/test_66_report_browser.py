"""The HTML run report in a real browser: headless Chromium renders it offline, every image
loads, the console stays clean, and a full-page screenshot is produced.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON
messages separated by NUL bytes on file descriptors 3 and 4), so no Python package beyond the
standard library is needed. Network is cut off (``--host-resolver-rules`` maps every host to
nothing, plus the report's own Content-Security-Policy). The test set-up installs Debian's
``chromium`` package (``apt-get install -y chromium``); without ``/usr/bin/chromium`` the tests
are skipped.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from agromap.io.grid import attach_geobox
from agromap.io.write import publish_cog, staging_path_for, store_gtiff
from agromap.layer_registry import LAYERS
from agromap.quicklook import write_quicklook
from agromap.report import write_report
from agromap.testing import make_geobox

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install -y chromium); the test set-up installs it"),
]

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no DNS, so no network even if something tried
    "--remote-debugging-pipe",
)


def _flags(allow_local: bool) -> tuple[str, ...]:
    """The flags; ``allow_local`` lets 127.0.0.1 through (a local server under test), nothing else."""
    if not allow_local:
        return FLAGS
    return tuple("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" if f.startswith("--host-resolver")
                 else f for f in FLAGS)


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe (stdlib only)."""

    def __init__(self, profile: Path, timeout: float = 60.0, allow_local: bool = False) -> None:
        a, self._w = os.pipe()
        self._r, b = os.pipe()
        # The child's ends move above 9, so they can never be 3 or 4 themselves.
        to_child_r, from_child_w = fcntl.fcntl(a, fcntl.F_DUPFD, 10), fcntl.fcntl(b, fcntl.F_DUPFD, 10)
        os.close(a)
        os.close(b)
        # Chromium reads commands on fd 3 and writes replies on fd 4; bash wires them (dash cannot
        # redirect descriptors above 9).
        script = f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w} {to_child_r}<&- {from_child_w}>&-'
        self.stderr_path = profile.with_suffix(".stderr.log")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            ["bash", "-c", script, str(CHROMIUM), *_flags(allow_local), f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._stderr)
        os.close(to_child_r)
        os.close(from_child_w)
        self.timeout = timeout
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError(f"no DevTools reply from chromium; stderr in {self.stderr_path}")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium closed the DevTools pipe; stderr in {self.stderr_path}")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for ev in self.events:
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
        while True:
            ev = self._read_message(deadline)
            self.events.append(ev)
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()


def open_page(browser: Browser, url: str, *, width: int = 1200, height: int = 1600) -> tuple[str, dict[str, Any]]:
    """Load ``url`` in a new tab; return the session and what the page did."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
        browser.send(domain, session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", session)
    images = json.loads(browser.send("Runtime.evaluate", {
        "expression": "JSON.stringify(Array.from(document.images).map(i => ({complete: i.complete, "
                      "w: i.naturalWidth, h: i.naturalHeight, src: i.src.slice(0, 30)})))",
        "returnByValue": True}, session=session)["result"]["value"])
    marker = browser.send("Runtime.evaluate", {
        "expression": "document.body.getAttribute('data-images-loaded')", "returnByValue": True},
        session=session)["result"].get("value")
    # Anything the page sent to the console at error level, thrown, or logged by the browser
    # (failed loads, CSP violations) counts as a console error.
    errors = []
    for ev in browser.events:
        if ev.get("sessionId") != session:
            continue
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(("console", " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            errors.append(("exception", p.get("exceptionDetails", {}).get("text")))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append(("log", p["entry"].get("text")))
    return session, {"images": images, "marker": marker, "errors": errors}


def screenshot(browser: Browser, session: str, path: Path) -> Path:
    """Full-page PNG screenshot."""
    size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
    shot = browser.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}, session=session)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    b = Browser(tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield b
    finally:
        b.close()


# ---- a report from real COGs ------------------------------------------------------------------
def _cog(out: Path, name: str, spec_name: str, values: np.ndarray) -> str:
    arr = attach_geobox(xr.DataArray(values, dims=("y", "x"), name=spec_name), make_geobox(values.shape))
    final = out / "area_a" / name
    staging = staging_path_for(final, "run-browser")
    dask.compute(store_gtiff(arr, staging, LAYERS[spec_name] if spec_name in LAYERS else _aqi_spec()))
    publish_cog(staging, final, LAYERS[spec_name] if spec_name in LAYERS else _aqi_spec(), tags={"RUN_ID": "run-browser"})
    return f"area_a/{name}"


def _aqi_spec():
    from agromap.airquality.aqi import LAYER_SPECS

    return LAYER_SPECS["aqi_category_cpcb"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    i, j = np.meshgrid(np.arange(700), np.arange(700), indexing="ij")
    flood = ((i // 50 + j // 70) % 7).astype(np.float32)
    flood[flood == 5] = 0  # no managed paddy water: the legend must not list it
    flood[:60] = np.nan
    ndvi = (np.sin(i / 60.0) * np.cos(j / 90.0)).astype(np.float32)
    ndvi[:, :40] = np.nan
    aqi = (1 + (i // 120 + j // 120) % 6).astype(np.float32)
    paths = [_cog(out, "flood_class.tif", "flood_class", flood), _cog(out, "ndvi.tif", "ndvi", ndvi),
             _cog(out, "aqi_category_cpcb.tif", "aqi_category_cpcb", aqi)]
    quicklooks = {p: write_quicklook(out / p, out / "quicklooks" / (Path(p).stem + ".png")) for p in paths}
    manifest = {
        "run_id": "run-browser", "status": "success", "agromap_version": "0.0-test", "config": {"name": "browser"},
        "config_sha256": "ab" * 32, "started": "2024-01-01T00:00:00+00:00", "finished": "2024-01-01T00:01:00+00:00",
        "timings_s": {"plan": 0.1, "compute": 1.2, "total": 1.5}, "cluster": {"scheduler": "threads", "threads": 2},
        "warnings": ["scene X skipped: <all cloud>"],
        "inputs": [{"area": "area_a", "scene_id": "S2A_TEST", "datetime": "2023-07-01T00:00:00",
                    "files": [{"path": "https://example.com/S2A_TEST.tif", "size": 1234, "sha256": "cd" * 32}]}],
        "outputs": [{"area": "area_a", "layer": Path(p).stem, "path": p, "size": (out / p).stat().st_size,
                     "sha256": "ef" * 32, "dtype": "uint8", "valid_fraction": 0.9, "reused": False} for p in paths],
    }
    table = pd.DataFrame({"id": [1, 2, 3], "name": ["Ward <1>", "Ward & 2", "Ward 3"],
                          "area_ha": [12.5, 7.25, 0.0], "class_fraction": [0.2, 0.1, 0.0]})
    accuracy = {"area": "area_a", "layer": "area_a/rice_class.tif", "classes": ["non-rice", "rice"],
                "counts": [[90, 10], [5, 95]], "overall_accuracy": 0.925, "overall_accuracy_ci95": 0.03,
                "users_accuracy": [0.9, 0.95], "users_accuracy_ci95": [0.05, 0.04],
                "producers_accuracy": [0.94, 0.9], "producers_accuracy_ci95": [0.04, 0.05],
                "mapped_area_ha": [1000.0, 500.0], "area_ha": [980.0, 520.0], "area_ci95_ha": [30.0, 30.0],
                "sample_metrics": {"kappa": 0.85}}
    return write_report(out, manifest, quicklooks=quicklooks, tables={"flooded rice by ward": table},
                        accuracy=[accuracy])


def test_report_renders_offline_with_images_and_no_console_errors(browser: Browser, report: Path, tmp_path: Path):
    session, page = open_page(browser, report.as_uri())
    assert page["errors"] == []
    assert len(page["images"]) == 3
    for img in page["images"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
        assert img["src"].startswith("data:image/png;base64,")
    assert page["marker"] == "3/3"  # the page's own load marker agrees
    title = browser.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True},
                         session=session)["result"]["value"]
    assert "browser" in title
    shot = screenshot(browser, session, tmp_path / "report.png")
    from PIL import Image

    with Image.open(shot) as im:
        assert im.format == "PNG" and im.width >= 1100 and im.height > 1600  # the full page, not one screen
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # maps and text were painted, not a blank page


def test_harness_sees_broken_images_console_errors_and_blocked_fetches(browser: Browser, tmp_path: Path):
    """The checks above can fail: broken and blocked images, console errors, exceptions; no network."""
    page_path = tmp_path / "broken.html"
    page_path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "script-src 'unsafe-inline'\"></head><body>"
        "<img src='data:image/png;base64,AAAA'><img src='https://example.com/x.png'>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>")
    _session, page = open_page(browser, page_path.as_uri())
    kinds = {k for k, _ in page["errors"]}
    assert "console" in kinds and "exception" in kinds
    assert any("Content Security Policy" in str(text) for _, text in page["errors"])
    assert [img["w"] for img in page["images"]] == [0, 0]
    # Without a CSP the remote image is attempted, and fails: the browser has no name resolution.
    bare = tmp_path / "bare.html"
    bare.write_text("<!DOCTYPE html><html><body><img src='https://example.com/x.png'>"
                    "<img src='missing.png'></body></html>")
    _session, page = open_page(browser, bare.as_uri())
    texts = " ".join(str(t) for _, t in page["errors"])
    assert "ERR_NAME_NOT_RESOLVED" in texts and "ERR_FILE_NOT_FOUND" in texts
    assert [img["w"] for img in page["images"]] == [0, 0]


def _js(browser: Browser, session: str, expr: str) -> Any:
    return browser.send("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                        session=session)["result"].get("value")


def test_report_reads_at_a_glance(browser: Browser, report: Path, tmp_path: Path):
    """Decision maps first and large, legends of the classes present, no sideways scrolling,
    the manifest folded away, and the map pixels in the class colours."""
    session, page = open_page(browser, report.as_uri(), width=1200, height=1000)
    assert page["errors"] == []
    figs = _js(browser, session, "Array.from(document.querySelectorAll('figure')).map(f => ({p: f.dataset.product, "
                                 "c: JSON.parse(f.dataset.classes), w: f.querySelector('img').naturalWidth, "
                                 "r: f.querySelector('img').getBoundingClientRect().toJSON()}))")
    assert [f["p"] for f in figs] == ["flood_class", "aqi_category_cpcb", "ndvi"]  # decision layers first
    assert figs[0]["w"] >= 1000 and figs[0]["r"]["width"] >= 1000  # readable, not a 160 px thumbnail
    assert figs[2]["w"] >= 500
    absent = {5} | {v for v, _n, _c in LAYERS["flood_class"].classes if v > 6}  # the scene holds codes 0-6 but 5
    names = [n for v, n, _c in LAYERS["flood_class"].classes if v not in absent]
    assert figs[0]["c"] == names  # the legend lists the classes present, and only those
    # no table or figure runs off the page, at desktop and at narrow widths
    assert _js(browser, session, "document.documentElement.scrollWidth <= window.innerWidth")
    assert _js(browser, session, "document.querySelector('#manifest details').open") is False
    assert _js(browser, session, "document.querySelector('#manifest').getBoundingClientRect().height") < 120
    h2 = _js(browser, session, "Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert h2[0] == "Area: area_a" and h2[-1] == "Manifest summary"
    shot = screenshot(browser, session, tmp_path / "glance.png")
    from PIL import Image

    r = figs[0]["r"]
    scroll = 0  # the screenshot is the full page from its top, and the page was not scrolled
    with Image.open(shot) as im:
        crop = np.asarray(im.convert("RGB").crop((int(r["x"]), int(r["y"]) + scroll,
                                                  int(r["x"] + r["width"] * 0.6), int(r["y"] + r["height"]))))
    colours = {tuple(int(x) for x in c) for c in crop.reshape(-1, 3)}
    for value, _name, colour in LAYERS["flood_class"].classes:
        rgb = tuple(int(colour[k:k + 2], 16) for k in (0, 2, 4))
        assert (rgb in colours) == (value not in absent), (value, colour)
    # the same page at a narrow window: still no sideways scroll
    browser.send("Emulation.setDeviceMetricsOverride", {"width": 700, "height": 900, "deviceScaleFactor": 1,
                                                        "mobile": False}, session=session)
    assert _js(browser, session, "document.documentElement.scrollWidth <= window.innerWidth")
