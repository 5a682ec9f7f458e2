"""fit_distributed against the local fit, family by family (a LocalCluster of 2
worker processes, ``conftest.py``)."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, make_blobs
from sklearn.preprocessing import StandardScaler

from sklearn_train import (
    Autoencoder,
    GaussianMixture,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
)
from sklearn_train.distributed import fit_distributed

pytest.importorskip("distributed")


def _digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _blobs():
    X, _ = make_blobs(1500, 4, centers=4, cluster_std=1.0, random_state=1)
    return X + 50.0, None  # far from 0: the data's origin matters


def _reconstruction(model, X):
    return -float(np.mean((model.inverse_transform(model.transform(X)) - X) ** 2))


def _score(model, X, y):
    if isinstance(model, Autoencoder):
        return _reconstruction(model, X)
    return model.score(X) if y is None else model.score(X, y)


# (estimator, data, margin of its score at 2 and 4 partitions below the local fit's).
# The gradient families train a fixed number of epochs: with P partitions a worker
# takes 1/P of an epoch's steps per round, so the distributed fits get P times the
# local fit's epochs, the same number of optimizer steps per worker.
FAMILIES = {
    "linear_classifier": (LinearClassifier(random_state=0, max_iter=20, tol=None,
                                           eta0=0.02), _digits, 0.01),
    "linear_regressor": (LinearRegressor(random_state=0, max_iter=20, tol=None),
                         _diabetes, 0.01),
    "mlp_classifier": (MLPClassifier((32,), random_state=0, max_iter=20, tol=None,
                                     eta0=0.01), _digits, 0.01),
    "mlp_regressor": (MLPRegressor((16,), random_state=0, max_iter=20, tol=None,
                                   eta0=0.01), _diabetes, 0.01),
    # (scores below: minus the mean squared reconstruction error, minus the inertia,
    # the mean log-likelihood; their margins are relative)
    "autoencoder": (Autoencoder(8, hidden_layer_sizes=(32,), random_state=0, max_iter=20,
                                tol=None, eta0=0.01), _digits, 0.02),
    "kmeans": (KMeans(4, batch_size=128, random_state=0), _blobs, 0.01),
    "mixture": (GaussianMixture(4, covariance_type="full", random_state=0), _blobs, 0.01),
}
RELATIVE_MARGINS = ("autoencoder", "kmeans", "mixture")


def _fit_local(estimator, X, y):
    return estimator.fit(X, y)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_one_partition_is_the_local_fit(client, on_worker, name):
    """With one partition every fitted array, the history's losses and the fitted
    attributes equal a local fit's bit for bit (the reference is fitted on a worker:
    the same BLAS threads)."""
    estimator, data, _ = FAMILIES[name]
    X, y = data()
    local = on_worker(_fit_local, clone(estimator), X, y)
    ours = fit_distributed(clone(estimator), X, y, client=client, n_partitions=1)
    assert ours._state.keys() == local._state.keys()
    for key, value in local._state.items():
        np.testing.assert_array_equal(ours._state[key], value, err_msg=key)
    assert [row["train_loss"] for row in ours.history_] == \
        [row["train_loss"] for row in local.history_]
    assert ours.n_iter_ == local.n_iter_ and ours.t_ == local.t_
    if isinstance(local, KMeans):
        np.testing.assert_array_equal(ours.labels_, local.labels_)
        assert ours.inertia_ == local.inertia_


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("n_partitions", [2, 4])
def test_partitions_reach_the_local_score(client, name, n_partitions):
    estimator, data, margin = FAMILIES[name]
    X, y = data()
    local = clone(estimator).fit(X, y)
    distributed = clone(estimator)
    if distributed.tol is None:
        distributed.set_params(max_iter=estimator.max_iter * n_partitions)
    ours = fit_distributed(distributed, X, y, client=client, n_partitions=n_partitions)
    expected, got = _score(local, X, y), _score(ours, X, y)
    if name in RELATIVE_MARGINS:
        assert got >= expected - margin * abs(expected), (got, expected)
    else:
        assert got >= expected - margin, (got, expected)
    assert all(row["rounds"] == 1 for row in ours.history_)


def _label_skewed(X, y, share=0.98, seed=0):
    """Two halves: the first mostly digits 0-4, the second mostly 5-9 (a share of
    0.02 of the other digits each)."""
    rng = np.random.default_rng(seed)
    low = y < 5
    keep = rng.random(y.shape[0]) < share
    first = np.flatnonzero(low == keep)
    second = np.flatnonzero(low != keep)
    order = np.concatenate([first, second])
    return X[order], y[order], first.shape[0]


def test_label_skewed_partitions_still_reach_the_local_accuracy(client):
    """Each partition sees mostly other classes: the average of the two workers'
    models reaches the local fit's accuracy; one worker's model alone does not."""
    X, y = _digits()
    X, y, n_first = _label_skewed(X, y)
    import dask.array as da

    X_dask = da.from_array(X, chunks=((n_first, X.shape[0] - n_first), X.shape[1]))
    y_dask = da.from_array(y, chunks=((n_first, y.shape[0] - n_first),))
    estimator = LinearClassifier(random_state=0, max_iter=20, tol=None, eta0=0.02)
    local = clone(estimator).fit(X, y).score(X, y)
    averaged = fit_distributed(clone(estimator).set_params(max_iter=40), X_dask, y_dask,
                               client=client)
    for rows in (slice(None, n_first), slice(n_first, None)):
        alone = clone(estimator).fit(X[rows], y[rows]).score(X, y)
        assert alone < local - 0.25
    assert averaged.score(X, y) >= local - 0.01
    np.testing.assert_array_equal(averaged.classes_, np.arange(10))


@pytest.mark.parametrize("sync", ["epoch", 5])
def test_same_seed_same_parameters(client, sync):
    X, y = _digits()
    estimator = MLPClassifier((16,), random_state=3, max_iter=4, tol=None, dropout=0.1)
    first = fit_distributed(clone(estimator), X, y, client=client, n_partitions=3,
                            sync=sync)
    second = fit_distributed(clone(estimator), X, y, client=client, n_partitions=3,
                             sync=sync)
    np.testing.assert_array_equal(first._state["params"], second._state["params"])
    other = fit_distributed(clone(estimator).set_params(random_state=4), X, y,
                            client=client, n_partitions=3, sync=sync)
    assert not np.array_equal(first._state["params"], other._state["params"])


def test_sync_steps_run_rounds_within_an_epoch(client):
    """``sync=k``: an epoch of ``s`` steps per worker is ``ceil(s / k)`` rounds; the
    step count goes on as in a local fit."""
    X, y = _digits()  # 1797 rows: 899 and 898 per partition, 29 steps of 32
    model = fit_distributed(LinearClassifier(random_state=0, max_iter=3, tol=None), X,
                            y, client=client, n_partitions=2, sync=10)
    assert [row["rounds"] for row in model.history_] == [3, 3, 3]
    assert model.t_ == 3 * 29
    assert model.score(X, y) > 0.9


def test_result_is_an_ordinary_estimator(client):
    """It pickles, predicts without dask and continues locally with partial_fit
    exactly as a local model with the same state would."""
    X, y = _digits()
    model = fit_distributed(LinearClassifier(random_state=0, max_iter=5), X, y,
                            client=client)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    twin = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[:200], y[:200])
    twin.partial_fit(X[:200], y[:200])
    np.testing.assert_array_equal(model.coef_, twin.coef_)
    assert not np.array_equal(model.coef_, restored.coef_)
    assert len(model.history_) == len(restored.history_) + 1


def test_global_statistics_are_those_of_all_rows(client):
    """classes_ when a partition lacks classes, balanced class weights and
    eta0='auto' computed over all partitions' rows."""
    X, y = _digits()
    order = np.argsort(y, kind="stable")  # partitions of a few classes each
    X, y = X[order], y[order]
    estimator = LinearClassifier(optimizer="sgd", eta0="auto", class_weight="balanced",
                                 random_state=0, max_iter=2)
    local = clone(estimator).fit(X, y)
    ours = fit_distributed(clone(estimator), X, y, client=client, n_partitions=4)
    np.testing.assert_array_equal(ours.classes_, local.classes_)
    np.testing.assert_allclose(ours._class_weights, local._class_weights, rtol=1e-15)
    np.testing.assert_allclose(ours._progress["eta0"], local._progress["eta0"],
                               rtol=1e-12)


