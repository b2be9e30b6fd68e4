"""The command line as users and cron call it: real processes, real exit codes.

``--version`` starts a fresh interpreter; the other commands run as processes forked from one that
imported the array stack once (the ``agromap_cli`` fixture, tests/forked_cli.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_version():
    proc = subprocess.run([sys.executable, "-m", "agromap", "--version"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.startswith("agromap 0.")


def test_help_documents_exit_codes(agromap_cli):
    proc = agromap_cli.run("--help", cwd=ROOT)
    assert proc.returncode == 0
    flat = " ".join(proc.stdout.split())
    for text in ("2 bad configuration", "3 input unreadable", "4 no valid data", "5 output directory locked"):
        assert text in flat


def test_show_versions(agromap_cli):
    proc = agromap_cli.run("show-versions", cwd=ROOT)
    assert proc.returncode == 0 and "GDAL:" in proc.stdout and "PROJ:" in proc.stdout


def test_validate_demo_computes_nothing(agromap_cli):
    proc = agromap_cli.run("validate", "pipelines/demo.yaml", cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "hokkaido: 3 scene(s) on 243x266 px in EPSG:32654" in proc.stdout
    assert "configuration and inputs are valid" in proc.stdout


def test_locked_output_exits_5(tmp_path, agromap_cli):
    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".agromap.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = agromap_cli.run("run", "pipelines/demo.yaml", "--out", str(out), "--scheduler", "threads", cwd=ROOT)
    finally:
        os.close(fd)
    assert proc.returncode == 5
    assert proc.stderr.strip().splitlines()[-1].startswith("agromap: error:")
    assert "another agromap run" in proc.stderr
    assert not list(out.rglob("*.tif"))


def test_run_with_a_relative_output_folder(tmp_path, agromap_cli):
    """`make demo` passes a relative --out; every path in the run must hold from the caller's cwd."""
    proc = agromap_cli.run("run", str(ROOT / "pipelines" / "demo.yaml"), "--out", "runs/demo", "--scheduler",
                           "threads", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "runs" / "demo"
    assert (out / "report.html").stat().st_size > 10_000 and (out / "manifest.json").exists()
    assert len(list(out.rglob("*.png"))) == 15
    # Every path the manifest and the STAC items give resolves inside the output folder.
    manifest = json.loads((out / "manifest.json").read_text())
    for o in manifest["outputs"]:
        assert all((out / o[k]).is_file() for k in ("path", "stac_item", "quicklook")), o
        item = json.loads((out / o["stac_item"]).read_text())
        for asset in item["assets"].values():
            assert not Path(asset["href"]).is_absolute() and (out / o["stac_item"]).parent.joinpath(asset["href"]).is_file()


# --- validate's header-only check against the full plan of `agromap run` ------------------------------

PIPELINES = sorted(p.name for p in (ROOT / "pipelines").glob("*.yaml"))
#: Shipped pipelines whose every area the header-only check settles (the others go to the full plan).
LIGHT = {"demo.yaml", "rice.yaml", "rice_model.yaml", "disaster.yaml"}


def _full_plan(cfg) -> list[tuple] | type:
    """(area, scenes, grid shape, CRS, stems) from the plan `agromap run` builds, or the error's class
    (a KeyError included: the command line refuses those too, as an unexpected error)."""
    from agromap.io.grid import crs_name
    from agromap.pipeline.runner import plan_run

    try:
        plans = plan_run(cfg)
    except Exception as exc:
        return type(exc)
    return [(p.config.name, len(p.scenes), tuple(p.geobox.shape), crs_name(p.geobox.crs), [x.stem for x in p.layers])
            for p in plans]


def _light_check(cfg) -> list[tuple] | None:
    """The same from headers, or None when the light check leaves the decision to the full plan."""
    from agromap.errors import AgromapError, PlanNeeded
    from agromap.io.gridspec import crs_name
    from agromap.pipeline.light_plan import check_run

    try:
        areas = check_run(cfg)
    except (PlanNeeded, AgromapError):
        return None
    return [(a.name, a.n_scenes, tuple(a.geobox.shape), crs_name(a.geobox.crs), a.stems) for a in areas]


@pytest.mark.parametrize("name", PIPELINES)
def test_light_check_agrees_with_the_plan_on_shipped_pipelines(name):
    from agromap.pipeline.config import load_config

    cfg = load_config(ROOT / "pipelines" / name)
    light, full = _light_check(cfg), _full_plan(cfg)
    assert isinstance(full, list), full
    if name in LIGHT:
        assert light == full  # same scenes, grid and files, without building a graph
    else:
        assert light is None or light == full


#: Fault cases that hand the command no readable run configuration (a missing argument, a pipe, a
#: device, another command's input): there is nothing for either check to plan.
WITHOUT_CONFIG = {"usage_missing_config", "config_fifo", "config_dev_zero", "rice_points_fifo", "rice_points_garbage",
                  "rice_sample_not_raster", "rice_sample_device", "mapsheet_corrupt_manifest", "serve_corrupt_catalog"}


def _corpus() -> list[Any]:
    from test_71_hardening import CORPUS

    return [c[0] for c in CORPUS if c[0].__name__[3:] not in WITHOUT_CONFIG]


@pytest.mark.parametrize("build", _corpus(), ids=lambda f: f.__name__[3:])
def test_light_check_never_accepts_what_the_plan_refuses_in_the_fault_corpus(tmp_path, build):
    from agromap.errors import AgromapError
    from agromap.pipeline.config import load_config

    args = [str(a) for a in build(tmp_path)]
    configs = [a for a in args if a.endswith(".yaml") and Path(a).is_file()]
    assert configs, "this case passes no configuration file: list it in WITHOUT_CONFIG"
    try:
        cfg = load_config(configs[0])
    except AgromapError:
        return  # refused before either check runs
    light, full = _light_check(cfg), _full_plan(cfg)
    assert light is None or light == full, (light, full)


def _folder_area(tmp: Path, bands: tuple[str, ...], dates: tuple[str, ...] = ("2023-06-01", "2023-07-01", "2023-08-01"),
                 **area: Any) -> dict:
    """An area reading a folder of 32 px single-band files (SAR bands linear, optical DN, scl raw)."""
    import numpy as np

    from conftest import write_tif

    folder = tmp / "tifs"
    folder.mkdir(exist_ok=True)
    sar = all(b in ("vv", "vh") for b in bands)
    for d in dates:
        for b in bands:
            value, dtype = (0.05, "float32") if sar else ((4, "uint8") if b == "scl" else (1200, "uint16"))
            write_tif(folder / f"{d}_{b}.tif", np.full((32, 32), value, dtype))
    inp: dict[str, Any] = {"kind": "folder", "path": str(folder), "bands": list(bands)}
    inp.update({"sar_units": "linear"} if sar else {"scale": 1e-4, "nodata": 0, "raw": ["scl"] if "scl" in bands else []})
    return {"name": "a", "inputs": [inp], **area}


OPTICAL = ("blue", "green", "red", "nir", "swir16", "swir22", "scl")


def _faults(tmp: Path) -> dict[str, Any]:
    """Areas the full plan refuses, each for one reason the light check must see (or leave to the plan)."""
    def area(layers: list[dict], bands: tuple[str, ...] = OPTICAL, **kw: Any) -> Any:
        return lambda: _folder_area(tmp, bands, layers=layers, **kw)  # files written for the case asked

    return {
        "index_band_missing": area([{"product": "ndvi"}], bands=("vv", "vh")),
        "evi_without_blue": area([{"product": "evi"}], bands=("red", "nir")),
        "water_sar_band_missing": area([{"product": "water_mask", "method": "vh"}]),
        "backscatter_band_missing": area([{"product": "backscatter_db", "band": "vv"}], bands=("vh",)),
        "rice_optical_without_blue": area([{"product": "rice", "method": "optical"}],
                                          bands=("red", "nir", "swir16")),
        "rice_sar_without_vh": area([{"product": "rice", "method": "sar"}], bands=("vv",)),
        "rice_unknown_parameter": area([{"product": "rice", "method": "optical", "params": {"no_such": 1}}]),
        "rice_bad_parameter": area([{"product": "rice", "method": "optical", "params": {"max_seasons": 0}}]),
        "rice_lswi_band_missing": area([{"product": "rice", "method": "optical",
                                         "params": {"lswi_nir_band": "nir08"}}]),
        "burn_period_without_dates": area([{"product": "burn_severity", "pre": ["2022-01-01", "2022-02-01"],
                                            "post": ["2023-07-01", "2023-08-01"]}]),
        "burn_without_swir22": area([{"product": "burn_severity", "pre": ["2023-06-01", "2023-06-02"],
                                      "post": ["2023-08-01", "2023-08-02"]}], bands=("red", "nir")),
        "burned_paddy_without_rice": area([{"product": "burned_paddy", "pre": ["2023-06-01", "2023-06-02"],
                                            "post": ["2023-08-01", "2023-08-02"]}]),
        "two_layers_one_file": area([{"product": "ndvi"}, {"product": "ndvi"}]),
        "grid_off_the_inputs": area([{"product": "ndvi"}], grid={"crs": "EPSG:32643", "resolution": 10,
                                                                 "bounds": [0, 0, 320, 320]}),
        "band_index_out_of_range": lambda: _files_area(tmp, band=3),
        "file_without_crs": lambda: _files_area(tmp, crs=None),
        "districts_repeated_ids": area([{"product": "ndvi"}], districts={
            "path": str(_districts(tmp, [(500_000, 1_999_700, "D1"), (500_100, 1_999_750, "D1")])),
            "id_field": "code"}),
        "districts_touching_the_grid_only": area([{"product": "ndvi"}], districts={
            "path": str(_districts(tmp, [(500_320, 1_999_700, "D1")])), "id_field": "code"}),
        "flood_without_a_post_event_date": area([{"product": "flood", "event_date": "2023-09-01"}],
                                                bands=("vv", "vh")),
        "flood_unknown_parameter": area([{"product": "flood", "event_date": "2023-07-01", "params": {"no_such": 1}}],
                                        bands=("vv", "vh")),
        "flood_unknown_split": area([{"product": "flood", "event_date": "2023-07-01",
                                      "params": {"threshold_split": "median"}}], bands=("vv", "vh")),
        "flood_without_water_bands": area([{"product": "flood", "event_date": "2023-07-01"}], bands=("red", "nir")),
        "sar_folder_with_an_optical_band": lambda: {**_folder_area(tmp, ("red", "nir"), layers=[{"product": "ndvi"}]),
                                                    "inputs": [{"kind": "folder", "path": str(tmp / "tifs"),
                                                                "bands": ["red", "nir"], "sar_units": "linear"}]},
        "model_with_sar_bands": area([{"product": "rice", "method": "model", "model": str(
            ROOT / "sample_data" / "models" / "rice_rf.skops")}], bands=("vv", "vh")),
    }


def _files_area(tmp: Path, band: int = 1, crs: str | None = "EPSG:32643") -> dict:
    import numpy as np

    from conftest import write_tif

    red = write_tif(tmp / f"red_{band}_{crs}.tif", np.full((32, 32), 900, "uint16"), crs=crs)
    nir = write_tif(tmp / f"nir_{band}_{crs}.tif", np.full((32, 32), 3000, "uint16"), crs=crs)
    return {"name": "a", "layers": [{"product": "ndvi"}], "inputs": [
        {"kind": "files", "datetime": "2023-06-01", "bands": {"red": [str(red), band], "nir": str(nir)}}]}


def _districts(tmp: Path, squares: list[tuple[float, float, str]]) -> Path:
    """Squares of 100 m (lower-left x, y, code) in EPSG:32643; the test grids cover 500000-500320, 1999680-2000000."""
    features = [{"type": "Feature", "properties": {"code": code}, "geometry": {"type": "Polygon", "coordinates": [[
        [x, y], [x + 100, y], [x + 100, y + 100], [x, y + 100], [x, y]]]}} for x, y, code in squares]
    path = tmp / f"districts_{len(squares)}_{squares[0][0]:.0f}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32643"}}}))
    return path


