"""A corpus of bad inputs: each gets its own one-line error and exit code, and leaves no output.

Every case is a real ``python -m agromap run`` process with its own exit status and stderr. The
processes are forked from one interpreter that has already imported the array stack (the
``agromap_cli`` fork server, tests/forked_cli.py), so the corpus pays the ~2 CPU-s import once
instead of once per case; from the fork on, each case runs exactly as ``python -m agromap``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml

from conftest import write_tif

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
S2 = SAMPLES / "sentinel2_l2a_29RKH_20200219"


def _config(tmp: Path, inputs: list[dict], layers: list[dict] | None = None, **extra: object) -> Path:
    cfg = {"version": 1, "name": "bad", "scheduler": "threads",
           "areas": [{"name": "a", "inputs": inputs, "layers": layers or [{"product": "ndvi"}]}], **extra}
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _files_input(red: Path, nir: Path | None = None, **kw: object) -> dict:
    return {"kind": "files", "datetime": "2021-01-01", "bands": {"red": str(red), "nir": str(nir or red)}, **kw}


def _good(tmp: Path) -> Path:
    return write_tif(tmp / "good.tif", np.full((600, 600), 3000, np.uint16), nodata=0, block=512)


def test_forked_case_equals_a_fresh_process(agromap_cli, tmp_path):
    """The harness itself: a forked child answers as a fresh ``python -m agromap`` does."""
    config = _case_corrupt_tile(tmp_path)
    fresh = subprocess.run([sys.executable, "-m", "agromap", "run", str(config), "--out", str(tmp_path / "a")],
                           capture_output=True, text=True, timeout=300)
    forked = agromap_cli.run("run", str(config), "--out", str(tmp_path / "b"))
    assert fresh.returncode == forked.returncode == 3, (fresh.stderr, forked.stderr)
    assert forked.stderr.splitlines()[-1] == fresh.stderr.splitlines()[-1]
    assert forked.stderr.splitlines()[-1].startswith("agromap: error: ")
    done = agromap_cli.run("--help")
    assert done.returncode == 0 and "rice-train" in done.stdout


def _case_truncated(tmp: Path) -> Path:
    src = _good(tmp).read_bytes()
    cut = tmp / "cut.tif"
    cut.write_bytes(src[: int(len(src) * 0.6)])
    return _config(tmp, [_files_input(cut)])


def _case_corrupt_tile(tmp: Path) -> Path:
    rng = np.random.default_rng(1)
    path = write_tif(tmp / "noisy.tif", rng.integers(1, 9000, (600, 600), dtype=np.uint16), nodata=0, block=512)
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))
    raw = bytearray(path.read_bytes())
    raw[offset:offset + 4000] = b"\xff" * 4000  # header intact, first tile undecodable
    path.write_bytes(bytes(raw))
    return _config(tmp, [_files_input(path)])


def _case_huge_header(tmp: Path) -> Path:
    huge = tmp / "huge.tif"
    with rasterio.open(huge, "w", driver="GTiff", width=100_000, height=100_000, count=1, dtype="uint8",
                       crs="EPSG:32643", transform=rasterio.Affine(10, 0, 500_000, 0, -10, 2_000_000),
                       tiled=True, blockxsize=512, blockysize=512, sparse_ok=True):
        pass
    return _config(tmp, [_files_input(huge)])


def _case_text_file(tmp: Path) -> Path:
    bad = tmp / "notes.tif"
    bad.write_text("field notes, not a raster\n")
    return _config(tmp, [_files_input(bad)])


def _case_empty_file(tmp: Path) -> Path:
    empty = tmp / "empty.tif"
    empty.write_bytes(b"")
    return _config(tmp, [_files_input(empty)])


def _case_missing_file(tmp: Path) -> Path:
    return _config(tmp, [_files_input(tmp / "nowhere.tif")])


def _case_missing_band(tmp: Path) -> Path:
    good = _good(tmp)
    return _config(tmp, [{"kind": "files", "datetime": "2021-01-01", "bands": {"red": [str(good), 7], "nir": str(good)}}])


def _case_band_not_in_product(tmp: Path) -> Path:
    return _config(tmp, [{"kind": "sentinel2_l2a", "path": str(S2), "bands": ["red", "nir", "rededge9"]}])


def _case_index_needs_absent_band(tmp: Path) -> Path:
    good = _good(tmp)
    return _config(tmp, [{"kind": "files", "datetime": "2021-01-01", "bands": {"red": str(good)}}])


def _case_no_crs(tmp: Path) -> Path:
    nocrs = write_tif(tmp / "nocrs.tif", np.ones((8, 8), np.uint16), crs=None)
    return _config(tmp, [_files_input(nocrs)])


def _case_no_overlap(tmp: Path) -> Path:
    a = write_tif(tmp / "a.tif", np.ones((8, 8), np.uint16), origin=(500_000, 2_000_000))
    b = write_tif(tmp / "b.tif", np.ones((8, 8), np.uint16), origin=(700_000, 2_000_000))
    return _config(tmp, [_files_input(a), {**_files_input(b), "datetime": "2021-02-01"}])


def _case_sar_band_for_optical_index(tmp: Path) -> Path:
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2021-01-01", "units": "linear",
                          "bands": {"vh": str(_good(tmp))}}])


def _case_s2_without_baseline(tmp: Path) -> Path:
    folder = tmp / "S2_unknown"
    folder.mkdir()
    for band in ("B04", "B08"):
        write_tif(folder / f"{band}.tif", np.full((8, 8), 2000, np.uint16), nodata=0)
    return _config(tmp, [{"kind": "sentinel2_l2a", "path": str(folder), "bands": ["red", "nir"]}])


def _case_remote_href(tmp: Path) -> Path:
    import json

    item = json.loads((S2 / "S2A_29RKH_20200219_0_L2A.json").read_text())
    for asset in item["assets"].values():
        asset["href"] = "https://example.invalid/" + asset["href"].rsplit("/", 1)[-1]
    p = tmp / "item.json"
    p.write_text(json.dumps(item))
    return _config(tmp, [{"kind": "stac_item", "path": str(p), "bands": ["red", "nir"]}])


def _case_all_cloud(tmp: Path) -> Path:
    folder = tmp / "S2A_MSIL2A_20220601T100000_N0400_R022_T43QCU_20220601T120000"
    folder.mkdir()
    for band in ("B04", "B08"):
        write_tif(folder / f"{band}.tif", np.full((16, 16), 3000, np.uint16), nodata=0)
    write_tif(folder / "SCL.tif", np.full((16, 16), 9, np.uint8), nodata=0)  # high-probability cloud
    return _config(tmp, [{"kind": "sentinel2_l2a", "path": str(folder), "bands": ["red", "nir", "scl"]}])


def _yaml_text(tmp: Path, text: str) -> Path:
    p = tmp / "run.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def _case_unknown_key(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp), colour="blue")])


def _case_unknown_top_key(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], schedular="threads")


def _case_wrong_type(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], chunk="big")


def _case_bad_chunk(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], chunk=1000)


def _case_duplicate_key(tmp: Path) -> Path:
    return _yaml_text(tmp, """\
        version: 1
        name: dup
        name: dup2
        areas: []
        """)


def _case_not_yaml(tmp: Path) -> Path:
    return _yaml_text(tmp, "areas: [unclosed\n  - x: {\n")


def _case_not_a_mapping(tmp: Path) -> Path:
    return _yaml_text(tmp, "- just\n- a list\n")


def _case_unknown_product(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], layers=[{"product": "ndvii"}])


def _case_water_without_method(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], layers=[{"product": "water_mask"}])


def _case_bad_units(tmp: Path) -> Path:
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2021-01-01", "units": "dBz",
                          "bands": {"vh": str(_good(tmp))}}])


def _case_bad_grid_crs(tmp: Path) -> Path:
    cfg = _config(tmp, [_files_input(_good(tmp))])
    data = yaml.safe_load(cfg.read_text())
    data["areas"][0]["grid"] = {"crs": "EPSG:99999", "resolution": 10}
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def _case_bad_date(tmp: Path) -> Path:
    return _config(tmp, [{**_files_input(_good(tmp)), "datetime": "last tuesday"}])


def _case_duplicate_area(tmp: Path) -> Path:
    cfg = _config(tmp, [_files_input(_good(tmp))])
    data = yaml.safe_load(cfg.read_text())
    data["areas"].append(data["areas"][0])
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def _case_scl_as_float(tmp: Path) -> Path:
    scl = write_tif(tmp / "scl.tif", np.full((8, 8), 4, np.uint8), nodata=0)
    red = write_tif(tmp / "red.tif", np.full((8, 8), 900, np.uint16), nodata=0)
    # SCL listed without `raw`, so it is scaled to float like a reflectance band.
    return _config(tmp, [{"kind": "files", "datetime": "2021-01-01", "scale": 1e-4,
                          "bands": {"red": str(red), "nir": str(red), "scl": str(scl)}}])


def _case_area_path_escape(tmp: Path) -> Path:
    cfg = _config(tmp, [_files_input(_good(tmp))])
    data = yaml.safe_load(cfg.read_text())
    data["areas"][0]["name"] = "../../outside"
    cfg.write_text(yaml.safe_dump(data))
    return cfg


def _case_run_name_path_escape(tmp: Path) -> Path:
    return _config(tmp, [_files_input(_good(tmp))], name="/etc/agromap")


def _case_db_declared_linear(tmp: Path) -> Path:
    s1 = SAMPLES / "sen1floods11_india" / "India_900498_S1Hand.tif"
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2016-08-12", "units": "linear",
                          "bands": {"vv": [str(s1), 1], "vh": [str(s1), 2]}}],
                   layers=[{"product": "flood", "event_date": "2016-08-12"}])


def _case_linear_declared_db(tmp: Path) -> Path:
    lin = write_tif(tmp / "lin.tif", np.full((2, 64, 64), 0.02, np.float32), nodata=float("nan"))
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2016-08-12", "units": "db",
                          "bands": {"vv": [str(lin), 1], "vh": [str(lin), 2]}}],
                   layers=[{"product": "flood", "event_date": "2016-08-12"}])


def _case_all_nan_sar(tmp: Path) -> Path:
    empty = write_tif(tmp / "nan.tif", np.full((2, 64, 64), np.nan, np.float32), nodata=float("nan"))
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2016-08-12", "units": "db",
                          "bands": {"vv": [str(empty), 1], "vh": [str(empty), 2]}}],
                   layers=[{"product": "flood", "event_date": "2016-08-12"}])


def _case_no_sar_after_event(tmp: Path) -> Path:
    s1 = SAMPLES / "sen1floods11_india" / "India_900498_S1Hand.tif"
    return _config(tmp, [{"kind": "sentinel1", "datetime": "2016-08-12", "units": "db",
                          "bands": {"vv": [str(s1), 1], "vh": [str(s1), 2]}}],
                   layers=[{"product": "flood", "event_date": "2016-09-01"}])


def _case_missing_config(tmp: Path) -> Path:
    return tmp / "does-not-exist.yaml"


def _case_config_is_a_device(tmp: Path) -> Path:
    return Path("/dev/zero")  # read whole, this would be gigabytes of NUL bytes


def _case_raster_is_a_pipe(tmp: Path) -> Path:
    import os

    os.mkfifo(tmp / "pipe.tif")  # opening it would block forever
    return _config(tmp, [_files_input(tmp / "pipe.tif")])


CASES = [
    # (builder, exit code, text the one-line error must contain)
    (_case_truncated, 3, "truncated TIFF"),
    (_case_corrupt_tile, 3, "failed to decode"),
    (_case_huge_header, 3, "above the budget"),
    (_case_text_file, 3, "not a readable raster"),
    (_case_empty_file, 3, "file is empty"),
    (_case_missing_file, 3, "file not found"),
    (_case_missing_band, 3, "band 7 requested but the file has 1"),
    (_case_band_not_in_product, 3, "'rededge9' is not a Sentinel-2 L2A band"),
    (_case_index_needs_absent_band, 3, "nir"),
    (_case_no_crs, 3, "no coordinate reference system"),
    (_case_no_overlap, 3, "does not overlap the run grid"),
    (_case_sar_band_for_optical_index, 3, "nir"),
    (_case_s2_without_baseline, 3, "cannot decide the Sentinel-2 L2A BOA offset"),
    (_case_remote_href, 3, "remote inputs are not enabled; set allow_remote: true"),
    (_case_all_cloud, 4, "every layer of the run is nodata"),
    (_case_unknown_key, 2, "areas.0.inputs.0.files.colour: unknown key"),
    (_case_unknown_top_key, 2, "schedular: unknown key"),
    (_case_wrong_type, 2, "chunk: Input should be a valid integer"),
    (_case_bad_chunk, 2, "chunk: Input should be a multiple of 256"),
    (_case_duplicate_key, 2, "duplicate key 'name' at line 3"),
    (_case_not_yaml, 2, "not valid YAML"),
    (_case_not_a_mapping, 2, "top level must be a mapping"),
    (_case_unknown_product, 2, "areas.0.layers.0.product"),
    (_case_water_without_method, 2, "areas.0.layers.0.water_mask.method: Field required"),
    (_case_bad_units, 2, "units"),
    (_case_bad_grid_crs, 2, "grid.crs 'EPSG:99999'"),
    (_case_bad_date, 3, "is not an ISO date"),
    (_case_duplicate_area, 2, "area names must be unique"),
    (_case_missing_config, 2, "cannot read the configuration"),
    (_case_scl_as_float, 3, "scl"),
    (_case_db_declared_linear, 3, "declared linear power but 100% of its values are <= 0"),
    (_case_linear_declared_db, 3, "declared dB but 100% of its values are > 0 dB"),
    (_case_all_nan_sar, 4, "no valid pixel"),
    (_case_no_sar_after_event, 4, "no Sentinel-1 date on or after the event 2016-09-01"),
    (_case_area_path_escape, 2, "areas.0.name: String should match pattern"),
    (_case_run_name_path_escape, 2, "name: String should match pattern"),
    # Inputs that would hang or exhaust a real process; the full set of operator faults and hostile
    # inputs runs in-process (same entry point, faster) in tests/test_71_hardening.py.
    (_case_config_is_a_device, 2, "not a regular file"),
    (_case_raster_is_a_pipe, 3, "is a named pipe (FIFO)"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("build", "code", "text"), CASES, ids=[c[0].__name__[6:] for c in CASES])
def test_bad_input_gets_its_own_error(agromap_cli, tmp_path, build, code, text):
    config = build(tmp_path)
    out = tmp_path / "out"
    proc = agromap_cli.run("run", str(config), "--out", str(out))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stderr
    assert lines and lines[-1].startswith("agromap: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    assert text in lines[-1], lines[-1]
    if code != 4:  # an all-cloud run publishes its (empty) layers and says so
        assert not list(out.rglob("*.tif")) if out.exists() else True
    assert not list(out.rglob("*.partial")) if out.exists() else True
    assert not list(out.rglob("*staging*")) if out.exists() else True


def test_huge_header_refused_fast_under_memory_limit(tmp_path):
    """The bomb guard reads no pixel: the refusal takes < 1 s inside a 1 GiB address-space limit."""
    config = _case_huge_header(tmp_path)
    assert config.exists() and (tmp_path / "huge.tif").stat().st_size < 10_000_000
    code = textwrap.dedent(f"""
        import resource, time
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from agromap.io.read import open_band
        from agromap.errors import RasterTooLargeError
        t = time.perf_counter()
        try:
            open_band({str(tmp_path / 'huge.tif')!r})
        except RasterTooLargeError:
            print("refused", time.perf_counter() - t)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("refused"), proc.stderr
    assert float(proc.stdout.split()[1]) < 1.0


def test_corpus_is_large_enough():
    from test_71_hardening import CORPUS

    assert len(CASES) >= 38 and len(CASES) + len(CORPUS) >= 75
    assert resource is not None and time is not None
