"""A run on distributed worker processes: the workers are warmed when the run connects (the reader
and the compiled kernels of the rules the run planned are imported on every worker before any task
is sent; a run that planned no such rule does not load them), and the tiles are spread over them."""

from __future__ import annotations

import collections
import concurrent.futures
import json
import logging
import os
import re
import sys
import threading
import time

import dask.array as da
import numpy as np
import pytest
import yaml

from agromap.errors import ComputeLostError, DeadlineError
from agromap.pipeline.config import load_config
from agromap.pipeline.runner import run
from agromap.pipeline.scheduler import (
    RULE_KERNELS,
    WORKER_IMPORTS,
    Execution,
    cool_workers,
    open_execution,
    warm_workers,
    worker_imports,
)
from agromap.testing import SceneSpec, make_s2_stack, write_stack_geotiffs

KERNEL = "agromap.rice.optical_kernel"
_DATES = tuple(f"2023-{m:02d}-{d:02d}" for m in (6, 7, 8, 9) for d in (1, 16))


def test_kernels_listed_only_for_planned_rules():
    assert worker_imports(()) == WORKER_IMPORTS
    assert KERNEL not in worker_imports(["agromap.rice", "agromap.rice.rules_sar", "numpy"])
    planned = worker_imports(["agromap.rice.rules_optical"])
    assert planned[: len(WORKER_IMPORTS)] == WORKER_IMPORTS and KERNEL in planned
    assert set(RULE_KERNELS["agromap.rice.rules_optical"]) <= set(planned)
    # The SAR rule's seasons are the same compiled walk, without the optical kernel.
    sar = worker_imports(["agromap.rice.rules_sar"])
    assert "agromap.rice.seasons_kernel" in sar and KERNEL not in sar


def test_the_readers_compiled_pass_is_warmed_only_where_numba_is_loaded():
    """A warm-up without a compiled rule kernel loads neither numba nor the readers' compiled pass."""
    import subprocess

    code = ("import sys; from agromap.pipeline.warm_up import load_reader_kernel; "
            "print(load_reader_kernel(), 'numba' in sys.modules)")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert got == ["False", "False"]


def _loaded(names: list[str]) -> dict[str, bool]:
    return {n: n in sys.modules for n in names}


def _reader_kernel_loaded() -> bool:
    """Whether the readers' compiled DN conversion is loaded in this (worker) process."""
    return "agromap.io.dn_kernel" in sys.modules and sys.modules["agromap.io.dn_kernel"].loaded()


def _wait_loaded(client, names: list[str], deadline: float = 120.0) -> dict[str, dict[str, bool]]:
    t_end = time.monotonic() + deadline
    while True:
        seen = client.run(_loaded, names)
        if all(all(v.values()) for v in seen.values()) or time.monotonic() > t_end:
            return seen
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as c:  # fmt: skip
        yield c


def test_connecting_run_loads_the_planned_kernel_on_every_worker_before_a_task(cluster):
    """Fresh worker processes hold neither numba nor the kernel; connecting warms both workers."""
    from distributed import Client

    import agromap.rice.rules_optical  # noqa: F401  (what planning an optical rice layer imports here)

    with Client(cluster.scheduler_address) as probe:
        probe.wait_for_workers(2)
        before = probe.run(_loaded, ["numba", KERNEL])
        assert len(before) == 2 and not any(any(v.values()) for v in before.values()), before
        assert not any(probe.run(_reader_kernel_loaded).values())
        with open_execution(cluster.scheduler_address) as execu:
            assert execu.kind == "distributed" and execu.shape["workers"] == 2
            seen = _wait_loaded(probe, [*WORKER_IMPORTS, KERNEL])
            assert all(all(v.values()) for v in seen.values()), seen
            # The optical kernel loaded numba, so the readers will use their compiled pass: loaded too.
            assert probe.run(_reader_kernel_loaded) == dict.fromkeys(seen, True)
            # No task has run: the workers have nothing in memory and have executed nothing.
            assert probe.run(lambda dask_worker: len(dask_worker.state.tasks)) == dict.fromkeys(seen, 0)
            # The warmed workers compute as before.
            (total,) = execu.compute(da.from_array(np.arange(12.0), chunks=4).sum())
            assert total == 66.0


def test_a_module_that_cannot_be_imported_does_not_fail_the_warm_up(cluster):
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        name = warm_workers(client, ["agromap.no_such_module", "json"])
        try:
            assert all(v["json"] for v in _wait_loaded(client, ["json"]).values())
            assert client.submit(sum, [1, 2, 3], pure=False).result() == 6
        finally:
            cool_workers(client, name)


