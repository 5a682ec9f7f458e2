"""Nearest neighbours of the embedding estimators against scikit-learn's brute force."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_blobs
from sklearn.neighbors import NearestNeighbors, kneighbors_graph

from sklearn_train.manifold import _neighbors
from sklearn_train.manifold._neighbors import (nearest_neighbors, precomputed_neighbors,
                                               query_neighbors)


def _data(n=600, d=12, offset=50.0, seed=0):
    # far from the origin: the expansion must not cancel (the rows are centred)
    X, _ = make_blobs(n, d, centers=6, cluster_std=2.0, random_state=seed)
    return X + offset


def _sparse(X):
    X = X.copy()
    X[np.abs(X - np.median(X)) < 2.0] = 0.0  # about half the entries
    return sp.csr_matrix(X)


def _recall(found, true):
    return np.mean([np.intersect1d(a, b).size for a, b in zip(found, true)]) / true.shape[1]


def _reference(X, k, metric, queries=None):
    model = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(X)
    distances, indices = model.kneighbors(queries)
    return indices, distances


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_exact_equals_scikit_learn(metric, dtype, sparse):
    X = _data().astype(dtype)
    X = _sparse(X) if sparse else X
    indices, distances = nearest_neighbors(X, 10, metric=metric, method="exact")
    assert indices.dtype == np.int64 and distances.dtype == np.float64
    assert indices.shape == distances.shape == (600, 10)
    # scikit-learn's float32 cosine distances are float32-rounded, ours float64: the
    # reference is the float64 computation on the same (float32) values
    reference = X.astype(np.float64) if metric == "cosine" else X
    expected_indices, expected_distances = _reference(reference, 10, metric)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6, atol=1e-9)
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_float32_distances_are_accurate():
    X = _data(d=30).astype(np.float32)
    _, distances = nearest_neighbors(X, 5, method="exact")
    indices, _ = nearest_neighbors(X, 5, method="exact")
    exact = np.linalg.norm(X.astype(np.float64)[:, None, :] - X[indices].astype(np.float64),
                           axis=2)
    np.testing.assert_allclose(distances, exact, rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("sparse", [False, True])
def test_query_equals_scikit_learn(metric, sparse):
    X = _data(seed=1)
    queries = _data(n=50, seed=2)
    if sparse:
        X, queries = _sparse(X), _sparse(queries)
    indices, distances = query_neighbors(X, queries, 7, metric=metric, n_jobs=2)
    expected_indices, expected_distances = _reference(X, 7, metric, queries)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-6, atol=1e-9)


def test_query_of_the_rows_themselves_finds_them_first():
    X = _data(n=200)
    indices, distances = query_neighbors(X, X, 3)
    np.testing.assert_array_equal(indices[:, 0], np.arange(200))
    np.testing.assert_array_equal(distances[:, 0], 0.0)


def test_precomputed_sparse_graph_and_dense_matrix_equal_exact():
    X = _data(n=400)
    indices, distances = nearest_neighbors(X, 8, method="exact")
    graph = kneighbors_graph(X, 15, mode="distance")  # no diagonal, 15 per row
    for D in (graph, graph.tocoo(), graph.tocsc()):
        found, found_distances = precomputed_neighbors(D, 8)
        np.testing.assert_array_equal(found, indices)
        np.testing.assert_allclose(found_distances, distances, rtol=1e-12)
    dense = np.sqrt(np.maximum(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2), 0))
    found, found_distances = precomputed_neighbors(dense, 8)
    np.testing.assert_array_equal(found, indices)
    np.testing.assert_allclose(found_distances, distances, rtol=1e-10)
    # a stored diagonal is not a neighbour, however small
    with_diagonal = (graph + sp.identity(400) * 1e-3).tocsr()
    np.testing.assert_array_equal(precomputed_neighbors(with_diagonal, 8)[0], indices)


def test_precomputed_explicit_zeros_are_neighbours():
    D = sp.csr_matrix((np.array([0.0, 2.0, 3.0, 0.0, 5.0, 1.0]),
                       np.array([1, 2, 0, 2, 0, 1]), np.array([0, 2, 4, 6])), shape=(3, 3))
    assert D.nnz == 6  # the zeros are stored
    indices, distances = precomputed_neighbors(D, 2)
    np.testing.assert_array_equal(indices, [[1, 2], [2, 0], [1, 0]])
    np.testing.assert_array_equal(distances, [[0.0, 2.0], [0.0, 3.0], [1.0, 5.0]])


@pytest.mark.parametrize("bad, message", [
    (np.nan, "NaN or infinite"), (np.inf, "NaN or infinite"), (-1.0, "negative")])
def test_precomputed_refuses_bad_distances(bad, message):
    D = np.ones((5, 5))
    D[2, 3] = bad
    with pytest.raises(ValueError, match=message):
        precomputed_neighbors(D, 2)
    with pytest.raises(ValueError, match=message):
        precomputed_neighbors(sp.csr_matrix(D), 2)


def test_precomputed_refuses_short_rows_and_non_square():
    D = kneighbors_graph(_data(n=50), 3, mode="distance")
    with pytest.raises(ValueError, match="fewer than n_neighbors=4"):
        precomputed_neighbors(D, 4)
    with pytest.raises(ValueError, match="square"):
        precomputed_neighbors(np.ones((4, 5)), 2)


def test_approximate_recall_on_blobs():
    X, _ = make_blobs(6000, 40, centers=12, cluster_std=3.0, random_state=0)
    for k in (15, 60):
        exact, _ = nearest_neighbors(X, k, method="exact")
        found, distances = nearest_neighbors(X, k, method="approximate", seed=3)
        assert _recall(found, exact) >= 0.95
        # the distances are the true ones of the rows found, sorted
        true = np.linalg.norm(X[:, None, :] - X[found], axis=2)
        np.testing.assert_allclose(distances, true, rtol=1e-10)
        assert np.all(np.diff(distances, axis=1) >= 0)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_approximate_recall_on_digits(metric):
    X = load_digits().data
    for k in (15, 90):
        exact, _ = nearest_neighbors(X, k, metric=metric, method="exact")
        found, _ = nearest_neighbors(X, k, metric=metric, method="approximate")
        assert _recall(found, exact) >= 0.95
        assert not np.any(found == np.arange(X.shape[0])[:, None])


def test_approximate_is_deterministic_for_a_seed_whatever_n_jobs():
    X, _ = make_blobs(3000, 20, centers=8, cluster_std=3.0, random_state=1)
    first = nearest_neighbors(X, 15, method="approximate", seed=7, n_jobs=1)
    again = nearest_neighbors(X, 15, method="approximate", seed=7, n_jobs=1)
    threads = nearest_neighbors(X, 15, method="approximate", seed=7, n_jobs=2)
    for other in (again, threads):
        np.testing.assert_array_equal(first[0], other[0])
        np.testing.assert_array_equal(first[1], other[1])


def test_exact_is_the_same_whatever_n_jobs():
    X = _data()
    one = nearest_neighbors(X, 9, method="exact", n_jobs=1)
    two = nearest_neighbors(X, 9, method="exact", n_jobs=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("method", ["exact", "approximate"])
def test_duplicates(method):
    X = np.repeat(_data(n=150), 3, axis=0)  # every row three times
    indices, distances = nearest_neighbors(X, 5, method=method)
    n = X.shape[0]
    assert not np.any(indices == np.arange(n)[:, None])
    assert all(len(set(row)) == 5 for row in indices)
    # the two copies come first, at distance 0
    np.testing.assert_array_equal(distances[:, :2], 0.0)
    np.testing.assert_array_equal(np.sort(indices[:, :2] // 3, axis=1),
                                  np.repeat(np.arange(n // 3), 3)[:, None].repeat(2, axis=1))
    same = np.zeros((40, 4))
    indices, distances = nearest_neighbors(same, 6, method=method)
    np.testing.assert_array_equal(distances, 0.0)
    assert all(len(set(row)) == 6 and i not in row for i, row in enumerate(indices))


def test_cosine_zero_rows_are_at_distance_one():
    X = _data(n=100)
    X[[3, 50]] = 0.0
    for method in ("exact", "approximate"):
        indices, distances = nearest_neighbors(X, 4, metric="cosine", method=method)
        np.testing.assert_array_equal(distances[[3, 50]], 1.0)
        assert np.all(distances[indices != 3] <= 1.0)


def test_sparse_approximate_is_densified_or_refused(monkeypatch):
    X = _sparse(_data(n=800))
    found, _ = nearest_neighbors(X, 10, method="approximate")
    exact, _ = nearest_neighbors(X, 10, method="exact")
    assert _recall(found, exact) >= 0.95
    monkeypatch.setattr(_neighbors, "_DENSIFY_BYTES", 1000)
    with pytest.raises(ValueError, match="TruncatedSVD"):
        nearest_neighbors(X, 10, method="approximate")


def test_auto_switches_at_exact_max_rows(monkeypatch):
    X = _data(n=300)
    calls = []
    monkeypatch.setattr(_neighbors, "_approximate", lambda *a: calls.append(a) or "approx")
    nearest_neighbors(X, 5)
    assert calls == []
    monkeypatch.setattr(_neighbors, "EXACT_MAX_ROWS", 299)
    assert nearest_neighbors(X, 5) == "approx"


def test_errors():
    X = _data(n=30)
    with pytest.raises(ValueError, match="metric"):
        nearest_neighbors(X, 3, metric="manhattan")
    with pytest.raises(ValueError, match="method"):
        nearest_neighbors(X, 3, method="kd_tree")
    for k in (30, 31):
        with pytest.raises(ValueError, match=rf"n_neighbors={k}.*\(30\)"):
            nearest_neighbors(X, k)
    with pytest.raises(ValueError, match="positive"):
        nearest_neighbors(X, 0)
    assert nearest_neighbors(X, 29)[0].shape == (30, 29)  # every other row
    with pytest.raises(ValueError, match="n_neighbors=31.*30 rows"):
        query_neighbors(X, X[:2], 31)
    with pytest.raises(ValueError, match="features"):
        query_neighbors(X, X[:2, :5], 3)
    with pytest.raises(ValueError, match="both dense or both sparse"):
        query_neighbors(X, sp.csr_matrix(X[:2]), 3)
    with pytest.raises(ValueError, match=r"n_neighbors=5.*\(5\)"):
        precomputed_neighbors(np.ones((5, 5)), 5)


def test_sparse_with_duplicate_entries_is_summed_not_changed():
    X = _data(n=100)
    single = sp.csr_matrix(X)
    # every entry stored twice, as halves
    doubled = sp.csr_matrix((np.repeat(single.data / 2, 2), np.repeat(single.indices, 2),
                             single.indptr * 2), shape=X.shape)
    assert doubled.nnz == 2 * single.nnz
    data_before = doubled.data.copy()
    indices, distances = nearest_neighbors(X, 5, method="exact")
    found, found_distances = nearest_neighbors(doubled, 5, method="exact")
    np.testing.assert_array_equal(found, indices)
    np.testing.assert_allclose(found_distances, distances, rtol=1e-9)
    np.testing.assert_array_equal(doubled.data, data_before)
