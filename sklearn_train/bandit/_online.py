"""Online policies: value models that learn from the chosen actions' rewards.

Two ways to hold the value models, one behaviour:

* the compiled heads (``_core.bandit``): a ``LinearRegressor`` with the squared error,
  an L2 penalty or none, no averaging and a step schedule (``constant`` or
  ``invscaling``) — the default — becomes one linear head per action (and bag)
  inside the policy's state, trained one row at a time by the core's optimizers, so
  a round costs microseconds;
* any other regressor with ``partial_fit`` (an ``MLPRegressor``, a robust loss): one
  clone per action (and bag) in ``estimators_``, learning each call's rows of its
  action through its own ``partial_fit``. Rounds cost what those calls cost.

LinUCB and LinTS have no value model but their ridge statistics.
"""

import copy
import functools
import operator
from types import SimpleNamespace

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._core import bandit as kernels
from .._core.data import writeable_alias
from .._core.optimizers import N_HYPER, default_hyper
from .._core.penalties import penalty_strengths
from .._gradient import EPSILON, OPTIMIZERS
from ..linear_model import LinearRegressor
from .._estimator import check_params_once, parameter_values
from ._base import BasePolicy

# the value model of estimator=None: read, never fitted. AdaGrad at a constant 0.1
# (per-weight steps, as Vowpal Wabbit's adaptive updates): on digits' 0/1 rewards it
# halved the progressive loss of SquareCB, RegCB and epsilon-greedy against the
# regressor's own default (invscaling SGD: 0.54 -> 0.26 for SquareCB, 3 orders)
_DEFAULT_MODEL = LinearRegressor(optimizer="adagrad", learning_rate="constant", eta0=0.1)
_KIND_CHANGED = ("the value model changed kind since the first call (compiled heads and "
                 "a regressor's own partial_fit keep different states); fit anew.")
_DIVERGED = ("the value model diverged (its estimates became infinite or NaN); the policy "
             "is left as it was. Scale the contexts (StandardScaler) or give the "
             "estimator a smaller eta0.")
_STATE_NAMES = ("params_", "moments_", "head_steps_", "ridge_inverse_", "ridge_coef_",
                "counters_")
_read_state = operator.itemgetter(*_STATE_NAMES)  # the kernels' state tuple, at C speed


@functools.lru_cache(maxsize=256)
def _seed_key(seed):
    """``np.uint64(seed)``, made once per seed: Numba reads a new NumPy scalar
    argument in 4 us, half of a one-row ``sample_action``."""
    return np.uint64(seed)


