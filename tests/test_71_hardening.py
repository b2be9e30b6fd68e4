"""Operator faults and hostile inputs, through the real command line.

Each case runs ``agromap`` (the console entry point, in this process for speed; in a child
process where signals, hangs or kills are the subject) and checks the exit code, the one-line
``agromap: error:`` message, the absence of a traceback, and that nothing was published.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from agromap.errors import EXIT_CODES, DeadlineError, UnsafeInputError
from agromap.io.write import atomic_write_text, clean_stale_partials
from conftest import write_tif
from forked_cli import ForkServer

ROOT = Path(__file__).resolve().parents[1]


# --- helpers --------------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    """Run the console entry point in this process; (exit code, stderr)."""
    import logging

    from agromap.pipeline import cli

    argv, handlers = sys.argv, (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    root = logging.getLogger()
    log_state = (root.handlers[:], root.level)
    sys.argv = ["agromap", *map(str, args)]
    code: object = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = argv
        root.handlers[:], root.level = log_state  # the CLI's handler writes to this test's stderr
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    return int(code or 0), capsys.readouterr().err


def _assert_one_line(err: str, text: str) -> None:
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("agromap: error: "), err
    assert text in lines[-1], lines[-1]
    assert "Traceback" not in err, err


def _published(out: Path) -> list[Path]:
    if not out.exists():
        return []
    return [p for p in out.rglob("*") if p.suffix in (".tif", ".json", ".png") and p.is_file()
            and ".agromap" not in p.parts]  # the input-checksum cache is not a product


def _tif(tmp: Path, name: str = "good.tif", shape: tuple[int, int] = (64, 64), value: float = 3000,
         dtype: str = "uint16", **kw: object) -> Path:
    return write_tif(tmp / name, np.full(shape, value, dtype), nodata=kw.pop("nodata", 0), **kw)


def _cfg(tmp: Path, inputs: list[dict] | None = None, layers: list[dict] | None = None, area: dict | None = None,
         name: str = "hard", **top: object) -> Path:
    inputs = inputs or [{"kind": "files", "datetime": "2021-01-01",
                         "bands": {"red": str(_tif(tmp, "red.tif", value=1000)),
                                   "nir": str(_tif(tmp, "nir.tif", value=3000))}}]
    cfg = {"version": 1, "name": name, "scheduler": "threads",
           "areas": [{"name": "a", "inputs": inputs, "layers": layers or [{"product": "ndvi"}], **(area or {})}],
           **top}
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _districts(tmp: Path, features: list[dict], crs: str | None = "urn:ogc:def:crs:EPSG::32643") -> Path:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    p = tmp / "districts.geojson"
    p.write_text(json.dumps(doc))
    return p


def _square(x0: float, y0: float, size: float, **props: object) -> dict:
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Feature", "properties": {"code": "D1", **props}, "geometry": {"type": "Polygon",
                                                                                  "coordinates": [ring]}}


# --- the corpus: bad input or operator fault -> exit code + one line, nothing published ------------


def _c_wait_lock_nan(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / "out", "--wait-lock", "nan"]


def _c_wait_lock_negative(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / "out", "--wait-lock", "-1"]


def _c_out_is_file(tmp: Path) -> list[object]:
    (tmp / "out").write_text("not a folder")
    return ["run", _cfg(tmp), "--out", tmp / "out"]


def _c_out_under_file(tmp: Path) -> list[object]:
    (tmp / "afile").write_text("x")
    return ["run", _cfg(tmp), "--out", tmp / "afile" / "out"]


def _c_scheduler_bad_scheme(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / "out", "--scheduler", "foo://x"]


def _c_scheduler_no_port(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp, scheduler="tcp://localhost"), "--out", tmp / "out"]


def _c_scheduler_refused(tmp: Path) -> list[object]:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return ["run", _cfg(tmp), "--out", tmp / "out", "--scheduler", f"tcp://127.0.0.1:{port}"]


def _c_config_fifo(tmp: Path) -> list[object]:
    os.mkfifo(tmp / "run.yaml")
    return ["run", tmp / "run.yaml", "--out", tmp / "out"]


def _c_config_dev_zero(tmp: Path) -> list[object]:
    return ["run", "/dev/zero", "--out", tmp / "out"]


def _c_config_too_large(tmp: Path) -> list[object]:
    p = tmp / "big.yaml"
    p.write_text("# padding\n" * 200_000)
    return ["run", p, "--out", tmp / "out"]


def _c_config_not_utf8(tmp: Path) -> list[object]:
    p = tmp / "latin1.yaml"
    p.write_bytes("version: 1\nname: caf\xe9\nareas: []\n".encode("latin-1"))
    return ["run", p, "--out", tmp / "out"]


def _c_config_deep(tmp: Path) -> list[object]:
    p = tmp / "deep.yaml"
    p.write_text("areas: " + "[" * 5000 + "]" * 5000 + "\n")
    return ["validate", p]


def _c_config_list_key(tmp: Path) -> list[object]:
    p = tmp / "listkey.yaml"
    p.write_text("version: 1\n? [a, b]\n: 1\n")
    return ["validate", p]


def _c_raster_fifo(tmp: Path) -> list[object]:
    os.mkfifo(tmp / "pipe.tif")
    return ["run", _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01",
                               "bands": {"red": str(tmp / "pipe.tif"), "nir": str(tmp / "pipe.tif")}}]),
            "--out", tmp / "out"]


def _c_raster_device(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01",
                               "bands": {"red": "/dev/zero", "nir": "/dev/zero"}}]), "--out", tmp / "out"]


def _c_raster_directory(tmp: Path) -> list[object]:
    (tmp / "adir.tif").mkdir()
    return ["run", _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01",
                               "bands": {"red": str(tmp / "adir.tif"), "nir": str(tmp / "adir.tif")}}]),
            "--out", tmp / "out"]


def _stac_item(tmp: Path, href: str) -> Path:
    item = {
        "type": "Feature", "stac_version": "1.1.0", "id": "hostile", "stac_extensions": [],
        "geometry": None, "properties": {"datetime": "2021-01-01T00:00:00Z"}, "links": [],
        "assets": {"red": {"href": href, "type": "image/tiff"}, "nir": {"href": href, "type": "image/tiff"}},
    }
    folder = tmp / "item"
    folder.mkdir(exist_ok=True)
    p = folder / "item.json"
    p.write_text(json.dumps(item))
    return p


def _c_stac_href_escape(tmp: Path) -> list[object]:
    _tif(tmp, "x.tif")  # exists, one folder above the item: must not be read
    item = _stac_item(tmp, "../x.tif")
    return ["run", _cfg(tmp, [{"kind": "stac_item", "path": str(item), "bands": ["red", "nir"]}]),
            "--out", tmp / "out"]


def _c_decode_bomb(tmp: Path) -> list[object]:
    # One 9216 x 9216 DEFLATE tile: a few hundred KB on disk, 81 MiB to decode for every chunk.
    bomb = tmp / "bomb.tif"
    with rasterio.open(bomb, "w", driver="GTiff", width=9216, height=9216, count=1, dtype="uint8",
                       crs="EPSG:32643", transform=rasterio.Affine(10, 0, 500_000, 0, -10, 2_000_000),
                       tiled=True, blockxsize=9216, blockysize=9216, compress="deflate") as dst:
        dst.write(np.zeros((1, 9216, 9216), np.uint8))
    assert bomb.stat().st_size < 1_000_000
    return ["run", _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01",
                               "bands": {"red": str(bomb), "nir": str(bomb)}}]), "--out", tmp / "out"]


def _c_long_area_name(tmp: Path) -> list[object]:
    cfg = _cfg(tmp)
    data = yaml.safe_load(cfg.read_text())
    data["areas"][0]["name"] = "a" * 250
    cfg.write_text(yaml.safe_dump(data))
    return ["run", cfg, "--out", tmp / "out"]


def _c_long_out_name(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / ("o" * 300)]


def _c_area_folder_links_outside(tmp: Path) -> list[object]:
    (tmp / "elsewhere").mkdir()
    (tmp / "out").mkdir()
    (tmp / "out" / "a").symlink_to(tmp / "elsewhere")
    return ["run", _cfg(tmp), "--out", tmp / "out"]


def _c_nested_in_other_run(tmp: Path) -> list[object]:
    (tmp / "outer").mkdir()
    (tmp / "outer" / ".agromap.lock").write_text("")
    return ["run", _cfg(tmp), "--out", tmp / "outer" / "inner"]


def _c_contains_other_run(tmp: Path) -> list[object]:
    (tmp / "out" / "older" / "run").mkdir(parents=True)
    (tmp / "out" / "older" / "run" / ".agromap.lock").write_text("")
    return ["run", _cfg(tmp), "--out", tmp / "out"]


def _c_input_inside_out(tmp: Path) -> list[object]:
    (tmp / "out").mkdir()
    red = _tif(tmp / "out", "red.raster")  # not a .tif: the check below looks for published files
    return ["run", _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01", "bands": {"red": str(red),
                                                                                  "nir": str(red)}}]),
            "--out", tmp / "out"]


def _c_districts_empty(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp, area={"districts": {"path": str(_districts(tmp, [])), "id_field": "code"}}),
            "--out", tmp / "out"]


def _c_districts_no_overlap(tmp: Path) -> list[object]:
    far = _districts(tmp, [_square(900_000, 1_000_000, 500)])
    return ["run", _cfg(tmp, area={"districts": {"path": str(far), "id_field": "code"}}), "--out", tmp / "out"]


def _c_districts_missing_field(tmp: Path) -> list[object]:
    d = _districts(tmp, [_square(500_100, 1_999_500, 300)])
    return ["run", _cfg(tmp, area={"districts": {"path": str(d), "id_field": "district_id"}}),
            "--out", tmp / "out"]


def _c_districts_bad_coordinates(tmp: Path) -> list[object]:
    d = _districts(tmp, [_square(78.0, 480.0, 0.1)], crs=None)  # latitude 480 in a lon/lat file
    return ["run", _cfg(tmp, area={"districts": {"path": str(d), "id_field": "code"}}), "--out", tmp / "out"]


def _c_districts_not_vector(tmp: Path) -> list[object]:
    p = tmp / "districts.geojson"
    p.write_bytes(os.urandom(2000))
    return ["run", _cfg(tmp, area={"districts": {"path": str(p), "id_field": "code"}}), "--out", tmp / "out"]


def _c_validate_districts_no_overlap(tmp: Path) -> list[object]:
    far = _districts(tmp, [_square(900_000, 1_000_000, 500)])
    return ["validate", _cfg(tmp, area={"districts": {"path": str(far), "id_field": "code"}})]


def _c_validate_out_is_file(tmp: Path) -> list[object]:
    (tmp / "out").write_text("x")
    return ["validate", _cfg(tmp), "--out", tmp / "out"]


def _c_rice_points_fifo(tmp: Path) -> list[object]:
    os.mkfifo(tmp / "points.csv")
    return ["rice-points", tmp / "points.csv", tmp / "out" / "labels.csv"]


def _c_rice_points_garbage(tmp: Path) -> list[object]:
    (tmp / "points.csv").write_bytes(os.urandom(3000))
    return ["rice-points", tmp / "points.csv", tmp / "out" / "labels.csv"]


def _c_rice_sample_not_raster(tmp: Path) -> list[object]:
    (tmp / "map.tif").write_text("a text file")
    return ["rice-sample", tmp / "map.tif", tmp / "out" / "sample.geojson"]


def _c_rice_sample_device(tmp: Path) -> list[object]:
    return ["rice-sample", "/dev/zero", tmp / "out" / "sample.geojson"]


def _c_rice_model_garbage(tmp: Path) -> list[object]:
    (tmp / "model.skops").write_bytes(os.urandom(4000))
    return ["run", _cfg(tmp, layers=[{"product": "rice", "method": "model", "model": str(tmp / "model.skops")}]),
            "--out", tmp / "out"]


def _c_rice_model_zip_bomb(tmp: Path) -> list[object]:
    import zipfile

    with zipfile.ZipFile(tmp / "model.skops", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", b" " * (40 << 20))  # 40 MiB of spaces: ~40 KB compressed
    return ["run", _cfg(tmp, layers=[{"product": "rice", "method": "model", "model": str(tmp / "model.skops")}]),
            "--out", tmp / "out"]


def _c_config_nan_scale(tmp: Path) -> list[object]:
    cfg = _cfg(tmp)
    data = yaml.safe_load(cfg.read_text())
    data["areas"][0]["inputs"][0]["scale"] = float("nan")  # would turn every pixel into NaN
    cfg.write_text(yaml.safe_dump(data))
    return ["validate", cfg]


def _c_config_inf_bounds(tmp: Path) -> list[object]:
    return ["validate", _cfg(tmp, area={"grid": {"crs": "EPSG:32643", "resolution": 10,
                                                  "bounds": [500_000, 1_999_000, float("inf"), 2_000_000]}})]


def _c_layer_date_not_a_date(tmp: Path) -> list[object]:
    return ["validate", _cfg(tmp, layers=[{"product": "flood", "event_date": "after the monsoon"}])]


def _c_out_not_utf8(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / os.fsdecode(b"out-\xe9t\xe9")]


def _c_input_name_not_utf8(tmp: Path) -> list[object]:
    latin = tmp / os.fsdecode(b"r\xe9d.tif")
    latin.write_bytes(_tif(tmp, "red.tif").read_bytes())
    cfg = tmp / "latin.yaml"
    cfg.write_bytes(yaml.safe_dump({"version": 1, "areas": [{"name": "a", "layers": [{"product": "ndvi"}], "inputs": [
        {"kind": "files", "datetime": "2021-01-01", "bands": {"red": str(latin), "nir": str(latin)}}]}]},
        allow_unicode=True).encode("utf-8", "surrogateescape"))
    return ["validate", cfg]


def _c_log_format_unknown(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / "out", "--log-format", "xml"]


def _c_train_block_size_nan(tmp: Path) -> list[object]:
    return ["rice-train", _cfg(tmp), "--area", "a", "--labels", tmp / "l.geojson", "--out", tmp / "m.skops",
            "--block-size", "nan"]


def _c_train_no_trees(tmp: Path) -> list[object]:
    return ["rice-train", _cfg(tmp), "--area", "a", "--labels", tmp / "l.geojson", "--out", tmp / "m.skops",
            "--trees", "0"]


def _c_mapsheet_corrupt_manifest(tmp: Path) -> list[object]:
    (tmp / "run").mkdir()
    (tmp / "run" / "manifest.json").write_text('{"outputs": [')  # a run killed by an older version
    return ["mapsheet", tmp / "run"]


def _c_serve_corrupt_catalog(tmp: Path) -> list[object]:
    (tmp / "run").mkdir()
    (tmp / "run" / "catalog.json").write_text("{]")
    return ["serve", tmp / "run", "--port", "0", "--no-open"]


def _c_reference_sample_fifo(tmp: Path) -> list[object]:
    os.mkfifo(tmp / "reference.geojson")
    return ["validate", _cfg(tmp, layers=[{"product": "rice", "method": "optical",
                                           "reference_sample": str(tmp / "reference.geojson")}])]


def _c_rice_model_fifo(tmp: Path) -> list[object]:
    os.mkfifo(tmp / "model.skops")
    return ["validate", _cfg(tmp, layers=[{"product": "rice", "method": "model", "model": str(tmp / "model.skops")}])]


def _c_rice_model_pin_differs(tmp: Path) -> list[object]:
    """pipelines/rice_model.yaml pins its model's SHA-256: the same forest in a re-packed archive
    (a valid skops file with other bytes) is refused before anything is computed."""
    import zipfile

    cfg = yaml.safe_load((ROOT / "pipelines" / "rice_model.yaml").read_text())
    area = cfg["areas"][0]
    shipped = (ROOT / "pipelines" / area["layers"][0]["model"]).resolve()
    with zipfile.ZipFile(shipped) as src, zipfile.ZipFile(tmp / "rice_rf.skops", "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    area["layers"][0]["model"] = str(tmp / "rice_rf.skops")
    area["inputs"][0]["path"] = str((ROOT / "pipelines" / area["inputs"][0]["path"]).resolve())
    area["districts"]["path"] = str((ROOT / "pipelines" / area["districts"]["path"]).resolve())
    (tmp / "rice_model.yaml").write_text(yaml.safe_dump(cfg))
    return ["run", tmp / "rice_model.yaml", "--out", tmp / "out"]


def _c_stac_search_without_allow_remote(tmp: Path) -> list[object]:
    return ["validate", _cfg(tmp, [{"kind": "stac_search", "url": "http://127.0.0.1:9/api", "collections": ["s2"],
                                    "datetime": "2021-01-01/2021-02-01", "bands": ["red", "nir"],
                                    "bbox": [75.0, 18.0, 75.1, 18.1]}])]


def _c_usage_missing_config(tmp: Path) -> list[object]:
    return ["run"]


def _c_usage_wait_lock_not_a_number(tmp: Path) -> list[object]:
    return ["run", _cfg(tmp), "--out", tmp / "out", "--wait-lock", "soon"]


CORPUS = [
    (_c_usage_missing_config, 2, "Missing argument 'config'. (see 'agromap run --help')"),
    (_c_usage_wait_lock_not_a_number, 2, "Invalid value for '--wait-lock'"),
    (_c_wait_lock_nan, 2, "--wait-lock must be a finite number"),
    (_c_wait_lock_negative, 2, "--wait-lock must be a finite number"),
    (_c_out_is_file, 2, "is an existing file, not a folder"),
    (_c_out_under_file, 7, "is a file, not a folder"),
    (_c_scheduler_bad_scheme, 2, "scheduler 'foo://x' is not"),
    (_c_scheduler_no_port, 2, "scheduler 'tcp://localhost' is not"),
    (_c_scheduler_refused, 8, "cannot reach the dask scheduler"),
    (_c_config_fifo, 2, "not a regular file"),
    (_c_config_dev_zero, 2, "not a regular file"),
    (_c_config_too_large, 2, "too large for a run configuration"),
    (_c_config_not_utf8, 2, "not UTF-8 text"),
    (_c_config_deep, 2, "nested too deeply"),
    (_c_config_list_key, 2, "keys must be plain names"),
    (_c_raster_fifo, 3, "is a named pipe (FIFO), not a regular file"),
    (_c_raster_device, 3, "is a device, not a regular file"),
    (_c_raster_directory, 3, "is a directory, not a regular file"),
    (_c_stac_href_escape, 3, "outside"),
    (_c_decode_bomb, 3, "decodes to 81 MiB"),
    (_c_long_area_name, 2, "too long for the file system"),
    (_c_long_out_name, 2, "above the file system's limit"),
    (_c_area_folder_links_outside, 2, "leads outside the output folder"),
    (_c_nested_in_other_run, 2, "is inside the output folder of another run"),
    (_c_contains_other_run, 2, "contains the output folder of another run"),
    (_c_input_inside_out, 2, "is inside the output folder"),
    (_c_districts_empty, 3, "holds no polygon"),
    (_c_districts_no_overlap, 3, "none of the 1 districts overlaps"),
    (_c_districts_missing_field, 2, "field 'district_id' is not in"),
    (_c_districts_bad_coordinates, 3, "out of range"),
    (_c_districts_not_vector, 3, "not a readable district file"),
    (_c_validate_districts_no_overlap, 3, "none of the 1 districts overlaps"),
    (_c_validate_out_is_file, 2, "is an existing file, not a folder"),
    (_c_rice_points_fifo, 3, "named pipe"),
    (_c_rice_points_garbage, 3, "points.csv"),
    (_c_rice_sample_not_raster, 3, "not a readable raster"),
    (_c_rice_sample_device, 3, "is a device"),
    (_c_rice_model_garbage, 3, "model.skops"),
    (_c_rice_model_zip_bomb, 3, "(a zip bomb?)"),
    (_c_config_nan_scale, 2, "scale.float: Input should be a finite number"),
    (_c_config_inf_bounds, 2, "grid.bounds.2: Input should be a finite number"),
    (_c_layer_date_not_a_date, 2, "'after the monsoon' is not an ISO date/time"),
    (_c_out_not_utf8, 2, "is not a UTF-8 path"),
    (_c_input_name_not_utf8, 3, "name is not UTF-8; rename the file"),
    (_c_log_format_unknown, 2, "--log-format must be text or json"),
    (_c_train_block_size_nan, 2, "--block-size must be a positive number"),
    (_c_train_no_trees, 2, "--trees must be at least 1"),
    (_c_mapsheet_corrupt_manifest, 3, "unreadable manifest"),
    (_c_serve_corrupt_catalog, 3, "unreadable STAC catalog"),
    (_c_reference_sample_fifo, 3, "reference sample is a named pipe"),
    (_c_rice_model_fifo, 3, "model file is a named pipe"),
    (_c_rice_model_pin_differs, 3, "expected 2e17daac06347285b73bd64561ff6eb10d7508d0f0120986950cfd3bba907779"),
    (_c_stac_search_without_allow_remote, 3, "set allow_remote: true"),
]


@pytest.mark.parametrize(("build", "code", "text"), CORPUS, ids=[c[0].__name__[3:] for c in CORPUS])
def test_fault_gets_one_line_and_its_exit_code(tmp_path, capsys, build, code, text):
    args = build(tmp_path)
    got, err = _cli(capsys, *args)
    assert got == code, err
    _assert_one_line(err, text)
    assert _published(tmp_path / "out") == [], "a failed run published files"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".partial", ".staging.tif"))]


def test_exit_codes_are_documented(agromap_cli):
    readme = (ROOT / "README.md").read_text()
    for code, text in EXIT_CODES.items():
        assert f"| {code} |" in readme, f"exit code {code} ({text}) missing from the README table"
    proc = agromap_cli.run("--help", env={**os.environ, "COLUMNS": "200"}, timeout=120)
    for code in EXIT_CODES:
        assert f" {code}  " in proc.stdout, proc.stdout


# --- behaviour: recover, publish nothing on a late failure, keep to the output folder ----------------


def _run_ok(capsys: pytest.CaptureFixture[str], cfg: Path, out: Path, *extra: object) -> str:
    code, err = _cli(capsys, "run", cfg, "--out", out, *extra)
    assert code == 0, err
    return err


def test_rerun_recovers_from_empty_or_corrupt_item_json(tmp_path, capsys):
    cfg, out = _cfg(tmp_path), tmp_path / "out"
    _run_ok(capsys, cfg, out)
    item = next((out / "a").glob("ndvi_*.json"))
    good = json.loads(item.read_text())
    for damage in (b"", b'{"type": "Feature", "assets": {'):
        item.write_bytes(damage)  # what a kill during a plain open-for-write leaves
        _run_ok(capsys, cfg, out)
        assert json.loads(item.read_text())["assets"].keys() == good["assets"].keys()
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(o for o in manifest["outputs"] if o["stac_item"].endswith(item.name))
    assert entry["reused"] is False  # recomputed, not trusted


def test_metadata_writes_replace_symlinks_instead_of_following_them(tmp_path, capsys):
    cfg, out = _cfg(tmp_path), tmp_path / "out"
    _run_ok(capsys, cfg, out)
    outside = tmp_path / "outside.json"
    outside.write_text("precious")
    for name in ("catalog.json", "a/collection.json"):
        (out / name).unlink()
        (out / name).symlink_to(outside)
    _run_ok(capsys, cfg, out, "--force")
    assert outside.read_text() == "precious"
    for name in ("catalog.json", "a/collection.json"):
        assert not (out / name).is_symlink() and json.loads((out / name).read_text())["type"] in ("Catalog",
                                                                                                "Collection")


def test_atomic_writer_never_writes_through_a_planted_temp_link(tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    atomic_write_text(out / "m.json", "{}")
    assert (out / "m.json").read_text() == "{}" and target.read_text() == "keep"
    (out / "link.json").symlink_to(target)
    atomic_write_text(out / "link.json", "new")
    assert target.read_text() == "keep" and not (out / "link.json").is_symlink()


def test_results_finished_in_the_same_second_keep_both_files(tmp_path):
    """Two benchmark runs that finish in the same second share a timestamp: the second gets
    ``-2``, nothing is overwritten and no temporary file stays behind.
    """
    from agromap.io.files import write_new_file

    first = write_new_file(tmp_path, "accuracy-20261205T070000Z", ".json", b"first")
    second = write_new_file(tmp_path, "accuracy-20261205T070000Z", ".json", b"second")
    assert first.name == "accuracy-20261205T070000Z.json"
    assert second.name == "accuracy-20261205T070000Z-2.json"
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert {p.name for p in tmp_path.iterdir()} == {first.name, second.name}


def test_a_group_of_files_is_written_whole_and_its_folders_flushed_once(tmp_path, monkeypatch):
    """The group's files are all on disk before the first rename; a failed write leaves none of them
    and no partial name; ``first`` files' folder is flushed before the others are renamed; inside
    ``folders_flushed_once`` each folder is flushed once, at the end."""
    from agromap.io import files

    events: list[tuple[str, str]] = []
    real_replace, real_fsync_dir, real_write = os.replace, files.fsync_dir, files.write_partial
    monkeypatch.setattr(files.os, "replace", lambda a, b: (events.append(("rename", Path(b).name)),
                                                           real_replace(a, b))[1])
    monkeypatch.setattr(files, "fsync_dir", lambda d: (events.append(("flush", Path(d).name)), real_fsync_dir(d))[1])
    monkeypatch.setattr(files, "write_partial", lambda p, d, tmp=None: (events.append(("write", Path(p).name)),
                                                                        real_write(p, d, tmp))[1])
    sub = tmp_path / "area"
    sub.mkdir()
    group = [(sub / "collection.json", b"c"), (tmp_path / "catalog.json", b"k"), (tmp_path / "manifest.json", b"m")]
    files.atomic_write_group(group, first=1)
    assert sorted(events[:3]) == [("write", "catalog.json"), ("write", "collection.json"), ("write", "manifest.json")]
    assert events[3:] == [("rename", "collection.json"), ("flush", "area"), ("rename", "catalog.json"),
                          ("rename", "manifest.json"), ("flush", tmp_path.name)]
    assert [p.read_bytes() for p, _ in group] == [b"c", b"k", b"m"]

    events.clear()
    with files.folders_flushed_once():
        files.atomic_write_group([(tmp_path / "a.json", b"1"), (tmp_path / "b.json", b"2")])
        atomic_write_text(tmp_path / "report.html", "r")
        atomic_write_text(sub / "t.csv", "t")
        assert [e for e in events if e[0] == "flush"] == []
    assert [e for e in events if e[0] == "flush"] == [("flush", tmp_path.name), ("flush", "area")]

    def failing(p, d, tmp=None):
        if Path(p).name == "b.json":
            raise OSError(28, "No space left on device")
        return real_write(p, d, tmp)

    monkeypatch.setattr(files, "write_partial", failing)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(Exception, match="No space left"):
        files.atomic_write_group([(tmp_path / "new.json", b"1"), (tmp_path / "b2.json", b"2"),
                                  (tmp_path / "b.json", b"3")])
    assert sorted(tmp_path.rglob("*")) == before


def test_a_group_write_interrupted_by_a_signal_leaves_no_partial_name(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM, which the CLI turns into an exception) while a group's files are written:
    the exception reaches the main thread while a write is still running; that write ends before
    the clean-up, so no ``.partial`` name is left and nothing is renamed into place."""
    import _thread
    import time

    from agromap.io import files

    real_write = files.write_partial

    def slow(p, d, tmp=None):
        if Path(p).name == "late.json":
            _thread.interrupt_main()
            time.sleep(0.3)  # still writing when the main thread has the exception
        return real_write(p, d, tmp)

    monkeypatch.setattr(files, "write_partial", slow)
    # interrupt_main() does nothing while SIGINT is ignored or left to the system, and an earlier
    # test in the same process may have left any handler: Ctrl-C as a plain interpreter meets it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            files.atomic_write_group([(tmp_path / "a.json", b"1"), (tmp_path / "late.json", b"2")])
            time.sleep(1)  # where the interrupt lands if the write returns first
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("folder", ["run#1", "what?now", "100%done"])
def test_output_folder_names_special_in_urls(tmp_path, capsys, folder):
    import pystac

    out = tmp_path / folder
    _run_ok(capsys, _cfg(tmp_path), out)
    catalog = json.loads((out / "catalog.json").read_text())
    assert all(not link["href"].startswith(("/", "file:")) for link in catalog["links"])
    item = json.loads(next((out / "a").glob("ndvi_*.json")).read_text())
    assert {link["rel"]: link["href"] for link in item["links"]}["root"] == "../catalog.json"
    assert next(iter(item["assets"].values()))["href"].lstrip("./").startswith("ndvi_")
    # Every link of every published JSON resolves to a file inside the folder.
    for doc in out.rglob("*.json"):
        if doc.parent.name == ".agromap" or doc.name == "manifest.json":
            continue
        data = json.loads(doc.read_text())
        if data.get("type") not in ("Catalog", "Collection", "Feature"):
            continue  # not STAC (tables, web-map data)
        for link in data["links"]:
            target = (doc.parent / link["href"]).resolve()
            assert target.is_file() and out.resolve() in target.parents, (doc, link)
    assert pystac.Catalog.from_dict(catalog).id == "agromap-hard"
    from agromap.serve.app import RunLayers  # the web map reads the folder as files, not as URLs

    assert [entry["name"] for entry in RunLayers(out).layers.values()] == ["ndvi_20210101"]


