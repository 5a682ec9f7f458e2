"""GaussianMixture: a Gaussian mixture fitted by online (stepwise) EM."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import mixture
from .._core._jit import quiet_inlining
from .._core.data import writeable_alias
from ._base import BaseCluster
from ._problem import MixtureProblem, mixture_parts, nearest, new_mixture_state
from ._problem import seed_plusplus, weighted_log_prob

COVARIANCE_TYPES = {"full": mixture.FULL, "diag": mixture.DIAG,
                    "spherical": mixture.SPHERICAL}
# Lloyd iterations on the initialisation rows after k-means++ seeding.
_INIT_LLOYD = 10


class GaussianMixture(DensityMixin, BaseCluster):
    """Gaussian mixture fitted by stepwise EM over mini-batches, with ``partial_fit``.

    Each mini-batch computes the responsibilities of the components for its rows
    under the current parameters, and moves running averages of the sufficient
    statistics (each component's weight, weighted sum of rows and of their squares)
    towards the batch's by the step ``eta_t = (t + 1) ** -learning_decay`` (``t``
    counts steps over all calls); the parameters are then those statistics' M-step.
    This is online EM (stochastic approximation EM): like batch EM it converges to a
    stationary point of the likelihood, without holding the data, so ``partial_fit``
    can follow a stream.
    ``forgetting_factor < 1`` keeps the step at least ``1 - forgetting_factor``, so
    the model tracks data whose distribution drifts (it remembers about
    ``1 / (1 - forgetting_factor)`` recent batches). Training stops when the mean
    log-likelihood of an epoch has not improved by ``tol`` (relative) for
    ``n_iter_no_change`` epochs, or after ``max_iter`` epochs.

    Covariances stay positive definite: ``reg_covar`` is added to every diagonal,
    and a Cholesky pivot that rounding pushes below ``reg_covar`` is raised to it.
    Parameters are float64 for any input dtype. Dense input only.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "diag", "spherical"}, default="full"
    tol : float or None, default=1e-3
        Gain of the epoch's mean negative log-likelihood that counts as an
        improvement, relative to it once it exceeds 1 (absolute below); None:
        always run ``max_iter`` epochs.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance; also the floor of its Cholesky
        pivots.
    max_iter : int, default=100
        Maximum number of epochs.
    n_init : int, default=1
        Initialisations tried; the one with the highest likelihood on the
        initialisation rows is kept (training runs once).
    init_params : {"k-means++", "random"}, default="k-means++"
        Means from k-means++ seeding followed by Lloyd iterations on the
        initialisation rows, or from random rows; weights and covariances from the
        hard assignment of those rows to the means.
    init_size : int, optional
        Rows used to initialise; default ``max(10 * batch_size, 50 *
        n_components)``, at most the number of rows.
    batch_size : int, default=1024
    learning_decay : float, default=0.6
        ``kappa`` of the step ``(t + 1) ** -kappa``; in (0.5, 1] the online EM
        converges.
    forgetting_factor : float, default=1.0
        At most this share of the running statistics survives a step (1: no
        floor on the step, the statistics average all data seen).
    n_iter_no_change : int, default=2
    random_state : int, RandomState or None, default=None
        Seeds the initialisation and the shuffles. With ``"full"`` covariances the
        statistics are BLAS products, so another BLAS thread count may change the
        last bits (see ``MLPClassifier``'s ``random_state``); the other covariance
        types give bit-identical results for a seed.
    warm_start : bool, default=False
        Continue from the fitted parameters (and statistics) in ``fit``.
    verbose : int, default=0
    callbacks : list of sklearn_train.callbacks.Callback, optional
        ``history_`` rows have ``train_loss``: the epoch's mean negative
        log-likelihood per row.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray
        (n_components, n_features, n_features) for "full", (n_components,
        n_features) for "diag", (n_components,) for "spherical".
    precisions_cholesky_, precisions_ : ndarray
        Same shapes: Cholesky factors of the precisions (upper triangular, as in
        scikit-learn) and the precisions.
    n_iter_, t_, history_, best_epoch_, callbacks_, n_features_in_, \
feature_names_in_
        As in ``KMeans``.

    See Also
    --------
    sklearn.mixture.GaussianMixture : batch EM.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_train import GaussianMixture
    >>> X, y = make_blobs(4000, 3, centers=3, random_state=0)
    >>> gm = GaussianMixture(3, batch_size=256, random_state=0).fit(X)
    >>> gm.means_.shape, gm.covariances_.shape
    ((3, 3), (3, 3, 3))
    >>> bool(abs(gm.weights_.sum() - 1.0) < 1e-12)
    True
    >>> gm.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        **BaseCluster._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "reg_covar": [Interval(Real, 0, None, closed="neither")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"k-means++", "random"})],
        "init_size": [Interval(Integral, 1, None, closed="left"), None],
        "learning_decay": [Interval(Real, 0, 1, closed="right")],
        "forgetting_factor": [Interval(Real, 0, 1, closed="right")],
        "warm_start": ["boolean"],
    }
    _accept_sparse = False

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="k-means++",
        init_size=None,
        batch_size=1024,
        learning_decay=0.6,
        forgetting_factor=1.0,
        n_iter_no_change=2,
        random_state=None,
        warm_start=False,
        verbose=0,
        callbacks=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.init_size = init_size
        self.batch_size = batch_size
        self.learning_decay = learning_decay
        self.forgetting_factor = forgetting_factor
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.callbacks = callbacks

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then the most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def score_samples(self, X):
        """Log-density of each row under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        return logsumexp(self._weighted_log_prob(X), axis=1)

    def score(self, X, y=None):
        """Mean log-density of the rows of ``X`` (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        log_likelihood : float
        """
        return float(self.score_samples(X).mean())

    def predict(self, X):
        """Most likely component of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._weighted_log_prob(X).argmax(axis=1)

    def predict_proba(self, X):
        """Posterior probability of each component for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        log_prob = self._weighted_log_prob(X)
        return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))

    def sample(self, n_samples=1):
        """Draw rows from the fitted mixture (random_state as in ``fit``).

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component of each row (rows are grouped by component).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_ / self.weights_.sum())
        d = self.means_.shape[1]
        parts = []
        for c, (mean, count) in enumerate(zip(self.means_, counts)):
            if self._fitted_type == "full":
                factor = np.linalg.cholesky(self.covariances_[c])
                parts.append(mean + rng.standard_normal((count, d)) @ factor.T)
            else:
                scale = np.sqrt(self.covariances_[c])
                parts.append(mean + rng.standard_normal((count, d)) * scale)
        labels = np.repeat(np.arange(self.n_components), counts)
        return np.vstack(parts), labels

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        n = np.asarray(X).shape[0]
        return -2.0 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        n = np.asarray(X).shape[0]
        return -2.0 * self.score(X) * n + 2.0 * self._n_parameters()

    # -- helpers -------------------------------------------------------------------------

    @property
    def _code(self):
        return COVARIANCE_TYPES[self.covariance_type]

    def _fitted_code(self):
        return COVARIANCE_TYPES[self._fitted_type]

    def _weighted_log_prob(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32], order="C")
        return weighted_log_prob(X, self._predicting_state(), self._fitted_code())

    def _predicting_state(self):
        """The mixture as ``weights_``, ``means_`` and ``precisions_cholesky_`` hold it
        now (scikit-learn's parameters of prediction): edits to them take effect."""
        k, d = self.means_.shape
        chol = np.asarray(self.precisions_cholesky_, dtype=np.float64)
        if self._fitted_type == "full":
            log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        elif self._fitted_type == "diag":
            log_det = np.log(chol).sum(axis=1)
        else:
            log_det = d * np.log(chol)
        return {
            "weights": np.asarray(self.weights_, dtype=np.float64),
            "means": np.ascontiguousarray(self.means_ - self._origin, dtype=np.float64),
            "covariances": np.ascontiguousarray(self.covariances_, dtype=np.float64).ravel(),
            "precisions_cholesky": np.ascontiguousarray(chol.ravel()),
            "log_det": np.ascontiguousarray(log_det, dtype=np.float64),
            "origin": self._origin,
        }

    def _n_parameters(self):
        k, d = self.means_.shape
        covariance = {"full": k * d * (d + 1) / 2, "diag": k * d,
                      "spherical": k}[self._fitted_type]
        return int(covariance + k * d + k - 1)

    def _schedule_power(self):
        return self.learning_decay

    # -- hooks of TrainedEstimator -------------------------------------------------------

    def _initial_state(self, data, init):
        X, sample_weight = data.X, data.sample_weight
        self._check_weights(sample_weight)
        self._check_enough_rows(X, self.n_components, "n_components")
        rng = np.random.RandomState(self._seed)
        k = self.n_components
        size = self.init_size or max(10 * self.batch_size, 50 * k)
        size = min(X.shape[0], max(size, k))
        candidates = np.flatnonzero(sample_weight > 0)  # rows that count
        if candidates.shape[0] < k:
            candidates = np.arange(X.shape[0])
        size = min(size, candidates.shape[0])
        best, best_score = None, -np.inf
        for _ in range(self.n_init):
            rows = np.sort(rng.choice(candidates, size, replace=False))
            state, score = self._initialise(X[rows], sample_weight[rows], rng)
            if best is None or score > best_score:
                best, best_score = state, score
        return best

    def _initialise(self, X, sample_weight, rng):
        """A state from the hard assignment of rows ``X`` to starting means; with the
        mean log-likelihood of those rows under it."""
        k = self.n_components
        if np.count_nonzero(sample_weight) < k:
            sample_weight = np.ones_like(sample_weight)  # too few weighted rows to seed
        # everything from here on is relative to the rows' mean (see _core.mixture)
        origin = np.average(np.asarray(X, dtype=np.float64), axis=0, weights=sample_weight)
        raw, X = X, np.ascontiguousarray(X - origin.astype(X.dtype))
        if self.init_params == "random":
            picked = rng.choice(X.shape[0], k, replace=False,
                                p=sample_weight / sample_weight.sum())
            centers = np.ascontiguousarray(X[np.sort(picked)])
        else:
            centers = seed_plusplus(X, sample_weight, 2 + int(3 * math.log(k)),
                                    rng.randint(np.iinfo(np.int32).max), k)
            for _ in range(_INIT_LLOYD):
                nearest(X, centers, sample_weight, update=True)
        labels = nearest(X, centers, sample_weight)[0]
        resp = np.zeros((X.shape[0], k))
        resp[np.arange(X.shape[0]), labels] = 1.0
        state = new_mixture_state(k, X.shape[1], self._code)
        state["origin"][:] = origin
        self._pooled_start(state, np.var(np.asarray(X, dtype=np.float64), axis=0), centers)
        params, stats = mixture_parts(state)
        with quiet_inlining():
            mixture.statistics(writeable_alias(np.ascontiguousarray(raw)), origin,
                               writeable_alias(sample_weight), resp, self._code, stats)
            mixture.m_step(stats, params, self._code, float(self.reg_covar))
        log_density = logsumexp(weighted_log_prob(raw, state, self._code), axis=1)
        return state, float(np.average(log_density, weights=sample_weight))

    def _pooled_start(self, state, variance, centers):
        """Means at ``centers`` and every covariance the rows' pooled diagonal one
        (``variance``, per feature): what a component keeps when no row is assigned
        to it (duplicate points)."""
        k, d = state["means"].shape
        variance = variance + self.reg_covar
        if self.covariance_type == "spherical":
            variance = np.full(1, variance.mean())
        state["means"][:] = centers
        state["log_det"][:] = -0.5 * np.log(variance).sum() * (d if variance.size == 1
                                                                 else 1)
        if self.covariance_type == "full":
            covariance = np.diag(variance).ravel()
            cholesky = np.diag(1.0 / np.sqrt(variance)).ravel()
        else:
            covariance, cholesky = variance, 1.0 / np.sqrt(variance)
        state["covariances"][:] = np.tile(covariance, k)
        state["precisions_cholesky"][:] = np.tile(cholesky, k)

    def _continue_state(self, data, init):
        X = data.X
        if self._fitted_type != self.covariance_type:
            raise ValueError(
                f"covariance_type changed from {self._fitted_type!r} to "
                f"{self.covariance_type!r}: a warm start or partial_fit continues the "
                "fitted model. Fit a new model instead.")
        if self.means_.shape[1] != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features; the fitted mixture has "
                f"{self.means_.shape[1]}. A warm start continues the fitted model: fit "
                "a new model (warm_start=False) for other features.")
        if self.means_.shape[0] != self.n_components:
            raise ValueError(
                f"n_components changed from {self.means_.shape[0]} to "
                f"{self.n_components}: a warm start or partial_fit continues the fitted "
                "model. Fit a new model instead.")
        return {key: value.copy() for key, value in self._state.items()}

    def _state_dtype(self):
        return None  # float64 parameters whatever the input

    def _make_problem(self, data, state):
        return MixtureProblem(data.X, data.sample_weight, state, self.batch_size,
                              self._code, float(self.reg_covar),
                              float(self.forgetting_factor), self._seed)

    def _fitted_attributes(self, state):
        k, d = state["means"].shape
        chol = state["precisions_cholesky"]
        covariances = state["covariances"]
        if self.covariance_type == "full":
            chol = chol.reshape(k, d, d)
            covariances = covariances.reshape(k, d, d)
            precisions = np.einsum("cij,ckj->cik", chol, chol)
        elif self.covariance_type == "diag":
            chol = chol.reshape(k, d)
            covariances = covariances.reshape(k, d)
            precisions = chol**2
        else:
            precisions = chol**2
        return {
            "weights_": state["weights"].copy(),
            "means_": state["means"] + state["origin"],
            "covariances_": covariances.copy(),
            "precisions_cholesky_": chol.copy(),
            "precisions_": precisions,
            "_fitted_type": self.covariance_type,
            "_origin": state["origin"].copy(),
        }

    def _finish_fit(self, problem, data):
        weights = problem.state["weights"]
        empty = int(np.sum(weights <= 1e-10))
        if empty:
            warnings.warn(
                f"{empty} of {self.n_components} components received (almost) no "
                "weight: X may have fewer distinct points than components. They keep "
                "their starting mean and the data's pooled diagonal covariance.",
                UserWarning,
            )
        if not data.incremental:
            X = problem.X
            constant = np.flatnonzero(np.ptp(X, axis=0) == 0) if X.shape[0] else []
            if len(constant):
                warnings.warn(
                    f"Feature(s) {constant.tolist()} are constant: their variance in "
                    f"every component is the floor reg_covar={self.reg_covar:g}, which "
                    "dominates the likelihood. Drop them, or raise reg_covar.",
                    UserWarning,
                )
        return {}
