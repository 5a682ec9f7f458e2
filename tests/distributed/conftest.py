"""A dask cluster for the distributed tests: 2 worker processes on 127.0.0.1."""

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def client():
    """A ``LocalCluster`` of two single-threaded worker processes and its client,
    started once for the session and closed at its end."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40)
    with cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="session")
def on_worker(client):
    """``on_worker(function, *args)``: ``function(*args)`` run on a worker. A local
    reference computed where the distributed fit computes (the same BLAS threads)
    compares bit for bit."""
    def run(function, *args):
        return client.submit(function, *args, pure=False).result()

    return run