def test_infinite_pixels_publish_with_finite_statistics(tmp_path, capsys):
    # Linear backscatter of exactly 0 (shadow, fill written as 0) and inf gives -inf / +inf dB.
    vh = np.full((64, 64), 0.02, np.float32)
    vh[:8, :8] = 0.0
    vh[8:12, :8] = np.inf
    sar = write_tif(tmp_path / "vh.tif", vh, nodata=float("nan"))
    cfg = _cfg(tmp_path, [{"kind": "sentinel1", "datetime": "2021-01-01", "units": "linear",
                           "bands": {"vh": str(sar)}}], layers=[{"product": "backscatter_db", "band": "vh"}])
    out = tmp_path / "out"
    _run_ok(capsys, cfg, out)
    manifest = json.loads((out / "manifest.json").read_text())
    for entry in manifest["outputs"]:
        item = json.loads((out / entry["stac_item"]).read_text())
        stats = next(iter(item["assets"].values()))["raster:bands"][0]["statistics"]
        assert all(np.isfinite(v) for v in stats.values()), stats


def test_item_statistics_ignore_infinity(tmp_path):
    from agromap.io.stac import item_for_layer, write_item
    from agromap.layer_registry import LAYERS

    spec = LAYERS["ndvi"]
    data = np.full((32, 32), 0.25, np.float32)
    data[0, :4] = [np.inf, -np.inf, np.nan, 0.75]
    cog = write_tif(tmp_path / "ndvi.tif", data, nodata=float("nan"))
    item = item_for_layer(cog, spec, item_id="x", datetime=(np.datetime64("2021-01-01").item(),) * 2 and
                          __import__("datetime").datetime(2021, 1, 1), properties={"agromap:threshold": np.inf})
    write_item(item, tmp_path / "ndvi.json")
    d = json.loads((tmp_path / "ndvi.json").read_text())
    stats = d["assets"][spec.name]["raster:bands"][0]["statistics"]
    assert stats["maximum"] == pytest.approx(0.75) and stats["minimum"] == pytest.approx(0.25)
    assert d["properties"]["agromap:threshold"] is None


