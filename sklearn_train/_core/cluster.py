"""k-means kernels: k-means++ seeding, mini-batch epochs and full passes.

Distances are expanded, ``|x - c|^2 = |x|^2 - 2 x.c + |c|^2``, with the row norms
``|x|^2`` computed once per call by the caller. The cross products ``x.c`` of a block
of rows come from one BLAS product for dense input (the rows gathered first) and
from sparse row dot products for CSR input, which is never densified (a wide sparse
matrix would not fit). Both paths are in one source: ``is_sparse`` picks the branch
per compiled variant.

A mini-batch step (Sculley's web-scale k-means) moves each centre towards the mean of
its batch members with a per-centre step ``w_batch / w_seen``, the weight the centre
received in this batch over all the weight it has received: a gradient step on the
inertia whose rate decays as the centre settles.
"""

import numpy as np

from numba.extending import overload

from ._jit import kernel, like
from .data import _JIT_OPTIONS, _is_dense, gather_rows, is_sparse, record_step_loss
from .data import row_axpy, row_dot, row_span, uniform

# integer settings
I_BATCH_SIZE = 0
I_SEED = 1
N_INTS = 2

# float settings
F_REASSIGNMENT_RATIO = 0
N_FLOATS = 1

# Rows per block of a full pass (prediction, refinement).
_BLOCK = 1024


@kernel
def _center_norms(centers, out):
    k, d = centers.shape
    for c in range(k):
        total = 0.0
        for j in range(d):
            total += centers[c, j] * centers[c, j]
        out[c] = total


@kernel
def _nearest(X, rows, x_squared, model, scratch, assigned):
    """Nearest centre and its squared distance of each of the rows ``rows`` of ``X``.

    ``model = (centers, c_squared)``: the centres and their squared norms;
    ``scratch = (buffer, cross)`` from ``_buffers``. The first ``len(rows)`` entries of
    ``assigned = (labels, distances)`` receive the results.
    """
    centers, c_squared = model
    buffer, cross = scratch
    labels, distances = assigned
    nb = rows.shape[0]
    k, d = centers.shape
    # centres by rows: the scan below runs along contiguous rows of it
    block = cross[:nb * k].reshape(k, nb)
    if is_sparse(X):
        flat = centers.ravel()
        for r in range(nb):
            a, b = row_span(X, rows[r])
            for c in range(k):
                block[c, r] = row_dot(X, a, b, flat, c * d)
    else:
        # (np.int64: a literal 0 would compile another variant of gather_rows)
        gathered = gather_rows(X, rows, np.int64(0), nb, buffer)
        np.dot(centers, gathered.T, block)
    # |c|^2 - 2 x.c, minimised over c; selects rather than branches, so the scan
    # vectorises over rows (a branch per comparison is unpredictable)
    best = labels[:nb]
    best_value = distances[:nb]
    best[:] = 0
    for r in range(nb):
        best_value[r] = c_squared[0] - 2.0 * block[0, r]
    for c in range(1, k):
        for r in range(nb):
            value = c_squared[c] - 2.0 * block[c, r]
            closer = value < best_value[r]
            best[r] = c if closer else best[r]
            best_value[r] = value if closer else best_value[r]
    for r in range(nb):
        # rounding can make a tiny distance negative
        best_value[r] = max(x_squared[rows[r]] + best_value[r], 0.0)


@kernel
def _buffers(X, rows, centers):
    """Scratch for ``_nearest`` over blocks of ``rows`` rows (centres' dtype)."""
    k, d = centers.shape
    buffer = np.zeros(0 if is_sparse(X) else rows * d, dtype=centers.dtype)
    cross = np.empty(rows * k, dtype=centers.dtype)
    return buffer, cross


@kernel
def _set_row(X, i, center):
    """``center = X[i]`` (dense copy of a dense or CSR row)."""
    center[:] = 0.0
    a, b = row_span(X, i)
    row_axpy(X, a, b, 1.0, center, 0)


@kernel
def _draw(weights, total, state, index):
    """An index drawn with probability ``weights[i] / total`` (``total > 0``)."""
    target = uniform(state, index) * total
    running = 0.0
    last = 0
    for i in range(weights.shape[0]):
        if weights[i] > 0.0:
            last = i
            running += weights[i]
            if running > target:
                return i
    return last  # rounding at the very end of the sum


