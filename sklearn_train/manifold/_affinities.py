"""How strongly points attract: t-SNE's joint probabilities and UMAP's fuzzy graph.

Every function starts from a kNN graph: ``indices`` (n, k) int64 and distances
(n, k) float64, each row sorted by increasing distance, the point itself left out.
The per-row searches run in ``_core.affinities``; the symmetrisations are sparse
algebra in SciPy. Results are ``scipy.sparse.csr_array`` of float64 with sorted
indices.

A note on UMAP's neighbour count: umap-learn's graphs list each point as its own
first neighbour, so its ``n_neighbors=15`` means 14 other points. Here the point is
not in the graph, and ``n_neighbors`` (the count whose ``log2`` is the target
membership sum) defaults to ``k + 1``: a kNN graph of 14 neighbours gives umap-learn's
``n_neighbors=15`` results.
"""

import functools
import math

import numpy as np
from scipy import sparse
from scipy.optimize import curve_fit

from .._core import affinities as _kernels

_MACHINE_EPSILON = np.finfo(np.double).eps


def _check_graph(distances, indices=None):
    distances = np.ascontiguousarray(distances, dtype=np.float64)
    if distances.ndim != 2 or distances.shape[1] == 0:
        raise ValueError(
            f"distances must be a 2-d array (n_samples, n_neighbors) with at least one "
            f"neighbour; got shape {distances.shape}.")
    if not np.all(np.isfinite(distances)) or np.any(distances < 0):
        raise ValueError("distances must be finite and non-negative.")
    if indices is not None:
        indices = np.asarray(indices)
        if indices.shape != distances.shape:
            raise ValueError(
                f"indices {indices.shape} and distances {distances.shape} must have "
                "the same shape.")
    return distances, indices