def test_late_failure_publishes_no_layer(tmp_path, monkeypatch):
    """The second layer's item fails after the first layer's COG is ready: nothing is published."""
    from agromap.errors import ExportError
    from agromap.pipeline import publish_layers, runner
    from agromap.pipeline.config import load_config

    cfg = load_config(_cfg(tmp_path, layers=[{"product": "ndvi"}, {"product": "savi"}]))
    real, calls = publish_layers.item_for_layer, []

    def failing(*args, **kw):
        calls.append(args[0])
        if len(calls) == 2:
            raise ExportError("statistics failed")
        return real(*args, **kw)

    monkeypatch.setattr(publish_layers, "item_for_layer", failing)
    out = tmp_path / "out"
    with pytest.raises(ExportError):
        runner.run(cfg, out)
    assert len(calls) == 2
    assert _published(out) == []
    assert not [p for p in out.rglob("*") if p.name.endswith((".partial", ".staging.tif"))]
    monkeypatch.setattr(publish_layers, "item_for_layer", real)
    result = runner.run(cfg, out)
    assert len(result.computed) == 2


class _Stopped(BaseException):
    """A run stopped dead between two writes (what SIGKILL does, minus the process)."""


def _consistent(out: Path) -> list[str]:
    """What is wrong in a run folder: unparseable JSON, or a manifest whose checksums are stale."""
    import hashlib

    problems = [str(doc) for doc in out.rglob("*.json") if ".agromap" not in doc.parts
                and not _parses(doc)]
    manifest = out / "manifest.json"
    if manifest.exists():
        for entry in json.loads(manifest.read_text())["outputs"]:
            tif = out / entry["path"]
            if not tif.exists() or hashlib.sha256(tif.read_bytes()).hexdigest() != entry["sha256"]:
                problems.append(f"stale manifest entry {entry['path']}")
    return problems


