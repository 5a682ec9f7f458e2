"""The edge-pass kernels against mathematics: finite differences of the per-pair
losses, the KL divergence in NumPy, and thread-count independence."""

import numba
import numpy as np
import pytest
from scipy import sparse

from sklearn_train._core import embedding as kernels
from sklearn_train._core.threads import kernel_threads
from sklearn_train.manifold._problem import graph_arrays


def _complete_graph(n, rng, rows=None, n_ref=None):
    """A random P over all pairs (no pair off the graph: no sampling, exact)."""
    n_ref = n if n_ref is None else n_ref
    rows = n if rows is None else rows
    P = rng.uniform(0.1, 1.0, size=(rows, n_ref))
    if rows == n_ref:
        np.fill_diagonal(P, 0.0)
        P = P + P.T
    P /= P.sum() if rows == n_ref else P.sum(axis=1, keepdims=True)
    return P


def _tsne_kl(Y, P):
    """KL(P || Q) with the Cauchy kernel over all pairs (NumPy reference)."""
    d2 = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1)
    W = 1.0 / (1.0 + d2)
    np.fill_diagonal(W, 0.0)
    Q = W / W.sum()
    mask = P > 0
    return float(np.sum(P[mask] * np.log(P[mask] / Q[mask])))


def _tsne_transform_kl(Y, ref, P):
    """Mean over new points of KL(P_i || Q_i), Q_i over the reference points."""
    d2 = ((Y[:, None, :] - ref[None, :, :]) ** 2).sum(-1)
    W = 1.0 / (1.0 + d2)
    Q = W / W.sum(axis=1, keepdims=True)
    return float(np.sum(P * np.log(P / Q))) / Y.shape[0]


def _one_tsne_pass(Y, ref, P, transform, rate=1e-3):
    """One pass at momentum 0; returns the gradient the kernel stepped along and the
    loss it measured."""
    csr = sparse.csr_array(P)
    csr.sort_indices()
    n = Y.shape[0]
    graph = graph_arrays(csr, np.arange(n, dtype=np.uint64))
    ints, floats = kernels.settings(5, 0, transform=transform)
    floats[kernels.F_MOMENTUM] = 0.0
    Y = Y.copy()
    reference = Y if ref is None else ref
    update, gains = np.zeros_like(Y), np.ones_like(Y)
    scratch = (np.zeros_like(Y), np.zeros_like(Y), np.zeros_like(Y), np.zeros(n),
               np.zeros(n), np.zeros((numba.config.NUMBA_NUM_THREADS, reference.shape[0]),
                                     dtype=np.uint8))
    before = Y.copy()
    status = kernels.tsne_passes(graph, (np.array([rate]),), (Y, reference, update, gains),
                                 scratch, ints, floats)
    assert status == kernels.OK
    # a first step has no previous direction: every gain becomes 0.8
    gradient = -(Y - before) / (rate * 0.8)
    entropy = float(np.sum(csr.data * np.log(csr.data)))
    z, kl = scratch[3], scratch[4]
    if transform:
        loss = (entropy + kl.sum() + np.log(z).sum()) / n
    else:
        loss = entropy + kl.sum() + np.log(z.sum())
    return gradient, loss


def _finite_difference(f, Y, h=1e-6):
    grad = np.zeros_like(Y)
    for index in np.ndindex(*Y.shape):
        up, down = Y.copy(), Y.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (f(up) - f(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("d", [2, 3])
def test_tsne_gradient_and_loss_match_the_kl_divergence(d):
    rng = np.random.default_rng(0)
    n = 12
    Y = rng.normal(size=(n, d))
    P = _complete_graph(n, rng)
    gradient, loss = _one_tsne_pass(Y, None, P, transform=False)
    assert loss == pytest.approx(_tsne_kl(Y, P), rel=1e-10)
    expected = _finite_difference(lambda Z: _tsne_kl(Z, P), Y)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-9)


def test_tsne_transform_gradient_is_each_new_points_own_kl():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(9, 2)) * 3
    Y = rng.normal(size=(4, 2))
    P = _complete_graph(9, rng, rows=4)
    gradient, loss = _one_tsne_pass(Y, ref, P, transform=True)
    assert loss == pytest.approx(_tsne_transform_kl(Y, ref, P), rel=1e-10)
    # the kernel's per-point gradient is that of the point's own KL (the mean's
    # gradient times the number of points)
    expected = _finite_difference(lambda Z: _tsne_transform_kl(Z, ref, P), Y) * Y.shape[0]
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-9)