@kernel
def kmeans_plusplus(X, x_squared, sample_weight, n_trials, seed, centers):
    """Greedy k-means++ seeding from the rows of ``X`` into ``centers``.

    The first centre is a row drawn by weight; each next one is the best of
    ``n_trials`` rows drawn with probability proportional to ``weight * D^2`` (the
    squared distance to the nearest centre so far): the candidate that lowers the
    potential ``sum weight * D^2`` most. When every row already sits on a centre
    (fewer distinct rows than centres) the draws fall back to the weights alone.
    The candidates' distances to every row come from one product per centre (BLAS
    for dense ``X``, sparse row dot products for CSR).

    Returns the final potential.
    """
    n = x_squared.shape[0]
    k, d = centers.shape
    closest = np.empty(n)
    score = np.empty(n)
    candidates = np.zeros((n_trials, d), dtype=centers.dtype)
    c_squared = np.empty(n_trials)
    cross = np.empty((n, n_trials), dtype=centers.dtype)
    picks = np.empty(n_trials, dtype=np.int64)
    total_weight = np.sum(sample_weight)
    draws = 0
    first = _draw(sample_weight, total_weight, seed, draws)
    draws += 1
    _set_row(X, first, centers[0])
    first_squared = np.sum(centers[0] * centers[0])
    for r in range(n):
        a, b = row_span(X, r)
        dot = row_dot(X, a, b, centers[0], 0)
        closest[r] = max(x_squared[r] - 2.0 * dot + first_squared, 0.0)
    for c in range(1, k):
        potential = 0.0
        for r in range(n):
            score[r] = sample_weight[r] * closest[r]
            potential += score[r]
        for t in range(n_trials):
            if potential > 0.0:
                picks[t] = _draw(score, potential, seed, draws)
            else:
                picks[t] = _draw(sample_weight, total_weight, seed, draws)
            draws += 1
            _set_row(X, picks[t], candidates[t])
        _cross_products(X, candidates, cross)
        _center_norms(candidates, c_squared)
        best = 0
        best_potential = np.inf
        for t in range(n_trials):
            total = 0.0
            for r in range(n):
                distance = max(x_squared[r] - 2.0 * cross[r, t] + c_squared[t], 0.0)
                total += sample_weight[r] * min(distance, closest[r])
            if total < best_potential:
                best_potential = total
                best = t
        centers[c, :] = candidates[best]
        for r in range(n):
            distance = max(x_squared[r] - 2.0 * cross[r, best] + c_squared[best], 0.0)
            closest[r] = min(distance, closest[r])
    final = 0.0
    for r in range(n):
        final += sample_weight[r] * closest[r]
    return final


def _cross_products(X, centers, out):
    """``out[r, c] = X[r] . centers[c]`` for every row of ``X``."""


@overload(_cross_products, jit_options=_JIT_OPTIONS)
def _cross_products_of(X, centers, out):
    # an overload, not a runtime branch: np.dot does not type for a CSR tuple
    if _is_dense(X):
        def dense(X, centers, out):
            np.dot(X, centers.T, out)

        return dense

    def sparse(X, centers, out):
        k, d = centers.shape
        flat = centers.ravel()
        for r in range(out.shape[0]):
            a, b = row_span(X, r)
            for c in range(k):
                out[r, c] = row_dot(X, a, b, flat, c * d)

    return sparse


