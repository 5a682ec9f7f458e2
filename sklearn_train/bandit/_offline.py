"""Policies learnt offline from a bandit log (contexts, logged actions, rewards and
the logging probabilities).

Two reductions and one direct optimisation:

* ``IPSPolicyLearner`` and ``DRPolicyLearner`` turn the log into a full reward matrix
  of unbiased *pseudo-rewards* (inverse propensity scoring, or doubly robust with a
  cross-fitted reward model) and regress it with one multi-output regressor of ours;
  the policy is greedy in the regressed values (the reduction Vowpal Wabbit's
  ``--cb_type ips|dr`` makes);
* ``PolicyGradientLearner`` trains a softmax policy (linear or with hidden layers) to
  maximise the self-normalised IPS value of the log: REINFORCE off-policy, with the
  SNIPS value itself as the baseline (Swaminathan & Joachims 2015; Joachims et al.
  2018), each step by the core's compiled optimizers.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._core import bandit as kernels
from .._core.optimizers import N_STEP, apply, begin_step, default_hyper
from .._gradient import OPTIMIZERS
from ..linear_model import LinearRegressor
from ._base import BasePolicy


class _LoggedPolicy(BasePolicy):
    """What the offline learners share: the log's checks, a pmf from value scores by
    one exploration rule (``_rule``), and the importance weights."""

    _rule = kernels.GREEDY

    def _start_fit(self, X, y, rewards, probabilities, actions):
        """The validated log: labels, X, action indices, rewards and ``1 / p``."""
        self._check_params()
        labels = self._declare_actions(y, actions)
        X, index, rewards, probabilities = self._check_log(
            X, y, rewards, probabilities, reset=True, actions=labels,
            require_probabilities=True)
        return labels, X, index, rewards, 1.0 / probabilities

    def _clipped(self, weights):
        return weights if self.clip is None else np.minimum(weights, self.clip)

    def _pmf_rows(self, X, available):
        ints = np.zeros(kernels.N_INTS, dtype=np.int64)
        floats = np.zeros(kernels.N_FLOATS)
        ints[kernels.I_POLICY] = self._rule
        ints[kernels.I_N_ACTIONS] = len(self.actions_)
        floats[kernels.F_TEMPERATURE] = 1.0
        floats[kernels.F_MIN_PROBABILITY] = self.min_probability
        scores = np.ascontiguousarray(self.decision_function(X), dtype=np.float64)
        pmf = np.empty_like(scores)
        kernels.explore_rows(scores, np.zeros_like(scores), available, 0, ints, floats,
                             pmf)
        return pmf

    def _regressor(self, estimator):
        model = clone(LinearRegressor() if estimator is None else estimator)
        if self.random_state is not None and "random_state" in model.get_params():
            model.set_params(random_state=self.random_state)
        return model


_COMMON = {
    "clip": [None, Interval(Real, 1, None, closed="left")],
    "min_probability": [Interval(Real, 0, 1, closed="left")],
    "random_state": ["random_state"],
}
_REGRESSOR = [None, HasMethods(["fit", "predict"])]


class IPSPolicyLearner(_LoggedPolicy):
    """A greedy policy learnt from a log by regressing inverse-propensity pseudo-rewards.

    Each logged row becomes a full row of pseudo-rewards, ``r / p`` for the logged
    action and 0 for the others: unbiased for every action's expected reward under
    any logging policy that gives each action a positive probability. One
    multi-output regressor fits them; the policy takes the action of the largest
    estimate.

    Parameters
    ----------
    estimator : regressor, default=None
        Fits the ``(n_samples, n_actions)`` pseudo-rewards (cloned; it must take a
        2-D target). None is a ``LinearRegressor()``, trained by our core.
    clip : float >= 1, default=None
        Cap on the importance weights ``1 / p`` (less variance, some bias).
    min_probability : float, default=0.0
        Floor of every available action's probability in ``predict_proba`` and
        ``sample_action``, so that this policy's own logs stay usable.
    random_state : int, RandomState instance or None, default=None
        Passed to the regressor (when it takes one) and seeds ``sample_action``.

    Attributes
    ----------
    actions_ : ndarray of shape (n_actions,)
        Action labels, sorted.
    estimator_ : regressor
        The fitted regressor of the pseudo-rewards.
    n_features_in_ : int
    seed_ : int
        Seed of the sampling stream.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import IPSPolicyLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> logged = rng.integers(0, 2, 2000)                # a uniform logging policy
    >>> rewards = (logged == (X[:, 0] > 0)).astype(float)
    >>> policy = IPSPolicyLearner(random_state=0).fit(
    ...     X, logged, rewards=rewards, probabilities=np.full(2000, 0.5))
    >>> policy.predict([[2.0, 0.0], [-2.0, 0.0]])
    array([1, 0])
    """

    _parameter_constraints = {"estimator": _REGRESSOR, **_COMMON}

    def __init__(self, estimator=None, *, clip=None, min_probability=0.0,
                 random_state=None):
        self.estimator = estimator
        self.clip = clip
        self.min_probability = min_probability
        self.random_state = random_state

    def fit(self, X, y, *, rewards, probabilities, actions=None):
        """Learn the policy from a log.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Logged contexts.
        y : array-like of shape (n_samples,)
            Logged actions.
        rewards : array-like of shape (n_samples,)
            Their rewards (larger is better).
        probabilities : array-like of shape (n_samples,)
            The logging policy's probability of each logged action, in (0, 1].
        actions : array-like, default=None
            Every action the policy may take; by default the logged ones.

        Returns
        -------
        self
        """
        labels, X, index, rewards, inverse = self._start_fit(X, y, rewards,
                                                             probabilities, actions)
        targets = pseudo_rewards(index, rewards, self._clipped(inverse),
                                 np.zeros((len(X), len(labels))))
        model = self._regressor(self.estimator).fit(X, targets)
        self._finish(labels, estimator_=model)
        return self

    def _finish(self, labels, **fitted):
        self.actions_ = labels
        self.seed_ = int(check_random_state(self.random_state).randint(2**62))
        self.counters_ = np.zeros(kernels.N_COUNTERS, dtype=np.int64)
        self.__dict__.update(fitted)

    def decision_function(self, X):
        """Estimated reward of every action per context, ``(n_samples, n_actions)``."""
        X = self._check_contexts(X)
        return np.asarray(self.estimator_.predict(X), dtype=np.float64).reshape(
            X.shape[0], len(self.actions_))


def pseudo_rewards(index, rewards, weights, estimates):
    """Doubly robust pseudo-rewards ``q(x, a) + 1[a = y] w (r - q(x, y))``; with
    ``estimates`` of zeros, the IPS ones ``1[a = y] w r``. Written into
    ``estimates``, which is returned."""
    rows = np.arange(len(index))
    estimates[rows, index] += weights * (rewards - estimates[rows, index])
    return estimates


class DRPolicyLearner(IPSPolicyLearner):
    """A greedy policy learnt from a log by regressing doubly robust pseudo-rewards.

    A reward model per action, cross-fitted (each row's estimates come from models
    fitted on the other folds), gives ``q(x, a)`` for every action; the logged
    action's pseudo-reward adds the importance-weighted residual,
    ``q(x, a) + 1[a = y] (r - q(x, y)) / p``. Unbiased when either the
    probabilities or the reward model is right, and of lower variance than IPS
    when the model is fair. One multi-output regressor fits the pseudo-rewards.

    Parameters
    ----------
    estimator : regressor, default=None
        Fits the pseudo-rewards, as in ``IPSPolicyLearner``.
    reward_estimator : regressor, default=None
        The reward model of each action (cloned per action and fold). None is a
        ``LinearRegressor()``.
    cv : int >= 2, default=5
        Folds of the cross-fitting (shuffled, by ``random_state``).
    clip, min_probability, random_state
        As in ``IPSPolicyLearner``.

    Attributes
    ----------
    actions_, estimator_, n_features_in_, seed_
        As in ``IPSPolicyLearner``.
    reward_estimators_ : list of regressors
        One per action, fitted on all of that action's logged rows (None for an
        action the log never took).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import DRPolicyLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> logged = rng.integers(0, 2, 2000)
    >>> rewards = (logged == (X[:, 0] > 0)).astype(float)
    >>> policy = DRPolicyLearner(random_state=0).fit(
    ...     X, logged, rewards=rewards, probabilities=np.full(2000, 0.5))
    >>> policy.predict([[2.0, 0.0], [-2.0, 0.0]])
    array([1, 0])
    """

    _parameter_constraints = {"estimator": _REGRESSOR, "reward_estimator": _REGRESSOR,
                              "cv": [Interval(Integral, 2, None, closed="left")],
                              **_COMMON}

    def __init__(self, estimator=None, *, reward_estimator=None, cv=5, clip=None,
                 min_probability=0.0, random_state=None):
        super().__init__(estimator, clip=clip, min_probability=min_probability,
                         random_state=random_state)
        self.reward_estimator = reward_estimator
        self.cv = cv

    def fit(self, X, y, *, rewards, probabilities, actions=None):
        """Learn the policy from a log; parameters as ``IPSPolicyLearner.fit``.

        Returns
        -------
        self
        """
        labels, X, index, rewards, inverse = self._start_fit(X, y, rewards,
                                                             probabilities, actions)
        if len(X) < self.cv:
            raise ValueError(f"cross-fitting with cv={self.cv} needs at least {self.cv} "
                             f"logged rows; got {len(X)}.")
        estimates = self.cross_fitted_rewards(X, index, rewards, len(labels))
        targets = pseudo_rewards(index, rewards, self._clipped(inverse), estimates)
        model = self._regressor(self.estimator).fit(X, targets)
        every_row = np.ones(len(X), dtype=bool)
        self._finish(labels, estimator_=model, reward_estimators_=[
            self._reward_model(X, index, rewards, a, every_row) for a in range(len(labels))])
        return self

    def cross_fitted_rewards(self, X, index, rewards, n_actions):
        """``q(x_i, a)`` for every row and action from reward models that did not see
        row ``i`` (validated inputs; ``index`` are action indices).

        Returns
        -------
        estimates : ndarray of shape (n_samples, n_actions)
        """
        estimates = np.zeros((len(X), n_actions))
        folds = KFold(self.cv, shuffle=True,
                      random_state=check_random_state(self.random_state).randint(2**31))
        for train, test in folds.split(X):
            in_train = np.zeros(len(X), dtype=bool)
            in_train[train] = True
            for a in range(n_actions):
                model = self._reward_model(X, index, rewards, a, in_train)
                estimates[test, a] = (model.predict(X[test]) if model is not None
                                      else rewards[train].mean())
        return estimates

    def _reward_model(self, X, index, rewards, action, rows):
        chosen = rows & (index == action)
        if not chosen.any():
            return None  # (the fold never took it: the fold's mean reward instead)
        return self._regressor(self.reward_estimator).fit(X[chosen], rewards[chosen])


class PolicyGradientLearner(_LoggedPolicy):
    """A softmax policy trained on a log to maximise its self-normalised IPS value.

    The policy is ``pi(a | x) = softmax(f(x))_a`` with ``f`` linear
    (``hidden_layer_sizes=()``) or a network. Training maximises the SNIPS estimate
    of its value on the log, ``sum_i w_i r_i / sum_i w_i`` with
    ``w_i = pi(y_i | x_i) / p_i``, whose gradient is
    ``sum_i w_i (r_i - SNIPS) grad log pi(y_i | x_i) / sum_i w_i``: REINFORCE, off
    policy, with the SNIPS value as its baseline (a reward above the policy's current
    value pulls its action up, one below pushes it down). Each mini-batch gives this
    gradient with its own SNIPS value, plus the L2 penalty's, and the core's compiled
    optimizer (Adam by default) steps on one flat parameter vector. Unlike the
    regression learners it learns a stochastic policy: ``predict_proba`` is the
    softmax (mixed with the ``min_probability`` floor), ``predict`` its mode.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=()
        Hidden layers of ``f``; empty for a linear softmax policy.
    activation : {"relu", "tanh"}, default="relu"
        Activation of the hidden layers.
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}, \
default="adam"
        The core's update rule.
    eta0 : float, default=0.01
        Learning rate.
    alpha : float, default=1e-4
        L2 penalty on the weights (not the intercepts).
    batch_size : int, default=256
        Rows per step (the whole log when larger).
    max_iter : int, default=200
        Epochs at most.
    tol : float, default=1e-4
        Training stops when the log's SNIPS value has not risen by ``tol`` for
        ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
    clip : float >= 1, default=None
        Cap on the importance weights; a clipped weight is a constant of the
        objective.
    min_probability : float, default=0.0
        Floor of every available action's probability.
    random_state : int, RandomState instance or None, default=None
        Initial weights, mini-batch order and the sampling stream.

    Attributes
    ----------
    actions_ : ndarray of shape (n_actions,)
    coefs_, intercepts_ : lists of ndarrays
        Each layer's weights ``(n_in, n_out)`` and intercepts (views into
        ``params_``).
    params_ : ndarray
        Every parameter, flat.
    loss_curve_ : list of float
        Minus the log's SNIPS value after each epoch.
    n_iter_ : int
        Epochs run.
    n_features_in_, seed_

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import PolicyGradientLearner
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> logged = rng.integers(0, 2, 2000)
    >>> rewards = (logged == (X[:, 0] > 0)).astype(float)
    >>> policy = PolicyGradientLearner(eta0=0.05, random_state=0).fit(
    ...     X, logged, rewards=rewards, probabilities=np.full(2000, 0.5))
    >>> policy.predict([[2.0, 0.0], [-2.0, 0.0]])
    array([1, 0])
    >>> bool(policy.loss_curve_[-1] < -0.9)   # the log's SNIPS value is above 0.9
    True
    """

    _rule = kernels.SOFTMAX
    _parameter_constraints = {
        "hidden_layer_sizes": [tuple],
        "activation": [StrOptions({"relu", "tanh"})],
        "optimizer": [StrOptions(set(OPTIMIZERS) - {"adamw"})],
        "eta0": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        **_COMMON,
    }

    def __init__(self, hidden_layer_sizes=(), *, activation="relu", optimizer="adam",
                 eta0=0.01, alpha=1e-4, batch_size=256, max_iter=200, tol=1e-4,
                 n_iter_no_change=10, clip=None, min_probability=0.0, random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.eta0 = eta0
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.clip = clip
        self.min_probability = min_probability
        self.random_state = random_state

    def fit(self, X, y, *, rewards, probabilities, actions=None):
        """Train the policy on a log; parameters as ``IPSPolicyLearner.fit``.

        Returns
        -------
        self
        """
        if any(not isinstance(n, Integral) or n < 1 for n in self.hidden_layer_sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers; got "
                             f"{self.hidden_layer_sizes}.")
        labels, X, index, rewards, inverse = self._start_fit(X, y, rewards,
                                                             probabilities, actions)
        rng = check_random_state(self.random_state)
        sizes = (X.shape[1], *self.hidden_layer_sizes, len(labels))
        params = _initial_params(sizes, rng)
        code = OPTIMIZERS[self.optimizer]
        moments = np.zeros((2, params.shape[0]))
        hyper = default_hyper()
        step = np.zeros(N_STEP)
        curve, best, stale, t = [], np.inf, 0, 0
        batch = min(self.batch_size, len(X))
        for _ in range(self.max_iter):
            with np.errstate(all="ignore"):  # (a diverging epoch is refused below)
                loss = self._epoch(params, sizes, (X, index, rewards, inverse), rng,
                                   (code, moments, hyper, step), t)
            t += -(-len(X) // batch)
            if not np.isfinite(loss) or not np.isfinite(params).all():
                raise ValueError("training diverged (the policy's parameters became "
                                 "infinite or NaN); the learner is left as it was. "
                                 "Scale the contexts or lower eta0.")
            curve.append(loss)
            stale = 0 if loss < best - self.tol else stale + 1
            best = min(best, loss)
            if stale >= self.n_iter_no_change:
                break
        self._finish_network(labels, params, sizes, curve)
        return self

    def _epoch(self, params, sizes, log, rng, optimizer, t):
        """One pass of mini-batch steps over the log, in a random order; returns the
        objective on the whole log after it."""
        X, index, rewards, inverse = log
        code, moments, hyper, step = optimizer
        batch = min(self.batch_size, len(X))
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start:start + batch]
            _, grad = self._objective(params, sizes, X[rows], index[rows], rewards[rows],
                                      inverse[rows])
            t += 1  # (Adam's bias correction counts steps from 1)
            begin_step(code, self.eta0, t, hyper, step)
            apply(code, params, grad, moments, hyper, step, 0, params.shape[0])
        return self._objective(params, sizes, X, index, rewards, inverse,
                               gradient=False)[0]

    def _finish_network(self, labels, params, sizes, curve):
        self.actions_ = labels
        self.seed_ = int(check_random_state(self.random_state).randint(2**62))
        self.counters_ = np.zeros(kernels.N_COUNTERS, dtype=np.int64)
        self.params_ = params
        self.coefs_, self.intercepts_ = _layers(params, sizes)
        self.loss_curve_ = curve
        self.n_iter_ = len(curve)

    def decision_function(self, X):
        """The policy's logits ``f(x)`` per action, ``(n_samples, n_actions)``:
        ``predict_proba`` is their softmax."""
        X = self._check_contexts(X)
        sizes = (X.shape[1], *self.hidden_layer_sizes, len(self.actions_))
        return self._forward(self.params_, sizes, X)[-1]

    def _forward(self, params, sizes, X):
        """Every layer's output, the logits last."""
        outputs = [X]
        coefs, intercepts = _layers(params, sizes)
        for k, (W, b) in enumerate(zip(coefs, intercepts)):
            z = outputs[-1] @ W + b
            if k < len(coefs) - 1:
                z = np.maximum(z, 0.0) if self.activation == "relu" else np.tanh(z)
            outputs.append(z)
        return outputs

    def _objective(self, params, sizes, X, index, rewards, inverse, gradient=True):
        """Minus the SNIPS value of the rows (plus the L2 penalty) and its gradient
        in the layout of ``params``."""
        outputs = self._forward(params, sizes, X)
        logits = outputs[-1]
        logits = logits - logits.max(axis=1, keepdims=True)
        pmf = np.exp(logits)
        pmf /= pmf.sum(axis=1, keepdims=True)
        rows = np.arange(len(index))
        weights = pmf[rows, index] * inverse
        moving = np.ones(len(index), dtype=bool)
        if self.clip is not None:
            moving = weights < self.clip
            weights = np.minimum(weights, self.clip)
        total = weights.sum()
        value = weights @ rewards / total if total > 0 else 0.0
        coefs, _ = _layers(params, sizes)
        penalty = 0.5 * self.alpha * sum(float((W * W).sum()) for W in coefs)
        if not gradient:
            return -value + penalty, None
        # d(-SNIPS)/d logits: -(w (r - SNIPS) / sum w) (e_y - pi) on unclipped rows
        scale = np.where(moving, weights * (rewards - value), 0.0) / max(total, 1e-300)
        delta = pmf * scale[:, None]
        delta[rows, index] -= scale
        grad = np.empty_like(params)
        grad_coefs, grad_intercepts = _layers(grad, sizes)
        for k in range(len(coefs) - 1, -1, -1):
            grad_coefs[k][:] = outputs[k].T @ delta + self.alpha * coefs[k]
            grad_intercepts[k][:] = delta.sum(axis=0)
            if k > 0:
                delta = delta @ coefs[k].T
                delta *= (outputs[k] > 0) if self.activation == "relu" else (
                    1.0 - outputs[k] ** 2)
        return -value + penalty, grad


def _layers(params, sizes):
    """Views of each layer's weights ``(n_in, n_out)`` and intercepts in ``params``."""
    coefs, intercepts, start = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        coefs.append(params[start:start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
        intercepts.append(params[start:start + n_out])
        start += n_out
    return coefs, intercepts


def _initial_params(sizes, rng):
    """Glorot-uniform hidden layers; the output layer at zero (the uniform policy,
    which any log's weights treat evenly)."""
    params = np.zeros(sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])))
    coefs, _ = _layers(params, sizes)
    for W in coefs[:-1]:
        bound = np.sqrt(6.0 / (W.shape[0] + W.shape[1]))
        W[:] = rng.uniform(-bound, bound, W.shape)
    return params
