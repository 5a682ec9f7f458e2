"""Nearest neighbours for the embedding estimators: exact, approximate, precomputed.

Every function returns ``(indices, distances)``: int64 and float64 arrays of shape
``(n_rows, n_neighbors)``, sorted by increasing distance per row. Euclidean
distances are true distances (not squared), cosine distances ``1 - cos``. A zero row
has cosine distance 1 to every row (scikit-learn's convention), itself included.

Exact search multiplies blocks of rows by all rows with BLAS (a sparse product for
CSR), selects a few more than ``n_neighbors`` candidates per row from the expanded
squared distances in X's dtype, and recomputes the candidates' distances in float64
from the rows before keeping the nearest: float32 input gets float64-accurate
distances and scikit-learn's order. Dense euclidean rows are centred first, so that
data far from the origin does not cancel in the expansion; CSR rows are not (that
would make them dense), and their float64 distances come from the expansion too, as
scikit-learn computes them.

Approximate search is NN-descent (``_core.neighbors``) on a float32 copy, for dense
input only: a CSR matrix is densified when that fits in ``_DENSIFY_BYTES``, else it
is refused; the estimators reduce wide sparse input with TruncatedSVD first.

``n_jobs`` sets the Numba threads of the selection, refinement and NN-descent
kernels (``threads.kernel_threads``); results do not depend on it. The BLAS product
of the exact search runs outside those kernels with the process's BLAS threads.
"""

from contextlib import contextmanager
from numbers import Integral

import numba
import numpy as np
import scipy.sparse as sp

from .._core import neighbors as kernels
from .._core.data import as_kernel_matrix
from .._core._jit import thread_count
from .._core.threads import effective_n_jobs, kernel_threads

# "auto" searches exactly up to this many rows and runs NN-descent above it: the
# crossover on a 2-core Xeon (shared), make_blobs(n, d, centers=20, cluster_std=3),
# n_jobs=2, medians of 3 (exact / approximate, seconds):
#            k=15, d=50   k=90, d=50   k=15, d=100   k=90, d=100
#   5,000    0.10/0.13    0.23/0.35    0.12/0.13     0.26/0.36
#  10,000    0.28/0.21    0.64/0.75    0.40/0.25     0.72/0.77
#  15,000    0.65/0.30    1.32/1.28    0.90/0.35     1.48/1.31
#  20,000    1.24/0.41    2.28/1.92    1.63/0.49     2.31/1.91
# At 10,000 the two are within 0.15 s of each other for k=15..90; the exact
# result is exact, so it keeps the tie. Exact time grows as n^2, NN-descent's
# about as n: at 40,000 x 100, k=15, 6.3 s against 0.9 s.
EXACT_MAX_ROWS = 10000

_METRICS = {"euclidean": kernels.EUCLIDEAN, "cosine": kernels.COSINE}
_METHODS = ("auto", "exact", "approximate")

# bytes of one block of cross products: large enough for BLAS to run at full speed,
# small enough to stay out of the way (tens of MB)
_BLOCK_BYTES = 32 << 20
# largest dense copy of a CSR matrix the approximate search makes
_DENSIFY_BYTES = 2 << 30

# NN-descent. The graph is built with at least _MIN_GRAPH neighbours per row (at
# k=15 a 15-graph reached a recall of 0.94 on make_blobs(20000, 50, centers=20,
# cluster_std=3), a 20-graph 0.98 for 40% more time); each join samples up to
# _CANDIDATES new and as many old candidates per row (60, pynndescent's number,
# gave a recall of 1.0000 against 0.9993 at k=90, for 1.8x the time); leaves of _LEAF_SIZE rows; stop
# when an iteration changes fewer than _DELTA * n * k entries (pynndescent's rule,
# as are the tree and iteration counts below).
_LEAF_SIZE = 30
_CANDIDATES = 20
_MIN_GRAPH = 20
_DELTA = 0.001
# pair records held in one chunk of a join (16 bytes each)
_PAIR_BUDGET = 1 << 20