_BANDS = ["blue", "green", "red", "nir", "swir16", "scl"]


@pytest.fixture(scope="module")
def rice_tifs(tmp_path_factory):
    """The 2 x 2 tile scene the rice runs read, written once: the runs only read it."""
    folder = tmp_path_factory.mktemp("rice-inputs") / "tifs"
    write_stack_geotiffs(make_s2_stack(SceneSpec(shape=(512, 512), dates=_DATES, chunk=256, seed=3))[_BANDS], folder)
    return folder


def _rice_config(tmp_path, tifs):
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump({"name": "spread", "chunk": 256, "areas": [{
        "name": "a",
        "inputs": [{"kind": "folder", "path": str(tifs), "bands": _BANDS, "scale": 1e-4, "nodata": 0,
                    "raw": ["scl"]}],
        "layers": [{"product": "rice", "method": "optical"}]}]}))
    return load_config(cfg_path)


def _task_workers(stream, pattern: str) -> collections.Counter:
    """How many tasks whose key matches ``pattern`` each worker computed."""
    return collections.Counter(t["worker"] for t in stream.data
                               if re.match(pattern, str(t["key"][0] if isinstance(t["key"], tuple) else t["key"]))
                               and any(s["action"] == "compute" for s in t["startstops"]))


def _task_keys(stream, pattern: str) -> set[str]:
    return {str(t["key"]) for t in stream.data
            if re.match(pattern, str(t["key"][0] if isinstance(t["key"], tuple) else t["key"]))}


def _stolen(client, keys: set[str]) -> list[tuple[str, str]]:
    """(victim, thief) of every confirmed steal of one of ``keys`` (a scheduler event)."""
    return [(msg[3], msg[4]) for _, msg in client.get_events("stealing")
            if isinstance(msg, tuple) and msg[:1] == ("confirm",) and str(msg[1]) in keys]


def _item(path):
    item = json.loads(path.read_text())
    item["properties"].pop("agromap:run_id")
    return item


def test_tiles_are_spread_and_layers_published_on_the_workers(cluster, tmp_path, rice_tifs):
    """Four tiles on two single-thread workers run two and two; then each layer's COG and quicklook
    are made by a task on a worker. Every file has the bytes of a threaded run (items but their run id).

    With up to two tiles per thread dask does not spread them as root tasks; they go where their
    dependencies are, so none may be shared by all of them (it once put three of four on one worker).
    """
    from distributed import Client, get_task_stream

    cfg = _rice_config(tmp_path, rice_tifs)
    with Client(cluster.scheduler_address) as probe:
        probe.wait_for_workers(2)
        with get_task_stream(client=probe) as stream:
            spread = run(cfg, tmp_path / "dist", scheduler=cluster.scheduler_address, force=True)
    # The fused task of each tile (read, rule, encoding, stores): named agromap-tile-<hex>-<hex>.
    tiles = _task_workers(stream, r"agromap-tile-[0-9a-f]+-")
    assert sum(tiles.values()) == 4, tiles
    # On a loaded machine dask may later move a queued tile to the idle worker (work stealing);
    # the placement itself is checked with those moves undone.
    with Client(cluster.scheduler_address) as probe:
        for victim, thief in _stolen(probe, _task_keys(stream, r"agromap-tile-[0-9a-f]+-")):
            tiles[thief] -= 1
            tiles[victim] += 1
    assert sorted(tiles.values()) == [2, 2], tiles
    published = _task_workers(stream, rf"agromap-publish-.+-{spread.run_id}$")
    assert sum(published.values()) == len(spread.outputs) > 1 and set(published) <= set(tiles), published
    threaded = run(cfg, tmp_path / "threads", scheduler="threads", force=True)
    assert [o["path"] for o in spread.outputs] == [o["path"] for o in threaded.outputs]
    for o in spread.outputs:
        for key in ("path", "quicklook"):
            assert (tmp_path / "dist" / o[key]).read_bytes() == (tmp_path / "threads" / o[key]).read_bytes(), o[key]
        assert _item(tmp_path / "dist" / o["stac_item"]) == _item(tmp_path / "threads" / o["stac_item"])
    # The report's maps, drawn by the workers' tasks into the map cache, are those drawn here.
    maps = {name: re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", (tmp_path / name / "report.html").read_text())
            for name in ("dist", "threads")}
    assert maps["dist"] and maps["dist"] == maps["threads"]
    left = [p.name for p in (tmp_path / "dist").rglob(".*") if p.is_file() and p.name != ".agromap.lock"]
    assert not [n for n in left if n.endswith((".partial", ".staging.tif"))], left


