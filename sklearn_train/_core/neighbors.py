"""Nearest-neighbour kernels: top-k selection, exact refinement, NN-descent.

Exact search (driven from ``manifold._neighbors``): a BLAS product gives a block of
cross products, ``select_block`` turns each row of it into keys (squared distances
by expansion) and keeps the ``m`` smallest with an insertion select, and ``refine``
recomputes those candidates' distances in float64 from the original rows and keeps
the ``k`` nearest, sorted. Approximate search: NN-descent (Dong, Moses and Li 2011)
over a float32 copy of the data, started from random-projection trees; ``refine``
then gives the float64 distances.

Parallel kernels only write rows of their own: selection and refinement go row by
row; NN-descent computes a join's distances in parallel against the graph as it
stands, then each thread applies the updates of the rows it owns, in one fixed
order for every row. So the results are the same for any thread count.

Compiled variants: ``select_block`` one per block dtype (float32, float64; the
dense precomputed path shares them), ``refine`` one per layout and dtype of the
rows (dense or CSR, float32 or float64), ``select_stored`` one per dtype of a
sparse precomputed matrix, and the NN-descent kernels one each (float32).
"""

import numpy as np
from numba import prange
from numba.extending import overload

from ._jit import kernel, like, sqrt
from .data import _JIT_OPTIONS, _is_dense, mix, n_cols, uniform

EUCLIDEAN = 0
COSINE = 1

# NN-descent integer settings
I_SEED = 0
I_LEAF_SIZE = 1
N_INTS = 2

# Rows of a refinement handled by one parallel task (each task owns a row buffer).
_REFINE_CHUNKS = 64


@kernel(inline="always")
def _insert(keys, ids, key, j):
    """Put ``(key, j)`` into the ascending ``keys``/``ids``, dropping the last entry.

    The caller has checked ``key < keys[-1]``; equal keys keep their arrival order.
    """
    p = keys.shape[0] - 1
    while p > 0 and keys[p - 1] > key:
        keys[p] = keys[p - 1]
        ids[p] = ids[p - 1]
        p -= 1
    keys[p] = key
    ids[p] = j


@kernel(inline="always")
def _emptied(ids, keys, r):
    """Row ``r`` of a top-k result, emptied: -1 and infinity, ready for ``_insert``."""
    row_ids = ids[r]
    row_keys = keys[r]
    row_ids[:] = -1
    row_keys[:] = np.inf
    return row_ids, row_keys


@kernel(parallel=True)
def select_block(block, norms, first, exclude, out):
    """The ``m`` smallest keys of each row of a block, ascending.

    Parameters
    ----------
    block : ndarray of shape (nb, n)
        Cross products of rows ``first .. first + nb`` of the queries with every row
        of X (float32 or float64); overwritten by the keys.
    norms : tuple
        ``(row_terms, column_terms, scale)``, in the block's dtype:
        ``key[r, j] = max(row_terms[r] + column_terms[j] + scale * block[r, j], 0)``.
        Squared norms and -2 give squared distances; ones and -2 twice the cosine
        distance of unit rows; zeros and 1 the block itself (precomputed).
    first : int
        Index of the block's first row among the queries.
    exclude : bool
        Leave out column ``first + r`` of row ``r`` (the row itself).
    out : tuple
        ``(ids, keys)``, int64 and float64 arrays of shape (nb, m), ``m <= n``
        (``n - 1`` with ``exclude``); receive the selection. Equal keys: lower
        column first.
    """
    row_terms, column_terms, scale = norms
    ids, keys = out
    nb, n = block.shape
    m = ids.shape[1]
    factor = like(block, scale)
    zero = like(block, 0.0)
    for r in prange(nb):
        row = block[r]
        base = row_terms[r]
        # keys first, in one branch-free pass that vectorises; then the select,
        # whose insertion branch is rarely taken once the row's best are in
        for j in range(n):
            row[j] = max(base + column_terms[j] + factor * row[j], zero)
        if exclude:
            row[first + r] = np.inf
        row_ids, row_keys = _emptied(ids, keys, r)
        worst = np.inf
        for j in range(n):
            if row[j] < worst:
                _insert(row_keys, row_ids, row[j], j)
                worst = row_keys[m - 1]