@kernel
def kmeans_epoch(data, plan, state, ints, floats):
    """One epoch of mini-batch k-means over the rows ``order`` of ``X``.

    Parameters
    ----------
    data : tuple
        ``(X, sample_weight, x_squared)``: the input (2-D array or data.CSR), the row
        weights and the squared row norms (float64).
    plan : tuple
        ``(order, rates, step_losses)``: the rows to visit (int64), the rates (unused:
        each centre's step is its share of the weight it has received; the plan has
        one shape for every kernel) and a float64 array that receives each
        mini-batch's weighted mean squared distance (NaN for a batch without weight),
        or of length 0 to record nothing.
    state : tuple
        ``(centers, counts)``: the centres (``n_clusters x n_features``, X's dtype)
        and the weight each has received so far (all calls, float64); updated.
    ints, floats : ndarray
        ``I_*`` and ``F_*`` settings.

    Returns
    -------
    inertia, weight_sum : float
        Sums over the epoch's rows of ``weight * D^2`` (to the centres of the moment)
        and of the weights.
    n_reassigned : int
        Centres moved at the end of the epoch because they were starved: they had
        received less than ``reassignment_ratio`` times the weight of the busiest.
    """
    X, sample_weight, x_squared = data
    order, _, step_losses = plan
    centers, counts = state
    k, d = centers.shape
    batch_size = ints[I_BATCH_SIZE]
    scratch = _buffers(X, batch_size, centers)
    buffer = scratch[0]
    assigned = (np.empty(batch_size, dtype=np.int64), np.empty(batch_size))
    labels, distances = assigned
    c_squared = np.empty(k)
    model = (centers, c_squared)
    totals = (np.zeros(k * d, dtype=centers.dtype), np.zeros(k))  # batch sums, weights
    sums, batch_weight = totals
    inertia = 0.0
    weight_sum = 0.0
    n_rows = order.shape[0]
    rows = order[0:0]
    for start in range(0, n_rows, batch_size):
        rows = order[start:min(start + batch_size, n_rows)]
        _center_norms(centers, c_squared)
        _nearest(X, rows, x_squared, model, scratch, assigned)
        _accumulate(data, rows, labels, buffer, totals)
        batch_inertia = 0.0
        batch_total = 0.0
        for r in range(rows.shape[0]):
            w = sample_weight[rows[r]]
            batch_inertia += w * distances[r]
            batch_total += w
        record_step_loss(step_losses, start // batch_size, batch_inertia, batch_total)
        inertia += batch_inertia
        weight_sum += batch_total
        for c in range(k):
            if batch_weight[c] > 0.0:
                counts[c] += batch_weight[c]
                rate = batch_weight[c] / counts[c]
                mean_scale = 1.0 / batch_weight[c]
                for j in range(d):
                    centers[c, j] += rate * (sums[c * d + j] * mean_scale - centers[c, j])
                    sums[c * d + j] = 0.0
                batch_weight[c] = 0.0
    n_reassigned = 0
    if floats[F_REASSIGNMENT_RATIO] > 0.0 and n_rows > 0:
        # rows and distances are the last batch's
        n_reassigned = _reassign(data, rows, distances, state, ints, floats)
    return inertia, weight_sum, n_reassigned


@kernel
def _accumulate(data, rows, labels, buffer, totals):
    """Add each row's weight, and its weighted values, to its centre's totals
    (``totals = (sums, weights)``, ``sums`` flat ``k x d``).

    Dense rows are read from the batch just gathered into ``buffer`` (contiguous and
    in cache); CSR rows from ``X``.
    """
    X, sample_weight, _ = data
    sums, weights = totals
    d = sums.shape[0] // weights.shape[0]
    for r in range(rows.shape[0]):
        i = rows[r]
        w = sample_weight[i]
        c = labels[r]
        weights[c] += w
        if is_sparse(X):
            a, b = row_span(X, i)
            row_axpy(X, a, b, w, sums, c * d)
        else:
            scaled = like(sums, w)
            base = c * d
            row = r * d
            for j in range(d):
                sums[base + j] += scaled * buffer[row + j]


@kernel
def _reassign(data, rows, distances, state, ints, floats):
    """Move starved centres to rows of the last batch (``rows``, with their squared
    distances ``distances``) drawn by ``weight * D^2``.

    A centre is starved when its count is below ``F_REASSIGNMENT_RATIO`` times the
    busiest one's. A moved centre gets the smallest count among the centres that were
    not starved, so it settles at the pace of the slowest of them. At most half the
    centres, and no more than the batch has rows, move at once; the draws come from
    the stream ``I_SEED``.
    """
    X, sample_weight, _ = data
    centers, counts = state
    ratio = floats[F_REASSIGNMENT_RATIO]
    seed = ints[I_SEED]
    k = centers.shape[0]
    nb = rows.shape[0]
    busiest = np.max(counts)
    starved = counts < ratio * busiest
    if not np.any(starved):
        return 0
    settled = busiest  # (the busiest centre is never starved while ratio <= 1)
    for c in range(k):
        if not starved[c]:
            settled = min(settled, counts[c])
    score = np.empty(nb)
    total = 0.0
    for r in range(nb):
        score[r] = sample_weight[rows[r]] * distances[r]
        total += score[r]
    if total <= 0.0:  # every row sits on a centre: nothing better to move to
        return 0
    moved = 0
    limit = min(max(1, k // 2), nb)
    for c in range(k):
        if starved[c] and moved < limit:
            r = _draw(score, total, seed, c)
            total -= score[r]
            score[r] = 0.0  # not the same row twice
            _set_row(X, rows[r], centers[c])
            counts[c] = settled
            moved += 1
            if total <= 0.0:
                break
    return moved


@kernel
def full_pass(X, sample_weight, x_squared, centers, labels, distances, update):
    """Assign every row to its nearest centre (``labels``, ``distances``).

    With ``update``, then move each centre that received weight to the weighted mean
    of its rows (a Lloyd iteration; centres without rows stay). Returns the inertia
    ``sum weight * D^2`` of the assignment (before the update).
    """
    n = x_squared.shape[0]
    k, d = centers.shape
    order = np.arange(n)
    scratch = _buffers(X, _BLOCK, centers)
    c_squared = np.empty(k)
    _center_norms(centers, c_squared)
    sums = np.zeros(k * d if update else 0, dtype=centers.dtype)
    weights = np.zeros(k)
    inertia = 0.0
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        _nearest(X, order[start:stop], x_squared, (centers, c_squared), scratch,
                 (labels[start:stop], distances[start:stop]))
        for i in range(start, stop):
            inertia += sample_weight[i] * distances[i]
            if update:
                weights[labels[i]] += sample_weight[i]
                a, b = row_span(X, i)
                row_axpy(X, a, b, sample_weight[i], sums, labels[i] * d)
    if update:
        for c in range(k):
            if weights[c] > 0.0:
                for j in range(d):
                    centers[c, j] = sums[c * d + j] / weights[c]
    return inertia