def test_tsne_sampled_repulsion_is_unbiased():
    """With pairs off the graph, the sampled repulsion and normaliser average to the
    exact gradient over many seeds."""
    rng = np.random.default_rng(2)
    n = 40
    Y = rng.normal(size=(n, 2)) * 2
    P = _complete_graph(n, rng)
    keep = rng.uniform(size=P.shape) < 0.2
    keep = keep | keep.T
    P = np.where(keep, P, 0.0)
    np.fill_diagonal(P, 0.0)
    P /= P.sum()
    exact = _finite_difference(lambda Z: _tsne_kl(Z, P), Y)
    csr = sparse.csr_array(P)
    csr.sort_indices()
    graph = graph_arrays(csr, np.arange(n, dtype=np.uint64))
    estimates = []
    for seed in range(1000):
        ints, floats = kernels.settings(5, seed)
        floats[kernels.F_MOMENTUM] = 0.0
        Z = Y.copy()
        scratch = (np.zeros_like(Z), np.zeros_like(Z), np.zeros_like(Z), np.zeros(n),
                   np.zeros(n), np.zeros((numba.config.NUMBA_NUM_THREADS, n), np.uint8))
        kernels.tsne_passes(graph, (np.array([1e-3]),),
                            (Z, Z, np.zeros_like(Z), np.ones_like(Z)), scratch, ints, floats)
        estimates.append(-(Z - Y) / (1e-3 * 0.8))
    mean = np.mean(estimates, axis=0)
    standard_error = np.std(estimates, axis=0) / np.sqrt(len(estimates))
    # within 5 standard errors everywhere (the normaliser is a ratio estimate,
    # unbiased to first order: its bias is far below that)
    assert np.all(np.abs(mean - exact) < 5 * standard_error + 1e-12)
    # and not simply the attraction: the sampled part matters
    attraction_only = _finite_difference(lambda Z: -np.sum(P * np.log(
        1.0 / (1.0 + ((Z[:, None] - Z[None]) ** 2).sum(-1)) + np.eye(n))), Y)
    assert np.abs(mean - attraction_only).max() > 0.2 * np.abs(exact).max()


A, B = 1.577, 0.895  # fit_ab(1.0, 0.1)


def _umap_move(y, ref, n_negatives, alpha=0.01):
    """One pass of a single new point with one edge (weight 1) to reference point 0
    and ``n_negatives`` negatives, all drawn from the one-point reference."""
    Y = y[None, :].copy()
    graph = graph_arrays(sparse.csr_array(np.ones((1, 1))), np.zeros(1, dtype=np.uint64))
    ints, floats = kernels.settings(n_negatives, 0, transform=True, chunk=4)
    floats[kernels.F_A], floats[kernels.F_B] = A, B
    buffers = (np.zeros((4, y.size)), np.zeros((4, y.size)))
    status, loss, samples = kernels.umap_passes(graph, (np.array([alpha]),),
                                                (Y, ref) + buffers, ints, floats)
    assert status == kernels.OK and samples == 1
    return Y[0] - y, loss


def _umap_cross_entropy(y, other, n_negatives):
    d2 = np.sum((y - other) ** 2)
    q = 1.0 / (1.0 + A * d2**B)
    return -np.log(q) - n_negatives * np.log(1.0 - q)


@pytest.mark.parametrize("n_negatives", [0, 3])
def test_umap_moves_descend_the_cross_entropy(n_negatives):
    ref = np.array([[0.5, -1.0, 2.0]])
    # far enough that umap-learn's 0.001 in the repulsion is negligible, near
    # enough that no move is clipped
    y = np.array([3.0, 1.5, -0.5])
    alpha = 0.01
    move, loss = _umap_move(y, ref, n_negatives, alpha)
    gradient = _finite_difference(lambda z: _umap_cross_entropy(z[0], ref[0], n_negatives),
                                  y[None, :])[0]
    np.testing.assert_allclose(move, -alpha * gradient, rtol=1e-4)
    assert loss == pytest.approx(_umap_cross_entropy(y, ref[0], n_negatives), rel=1e-6)


def test_umap_moves_are_clipped():
    ref = np.array([[0.0, 0.0]])
    y = np.array([0.05, 0.0])
    move, _ = _umap_move(y, ref, 1, alpha=1.0)
    d2 = 0.05**2
    pull = -2 * A * B * d2 ** (B - 1) / (1 + A * d2**B) * 0.05
    push = 2 * B / ((0.001 + d2) * (1 + A * d2**B)) * 0.05
    assert push > 4 > abs(pull)  # the push alone is clipped
    np.testing.assert_allclose(move, [pull + 4.0, 0.0], rtol=1e-6)


