"""A dask cluster for the distributed tests: 2 worker processes on 127.0.0.1."""

import os
from pathlib import Path

import pytest

import sklearn_train

distributed = pytest.importorskip("distributed")


def local_cluster():
    """A ``LocalCluster`` of two single-threaded worker processes on 127.0.0.1."""
    # The workers are new processes: they must import the very copy of the package
    # these tests import (a checkout run in place may not be the installed one).
    checkout = os.path.dirname(os.path.dirname(sklearn_train.__file__))
    path = os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))
    return distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50, env={"PYTHONPATH": path},
        # without a dashboard the scheduler's HTTP server (health checks) still
        # listens, by default on 8787: any free port, so that another cluster on the
        # machine neither blocks it nor makes it warn
        scheduler_kwargs={"dashboard_address": ":0"})


@pytest.fixture(scope="session")
def new_cluster():
    """``local_cluster`` itself, for tests that need a cluster of their own."""
    return local_cluster


# The cluster the tests share and its client, while they run.
_RUNNING = []


def _start():
    cluster = local_cluster()
    client = distributed.Client(cluster)
    _RUNNING[:] = [client, cluster]
    imported = client.run(lambda: __import__("sklearn_train").__file__)
    assert set(imported.values()) == {sklearn_train.__file__}


def _close():
    while _RUNNING:
        _RUNNING.pop(0).close()


@pytest.fixture
def client():
    """The shared cluster's client: started by the first test that asks, closed
    after the last test of this directory (``pytest_runtest_teardown``)."""
    if not _RUNNING:
        _start()
    return _RUNNING[0]


def pytest_runtest_teardown(item, nextitem):
    """Close the shared cluster once the tests of this directory are done: its two
    idle worker processes would otherwise keep a share of the 2 cores busy for the
    rest of the suite (about 15% each, measured)."""
    here = Path(__file__).parent
    if nextitem is None or here not in Path(nextitem.path).parents:
        _close()


def pytest_sessionfinish(session, exitstatus):
    _close()


@pytest.fixture
def on_worker(client):
    """``on_worker(function, *args)``: ``function(*args)`` run on a worker. A local
    reference computed where the distributed fit computes (the same BLAS threads)
    compares bit for bit."""
    def run(function, *args):
        return client.submit(function, *args, pure=False).result()

    return run
