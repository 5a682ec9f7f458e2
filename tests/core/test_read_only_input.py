"""Read-only input (memmaps, arrays flagged read-only, models loaded with
``mmap_mode``) trains and predicts through the kernels compiled for writeable arrays:
no second variant, the same numbers, and the input left untouched."""

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification

from sklearn_train import GaussianMixture, KMeans, LinearClassifier, MLPClassifier
from sklearn_train._core import cluster, linear, mixture, mlp
from sklearn_train._core.data import writeable_alias

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def test_the_alias_shares_memory_and_keeps_its_owner_alive():
    array = read_only(np.arange(12.0).reshape(3, 4))
    alias = writeable_alias(array)
    assert alias.flags.writeable and np.shares_memory(alias, array)
    assert alias.base.owner is array
    writeable = np.ones(3)
    assert writeable_alias(writeable) is writeable


@pytest.mark.parametrize("make, kernel", [
    (lambda: LinearClassifier(random_state=0, max_iter=3), linear.linear_epoch),
    (lambda: MLPClassifier((4,), random_state=0, max_iter=3), mlp.mlp_epoch),
    (lambda: KMeans(3, random_state=0, max_iter=3), cluster.kmeans_epoch),
    (lambda: GaussianMixture(2, random_state=0, max_iter=3), mixture.gmm_epoch),
])
def test_read_only_input_compiles_no_new_variant(make, kernel, tmp_path):
    X, y = make_classification(200, 5, random_state=0)
    writeable = make().fit(X, y)
    n_variants = len(kernel.signatures)
    joblib.dump((X, y), tmp_path / "data.pkl")
    X_map, y_map = joblib.load(tmp_path / "data.pkl", mmap_mode="r")
    assert not X_map.flags.writeable
    mapped = make().fit(X_map, y_map)
    frozen = make().fit(read_only(X), read_only(y))
    assert len(kernel.signatures) == n_variants
    for model in (mapped, frozen):
        np.testing.assert_array_equal(model.predict(X_map), writeable.predict(X))
    np.testing.assert_array_equal(np.asarray(X_map), X)  # (nothing was written)


@pytest.mark.parametrize("make, kernel", [
    (lambda: MLPClassifier((4,), random_state=0, max_iter=3), mlp.mlp_forward),
    (lambda: GaussianMixture(2, random_state=0, max_iter=3), mixture.weighted_log_prob),
])
def test_a_model_loaded_read_only_predicts_without_a_new_variant(make, kernel, tmp_path):
    X, y = make_classification(200, 5, random_state=0)
    model = make().fit(X, y)
    expected = model.predict_proba(X)
    n_variants = len(kernel.signatures)
    joblib.dump(model, tmp_path / "model.pkl")
    loaded = joblib.load(tmp_path / "model.pkl", mmap_mode="r")
    assert not loaded.__dict__["_state"]["params" if "params" in loaded._state
                                         else "means"].flags.writeable
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert len(kernel.signatures) == n_variants