def test_fast_pow_is_accurate():
    from sklearn_train._core.embedding import fast_pow

    @numba.njit
    def powers(x, b):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = fast_pow(x[i], b)
        return out

    x = np.exp(np.random.default_rng(0).uniform(-30, 20, 100_000))
    for b in (0.2, 0.79, 1.0, 1.9):
        np.testing.assert_allclose(powers(x, b), x**b, rtol=1e-7)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_passes_are_identical_for_any_thread_count(method):
    rng = np.random.default_rng(3)
    n = 700  # several UMAP chunks
    Y0 = rng.normal(size=(n, 2))
    G = sparse.random_array((n, n), density=0.03, random_state=4, format="csr")
    G = (G + G.T).tocsr()
    G.setdiag(0)
    G.eliminate_zeros()
    G.sort_indices()
    G.data /= G.data.max() if method == "umap" else G.data.sum()
    graph = graph_arrays(G, np.arange(n, dtype=np.uint64))
    results = []
    for threads in (1, 2):
        Y = Y0.copy()
        with kernel_threads(threads):
            if method == "tsne":
                ints, floats = kernels.settings(10, 7)
                scratch = (np.zeros_like(Y), np.zeros_like(Y), np.zeros_like(Y),
                           np.zeros(n), np.zeros(n),
                           np.zeros((numba.config.NUMBA_NUM_THREADS, n), np.uint8))
                kernels.tsne_passes(graph, (np.full(20, 50.0),),
                                    (Y, Y, np.zeros_like(Y), np.ones_like(Y)), scratch,
                                    ints, floats)
            else:
                ints, floats = kernels.settings(5, 7, chunk=256)
                floats[kernels.F_A], floats[kernels.F_B] = A, B
                buffers = (np.zeros((256, 2)), np.zeros((256, 2)))
                kernels.umap_passes(graph, (np.linspace(1, 0.1, 20),), (Y, Y) + buffers,
                                    ints, floats)
        results.append(Y)
    assert not np.array_equal(results[0], Y0)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("transform", [False, True])
def test_two_dimensional_paths_equal_the_general_ones(transform):
    """The scalar 2-D paths of both kernels move points exactly as the general
    paths do on the same points with a third coordinate of 0."""
    rng = np.random.default_rng(5)
    n = 60
    G = sparse.random_array((n, n), density=0.2, random_state=6, format="csr")
    G = (G + G.T).tocsr()
    G.setdiag(0)
    G.eliminate_zeros()
    G.sort_indices()
    Y2 = rng.normal(size=(n, 2)) * 3
    Y3 = np.hstack([Y2, np.zeros((n, 1))])
    ref2 = rng.normal(size=(n, 2)) * 3
    ref3 = np.hstack([ref2, np.zeros((n, 1))])
    umap_graph = graph_arrays(G / G.data.max(), np.arange(n, dtype=np.uint64))
    tsne_graph = graph_arrays(G / G.data.sum(), np.arange(n, dtype=np.uint64))
    moved = {}
    for Y0, ref0 in ((Y2, ref2), (Y3, ref3)):
        d = Y0.shape[1]
        Y = Y0.copy()
        ref = ref0 if transform else Y
        ints, floats = kernels.settings(5, 0, transform=transform, chunk=16)
        floats[kernels.F_A], floats[kernels.F_B] = A, B
        kernels.umap_passes(umap_graph, (np.array([0.5, 0.4, 0.3]),),
                            (Y, ref, np.zeros((16, d)), np.zeros((16, d))), ints, floats)
        Z = Y0.copy()
        ref = ref0 if transform else Z
        ints, floats = kernels.settings(5, 0, transform=transform)
        scratch = (np.zeros_like(Z), np.zeros_like(Z), np.zeros_like(Z), np.zeros(n),
                   np.zeros(n), np.zeros((numba.config.NUMBA_NUM_THREADS, n), np.uint8))
        kernels.tsne_passes(tsne_graph, (np.full(3, 10.0),),
                            (Z, ref, np.zeros_like(Z), np.ones_like(Z)), scratch, ints, floats)
        moved[d] = (Y[:, :2], Z[:, :2])
    for path in (0, 1):
        assert not np.allclose(moved[2][path], Y2)
        np.testing.assert_allclose(moved[2][path], moved[3][path], rtol=1e-10, atol=1e-12)