def nearest_neighbors(X, n_neighbors, metric="euclidean", method="auto", seed=0,
                      n_jobs=None):
    """The nearest neighbours of every row of ``X`` among the other rows.

    Parameters
    ----------
    X : ndarray or scipy sparse matrix of shape (n_rows, n_features)
        float32 or float64 (other dtypes become float64); sparse input is read as
        CSR. NaN and infinity are the caller's to refuse.
    n_neighbors : int
        Neighbours per row, ``1 <= n_neighbors < n_rows``; the row itself is never
        one (a duplicate of it is, at distance 0).
    metric : {"euclidean", "cosine"}
    method : {"auto", "exact", "approximate"}
        "auto" is exact up to ``EXACT_MAX_ROWS`` rows, else approximate
        (NN-descent, dense data; see the module docstring for CSR).
    seed : int
        Seed of the approximate search (the exact one draws nothing).
    n_jobs : int or None
        Threads of the compiled kernels (None: 1, -1: all cores); the result is the
        same for any value.

    Returns
    -------
    indices : ndarray of shape (n_rows, n_neighbors), int64
    distances : ndarray of shape (n_rows, n_neighbors), float64
        Sorted by increasing distance per row.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> indices, distances = nearest_neighbors(X, 2)
    >>> indices.tolist(), distances.tolist()
    ([[1, 2], [0, 2], [1, 0], [2, 1]], [[1.0, 3.0], [1.0, 2.0], [2.0, 3.0], [4.0, 6.0]])
    """
    X = _check_rows(X, "X")
    code = _check_metric(metric)
    _check_n_neighbors(n_neighbors, X.shape[0], exclude_self=True)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}.")
    if method == "auto":
        method = "exact" if X.shape[0] <= EXACT_MAX_ROWS else "approximate"
    if method == "exact":
        return _exact(X, X, n_neighbors, code, n_jobs)
    return _approximate(X, n_neighbors, code, seed, n_jobs)


def query_neighbors(X, queries, n_neighbors, metric="euclidean", n_jobs=None):
    """The exact nearest neighbours of each row of ``queries`` among the rows of
    ``X`` (no row is excluded): for placing new points.

    ``X`` and ``queries`` are both dense or both sparse, with as many columns; the
    queries take X's dtype. ``1 <= n_neighbors <= n_rows of X``. Returns indices
    into ``X`` and distances as ``nearest_neighbors`` does.

    Examples
    --------
    >>> import numpy as np
    >>> indices, distances = query_neighbors(np.array([[0.0], [1.0], [3.0]]),
    ...                                      np.array([[2.9]]), 2)
    >>> indices.tolist(), np.round(distances, 6).tolist()
    ([[2, 1]], [[0.1, 1.9]])
    """
    X = _check_rows(X, "X")
    queries = _check_rows(queries, "queries")
    code = _check_metric(metric)
    _check_n_neighbors(n_neighbors, X.shape[0], exclude_self=False)
    if sp.issparse(X) != sp.issparse(queries):
        raise ValueError("X and queries must be both dense or both sparse.")
    if queries.shape[1] != X.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} features, X has {X.shape[1]}.")
    queries = queries.astype(X.dtype, copy=False)
    if not sp.issparse(queries):
        queries = np.ascontiguousarray(queries)
    return _exact(X, queries, n_neighbors, code, n_jobs, exclude_self=False)


def precomputed_neighbors(D, n_neighbors, square=True):
    """The nearest neighbours from a precomputed distance matrix.

    Parameters
    ----------
    D : scipy sparse matrix or ndarray of shape (n, n)
        Sparse (any format): each row's stored entries are its candidates, explicit
        zeros included (distance 0); dense: every entry. The diagonal (a row's
        distance to itself) is never a neighbour. Distances must be finite and
        non-negative.
    n_neighbors : int
        Neighbours per row; each row needs at least that many candidates.
    square : bool, default=True
        False: ``D`` is (m, n), the distances of m new points to n reference
        points, and no entry is excluded (for placing new points).

    Returns
    -------
    indices, distances : ndarray of shape (n, n_neighbors)
        int64 and float64, sorted by increasing distance (equal distances: lower
        column first).

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([[0.0, 2.0, 1.0], [2.0, 0.0, 5.0], [1.0, 5.0, 0.0]])
    >>> precomputed_neighbors(D, 1)[0].ravel().tolist()
    [2, 0, 0]
    """
    if D.ndim != 2 or (square and D.shape[0] != D.shape[1]):
        raise ValueError(f"a precomputed distance matrix must be square, got shape {D.shape}.")
    n = D.shape[0]
    _check_n_neighbors(n_neighbors, D.shape[1], exclude_self=square)
    if sp.issparse(D):
        return _precomputed_sparse(D, n_neighbors, square)
    D = np.asarray(D)
    if D.dtype not in (np.float32, np.float64):
        D = D.astype(np.float64)
    _check_distances(D)
    ids = np.empty((n, n_neighbors), dtype=np.int64)
    keys = np.empty((n, n_neighbors))
    zeros = np.zeros(max(D.shape), dtype=D.dtype)
    rows = max(1, _BLOCK_BYTES // (D.shape[1] * D.dtype.itemsize))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        block = np.array(D[start:stop])  # the kernel overwrites it
        with kernel_threads(1):
            kernels.select_block(block, (zeros[:stop - start], zeros[:D.shape[1]], 1.0),
                                 start, square, (ids[start:stop], keys[start:stop]))
    return ids, keys


# ---------------------------------------------------------------------------
# checks


def _check_rows(X, name):
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        if not X.has_canonical_format:  # the kernels read each column once per row
            X = X.copy()
            X.sum_duplicates()
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        return X
    X = np.asarray(X)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {X.shape}.")
    return np.ascontiguousarray(X)


def _check_metric(metric):
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}.")
    return _METRICS[metric]


