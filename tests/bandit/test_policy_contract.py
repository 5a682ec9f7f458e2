"""The policies as scikit-learn estimators: the estimator checks (through an adapter
that makes rewards from the labels), clone, pickle, routing in GridSearchCV and
Pipeline, and hostile input that must fail clearly and leave the policy as it was.

Why an adapter. ``fit(X, y, *, rewards)`` needs the rewards of the logged actions ``y``;
scikit-learn's checks call ``fit(X, y)``. The test subclasses below give ``rewards``
(and, for the offline learners and ``score``, the ``probabilities`` of a uniform
logging policy) a default computed from ``y`` alone, so every check runs against the
policy's own code. No check is skipped: the policies are neither
classifiers nor regressors to scikit-learn, so the checks that would need a
meaningful target (accuracy thresholds, regression targets) are not in the set it
yields for them.
"""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_train import LinearRegressor
from sklearn_train.bandit import (
    BootstrapBandit,
    DRPolicyLearner,
    IPSPolicyLearner,
    PolicyGradientLearner,
    EpsilonGreedyBandit,
    GreedyBandit,
    LinTSBandit,
    LinUCBBandit,
    RegCBBandit,
    SoftmaxBandit,
    SquareCBBandit,
    bandit_from_classification,
    progressive_validation,
)
from sklearn_train.bandit.evaluation import make_policy_scorer

CLASSES = [GreedyBandit, EpsilonGreedyBandit, SoftmaxBandit, SquareCBBandit,
           BootstrapBandit, LinUCBBandit, LinTSBandit, RegCBBandit]
OFFLINE = [IPSPolicyLearner, DRPolicyLearner, PolicyGradientLearner]


def _rewards_from(y):
    """Deterministic rewards from the logged actions: 1 for even-ranked labels."""
    if y is None:
        return None  # (the policy says that it needs y)
    y = np.asarray(y)
    if y.ndim != 1:
        return np.zeros(len(y))  # (the policy refuses such a y before using these)
    _, codes = np.unique(y, return_inverse=True)
    return (codes % 2 == 0).astype(float)


def _adapted(cls):
    """``cls`` with rewards (and score's probabilities) defaulting to ones made from y."""

    def fit(self, X, y, *, rewards=None, probabilities=None, actions=None):
        rewards = _rewards_from(y) if rewards is None else rewards
        if probabilities is None and cls in OFFLINE and rewards is not None:
            # a uniform logging policy over the logged actions
            probabilities = np.full(len(rewards), 1.0 / max(len(np.unique(y)), 1))
        return cls.fit(self, X, y, rewards=rewards, probabilities=probabilities,
                       actions=actions)

    def partial_fit(self, X, y, *, rewards=None, probabilities=None, actions=None):
        rewards = _rewards_from(y) if rewards is None else rewards
        return cls.partial_fit(self, X, y, rewards=rewards, probabilities=probabilities,
                               actions=actions)

    def score(self, X, y, *, rewards=None, probabilities=None):
        rewards = _rewards_from(y) if rewards is None else rewards
        if probabilities is None:
            probabilities = np.full(len(rewards), 1.0 / len(self.actions_))
        try:
            return cls.score(self, X, y, rewards=rewards, probabilities=probabilities)
        except ValueError as error:
            if "no logged action is the greedy one" in str(error):
                return 0.0  # (a check's random log may miss the greedy action)
            raise

    name = f"{cls.__name__}WithRewards"
    methods = {"fit": fit, "score": score, "__module__": __name__}
    if hasattr(cls, "partial_fit"):
        methods["partial_fit"] = partial_fit
    adapted = type(name, (cls,), methods)
    globals()[name] = adapted  # (pickle finds classes by their module's names)
    return adapted


def _check_instances():
    """Every class once; the regression learners' regressors at 20 epochs (the
    default 1000 on the checks' tiny random logs only spends time)."""
    quick = LinearRegressor(max_iter=20, tol=None)
    options = {IPSPolicyLearner: {"estimator": quick},
               DRPolicyLearner: {"estimator": quick, "reward_estimator": quick, "cv": 2},
               PolicyGradientLearner: {"max_iter": 20}}
    return [_adapted(cls)(random_state=0, **options.get(cls, {}))
            for cls in CLASSES + OFFLINE]


@parametrize_with_checks(_check_instances())
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- clone, pickle, routing ----------------------------------------------------------

