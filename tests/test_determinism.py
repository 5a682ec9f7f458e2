"""A fixed ``random_state`` gives bit-identical models, fit after fit in one process.

Vectorised loops and their scalar fallbacks (taken when arrays lie close together in
memory) must compute the same numbers, so every estimator is refitted with other
allocations made in between (the arrays of the next fit then lie elsewhere) and
compared to the first fit bit for bit. (The arcp fast-math flag broke this for the
Lloyd passes of k-means: see ``_core/_jit.py``.)
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs, make_classification

from sklearn_train import (
    Autoencoder,
    GaussianMixture,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    TSNE,
    UMAP,
)

CASES = {
    "linear-adam": (lambda: LinearClassifier(max_iter=3, tol=None, random_state=0), "dense"),
    "linear-sgd-averaged": (lambda: LinearClassifier(
        optimizer="sgd", average=True, max_iter=3, tol=None, random_state=0), "dense"),
    "linear-lazy-csr-l1": (lambda: LinearClassifier(
        optimizer="sgd", penalty="l1", max_iter=3, tol=None, random_state=0), "csr"),
    "linear-regressor-auto": (lambda: LinearRegressor(max_iter=3, tol=None,
                                                      random_state=0), "dense"),
    "mlp": (lambda: MLPClassifier((17,), dropout=0.1, max_iter=3, tol=None,
                                  random_state=0), "dense"),
    "autoencoder": (lambda: Autoencoder(3, hidden_layer_sizes=(9,), max_iter=3, tol=None,
                                        random_state=0), "dense"),
    "kmeans-refine": (lambda: KMeans(9, refine=2, random_state=0), "blobs"),
    "kmeans-csr": (lambda: KMeans(5, random_state=0), "csr"),
    "mixture-full": (lambda: GaussianMixture(4, max_iter=3, tol=None, random_state=0),
                     "blobs"),
    "mixture-diag": (lambda: GaussianMixture(4, covariance_type="diag", max_iter=3,
                                             tol=None, random_state=0), "blobs"),
    # embeddings on two threads: the parallel passes and searches must not depend
    # on scheduling either
    "tsne": (lambda: TSNE(perplexity=10, max_iter=250, n_jobs=2, random_state=0), "small"),
    "umap-spectral": (lambda: UMAP(n_neighbors=10, n_epochs=30, n_jobs=2, random_state=0),
                      "small"),
    "umap-nn-descent-cosine": (lambda: UMAP(
        n_neighbors=10, n_epochs=30, metric="cosine", neighbors="approximate", n_jobs=2,
        random_state=0), "small"),
}


def data(kind):
    if kind == "small":
        return make_blobs(200, 8, centers=5, random_state=1)
    if kind == "blobs":
        X, y = make_blobs(1500, 16, centers=9, random_state=1)
        return X, y
    X, y = make_classification(1500, 19, n_informative=8, random_state=1)
    if kind == "csr":
        X[np.abs(X) < 0.8] = 0.0
        return sp.csr_matrix(X), y
    return X, y


def fitted_arrays(model):
    arrays = {}
    for name, value in vars(model).items():
        values = value if isinstance(value, list) else [value]
        for index, item in enumerate(values):
            if isinstance(item, np.ndarray) and name.endswith("_"):
                arrays[f"{name}[{index}]"] = item
    return arrays


@pytest.mark.parametrize("case", list(CASES))
def test_refits_are_bit_identical(case):
    make, kind = CASES[case]
    X, y = data(kind)
    first = fitted_arrays(make().fit(X, y))
    padding = []
    for size in (1, 3, 5, 8, 13, 21, 34, 55):
        padding.append(np.empty(size))  # the next fit's arrays lie elsewhere
        again = fitted_arrays(make().fit(X, y))
        assert again.keys() == first.keys()
        for name, array in first.items():
            np.testing.assert_array_equal(again[name], array, err_msg=f"{case}: {name}")