def test_regression_start_is_the_global_mean(client):
    X, y = _diabetes()
    y = y + 10.0
    order = np.argsort(y)  # partitions of very different target levels
    model = fit_distributed(LinearRegressor(random_state=0, max_iter=1, eta0=1e-12,
                                            learning_rate="constant"),
                            X[order], y[order], client=client, n_partitions=3)
    np.testing.assert_allclose(model.intercept_, [y.mean()], rtol=1e-9)


def test_early_stopping_on_the_client_restores_the_best_epoch(client):
    X, y = _digits()
    X_val, y_val = X[1500:], y[1500:]
    model = fit_distributed(
        MLPClassifier((32,), random_state=0, max_iter=40, early_stopping=True,
                      n_iter_no_change=3), X[:1500], y[:1500], X_val=X_val, y_val=y_val,
        client=client, n_partitions=2)
    best = model.history_[model.best_epoch_ - 1]
    assert best["val_loss"] == min(row["val_loss"] for row in model.history_)
    assert model.score(X_val, y_val) == pytest.approx(best["val_score"])


def test_dask_dataframe_input_keeps_feature_names(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y = _diabetes()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    X_dask = dd.from_pandas(frame, npartitions=3)
    y_dask = dd.from_pandas(pd.Series(y), npartitions=3)
    model = fit_distributed(LinearRegressor(random_state=0), X_dask, y_dask,
                            client=client)
    assert list(model.feature_names_in_) == list(frame.columns)
    assert model.score(frame, y) > 0.45


def test_kmeans_labels_and_refine_over_partitions(client):
    X, _ = _blobs()
    model = fit_distributed(KMeans(4, batch_size=128, refine=2, random_state=0), X,
                            client=client, n_partitions=3)
    np.testing.assert_array_equal(model.labels_, model.predict(X))
    assert model.inertia_ == pytest.approx(-model.score(X), rel=1e-9)
