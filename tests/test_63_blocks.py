"""An area computed as successive graphs over spatial blocks gives the bytes of the one-graph run."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import xarray as xr
import yaml

from agromap.errors import ConfigError
from agromap.pipeline import blocks, compute_layers, runner
from agromap.pipeline.config import load_config, parse_config

DELTA = Path(__file__).resolve().parents[1] / "sample_data" / "synthetic_rice_delta"
S2 = ["green", "nir", "swir16", "scl"]


def _outputs(out: Path) -> dict[str, str]:
    """Digests of every file a person reads: COGs, quicklooks, tables and accuracy reports."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*"))
            if p.suffix in (".tif", ".png", ".csv") or p.name.startswith("accuracy")}


def _config(tmp_path: Path, **extra: Any) -> Path:
    """The synthetic delta on a 5 m grid (320 px: 2 x 2 chunks of 256 px), with a layer that needs
    a halo (the SAR rice rule's speckle filter) and an accuracy report, one that depends on
    area-wide thresholds (flood, fused with the optical bands), district tables and the SCL mask."""
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"name": "blocks", "scheduler": "threads", "chunk": 256, **extra, "areas": [{
        "name": "delta",
        "grid": {"crs": "EPSG:32644", "resolution": 5.0},
        "inputs": [
            {"kind": "folder", "path": str(DELTA / "s1"), "bands": ["vv", "vh"], "sar_units": "linear"},
            {"kind": "folder", "path": str(DELTA / "s2"), "bands": S2, "scale": 1e-4, "nodata": 0, "raw": ["scl"]}],
        "layers": [
            {"product": "rice", "method": "sar", "reference_sample": str(DELTA / "reference_sample.geojson")},
            {"product": "flood", "event_date": "2023-08-30", "params": {"reference_frequency": 0.5}},
        ],
        "districts": {"path": str(DELTA / "districts.geojson"), "id_field": "district_id", "name_field": "name"},
    }]}))
    return path


def test_blocked_run_is_the_one_graph_run(tmp_path, monkeypatch):
    graphs: list[int] = []
    real = compute_layers._run_graph

    def counted(execu, todo, grids):
        graphs.append(len(todo))
        return real(execu, todo, grids)

    monkeypatch.setattr(compute_layers, "_run_graph", counted)
    one = runner.run(load_config(_config(tmp_path)), tmp_path / "one")
    assert len(graphs) == 1
    graphs.clear()
    blocked = runner.run(load_config(_config(tmp_path, max_graph_chunks=1)), tmp_path / "blocked")
    # Both flood layers (area-wide thresholds) in one graph, then one graph per 256 px block with
    # every other layer and the block's count of usable pixels.
    assert len(graphs) == 1 + 4
    flood = sum(o["layer"].startswith("flood") for o in blocked.outputs)
    assert flood == 2 and graphs[1:] == [len(blocked.outputs) - flood + 1] * 4
    a, b = _outputs(tmp_path / "one"), _outputs(tmp_path / "blocked")
    assert sum(k.endswith(".tif") for k in a) >= 8 and any(k.endswith(".csv") for k in a)
    assert any(k.endswith(".json") and "accuracy" in k for k in a)
    assert a == b
    assert one.manifest["valid_fraction_by_date"] == blocked.manifest["valid_fraction_by_date"]
    assert one.manifest["accuracy"] == blocked.manifest["accuracy"]
    flood_one = [o.get("values") for o in one.outputs if o["layer"] == "flood_class"]
    flood_blocked = [o.get("values") for o in blocked.outputs if o["layer"] == "flood_class"]
    assert flood_one == flood_blocked and flood_one[0]


def _stack(shape: tuple[int, int, int], chunk: int) -> xr.Dataset:
    import dask.array as da

    data = da.zeros(shape, chunks=(1, chunk, chunk), dtype="float32")
    return xr.Dataset({"red": (("time", "y", "x"), data), "nir": (("time", "y", "x"), data)})


def test_block_windows_cover_the_grid_on_tile_borders():
    ds = _stack((3, 1100, 1300), 256)  # 5 x 6 chunks, 6 input chunks behind each
    assert blocks.input_chunks(ds) == 180
    assert blocks.block_windows(ds, 180) is None
    windows = blocks.block_windows(ds, 60)  # 10 spatial chunks a graph: 3 x 3, rounded to 2 x 2 (512 px)
    assert windows is not None and len(windows) == 3 * 3
    assert {w[0].start for w in windows} == {0, 512, 1024} and {w[1].start for w in windows} == {0, 512, 1024}
    covered = sum((w[0].stop - w[0].start) * (w[1].stop - w[1].start) for w in windows)
    assert covered == 1100 * 1300
    assert len(blocks.block_windows(ds, 1) or []) == 30  # never less than one chunk
    assert blocks.max_graph_chunks(None) == blocks.AUTO_MAX_GRAPH_CHUNKS and blocks.max_graph_chunks(7) == 7


@pytest.mark.parametrize("value", [0, -5, "many", 2.5])
def test_max_graph_chunks_is_validated(value):
    base = {"areas": [{"name": "a", "inputs": [{"kind": "folder", "path": "x", "bands": ["red"]}],
                       "layers": [{"product": "ndvi"}]}]}
    assert parse_config(base).max_graph_chunks is None
    assert parse_config({**base, "max_graph_chunks": 2000}).max_graph_chunks == 2000
    with pytest.raises(ConfigError, match="max_graph_chunks"):
        parse_config({**base, "max_graph_chunks": value})


def test_cli_refuses_a_bad_max_graph_chunks(tmp_path):
    from typer.testing import CliRunner

    from agromap.pipeline.cli import app

    res = CliRunner().invoke(app, ["run", str(_config(tmp_path)), "--max-graph-chunks", "0"])
    assert res.exit_code == 2 and "max-graph-chunks" in res.output