def _check_n_neighbors(n_neighbors, n_rows, exclude_self):
    if not isinstance(n_neighbors, Integral) or isinstance(n_neighbors, bool) \
            or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}.")
    if exclude_self and n_neighbors >= n_rows:
        raise ValueError(
            f"n_neighbors={n_neighbors} must be smaller than the number of rows "
            f"({n_rows}): a row is not its own neighbour.")
    if not exclude_self and n_neighbors > n_rows:
        raise ValueError(
            f"n_neighbors={n_neighbors} is more than the {n_rows} rows of X.")


def _check_distances(values):
    if not np.all(np.isfinite(values)):
        raise ValueError("the precomputed distance matrix has NaN or infinite entries.")
    if values.size and values.min() < 0:
        raise ValueError("the precomputed distance matrix has negative entries.")


# ---------------------------------------------------------------------------
# exact search


def _margin(n_neighbors):
    """Extra candidates selected in X's dtype before the float64 refinement: the
    true k nearest are among them unless many rows tie with the k-th to within the
    dtype's rounding (float32: ~1e-7 of the squared norms)."""
    return 8 + n_neighbors // 8


# float32 rows whose squared norms pass this are searched in float64: their keys
# (squared norms and products) would overflow float32 to infinity, every key would
# tie, and no candidate would be selected
_FLOAT32_KEY_LIMIT = float(np.finfo(np.float32).max) / 8