@kernel(parallel=True)
def select_stored(D, exclude, out):
    """The ``k`` smallest stored entries of each row of a CSR matrix, ascending.

    ``D`` is a ``data.CSR`` tuple with sorted columns; with ``exclude`` the diagonal
    entry is left out (a square matrix of the rows' own distances); explicit zeros
    count. ``out = (ids, keys)`` of shape (n, k) (int64,
    float64); rows with fewer than ``k`` candidates keep -1 and infinity at the end
    (the caller checks counts first). Equal values: lower column first.
    """
    ids, keys = out
    n, k = ids.shape
    for i in prange(n):
        row_ids, row_keys = _emptied(ids, keys, i)
        worst = np.inf
        for q in range(D.indptr[i], D.indptr[i + 1]):
            j = np.int64(D.indices[q])
            value = D.data[q]
            if (j != i or not exclude) and value < worst:
                _insert(row_keys, row_ids, value, j)
                worst = row_keys[k - 1]


def _load_row(Q, i, buffer, scale):
    """``buffer[c] = scale * Q[i, c]`` over the row's stored columns (all, dense)."""


def _compare(X, j, buffer, norm_sum):
    """``(X[j] . buffer, |X[j] - buffer|^2)`` in float64.

    Dense rows: the squared difference summed directly (no cancellation). CSR rows:
    by expansion, ``max(norm_sum - 2 dot, 0)`` with ``norm_sum = |X[j]|^2 +
    |buffer|^2``, as scikit-learn computes sparse distances.
    """


@overload(_load_row, jit_options=_JIT_OPTIONS, inline="always")
def _load_row_of(Q, i, buffer, scale):
    if _is_dense(Q):
        def dense(Q, i, buffer, scale):
            for c in range(Q.shape[1]):
                buffer[c] = scale * Q[i, c]

        return dense

    def sparse(Q, i, buffer, scale):
        for q in range(Q.indptr[i], Q.indptr[i + 1]):
            buffer[Q.indices[q]] = scale * Q.data[q]

    return sparse


@overload(_compare, jit_options=_JIT_OPTIONS, inline="always")
def _compare_of(X, j, buffer, norm_sum):
    if _is_dense(X):
        def dense(X, j, buffer, norm_sum):
            dot = 0.0
            squared = 0.0
            for c in range(X.shape[1]):
                value = np.float64(X[j, c])
                dot += value * buffer[c]
                diff = value - buffer[c]
                squared += diff * diff
            return dot, squared

        return dense

    def sparse(X, j, buffer, norm_sum):
        dot = 0.0
        for q in range(X.indptr[j], X.indptr[j + 1]):
            dot += np.float64(X.data[q]) * buffer[X.indices[q]]
        return dot, max(norm_sum - 2.0 * dot, 0.0)

    return sparse


@kernel(parallel=True)
def refine(Q, X, candidates, norms, metric, out):
    """Exact distances from each query row to its candidates; the ``k`` nearest kept.

    Parameters
    ----------
    Q, X : ndarray or data.CSR
        The query rows and the rows of X, both dense or both CSR, of one dtype, as
        given (not centred or normalised). Separate arguments, not a tuple: Numba's
        parallel lowering fails on a named tuple unpacked from a tuple.
    candidates : ndarray of shape (nq, m)
        int64 indices into X, ``m >= k``, all valid and distinct per row.
    norms : tuple
        ``(q_squared, x_squared)``: float64 squared row norms (cosine, CSR).
    metric : int
        ``EUCLIDEAN`` (true distances) or ``COSINE`` (``1 - cos``, clipped to
        [0, 2]; 1 where either row is zero, as scikit-learn's).
    out : tuple
        ``(ids, distances)`` of shape (nq, k) (int64, float64): the result, sorted
        by increasing distance, equal distances in candidate order.
    """
    q_squared, x_squared = norms
    ids, distances = out
    nq, m = candidates.shape
    k = ids.shape[1]
    n_chunks = min(nq, _REFINE_CHUNKS)
    for c in prange(n_chunks):
        buffer = np.zeros(n_cols(Q))  # one per task, not per row
        for i in range(c * nq // n_chunks, (c + 1) * nq // n_chunks):
            _load_row(Q, i, buffer, 1.0)
            row_ids, row_distances = _emptied(ids, distances, i)
            worst = np.inf
            for t in range(m):
                j = candidates[i, t]
                dot, squared = _compare(X, j, buffer, q_squared[i] + x_squared[j])
                if metric == COSINE:
                    scale = q_squared[i] * x_squared[j]
                    value = 1.0 - dot / sqrt(scale) if scale > 0.0 else 1.0
                    value = min(max(value, 0.0), 2.0)
                else:
                    value = sqrt(squared)
                if value < worst:
                    _insert(row_distances, row_ids, value, j)
                    worst = row_distances[k - 1]
            _load_row(Q, i, buffer, 0.0)  # back to zeros (CSR: the row's columns)


# ---------------------------------------------------------------------------
# NN-descent. The graph is ``(ids, keys, flags)``: per row a max-heap of its k
# current neighbours (root: the farthest), their float32 squared distances and a
# "new" flag (not yet joined). Empty slots hold -1 and infinity.


@kernel(inline="always")
def _squared(Y, p, q):
    total = np.float32(0.0)
    for c in range(Y.shape[1]):
        diff = Y[p, c] - Y[q, c]
        total += diff * diff
    return total


@kernel(inline="always")
def _heap_push(ids, keys, flags, j, key):
    """Offer ``(j, key)`` to one row's max-heap; 1 if it went in (closer than the
    root and not there yet), else 0. The entry is flagged new."""
    if key >= keys[0]:
        return 0
    size = ids.shape[0]
    # branch-free, so the scan vectorises (it runs on every accepted offer)
    found = False
    for s in range(size):
        found |= ids[s] == j
    if found:
        return 0
    p = 0  # replace the root, sift down
    while True:
        child = 2 * p + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] > keys[child]:
            child += 1
        if keys[child] <= key:
            break
        ids[p] = ids[child]
        keys[p] = keys[child]
        flags[p] = flags[child]
        p = child
    ids[p] = j
    keys[p] = key
    flags[p] = 1
    return 1