def _staging_lost_for(stem: str) -> None:
    """From now on, in this process, publishing layer ``stem`` finds its staging file gone."""
    from agromap.pipeline import publish_layers

    real = getattr(publish_layers, "_unpatched_prepare_cog", publish_layers.prepare_cog)

    def lost(staging, final, *args, **kwargs):
        if final.name.startswith(stem):
            staging.unlink()
        return real(staging, final, *args, **kwargs)

    publish_layers._unpatched_prepare_cog = real
    publish_layers.prepare_cog = lost


def _unpatched() -> None:
    from agromap.pipeline import publish_layers

    if hasattr(publish_layers, "_unpatched_prepare_cog"):
        publish_layers.prepare_cog = publish_layers._unpatched_prepare_cog
        del publish_layers._unpatched_prepare_cog


def test_a_failing_publish_on_a_worker_fails_the_run_as_with_threads(cluster, tmp_path, rice_tifs):
    """One layer cannot be published (its staging file vanished): on workers as with threads the run
    fails with that layer's one-line error and publishes nothing, not even the layers that were ready."""
    import cloudpickle
    from distributed import Client

    from agromap.errors import ExportError

    cfg = _rice_config(tmp_path, rice_tifs)
    stem = "rice_score"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the patch, sent to the workers
    errors = {}
    with Client(cluster.scheduler_address) as probe:
        probe.wait_for_workers(2)
        try:
            probe.run(_staging_lost_for, stem)
            with pytest.raises(ExportError) as dist:
                run(cfg, tmp_path / "dist", scheduler=cluster.scheduler_address, run_id="same")
            errors["dist"] = str(dist.value)
        finally:
            probe.run(_unpatched)
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    _staging_lost_for(stem)
    try:
        with pytest.raises(ExportError) as threads:
            run(cfg, tmp_path / "threads", scheduler="threads", run_id="same")
        errors["threads"] = str(threads.value)
    finally:
        _unpatched()
    assert "staging file" in errors["threads"] and stem in errors["threads"] and "\n" not in errors["threads"]
    assert errors["dist"].replace(str(tmp_path / "dist"), "OUT") == errors["threads"].replace(
        str(tmp_path / "threads"), "OUT")
    for name in ("dist", "threads"):
        left = sorted(p.name for p in (tmp_path / name).rglob("*") if p.is_file() and ".agromap" not in p.parts)
        assert not [n for n in left if n.endswith((".tif", ".png", ".partial"))], (name, left)


def test_a_worker_joining_later_is_warmed_until_the_run_ends(cluster):
    """The warm-up is a worker plugin: a worker started while the run is connected imports the planned
    kernel before any task; when the run ends the plugin is removed from the cluster."""
    from distributed import Client

    import agromap.rice.rules_optical  # noqa: F401  (what planning an optical rice layer imports here)
    from agromap.pipeline.warm_up import PLUGIN_PREFIX

    with Client(cluster.scheduler_address) as probe:
        probe.wait_for_workers(2)
        old = set(probe.scheduler_info()["workers"])
        try:
            with open_execution(cluster.scheduler_address):
                cluster.scale(3)
                probe.wait_for_workers(3)
                new = set(probe.scheduler_info()["workers"]) - old
                assert len(new) == 1
                seen = _wait_loaded(probe, [*WORKER_IMPORTS, KERNEL])
                assert all(seen[w][KERNEL] for w in new) and all(all(v.values()) for v in seen.values()), seen
                assert probe.run(_reader_kernel_loaded, workers=list(new)) == dict.fromkeys(new, True)
            assert not probe.run_on_scheduler(
                lambda dask_scheduler: [n for n in dask_scheduler.worker_plugins if n.startswith(PLUGIN_PREFIX)])
        finally:
            cluster.scale(2)
            probe.wait_for_workers(2)


def test_tasks_on_workers_all_end_and_the_first_failure_in_call_order_is_raised(cluster):
    """``Execution.map``: every call runs to its end, each success reaches ``done`` in this process
    (so a run can remove what the tasks that succeeded wrote), then the first failure in call order."""
    import operator

    seen: dict[int, float] = {}
    with open_execution(cluster.scheduler_address) as execu:
        assert execu.map(operator.truediv, [(1, 2), (3, 4)], keys=["div-a", "div-b"]) == [0.5, 0.75]
        with pytest.raises(ZeroDivisionError):
            execu.map(operator.truediv, [(1, 1), (1, 0), (2, 1), (5, 0), (3, 1)],
                      keys=[f"div-{k}" for k in range(5)], done=lambda k, r: seen.__setitem__(k, r))
        assert seen == {0: 1.0, 2: 2.0, 4: 3.0}
        seen.clear()

        def refuse_first(k: int, r: float) -> None:  # the run's own part failing for one call
            if k == 0:
                raise ValueError("call 0 refused here")
            seen[k] = r

        with pytest.raises(ValueError, match="call 0 refused"):
            execu.map(operator.truediv, [(1, 1), (1, 0), (2, 1)], keys=["r-0", "r-1", "r-2"], done=refuse_first)
        assert seen == {2: 2.0}


