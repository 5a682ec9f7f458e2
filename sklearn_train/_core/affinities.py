"""Affinity kernels of the embeddings: per-row bandwidth searches over a kNN graph.

Both searches work on an (n, k) table of distances from each point to its k nearest
neighbours (sorted by increasing distance, the point itself left out) and bisect one
scale per row:

* t-SNE (``perplexity_rows``): the precision ``beta_i`` of a Gaussian over the row,
  so that the entropy of ``p_{j|i} ~ exp(-d_ij beta_i)`` equals ``log(perplexity)``.
  The search path is scikit-learn's (start at 1, double or halve until the target is
  bracketed, then bisect; tolerance 1e-5 on the entropy, at most 100 steps), so the
  same ``beta`` comes out. Distances are shifted by the row's smallest one before
  ``exp``: the probabilities are the same, but a row far from its neighbours no
  longer underflows to all zeros at ``beta = 1``.
* UMAP (``smooth_knn_rows``): the distance ``rho_i`` to the nearest neighbours that
  are taken as surely connected, and the scale ``sigma_i`` with
  ``sum_j exp(-max(d_ij - rho_i, 0) / sigma_i) = target``; umap-learn's search
  (tolerance 1e-5 on the sum, at most 64 steps) and its floor on ``sigma``.

Every row is independent; the kernels are serial (the searches take milliseconds
next to the embedding epochs), so their results do not depend on a thread count.
"""

import math

import numpy as np

from ._jit import kernel

# scikit-learn's binary search: tolerance on the entropy, step cap, floor of a sum
PERPLEXITY_TOLERANCE = 1e-5
PERPLEXITY_STEPS = 100
_TINY_SUM = 1e-8

# umap-learn's smooth kNN: tolerance on the membership sum, step cap, sigma floor
SMOOTH_K_TOLERANCE = 1e-5
SMOOTH_K_STEPS = 64
MIN_K_DIST_SCALE = 1e-3

# settings of smooth_knn_rows (one float64 array)
S_TARGET = 0           # log2(n_neighbors) * bandwidth
S_LOCAL_CONNECTIVITY = 1
S_MEAN_DISTANCE = 2    # mean over all rows: the floor for rows with rho = 0
S_ROW_COUNT = 3        # entries a row's mean is taken over (umap counts self's zero)
N_SETTINGS = 4


@kernel
def perplexity_rows(distances, desired_entropy, P, betas):
    """Fill ``P`` (n, k) with the conditional probabilities of each row.

    Parameters
    ----------
    distances : ndarray of shape (n, k), float64
        What the Gaussian is fed (squared euclidean distances for t-SNE).
    desired_entropy : float
        ``log(perplexity)``.
    P : ndarray of shape (n, k), float64
        Output; each row sums to 1.
    betas : ndarray of shape (n,), float64
        Output: the precision found for each row.
    """
    n, k = distances.shape
    for i in range(n):
        row = distances[i]
        p = P[i]
        shift = row[0]
        for j in range(1, k):
            shift = min(shift, row[j])
        beta = 1.0
        beta_min = -np.inf
        beta_max = np.inf
        for _ in range(PERPLEXITY_STEPS):
            total = 0.0
            for j in range(k):
                p[j] = math.exp(-(row[j] - shift) * beta)
                total += p[j]
            total = max(total, _TINY_SUM)
            weighted = 0.0
            for j in range(k):
                p[j] /= total
                weighted += (row[j] - shift) * p[j]
            # entropy of the row: log(sum) + beta * E[d] (the shift cancels out)
            difference = math.log(total) + beta * weighted - desired_entropy
            if abs(difference) <= PERPLEXITY_TOLERANCE:
                break
            if difference > 0.0:  # too flat: sharpen
                beta_min = beta
                beta = beta * 2.0 if beta_max == np.inf else (beta + beta_max) / 2.0
            else:
                beta_max = beta
                beta = beta / 2.0 if beta_min == -np.inf else (beta + beta_min) / 2.0
        betas[i] = beta


@kernel
def smooth_knn_rows(distances, settings, weights, sigmas, rhos):
    """UMAP's membership strengths of each row's neighbours.

    Parameters
    ----------
    distances : ndarray of shape (n, k), float64
        Sorted distances to the neighbours, the point itself left out.
    settings : ndarray of shape (N_SETTINGS,), float64
        Indexed by the ``S_*`` constants.
    weights : ndarray of shape (n, k), float64
        Output: ``exp(-max(d_ij - rho_i, 0) / sigma_i)``.
    sigmas, rhos : ndarray of shape (n,), float64
        Output: each row's scale and local connectivity distance.
    """
    n, k = distances.shape
    target = settings[S_TARGET]
    connectivity = settings[S_LOCAL_CONNECTIVITY]
    mean_distance = settings[S_MEAN_DISTANCE]
    row_count = settings[S_ROW_COUNT]
    whole = int(math.floor(connectivity))
    fraction = connectivity - whole
    for i in range(n):
        row = distances[i]
        rho = _local_distance(row, connectivity, whole, fraction)
        low = 0.0
        high = np.inf
        sigma = 1.0
        for _ in range(SMOOTH_K_STEPS):
            total = 0.0
            for j in range(k):
                d = row[j] - rho
                total += math.exp(-(d / sigma)) if d > 0.0 else 1.0
            if abs(total - target) < SMOOTH_K_TOLERANCE:
                break
            if total > target:
                high = sigma
                sigma = (low + high) / 2.0
            else:
                low = sigma
                sigma = sigma * 2.0 if high == np.inf else (low + high) / 2.0
        # umap-learn's floor: a row of (near) duplicates would otherwise get a sigma
        # of 2^-64 and weights that are 1 or 0 with nothing in between
        if rho > 0.0:
            sigma = max(sigma, MIN_K_DIST_SCALE * np.sum(row) / row_count)
        else:
            sigma = max(sigma, MIN_K_DIST_SCALE * mean_distance)
        sigmas[i] = sigma
        rhos[i] = rho
        for j in range(k):
            d = row[j] - rho
            weights[i, j] = math.exp(-(d / sigma)) if d > 0.0 and sigma > 0.0 else 1.0


@kernel(inline="always")
def _local_distance(row, connectivity, whole, fraction):
    # rho: distance to the connectivity-th neighbour at a non-zero distance,
    # interpolated between neighbours for a fractional connectivity
    k = row.shape[0]
    first = 0
    while first < k and row[first] <= 0.0:
        first += 1
    positive = k - first
    if positive == 0:
        return 0.0
    if positive < connectivity:
        return row[k - 1]
    if whole == 0:
        return fraction * row[first]
    rho = row[first + whole - 1]
    if fraction > SMOOTH_K_TOLERANCE:
        rho += fraction * (row[first + whole] - row[first + whole - 1])
    return rho
