"""What every bandit policy shares: the log's checks, the pmf, sampling, the score.

A policy answers two questions about a context: what each action is worth
(``decision_function``) and with which probability to take it (``predict_proba``: the
exploration distribution, which it also uses to sample in ``sample_action``). The
greedy action (``predict``) is the best estimate. Subclasses provide ``_pmf_rows`` and
``decision_function``; learning is theirs.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import bandit as kernels
from .._estimator import check_params_once


class BasePolicy(BaseEstimator):
    """Base class of the policies (not public).

    Fitted attributes every policy sets: ``actions_`` (the action labels, sorted),
    ``n_features_in_`` and ``seed_`` (the 64-bit seed of its random streams).
    """

    _parameter_constraints = {
        "min_probability": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = False
        return tags

    def _check_params(self):
        """Parameter validation on every call, skipped when no parameter changed
        (a stream of one-row calls would spend 0.3 ms a call on it)."""
        check_params_once(self)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_checked_params", None)
        state.pop("_settings_cache", None)
        state.pop("_integer_actions_cache", None)
        return state

    # -- what a subclass provides -------------------------------------------------

    def decision_function(self, X):
        """Estimated reward of every action for each context, ``(n, n_actions)``."""
        raise NotImplementedError

    def _pmf_rows(self, X, available):
        """The exploration distribution of the validated rows ``X``."""
        raise NotImplementedError

    def _sample_own_stream(self, X, available_actions):
        """``sample_action(X, available_actions)`` from the policy's own stream in
        one step, or None to sample from ``predict_proba``."""
        return None

    # -- the public questions -----------------------------------------------------

    def predict(self, X, available_actions=None):
        """The greedy action of each context: the largest estimated reward among the
        available actions (the first of equal ones). Deterministic.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Contexts.
        available_actions : array-like of bool, shape (n_samples, n_actions), \
default=None
            Which actions each row may take (columns in ``actions_`` order); all
            by default.

        Returns
        -------
        actions : ndarray of shape (n_samples,)
            Labels from ``actions_``.
        """
        scores = self.decision_function(X)
        available = self._available(available_actions, scores.shape[0])
        return self.actions_[np.argmax(np.where(available, scores, -np.inf), axis=1)]

    def predict_proba(self, X, available_actions=None):
        """The exploration distribution: the probability of each action per context.

        Rows sum to 1, columns follow ``actions_``, unavailable actions get 0 and
        the others at least ``min_probability``. ``sample_action`` draws from
        exactly this distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Contexts.
        available_actions : array-like of bool, shape (n_samples, n_actions), \
default=None
            Which actions each row may take; all by default.

        Returns
        -------
        pmf : ndarray of shape (n_samples, n_actions)
        """
        self._check_exploration()
        X = self._check_contexts(X)
        return self._pmf_rows(X, self._available(available_actions, X.shape[0]))

    def sample_action(self, X, available_actions=None, random_state=None):
        """Draw an action for each context and return it with its probability.

        Log both: the probability is the policy's at decision time, which off-policy
        evaluation and learning need.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Contexts.
        available_actions : array-like of bool, shape (n_samples, n_actions), \
