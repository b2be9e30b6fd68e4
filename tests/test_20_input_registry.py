"""The input registry: one loader per configuration ``kind``, asked by the runner and checked by validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from agromap.errors import ConfigError, InputError
from agromap.io.loaders import load_folder
from agromap.pipeline import input_registry
from agromap.pipeline.config import INPUT_KINDS, parse_config
from agromap.pipeline.input_registry import get_loader, input_kinds, load_input, loaders
from agromap.pipeline.runner import plan_run
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

ROOT = Path(__file__).resolve().parents[1]


def _config(inputs: list[dict]) -> dict:
    return {"areas": [{"name": "a", "inputs": inputs, "layers": [{"product": "ndvi"}]}]}


def test_every_configured_kind_has_exactly_one_loader():
    assert set(INPUT_KINDS) == set(input_kinds())
    assert len(input_kinds()) == len(set(input_kinds())) == 11
    assert all(loaders()[k].kind == k and callable(loaders()[k].load) for k in input_kinds())


def test_unknown_kind_is_a_config_error_naming_the_known_kinds():
    with pytest.raises(ConfigError, match=r"inputs\.0\.kind: unknown input kind 'modis'") as err:
        parse_config(_config([{"kind": "modis", "path": "x.hdf"}]))
    assert all(k in str(err.value) for k in INPUT_KINDS)
    assert "product" not in str(err.value)  # it used to be reported as an unknown product
    with pytest.raises(ConfigError, match="no 'kind' given; choose one of files, "):
        parse_config(_config([{"path": "x.tif"}]))
    with pytest.raises(ConfigError, match="unknown input kind 'modis'; choose one of files, "):
        get_loader("modis")


def test_validate_refuses_a_kind_without_loader_before_opening_anything(tmp_path):
    # The path does not exist: reaching a loader would raise InputError, not ConfigError.
    cfg = parse_config(_config([{"kind": "folder", "path": "missing", "bands": ["red"]}]), base_dir=tmp_path)
    with pytest.raises(InputError):
        plan_run(cfg)
    area = cfg.areas[0].model_copy(update={"inputs": [SimpleNamespace(kind="modis")]})
    odd = cfg.model_copy(update={"areas": [area]})
    with pytest.raises(ConfigError, match=r"area a, inputs\.0: unknown input kind 'modis'"):
        plan_run(odd)


def test_cli_validate_reports_an_unknown_kind_in_one_line(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config([{"kind": "modis", "path": "x.hdf"}])))
    proc = subprocess.run([sys.executable, "-m", "agromap", "validate", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agromap: error: ") and "unknown input kind 'modis'" in lines[0]


def test_registry_loader_gives_the_reader_s_scenes(tmp_path):
    bands = ["red", "nir", "scl"]
    stack = make_s2_stack(SceneSpec(shape=(32, 32), dates=("2023-06-01", "2023-07-01"), chunk=32, seed=5))[bands]
    write_stack_geotiffs(stack, tmp_path / "tifs")
    entry = {"kind": "folder", "path": "tifs", "bands": bands, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}
    cfg = parse_config(_config([entry]), base_dir=tmp_path)
    got = load_input(cfg, cfg.areas[0].inputs[0], cfg.areas[0])
    direct = load_folder(tmp_path / "tifs", bands=tuple(bands), scale=1e-4, nodata=0, raw=("scl",), chunk=cfg.chunk)
    assert [s.id for s in got] == [s.id for s in direct] == ["tifs-2023-06-01", "tifs-2023-07-01"]
    for a, b in zip(got, direct, strict=True):
        assert a.datetime == b.datetime and set(a.bands) == set(bands)
        for name in bands:
            np.testing.assert_array_equal(a.bands[name].values, b.bands[name].values)


def test_a_kind_registered_twice_is_refused(monkeypatch):
    monkeypatch.setattr(input_registry, "MODULES", (*input_registry.MODULES, "agromap.pipeline.aq_inputs"))
    loaders.cache_clear()
    try:
        with pytest.raises(ConfigError, match="input kind 's5p_l2' is registered twice"):
            loaders()
    finally:
        monkeypatch.undo()
        loaders.cache_clear()
    assert "s5p_l2" in input_kinds()


def _agromap_imports(path: Path) -> set[str]:
    """``agromap`` modules and outside packages imported by a module (function-level imports too)."""
    import ast

    pkg = ["agromap", *path.relative_to(ROOT / "src" / "agromap").parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            out.add(".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_readers_import_no_science_and_air_quality_opens_no_file():
    """io/ and sensors/ sit below the science; air quality reads files only through io/."""
    below = ("agromap.io", "agromap.sensors", "agromap.errors", "agromap.units", "agromap._lazy", "agromap._version",
             "agromap.jit")
    for layer in ("io", "sensors"):
        for path in (ROOT / "src" / "agromap" / layer).glob("*.py"):
            own = {m for m in _agromap_imports(path) if m.startswith("agromap")}
            assert all(m.startswith(below) for m in own), (path.name, sorted(own))
    openers = ("netCDF4", "h5py", "rasterio", "agromap.io.read")
    for path in (ROOT / "src" / "agromap" / "airquality").glob("*.py"):
        assert not [m for m in _agromap_imports(path) if m.startswith(openers)], path.name
        assert not _file_calls(path.read_text()), (path.name, _file_calls(path.read_text()))


# Calls that open, read or write a file by path; reading a table already in memory is fine.
_FILE_FUNCS = {"open"}
_FILE_METHODS = {"read_csv", "read_table", "read_json", "read_parquet", "read_excel", "to_csv", "to_json",
                 "to_parquet", "read_text", "write_text", "read_bytes", "write_bytes", "open_dataset",
                 "open_rasterio", "to_netcdf"}
_FILE_MODULE_FUNCS = {("json", "load"), ("json", "dump"), ("os", "replace"), ("os", "open"), ("np", "load"),
                      ("np", "save"), ("shutil", "copy")}


def _file_calls(source: str) -> list[str]:
    """Names of file-opening calls in ``source``; the packaged AQI tables (``resources.files``) are code."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in _FILE_FUNCS:
            found.append(f.id)
        elif isinstance(f, ast.Attribute):
            owner = f.value.id if isinstance(f.value, ast.Name) else None
            packaged = "resources.files(" in ast.unparse(f.value)
            if (owner, f.attr) in _FILE_MODULE_FUNCS or (f.attr in _FILE_METHODS and not packaged):
                found.append(f"{owner or ast.unparse(f.value)}.{f.attr}")
    return found


def test_the_file_call_check_sees_the_usual_ways_to_open_a_file():
    src = ("import json, pandas as pd\nwith open(p) as f: json.load(f)\ndf = pd.read_csv(p)\n"
           "Path(p).write_text(t)\ndf.to_csv(p)\nok = json.loads(text)\n"
           "resources.files('agromap.airquality').joinpath('tables', n).read_text()\n")
    assert sorted(_file_calls(src)) == sorted(["open", "json.load", "pd.read_csv", "Path(p).write_text", "df.to_csv"])