@kernel
def _rp_tree(Y, state, leaf_size, order, leaves):
    """Split the rows into leaves of at most ``leaf_size`` by random hyperplanes.

    ``order`` (int64, length n) receives the rows grouped by leaf and ``leaves``
    (n, 2) each leaf's ``[start, stop)`` in ``order``; returns the number of
    leaves. Each split is the perpendicular bisector of two random rows of the
    node; a split that leaves a side empty (coincident rows) halves the node.
    """
    n, d = Y.shape
    normal = np.empty(d, dtype=np.float32)
    stack = np.empty((n, 2), dtype=np.int64)  # disjoint non-empty ranges: at most n
    for i in range(n):
        order[i] = i
    stack[0, 0] = 0
    stack[0, 1] = n
    top = 1
    count = 0
    draw = 0
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        size = hi - lo
        if size <= leaf_size:
            leaves[count, 0] = lo
            leaves[count, 1] = hi
            count += 1
            continue
        first = int(uniform(state, draw) * size)
        second = (first + 1 + int(uniform(state, draw + 1) * (size - 1))) % size
        a = order[lo + first]  # two distinct rows of the node
        b = order[lo + second]
        draw += 2
        offset = np.float32(0.0)
        for c in range(d):
            normal[c] = Y[a, c] - Y[b, c]
            offset += normal[c] * np.float32(0.5) * (Y[a, c] + Y[b, c])
        i = lo
        j = hi - 1
        while i <= j:
            margin = -offset
            r = order[i]
            for c in range(d):
                margin += normal[c] * Y[r, c]
            if margin < 0.0 or (margin == 0.0 and uniform(state, draw) < 0.5):
                i += 1
            else:
                order[i] = order[j]
                order[j] = r
                j -= 1
            draw += margin == 0.0
        if i == lo or i == hi:
            i = lo + size // 2
        stack[top, 0] = lo
        stack[top, 1] = i
        stack[top + 1, 0] = i
        stack[top + 1, 1] = hi
        top += 2
    return count


@kernel(parallel=True)
def rp_forest(Y, ints, orders, leaves, counts):
    """Build ``len(counts)`` random-projection trees (``_rp_tree``), in parallel.

    Tree ``t`` draws from its own stream of ``ints[I_SEED]`` and writes only
    ``orders[t]``, ``leaves[t]`` and ``counts[t]``.
    """
    for t in prange(counts.shape[0]):
        state = mix(np.uint64(ints[I_SEED]) + np.uint64(t + 1))
        counts[t] = _rp_tree(Y, state, ints[I_LEAF_SIZE], orders[t], leaves[t])


@kernel
def leaf_groups(orders, leaves, counts, groups):
    """Copy every leaf's rows into one row of ``groups`` (padded with -1)."""
    g = 0
    groups[:] = -1
    for t in range(counts.shape[0]):
        for leaf in range(counts[t]):
            lo = leaves[t, leaf, 0]
            for s in range(leaves[t, leaf, 1] - lo):
                groups[g, s] = orders[t, lo + s]
            g += 1


@kernel
def fill_random(Y, seed, graph):
    """Offer random rows to every heap that is not full yet (n - 1 >= k)."""
    ids, keys, flags = graph
    n = ids.shape[0]
    for i in range(n):
        state = mix(np.uint64(seed) + np.uint64(i))
        draw = 0
        while ids[i, 0] < 0:  # the root of a heap with a free slot is free
            j = int(uniform(state, draw) * n)
            draw += 1
            if j != i:
                _heap_push(ids[i], keys[i], flags[i], j, _squared(Y, i, j))


