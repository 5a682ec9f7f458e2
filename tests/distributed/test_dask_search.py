"""Hyperparameter searches on a dask cluster through joblib: scikit-learn's
``GridSearchCV`` and ``HalvingRandomSearchCV`` over our estimators, and our
``ContinuedHalvingSearchCV``, give the results of the same search run locally (on
the session's cluster, ``conftest.py``)."""

import joblib
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from scipy.stats import loguniform  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.experimental import enable_halving_search_cv  # noqa: E402, F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV  # noqa: E402

from sklearn_train import ContinuedHalvingSearchCV, LinearClassifier  # noqa: E402

GRID = {"eta0": [0.003, 0.03, 0.3], "alpha": [1e-5, 1e-3, 1e-1]}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:900] / 16, y[:900]


def on_the_cluster(client, search, X, y):
    """``search`` fitted through joblib's dask backend, and how many tasks the
    workers ran (joblib may batch several fits into one task). The search keeps
    its n_jobs=None: under a backend of its own, joblib takes the backend's
    default, for dask all the cluster's workers."""
    # (as_current: the dask backend takes the current client, which another test's
    # cluster may have been)
    with client.as_current(), distributed.get_task_stream(client) as stream:
        with joblib.parallel_config(backend="dask"):
            search.fit(X, y)
    return search, len(stream.data)


def assert_same_search(remote, local):
    assert remote.best_params_ == local.best_params_
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(remote.best_estimator_.coef_,
                                  local.best_estimator_.coef_)


def test_grid_search_on_the_cluster_equals_a_local_one(client, digits):
    X, y = digits
    search = GridSearchCV(LinearClassifier(max_iter=5, tol=None, random_state=0),
                          GRID, cv=3)
    local = clone(search).fit(X, y)
    remote, n_tasks = on_the_cluster(client, clone(search), X, y)
    assert n_tasks > 0
    assert_same_search(remote, local)


def test_halving_random_search_on_the_cluster_equals_a_local_one(client, digits):
    X, y = digits
    search = HalvingRandomSearchCV(
        LinearClassifier(max_iter=5, tol=None, random_state=0),
        {"eta0": loguniform(1e-3, 1.0), "alpha": loguniform(1e-6, 1e-1)},
        n_candidates=9, factor=3, cv=3, random_state=0)
    local = clone(search).fit(X, y)
    remote, n_tasks = on_the_cluster(client, clone(search), X, y)
    assert n_tasks > 0
    assert remote.n_resources_ == local.n_resources_
    assert_same_search(remote, local)


def test_continued_halving_on_the_cluster_equals_a_local_one(client, digits):
    X, y = digits
    search = ContinuedHalvingSearchCV(LinearClassifier(random_state=0), GRID, cv=3)
    local = clone(search).fit(X, y)
    remote, n_tasks = on_the_cluster(client, clone(search), X, y)
    assert n_tasks >= 3  # (at least one a rung)
    assert remote.n_epochs_total_ == local.n_epochs_total_ == 9 * 3 + 3 * 3 * 2 + 3 * 6
    np.testing.assert_array_equal(remote.cv_results_["rank_test_score"],
                                  local.cv_results_["rank_test_score"])
    assert_same_search(remote, local)