def _rows_to_csr(indices, values, n_columns):
    """CSR (n, n_columns) with row i holding ``values[i]`` at ``indices[i]``;
    entries with a negative index (a missing neighbour) are dropped."""
    n, k = values.shape
    keep = indices >= 0
    counts = keep.sum(axis=1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    matrix = sparse.csr_array(
        (values[keep], indices[keep].astype(np.int64), indptr), shape=(n, n_columns))
    matrix.sum_duplicates()  # also sorts the indices of each row
    return matrix


def conditional_probabilities(sq_distances, perplexity):
    """Each row's Gaussian over its neighbours, with the entropy of ``perplexity``.

    ``p_{j|i} = exp(-d_ij beta_i) / sum_l exp(-d_il beta_i)``, with ``beta_i`` found
    by scikit-learn's binary search (``_binary_search_perplexity``: same start,
    tolerance 1e-5 on the entropy in nats, at most 100 steps).

    Parameters
    ----------
    sq_distances : array-like of shape (n, k)
        What the Gaussian is fed: squared euclidean distances for the euclidean
        metric (as scikit-learn's TSNE), the raw distance for other metrics.
    perplexity : float
        Target perplexity, ``exp(entropy)``. A row of k neighbours cannot exceed an
        entropy of ``log(k)``: when ``perplexity > k`` the search ends near the
        uniform row ``1/k`` (the closest it can get), without an error.

    Returns
    -------
    P : ndarray of shape (n, k), float64
        Rows summing to 1, columns as in ``sq_distances``.
    """
    P, _ = _perplexity_search(sq_distances, perplexity)
    return P


def _perplexity_search(sq_distances, perplexity):
    distances, _ = _check_graph(sq_distances)
    if not perplexity > 0:
        raise ValueError(f"perplexity must be positive; got {perplexity!r}.")
    P = np.empty_like(distances)
    betas = np.empty(distances.shape[0])
    _kernels.perplexity_rows(distances, math.log(perplexity), P, betas)
    return P, betas


def tsne_affinities(indices, sq_distances, perplexity):
    """t-SNE's joint probabilities over a kNN graph.

    The conditional probabilities (``conditional_probabilities``) placed at the
    neighbours' columns, symmetrised as ``P + P.T`` and divided by the total, as
    scikit-learn's ``_joint_probabilities_nn``.

    Parameters
    ----------
    indices : array-like of shape (n, k), int
        Neighbours of each point (the point itself left out).
    sq_distances : array-like of shape (n, k)
        See ``conditional_probabilities``.
    perplexity : float
        Target perplexity of each row.

    Returns
    -------
    P : scipy.sparse.csr_array of shape (n, n), float64
        Symmetric, non-negative, summing to 1.
    """
    distances, indices = _check_graph(sq_distances, indices)
    conditional = conditional_probabilities(distances, perplexity)
    n = distances.shape[0]
    P = _rows_to_csr(indices, conditional, n)
    P = (P + P.T).tocsr()
    P /= max(P.sum(), _MACHINE_EPSILON)
    P.sort_indices()
    return P


def tsne_transform_affinities(indices, sq_distances, n_reference, perplexity=5.0):
    """Affinities of new points to their neighbours in a fixed reference embedding.

    openTSNE's ``prepare_partial``: each new point's conditional probabilities over
    its k reference neighbours, not symmetrised (the reference does not move) and
    normalised per point (each row sums to 1), with a smaller perplexity than the
    fit's (openTSNE's default: 5), since a new point should follow its closest
    neighbours. Pass k of about ``3 * perplexity``.

    Parameters
    ----------
    indices : array-like of shape (m, k), int
        Reference neighbours of each new point.
    sq_distances : array-like of shape (m, k)
        See ``conditional_probabilities``.
    n_reference : int
        Number of reference points (columns of the result).
    perplexity : float, default=5.0
        Target perplexity of each row.

    Returns
    -------
    P : scipy.sparse.csr_array of shape (m, n_reference), float64
        Rows summing to 1.
    """
    distances, indices = _check_graph(sq_distances, indices)
    return _rows_to_csr(indices, conditional_probabilities(distances, perplexity),
                        n_reference)


def membership_strengths(distances, n_neighbors=None, local_connectivity=1.0,
                         bandwidth=1.0):
    """UMAP's smooth kNN: the fuzzy membership of each row's neighbours.

    Per row, ``rho_i`` is the distance to the ``local_connectivity``-th neighbour at
    a non-zero distance (interpolated for a fractional value; the farthest one when
    fewer are non-zero; 0 when none is), and ``sigma_i`` is bisected (umap-learn's
    ``smooth_knn_dist``: tolerance 1e-5, at most 64 steps) so that
    ``sum_j exp(-max(d_ij - rho_i, 0) / sigma_i) = log2(n_neighbors) * bandwidth``.
    umap-learn's floor on ``sigma_i`` follows: 1e-3 times the mean distance of the
    row when ``rho_i > 0``, else of all rows, both means counting the point itself
    as a neighbour at distance 0 as umap-learn does.

    Parameters
    ----------
    distances : array-like of shape (n, k)
        Sorted distances to the neighbours, the point itself left out.
    n_neighbors : float, default=None
        The neighbourhood size whose ``log2`` is the target sum; None means
        ``k + 1``, umap-learn's count (it includes the point itself).
    local_connectivity : float, default=1.0
        How many nearest neighbours are taken as fully connected (weight 1).
    bandwidth : float, default=1.0
        Multiplies the target sum.

    Returns
    -------
    weights : ndarray of shape (n, k), float64
        ``exp(-max(d_ij - rho_i, 0) / sigma_i)``, in (0, 1].
    sigmas : ndarray of shape (n,), float64
    rhos : ndarray of shape (n,), float64
    """
    distances, _ = _check_graph(distances)
    n, k = distances.shape
    if n_neighbors is None:
        n_neighbors = k + 1
    if not n_neighbors >= 1:
        raise ValueError(f"n_neighbors must be at least 1; got {n_neighbors!r}.")
    if not local_connectivity >= 0:
        raise ValueError(
            f"local_connectivity must be non-negative; got {local_connectivity!r}.")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive; got {bandwidth!r}.")
    settings = np.zeros(_kernels.N_SETTINGS)
    settings[_kernels.S_TARGET] = math.log2(n_neighbors) * bandwidth
    settings[_kernels.S_LOCAL_CONNECTIVITY] = local_connectivity
    settings[_kernels.S_ROW_COUNT] = k + 1
    settings[_kernels.S_MEAN_DISTANCE] = distances.sum() / (n * (k + 1))
    weights = np.empty_like(distances)
    sigmas = np.empty(n)
    rhos = np.empty(n)
    _kernels.smooth_knn_rows(distances, settings, weights, sigmas, rhos)
    return weights, sigmas, rhos


def fuzzy_union(indices, weights, n_rows, set_op_mix_ratio=1.0):
    """UMAP's symmetric fuzzy graph from the directed memberships.

    With ``A`` the directed graph (row i holds ``weights[i]`` at ``indices[i]``),
    the result is ``r (A + A.T - A o A.T) + (1 - r) A o A.T`` (``o`` elementwise):
    the probabilistic union for ``r = 1``, the intersection for ``r = 0``, as
    umap-learn's ``fuzzy_simplicial_set``. Self-loops and negative indices (missing
    neighbours) are dropped, and so are entries that end up zero.

    Parameters
    ----------
    indices : array-like of shape (n, k), int
    weights : array-like of shape (n, k)
        Memberships in [0, 1] (``membership_strengths``).
    n_rows : int
        Number of points (the graph is n_rows x n_rows).
    set_op_mix_ratio : float, default=1.0
        ``r`` above, in [0, 1].

    Returns
    -------
    graph : scipy.sparse.csr_array of shape (n_rows, n_rows), float64
        Symmetric, values in [0, 1].
    """
    weights, indices = _check_graph(weights, indices)
    if not 0.0 <= set_op_mix_ratio <= 1.0:
        raise ValueError(
            f"set_op_mix_ratio must be in [0, 1]; got {set_op_mix_ratio!r}.")
    indices = np.where(indices == np.arange(len(indices))[:, None], -1, indices)
    A = _rows_to_csr(indices, weights, n_rows)
    A.eliminate_zeros()
    At = A.T.tocsr()
    both = A.multiply(At).tocsr()
    graph = set_op_mix_ratio * (A + At - both) + (1.0 - set_op_mix_ratio) * both
    graph = sparse.csr_array(graph)
    graph.eliminate_zeros()
    graph.sort_indices()
    return graph


def umap_transform_weights(indices, distances, n_reference, n_neighbors=None,
                           local_connectivity=1.0, bandwidth=1.0, return_weights=False):
    """Memberships of new points to their training neighbours (UMAP's transform).

    As umap-learn's ``transform``: ``membership_strengths`` with the local
    connectivity reduced by one (``max(0, local_connectivity - 1)``: by default
    ``rho = 0``, so no neighbour gets weight 1 unless it coincides with the new
    point), the target sum ``log2(n_neighbors)`` of the fit, no symmetrisation and
    no row normalisation. Two differences from umap-learn, both deliberate: the sum
    runs over all k neighbours (umap-learn skips the first one, a leftover of its
    training graphs where the first neighbour is the point itself), and the result
    keeps every edge; the caller trims weak edges (umap-learn drops those below
    ``max / n_epochs``) and normalises rows where it needs to (the initial
    positions, ``_init.neighbour_mean_init``).

    Parameters
    ----------
    indices : array-like of shape (m, k), int
        Training neighbours of each new point (negative: missing, dropped).
    distances : array-like of shape (m, k)
        Sorted distances to them.
    n_reference : int
        Number of training points (columns of the result).
    n_neighbors, local_connectivity, bandwidth :
        As given to the fit (see ``membership_strengths``).

    return_weights : bool, default=False
        Also return the weights in the layout of ``indices``.

    Returns
    -------
    graph : scipy.sparse.csr_array of shape (m, n_reference), float64
    weights : ndarray of shape (m, k)
        Only with ``return_weights``.
    """
    distances, indices = _check_graph(distances, indices)
    if n_neighbors is None:
        n_neighbors = distances.shape[1] + 1
    weights, _, _ = membership_strengths(
        distances, n_neighbors, max(0.0, local_connectivity - 1.0), bandwidth)
    graph = _rows_to_csr(indices, weights, n_reference)
    graph.eliminate_zeros()
    return (graph, weights) if return_weights else graph


@functools.lru_cache(maxsize=64)
def _fit_ab(spread, min_dist):
    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    x = np.linspace(0, spread * 3, 300)
    y = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))
    (a, b), _ = curve_fit(curve, x, y)
    return float(a), float(b)


def fit_ab(spread, min_dist):
    """UMAP's output kernel ``1 / (1 + a d^(2b))``: the ``a, b`` that fit it best.

    A least-squares fit (``scipy.optimize.curve_fit``, 300 points on ``[0, 3
    spread]``) to the curve that is 1 below ``min_dist`` and
    ``exp(-(d - min_dist) / spread)`` above, as umap-learn's ``find_ab_params``.
    Results are cached.

    Parameters
    ----------
    spread : float
        Positive scale of the embedded points.
    min_dist : float
        Distance below which points count as fully close; in [0, spread].

    Returns
    -------
    a, b : float
    """
    spread, min_dist = float(spread), float(min_dist)
    if not spread > 0 or not np.isfinite(spread):
        raise ValueError(f"spread must be positive and finite; got {spread!r}.")
    if not 0 <= min_dist <= spread:
        raise ValueError(
            f"min_dist must be in [0, spread]; got min_dist={min_dist!r} with "
            f"spread={spread!r}.")
    return _fit_ab(spread, min_dist)
