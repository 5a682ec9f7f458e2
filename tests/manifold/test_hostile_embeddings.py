"""Hostile use of TSNE and UMAP: regressions of defects found by hand.

Each test reproduces one finding (it failed before its fix); the catalogue-wide
checks (bad parameters, NaN, shapes, dtypes) are in ``tests/test_hostile_input.py``.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs

from sklearn_train import TSNE, UMAP, DivergenceError

X, _ = make_blobs(60, 4, centers=3, random_state=0)

MAKERS = {
    "TSNE": lambda **params: TSNE(**{"perplexity": 5, "max_iter": 250, "random_state": 0,
                                     **params}),
    "UMAP": lambda **params: UMAP(**{"n_neighbors": 5, "n_epochs": 20, "random_state": 0,
                                     **params}),
}
both = pytest.mark.parametrize("make", list(MAKERS.values()), ids=list(MAKERS))


def _unchanged(estimator, before):
    after = vars(estimator)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=key)


@both
def test_a_model_fitted_on_csr_rows_places_dense_rows_and_back(make):
    # the neighbour search takes both sides dense or both CSR: transform refused
    # dense rows after a CSR fit ("X and queries must be both dense or both sparse")
    sparse_model = make().fit(sp.csr_matrix(X))
    new = X[:5] + 0.1
    np.testing.assert_array_equal(sparse_model.transform(new),
                                  sparse_model.transform(sp.csr_matrix(new)))
    dense_model = make().fit(X)
    np.testing.assert_array_equal(dense_model.transform(sp.csr_matrix(new)),
                                  dense_model.transform(new))


@both
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_training_rows_transform_to_their_own_places(make, dtype):
    # CSR distances come from |q|^2 + |x|^2 - 2 q.x: a row's distance to itself is a
    # rounding error (3e-8), not 0, so training rows moved instead of keeping theirs
    model = make().fit(sp.csr_matrix(X.astype(dtype)))
    np.testing.assert_array_equal(model.transform(sp.csr_matrix(X.astype(dtype))),
                                  model.embedding_)
    assert not np.array_equal(model.transform(sp.csr_matrix(X[:5] * 1.001)),
                              model.embedding_[:5])


def test_umap_divergence_says_to_lower_the_learning_rate():
    # the loss stayed finite while the points went to infinity: the error came from
    # the fitted-attribute check, advising to "scale the target, or lower eta0"
    model = MAKERS["UMAP"]().fit(X)
    before = {key: value.copy() if isinstance(value, np.ndarray) else value
              for key, value in vars(model).items()}
    model.set_params(learning_rate=1e200)
    with pytest.raises(DivergenceError, match=r"(?s)embedding.*learning_rate") as error:
        model.fit(X)
    assert "eta0" not in str(error.value) and "target" not in str(error.value)
    _unchanged(model, before)
    assert np.isfinite(model.embedding_).all()


@both
def test_data_whose_distances_overflow_is_refused_with_advice(make):
    # entries beyond ~1e154 square to infinity: overflow warnings, then "distances
    # must be finite and non-negative" about data that is finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"(?s)overflow.*scale"):
            make().fit(X * 1e200)
        model = make().fit(X)
        with pytest.raises(ValueError, match=r"(?s)overflow.*scale"):
            model.transform(X[:3] * 1e200)
    assert np.isfinite(make().fit_transform(X * 1e150)).all()  # just below: trains


@pytest.mark.parametrize("make", [MAKERS["TSNE"],
                                  lambda **params: MAKERS["UMAP"](**{"init": "pca", **params})],
                         ids=["TSNE-default-init", "UMAP-init-pca"])
def test_pca_init_with_more_components_than_features_names_init(make):
    # scikit-learn's PCA answered "n_components=3 must be between 0 and
    # min(n_samples, n_features)=2 with svd_solver='covariance_eigh'": nothing about
    # init, which TSNE's user never set
    with pytest.raises(ValueError, match=r"(?s)init='pca'.*init='random'"):
        make(n_components=3).fit(X[:, :2])
    assert make(n_components=3, init="random").fit_transform(X[:, :2]).shape == (60, 3)


def test_large_float32_values_find_true_neighbours():
    """float32 rows near 1e19 square past float32's range: the search then runs in
    float64 instead of returning -1 for every neighbour (a silently empty graph)."""
    from sklearn.neighbors import NearestNeighbors

    from sklearn_train.manifold import _neighbors

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(60, 3)) * 3e19).astype(np.float32)
    indices, distances = _neighbors.nearest_neighbors(X, 5)
    assert indices.min() >= 0 and np.isfinite(distances).all()
    expected = NearestNeighbors(n_neighbors=5).fit(X.astype(np.float64)).kneighbors()[1]
    np.testing.assert_array_equal(indices, expected)
    model = UMAP(n_neighbors=6, n_epochs=20, random_state=0).fit(X)
    assert model.graph_.nnz > 0
