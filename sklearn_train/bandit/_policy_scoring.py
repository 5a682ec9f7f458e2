"""Off-policy values of fitted policies: ``evaluate_policy`` and the search scorer.

Public through ``sklearn_train.bandit.evaluation``.
"""

import numpy as np
from sklearn.utils.metadata_routing import MetadataRequest

from ._off_policy import ESTIMATORS


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _label_indices(labels, known, name):
    """Column index in ``known`` (a policy's ``actions_``) of every label."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of action labels, got shape {labels.shape}")
    column = {label: i for i, label in enumerate(np.asarray(known).tolist())}
    indices = np.array([column.get(label, -1) for label in labels.tolist()], dtype=np.intp)
    if np.any(indices < 0):
        unknown = list(dict.fromkeys(labels[indices < 0].tolist()))
        raise ValueError(
            f"{name} holds labels the policy does not know: {unknown[:5]}; its "
            f"actions_ are {np.asarray(known).tolist()}"
        )
    return indices


def _check_estimator_options(estimator, tau, clip):
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    if estimator == "switch_dr" and tau is None:
        raise ValueError("estimator='switch_dr' needs tau, its importance-weight threshold")
    if estimator != "switch_dr" and tau is not None:
        raise ValueError(f"tau is used by switch_dr only, not by {estimator!r}")
    if estimator == "dm" and clip is not None:
        raise ValueError("clip caps importance weights, which dm does not use")


def _reward_estimates(reward_model, X, actions):
    """``reward_model.decision_function(X)``, its columns checked against ``actions``."""
    model_actions = getattr(reward_model, "actions_", None)
    if model_actions is not None and not np.array_equal(np.asarray(model_actions), actions):
        raise ValueError(
            "reward_model.actions_ differ from the policy's actions_: the columns of "
            "their outputs would not describe the same actions"
        )
    return reward_model.decision_function(X)


def _value(estimator, pmf, X, index, rewards, probabilities, reward_model, options):
    """Run the named estimator on a target pmf; ``options``: tau, clip, confidence."""
    tau, clip, confidence = options
    if estimator in ("ips", "snips"):
        return ESTIMATORS[estimator](
            rewards, probabilities, pmf, actions=index, clip=clip, confidence=confidence
        )
    q = reward_model(X)
    if estimator == "dm":
        return ESTIMATORS["dm"](q, pmf, confidence=confidence)
    extra = {"tau": tau} if estimator == "switch_dr" else {}
    return ESTIMATORS[estimator](
        rewards, probabilities, pmf, index, q, clip=clip, confidence=confidence, **extra
    )


def _check_pmf_columns(pmf, actions, source):
    pmf = np.asarray(pmf)
    if pmf.ndim != 2 or pmf.shape[1] != actions.size:
        raise ValueError(
            f"{source} must have one column per action of actions_ ({actions.size}), "
            f"got shape {pmf.shape}"
        )
    return pmf


def evaluate_policy(
    policy, X, actions, rewards, probabilities, *, estimator="snips", reward_model=None,
    tau=None, clip=None, confidence=0.95,
):
    """Estimate from a bandit log the value of a fitted policy's exploration pmf.

    Parameters
    ----------
    policy : object
        A fitted policy with ``predict_proba(X)`` (a pmf matrix) and ``actions_``
        (the action labels of its columns).

    X : array-like of shape (n, n_features)
        The logged contexts.

    actions : array-like of shape (n,)
        The logged action labels; each must be one of ``policy.actions_``.

    rewards : array-like of shape (n,)
        The logged rewards.

    probabilities : array-like of shape (n,)
        The logging policy's probability of each logged action, in (0, 1].

    estimator : {"ips", "snips", "dm", "dr", "switch_dr"}, default="snips"
        Which off-policy estimator to use (the functions of this module).

    reward_model : object, default=None
        For dm, dr and switch_dr: an object whose ``decision_function(X)`` gives
        the estimated reward of every action (n, n_actions), columns in
        ``policy.actions_`` order. None uses the policy itself.

    tau : float, default=None
        The switch threshold; required by (and only allowed with) switch_dr.

    clip : float, default=None
        Cap on the importance weights (not with dm); biases the estimate downwards
        for non-negative rewards.

    confidence : float, default=0.95
        Level of the confidence interval.

    Returns
    -------
    PolicyValue

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit.evaluation import evaluate_policy
    >>> class Uniform:
    ...     actions_ = np.array(["a", "b"])
    ...     def predict_proba(self, X):
    ...         return np.full((len(X), 2), 0.5)
    >>> X = np.zeros((4, 1))
    >>> evaluate_policy(Uniform(), X, ["a", "b", "b", "a"], [1.0, 0.0, 1.0, 1.0],
    ...                 [0.5, 0.5, 0.5, 0.5]).value
    0.75
    """
    _check_estimator_options(estimator, tau, clip)
    known = np.asarray(policy.actions_)
    index = _label_indices(actions, known, "actions")
    if index.size != _n_rows(X):
        raise ValueError(f"actions has {index.size} rows but X has {_n_rows(X)}")
    pmf = _check_pmf_columns(policy.predict_proba(X), known, "policy.predict_proba(X)")
    model = policy if reward_model is None else reward_model
    return _value(
        estimator, pmf, X, index, rewards, probabilities,
        lambda X: _reward_estimates(model, X, known), (tau, clip, confidence),
    )


class PolicyScorer:
    """A scorer ``scorer(estimator, X, y, rewards=..., probabilities=...)`` for searches.

    Made by :func:`make_policy_scorer`, which documents it. It requests ``rewards``
    and ``probabilities`` from scikit-learn's metadata routing by default (they are
    what it scores with); ``set_score_request`` renames or drops them.
    """

    def __init__(self, estimator="snips", greedy=True, tau=None, clip=None):
        _check_estimator_options(estimator, tau, clip)
        self.estimator = estimator
        self.greedy = greedy
        self.tau = tau
        self.clip = clip
        self._requests = {"rewards": True, "probabilities": True}

    def __repr__(self):
        return (f"make_policy_scorer(estimator={self.estimator!r}, greedy={self.greedy!r}"
                + (f", tau={self.tau!r}" if self.tau is not None else "")
                + (f", clip={self.clip!r}" if self.clip is not None else "") + ")")

    def set_score_request(self, *, rewards=True, probabilities=True):
        """Choose how routed metadata reach the scorer: True, False, None or an alias.

        Returns
        -------
        self
        """
        request = MetadataRequest(owner=self)
        for param, alias in (("rewards", rewards), ("probabilities", probabilities)):
            request.score.add_request(param=param, alias=alias)  # validates alias
        self._requests = {"rewards": rewards, "probabilities": probabilities}
        return self

    def get_metadata_routing(self):
        """The metadata this scorer consumes in ``score``: a ``MetadataRequest``."""
        request = MetadataRequest(owner=self)
        for param, alias in self._requests.items():
            request.score.add_request(param=param, alias=alias)
        return request

    def __call__(self, estimator, X, y, rewards=None, probabilities=None):
        """The estimated value (higher is better) of ``estimator`` on a log."""
        if rewards is None or probabilities is None:
            raise ValueError(
                "a policy scorer needs the log's rewards and probabilities: in a search "
                "enable metadata routing (sklearn.set_config(enable_metadata_routing="
                "True)) and pass rewards=..., probabilities=... to fit; directly, call "
                "scorer(estimator, X, y, rewards=..., probabilities=...)"
            )
        known = np.asarray(estimator.actions_)
        index = _label_indices(y, known, "y")
        if self.greedy:
            chosen = _label_indices(estimator.predict(X), known, "estimator.predict(X)")
            pmf = np.zeros((chosen.size, known.size))
            pmf[np.arange(chosen.size), chosen] = 1.0
        else:
            pmf = _check_pmf_columns(estimator.predict_proba(X), known,
                                     "estimator.predict_proba(X)")
        result = _value(
            self.estimator, pmf, X, index, rewards, probabilities,
            lambda X: _reward_estimates(estimator, X, known),
            (self.tau, self.clip, 0.95),
        )
        return result.value


def make_policy_scorer(estimator="snips", *, greedy=True, tau=None, clip=None):
    """A scorer of a policy's off-policy value, for GridSearchCV and friends.

    The scorer is called as ``scorer(policy, X, y, rewards=..., probabilities=...)``
    with ``y`` the logged action labels, and returns the estimated value. In a
    search, ``rewards`` and ``probabilities`` reach it through scikit-learn's
    metadata routing: enable it, let the policy request them in ``fit``
    (``policy.set_fit_request(rewards=True, probabilities=True)``) and pass them
    to the search's ``fit``; the scorer requests both by default and receives the
    test fold's rows.

    Parameters
    ----------
    estimator : {"ips", "snips", "dm", "dr", "switch_dr"}, default="snips"
        The off-policy estimator; dm, dr and switch_dr take the reward estimates
        from the scored policy's ``decision_function(X)``.

    greedy : bool, default=True
        Score the greedy policy (all mass on ``policy.predict(X)``) when True, the
        exploration pmf ``policy.predict_proba(X)`` when False.

    tau : float, default=None
        The switch threshold; required by (and only allowed with) switch_dr.

    clip : float, default=None
        Cap on the importance weights (not with dm).

    Returns
    -------
    PolicyScorer
        Callable as above, with ``set_score_request`` and ``get_metadata_routing``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.bandit.evaluation import make_policy_scorer
    >>> class AlwaysB:
    ...     actions_ = np.array(["a", "b"])
    ...     def predict(self, X):
    ...         return np.full(len(X), "b")
    >>> scorer = make_policy_scorer("ips")
    >>> scorer(AlwaysB(), np.zeros((4, 1)), ["a", "b", "b", "a"],
    ...        rewards=[1.0, 0.0, 1.0, 1.0], probabilities=[0.5, 0.5, 0.5, 0.5])
    0.5
    """
    return PolicyScorer(estimator, greedy=greedy, tau=tau, clip=clip)
