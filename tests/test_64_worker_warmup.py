"""Workers of a distributed cluster are warmed when a run connects: the reader and the compiled
kernels of the rules the run planned are imported on every worker before any task is sent, and a
run that planned no such rule does not load them."""

from __future__ import annotations

import logging
import sys
import time

import dask.array as da
import numpy as np
import pytest

from agromap.pipeline.scheduler import RULE_KERNELS, WORKER_IMPORTS, open_execution, warm_workers, worker_imports

KERNEL = "agromap.rice.optical_kernel"


def test_kernels_listed_only_for_planned_rules():
    assert worker_imports(()) == WORKER_IMPORTS
    assert KERNEL not in worker_imports(["agromap.rice", "agromap.rice.rules_sar", "numpy"])
    planned = worker_imports(["agromap.rice.rules_optical"])
    assert planned[: len(WORKER_IMPORTS)] == WORKER_IMPORTS and KERNEL in planned
    assert set(RULE_KERNELS["agromap.rice.rules_optical"]) <= set(planned)


def _loaded(names: list[str]) -> dict[str, bool]:
    return {n: n in sys.modules for n in names}


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
        with open_execution(cluster.scheduler_address) as execu:
            assert execu.kind == "distributed" and execu.shape["workers"] == 2
            seen = _wait_loaded(probe, [*WORKER_IMPORTS, KERNEL])
            assert all(all(v.values()) for v in seen.values()), seen
            # No task has run: the workers have nothing in memory and have executed nothing.
            assert probe.run(lambda dask_worker: len(dask_worker.state.tasks)) == dict.fromkeys(seen, 0)
            # The warmed workers compute as before.
            (total,) = execu.compute(da.from_array(np.arange(12.0), chunks=4).sum())
            assert total == 66.0


def test_a_module_that_cannot_be_imported_does_not_fail_the_warm_up(cluster):
    from distributed import Client

    with Client(cluster.scheduler_address) as client:
        warm_workers(client, ["agromap.no_such_module", "json"])
        assert all(v["json"] for v in _wait_loaded(client, ["json"]).values())
        assert client.submit(sum, [1, 2, 3], pure=False).result() == 6