@kernel(parallel=True)
def sample_candidates(graph, seed, candidates, scratch):
    """The next join's candidates of every row, and its neighbours marked joined.

    A row's new (old) candidates are its new (old) neighbours and the rows that
    have it as a new (old) neighbour, at most ``candidates[0].shape[1]`` of each
    kind, chosen by random priority (Dong et al.'s sampling, with reverse
    neighbours). ``candidates = (new, old, new_priority, old_priority)`` is
    overwritten. The new neighbours a row put into its own new candidates are
    flagged old.

    ``scratch`` is a uint8 array of shape (owners, width), ``owners`` the thread
    count (Numba's ``get_num_threads`` in a kernel defeats the cache): each owner
    takes a range of rows and makes, in the one fixed order, just the offers to its
    rows, so the candidates are the same for any thread count.
    """
    ids, keys, flags = graph
    new, old, new_priority, old_priority = candidates
    n, k = ids.shape
    width = new.shape[1]
    owners = scratch.shape[0]
    for owner in prange(owners):
        lo = owner * n // owners
        hi = (owner + 1) * n // owners
        junk = scratch[owner]  # the candidate heaps carry no flags
        for i in range(lo, hi):
            new[i, :] = -1
            old[i, :] = -1
            new_priority[i, :] = np.inf
            old_priority[i, :] = np.inf
        for i in range(n):
            mine = lo <= i < hi
            for s in range(k):
                j = ids[i, s]
                if j < 0 or not (mine or lo <= j < hi):
                    continue
                priority = np.float32(uniform(seed, i * k + s))
                if flags[i, s]:
                    if mine:
                        _heap_push(new[i], new_priority[i], junk, j, priority)
                    if lo <= j < hi:
                        _heap_push(new[j], new_priority[j], junk, i, priority)
                else:
                    if mine:
                        _heap_push(old[i], old_priority[i], junk, j, priority)
                    if lo <= j < hi:
                        _heap_push(old[j], old_priority[j], junk, i, priority)
    for i in prange(n):
        for s in range(k):
            if flags[i, s]:
                for t in range(width):
                    if new[i, t] == ids[i, s]:
                        flags[i, s] = 0
                        break


@kernel(parallel=True)
def join(Y, groups, graph, records):
    """Local join: each pair of a group's new members, and each new-old pair, is
    offered to both members' heaps; returns the number of heap changes.

    ``groups = (new, old)``: int64 arrays of rows per group, -1 where empty (``old``
    may have no columns). ``records = (offers, offer_keys, counts, changes)``, of
    shapes (chunk, capacity, 2), (chunk, capacity), (chunk,) and (owners,) (int64;
    ``owners``: the thread count), ``capacity`` at least twice the pairs of one
    group. Groups are taken ``chunk`` at a time: their
    distances are computed in parallel against the heaps as they stand, keeping
    only the offers ``(target, row)`` that can enter the target's heap; then each
    thread applies, in group order, the offers to the rows it owns. Every heap
    sees its offers in one fixed order, so the graph is the same for any thread
    count.
    """
    new, old = groups
    ids, keys, flags = graph
    offers, offer_keys, counts, changes = records
    n_groups, width = new.shape
    n = ids.shape[0]
    chunk = counts.shape[0]
    owners = changes.shape[0]
    changes[:] = 0
    for start in range(0, n_groups, chunk):
        stop = min(start + chunk, n_groups)
        for g in prange(start, stop):
            slot = g - start
            count = 0
            for a in range(width):
                p = new[g, a]
                if p < 0:
                    continue
                for b in range(a + 1, width + old.shape[1]):
                    q = new[g, b] if b < width else old[g, b - width]
                    if q < 0 or q == p:
                        continue
                    key = _squared(Y, p, q)
                    if key < keys[p, 0]:
                        offers[slot, count, 0] = p
                        offers[slot, count, 1] = q
                        offer_keys[slot, count] = key
                        count += 1
                    if key < keys[q, 0]:
                        offers[slot, count, 0] = q
                        offers[slot, count, 1] = p
                        offer_keys[slot, count] = key
                        count += 1
            counts[slot] = count
        for owner in prange(owners):
            lo = owner * n // owners
            hi = (owner + 1) * n // owners
            for slot in range(stop - start):
                for t in range(counts[slot]):
                    p = offers[slot, t, 0]
                    if lo <= p < hi:
                        changes[owner] += _heap_push(ids[p], keys[p], flags[p],
                                                     offers[slot, t, 1], offer_keys[slot, t])
    return np.sum(changes)