def _parses(doc: Path) -> bool:
    try:
        json.loads(doc.read_bytes())
    except ValueError:
        return False
    return True


def test_a_run_stopped_at_any_metadata_write_leaves_a_consistent_folder(tmp_path, monkeypatch):
    """Stop a forced re-run at each of its file writes in turn (quicklooks, items, tables, catalog,
    collection, manifest, report): every JSON left parses, the manifest is absent
    or matches the COGs beside it, and the next plain run restores the folder with a manifest.
    An unchanged catalog is not rewritten, so each forced re-run starts without its catalog and
    collection files, which it then writes too."""
    from agromap.io import files
    from agromap.pipeline import publish_layers, runner
    from agromap.pipeline.config import load_config

    districts = _districts(tmp_path, [_square(500_100, 1_999_500, 300)])
    cfg = load_config(_cfg(tmp_path, area={"districts": {"path": str(districts), "id_field": "code"}}))
    out = tmp_path / "out"
    runner.run(cfg, out)
    # Files written in place, and those written beside their final name to be renamed later
    # (quicklooks, items): each write is a place to stop.
    writers = [(files, "atomic_write_bytes"), (files, "write_partial"), (publish_layers, "write_partial")]
    real = {(m, n): getattr(m, n) for m, n in writers}
    writes: list[str] = []

    def patch(stop_at: int | None) -> None:
        for module, name in writers:
            def write(path, data, *rest, _real=real[module, name], **kw):
                if stop_at is not None and len(writes) == stop_at:
                    raise _Stopped(names[stop_at])
                writes.append(Path(path).name)
                return _real(path, data, *rest, **kw)

            monkeypatch.setattr(module, name, write)

    def lose_catalog() -> None:
        for name in ("catalog.json", "a/collection.json"):
            (out / name).unlink(missing_ok=True)

    names: list[str] = []
    patch(None)
    lose_catalog()
    runner.run(cfg, out, force=True)
    names = list(writes)
    assert {"catalog.json", "manifest.json", "report.html"} <= set(names) and len(names) >= 8, names
    assert any(".png." in n for n in names), names  # the quicklook written beside its final name counted
    for k, name in enumerate(names):
        writes.clear()
        lose_catalog()
        patch(k)
        with pytest.raises(_Stopped):
            runner.run(cfg, out, force=True)
        assert _consistent(out) == [], f"stopped before writing {name}"
        for (module, attr), fn in real.items():
            monkeypatch.setattr(module, attr, fn)
        runner.run(cfg, out)
        assert _consistent(out) == [] and (out / "manifest.json").is_file(), f"after stopping before {name}"