class OnlinePolicy(BasePolicy):
    """Base of the online policies (not public): ``fit`` / ``partial_fit`` /
    ``_learn_rounds`` over the state of ``_core.bandit``."""

    _policy = kernels.GREEDY
    _uses_heads = True  # a value model per action
    _uses_ridge = False  # ridge statistics of the contexts per action

    # -- learning -----------------------------------------------------------------

    def fit(self, X, y, *, rewards, probabilities=None, actions=None):
        """Learn from a log in one online pass, from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Contexts.
        y : array-like of shape (n_samples,)
            The logged actions.
        rewards : array-like of shape (n_samples,)
            The reward each logged action got (larger is better).
        probabilities : array-like of shape (n_samples,), default=None
            The logging policy's probability of each logged action, in (0, 1];
            checked when given. The value models regress the rewards of the
            actions taken, which is unbiased for each action's expected reward
            whatever the logging policy, so they need no importance weights.
        actions : array-like, default=None
            Every action the policy may take; by default the logged ones.

        Returns
        -------
        self
        """
        self._check_params()
        labels = self._declare_actions(y, actions)
        X, index, rewards, _ = self._check_log(X, y, rewards, probabilities, reset=True,
                                               actions=labels)
        fresh = self._fresh_attributes(labels, X.shape[1])
        self._learn(fresh, X, index, rewards)
        self.__dict__.update(fresh)
        return self

    def partial_fit(self, X, y, *, rewards, probabilities=None, actions=None):
        """Learn from more rounds: a log's rows, in order.

        Parameters
        ----------
        X, y, rewards, probabilities
            As in ``fit``.
        actions : array-like, default=None
            Every action the policy may take, declared on the first call (like a
            classifier's ``classes``); later calls may repeat the same set.

        Returns
        -------
        self
        """
        self._check_params()
        first = not hasattr(self, "actions_")
        if first:
            labels = self._declare_actions(y, actions)
        else:
            labels = self.actions_
            if actions is not None and not np.array_equal(np.unique(actions), labels):
                raise ValueError(f"actions={np.unique(actions).tolist()} differs from "
                                 f"the declared actions_ {labels.tolist()}.")
        X, index, rewards, _ = self._check_log(X, y, rewards, probabilities,
                                               reset=first, actions=labels)
        if first:
            attributes = self._fresh_attributes(labels, X.shape[1])
        elif self.compiled_:
            # the kernel learns in place and undoes a diverging call itself
            self._learn(self.__dict__, X, index, rewards)
            return self
        else:
            attributes = self._copied_attributes()
        self._learn(attributes, X, index, rewards)
        self.__dict__.update(attributes)
        return self

    def _start_rounds(self, n_features, actions):
        """Declare the actions and the context width before any data (simulation)."""
        self._check_params()
        labels = self._declare_actions(None, actions)
        self.__dict__.update(self._fresh_attributes(labels, n_features))
        self.n_features_in_ = n_features
        return self

    def _learn_rounds(self, X, reward_matrix, available_actions=None):
        """One online pass over contexts with full rewards: per row, sample from the
        current pmf, observe the chosen action's reward, learn it.

        Returns the chosen action indices, their probabilities and rewards: what a
        log would record. Equals ``sample_action`` then ``partial_fit`` row by row.
        """
        X = self._check_contexts(X)
        available = self._available(available_actions, X.shape[0])
        reward_matrix = np.ascontiguousarray(reward_matrix, dtype=np.float64)
        n = X.shape[0]
        out = (np.empty(n, dtype=np.int64), np.empty(n), np.empty(n))
        attributes = self._copied_attributes()
        if self._compiled():
            self._resolve_rate(attributes, X[:1])
            kernels.rounds(X, reward_matrix, available, _seed_key(self.seed_),
                           self._state(attributes), *self._settings(attributes), out)
            self._check_finite(attributes)
        else:
            actions, probabilities, rewards = out
            previous = self.__dict__.copy()
            try:
                for i in range(n):
                    chosen, probability = self.sample_action(X[i:i + 1], available[i:i + 1])
                    actions[i] = np.searchsorted(self.actions_, chosen[0])
                    probabilities[i] = probability[0]
                    rewards[i] = reward_matrix[i, actions[i]]
                    self._learn(self.__dict__, X[i:i + 1], actions[i:i + 1], rewards[i:i + 1])
            except BaseException:
                self.__dict__.clear()
                self.__dict__.update(previous)
                raise
            return out
        self.__dict__.update(attributes)
        return out

    # -- the questions ----------------------------------------------------------------

    def decision_function(self, X):
        """Estimated reward of every action for each context.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Contexts.

        Returns
        -------
        rewards : ndarray of shape (n_samples, n_actions)
            Columns in ``actions_`` order; the mean over bags for the bootstrap.
        """
        X = self._check_contexts(X)
        if not self._uses_heads:
            return X @ self.ridge_coef_[:, :-1].T + self.ridge_coef_[:, -1]
        return self._bag_values(X).mean(axis=0)

    def _sample_own_stream(self, X, available_actions):
        """``sample_action`` from the policy's stream in one compiled call (compiled
        value models only; None otherwise)."""
        if not self._compiled():
            return None
        X = self._check_contexts(X)
        available = self._available(available_actions, X.shape[0])
        out = (np.empty(X.shape[0], dtype=np.int64), np.empty(X.shape[0]))
        kernels.sample_policy(X, available, _seed_key(self.seed_), self._state(self.__dict__),
                              *self._settings(self.__dict__), out)
        return self.actions_[out[0]], out[1]

    def _bag_values(self, X):
        """Each bag's estimates, ``(n_bags, n_samples, n_actions)``."""
        n_actions = len(self.actions_)
        if self._compiled():
            heads = self.params_.reshape(-1, n_actions, X.shape[1] + 1)
            return np.einsum("ij,baj->bia", X, heads[..., :-1]) + heads[:, None, :, -1]
        values = np.zeros((len(self.estimators_), X.shape[0], n_actions))
        if self._joint():
            every = np.repeat(X, n_actions, axis=0)
            joint = self._joint_rows(every, np.tile(np.arange(n_actions), X.shape[0]),
                                     self.action_features_)
            for b, (model,) in enumerate(self.estimators_):
                if hasattr(model, "n_features_in_"):
                    values[b] = model.predict(joint).reshape(X.shape[0], n_actions)
            return values
        for b, bag in enumerate(self.estimators_):
            for a, model in enumerate(bag):
                if hasattr(model, "n_features_in_"):  # an action never taken stays at 0
                    values[b, :, a] = model.predict(X)
        return values

    def _pmf_rows(self, X, available):
        pmf = np.empty((X.shape[0], len(self.actions_)))
        ints, floats = self._settings(self.__dict__)
        if self._compiled():
            state = self._state(self.__dict__)
            if not state[0].flags.writeable:  # (loaded read-only: the pmf only reads it)
                state = tuple(map(writeable_alias, state))
            kernels.policy_pmf(X, available, _seed_key(self.seed_), state, ints, floats, pmf)
            return pmf
        values = self._bag_values(X)
        widths = np.zeros_like(values[0])
        if self._uses_ridge:
            kernels.ridge_widths(X, self.ridge_inverse_, widths)
        rounds_done = self.counters_[kernels.C_ROUNDS]
        if self._policy != kernels.BOOTSTRAP:
            kernels.explore_rows(values[0], widths, available, rounds_done, ints, floats,
                                 pmf)
            return pmf
        # the bootstrap: each bag's greedy choice, averaged, then the floor
        greedy = ints.copy()
        greedy[kernels.I_POLICY] = kernels.GREEDY
        no_floor = floats.copy()
        no_floor[kernels.F_MIN_PROBABILITY] = 0.0
        votes = np.empty_like(pmf)
        pmf[:] = 0.0
        for bag in values:
            kernels.explore_rows(bag, widths, available, rounds_done, greedy, no_floor,
                                 votes)
            pmf += votes
        pmf /= len(values)  # (as the kernel: counts, then one division)
        floor = self.min_probability
        return np.where(available, np.minimum(
            floor + (1.0 - available.sum(1, keepdims=True) * floor) * pmf, 1.0), 0.0)

    # -- state ----------------------------------------------------------------------------

    def _n_bags(self):
        return 1

    def _joint(self):
        return getattr(self, "action_features", None) is not None

    @staticmethod
    def _joint_rows(X, index, action_features):
        """A joint model's inputs: ``[x, f_a, x (outer) f_a]`` for action ``index[i]``."""
        features = action_features[index]
        outer = (X[:, :, None] * features[:, None, :]).reshape(X.shape[0], -1)
        return np.hstack([X, features, outer])

    def _check_action_features(self, n_actions):
        features = np.asarray(self.action_features, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] != n_actions:
            raise ValueError(f"action_features must have one row per action "
                             f"({n_actions}); got shape {features.shape}.")
        if not np.isfinite(features).all():
            raise ValueError("action_features contains NaN or infinity.")
        return features

    def _value_model(self):
        model = getattr(self, "estimator", None)
        return _DEFAULT_MODEL if model is None else model

    def _compiled(self):
        """Whether the value models are compiled heads (see the module docstring);
        decided by the first call, which lays out the state."""
        compiled = self.__dict__.get("compiled_")
        return self._compilable() if compiled is None else compiled

    def _compilable(self):
        if not self._uses_heads:
            return True
        model = self._value_model()
        if type(model) is not LinearRegressor or self._joint():
            return False
        l1, _ = penalty_strengths(model.penalty, model.alpha, model.l1_ratio)
        return (model.loss == "squared_error" and l1 == 0 and model.average in (False, 0)
                and model.learning_rate in ("constant", "invscaling")
                and model.warmup == 0 and not model.early_stopping)

    def _fresh_attributes(self, labels, n_features):
        n_actions = len(labels)
        d = n_features + 1
        compiled = self._compilable()
        n_heads = self._n_bags() * n_actions if self._uses_heads and compiled else 0
        n_ridge = n_actions if self._uses_ridge else 0
        attributes = {
            "actions_": labels,
            "compiled_": compiled,
            "seed_": int(check_random_state(self.random_state).randint(2**62)),
            "params_": np.zeros(n_heads * d),
            "moments_": np.zeros((2, n_heads * d)),
            "head_steps_": np.zeros(n_heads, dtype=np.int64),
            "ridge_inverse_": np.tile(np.eye(d), (n_ridge, 1, 1)),
            "ridge_coef_": np.zeros((n_ridge, d)),
            "counters_": np.zeros(kernels.N_COUNTERS, dtype=np.int64),
            "eta0_": None,
        }
        if self._uses_heads and not compiled:
            model = self._value_model()
            per_bag = len(labels)
            if self._joint():
                attributes["action_features_"] = self._check_action_features(len(labels))
                per_bag = 1
            attributes["estimators_"] = [[clone(model) for _ in range(per_bag)]
                                         for _ in range(self._n_bags())]
        return attributes

    def _copied_attributes(self):
        if not hasattr(self, "actions_"):
            check_is_fitted(self)
        attributes = {name: getattr(self, name).copy() for name in _STATE_NAMES}
        if self._compilable() != self.compiled_:
            raise ValueError(_KIND_CHANGED)
        attributes.update(eta0_=self.eta0_, actions_=self.actions_, seed_=self.seed_,
                          compiled_=self.compiled_)
        if hasattr(self, "action_features_"):
            attributes["action_features_"] = self.action_features_
        if hasattr(self, "estimators_"):
            attributes["estimators_"] = copy.deepcopy(self.estimators_)
        return attributes

    @staticmethod
    def _state(attributes):
        return _read_state(attributes)

    def _settings(self, attributes):
        """The kernels' ``ints`` and ``floats`` for these parameters, kept while every
        parameter (and the value model's every attribute) is the same, or an equal,
        value: building them took 15 us of a 30 us round, this check under one."""
        key = (attributes["eta0_"], len(attributes["actions_"]), *parameter_values(self),
               *(vars(self._value_model()).values() if self._uses_heads else ()))
        cached = self.__dict__.get("_settings_cache")
        try:
            # (C-speed tuple equality: the same objects are equal at once; a new
            # array of action features is ambiguous, so it misses)
            if cached is not None and key == cached[0]:
                return cached[1]
        except (ValueError, TypeError):
            pass
        if attributes["compiled_"] != self._compilable():
            raise ValueError(_KIND_CHANGED)
        settings = self._build_settings(attributes)
        self.__dict__["_settings_cache"] = (key, settings)
        return settings

    def _build_settings(self, attributes):
        ints = np.zeros(kernels.N_INTS, dtype=np.int64)
        floats = np.zeros(kernels.N_FLOATS + N_HYPER)
        ints[kernels.I_POLICY] = self._policy
        ints[kernels.I_N_ACTIONS] = len(attributes["actions_"])
        ints[kernels.I_RIDGE] = int(self._uses_ridge)
        floats[kernels.F_MIN_PROBABILITY] = self.min_probability
        self._policy_settings(ints, floats)
        if self._uses_heads and attributes["compiled_"]:
            model = self._value_model()
            # (the heads are trained here, not by the model's own fit, which would
            # have checked its parameters)
            check_params_once(model)
            ints[kernels.I_N_BAGS] = self._n_bags()
            ints[kernels.I_OPTIMIZER] = OPTIMIZERS[model.optimizer]
            ints[kernels.I_FIT_INTERCEPT] = int(model.fit_intercept)
            ints[kernels.I_INVSCALING] = int(model.learning_rate == "invscaling")
            floats[kernels.F_ETA0] = attributes["eta0_"] or 0.0
            floats[kernels.F_POWER_T] = model.power_t
            floats[kernels.F_L2] = penalty_strengths(model.penalty, model.alpha,
                                                     model.l1_ratio)[1]
            floats[kernels.N_FLOATS:] = default_hyper(model.momentum, model.beta_1,
                                                      model.beta_2, EPSILON)
        return ints, floats

    def _policy_settings(self, ints, floats):
        """A policy's own entries of ``ints`` / ``floats``."""

    def _resolve_rate(self, attributes, X):
        """``eta0="auto"`` of the heads, from the first rows the policy learns."""
        if attributes["eta0_"] is None and self._uses_heads and X.shape[0] > 0:
            # the regressor's own rule (1 / (mean squared row norm + 1) for SGD)
            rows = SimpleNamespace(X=X, extra={}, train_part=lambda values: values)
            attributes["eta0_"] = self._value_model()._resolve_eta0(rows)

    def _learn(self, attributes, X, index, rewards):
        """Learn the rows into ``attributes`` (the live ones or a copy)."""
        seed = _seed_key(attributes["seed_"])
        if attributes["compiled_"]:
            eta0 = attributes["eta0_"]
            self._resolve_rate(attributes, X)
            try:
                ints, floats = self._settings(attributes)
                if not kernels.learn(writeable_alias(X), index, rewards, seed,
                                     self._state(attributes),
                                     ints, floats):
                    raise ValueError(_DIVERGED)
            except ValueError:
                attributes["eta0_"] = eta0  # (the kernel restored the rest)
                raise
            return
        if self._uses_ridge:
            kernels.ridge_update(X, index, rewards, attributes["ridge_inverse_"],
                                 attributes["ridge_coef_"])
        rounds_done = attributes["counters_"][kernels.C_ROUNDS]
        for b, bag in enumerate(attributes["estimators_"]):
            weight = np.ones(X.shape[0])
            if self._policy == kernels.BOOTSTRAP:
                weight = np.random.default_rng([int(seed), rounds_done, b]).poisson(
                    1.0, X.shape[0]).astype(float)
            if self._joint():
                rows = weight > 0
                if rows.any():
                    bag[0].partial_fit(self._joint_rows(X[rows], index[rows],
                                                        attributes["action_features_"]),
                                       rewards[rows], sample_weight=weight[rows])
                continue
            for a, model in enumerate(bag):
                rows = (index == a) & (weight > 0)
                if rows.any():
                    model.partial_fit(X[rows], rewards[rows], sample_weight=weight[rows])
        attributes["counters_"][kernels.C_ROUNDS] += X.shape[0]

    def _check_finite(self, attributes):
        if not (np.isfinite(attributes["params_"]).all()
                and np.isfinite(attributes["ridge_coef_"]).all()):
            raise ValueError(_DIVERGED)