@pytest.mark.parametrize("fault", [
    "index_band_missing", "evi_without_blue", "water_sar_band_missing", "backscatter_band_missing",
    "rice_optical_without_blue", "rice_sar_without_vh", "rice_unknown_parameter", "rice_bad_parameter",
    "rice_lswi_band_missing", "burn_period_without_dates", "burn_without_swir22", "burned_paddy_without_rice",
    "two_layers_one_file", "grid_off_the_inputs", "band_index_out_of_range", "file_without_crs",
    "districts_repeated_ids", "districts_touching_the_grid_only", "model_with_sar_bands",
    "flood_without_a_post_event_date", "flood_unknown_parameter", "flood_unknown_split", "flood_without_water_bands",
    "sar_folder_with_an_optical_band"])
def test_light_check_leaves_every_fault_to_the_plan(tmp_path, fault):
    from agromap.pipeline.config import parse_config

    cfg = parse_config({"version": 1, "name": "f", "areas": [_faults(tmp_path)[fault]()]}, base_dir=tmp_path)
    full = _full_plan(cfg)
    assert isinstance(full, type), f"the plan accepts {fault}: the case tests nothing"
    assert _light_check(cfg) is None
    good = parse_config({"version": 1, "name": "f", "areas": [_folder_area(tmp_path, OPTICAL, layers=[
        {"product": "ndvi"}, {"product": "rice", "method": "optical"}])]}, base_dir=tmp_path)
    assert _light_check(good) == _full_plan(good) != []  # and the same folder, valid, is settled