def digits_log(n=600, seed=0):
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    data = bandit_from_classification(X[:n] / 16.0, y[:n])
    return data, data.log(random_state=seed)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pickle_keeps_predictions_and_the_random_stream(cls):
    data, (X, a, r, p) = digits_log(300)
    policy = cls(random_state=0).fit(X, a, rewards=r, probabilities=p)
    copy = pickle.loads(pickle.dumps(policy))
    np.testing.assert_array_equal(copy.predict_proba(X), policy.predict_proba(X))
    first, _ = policy.sample_action(X[:50])
    again, _ = copy.sample_action(X[:50])
    np.testing.assert_array_equal(first, again)  # the stream continues where it was
    assert not hasattr(clone(policy), "actions_")


def test_grid_search_tunes_alpha_through_metadata_routing():
    data, (X, a, r, p) = digits_log(900)
    grid = {"alpha": [0.05, 5.0]}
    with sklearn.config_context(enable_metadata_routing=True):
        policy = LinUCBBandit(random_state=0).set_fit_request(rewards=True,
                                                              probabilities=True)
        search = GridSearchCV(policy, grid, scoring=make_policy_scorer("snips"), cv=3,
                              error_score="raise").fit(X, a, rewards=r, probabilities=p)
    assert search.best_params_ == {"alpha": 0.05}  # a greedier ridge on a uniform log
    fold = np.arange(300, 900)
    by_hand = LinUCBBandit(alpha=0.05, random_state=0).fit(
        X[fold], a[fold], rewards=r[fold], probabilities=p[fold])
    scorer = make_policy_scorer("snips")
    expected = scorer(by_hand, X[:300], a[:300], rewards=r[:300], probabilities=p[:300])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)


def test_pipeline_routes_rewards_to_the_policy():
    data, (X, a, r, p) = digits_log(600)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), SquareCBBandit(random_state=0)
                             .set_fit_request(rewards=True, probabilities=True))
        pipe.fit(X, a, rewards=r, probabilities=p)
    scaled = StandardScaler().fit_transform(X)
    alone = SquareCBBandit(random_state=0).fit(scaled, a, rewards=r, probabilities=p)
    np.testing.assert_allclose(pipe.predict_proba(X), alone.predict_proba(scaled))


# -- hostile input ---------------------------------------------------------------------

def _fitted():
    data, (X, a, r, p) = digits_log(200)
    return LinUCBBandit(random_state=0).fit(X, a, rewards=r, probabilities=p), X, a, r, p


def _state(policy):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v)
            for k, v in vars(policy).items() if k.endswith("_")}


def _assert_same_state(before, policy):
    after = _state(policy)
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=key)
        else:
            assert after[key] == value, key


BAD_LOGS = {
    "short rewards": (lambda X, a, r, p: (X, a, r[:-1], p), "rewards must be one number"),
    "long probabilities": (lambda X, a, r, p: (X, a, r, np.append(p, 0.5)),
                           "probabilities must be one number"),
    "zero probability": (lambda X, a, r, p: (X, a, r, np.where(np.arange(len(p)) == 3, 0.0, p)),
                         r"\(0, 1\]"),
    "probability above 1": (lambda X, a, r, p: (X, a, r, p + 1.0), r"\(0, 1\]"),
    "NaN reward": (lambda X, a, r, p: (X, a, np.where(np.arange(len(r)) == 2, np.nan, r), p),
                   "rewards contains NaN"),
    "infinite context": (lambda X, a, r, p: (np.where(X == X.max(), np.inf, X), a, r, p),
                         "infinity|NaN"),
    "unknown action": (lambda X, a, r, p: (X, np.where(np.arange(len(a)) == 1, 99, a), r, p),
                       r"\[99\] are not in actions_"),
    "wrong width": (lambda X, a, r, p: (X[:, :10], a, r, p), "features"),
    "no rows": (lambda X, a, r, p: (X[:0], a[:0], r[:0], p[:0]), "0 sample"),
}


@pytest.mark.parametrize("case", list(BAD_LOGS))
def test_bad_logs_fail_clearly_and_leave_the_policy_as_it_was(case):
    policy, X, a, r, p = _fitted()
    before = _state(policy)
    make, message = BAD_LOGS[case]
    X, a, r, p = make(X, a, r, p)
    with pytest.raises(ValueError, match=message):
        policy.partial_fit(X, a, rewards=r, probabilities=p)
    _assert_same_state(before, policy)


