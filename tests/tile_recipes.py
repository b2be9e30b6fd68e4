"""The direct tile graph of a small rice + NDVI run, for tests that call a tile task by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from agromap.pipeline import runner
from agromap.pipeline.config import load_config

BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]


def rice_ndvi_tile_graph(tmp_path: Path, folder: Path) -> tuple[Any, list[Any], Any]:
    """Plan an optical rice and a median NDVI layer over the GeoTIFFs in ``folder`` on the tile graph.

    Returns the graph, the layers' jobs and the tile recipe (the data every tile task of the graph
    shares), so a test can run ``run_tile(recipe, rows, cols)`` itself.
    """
    from agromap.pipeline.tile_graph import plan_tile_graph

    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "t", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": str(folder), "bands": BANDS, "scale": 1e-4, "nodata": 0,
                    "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}, {"product": "ndvi", "time": "median"}]}]}))
    cfg = load_config(cfg_path)
    plan = runner.plan_run(cfg)[0]
    jobs = [runner.Job(plan, layer, tmp_path / f"{layer.stem}.tif", "", True) for layer in plan.layers]
    graph = plan_tile_graph(plan, jobs, cfg.resolve)
    assert not isinstance(graph, str), graph
    recipe = next(v.value for v in dict(graph.layers[jobs[0].layer.stem].data.dask).values()
                  if type(v).__name__ == "DataNode")
    return graph, jobs, recipe
