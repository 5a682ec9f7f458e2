"""The data-parallel rules of k-means and the Gaussian mixture (see ``_families``).

Both start from a pooled seeding: every partition seeds its own centres (the
estimator's own k-means++ or random seeding over its rows), sends them with the
weight of the rows nearest each, and the client seeds ``k`` centres among those
weighted candidates and settles them by Lloyd iterations. Only centres and weights
travel, never rows. The data's origin (the point the kernels work relative to) is
the global weighted mean, from each partition's weighted sums.

Rounds combine k-means centres by the weight each worker's centre received in the
round, and mixtures by their sufficient statistics followed by one M-step.
"""

import copy

import numpy as np
import scipy.sparse as sp

from .._core import mixture
from .._core._jit import quiet_inlining
from ..cluster._problem import centred, mixture_parts, nearest, new_mixture_state
from ..cluster._problem import new_state, squared_norms

# Lloyd iterations that settle the pooled seeding (the mixture's own start uses 10)
_POOLED_LLOYD = 10


class _ClusteringFamily:
    uses_optimizer = False
    needs_start_pass = True

    def inspect(self, est, X, y, w):
        if sp.issparse(X):
            return {"sparse": True}
        return {"sparse": False,
                "weighted_sum": (w.astype(X.dtype) @ X).astype(np.float64),
                "weighted_squares": float(w @ squared_norms(X)),
                "sum": X.sum(axis=0, dtype=np.float64),
                "squares": np.einsum("ij,ij->j", X, X, dtype=np.float64)}

    def set_globals(self, template, summaries):
        n_rows = sum(summary["n_rows"] for summary in summaries)
        name, k = _groups(template)
        if n_rows < k:  # (the local fit's words)
            raise ValueError(f"n_samples={n_rows} should be >= {name}={k}.")

    def candidates(self, est, data):
        """On a worker: the partition's own seeding, as absolute centres and the
        weight of the rows nearest each (None when it has too few weighted rows)."""
        est = copy.copy(est)
        k = _groups(est)[1]
        if np.count_nonzero(data.sample_weight) < k:
            return None
        state = est._initial_state(data, {})
        centres = self._local_centres(state)
        origin = state["origin"]
        rows = centred(data.X, origin)
        labels = nearest(rows, np.ascontiguousarray(centres - origin, dtype=rows.dtype),
                         data.sample_weight)[0]
        weights = np.bincount(labels, data.sample_weight, minlength=k)
        return centres, weights

    def pooled_centres(self, template, found, origin, dtype):
        """``k`` centres (relative to ``origin``) seeded among the partitions'
        weighted candidates and settled by Lloyd iterations."""
        found = [pair for pair in found if pair is not None]
        if not found:
            raise ValueError(
                "No partition has as many rows with positive sample_weight as "
                "clusters: use fewer partitions or fewer clusters.")
        points = np.vstack([centres for centres, _ in found]) - origin
        points = np.ascontiguousarray(points, dtype=dtype)
        weights = np.concatenate([weights for _, weights in found])
        k = _groups(template)[1]
        rng = np.random.RandomState(template._seed)
        if np.count_nonzero(weights) < k:  # (candidates of empty clusters)
            weights = weights + 1e-12 * max(weights.max(), 1.0)
        centres = _seed(template, points, weights, rng, k)
        for _ in range(_POOLED_LLOYD):
            nearest(points, centres, weights, update=True)
        return centres


def _groups(est):
    """``(parameter name, value)`` of the number of clusters or components."""
    name = "n_clusters" if hasattr(est, "n_clusters") else "n_components"
    return name, getattr(est, name)


def _seed(template, points, weights, rng, k):
    if hasattr(template, "_seed_centers"):  # KMeans: its own seeding (k-means++/random)
        return template._seed_centers(points, weights, rng)
    from ..cluster._problem import seed_plusplus

    return seed_plusplus(points, weights, 2 + int(3 * np.log(k)),
                         rng.randint(np.iinfo(np.int32).max), k)


def global_origin(summaries, n_features):
    """The weighted mean of all rows and the weighted spread about it (None for
    sparse data)."""
    if any(summary["sparse"] for summary in summaries):
        return None, None
    total = sum(summary["weight"] for summary in summaries)
    mean = sum(summary["weighted_sum"] for summary in summaries) / total
    spread = sum(summary["weighted_squares"] for summary in summaries) / total - mean @ mean
    return mean, spread


