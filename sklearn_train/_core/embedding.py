"""Edge-epoch kernels of the embedding models: t-SNE and UMAP.

Both methods pull each point towards its neighbours along the edges of a sparse
affinity graph and push it away from points drawn at random (negative samples); they
differ in the per-pair coefficients and in the normaliser (Damrich et al., "From
t-SNE to UMAP with contrastive learning", 2023):

- t-SNE (Cauchy kernel ``w = 1 / (1 + d^2)``) minimises KL(P || Q) with
  ``q = w / Z`` and ``Z`` the sum of ``w`` over all pairs. A pass is one full-batch
  gradient step with momentum and gains, as scikit-learn's and openTSNE's optimisers.
  Repulsion is exact along the point's graph edges (the near pairs, which dominate it)
  and estimated from ``n_negatives`` uniform samples among the other points; ``Z`` is
  estimated the same way, so a pass costs O(edges + n * n_negatives), not O(n^2).
- UMAP (kernel ``1 / (1 + a d^(2b))``) minimises a fuzzy cross-entropy without a
  normaliser. A pass is one of umap-learn's epochs: an edge of weight ``w`` is sampled
  ``w / w_max`` times per pass (a fixed, stateless schedule), each sample moves the
  point towards its neighbour and away from ``negative_sample_rate`` random points,
  each move clipped to 4 per coordinate.

Both also place *new* points against a frozen reference embedding (``transform``): the
graph's rows are then the new points, its columns reference points, and only the new
points move (t-SNE then normalises each new point's Q over the reference alone).

Inlined helpers never bind ``_`` (or any name) to values of different types: in
an inlined helper of a parallel kernel, ``_`` taken from a tuple and reused as a loop
variable compiled without error and silently skipped every move.

Determinism with threads: every pass is computed per point, in parallel, from
positions fixed for the pass (t-SNE) or for a fixed chunk of points (UMAP: points are
updated chunk after chunk, each chunk from the positions its predecessors left), and
every random draw is addressed by (seed, pass, point key, draw number). So the result
for a seed is bit-identical whatever the thread count. (umap-learn updates points
in place from all threads at once, which it can only make reproducible by running on
one thread.)

One compiled variant of each kernel: embeddings are float64 for any input dtype (an
embedding is n x 2; its precision costs nothing, and float32 distances of nearby
points in a large layout lose digits).
"""

import math

import numpy as np
from numba import prange

from ._jit import bits_float, float_bits, kernel
from .data import mix

# integer settings
I_NEGATIVES = 0  # t-SNE: samples per point and pass; UMAP: per edge sample
I_FIRST_PASS = 1  # global number of the call's first pass (random streams, schedule)
I_SEED = 2
I_TRANSFORM = 3  # 1: the moving points are new points against a frozen reference
I_CHUNK = 4  # UMAP: points moved together, from the same positions
I_MEASURE = 5  # (set by the kernel) the pass measures the loss
N_INTS = 6

# float settings
F_EXAGGERATION = 0  # t-SNE: factor on P (early exaggeration)
F_MOMENTUM = 1  # t-SNE
F_MIN_GAIN = 2  # t-SNE
F_MAX_GRAD = 3  # t-SNE: largest gradient norm per point (0: no limit)
F_A = 4  # UMAP's curve
F_B = 5
F_REPULSION = 6  # UMAP: weight of the negative samples (umap-learn's gamma)
N_FLOATS = 7

# status
OK = 0
DIVERGED = 1

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_INV_2_53 = 1.0 / 9007199254740992.0
# UMAP's clip of each move, per coordinate (umap-learn's value)
_CLIP = 4.0
# UMAP's guard against a zero distance in the repulsive coefficient
_UMAP_EPS = 0.001
# Draws per point and pass are capped at this multiple of the samples wanted (a
# drawn point that is a graph neighbour, or the point itself, is drawn again).
_MAX_DRAWS = 4


def settings(n_negatives, seed, transform=False, chunk=256):
    """Fresh ``(ints, floats)`` setting arrays with the given integer settings."""
    ints = np.zeros(N_INTS, dtype=np.int64)
    ints[I_NEGATIVES] = n_negatives
    ints[I_SEED] = seed
    ints[I_TRANSFORM] = int(transform)
    ints[I_CHUNK] = chunk
    floats = np.zeros(N_FLOATS, dtype=np.float64)
    floats[F_EXAGGERATION] = 1.0
    floats[F_MIN_GAIN] = 0.01
    floats[F_REPULSION] = 1.0
    return ints, floats


