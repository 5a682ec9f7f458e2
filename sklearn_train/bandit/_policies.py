"""The online policies: one exploration rule each over the shared machinery.

Each class is a docstring, its parameters and the rule's settings; learning, the pmf
and sampling are ``OnlinePolicy``'s and the kernels'.
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval

from .._core import bandit as kernels
from ._online import OnlinePolicy

_ESTIMATOR = {"estimator": [None, HasMethods(["partial_fit", "predict"])],
              "action_features": [None, "array-like"]}

_COMMON_DOC = """estimator : regressor with ``partial_fit``, default=None
        The value model, cloned once per action (and bag). None is a
        ``LinearRegressor(optimizer="adagrad", learning_rate="constant", eta0=0.1)``
        (per-weight steps suit rewards that arrive one action at a time). A ``LinearRegressor`` with the squared error, no L1,
        no averaging and a ``constant`` or ``invscaling`` schedule is compiled into
        the policy (one optimizer step per learnt row, a round in microseconds);
        any other regressor (an ``MLPRegressor``) learns through its own
        ``partial_fit`` on each call's rows of its action.
    action_features : array-like of shape (n_actions, n_action_features), \
default=None
        Describe the actions (rows in ``actions_`` order) to train ONE joint value
        model over ``[x, f_a, x (outer) f_a]`` instead of a model per action: actions
        share what they teach each other. The joint model learns through the
        estimator's ``partial_fit`` (it is never compiled).
    min_probability : float, default=0.0
        Floor on the probability of every available action (the pmf is mixed with
        the uniform one), so that the logs the policy leaves can evaluate other
        policies. At most ``1 / n_actions``.
    random_state : int, RandomState instance or None, default=None
        Seeds the policy's random streams at the first ``fit`` / ``partial_fit``
        (sampling, and the bootstrap's or Thompson's draws)."""

_ATTRIBUTES_DOC = """Attributes
    ----------
    actions_ : ndarray of shape (n_actions,)
        The actions, sorted; columns of ``predict_proba`` and ``decision_function``.
    n_features_in_ : int
        Context width.
    counters_ : ndarray of shape (2,)
        Rounds learnt and actions sampled from the policy's own stream.
    estimators_ : list of lists of regressors
        ``[bag][action]`` value models, only when they are not compiled heads.
    params_ : ndarray
        The compiled heads' weights: per (bag, action), ``n_features_in_``
        weights then the intercept."""


def _with_doc(cls):
    cls.__doc__ = cls.__doc__.replace("%(common)s", _COMMON_DOC).replace(
        "%(attributes)s", _ATTRIBUTES_DOC)
    return cls


@_with_doc
class GreedyBandit(OnlinePolicy):
    """Always the action of the largest estimated reward (no exploration).

    A baseline: with ``min_probability`` it becomes the floor-mixed greedy policy.
    Ties share the probability equally.

    Parameters
    ----------
    %(common)s

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import GreedyBandit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> logged = rng.integers(0, 2, 300)
    >>> rewards = np.where(logged == 1, X[:, 0], -X[:, 0])
    >>> policy = GreedyBandit(random_state=0).fit(X, logged, rewards=rewards)
    >>> policy.predict([[1.5, 0.0], [-1.5, 0.0]])
    array([1, 0])
    """

    _parameter_constraints = {**OnlinePolicy._parameter_constraints, **_ESTIMATOR}
    _policy = kernels.GREEDY

    def __init__(self, estimator=None, *, action_features=None,
                 min_probability=0.0, random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.min_probability = min_probability
        self.random_state = random_state


@_with_doc
class EpsilonGreedyBandit(OnlinePolicy):
    """The greedy action, or with probability ``epsilon_t`` a uniform one.

    ``epsilon_t = epsilon * (t + 1) ** -decay`` after ``t`` learnt rounds: constant
    with ``decay=0``; ``decay=1/3`` is the rate of the regret bound of
    epsilon-greedy.

    Parameters
    ----------
    %(common)s
    epsilon : float, default=0.1
        Exploration probability at the start, in [0, 1].
    decay : float, default=0.0
        Exponent of its decay with the rounds learnt.

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import EpsilonGreedyBandit
    >>> policy = EpsilonGreedyBandit(epsilon=0.2, random_state=0)
    >>> policy.fit([[0.0], [1.0]], ["a", "b"], rewards=[0.0, 1.0])
    EpsilonGreedyBandit(epsilon=0.2, random_state=0)
    >>> policy.predict_proba([[1.0]]).round(3)  # the greedy "b", or 0.2 / 2 each
    array([[0.1, 0.9]])
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints, **_ESTIMATOR,
        "epsilon": [Interval(Real, 0, 1, closed="both")],
        "decay": [Interval(Real, 0, None, closed="left")],
    }
    _policy = kernels.EPSILON_GREEDY

    def __init__(self, estimator=None, *, action_features=None,
                 epsilon=0.1, decay=0.0, min_probability=0.0,
                 random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.epsilon = epsilon
        self.decay = decay
        self.min_probability = min_probability
        self.random_state = random_state

    def _policy_settings(self, ints, floats):
        floats[kernels.F_EPSILON] = self.epsilon
        floats[kernels.F_DECAY] = self.decay


@_with_doc
class SoftmaxBandit(OnlinePolicy):
    """Actions in proportion to ``exp(estimated reward / temperature)`` (Boltzmann).

    Parameters
    ----------
    %(common)s
    temperature : float, default=0.1
        In reward units: a gap of one temperature makes an action e times less
        likely. Small is nearly greedy, large nearly uniform.

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import SoftmaxBandit
    >>> policy = SoftmaxBandit(temperature=1.0, random_state=0)
    >>> _ = policy.fit([[0.0]] * 4, [0, 1, 0, 1], rewards=[0.0, 1.0, 0.0, 1.0])
    >>> pmf = policy.predict_proba([[0.0]])
    >>> bool(pmf[0, 1] > pmf[0, 0]), float(pmf.sum())
    (True, 1.0)
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints, **_ESTIMATOR,
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }
    _policy = kernels.SOFTMAX

    def __init__(self, estimator=None, *, action_features=None,
                 temperature=0.1, min_probability=0.0,
                 random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.temperature = temperature
        self.min_probability = min_probability
        self.random_state = random_state

    def _policy_settings(self, ints, floats):
        floats[kernels.F_TEMPERATURE] = self.temperature


@_with_doc
class SquareCBBandit(OnlinePolicy):
    """Inverse-gap weighting over the estimates (SquareCB, Foster & Rakhlin 2020).

    With ``K`` open actions and ``b`` the best estimate, every other action ``a``
    gets ``1 / (K + gamma_t * (r_b - r_a))`` and ``b`` the rest:
    exploration shrinks with the estimated gap and with time,
    ``gamma_t = gamma_scale * (t + 1) ** gamma_exponent`` after ``t`` rounds.

    Parameters
    ----------
    %(common)s
    gamma_scale : float, default=10.0
        Scale of the learning-rate-like ``gamma``.
    gamma_exponent : float, default=0.5
        Its growth with the rounds learnt (the theory's ``sqrt(t)``).

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import SquareCBBandit
    >>> policy = SquareCBBandit(gamma_scale=10.0, random_state=0)
    >>> _ = policy.fit([[1.0]] * 3, [0, 1, 2], rewards=[0.0, 1.0, 0.0])
    >>> pmf = policy.predict_proba([[1.0]])
    >>> int(pmf.argmax()), bool(pmf.min() > 0)
    (1, True)
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints, **_ESTIMATOR,
        "gamma_scale": [Interval(Real, 0, None, closed="left")],
        "gamma_exponent": [Interval(Real, 0, None, closed="left")],
    }
    _policy = kernels.SQUARECB

    def __init__(self, estimator=None, *, action_features=None,
                 gamma_scale=10.0, gamma_exponent=0.5,
                 min_probability=0.0, random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.gamma_scale = gamma_scale
        self.gamma_exponent = gamma_exponent
        self.min_probability = min_probability
        self.random_state = random_state

    def _policy_settings(self, ints, floats):
        floats[kernels.F_GAMMA_SCALE] = self.gamma_scale
        floats[kernels.F_GAMMA_EXPONENT] = self.gamma_exponent


@_with_doc
class BootstrapBandit(OnlinePolicy):
    """Online bagging: each action's probability is the share of bags that choose it.

    Every bag keeps its own value model per action and sees each learnt row a
    Poisson(1) number of times (Oza & Russell's online bootstrap); disagreement
    between bags is the exploration, a Thompson sampling over the bootstrap
    distribution whose probabilities are exact (a count over the bags).

    Parameters
    ----------
    %(common)s
    n_estimators : int, default=10
        Bags.

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import BootstrapBandit
    >>> policy = BootstrapBandit(n_estimators=4, random_state=0)
    >>> _ = policy.fit([[1.0]] * 8, [0, 1] * 4, rewards=[0.0, 1.0] * 4)
    >>> pmf = policy.predict_proba([[1.0]])
    >>> bool(np.all(pmf * 4 == np.round(pmf * 4)))  # counts of 4 bags
    True
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints, **_ESTIMATOR,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
    }
    _policy = kernels.BOOTSTRAP

    def __init__(self, estimator=None, *, action_features=None,
                 n_estimators=10, min_probability=0.0,
                 random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.n_estimators = n_estimators
        self.min_probability = min_probability
        self.random_state = random_state

    def _n_bags(self):
        return self.n_estimators


_RIDGE_DOC = """The ridge statistics of every action, ``A = I + sum x x^T`` over the
    contexts it was taken in (with a constant 1 appended) and ``theta = A^-1 sum r x``,
    are updated by Sherman-Morrison in compiled code: O(d^2) a round, no solve."""


class LinUCBBandit(OnlinePolicy):
    """The action of the largest upper confidence bound of a ridge regression
    per action (disjoint LinUCB, Li et al. 2010).

    The bound is ``theta_a . x + alpha * sqrt(x^T A_a^-1 x)``. %(ridge)s The pmf
    is one-hot on the largest bound (ties share it), mixed with the
    ``min_probability`` floor.

    Parameters
    ----------
    alpha : float, default=0.2
        Width of the confidence bound in reward units per standard error. (The
        textbook 1.0 explores far too long for rewards in [0, 1]: on digits, 0.38
        progressive loss against 0.22 at 0.2.)
    min_probability : float, default=0.0
        Floor on every available action's probability (at most ``1 / n_actions``).
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling stream at the first ``fit`` / ``partial_fit``.

    Attributes
    ----------
    actions_ : ndarray of shape (n_actions,)
        The actions, sorted.
    ridge_coef_ : ndarray of shape (n_actions, n_features + 1)
        ``theta`` per action (the intercept last).
    ridge_inverse_ : ndarray of shape (n_actions, n_features + 1, n_features + 1)
        ``A^-1`` per action.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import LinUCBBandit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> logged = rng.integers(0, 2, 300)
    >>> rewards = np.where(logged == 1, X[:, 0], -X[:, 0])
    >>> policy = LinUCBBandit(alpha=0.5, random_state=0)
    >>> _ = policy.fit(X, logged, rewards=rewards, probabilities=np.full(300, 0.5))
    >>> policy.predict([[1.5, 0.0], [-1.5, 0.0]])
    array([1, 0])
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }
    _policy = kernels.LINUCB
    _uses_heads = False
    _uses_ridge = True

    def __init__(self, *, alpha=0.2, min_probability=0.0, random_state=None):
        self.alpha = alpha
        self.min_probability = min_probability
        self.random_state = random_state

    def _policy_settings(self, ints, floats):
        floats[kernels.F_WIDTH] = self.alpha


class LinTSBandit(OnlinePolicy):
    """Thompson sampling from a Gaussian posterior of a ridge regression per action
    (Agrawal & Goyal 2013).

    Action ``a``'s reward at ``x`` is drawn from ``N(theta_a . x, (scale)^2 x^T A_a^-1
    x)``, the exact marginal of its posterior. %(ridge)s The probability of each
    action, the chance that its draw is the largest, is estimated from
    ``n_draws`` draws addressed by the policy's seed, the rounds learnt and the
    context, and the action is sampled from that estimate: the logged propensity is
    the probability the action was really taken with.

    Parameters
    ----------
    scale : float, default=0.1
        Posterior scale ``v``: how much the draws spread around the ridge estimate.
        Small values suit rewards in [0, 1] (on digits 0.02-0.1 did best; 1.0
        stays close to uniform for hundreds of rounds).
    n_draws : int, default=100
        Posterior draws per context that estimate the pmf.
    min_probability : float, default=0.0
        Floor on every available action's probability (at most ``1 / n_actions``).
    random_state : int, RandomState instance or None, default=None
        Seeds the streams at the first ``fit`` / ``partial_fit``.

    Attributes
    ----------
    actions_ : ndarray of shape (n_actions,)
        The actions, sorted.
    ridge_coef_ : ndarray of shape (n_actions, n_features + 1)
        Posterior means per action (the intercept last).
    ridge_inverse_ : ndarray of shape (n_actions, n_features + 1, n_features + 1)
        ``A^-1`` per action.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import LinTSBandit
    >>> policy = LinTSBandit(n_draws=50, random_state=0)
    >>> _ = policy.fit([[1.0]] * 20, [0, 1] * 10, rewards=[0.0, 1.0] * 10)
    >>> pmf = policy.predict_proba([[1.0]])
    >>> bool(pmf[0, 1] > 0.5), bool(np.allclose(pmf * 50, np.round(pmf * 50)))
    (True, True)
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints,
        "scale": [Interval(Real, 0, None, closed="left")],
        "n_draws": [Interval(Integral, 1, None, closed="left")],
    }
    _policy = kernels.LINTS
    _uses_heads = False
    _uses_ridge = True

    def __init__(self, *, scale=0.1, n_draws=100, min_probability=0.0,
                 random_state=None):
        self.scale = scale
        self.n_draws = n_draws
        self.min_probability = min_probability
        self.random_state = random_state

    def _policy_settings(self, ints, floats):
        floats[kernels.F_WIDTH] = self.scale
        ints[kernels.I_N_DRAWS] = self.n_draws


@_with_doc
class RegCBBandit(OnlinePolicy):
    """Optimism within a declared reward range (RegCB-optimistic, Foster et al. 2018).

    The value model's estimate plus a confidence radius, clipped to the top of
    ``reward_range``: the action of the largest such upper bound is taken. The
    radius is ``confidence * sqrt(log(t + 2) * x^T A_a^-1 x)`` with ``A_a`` the
    ridge statistics of action ``a``'s contexts, so an action seldom tried in
    contexts like ``x`` keeps a wide bound until it has been tried. (RegCB's
    elimination never removes the action of the largest upper bound, so the
    optimistic rule needs only the upper bounds.) The best policy overall in
    Bietti, Agarwal & Langford's bake-off (JMLR 2021).

    Parameters
    ----------
    %(common)s
    reward_range : tuple of two floats, default=(0.0, 1.0)
        The rewards' declared (low, high): upper bounds never exceed ``high``.
    confidence : float, default=0.02
        Scale of the confidence radius (VW's "mellowness"). On digits 0.01-0.1
        did best; 1.0 kept exploring (0.90 progressive loss).

    %(attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit import RegCBBandit
    >>> policy = RegCBBandit(confidence=0.1, random_state=0)
    >>> _ = policy.fit([[1.0]] * 40, [0, 1] * 20, rewards=[0.2, 0.9] * 20)
    >>> policy.predict_proba([[1.0]])
    array([[0., 1.]])
    """

    _parameter_constraints = {
        **OnlinePolicy._parameter_constraints, **_ESTIMATOR,
        "reward_range": [tuple],
        "confidence": [Interval(Real, 0, None, closed="left")],
    }
    _policy = kernels.REGCB
    _uses_ridge = True

    def __init__(self, estimator=None, *, action_features=None,
                 reward_range=(0.0, 1.0), confidence=0.02,
                 min_probability=0.0, random_state=None):
        self.estimator = estimator
        self.action_features = action_features
        self.reward_range = reward_range
        self.confidence = confidence
        self.min_probability = min_probability
        self.random_state = random_state

    def _validate_params(self):
        super()._validate_params()
        bounds = self.reward_range
        if not (len(bounds) == 2 and all(isinstance(v, Real) for v in bounds)
                and bounds[0] < bounds[1]):
            raise ValueError(f"reward_range must be (low, high) with low < high; got "
                             f"{self.reward_range!r}.")

    def _policy_settings(self, ints, floats):
        floats[kernels.F_WIDTH] = self.confidence
        floats[kernels.F_REWARD_LOW], floats[kernels.F_REWARD_HIGH] = self.reward_range


for _cls in (LinUCBBandit, LinTSBandit):
    _cls.__doc__ = _cls.__doc__.replace("%(ridge)s", _RIDGE_DOC)