def test_a_run_connects_and_warms_the_workers_on_a_thread_while_it_prepares(cluster, tmp_path, rice_tifs, monkeypatch):
    """Connecting to the cluster and warming its workers run on a thread of their own, beside the
    run's staging files and graph. A failure there fails the run with its own one-line error, as
    in the run's thread, and leaves no staging file, partial file or connecting thread behind."""
    from agromap.pipeline import scheduler

    real = scheduler.warm_workers
    threads: list[str] = []

    def warm(client, modules):
        threads.append(threading.current_thread().name)
        return real(client, modules)

    monkeypatch.setattr(scheduler, "warm_workers", warm)
    cfg = _rice_config(tmp_path, rice_tifs)
    done = run(cfg, tmp_path / "out", scheduler=cluster.scheduler_address, force=True)
    assert threads == ["agromap-connect"] and len(done.outputs) > 1

    def refused(client, modules):
        raise DeadlineError("the workers did not answer the warm-up; restart the cluster")

    monkeypatch.setattr(scheduler, "warm_workers", refused)
    with pytest.raises(DeadlineError, match="did not answer the warm-up"):
        run(cfg, tmp_path / "failed", scheduler=cluster.scheduler_address, force=True)
    left = [p.name for p in (tmp_path / "failed").rglob("*") if p.name.endswith((".staging.tif", ".partial"))]
    assert not left and not list((tmp_path / "failed").rglob("*.tif"))
    assert "agromap-connect" not in {t.name for t in threading.enumerate()}


def _read_and_count(path: str) -> tuple[int, bool]:
    """On a worker: read a window of ``path`` as a tile task does; the handles this process keeps
    open afterwards, and whether a tile array given back is handed out again."""
    from rasterio.windows import Window

    from agromap.io import scratch
    from agromap.io.gdal_env import GDAL_PRESET
    from agromap.io.open_files import open_count, read_window

    read_window(path, 1, Window(0, 0, 8, 8), GDAL_PRESET)
    arr = scratch.take("probe", (4, 4), np.dtype("float32"))
    scratch.give_back("probe", arr)
    return open_count(), scratch.take("probe", (4, 4), np.dtype("float32")) is arr


def _open_count() -> int:
    from agromap.io.open_files import open_count

    return open_count()


def _wait_closed(client, deadline: float = 30.0) -> dict[str, int]:
    t_end = time.monotonic() + deadline
    while True:
        counts = client.run(_open_count)
        if not any(counts.values()) or time.monotonic() > t_end:
            return counts
        time.sleep(0.1)


def _small_tif(tmp_path) -> str:
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "small.tif"
    with rasterio.open(path, "w", driver="GTiff", width=16, height=16, count=1, dtype="uint16",
                       crs="EPSG:32648", transform=from_origin(500000, 1600000, 10, 10)) as dst:
        dst.write(np.arange(256, dtype="uint16").reshape(1, 16, 16))
    return str(path)


def test_workers_keep_the_runs_inputs_open_and_arrays_for_reuse_until_the_run_ends(cluster, tmp_path):
    """While a run's warm-up is registered a worker keeps each input it read open for its next
    window, and its tile arrays for the next tile, as the run's process does on threads; once the
    run removes the plugin every handle is closed. Without a run, nothing is kept."""
    from distributed import Client

    path = _small_tif(tmp_path)
    with Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2)
        assert client.submit(_read_and_count, path, pure=False).result() == (0, False)
        name = warm_workers(client, ["json"])
        try:
            assert client.submit(_read_and_count, path, pure=False).result() == (1, True)
        finally:
            cool_workers(client, name)
        assert _wait_closed(client) == dict.fromkeys(client.scheduler_info()["workers"], 0)
        assert client.submit(_read_and_count, path, pure=False).result() == (0, False)