def test_clean_up_leaves_a_nested_run_alone(tmp_path):
    outer, inner = tmp_path / "outer", tmp_path / "outer" / "x" / "inner"
    inner.mkdir(parents=True)
    (inner / ".agromap.lock").write_text("")
    live = inner / ".ndvi.tif.20260101T000000Z-abcdef12.staging.tif"
    live.write_bytes(b"live")
    dead = outer / "x" / ".old.tif.20250101T000000Z-00000000.staging.tif"
    dead.write_bytes(b"dead")
    removed = clean_stale_partials(outer, include_live=True)
    assert removed == [dead] and live.exists()


def test_hanging_scheduler_hits_the_deadline(tmp_path):
    from agromap.pipeline.scheduler import probe_scheduler

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept_and_say_nothing, daemon=True)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(DeadlineError, match="did not answer within 1 s"):
            probe_scheduler(f"tcp://127.0.0.1:{server.getsockname()[1]}", deadline=1.0)
        assert time.monotonic() - start < 5
        assert accepted, "the probe never connected"
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        server.close()


def test_remote_reads_are_opt_in_and_offline_wins(tmp_path, capsys, monkeypatch):
    """A /vsicurl/ path, in the configuration or in a STAC item, is refused before GDAL sees it
    unless the configuration (or --allow-remote) enables remote inputs; AGROMAP_OFFLINE=1 refuses it
    even then. The HTTP server on 127.0.0.1 is contacted only when allowed and not offline."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"/vsicurl/http://127.0.0.1:{server.server_port}/red.tif"
        item = _stac_item(tmp_path, url)
        for inputs in ([{"kind": "files", "datetime": "2021-01-01", "bands": {"red": url, "nir": url}}],
                       [{"kind": "stac_item", "path": str(item), "bands": ["red", "nir"]}]):
            hits.clear()
            code, err = _cli(capsys, "validate", _cfg(tmp_path, inputs))
            assert code == 3, err
            _assert_one_line(err, "remote inputs are not enabled; set allow_remote: true in the run configuration")
            assert hits == []
            monkeypatch.setenv("AGROMAP_OFFLINE", "1")
            code, err = _cli(capsys, "validate", _cfg(tmp_path, inputs, allow_remote=True))
            assert code == 3, err
            _assert_one_line(err, "AGROMAP_OFFLINE is set")
            assert hits == []
            monkeypatch.delenv("AGROMAP_OFFLINE")
            for how in ("config", "--allow-remote"):
                hits.clear()
                if how == "config":
                    code, err = _cli(capsys, "validate", _cfg(tmp_path, inputs, allow_remote=True))
                else:
                    code, err = _cli(capsys, "run", _cfg(tmp_path, inputs), how, "--out", tmp_path / "out")
                assert code == 3, err  # allowed: the request is made, and the server's 404 is reported
                _assert_one_line(err, "cannot be read over the network")
                assert hits and not _published(tmp_path / "out")
    finally:
        server.shutdown()
        server.server_close()
    from agromap.io.trust import allow_inputs, check_local_input

    for path in ("GPKG:/vsicurl/http://example.invalid/x.gpkg:t", "/vsizip//data/a.zip/b.tif",
                 'NETCDF:"/vsis3/bucket/f.nc":no2', "s3://bucket/key.tif"):
        with pytest.raises(UnsafeInputError, match="allow_remote"):
            check_local_input(path)
    with allow_inputs(remote=True):
        assert check_local_input("/vsizip//data/a.zip/b.tif") == "/vsizip//data/a.zip/b.tif"


def test_silent_server_for_a_stac_item_hits_its_deadline(monkeypatch):
    """A server that accepts the connection and never answers: one line after the deadline, no hang."""
    from agromap.errors import InputError
    from agromap.io import stac_items, stac_read
    from agromap.io.trust import allow_inputs

    monkeypatch.setattr(stac_items, "ITEM_TIMEOUT", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        t0 = time.monotonic()
        with allow_inputs(remote=True), pytest.raises(InputError, match="did not answer within 1 s"):
            stac_read.read_items(f"http://127.0.0.1:{server.getsockname()[1]}/item.json")
        assert time.monotonic() - t0 < 30
    finally:
        server.close()


def test_stac_href_outside_the_item_folder_is_opt_in(tmp_path, capsys):
    """``../x.tif`` in an item is refused with the flag to set; allow_outside_paths (or the CLI
    switch) reads it; an asset_root is a second allowed folder."""
    _tif(tmp_path, "x.tif")
    item = _stac_item(tmp_path, "../x.tif")
    inputs = [{"kind": "stac_item", "path": str(item), "bands": ["red", "nir"]}]
    code, err = _cli(capsys, "validate", _cfg(tmp_path, inputs))
    assert code == 3
    _assert_one_line(err, "set allow_outside_paths: true in the run configuration")
    assert _cli(capsys, "validate", _cfg(tmp_path, inputs, allow_outside_paths=True))[0] == 0
    assert _cli(capsys, "validate", _cfg(tmp_path, inputs), "--allow-outside-paths")[0] == 0
    rooted = [{**inputs[0], "asset_root": str(tmp_path)}]
    assert _cli(capsys, "validate", _cfg(tmp_path, rooted))[0] == 0


# --- signals and kills: clean state, the lock released, the manifest never stale -----------------


def _signal_when_staging(agromap_cli: ForkServer, cfg: Path, out: Path, sig: int) -> subprocess.CompletedProcess[str]:
    """Start ``agromap run --force`` and send ``sig`` as soon as its staging files exist (mid-compute)."""
    proc = agromap_cli.popen("run", str(cfg), "--out", str(out), "--force")
    deadline = time.monotonic() + 120
    while not list(out.rglob("*.staging.tif")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.parametrize(("sig", "code", "word"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                (signal.SIGINT, 130, "interrupted")])
def test_a_library_error_while_a_signal_unwinds_still_reports_the_signal(monkeypatch, capsys, sig, code, word):
    """A signal landing inside a library's own clean-up (a rasterio environment being exited) can
    surface as that library's error ("No GDAL environment exists") instead of the interrupt: the
    command still ends as interrupted, with the signal's exit code and one line."""
    import warnings

    from agromap.pipeline import cli

    def signalled_then_broken(*args, **kwargs):
        cli._SIGNALLED.append(sig)
        raise RuntimeError("No GDAL environment exists")

    monkeypatch.setattr(cli, "app", signalled_then_broken)
    monkeypatch.setattr(cli, "_SIGNALLED", [])
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # restored: the exit quiets them
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        with warnings.catch_warnings(), pytest.raises(SystemExit) as ended:
            cli.main()
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
        logging.disable(logging.NOTSET)
    assert ended.value.code == code
    err = capsys.readouterr().err
    _assert_one_line(err, word)
    assert "unexpected" not in err