@kernel(inline="always")
def _stream(seed, pass_index, key):
    """The random stream of one point in one pass."""
    return mix(mix(np.uint64(seed) * _GAMMA + np.uint64(pass_index)) ^ np.uint64(key))


@kernel(inline="always")
def _draw(stream, number, n):
    """Draw ``number`` of ``stream``: an index in [0, n) (n < 2**32), by a
    multiply-shift of the top 32 bits (integer only: no float conversions)."""
    z = mix(stream + np.uint64(number + 1) * _GAMMA)
    return int(((z >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@kernel(inline="always")
def _mark_row(marks, indices, a, b, value):
    """Set the marks of ``indices[a:b]`` to ``value`` (a point's graph neighbours)."""
    for e in range(a, b):
        marks[indices[e]] = value


@kernel(inline="always")
def _squared_distance(Y, i, ref, j):
    total = 0.0
    for c in range(Y.shape[1]):
        diff = Y[i, c] - ref[j, c]
        total += diff * diff
    return total


@kernel(inline="always")
def _edges(graph, i, Y, ref, attraction, repulsion, measure):
    """Point i's attraction and exact repulsion along its edges; returns its share
    of the normaliser and of the loss."""
    indptr = graph[0]
    indices = graph[1]
    p = graph[2]
    z_near = 0.0
    kl_i = 0.0
    for e in range(indptr[i], indptr[i + 1]):
        j = indices[e]
        d2 = _squared_distance(Y, i, ref, j)
        w = 1.0 / (1.0 + d2)
        pw = p[e] * w
        ww = w * w
        for c in range(Y.shape[1]):
            diff = Y[i, c] - ref[j, c]
            attraction[i, c] += pw * diff
            repulsion[i, c] += ww * diff
        z_near += w
        if measure:
            kl_i += p[e] * math.log1p(d2)
    return z_near, kl_i


@kernel(inline="always")
def _edges_2d(graph, i, Y, ref, attraction, repulsion, measure):
    """``_edges`` for two dimensions, the usual case, in scalars (twice as fast)."""
    indptr = graph[0]
    indices = graph[1]
    p = graph[2]
    y0 = Y[i, 0]
    y1 = Y[i, 1]
    a0 = a1 = r0 = r1 = 0.0
    z_near = 0.0
    kl_i = 0.0
    a = indptr[i]
    b = indptr[i + 1]
    # branch-free, so that the loop vectorises (gathers); the loss in its own loop
    for e in range(a, b):
        j = indices[e]
        d0 = y0 - ref[j, 0]
        d1 = y1 - ref[j, 1]
        w = 1.0 / (1.0 + d0 * d0 + d1 * d1)
        pw = p[e] * w
        ww = w * w
        a0 += pw * d0
        a1 += pw * d1
        r0 += ww * d0
        r1 += ww * d1
        z_near += w
    if measure:
        for e in range(a, b):
            j = indices[e]
            d0 = y0 - ref[j, 0]
            d1 = y1 - ref[j, 1]
            kl_i += p[e] * math.log1p(d0 * d0 + d1 * d1)
    attraction[i, 0] = a0
    attraction[i, 1] = a1
    repulsion[i, 0] = r0
    repulsion[i, 1] = r1
    return z_near, kl_i


@kernel(parallel=True)
def tsne_passes(graph, plan, arrays, scratch, ints, floats):
    """Run ``len(rates)`` t-SNE gradient passes; returns the status (OK, DIVERGED).

    ``graph = (indptr, indices, p, keys)``: the CSR rows of P (sorted column indices)
    of the moving points over the reference points, and a random-stream key per
    moving point. ``plan = (rates,)``. ``arrays = (Y, ref, update, gains)``: the
    moving embedding, the reference (``Y`` itself in a fit), the momentum buffer and
    the gains. ``scratch = (attraction, repulsion, sampled, z, kl, marks)``: arrays of
    the moving points' shapes, and ``marks``, zeros of shape (parts, reference
    points) (uint8), left zero: the points are split into that many parts, run in
    parallel, each with its row of marks. The last pass measures the loss
    at the positions it starts from: ``kl[i]`` is point i's
    ``sum_j p_ij log(1 + d_ij^2)`` and ``z`` its share of the normaliser, which the
    caller turns into KL(P || Q).
    """
    indptr, indices, p, keys = graph
    (rates,) = plan
    Y, ref, update, gains = arrays
    attraction, repulsion, sampled, z, kl, marks = scratch
    n, d = Y.shape
    n_ref = ref.shape[0]
    n_negatives = ints[I_NEGATIVES]
    transform = ints[I_TRANSFORM] != 0
    exaggeration = floats[F_EXAGGERATION]
    momentum = floats[F_MOMENTUM]
    min_gain = floats[F_MIN_GAIN]
    max_grad = floats[F_MAX_GRAD]
    n_passes = rates.shape[0]
    n_parts = max(1, min(marks.shape[0], n))
    for it in range(n_passes):
        measure = it == n_passes - 1
        pass_index = ints[I_FIRST_PASS] + it
        # points in one part per row of marks: a part's points share its marks
        # (scratch only: which thread runs a part changes no result)
        for part in prange(n_parts):
            own = marks[part]
            for i in range(part * n // n_parts, (part + 1) * n // n_parts):
                a = indptr[i]
                b = indptr[i + 1]
                for c in range(d):
                    attraction[i, c] = 0.0
                    repulsion[i, c] = 0.0
                    sampled[i, c] = 0.0
                if d == 2:
                    z_near, kl_i = _edges_2d(graph, i, Y, ref, attraction, repulsion, measure)
                else:
                    z_near, kl_i = _edges(graph, i, Y, ref, attraction, repulsion, measure)
                # the pairs off the graph: estimated from uniform samples among them
                others = n_ref - (b - a) - (0 if transform else 1)
                z_far = 0.0
                if others > 0 and n_negatives > 0:
                    stream = _stream(ints[I_SEED], pass_index, keys[i])
                    # the part's marks flag the point's neighbours (and itself): a
                    # draw among them is drawn again (a lookup, not a search of the row)
                    _mark_row(own, indices, a, b, 1)
                    if not transform:
                        own[i] = 1
                    accepted = 0
                    for number in range(_MAX_DRAWS * n_negatives):
                        k = _draw(stream, number, n_ref)
                        if own[k] != 0:
                            continue
                        d2 = _squared_distance(Y, i, ref, k)
                        w = 1.0 / (1.0 + d2)
                        ww = w * w
                        for c in range(d):
                            sampled[i, c] += ww * (Y[i, c] - ref[k, c])
                        z_far += w
                        accepted += 1
                        if accepted == n_negatives:
                            break
                    _mark_row(own, indices, a, b, 0)
                    if not transform:
                        own[i] = 0
                    if accepted > 0:
                        scale = others / accepted
                        z_far *= scale
                        for c in range(d):
                            repulsion[i, c] += scale * sampled[i, c]
                z[i] = z_near + z_far
                kl[i] = kl_i
        total_z = 0.0
        for i in range(n):
            total_z += z[i]
        if not (math.isfinite(total_z) and total_z > 0.0):
            return DIVERGED
        rate = rates[it]
        for i in prange(n):
            # d KL / d y_i: 4 sum_j (p_ij - q_ij) w_ij (y_i - y_j) over all pairs;
            # a new point's own KL(P_i || Q_i) has factor 2 and its own normaliser
            inverse_z = 1.0 / (z[i] if transform else total_z)
            factor = 2.0 if transform else 4.0
            norm = 0.0
            for c in range(d):
                g = factor * (exaggeration * attraction[i, c] - repulsion[i, c] * inverse_z)
                attraction[i, c] = g
                norm += g * g
            shrink = 1.0
            if max_grad > 0.0 and norm > max_grad * max_grad:
                shrink = max_grad / math.sqrt(norm)
            for c in range(d):
                g = attraction[i, c] * shrink
                u = update[i, c]
                gain = gains[i, c]
                # scikit-learn's gains (delta-bar-delta): grow while the step keeps
                # its direction, shrink when the gradient turns
                if u * g < 0.0:
                    gain += 0.2
                else:
                    gain *= 0.8
                if gain < min_gain:
                    gain = min_gain
                gains[i, c] = gain
                u = momentum * u - rate * gain * g
                update[i, c] = u
                Y[i, c] += u
    return OK


_LN2 = math.log(2.0)
_MANTISSA = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@kernel(inline="always")
def fast_pow(x, power):
    """``x ** power`` for ``x > 0``, to about 1e-7 relative, in a few nanoseconds
    (libm's ``pow`` took ~40 ns and was most of a UMAP epoch).

    ``log2 x`` from the exponent bits and an odd series in ``t = (m - 1) / (m + 1)``
    of the mantissa ``m`` in [sqrt(1/2), sqrt(2)); ``2 ** y`` from the integer part
    put into the exponent bits and a polynomial of the fraction.
    """
    bits = float_bits(x)
    exponent = ((bits >> 52) & 0x7FF) - 1023
    mantissa = bits_float((bits & _MANTISSA) | _ONE_BITS)
    if mantissa > 1.4142135623730951:
        mantissa *= 0.5
        exponent += 1
    t = (mantissa - 1.0) / (mantissa + 1.0)
    t2 = t * t
    log_m = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 * (1.0 / 7.0 + t2 / 9.0))))
    y = power * (exponent + log_m / _LN2)
    y = min(max(y, -1020.0), 1020.0)
    whole = math.floor(y)
    f = (y - whole) * _LN2  # 2**frac = e**f, f in [0, ln 2)
    e_f = 1.0 + f * (1.0 + f * (0.5 + f * (1.0 / 6.0 + f * (1.0 / 24.0 + f * (
        1.0 / 120.0 + f * (1.0 / 720.0 + f * (1.0 / 5040.0 + f / 40320.0)))))))
    return bits_float(float_bits(e_f) + (int(whole) << 52))


@kernel(inline="always")
def _clip(value):
    return min(max(value, -_CLIP), _CLIP)


@kernel(inline="always")
def _umap_point(graph, i, r, arrays, stream, ints, floats, alpha):
    """Point i's moves of one UMAP pass, on its row ``r`` of the buffer; returns its
    loss terms (when ``ints``' measure flag is set) and its edge samples.

    The pull along a due edge and the pushes from its negative samples are computed
    from the same position and then applied together: six independent chains
    instead of one long one (each coefficient takes a power, a division and ~100
    cycles of latency, so applying them one by one, as umap-learn does, left the
    core idle).
    """
    indptr = graph[0]
    indices = graph[1]
    weights = graph[2]
    Y, ref, buffer, pending = arrays
    d = Y.shape[1]
    n_ref = ref.shape[0]
    n_negatives = ints[I_NEGATIVES]
    transform = ints[I_TRANSFORM] != 0
    pass_index = ints[I_FIRST_PASS]
    measure = ints[I_MEASURE] != 0
    a_curve = floats[F_A]
    b_curve = floats[F_B]
    gamma = floats[F_REPULSION]
    # in a fit each edge is in the graph both ways and umap-learn moves both of its
    # ends per sample: a point's row gets both pulls; a new point only pulls itself
    pulls = 1.0 if transform else 2.0
    draws = 0
    loss = 0.0
    count = 0
    for e in range(indptr[i], indptr[i + 1]):
        rate_e = weights[e]
        if math.floor((pass_index + 1) * rate_e) == math.floor(pass_index * rate_e):
            continue  # this edge is not due in this pass
        count += 1
        j = indices[e]
        for c in range(d):
            pending[r, c] = 0.0
        d2 = _squared_distance(buffer, r, ref, j)
        if d2 > 0.0:
            power = fast_pow(d2, b_curve)
            coef = -2.0 * a_curve * b_curve * power / (d2 * (a_curve * power + 1.0))
            for c in range(d):
                pending[r, c] += pulls * alpha * _clip(coef * (buffer[r, c] - ref[j, c]))
            if measure:
                loss += math.log1p(a_curve * power)  # -log q
        for s in range(n_negatives):
            k = _draw(stream, draws, n_ref)
            draws += 1
            if not transform and k == i:
                continue
            d2 = _squared_distance(buffer, r, ref, k)
            if d2 > 0.0:
                power = fast_pow(d2, b_curve)
                coef = 2.0 * gamma * b_curve / ((_UMAP_EPS + d2) * (a_curve * power + 1.0))
                for c in range(d):
                    pending[r, c] += alpha * _clip(coef * (buffer[r, c] - ref[k, c]))
                if measure:  # -log(1 - q)
                    loss += gamma * (math.log1p(a_curve * power) - math.log(a_curve * power))
        for c in range(d):
            buffer[r, c] += pending[r, c]
    return loss, count


@kernel(inline="always")
def _umap_point_2d(graph, i, r, arrays, stream, ints, floats, alpha):
    """``_umap_point`` for two dimensions, in scalars (the position and the pending
    moves stay in registers)."""
    indptr = graph[0]
    indices = graph[1]
    weights = graph[2]
    ref = arrays[1]
    buffer = arrays[2]
    n_ref = ref.shape[0]
    n_negatives = ints[I_NEGATIVES]
    transform = ints[I_TRANSFORM] != 0
    pass_index = ints[I_FIRST_PASS]
    measure = ints[I_MEASURE] != 0
    a_curve = floats[F_A]
    b_curve = floats[F_B]
    gamma = floats[F_REPULSION]
    pulls = 1.0 if transform else 2.0
    y0 = buffer[r, 0]
    y1 = buffer[r, 1]
    draws = 0
    loss = 0.0
    count = 0
    for e in range(indptr[i], indptr[i + 1]):
        rate_e = weights[e]
        if math.floor((pass_index + 1) * rate_e) == math.floor(pass_index * rate_e):
            continue
        count += 1
        j = indices[e]
        d0 = y0 - ref[j, 0]
        d1 = y1 - ref[j, 1]
        d2 = d0 * d0 + d1 * d1
        m0 = m1 = 0.0
        if d2 > 0.0:
            power = fast_pow(d2, b_curve)
            coef = -2.0 * a_curve * b_curve * power / (d2 * (a_curve * power + 1.0))
            m0 = pulls * alpha * _clip(coef * d0)
            m1 = pulls * alpha * _clip(coef * d1)
            if measure:
                loss += math.log1p(a_curve * power)
        for s in range(n_negatives):
            k = _draw(stream, draws, n_ref)
            draws += 1
            if not transform and k == i:
                continue
            d0 = y0 - ref[k, 0]
            d1 = y1 - ref[k, 1]
            d2 = d0 * d0 + d1 * d1
            if d2 > 0.0:
                power = fast_pow(d2, b_curve)
                coef = 2.0 * gamma * b_curve / ((_UMAP_EPS + d2) * (a_curve * power + 1.0))
                m0 += alpha * _clip(coef * d0)
                m1 += alpha * _clip(coef * d1)
                if measure:
                    loss += gamma * (math.log1p(a_curve * power) - math.log(a_curve * power))
        y0 += m0
        y1 += m1
    buffer[r, 0] = y0
    buffer[r, 1] = y1
    return loss, count


@kernel(parallel=True)
def umap_passes(graph, plan, arrays, ints, floats):
    """Run ``len(rates)`` UMAP epochs; returns ``(status, loss, samples)``.

    ``graph = (indptr, indices, rates, keys)``: the CSR rows of the fuzzy graph of the
    moving points over the reference points, with each edge's weight divided by the
    largest (its samples per pass), and a random-stream key per moving point.
    ``plan = (rates,)``: the learning rate of each pass. ``arrays = (Y, ref, buffer,
    pending)``: the moving embedding, the reference (``Y`` itself in a fit) and two
    ``(chunk, d)`` buffers. The last pass measures the loss: the summed
    cross-entropy terms of its edge samples and negative samples, and the number of
    edge samples.
    """
    keys = graph[3]
    (rates,) = plan
    Y, ref, buffer, pending = arrays
    n, d = Y.shape
    chunk = ints[I_CHUNK]
    first = ints[I_FIRST_PASS]
    n_passes = rates.shape[0]
    loss = 0.0
    n_samples = 0
    losses = np.zeros(chunk)
    counts = np.zeros(chunk, dtype=np.int64)
    point_ints = ints.copy()
    for it in range(n_passes):
        point_ints[I_FIRST_PASS] = first + it
        point_ints[I_MEASURE] = it == n_passes - 1
        alpha = rates[it]
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            for i in prange(start, stop):
                r = i - start
                for c in range(d):
                    buffer[r, c] = Y[i, c]
                stream = _stream(ints[I_SEED], first + it, keys[i])
                if d == 2:
                    losses[r], counts[r] = _umap_point_2d(graph, i, r, arrays, stream,
                                                          point_ints, floats, alpha)
                else:
                    losses[r], counts[r] = _umap_point(graph, i, r, arrays, stream,
                                                       point_ints, floats, alpha)
            for i in range(start, stop):
                for c in range(d):
                    Y[i, c] = buffer[i - start, c]
                if point_ints[I_MEASURE]:
                    loss += losses[i - start]
                    n_samples += counts[i - start]
        if not math.isfinite(loss):
            return DIVERGED, loss, n_samples
    return OK, loss, n_samples
