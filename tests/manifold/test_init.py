"""Initial embeddings: PCA, random, spectral (connected and not), user arrays."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from sklearn_train.manifold import _affinities as A
from sklearn_train.manifold import _init as I


def _umap_graph(X, k=15):
    distances, indices = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()
    weights, _, _ = A.membership_strengths(distances)
    return A.fuzzy_union(indices, weights, len(X))


def test_pca_matches_scikit_learn_up_to_sign_and_scale():
    X = load_digits().data
    embedding = I.pca_init(X, 2, 0, 1e-4)
    assert embedding.dtype == np.float64 and embedding.flags.c_contiguous
    assert abs(np.std(embedding[:, 0]) - 1e-4) < 1e-16
    expected = PCA(n_components=2).fit_transform(X)
    for column in range(2):
        correlation = np.corrcoef(embedding[:, column], expected[:, column])[0, 1]
        assert abs(abs(correlation) - 1) < 1e-10
    ratio = embedding / expected
    # (the start is rounded to float32, as scikit-learn's TSNE rounds it)
    np.testing.assert_allclose(np.abs(ratio), np.abs(ratio[0, 0]), rtol=1e-6)
    # sparse input: another solver, the same signs and values
    np.testing.assert_allclose(I.pca_init(sparse.csr_matrix(X), 2, 0, 1e-4), embedding,
                               rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(I.pca_init(X, 2, 0, 1e-4), embedding)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # PCA's own
def test_pca_constant_data_falls_back():
    with pytest.warns(RuntimeWarning, match="no spread"):
        embedding = I.pca_init(np.ones((20, 3)), 2, 0, 1e-4)
    assert np.all(np.isfinite(embedding))


def test_random_init():
    embedding = I.random_init(5000, 2, 3, 1e-4)
    assert embedding.shape == (5000, 2) and embedding.dtype == np.float64
    assert abs(embedding.std() - 1e-4) < 5e-6
    np.testing.assert_array_equal(embedding, I.random_init(5000, 2, 3, 1e-4))
    assert not np.array_equal(embedding, I.random_init(5000, 2, 4, 1e-4))


def _laplacian_residuals(graph, embedding):
    degrees = np.asarray(graph.sum(axis=1)).ravel()
    scaling = sparse.diags(1 / np.sqrt(degrees))
    laplacian = sparse.identity(graph.shape[0]) - scaling @ graph @ scaling
    vectors = embedding / np.linalg.norm(embedding, axis=0)
    values = np.einsum("ic,ic->c", vectors, laplacian @ vectors)
    residuals = np.linalg.norm(laplacian @ vectors - vectors * values, axis=0)
    trivial = np.sqrt(degrees) / np.linalg.norm(np.sqrt(degrees))
    return values, residuals, np.abs(trivial @ vectors)


@pytest.mark.parametrize("n", [150, 1797])  # the dense and the ARPACK path
def test_spectral_eigenvectors(n):
    X = load_digits().data[:n]
    graph = _umap_graph(X)
    assert csgraph.connected_components(graph)[0] == 1
    embedding = I.spectral_init(graph, 2, 0)
    assert embedding.shape == (n, 2) and embedding.dtype == np.float64
    assert abs(np.abs(embedding).max() - 10) < 1e-12
    values, residuals, overlap = _laplacian_residuals(graph, embedding)
    assert np.all(residuals < 1e-5) and np.all(overlap < 1e-5)
    assert np.all(values > 1e-8) and values[0] <= values[1]
    np.testing.assert_array_equal(embedding, I.spectral_init(graph, 2, 0))


def _separated(embedding, labels):
    parts = np.unique(labels)
    centres = np.array([embedding[labels == p].mean(axis=0) for p in parts])
    radii = np.array([np.linalg.norm(embedding[labels == p] - centres[i], axis=1).max()
                      for i, p in enumerate(parts)])
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    return np.all(radii[:, None] + radii[None, :] < gaps), radii


@pytest.mark.parametrize("with_data", [True, False])
def test_spectral_disconnected(with_data):
    X, _ = make_blobs(2000, 50, centers=20, cluster_std=1, random_state=0)
    graph = _umap_graph(X)
    n_parts, labels = csgraph.connected_components(graph)
    assert n_parts > 1
    embedding = I.spectral_init(graph, 2, 0, data=X if with_data else None)
    assert np.all(np.isfinite(embedding))
    assert abs(np.abs(embedding).max() - 10) < 1e-12
    separated, radii = _separated(embedding, labels)
    assert separated
    assert radii.min() > 0.05  # no component squeezed to a point
    np.testing.assert_array_equal(
        embedding, I.spectral_init(graph, 2, 0, data=X if with_data else None))


def test_spectral_small_components_and_sparse_data():
    # a pair, a singleton and a triangle; 3-d layout
    rows, cols = [0, 2, 2, 3], [1, 3, 4, 4]
    graph = sparse.coo_matrix((np.ones(4), (rows, cols)), shape=(6, 6))
    graph = (graph + graph.T).tocsr()
    data = sparse.csr_matrix(np.arange(18, dtype=float).reshape(6, 3) ** 2)
    embedding = I.spectral_init(graph, 3, 1, data=data)
    assert embedding.shape == (6, 3) and np.all(np.isfinite(embedding))
    assert _separated(embedding, csgraph.connected_components(graph)[1])[0]


def test_spectral_falls_back_when_arpack_fails(monkeypatch):
    def fail(*args, **kwargs):
        raise I.splinalg.ArpackNoConvergence("no convergence", np.zeros(1),
                                             np.zeros((1, 1)))

    monkeypatch.setattr(I.splinalg, "eigsh", fail)
    graph = _umap_graph(load_digits().data[:400])
    with pytest.warns(RuntimeWarning, match="random layout"):
        embedding = I.spectral_init(graph, 2, 0)
    assert embedding.shape == (400, 2) and np.abs(embedding).max() <= 10


def test_check_init_array():
    init = np.arange(6).reshape(3, 2)
    checked = I.check_init_array(init, 3, 2)
    assert checked.dtype == np.float64 and checked.flags.c_contiguous
    checked[0, 0] = 99
    assert init[0, 0] == 0
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        I.check_init_array(np.zeros((3, 3)), 3, 2)
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        I.check_init_array(np.zeros(6), 3, 2)
    with pytest.raises(ValueError, match="NaN"):
        I.check_init_array([[0, 1], [np.nan, 0], [0, 0]], 3, 2)
    with pytest.raises(ValueError, match="numeric"):
        I.check_init_array([["a", "b"]] * 3, 3, 2)


def test_neighbour_inits():
    reference = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    indices = np.array([[0, 1], [1, 2], [2, 0]])
    weights = np.array([[0.5, 0.5], [1.0, 0.3], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        positions = I.neighbour_mean_init(indices, weights, reference)
    np.testing.assert_allclose(positions, [[1, 0], [2, 0], [0, 2]])
    np.testing.assert_allclose(I.neighbour_median_init(indices, reference),
                               [[1, 0], [1, 2], [0, 2]])