def test_burn_severity_without_swir22_is_a_missing_band_not_a_crash(tmp_path):
    from agromap.errors import MissingBandError
    from agromap.pipeline.config import parse_config
    from agromap.pipeline.runner import plan_run

    cfg = parse_config({"version": 1, "name": "f", "areas": [_faults(tmp_path)["burn_without_swir22"]()]},
                       base_dir=tmp_path)
    with pytest.raises(MissingBandError, match="burn_severity needs the nir and swir22 bands"):
        plan_run(cfg)


def _model_copy(tmp: Path, name: str, edit: Any = None) -> Path:
    """The shipped model re-packed, with ``edit(members)`` applied to its {name: bytes} first."""
    import zipfile

    with zipfile.ZipFile(ROOT / "sample_data" / "models" / "rice_rf.skops") as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    if edit is not None:
        edit(members)
    out = tmp / f"{name}.skops"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for key, data in members.items():
            dst.writestr(key, data)
    return out


def _edit_schema(change: Any) -> Any:
    def edit(members: dict[str, bytes]) -> None:
        schema = json.loads(members["schema.json"])
        change(schema)
        members["schema.json"] = json.dumps(schema).encode()
    return edit


def _first_tree(schema: dict) -> dict:
    return schema["content"]["estimator"]["content"]["content"]["estimators_"]["content"][0]["content"]["content"]