def _exact(X, Q, n_neighbors, code, n_jobs, exclude_self=True):
    n, nq = X.shape[0], Q.shape[0]
    m = min(n_neighbors + _margin(n_neighbors), n - exclude_self)
    if X.dtype == np.float32 and code != kernels.COSINE and max(
            _squared_norms(X).max(initial=0.0),
            0.0 if Q is X else _squared_norms(Q).max(initial=0.0)) > _FLOAT32_KEY_LIMIT:
        same = Q is X
        X = X.astype(np.float64)
        Q = X if same else Q.astype(np.float64)
    X_keys, Q_keys, x_terms, q_terms = _key_rows(X, Q, code, same=Q is X)
    dtype = X_keys.dtype
    rows = max(1, min(nq, _BLOCK_BYTES // (n * dtype.itemsize)))
    block = np.empty((rows, n), dtype=dtype)
    X_keys_T = X_keys.T
    candidates = np.empty((nq, m), dtype=np.int64)
    keys = np.empty((nq, m))
    for start in range(0, nq, rows):
        stop = min(start + rows, nq)
        if sp.issparse(Q_keys):
            part = (Q_keys[start:stop] @ X_keys_T).toarray()
        else:
            part = block[:stop - start]
            np.dot(Q_keys[start:stop], X_keys_T, out=part)
        with _numba_threads(n_jobs):
            kernels.select_block(part, (q_terms[start:stop], x_terms, -2.0), start,
                                 exclude_self, (candidates[start:stop], keys[start:stop]))
    with kernel_threads(n_jobs):
        return _refine(X, Q, candidates, n_neighbors, code)


@contextmanager
def _numba_threads(n_jobs):
    """Numba threads for a selection kernel between two BLAS products.

    Not ``kernel_threads``: its BLAS cap guards BLAS called inside parallel kernels,
    whereas here BLAS runs between them, with the process's threads (capping it at
    ``cores // n_jobs`` halved the product's speed at ``n_jobs=2``); and its
    threadpoolctl call cost 1 ms a block, 10% of a 20,000-row search.
    """
    n = effective_n_jobs(n_jobs)
    if n == 1:  # the serial twins, without touching Numba's pool (see kernel_threads)
        with thread_count(1):
            yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with thread_count(n):
            yield
    finally:
        numba.set_num_threads(previous)


def _key_rows(X, Q, code, same):
    """The rows the expansion is computed on, and its norm terms (X's dtype):
    centred rows and their squared norms (euclidean), unit rows and ones (cosine)."""
    if code == kernels.COSINE:
        X_keys = _unit_rows(X)
        Q_keys = X_keys if same else _unit_rows(Q)
        return (X_keys, Q_keys, np.ones(X.shape[0], dtype=X.dtype),
                np.ones(Q.shape[0], dtype=X.dtype))
    if sp.issparse(X):  # centring would make it dense; the refinement is float64
        X_keys, Q_keys = X, Q
    else:
        mean = X.mean(axis=0, dtype=np.float64).astype(X.dtype)
        X_keys = X - mean
        Q_keys = X_keys if same else Q - mean
    x_terms = _squared_norms(X_keys).astype(X.dtype)
    q_terms = x_terms if same else _squared_norms(Q_keys).astype(X.dtype)
    return X_keys, Q_keys, x_terms, q_terms


def _unit_rows(X):
    norms = np.sqrt(_squared_norms(X))
    scale = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 0.0).astype(X.dtype)
    if sp.issparse(X):
        return sp.csr_matrix(sp.diags(scale) @ X)
    return X * scale[:, None]


def _squared_norms(X):
    """Squared row norms in float64."""
    if sp.issparse(X):
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        values = X.data.astype(np.float64)
        return np.bincount(rows, weights=values * values, minlength=X.shape[0])
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


def _refine(X, Q, candidates, n_neighbors, code):
    """float64 distances to the candidates, the nearest ``n_neighbors`` kept."""
    if candidates.size and candidates.min() < 0:
        # no key was finite for some row: never return -1 as a neighbour
        raise ValueError(
            "The distances between rows overflow (entries too large for the search): "
            "scale the data first, for example with StandardScaler.")
    x_squared = _squared_norms(X)
    q_squared = x_squared if Q is X else _squared_norms(Q)
    ids = np.empty((Q.shape[0], n_neighbors), dtype=np.int64)
    distances = np.empty((Q.shape[0], n_neighbors))
    kernels.refine(as_kernel_matrix(Q), as_kernel_matrix(X), candidates,
                   (q_squared, x_squared), code, (ids, distances))
    return ids, distances


# ---------------------------------------------------------------------------
# approximate search


def _approximate(X, n_neighbors, code, seed, n_jobs):
    if sp.issparse(X):
        size = X.shape[0] * X.shape[1] * X.dtype.itemsize
        if size > _DENSIFY_BYTES:
            raise ValueError(
                f"approximate neighbour search needs dense data, and X "
                f"({X.shape[0]} x {X.shape[1]} sparse) would take {size / 2**30:.1f} "
                f"GiB dense; reduce it first (e.g. TruncatedSVD or PCA to ~50-100 "
                f"components) or use method='exact'.")
        X = X.toarray()
    Y = _float32_rows(X, code)
    with kernel_threads(n_jobs):
        candidates = _nn_descent(Y, n_neighbors, seed)
        return _refine(X, X, candidates, n_neighbors, code)


def _float32_rows(X, code):
    """float32 rows whose squared euclidean distances rank as the metric does:
    centred rows (euclidean) or unit rows (cosine). A zero row gets a unit vector
    on an extra axis, at squared distance 2 (cosine distance 1) from every unit row."""
    if code == kernels.EUCLIDEAN:
        return np.ascontiguousarray(X - X.mean(axis=0, dtype=np.float64), dtype=np.float32)
    Y = _unit_rows(X.astype(np.float64))
    zero = ~np.any(Y != 0, axis=1)
    if np.any(zero):
        Y = np.hstack([Y, zero[:, None].astype(np.float64)])
    return np.ascontiguousarray(Y, dtype=np.float32)


def _stream(seed, stage):
    """A 64-bit seed of stage ``stage`` of the search from the user's seed."""
    z = (int(seed) * 0x9E3779B97F4A7C15 + stage * 0xBF58476D1CE4E5B9 + 1) % 2**64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
    return np.uint64(z ^ (z >> 31))


def _nn_descent(Y, n_neighbors, seed):
    """Candidate neighbours of every row of Y (int64 (n, >= n_neighbors), unsorted)."""
    n = Y.shape[0]
    k = min(max(n_neighbors, _MIN_GRAPH), n - 1)
    ids = np.full((n, k), -1, dtype=np.int64)
    keys = np.full((n, k), np.inf, dtype=np.float32)
    flags = np.zeros((n, k), dtype=np.uint8)
    graph = (ids, keys, flags)
    owners = min(numba.get_num_threads(), n)  # threads that apply updates (any count)
    n_trees = max(3, min(12, int(round(2.0 * np.log10(n)))))  # pynndescent's rule
    leaf_size = _LEAF_SIZE
    ints = np.zeros(kernels.N_INTS, dtype=np.int64)
    ints[kernels.I_SEED] = np.int64(_stream(seed, 0).view(np.int64))
    ints[kernels.I_LEAF_SIZE] = leaf_size
    orders = np.empty((n_trees, n), dtype=np.int64)
    leaves = np.empty((n_trees, n, 2), dtype=np.int64)
    counts = np.empty(n_trees, dtype=np.int64)
    kernels.rp_forest(Y, ints, orders, leaves, counts)
    groups = np.empty((int(counts.sum()), leaf_size), dtype=np.int64)
    kernels.leaf_groups(orders, leaves, counts, groups)
    del orders, leaves
    no_old = np.empty((groups.shape[0], 0), dtype=np.int64)
    kernels.join(Y, (groups, no_old), graph, _records(leaf_size, 0, owners))
    del groups, no_old
    kernels.fill_random(Y, _stream(seed, 1), graph)
    width = min(_CANDIDATES, k)
    candidates = (np.empty((n, width), dtype=np.int64), np.empty((n, width), dtype=np.int64),
                  np.empty((n, width), dtype=np.float32), np.empty((n, width), dtype=np.float32))
    scratch = np.empty((owners, width), dtype=np.uint8)
    records = _records(width, width, owners)
    for iteration in range(max(5, int(round(np.log2(n))))):
        kernels.sample_candidates(graph, _stream(seed, 2 + iteration), candidates, scratch)
        changes = kernels.join(Y, candidates[:2], graph, records)
        if changes <= _DELTA * n * k:
            break
    return ids


def _records(width, old_width, owners):
    """Offer records for joins of groups of ``width`` new and ``old_width`` old rows,
    applied by ``owners`` threads."""
    capacity = max(1, width * (width - 1) + 2 * width * old_width)  # both directions
    chunk = max(1, _PAIR_BUDGET // capacity)
    return (np.empty((chunk, capacity, 2), dtype=np.int64),
            np.empty((chunk, capacity), dtype=np.float32),
            np.empty(chunk, dtype=np.int64), np.zeros(owners, dtype=np.int64))


# ---------------------------------------------------------------------------
# precomputed


def _precomputed_sparse(D, n_neighbors, square=True):
    D = sp.csr_matrix(D, copy=True)
    D.sum_duplicates()  # also sorts the columns: equal distances, lower column first
    if D.dtype not in (np.float32, np.float64):
        D = D.astype(np.float64)
    _check_distances(D.data)
    n = D.shape[0]
    rows = np.repeat(np.arange(n), np.diff(D.indptr))
    per_row = np.bincount(rows[D.indices != rows] if square else rows, minlength=n)
    short = np.flatnonzero(per_row < n_neighbors)
    if short.size:
        raise ValueError(
            f"row {short[0]} of the precomputed distance matrix has {per_row[short[0]]} "
            f"stored entries besides the diagonal, fewer than n_neighbors={n_neighbors} "
            f"({short.size} rows are short).")
    ids = np.empty((n, n_neighbors), dtype=np.int64)
    keys = np.empty((n, n_neighbors))
    with kernel_threads(1):
        kernels.select_stored(as_kernel_matrix(D), square, (ids, keys))
    return ids, keys
