"""KMeans: mini-batch k-means on the shared driver."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseCluster
from ._problem import KMeansProblem, centred, data_origin, nearest, new_state
from ._problem import seed_plusplus


_TRIALS_PER_LOG = 3


class KMeans(ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, BaseCluster):
    """k-means clustering by mini-batch gradient steps, with ``partial_fit``.

    Each epoch visits the rows in a new random order, by mini-batches: every row
    goes to its nearest centre, then each centre moves towards the weighted mean of
    its new rows by the step ``w_batch / w_seen`` (the weight it received in this
    batch over all it has received), a gradient step on the inertia whose size
    shrinks as the centre settles. Training stops when the epoch's mean inertia
    has not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs, or after
    ``max_iter`` epochs. ``fit`` then optionally runs ``refine`` full-data Lloyd
    iterations (each centre to the mean of its rows) and labels every row.
    ``partial_fit`` runs one epoch over a chunk, so a stream can be clustered chunk by
    chunk.

    Centres that go starved (they received less than ``reassignment_ratio`` times
    the weight of the busiest centre) are moved, at the end of an epoch, to rows of
    the last mini-batch drawn with probability proportional to their squared
    distance to their centre.

    Dense and CSR input, float32 (kept in float32) and float64; CSR rows are never
    densified. Dense data whose mean lies farther from 0 than its rows spread around
    it is clustered as a centred copy (distances expanded as ``|x|^2 - 2 x.c +
    |c|^2`` would otherwise lose their digits).

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), \
default="k-means++"
        "k-means++": greedy k-means++ seeding (``2 + 3 log(n_clusters)`` candidates
        per centre; the usual ``2 + log`` fell into local minima in half the seeds of
        the benchmark) on ``init_size`` rows drawn at random among those with
        weight; "random": ``n_clusters`` of those rows drawn by weight; an array:
        those centres.
    n_init : int or "auto", default="auto"
        Seedings tried; the one with the lowest inertia on the seeding rows is kept
        (training runs once). "auto": 1 for "k-means++", 3 for "random".
    init_size : int, optional
        Rows used for seeding; default ``max(3 * batch_size, 3 * n_clusters)``, at
        most the number of rows.
    batch_size : int, default=1024
    max_iter : int, default=100
        Maximum number of epochs.
    tol : float or None, default=1e-3
        Relative gain of the epoch's mean inertia that counts as an improvement;
        None: always run ``max_iter`` epochs.
    n_iter_no_change : int, default=1
        Epochs without improvement before training stops. The mean inertia of a
        whole epoch falls smoothly, so one epoch without gain means convergence
        (the ``refine`` passes then settle the centres exactly).
    reassignment_ratio : float in [0, 1], default=0.01
        Centres with less than this fraction of the busiest centre's weight are
        moved; 0 turns reassignment off.
    refine : int, default=0
        Full-data Lloyd iterations at the end of ``fit`` (each costs one pass over
        the data, as an epoch does; on well-separated data the mini-batch centres
        are already at the Lloyd optimum).
    random_state : int, RandomState or None, default=None
    verbose : int, default=0
        1 or more: a progress bar over epochs (tqdm).
    callbacks : list of sklearn_train.callbacks.Callback, optional
        Called around every epoch (``history_`` rows have ``train_loss``, the mean
        inertia of the epoch).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row (``fit`` only).
    inertia_ : float
        Weighted sum of squared distances of the training rows to their centres
        (``fit`` only).
    n_iter_ : int
        Epochs run by the last call.
    t_ : int
        Mini-batch steps taken, all calls.
    history_ : list of dict
        One row per epoch: ``epoch``, ``train_loss``, ``learning_rate`` (unused, 1),
        ``seconds``, ``best``.
    best_epoch_, callbacks_, n_features_in_, feature_names_in_
        As in ``LinearClassifier``.

    See Also
    --------
    sklearn.cluster.MiniBatchKMeans, sklearn.cluster.KMeans

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.metrics import adjusted_rand_score
    >>> from sklearn_train import KMeans
    >>> X, y = make_blobs(3000, 5, centers=4, random_state=0)
    >>> km = KMeans(n_clusters=4, batch_size=256, random_state=0).fit(X)
    >>> km.cluster_centers_.shape
    (4, 5)
    >>> round(adjusted_rand_score(y, km.labels_), 3)
    1.0
    >>> km.transform(X[:2]).shape
    (2, 4)
    """

    _relative_tol = True  # the inertia scales with the data: tol is scale-free
    # k-means cannot diverge on finite data: a reassignment may raise the inertia
    _check_growth = False

    _parameter_constraints = {
        **BaseCluster._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "reassignment_ratio": [Interval(Real, 0, 1, closed="both")],
        "refine": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        init_size=None,
        batch_size=1024,
        max_iter=100,
        tol=1e-3,
        n_iter_no_change=1,
        reassignment_ratio=0.01,
        refine=0,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.init_size = init_size
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.reassignment_ratio = reassignment_ratio
        self.refine = refine
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def predict(self, X):
        """Index of the nearest centre of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        X = self._check_input(X)
        return nearest(*self._relative(X))[0]

    def transform(self, X):
        """Euclidean distance of each row to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        X = self._check_input(X)
        return euclidean_distances(*self._relative(X))

    def score(self, X, y=None, sample_weight=None):
        """Minus the weighted inertia of ``X`` (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        score : float
        """
        X = self._check_input(X)
        weights = None
        if sample_weight is not None:
            weights = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64))
            if weights.shape != (X.shape[0],):
                raise ValueError(f"sample_weight has shape {weights.shape}; expected "
                                 f"({X.shape[0]},).")
        return -nearest(*self._relative(X), weights)[2]

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    # -- helpers -------------------------------------------------------------------------

    def _check_input(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse="csr",
                             dtype=[np.float64, np.float32], order="C")

    def _relative(self, X):
        """``X`` and a copy of ``cluster_centers_`` (edits to it take effect), both
        relative to the model's origin and in X's dtype (the distance kernel works in
        one precision, and writes to its centres when it updates them)."""
        origin = self._state["origin"]
        centers = np.array(self.cluster_centers_ - origin, dtype=X.dtype, order="C")
        return centred(X, origin), centers

    # -- hooks of TrainedEstimator -------------------------------------------------------

    def _initial_state(self, data, init):
        X, sample_weight = data.X, data.sample_weight
        self._check_weights(sample_weight)
        rng = np.random.RandomState(self._seed)
        self._check_enough_rows(X, self.n_clusters, "n_clusters")
        origin = data_origin(X, sample_weight)
        if not isinstance(self.init, str):
            centers = np.array(self.init, dtype=X.dtype, order="C", copy=True)
            if centers.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(
                    f"init has shape {centers.shape}; expected (n_clusters, n_features) "
                    f"= ({self.n_clusters}, {X.shape[1]}).")
            if not np.isfinite(centers).all():
                raise ValueError("init contains NaN or infinity.")
            return new_state(centers - origin.astype(X.dtype), origin)
        n_positive = int(np.count_nonzero(sample_weight))
        if n_positive < self.n_clusters:
            raise ValueError(f"Only {n_positive} rows have a positive sample_weight; "
                             f"n_clusters={self.n_clusters} needs at least as many.")
        size = self.init_size or max(3 * self.batch_size, 3 * self.n_clusters)
        n_init = self.n_init
        if n_init == "auto":
            n_init = 1 if self.init == "k-means++" else 3
        best, best_inertia = None, np.inf
        # seed from rows that count: a sample of zero-weight rows seeds nothing
        candidates = np.flatnonzero(sample_weight > 0)
        size = min(max(size, self.n_clusters), candidates.shape[0])
        for _ in range(n_init):
            rows = np.sort(rng.choice(candidates, size, replace=False))
            sample, weights = centred(X[rows], origin), sample_weight[rows]
            centers = self._seed_centers(sample, weights, rng)
            inertia = nearest(sample, centers, weights)[2]
            if inertia < best_inertia or best is None:
                best, best_inertia = centers, inertia
        return new_state(best, origin)

    def _seed_centers(self, X, sample_weight, rng):
        """Starting centres drawn from the (seeding) rows ``X``, all with weight."""
        k = self.n_clusters
        if self.init == "random":
            picked = rng.choice(X.shape[0], k, replace=False,
                                p=sample_weight / sample_weight.sum())
            dense = X[np.sort(picked)]
            dense = dense.toarray() if hasattr(dense, "toarray") else dense
            return np.ascontiguousarray(dense, dtype=X.dtype)
        n_trials = 2 + int(_TRIALS_PER_LOG * math.log(k))
        return seed_plusplus(X, sample_weight, n_trials,
                             rng.randint(np.iinfo(np.int32).max), k)

    def _continue_state(self, data, init):
        if self._state["centers"].shape[0] != self.n_clusters:
            raise ValueError(
                f"n_clusters changed from {self._state['centers'].shape[0]} to "
                f"{self.n_clusters}: partial_fit continues the fitted model. Fit a new "
                "model instead.")
        state = {key: value.copy() for key, value in self._state.items()}
        state["centers"][...] = self.cluster_centers_ - state["origin"]  # with any edits
        return state

    def _state_dtype(self):
        return self._state["centers"].dtype

    def _make_problem(self, data, state):
        return KMeansProblem(centred(data.X, state["origin"]), data.sample_weight, state,
                             self.batch_size, self.reassignment_ratio, self._seed)

    def _fitted_attributes(self, state):
        centers = state["centers"]
        return {"cluster_centers_": (centers + state["origin"]).astype(centers.dtype)}

    def _finish_fit(self, problem, data):
        if data.incremental:
            return {}
        for _ in range(self.refine):
            problem.full_pass(update=True)
        labels, _, inertia = problem.full_pass()
        centers = problem.state["centers"]
        n_distinct = np.unique(centers, axis=0).shape[0]
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}): X has fewer distinct points (with "
                "positive weight) than clusters; some centres coincide.",
                ConvergenceWarning,
            )
        return {"labels_": labels, "inertia_": inertia}