def test_an_idle_worker_releases_what_it_keeps_and_takes_it_up_with_its_next_task(cluster, tmp_path):
    """A worker that runs no task for ``idle_s`` closes its kept inputs (a run killed before removing
    its plugin leaves nothing open for long); its next task keeps them again."""
    from distributed import Client

    from agromap.pipeline.warm_up import WarmUp

    path = _small_tif(tmp_path)
    plugin = WarmUp(["json"], idle_s=0.3)
    with Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2)
        client.register_plugin(plugin, name=plugin.name)
        try:
            assert client.submit(_read_and_count, path, pure=False).result() == (1, True)
            assert _wait_closed(client, deadline=10.0) == dict.fromkeys(client.scheduler_info()["workers"], 0)
            assert client.submit(_read_and_count, path, pure=False).result() == (1, True)
        finally:
            cool_workers(client, plugin.name)


def test_the_workers_let_go_of_what_they_kept_when_a_compute_ends(cluster, tmp_path):
    """When a compute on the cluster ends, its workers close the inputs and free the tile arrays they
    kept for it (as the run's own process does), well before the idle release; the next task (a
    layer's publication, the next block's tiles) keeps them again."""
    import dask
    from distributed import Client

    path = _small_tif(tmp_path)
    with Client(cluster.scheduler_address) as probe:
        probe.wait_for_workers(2)
        with open_execution(cluster.scheduler_address) as execu:
            assert execu.warm_up is not None
            (seen,) = execu.compute(dask.delayed(_read_and_count, pure=False)(path))
            assert seen == (1, True)
            # 10 s: within the plugin's 30 s idle delay, so the compute's end did it.
            assert _wait_closed(probe, deadline=10.0) == dict.fromkeys(probe.scheduler_info()["workers"], 0)
            assert execu.client.submit(_read_and_count, path, pure=False).result() == (1, True)


class _Client:
    """A connected client whose compute fails: a task's own error, or the scheduler dying (its
    futures cancelled, the client reconnecting: any call would wait out the connect deadline)."""

    def __init__(self, lost: bool) -> None:
        self.status, self.lost, self.asked = "running", lost, []

    def compute(self, collections):
        return collections

    def gather(self, futures):
        if self.lost:
            self.status = "connecting"
            raise concurrent.futures.CancelledError("scheduler-connection-lost")
        raise ValueError("a task failed")

    def run(self, fn, *args, **kwargs):
        self.asked.append(fn.__name__)

    def unregister_worker_plugin(self, name):
        self.asked.append(f"unregister {name}")


def test_a_compute_whose_scheduler_went_away_asks_the_cluster_nothing_more():
    import dask

    task = dask.delayed(int)(1)
    failing = _Client(lost=False)
    with pytest.raises(ValueError, match="a task failed"):
        Execution("distributed", failing, {}, warm_up="warm").compute(task)
    cool_workers(failing, "warm")
    assert failing.asked == ["release_kept", "unregister warm"]  # the workers still let go of what they kept
    lost = _Client(lost=True)
    with pytest.raises(ComputeLostError, match="went away while computing"):
        Execution("distributed", lost, {}, warm_up="warm").compute(task)
    cool_workers(lost, "warm")
    assert lost.asked == []


def test_a_closed_embedded_cluster_leaves_no_scheduler_or_worker_alive():
    # A notebook or service running the `local` scheduler again and again must not keep every
    # cluster it ever started: distributed's memo of comm handlers holds them by bound method.
    import gc
    import weakref

    started = []
    finders = set(sys.path_importer_cache)
    for _ in range(2):
        with open_execution("local") as execu:
            assert execu.client.compute(da.ones((64, 64), chunks=32).sum()).result() == 64 * 64
            cluster = execu.client.cluster
            started += [weakref.ref(cluster.scheduler), *(weakref.ref(w) for w in cluster.workers.values())]
    del execu, cluster
    gc.collect()
    assert len(started) == 4
    assert [r() for r in started if r() is not None] == []
    gone = [p for p in set(sys.path_importer_cache) - finders if not os.path.exists(p)]
    assert gone == []


def test_two_embedded_clusters_at_once_share_no_port_and_stay_on_the_loopback():
    # Without a dashboard, distributed would still bind its health routes to port 8787 on every
    # run; a second run at the same time then warns and moves. Neither must take 8787 nor listen
    # on every interface.
    import warnings

    def listening(execu) -> set[tuple[str, int]]:
        sockets = execu.client.cluster.scheduler.http_server._sockets.values()
        return {sock.getsockname()[:2] for sock in sockets}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with open_execution("local") as first, open_execution("local") as second:
            bound = listening(first) | listening(second)
    assert len(bound) == 2
    assert {host for host, _ in bound} == {"127.0.0.1"}
    assert all(port != 8787 for _, port in bound)
    assert [str(w.message) for w in caught if "8787" in str(w.message)] == []
