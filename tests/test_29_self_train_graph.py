"""The self-trained map's graph: the training selection stays a few layers, whatever the number of blocks."""

from __future__ import annotations

from agromap.rice.self_trained import self_trained_rice_map
from agromap.scenes import make_scene
from agromap.testing import raise_if_dask_computes


def test_the_training_selection_is_one_task_per_block_and_no_copy_of_the_graph():
    sc = make_scene("wetland_confusion", size=32, seed=0, chunk=16)
    with raise_if_dask_computes():
        out = self_trained_rice_map(sc.s2, sar=sc.s1[["vv", "vh"]], rule="both")
    graph = out.__dask_graph__()
    layers = graph.layers
    # each layer holds its own step's tasks only: a delayed call per block used to carry a copy of
    # the whole graph upstream of it, once per block (the build grew as the blocks squared)
    assert sum(len(layer) for layer in layers.values()) == len(dict(graph))
    blocks = [k for k in layers if k.startswith("_select_located")]
    fits = [k for k in layers if k.startswith("fit_located")]
    assert len(blocks) == 1 and len(fits) == 1
    assert len(layers[blocks[0]]) == 4 and len(layers[fits[0]]) == 1  # 2 x 2 blocks, one fit