default=None
            Which actions each row may take; all by default.
        random_state : int, RandomState instance or None, default=None
            None draws from the policy's own stream (seeded by ``random_state`` at
            the first ``fit`` / ``partial_fit``; each call moves it on, so repeated
            calls give new draws and a refit replays them); anything else draws
            from that generator and leaves the policy's stream alone.

        Returns
        -------
        actions : ndarray of shape (n_samples,)
            Labels from ``actions_``.
        probabilities : ndarray of shape (n_samples,)
            The probability with which each action was drawn.
        """
        self._check_exploration()
        if random_state is None:
            fast = self._sample_own_stream(X, available_actions)
            if fast is not None:
                return fast
        pmf = self.predict_proba(X, available_actions)
        uniforms = np.empty(pmf.shape[0])
        if random_state is None:
            kernels.stream_uniforms(kernels.stream_seed(self.seed_, "sample"),
                                    self.counters_[kernels.C_DRAWS], uniforms)
            self.counters_[kernels.C_DRAWS] += pmf.shape[0]
        else:
            uniforms[:] = check_random_state(random_state).random_sample(pmf.shape[0])
        chosen = np.empty(pmf.shape[0], dtype=np.int64)
        kernels.sample_rows(pmf, uniforms, chosen)
        return self.actions_[chosen], pmf[np.arange(pmf.shape[0]), chosen]

    def score(self, X, y, *, rewards, probabilities):
        """Off-policy value of the greedy policy on a held-out log (SNIPS).

        The self-normalised importance-sampling estimate: the rewards of the rows
        where the logged action is the greedy one, weighted by one over their
        logging probability. Larger is better, as ``GridSearchCV`` expects.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Logged contexts.
        y : array-like of shape (n_samples,)
            Logged actions.
        rewards : array-like of shape (n_samples,)
            Their rewards.
        probabilities : array-like of shape (n_samples,)
            The logging policy's probability of each logged action, in (0, 1].

        Returns
        -------
        value : float
        """
        check_is_fitted(self)
        X, index, rewards, probabilities = self._check_log(
            X, y, rewards, probabilities, reset=False, require_probabilities=True)
        greedy = np.searchsorted(self.actions_, self.predict(X))
        weights = (greedy == index) / probabilities
        if weights.sum() == 0:
            raise ValueError("no logged action is the greedy one: the log says nothing "
                             "about this policy's value (SNIPS is undefined).")
        return float(weights @ rewards / weights.sum())

    # -- checks ---------------------------------------------------------------------

    def _check_contexts(self, X):
        if not hasattr(self, "actions_"):
            check_is_fitted(self)
        if self._plain_rows(X) and kernels.all_finite(X):
            return X  # (scikit-learn's checks: 0.3 ms of a one-row call)
        return validate_data(self, X, reset=False, dtype=np.float64, order="C",
                             ensure_min_samples=0)

    def _available(self, available_actions, n_rows):
        n_actions = len(self.actions_)
        if available_actions is None:
            if n_rows != 1:
                return np.ones((n_rows, n_actions), dtype=bool)
            # a stream's one-row mask, shared (no kernel writes a mask)
            mask = _ONE_ROW_OPEN.get(n_actions)
            if mask is None:
                mask = _ONE_ROW_OPEN[n_actions] = np.ones((1, n_actions), dtype=bool)
            return mask
        mask = np.asarray(available_actions)
        if mask.dtype != bool:
            raise ValueError("available_actions must be a boolean array (True: the "
                             f"action may be taken), got dtype {mask.dtype}.")
        if mask.shape != (n_rows, n_actions):
            raise ValueError(f"available_actions has shape {mask.shape}; expected "
                             f"({n_rows}, {n_actions}): one row per context, one column "
                             "per action in actions_ order.")
        closed = np.flatnonzero(~mask.any(axis=1))
        if closed.size:
            raise ValueError(f"available_actions leaves no action for rows "
                             f"{closed[:5].tolist()}: every row needs at least one.")
        return np.ascontiguousarray(mask)

    def _declare_actions(self, y, actions):
        """The sorted action set: declared, or the logged actions of a first call."""
        if y is None and actions is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                             "target y is None: y are the logged actions.")
        labels = np.unique(np.asarray(y if actions is None else actions))
        if actions is not None and len(labels) != len(np.asarray(actions)):
            raise ValueError("actions has repeated labels.")
        if len(labels) < 2:
            raise ValueError(
                f"a bandit needs at least 2 actions; got {len(labels)} "
                f"({labels.tolist()}; y, the logged actions, has {len(labels)} class"
                f"{'' if len(labels) == 1 else 'es'}). Declare the full set with "
                "actions=... on the first call if the log shows only some of them.")
        self._check_floor(len(labels))
        return labels

    def _check_floor(self, n_actions):
        if self.min_probability * n_actions > 1.0:
            raise ValueError(
                f"min_probability={self.min_probability} for {n_actions} actions "
                f"asks for more than probability 1 in total; use at most "
                f"{1.0 / n_actions:.4g}.")

    def _check_exploration(self):
        """The parameters' checks before a pmf is computed: they may have been set
        since the last fit (a negative alpha or an impossible floor would give a
        wrong distribution, not an error)."""
        if not hasattr(self, "actions_"):
            check_is_fitted(self)
        self._check_params()
        self._check_floor(len(self.actions_))

    def _plain_rows(self, X):
        """Whether ``X`` is a C-contiguous float64 matrix of the fitted width, for a
        policy that saw no feature names (its values are checked apart)."""
        return (type(X) is np.ndarray and X.dtype == np.float64 and X.ndim == 2
                and X.flags.c_contiguous and X.shape[0] > 0
                and X.shape[1] == self.n_features_in_
                and not hasattr(self, "feature_names_in_"))

    def _plain_log(self, X, y, rewards, probabilities):
        """The checked log at once when it is plain NumPy of the right kinds and
        values (a stream's one-row call: scikit-learn's checks took 0.4 ms of it);
        None sends it through the full checks and their messages."""
        if not (self._plain_rows(X) and type(y) is np.ndarray and y.shape == (X.shape[0],)
                and _plain_vector(rewards, X.shape[0])
                and (probabilities is None or _plain_vector(probabilities, X.shape[0]))):
            return None
        given = _NO_PROBABILITIES if probabilities is None else probabilities
        if not kernels.plain_log(X, rewards, given):
            return None
        if y.dtype == np.int64 and self._integer_actions():
            # actions 0 .. K-1: the labels are their own indices
            return (X, y, rewards, probabilities) if kernels.integer_actions(
                y, len(self.actions_)) else None
        index = np.searchsorted(self.actions_, y)
        if not (index.max() < len(self.actions_) and (self.actions_[index] == y).all()):
            return None
        return X, index, rewards, probabilities

    def _integer_actions(self):
        """Whether ``actions_`` are the integers ``0 .. K-1`` (kept with the array
        it was computed for, so a refit with other actions recomputes it)."""
        cached = self.__dict__.get("_integer_actions_cache")
        if cached is None or cached[0] is not self.actions_:
            labels = self.actions_
            flag = labels.dtype == np.int64 and np.array_equal(labels,
                                                               np.arange(len(labels)))
            cached = self.__dict__["_integer_actions_cache"] = (labels, flag)
        return cached[1]

    def _check_log(self, X, y, rewards, probabilities, *, reset, actions=None,
                   require_probabilities=False):
        """Validated ``(X, action indices, rewards, probabilities)`` of a log."""
        if not reset and not (require_probabilities and probabilities is None):
            fast = self._plain_log(X, y, rewards, probabilities)
            if fast is not None:
                return fast
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64, order="C",
                             ensure_min_samples=1, y_numeric=False)
        n = X.shape[0]
        known = self.actions_ if actions is None else actions
        y = np.asarray(y)
        index = np.searchsorted(known, y)
        index[index >= len(known)] = 0
        unknown = known[index] != y
        if unknown.any():
            raise ValueError(
                f"logged actions {np.unique(y[unknown])[:5].tolist()} are not in "
                f"actions_ {known.tolist()}; declare every action on the first "
                "partial_fit (actions=...).")
        rewards = _check_vector(rewards, n, "rewards")
        if probabilities is None:
            if require_probabilities:
                raise ValueError("probabilities (the logging policy's probability of "
                                 "each logged action) are needed to score a policy.")
        else:
            probabilities = _check_vector(probabilities, n, "probabilities")
            bad = (probabilities <= 0) | (probabilities > 1)
            if bad.any():
                raise ValueError(
                    f"probabilities must lie in (0, 1]; got {probabilities[bad][:5]} "
                    f"at rows {np.flatnonzero(bad)[:5].tolist()}.")
        return X, index.astype(np.int64), rewards, probabilities


_NO_PROBABILITIES = np.empty(0)
_ONE_ROW_OPEN = {}


def _plain_vector(values, n):
    return (type(values) is np.ndarray and values.dtype == np.float64
            and values.shape == (n,))


def _check_vector(values, n, name):
    if (type(values) is np.ndarray and values.dtype == np.float64
            and values.shape == (n,) and np.isfinite(values).all()):
        return values  # (a stream's one-row call)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != n:
        raise ValueError(f"{name} must be one number per row of X: {n} values; got "
                         f"shape {values.shape}.")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity at rows "
                         f"{np.flatnonzero(~np.isfinite(values))[:5].tolist()}.")
    return values
