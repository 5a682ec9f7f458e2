"""Affinities: t-SNE against scikit-learn, UMAP against umap-learn and a NumPy loop."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import load_digits
from sklearn.manifold._t_sne import _joint_probabilities_nn
from sklearn.manifold._utils import _binary_search_perplexity
from sklearn.neighbors import NearestNeighbors

from sklearn_train.manifold import _affinities as A


def _knn(X, k):
    distances, indices = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    return indices.astype(np.int64), distances


def _digits(n=400):
    return load_digits().data[:n]


def _random(n=300, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 5))


def _entropy(P):
    safe = np.where(P > 0, P, 1.0)
    return -(P * np.log(safe)).sum(axis=1)


@pytest.mark.parametrize("data", [_digits, _random])
@pytest.mark.parametrize("perplexity", [5, 30])
def test_tsne_matches_scikit_learn(data, perplexity):
    X = data()
    n = len(X)
    k = min(n - 1, int(3.0 * perplexity + 1))
    indices, distances = _knn(X, k)
    # scikit-learn searches on float32 distances: feed both the same values
    sq = (distances ** 2).astype(np.float32).astype(np.float64)
    # the CSR as TSNE builds it (copies: sort_indices permutes its arrays in place)
    graph = sparse.csr_matrix((sq.ravel().copy(), indices.ravel().copy(),
                               np.arange(0, n * k + 1, k)), shape=(n, n))
    expected = _joint_probabilities_nn(graph, perplexity, 0).toarray()
    P = A.tsne_affinities(indices, sq, perplexity)
    assert isinstance(P, sparse.csr_array) and P.dtype == np.float64
    np.testing.assert_allclose(P.toarray(), expected, rtol=0, atol=1e-10)
    assert abs(P.sum() - 1) < 1e-12
    assert abs(P - P.T).max() < 1e-15

    conditional = A.conditional_probabilities(sq, perplexity)
    np.testing.assert_allclose(conditional.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_allclose(_entropy(conditional), np.log(perplexity), atol=1e-5)
    np.testing.assert_allclose(
        conditional, _binary_search_perplexity(sq.astype(np.float32), perplexity, 0),
        atol=1e-12)


def test_conditional_edge_cases():
    # duplicates (a row of zeros), all-equal distances, far rows that underflow at
    # beta = 1 in scikit-learn's form
    distances = np.array([[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0],
                          [1e4, 1e4 + 1, 1e4 + 2, 1e4 + 3], [0.0, 0.0, 1.0, 5.0]])
    P = A.conditional_probabilities(distances, 2.0)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1)
    np.testing.assert_allclose(P[:2], 0.25)
    np.testing.assert_allclose(_entropy(P[2:]), np.log(2.0), atol=1e-5)
    # k = 1
    np.testing.assert_array_equal(A.conditional_probabilities([[3.0], [0.0]], 5), 1)
    # a perplexity beyond what k neighbours allow: the (nearly) uniform row
    P = A.conditional_probabilities([[1.0, 2.0, 3.0]], 30)
    np.testing.assert_allclose(P, 1 / 3, atol=1e-12)
    with pytest.raises(ValueError, match="perplexity"):
        A.conditional_probabilities(distances, 0)
    with pytest.raises(ValueError, match="finite"):
        A.conditional_probabilities([[np.nan, 1.0]], 2)
    with pytest.raises(ValueError, match="shape"):
        A.tsne_affinities(np.zeros((2, 3), dtype=np.int64), np.ones((2, 2)), 2)


def _reference_smooth_knn(distances, n_neighbors, local_connectivity, bandwidth=1.0):
    """umap-learn's smooth_knn_dist as vectorised NumPy over rows (self excluded)."""
    n, k = distances.shape
    target = np.log2(n_neighbors) * bandwidth
    rho = np.zeros(n)
    whole = int(np.floor(local_connectivity))
    fraction = local_connectivity - whole
    for i in range(n):
        positive = distances[i][distances[i] > 0]
        if len(positive) >= local_connectivity:
            if whole > 0:
                rho[i] = positive[whole - 1]
                if fraction > 1e-5:
                    rho[i] += fraction * (positive[whole] - positive[whole - 1])
            else:
                rho[i] = fraction * positive[0]
        elif len(positive) > 0:
            rho[i] = positive.max()
    low, high, sigma = np.zeros(n), np.full(n, np.inf), np.ones(n)
    active = np.ones(n, dtype=bool)
    shifted = distances - rho[:, None]
    for _ in range(64):
        with np.errstate(over="ignore"):
            terms = np.where(shifted > 0, np.exp(-shifted / sigma[:, None]), 1.0)
        total = terms.sum(axis=1)
        active &= ~(np.abs(total - target) < 1e-5)
        above = active & (total > target)
        below = active & ~(total > target)
        high[above] = sigma[above]
        low[below] = sigma[below]
        sigma = np.where(above | (below & np.isfinite(high)), (low + high) / 2,
                         np.where(below, sigma * 2, sigma))
    row_means = distances.sum(axis=1) / (k + 1)
    floor = np.where(rho > 0, row_means, distances.sum() / (n * (k + 1))) * 1e-3
    sigma = np.maximum(sigma, floor)
    weights = np.where(shifted > 0, np.exp(-shifted / sigma[:, None]), 1.0)
    return weights, sigma, rho


def _reference_union(indices, weights, n, mix):
    A_ = np.zeros((n, n))
    for i in range(indices.shape[0]):
        for j in range(indices.shape[1]):
            if indices[i, j] != i:
                A_[i, indices[i, j]] = weights[i, j]
    both = A_ * A_.T
    return mix * (A_ + A_.T - both) + (1 - mix) * both


