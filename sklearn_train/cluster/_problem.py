"""k-means as a training problem for the shared driver.

The state is ``{"centers", "counts", "counters"}``: the centres (X's dtype), the
weight each centre has received so far (its step size is the batch's weight over
that), and the number of mini-batch steps taken.
"""

import numpy as np
from sklearn.utils.extmath import row_norms

from .._core import cluster
from .._core._jit import quiet_inlining
from .._core.data import as_kernel_matrix
from .._training import DivergenceError, StateProblem


def new_state(centers):
    return {
        "centers": np.ascontiguousarray(centers),
        "counts": np.zeros(centers.shape[0]),
        "counters": np.zeros(1),
    }


def squared_norms(X):
    """Squared row norms as the kernels take them (float64)."""
    return row_norms(X, squared=True).astype(np.float64, copy=False)


def nearest(X, centers, sample_weight=None, update=False, x_squared=None):
    """``(labels, squared distances, weighted inertia)`` of the rows of ``X`` (a
    matrix, or a kernel matrix with its ``x_squared``); ``update`` makes it a Lloyd
    iteration (``centers`` move in place)."""
    if x_squared is None:
        x_squared = squared_norms(X)
        X = as_kernel_matrix(X)
    n = x_squared.shape[0]
    weights = np.ones(n) if sample_weight is None else sample_weight
    labels = np.empty(n, dtype=np.int64)
    distances = np.empty(n)
    with quiet_inlining():
        inertia = cluster.full_pass(X, weights, x_squared, centers, labels, distances,
                                    update)
    return labels, distances, float(inertia)


def seed_plusplus(X, sample_weight, n_trials, seed, n_clusters):
    """k-means++ centres drawn from the rows of ``X`` (see ``kmeans_plusplus``)."""
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)
    with quiet_inlining():
        cluster.kmeans_plusplus(as_kernel_matrix(X), squared_norms(X),
                                np.ascontiguousarray(sample_weight), n_trials,
                                np.uint64(seed), centers)
    return centers


class KMeansProblem(StateProblem):
    """One call's data bound to a k-means state (see ``_training``)."""

    def __init__(self, X, sample_weight, state, batch_size, reassignment_ratio, seed):
        self.X = as_kernel_matrix(X)
        self.x_squared = squared_norms(X)
        self.sample_weight = sample_weight
        self.state = state
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.ints = np.zeros(cluster.N_INTS, dtype=np.int64)
        self.ints[cluster.I_BATCH_SIZE] = self.batch_size
        self.floats = np.array([reassignment_ratio], dtype=np.float64)
        self.n_samples = X.shape[0]
        self.reassigned = 0

    def n_steps(self, n_rows):
        return -(-n_rows // self.batch_size)

    def steps_done(self):
        return int(self.state["counters"][0])

    def full_pass(self, update=False):
        """``nearest`` over this call's rows (labels, distances, inertia)."""
        return nearest(self.X, self.state["centers"], self.sample_weight, update,
                       self.x_squared)

    def run_epoch(self, order, rates):
        s = self.state
        # a fresh stream of draws (reassignment) every epoch
        self.ints[cluster.I_SEED] = (self.seed * 1_000_003 + self.steps_done()) % 2**62
        with quiet_inlining():
            inertia, weight, moved = cluster.kmeans_epoch(
                self.X, self.sample_weight, self.x_squared, order, s["centers"],
                s["counts"], self.ints, self.floats)
        s["counters"][0] += self.n_steps(order.shape[0])
        self.reassigned += int(moved)
        if not (np.isfinite(inertia) and np.isfinite(s["centers"]).all()):
            raise DivergenceError("the centres or the inertia became infinite or NaN "
                                  "(are the values of X very large?).")
        return inertia / weight if weight > 0 else 0.0

    def validate(self):
        return {}

    def snapshot(self):
        return self.state["centers"].copy()

    def restore(self, snapshot):
        self.state["centers"][:] = snapshot