def _break_first_tree(members: dict[str, bytes]) -> None:
    import io

    import numpy as np

    schema = json.loads(members["schema.json"])
    file = _first_tree(schema)["tree_"]["content"]["content"]["nodes"]["file"]
    nodes = np.load(io.BytesIO(members[file]))
    nodes["left_child"][0] = 10**6  # a node index far past the tree's end
    buf = io.BytesIO()
    np.save(buf, nodes)
    members[file] = buf.getvalue()


def _set_versions(node: Any, version: str) -> None:
    """Every ``_sklearn_version`` of the schema (skops loads one value per id, so all must change)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_sklearn_version":
                value["content"] = version
            else:
                _set_versions(value, version)
    elif isinstance(node, list):
        for value in node:
            _set_versions(value, version)


MODEL_CASES = {
    "repacked": None,  # the same forest in other bytes: valid without a pin
    "other_sklearn": _edit_schema(lambda s: _set_versions(s, '"0.24.2"')),
    "other_format": _edit_schema(lambda s: s["content"]["format"].update(content='"something-else"')),
    "untrusted_type": _edit_schema(lambda s: s["content"]["estimator"]["content"]["content"]["estimators_"]["content"][0]
                                   .update(__module__="os")),
    "tree_index_out_of_range": _break_first_tree,
    "positive_class_not_a_class": _edit_schema(lambda s: s["content"]["positive_class"].update(content="7", __id__=1)),
    "one_name_too_many": _edit_schema(lambda s: s["content"]["feature_names"]["content"].append(
        {**s["content"]["feature_names"]["content"][0], "__id__": 1, "content": '"extra"'})),
}


@pytest.mark.parametrize("case", list(MODEL_CASES))
def test_light_model_check_agrees_with_loading_the_model(tmp_path, case):
    import yaml

    from agromap.pipeline.config import parse_config

    data = yaml.safe_load((ROOT / "pipelines" / "rice_model.yaml").read_text())
    layer = data["areas"][0]["layers"][0]
    layer["model"] = str(_model_copy(tmp_path, case, MODEL_CASES[case]))
    del layer["model_sha256"]
    cfg = parse_config(data, base_dir=ROOT / "pipelines")
    light, full = _light_check(cfg), _full_plan(cfg)
    if case == "repacked":
        assert isinstance(full, list) and light == full
    else:
        assert isinstance(full, type), f"loading accepts {case}: the case tests nothing"
        assert light is None


def _tiles_area(tmp: Path, second_x: float = 500_320.0, **area: Any) -> dict:
    """Two 32 px tiles (side by side by default), read as files inputs at two times of one day, and a later date."""
    import numpy as np

    from conftest import write_tif

    inputs = []
    for k, (x0, when) in enumerate(((500_000.0, "2023-06-01T05:10:00"), (second_x, "2023-06-01T05:40:00"),
                                    (500_000.0, "2023-06-11T05:10:00"))):
        red = write_tif(tmp / f"red{k}.tif", np.full((32, 32), 900, "uint16"), origin=(x0, 2_000_000.0), nodata=0)
        nir = write_tif(tmp / f"nir{k}.tif", np.full((32, 32), 3000, "uint16"), origin=(x0, 2_000_000.0), nodata=0)
        inputs.append({"kind": "files", "datetime": when, "bands": {"red": str(red), "nir": str(nir)}})
    return {"name": "tiles", "inputs": inputs, "layers": [{"product": "ndvi"}, {"product": "ndvi", "time": "max"}],
            **area}


def _orbit_folder(tmp: Path) -> dict:
    import numpy as np

    from conftest import write_tif

    folder = tmp / "s1"
    folder.mkdir()
    for d, orbit in (("2023-06-01", "65"), ("2023-06-13", "65"), ("2023-06-13", "138"), ("2023-06-25", "65")):
        for b in ("vv", "vh"):
            write_tif(folder / f"{d}_{orbit}_{b}.tif", np.full((32, 32), 0.04, "float32"))
    return {"name": "tracks", "inputs": [{"kind": "folder", "path": str(folder), "bands": ["vv", "vh"],
                                          "pattern": "{date}_{orbit}_{band}.tif", "sar_units": "linear"}],
            "layers": [{"product": "rice", "method": "sar", "speckle_filter": 0},
                       {"product": "backscatter_db", "band": "vh"}]}


@pytest.mark.parametrize("case", ["tiles_by_solar_day", "tiles_by_time", "tiles_on_a_declared_grid", "orbit_tracks"])
def test_light_check_builds_the_same_dates_and_grid(tmp_path, case):
    from agromap.pipeline.config import parse_config

    area = {"tiles_by_solar_day": lambda: _tiles_area(tmp_path),
            # two dates on one day: one layer per date would write one file twice, a reduction does not
            "tiles_by_time": lambda: {**_tiles_area(tmp_path, 500_000.0, dates={"group_by": "time"}),
                                      "layers": [{"product": "ndvi", "time": "max"}]},
            "tiles_on_a_declared_grid": lambda: _tiles_area(tmp_path, grid={
                "crs": "EPSG:4326", "resolution": 0.0001, "bounds": [75.0, 18.0856, 75.006, 18.0886]}),
            "orbit_tracks": lambda: _orbit_folder(tmp_path)}[case]()
    cfg = parse_config({"version": 1, "name": "g", "areas": [area]}, base_dir=tmp_path)
    full = _full_plan(cfg)
    assert isinstance(full, list), full
    assert _light_check(cfg) == full