@pytest.mark.parametrize("local_connectivity", [1.0, 0.0, 1.5, 2.0])
def test_membership_matches_numpy(local_connectivity):
    X = _random(200, 1)
    X[1] = X[0]  # a duplicate: a zero distance
    indices, distances = _knn(X, 10)
    weights, sigmas, rhos = A.membership_strengths(
        distances, local_connectivity=local_connectivity)
    expected = _reference_smooth_knn(distances, 11, local_connectivity)
    for got, want in zip((weights, sigmas, rhos), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        np.where(distances > rhos[:, None], weights, 1.0).sum(axis=1), np.log2(11),
        atol=2e-5)
    for mix in (1.0, 0.3):
        graph = A.fuzzy_union(indices, weights, len(X), mix)
        np.testing.assert_allclose(graph.toarray(),
                                   _reference_union(indices, weights, len(X), mix),
                                   atol=1e-15)
        assert graph.has_sorted_indices and np.all(graph.data > 0)


def test_umap_learn_agrees():
    # umap-learn is a benchmark peer (the bench extra), not a test dependency
    fuzzy_simplicial_set = pytest.importorskip("umap.umap_").fuzzy_simplicial_set

    X = _digits(300)
    n, k = len(X), 14
    indices, distances = _knn(X, k)
    # umap-learn's rows start with the point itself at distance 0
    own = np.arange(n)[:, None]
    expected, sigmas, rhos = fuzzy_simplicial_set(
        X, k + 1, None, "euclidean", knn_indices=np.hstack([own, indices]),
        knn_dists=np.hstack([np.zeros((n, 1)), distances]))
    weights, ours_sigma, ours_rho = A.membership_strengths(distances)
    np.testing.assert_allclose(ours_sigma, sigmas, rtol=1e-5)
    np.testing.assert_allclose(ours_rho, rhos, rtol=1e-6)
    graph = A.fuzzy_union(indices, weights, n)
    np.testing.assert_allclose(graph.toarray(), expected.toarray(), atol=1e-5)


def test_membership_edge_cases():
    distances = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [0.0, 1.0, 3.0]])
    weights, sigmas, rhos = A.membership_strengths(distances)
    assert np.all(np.isfinite(sigmas)) and np.all(sigmas > 0)
    np.testing.assert_array_equal(weights[:2], 1.0)
    np.testing.assert_array_equal(rhos, [0.0, 2.0, 1.0])
    # all points identical: no distance at all, still finite
    weights, sigmas, _ = A.membership_strengths(np.zeros((4, 3)))
    assert np.all(np.isfinite(sigmas)) and np.all(weights == 1)
    weights, _, _ = A.membership_strengths([[1.0], [2.0]])
    np.testing.assert_array_equal(weights, 1.0)
    # a missing neighbour (-1) and a self-loop are dropped from the union
    graph = A.fuzzy_union([[1, -1], [1, 0]], [[0.5, 0.9], [1.0, 0.5]], 2)
    np.testing.assert_allclose(graph.toarray(), [[0, 0.75], [0.75, 0]])
    with pytest.raises(ValueError, match="set_op_mix_ratio"):
        A.fuzzy_union([[1], [0]], [[1.0], [1.0]], 2, 1.5)


def test_transform_helpers():
    X = _digits(300)
    train, new = X[:250], X[250:]
    nn = NearestNeighbors(n_neighbors=15).fit(train)
    distances, indices = nn.kneighbors(new)
    P = A.tsne_transform_affinities(indices, distances ** 2, 250)
    assert P.shape == (50, 250)
    np.testing.assert_allclose(P.sum(axis=1), 1)
    rows = P.toarray()[np.arange(50)[:, None], indices]
    np.testing.assert_allclose(_entropy(rows), np.log(5.0), atol=1e-5)

    graph = A.umap_transform_weights(indices, distances, 250)
    assert graph.shape == (50, 250)
    weights, _, _ = _reference_smooth_knn(distances, 16, 0.0)
    np.testing.assert_allclose(graph.toarray()[np.arange(50)[:, None], indices],
                               weights, rtol=1e-12)


def test_fit_ab_matches_umap_learn():
    find_ab_params = pytest.importorskip("umap.umap_").find_ab_params
    for spread, min_dist in [(1.0, 0.1), (1.0, 0.5), (2.0, 0.0), (1.5, 1.5)]:
        np.testing.assert_allclose(A.fit_ab(spread, min_dist),
                                   find_ab_params(spread, min_dist), rtol=1e-10)


@pytest.mark.parametrize("spread, min_dist", [(1.0, 0.1), (1.0, 0.5), (2.0, 0.0)])
def test_fit_ab_is_the_least_squares_fit(spread, min_dist):
    """No nearby (a, b) fits the target curve better (the fit's own criterion:
    squared error over the grid umap-learn uses, 300 points on [0, 3 spread])."""
    x = np.linspace(0, 3 * spread, 300)
    target = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))

    def error(a, b):
        return np.sum((1.0 / (1.0 + a * x ** (2 * b)) - target) ** 2)

    a, b = A.fit_ab(spread, min_dist)
    best = error(a, b)
    for da, db in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3),
                   (-1e-3, -1e-3), (1e-3, -1e-3), (-1e-3, 1e-3)]:
        assert error(a * (1 + da), b * (1 + db)) >= best * (1 - 1e-9)


def test_fit_ab_is_cached_and_checked():
    hits = A._fit_ab.cache_info().hits
    A.fit_ab(1, 0.1)
    assert A._fit_ab.cache_info().hits == hits + 1
    with pytest.raises(ValueError, match="min_dist"):
        A.fit_ab(1.0, 2.0)
    with pytest.raises(ValueError, match="spread"):
        A.fit_ab(0.0, 0.0)