def test_bad_parameters_fail_on_any_call_and_leave_the_policy_as_it_was():
    policy, X, a, r, p = _fitted()
    before = _state(policy)
    policy.set_params(alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        policy.partial_fit(X, a, rewards=r, probabilities=p)
    _assert_same_state(before, policy)
    policy.set_params(alpha=0.2, min_probability=0.5)
    with pytest.raises(ValueError, match="min_probability"):
        policy.fit(X, a, rewards=r)
    _assert_same_state(before, policy)
    # the questions that explore check them too: a negative alpha or a floor above
    # 1/K would give a wrong distribution, not an error
    for params, message in (({"alpha": -1.0}, "alpha"),
                            ({"alpha": 0.2, "min_probability": 0.5}, "at most 0.1")):
        policy.set_params(**params)
        for question in (policy.predict_proba, policy.sample_action):
            with pytest.raises(ValueError, match=message):
                question(X[:2])
        _assert_same_state(before, policy)
    policy.set_params(min_probability=0.0)
    assert np.allclose(policy.predict_proba(X[:2]).sum(axis=1), 1.0)


def test_bad_value_model_parameters_fail_though_the_policy_trains_its_heads():
    # the compiled heads never call the model's fit, which would have checked them
    data, (X, a, r, p) = digits_log(200)
    policy = SquareCBBandit(LinearRegressor(learning_rate="constant"), random_state=0)
    policy.fit(X, a, rewards=r)
    before = _state(policy)
    for name, value in (("eta0", -1.0), ("optimizer", "nope")):
        policy.set_params(**{f"estimator__{name}": value})
        with pytest.raises(ValueError, match=name):
            policy.partial_fit(X, a, rewards=r)
        _assert_same_state(before, policy)
        policy.set_params(estimator=LinearRegressor(learning_rate="constant"))


def test_a_diverging_value_model_is_refused_and_rolled_back():
    from sklearn_train import LinearRegressor
    data, (X, a, r, p) = digits_log(200)
    policy = EpsilonGreedyBandit(LinearRegressor(learning_rate="constant", eta0=1e3),
                                 random_state=0)
    policy.partial_fit(X[:1], a[:1], rewards=r[:1], actions=data.actions)
    before = _state(policy)
    with pytest.raises(ValueError, match="diverged"):
        policy.partial_fit(X * 1e6, a, rewards=r * 1e6)
    _assert_same_state(before, policy)


@pytest.mark.parametrize("kwargs, message", [
    ({"actions": [1]}, "at least 2 actions"),
    ({"actions": [1, 1, 2]}, "repeated"),
])
def test_bad_action_sets(kwargs, message):
    data, (X, a, r, p) = digits_log(100)
    with pytest.raises(ValueError, match=message):
        GreedyBandit().fit(X, a, rewards=r, **kwargs)
    one = np.zeros(len(a), dtype=int)
    with pytest.raises(ValueError, match="at least 2 actions"):
        GreedyBandit().fit(X, one, rewards=r)


def test_floor_above_one_over_k_and_bad_masks():
    data, (X, a, r, p) = digits_log(100)
    with pytest.raises(ValueError, match=r"at most 0\.1"):
        GreedyBandit(min_probability=0.2).fit(X, a, rewards=r)
    policy = GreedyBandit().fit(X, a, rewards=r)
    with pytest.raises(ValueError, match="boolean"):
        policy.predict_proba(X[:2], np.ones((2, 10)))
    with pytest.raises(ValueError, match="shape"):
        policy.predict_proba(X[:2], np.ones((2, 9), bool))
    closed = np.ones((2, 10), bool)
    closed[1] = False
    with pytest.raises(ValueError, match="no action for rows \\[1\\]"):
        policy.sample_action(X[:2], closed)
    assert policy.counters_[1] == 0  # the failed draw did not move the stream


def test_later_calls_must_keep_the_declared_actions():
    data, (X, a, r, p) = digits_log(100)
    policy = GreedyBandit().partial_fit(X, a, rewards=r, actions=data.actions)
    with pytest.raises(ValueError, match="differs from the declared"):
        policy.partial_fit(X, a, rewards=r, actions=np.arange(11))


def test_unfitted_calls_say_so():
    from sklearn.exceptions import NotFittedError
    X = np.zeros((2, 3))
    for method in ("predict", "predict_proba", "decision_function", "sample_action"):
        with pytest.raises(NotFittedError):
            getattr(LinTSBandit(), method)(X)


def test_simulated_policy_is_a_fitted_estimator():
    data, _ = digits_log(300)
    policy = progressive_validation(LinUCBBandit(random_state=0), data).policy
    assert policy.n_features_in_ == 64
    np.testing.assert_array_equal(policy.actions_, np.arange(10))
    # and learns on from a log like any fitted policy
    X, a, r, p = data.log(random_state=1)
    policy.partial_fit(X, a, rewards=r, probabilities=p)
    assert policy.counters_[0] == 600
