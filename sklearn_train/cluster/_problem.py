"""k-means and Gaussian mixtures as training problems for the shared driver.

A k-means state is ``{"centers", "counts", "counters"}``: the centres (X's dtype),
the weight each centre has received so far (its step size is the batch's weight
over that), and the number of mini-batch steps taken. A mixture's state holds its
parameters (``PARAMS``, float64), the running sufficient statistics of stepwise EM
(``STATS``) and its counters; ``_core.mixture`` describes them.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import row_norms

from .._core import cluster, mixture
from .._core._jit import quiet_inlining
from .._core.data import as_kernel_matrix, writeable_alias
from .._problems import RowProblem
from .._training import DivergenceError


def new_state(centers, origin):
    """A k-means state; ``centers`` are relative to ``origin`` (see ``centred``)."""
    return {
        "centers": np.ascontiguousarray(centers),
        "counts": np.zeros(centers.shape[0]),
        "counters": np.zeros(1),
        "origin": np.asarray(origin, dtype=np.float64),
    }


def data_origin(X, sample_weight):
    """The point k-means works relative to: the weighted mean of dense rows when it
    lies farther from 0 than the rows spread around it (digits would be lost), else
    0 (no copy of X). CSR rows, sparse by nature, stay as they are."""
    origin = np.zeros(X.shape[1])
    if sp.issparse(X):
        return origin
    total = sample_weight.sum()
    # one BLAS pass in X's dtype (any origin near the mean will do)
    mean = (sample_weight.astype(X.dtype) @ X).astype(np.float64) / total
    spread = sample_weight @ squared_norms(X) / total - mean @ mean
    return mean if mean @ mean > spread else origin


def centred(X, origin):
    """``X - origin`` (a copy in X's dtype), or X itself when the origin is 0.

    Distances are expanded as ``|x|^2 - 2 x.c + |c|^2``, which cancels for data far
    from 0 (in float32 already at an offset of about 1e3); scikit-learn's KMeans
    centres a copy of X for the same reason.
    """
    if sp.issparse(X) or not np.any(origin):
        return X
    return np.ascontiguousarray(X - origin.astype(X.dtype))


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


class KMeansProblem(RowProblem):
    """One call's data bound to a k-means state (see ``_training``)."""

    divergence_advice = "Scale the features (for example with StandardScaler)."
    parameter_keys = ("centers",)

    def __init__(self, X, sample_weight, state, batch_size, reassignment_ratio, seed):
        super().__init__(X.shape[0], batch_size, seed)
        self.X = as_kernel_matrix(X)
        self.x_squared = squared_norms(X)
        self.sample_weight = sample_weight
        self.state = state
        self.ints = np.zeros(cluster.N_INTS, dtype=np.int64)
        self.ints[cluster.I_BATCH_SIZE] = self.batch_size
        self.floats = np.array([reassignment_ratio], dtype=np.float64)

    def steps_done(self):
        return int(self.state["counters"][0])

    def full_pass(self, update=False):
        """``nearest`` over this call's rows (labels, distances, inertia)."""
        return nearest(self.X, self.state["centers"], self.sample_weight, update,
                       self.x_squared)

    def run_rows(self, plan):
        s = self.state
        # a fresh stream of draws (reassignment) every epoch
        self.ints[cluster.I_SEED] = (self.seed * 1_000_003 + self.steps_done()) % 2**62
        with quiet_inlining():
            inertia, weight, moved = cluster.kmeans_epoch(
                (self.X, self.sample_weight, self.x_squared), plan,
                (s["centers"], s["counts"]), self.ints, self.floats)
        # the steps of this plan (a round of a data-parallel fit runs part of an epoch)
        s["counters"][0] += -(-plan[0].shape[0] // self.batch_size)
        if not (np.isfinite(inertia) and np.isfinite(s["centers"]).all()):
            raise DivergenceError("the centres or the inertia became infinite or NaN "
                                  "(are the values of X very large?).")
        return {"train_loss": inertia / weight if weight > 0 else 0.0,
                "reassigned": int(moved)}

    def validate(self):
        return {}

    def snapshot(self):
        # the counts too: restored centres go on at the step sizes they had then
        return {key: self.state[key].copy() for key in ("centers", "counts")}


PARAMS = ("weights", "means", "covariances", "precisions_cholesky", "log_det")
STATS = ("stat_n", "stat_x", "stat_xx")


def new_mixture_state(n_components, n_features, code):
    size = mixture.block_size(code, n_features)
    k, d = n_components, n_features
    return {
        "weights": np.full(k, 1.0 / k), "means": np.zeros((k, d)),
        "covariances": np.zeros(k * size), "precisions_cholesky": np.zeros(k * size),
        "log_det": np.zeros(k),
        "stat_n": np.zeros(k), "stat_x": np.zeros((k, d)), "stat_xx": np.zeros(k * size),
        "counters": np.zeros(2),  # steps taken, Cholesky pivots raised to the floor
        "origin": np.zeros(d),  # rows enter the kernels minus this; means relative to it
    }


def mixture_parts(state):
    return tuple(state[key] for key in PARAMS), tuple(state[key] for key in STATS)


def weighted_log_prob(X, state, code):
    """``log weight_c + log N(x | c)`` of every row and component."""
    # (a model loaded read-only: the kernel only reads its parameters)
    params = tuple(writeable_alias(state[key]) for key in PARAMS)
    out = np.empty((X.shape[0], params[0].shape[0]))
    if X.shape[0]:
        with quiet_inlining():
            mixture.weighted_log_prob(as_kernel_matrix(np.ascontiguousarray(X)),
                                      writeable_alias(state["origin"]), params, code, out)
    return out


class MixtureProblem(RowProblem):
    """One call's data bound to a Gaussian mixture's state (see ``_training``)."""

    divergence_advice = ("Scale the features (for example with StandardScaler), or "
                         "raise reg_covar.")
    parameter_keys = PARAMS

    def __init__(self, X, sample_weight, state, batch_size, code, reg_covar,
                 forgetting_factor, seed):
        super().__init__(X.shape[0], batch_size, seed)
        self.X = writeable_alias(np.ascontiguousarray(X))
        self.sample_weight = writeable_alias(sample_weight)
        self.state = state
        self.ints = np.array([self.batch_size, code], dtype=np.int64)
        self.floats = np.array([reg_covar, 1.0 - forgetting_factor])

    def steps_done(self):
        return int(self.state["counters"][0])

    def run_rows(self, plan):
        params, stats = mixture_parts(self.state)
        with quiet_inlining():
            loss, weight, status = mixture.gmm_epoch(
                (self.X, self.state["origin"], self.sample_weight), plan, params, stats,
                self.state["counters"], self.ints, self.floats)
        if status != mixture.OK or not all(np.isfinite(p).all() for p in params):
            raise DivergenceError("the log-likelihood or the parameters became "
                                  "infinite or NaN.")
        return {"train_loss": loss / weight if weight > 0 else 0.0}

    def validate(self):
        return {}

    def snapshot(self):
        # the running statistics too: training goes on from the restored epoch
        return {key: self.state[key].copy() for key in PARAMS + STATS}
