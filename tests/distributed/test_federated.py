"""Federated mode, lost workers, FedProx, client sampling and the aggregation rules."""

import os
import signal

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sklearn_train import KMeans, LinearClassifier, MLPClassifier
from sklearn_train.callbacks import Callback
from sklearn_train.distributed import ServerOptimizer, fit_distributed

distributed = pytest.importorskip("distributed")


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


class KillAWorker(Callback):
    """Kill one worker process after ``epoch`` (its memory, the partitions it holds,
    is lost; its nanny starts a fresh process): a worker lost in the middle of a
    fit."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.killed = None

    def on_epoch_end(self, run):
        if run.epoch == self.epoch:
            client = distributed.get_client()
            worker = sorted(client.scheduler_info(n_workers=-1)["workers"])[0]
            pid = client.run(os.getpid, workers=[worker])[worker]
            os.kill(pid, signal.SIGKILL)
            self.killed = worker


@pytest.fixture()
def fault_client(new_cluster):
    """A cluster of its own for the tests that kill workers."""
    with new_cluster() as cluster, distributed.Client(cluster) as client:
        yield client


def test_a_lost_worker_does_not_change_the_result(fault_client):
    """Data-parallel: the lost partitions are computed again from their source on
    a worker, and the fit ends with exactly the parameters of an undisturbed one."""
    X, y = _digits()
    estimator = MLPClassifier((16,), random_state=0, max_iter=6, tol=None)
    undisturbed = fit_distributed(clone(estimator), X, y, client=fault_client,
                                  n_partitions=4)
    disturbed = fit_distributed(clone(estimator).set_params(callbacks=[KillAWorker(2)]),
                                X, y, client=fault_client, n_partitions=4)
    assert disturbed.callbacks_[0].killed is not None
    np.testing.assert_array_equal(disturbed._state["params"],
                                  undisturbed._state["params"])
    assert not any("workers_lost" in row for row in disturbed.history_)


def test_federated_loses_a_workers_partitions_and_says_so(fault_client):
    """Federated: the partitions of the restarted worker are gone (its rows never
    move); the round is run again without them, the history says so, and the
    model is the fit of the partitions that remain, finite and still good."""
    X, y = _digits()
    estimator = LinearClassifier(random_state=0, max_iter=8, tol=None, eta0=0.02)
    model = fit_distributed(clone(estimator).set_params(callbacks=[KillAWorker(3)]),
                            X, y, client=fault_client, n_partitions=4, federated=True)
    noted = [row for row in model.history_ if "workers_lost" in row]
    assert len(noted) == 1 and noted[0]["epoch"] == 4
    assert "run again without them" in noted[0]["workers_lost"]
    assert np.isfinite(model.coef_).all()
    assert model.score(X, y) > 0.9


def test_federated_tasks_run_where_their_partition_is(client):
    """Every round task of a federated fit runs on the worker holding its
    partition, and no partition is copied to another worker."""
    X, y = _digits()
    with distributed.get_task_stream(client) as stream:
        model = fit_distributed(LinearClassifier(random_state=0, max_iter=3, tol=None),
                                X, y, client=client, n_partitions=2, federated=True)
    tasks = [(task["key"], task["worker"]) for task in stream.data]
    holders = {key: worker for key, worker in tasks if "inspect_partition" in str(key)}
    rounds = [worker for key, worker in tasks if "run_round" in str(key)]
    assert len(holders) == 2 and len(set(holders.values())) == 2  # one per worker
    assert sorted(rounds) == sorted(list(holders.values()) * 3)  # 3 epochs each
    assert not any(task.get("type") == "transfer" for task in stream.data)
    assert model.score(X, y) > 0.9


def test_client_fraction_samples_partitions_per_round(client):
    X, y = _digits()
    estimator = LinearClassifier(random_state=0, max_iter=4, tol=None)
    half = fit_distributed(clone(estimator), X, y, client=client, n_partitions=4,
                           client_fraction=0.5)
    again = fit_distributed(clone(estimator), X, y, client=client, n_partitions=4,
                            client_fraction=0.5)
    everyone = fit_distributed(clone(estimator), X, y, client=client, n_partitions=4)
    np.testing.assert_array_equal(half.coef_, again.coef_)
    assert not np.array_equal(half.coef_, everyone.coef_)
    assert half.score(X, y) > 0.9


def test_fedprox_keeps_workers_near_the_global_model(client):
    """A large mu holds every worker near the round's parameters (the model moves
    far less than plain averaging's; mu * eta0 = 0.5 halves a worker's distance
    from them every step); a moderate mu still learns."""
    X, y = _digits()
    estimator = LinearClassifier(optimizer="sgd", eta0=0.01, learning_rate="constant",
                                 random_state=0, max_iter=3, tol=None)
    start = fit_distributed(clone(estimator).set_params(max_iter=1, eta0=1e-300), X, y,
                            client=client, n_partitions=2)
    plain = fit_distributed(clone(estimator), X, y, client=client, n_partitions=2)
    held = fit_distributed(clone(estimator), X, y, client=client, n_partitions=2,
                           mu=50.0)
    moderate = fit_distributed(clone(estimator), X, y, client=client, n_partitions=2,
                               mu=0.1)
    moved = np.abs(plain.coef_ - start.coef_).max()
    assert np.abs(held.coef_ - start.coef_).max() < 0.2 * moved
    assert 0 < np.abs(moderate.coef_ - start.coef_).max() < moved
    assert moderate.score(X, y) >= plain.score(X, y) - 0.02


@pytest.mark.parametrize("aggregate", ["adagrad", "fedadam", "fedadagrad",
                                       ServerOptimizer("momentum", learning_rate=1.0)])
def test_aggregation_rules_learn(client, aggregate):
    X, y = _digits()
    model = fit_distributed(LinearClassifier(random_state=0, max_iter=20, tol=None),
                            X, y, client=client, n_partitions=2, aggregate=aggregate)
    assert model.score(X, y) > 0.95


def test_fedavg_server_step_at_rate_one_is_the_mean(client):
    X, y = _digits()
    estimator = LinearClassifier(random_state=0, max_iter=3, tol=None)
    mean = fit_distributed(clone(estimator), X, y, client=client, n_partitions=2)
    fedavg = fit_distributed(clone(estimator), X, y, client=client, n_partitions=2,
                             aggregate=ServerOptimizer("sgd", learning_rate=1.0))
    np.testing.assert_allclose(fedavg.coef_, mean.coef_, rtol=1e-12, atol=1e-14)


def test_server_optimizer_steps_follow_reddi_et_al():
    """FedAdagrad over two rounds against the formulas, with Delta the round's
    averaged update: v += Delta^2, x += lr * Delta / (sqrt(v) + tau)."""
    server = ServerOptimizer("adagrad", learning_rate=0.5, epsilon=1e-3)
    state = server.new_state(3, np.float64)
    x = np.array([1.0, -2.0, 0.5])
    v = np.zeros(3)
    for averaged in (np.array([1.5, -2.5, 0.5]), np.array([1.0, -1.0, 0.0])):
        delta = averaged - x
        v += delta**2
        expected = x + 0.5 * delta / (np.sqrt(v) + 1e-3)
        params = averaged.copy()
        server.step(params, x.copy(), state)
        np.testing.assert_allclose(params, expected, rtol=1e-14)
        x = params


def test_kmeans_merge_is_the_running_mean_of_all_rows():
    """Two workers' mini-batch centres combine into the mean of the centre before the
    round (at its count) and every row the workers gave it."""
    from sklearn_train.distributed._clustering import KMeansFamily

    class Shadow:
        state = {"centers": np.array([[0.0, 0.0]]), "counts": np.array([4.0]),
                 "counters": np.zeros(1)}

    before = {key: value.copy() for key, value in Shadow.state.items()}
    rows_a, rows_b = np.array([[2.0, 2.0], [4.0, 0.0]]), np.array([[1.0, 1.0]])
    # each worker's centre is the running mean of the centre (weight 4) and its rows
    state_a = {"centers": np.array([[6.0, 2.0]]) / 6, "counts": np.array([6.0]),
               "counters": np.ones(1)}
    state_b = {"centers": np.array([[1.0, 1.0]]) / 5, "counts": np.array([5.0]),
               "counters": np.ones(1)}
    KMeansFamily().merge(Shadow, [state_a, state_b], np.array([2, 1]) / 3, before,
                         "mean")
    everything = np.vstack([rows_a, rows_b]).sum(axis=0) / 7  # (the centre adds 0)
    np.testing.assert_allclose(Shadow.state["centers"][0], everything, rtol=1e-15)
    assert Shadow.state["counts"][0] == 7.0


def test_federated_kmeans_keeps_labels_on_the_workers(client):
    X, _ = _digits()
    model = fit_distributed(KMeans(10, random_state=0), X, client=client,
                            n_partitions=2, federated=True)
    assert not hasattr(model, "labels_")
    assert model.inertia_ == pytest.approx(-model.score(X), rel=1e-9)