def test_sigterm_sigint_and_sigkill_leave_a_consistent_folder(tmp_path, capsys, agromap_cli):
    from agromap.io.write import sha256_file

    rng = np.random.default_rng(3)
    bands = {b: str(write_tif(tmp_path / f"{b}.tif", rng.integers(1, 9000, (1024, 1024), dtype=np.uint16),
                              nodata=0, block=512)) for b in ("red", "nir")}
    cfg = _cfg(tmp_path, [{"kind": "files", "datetime": "2021-01-01", "bands": bands}],
               layers=[{"product": "ndvi"}, {"product": "savi"}])
    out = tmp_path / "out"
    _run_ok(capsys, cfg, out)
    assert (out / "manifest.json").is_file()
    for sig, code, word in ((signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")):
        proc = _signal_when_staging(agromap_cli, cfg, out, sig)
        assert proc.returncode == code, proc.stderr
        assert [ln for ln in proc.stderr.splitlines() if ln.startswith("agromap: error:")] == [
            proc.stderr.strip().splitlines()[-1]]
        _assert_one_line(proc.stderr, word)
        assert not [p for p in out.rglob(".*") if p.name.endswith((".partial", ".staging.tif"))]
        # A re-run that replaces layers removed the old manifest before touching them.
        assert not (out / "manifest.json").exists()
    proc = _signal_when_staging(agromap_cli, cfg, out, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL and not (out / "manifest.json").exists()
    _run_ok(capsys, cfg, out, "--wait-lock", "5")  # the lock died with the killed process
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["outputs"]) == 2
    for entry in manifest["outputs"]:
        assert sha256_file(out / entry["path"]) == entry["sha256"]
    assert not [p for p in out.rglob(".*") if p.name.endswith((".partial", ".staging.tif"))]


# --- output folder faults on real file systems: full, read-only ---------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """Mount small tmpfs file systems (needs root or CAP_SYS_ADMIN; skipped otherwise)."""
    mounts: list[Path] = []

    def mount(name: str, options: str) -> Path:
        where = tmp_path / name
        where.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode().strip()}")
        mounts.append(where)
        return where

    yield mount
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _random_cfg(tmp: Path, n: int) -> Path:
    rng = np.random.default_rng(5)
    bands = {b: str(write_tif(tmp / f"{b}.tif", rng.integers(1, 9000, (n, n), dtype=np.uint16), nodata=0,
                              block=256)) for b in ("red", "nir")}
    return _cfg(tmp, [{"kind": "files", "datetime": "2021-01-01", "bands": bands}])


def test_disk_full_is_exit_7_before_or_during_the_run(tmp_path, capsys, tmpfs):
    cfg = _random_cfg(tmp_path, 512)  # a 1 MiB float32 staging file, random (incompressible) values
    tiny = tmpfs("tiny", "size=256k")
    code, err = _cli(capsys, "run", cfg, "--out", tiny / "out")
    assert code == 7, err
    _assert_one_line(err, "disk full")
    assert _published(tiny / "out") == []
    # Room for the staging file but not for the COG as well: the write itself fails, late.
    small = tmpfs("small", "size=1400k")
    code, err = _cli(capsys, "run", cfg, "--out", small / "out")
    assert code == 7, err
    _assert_one_line(err, "disk full")
    assert _published(small / "out") == []
    assert not [p for p in small.rglob(".*") if p.name.endswith((".partial", ".staging.tif"))]


def test_read_only_output_is_exit_7(tmp_path, capsys, tmpfs):
    ro = tmpfs("ro", "ro,size=64k")
    code, err = _cli(capsys, "run", _cfg(tmp_path), "--out", ro / "out")
    assert code == 7, err
    _assert_one_line(err, "read-only")


def test_external_scheduler_dying_mid_run_is_exit_6(tmp_path, agromap_cli):
    """A real scheduler and worker on 127.0.0.1; the scheduler is killed while the run computes."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    addr = f"tcp://127.0.0.1:{port}"
    scheduler = agromap_cli.popen("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                                  module="dask")
    worker = agromap_cli.popen("worker", addr, "--nthreads", "1", "--no-dashboard", module="dask")
    try:
        from distributed import Client

        cfg, out = _random_cfg(tmp_path, 1024), tmp_path / "out"
        with Client(addr, timeout="60s") as client:  # the run starts at once: the cluster must be up first
            client.wait_for_workers(1, timeout=60)
            proc = agromap_cli.popen("run", str(cfg), "--out", str(out), "--scheduler", addr, "--wait-lock", "0")
            deadline = time.monotonic() + 120
            # Computing: the run's tasks are on the scheduler (its staging files are made while it connects).
            while (not client.run_on_scheduler(lambda dask_scheduler: bool(dask_scheduler.tasks))
                   and proc.poll() is None and time.monotonic() < deadline):
                time.sleep(0.01)
        assert proc.poll() is None, proc.communicate()[1]
        scheduler.kill()
        _, err = proc.communicate(timeout=120)
    finally:
        for p in (scheduler, worker):
            p.kill()
            p.wait(timeout=30)
    assert proc.returncode == 6, err
    _assert_one_line(err, "went away while computing")
    assert _published(out) == []
    assert not [p for p in out.rglob(".*") if p.name.endswith((".partial", ".staging.tif"))]


def test_input_corrected_with_same_size_and_mtime_is_recomputed(tmp_path, capsys):
    cfg, out = _cfg(tmp_path), tmp_path / "out"
    _run_ok(capsys, cfg, out)
    red = tmp_path / "red.tif"
    st = red.stat()
    fixed = write_tif(tmp_path / "fixed.tif", np.full((64, 64), 2000, np.uint16), nodata=0)
    assert fixed.stat().st_size == st.st_size
    red.write_bytes(fixed.read_bytes())  # what `cp -p` does: new content, then the old times
    os.utime(red, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert red.stat().st_size == st.st_size and red.stat().st_mtime_ns == st.st_mtime_ns
    _run_ok(capsys, cfg, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [o["reused"] for o in manifest["outputs"]] == [False]
    ndvi = rasterio.open(out / manifest["outputs"][0]["path"]).read(1)
    assert float(ndvi[0, 0]) == pytest.approx((3000 - 2000) / (3000 + 2000), abs=1e-3)


def test_unwritable_output_as_a_normal_user_is_exit_7(tmp_path):
    """Run as user 'nobody' into a root-owned folder: permission denied, one line, exit 7."""
    import shutil
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (to drop to another user) and setpriv")
    shared = Path(tempfile.mkdtemp(prefix="agromap-perm-"))
    try:
        shared.chmod(0o755)
        cfg = _cfg(shared)
        for p in shared.iterdir():
            p.chmod(0o644)
        (shared / "locked").mkdir(mode=0o755)
        as_nobody = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
        # The checkout itself may sit in a folder only root can enter (e.g. made by mktemp -d).
        probe = subprocess.run([*as_nobody, sys.executable, "-c", "import agromap"], capture_output=True, text=True,
                               timeout=60, env={**os.environ, "HOME": str(shared)})
        if probe.returncode != 0:
            pytest.skip(f"user nobody cannot import agromap from this checkout ({probe.stderr.strip()[-120:]})")
        proc = subprocess.run([*as_nobody, sys.executable, "-m", "agromap", "run", str(cfg),
                               "--out", str(shared / "locked" / "out")],
                              capture_output=True, text=True, timeout=300, env={**os.environ, "HOME": str(shared)})
        assert proc.returncode == 7, proc.stderr
        _assert_one_line(proc.stderr, "not writable")
        assert not (shared / "locked" / "out").exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