class KMeansFamily(_ClusteringFamily):
    """k-means: centres combined by the weight each worker's centre received."""

    def _local_centres(self, state):
        return state["centers"].astype(np.float64) + state["origin"]

    def start(self, template, summaries, found, dtype):
        n_features = template.n_features_in_
        mean, spread = global_origin(summaries, n_features)
        # the local rule (cluster._problem.data_origin): work relative to the mean
        # when it lies farther from 0 than the rows spread around it
        origin = np.zeros(n_features)
        if mean is not None and mean @ mean > spread:
            origin = mean
        if not isinstance(template.init, str):
            centres = np.array(template.init, dtype=dtype, order="C", copy=True)
            if centres.shape != (template.n_clusters, n_features):
                raise ValueError(
                    f"init has shape {centres.shape}; expected (n_clusters, n_features)"
                    f" = ({template.n_clusters}, {n_features}).")
            return new_state(centres - origin.astype(dtype), origin)
        return new_state(self.pooled_centres(template, found, origin, dtype), origin)

    def merge(self, problem, states, shares, before, aggregate):
        """Each centre moves to the weighted mean of what it was before the round and
        the rows the workers gave it: every worker's centre is the running mean of
        its own rows and the centre before (counts ``N0`` before, ``N_i`` after), so
        its rows' sum is ``N_i c_i - N0 c0``. A centre a worker reassigned (its
        count fell) is taken from the first such worker."""
        centres, counts = problem.state["centers"], problem.state["counts"]
        c0 = before["centers"].astype(np.float64)
        n0 = before["counts"]
        total = n0 * c0.T
        weight = n0.copy()
        for state in states:
            gained = np.maximum(state["counts"] - n0, 0.0)
            total += (state["counts"] * state["centers"].T.astype(np.float64)
                      - n0 * c0.T) * (gained > 0)
            weight += gained
        moved = weight > 0
        merged = np.where(moved, total / np.where(moved, weight, 1.0), c0.T).T
        for state in reversed(states):  # the first reassigning worker wins
            reset = state["counts"] < n0
            merged[reset] = state["centers"][reset]
            weight[reset] = state["counts"][reset]
        centres[...] = merged.astype(centres.dtype)
        counts[...] = weight
        problem.state["counters"][...] = sum(share * state["counters"] for share, state
                                             in zip(shares, states))


class MixtureFamily(_ClusteringFamily):
    """Gaussian mixtures: the weighted mean of the workers' sufficient statistics,
    then one M-step."""

    def _local_centres(self, state):
        return state["means"] + state["origin"]

    def start(self, template, summaries, found, dtype):
        """The pooled seeding's means; statistics of the rows' hard assignment to
        them come from the workers (``start_statistics``), then ``finish_start``."""
        n_features = template.n_features_in_
        mean, _ = global_origin(summaries, n_features)
        origin = np.zeros(n_features) if mean is None else mean
        return self.pooled_centres(template, found, origin, dtype), origin

    def finish_start(self, template, centres, origin, summaries, statistics, shares):
        k, d = centres.shape
        state = new_mixture_state(k, d, template._code)
        state["origin"][:] = origin
        n_rows = sum(summary["n_rows"] for summary in summaries)
        mean = sum(summary["sum"] for summary in summaries) / n_rows
        variance = sum(summary["squares"] for summary in summaries) / n_rows - mean**2
        template._pooled_start(state, np.maximum(variance, 0.0), centres)
        params, stats = mixture_parts(state)
        for target, parts in zip(stats, zip(*statistics)):
            target[...] = sum(share * part for share, part in zip(shares, parts))
        with quiet_inlining():
            mixture.m_step(stats, params, template._code, float(template.reg_covar))
        return state

    def merge(self, problem, states, shares, before, aggregate):
        problem.merge(states, shares)
        params, stats = mixture_parts(problem.state)
        with quiet_inlining():
            mixture.m_step(stats, params, problem.ints[1], float(problem.floats[0]))


def start_statistics(est, data, centres, origin):
    """On a worker: the mixture statistics of its rows' hard assignment to
    ``centres`` (relative to ``origin``), normalised by the partition's weight."""
    rows = np.ascontiguousarray(data.X - origin.astype(data.X.dtype))
    labels = nearest(rows, np.ascontiguousarray(centres, dtype=rows.dtype),
                     data.sample_weight)[0]
    k, d = centres.shape
    resp = np.zeros((rows.shape[0], k))
    resp[np.arange(rows.shape[0]), labels] = 1.0
    state = new_mixture_state(k, d, est._code)
    _, stats = mixture_parts(state)
    with quiet_inlining():
        mixture.statistics(np.ascontiguousarray(data.X), origin, data.sample_weight,
                           resp, est._code, stats)
    return stats
