"""Off-policy estimators against exact values: bias, interval coverage, identities,
the policy-level helpers, the search scorer through metadata routing, and the errors."""

import dataclasses

import numpy as np
import pytest
import sklearn
from scipy.stats import norm
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_train.bandit.evaluation import (
    PolicyValue,
    dm,
    dr,
    evaluate_policy,
    ips,
    make_policy_scorer,
    snips,
    switch_dr,
)

N_ACTIONS, N_FEATURES, N_CONTEXTS = 4, 3, 60
REPEATS, N_ROWS = 200, 400


def _softmax(scores):
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def world():
    """A finite population of contexts with known reward means and two policies.

    Contexts are drawn uniformly from ``N_CONTEXTS`` fixed points, so the target's
    true value is an exact finite mean of ``sum_a pi(a|x) m(x, a)``.
    """
    rng = np.random.default_rng(20170601)
    contexts = rng.normal(size=(N_CONTEXTS, N_FEATURES))
    means = 1.0 / (1.0 + np.exp(-(contexts @ rng.normal(size=(N_FEATURES, N_ACTIONS))
                                  + rng.normal(size=N_ACTIONS))))
    logging = _softmax(0.5 * contexts @ rng.normal(size=(N_FEATURES, N_ACTIONS)))
    # Half of the logging mass is uniform, so weights stay below 2 * N_ACTIONS: with
    # far heavier weights (max ~25 here without it) the normal interval of IPS at 400
    # rows undercovers on some seeds (78% seen), a real limit of the approximation.
    logging = 0.5 * logging + 0.5 / N_ACTIONS
    target = _softmax(contexts @ rng.normal(size=(N_FEATURES, N_ACTIONS)))
    truth = float(np.mean(np.sum(target * means, axis=1)))

    # REPEATS logs of N_ROWS rows each, drawn at once: (REPEATS, N_ROWS) arrays.
    rows = rng.integers(N_CONTEXTS, size=(REPEATS, N_ROWS))
    cdf = np.cumsum(logging[rows], axis=-1)
    u = rng.random((REPEATS, N_ROWS, 1))
    actions = np.minimum((u > cdf).sum(axis=-1), N_ACTIONS - 1)
    logged_means = means[rows, actions]
    rewards = (rng.random((REPEATS, N_ROWS)) < logged_means).astype(float)
    return dict(
        truth=truth, means=means, target=target, rows=rows, actions=actions,
        rewards=rewards, probabilities=logging[rows, actions],
    )


def _run(world, name, reward_model=None, **kwargs):
    """The estimator ``name`` on every repeated log: a list of PolicyValue."""
    out = []
    for k in range(REPEATS):
        rows, a = world["rows"][k], world["actions"][k]
        pmf = world["target"][rows]
        r, p = world["rewards"][k], world["probabilities"][k]
        q = None if reward_model is None else reward_model[rows]
        if name in ("ips", "snips"):
            out.append({"ips": ips, "snips": snips}[name](r, p, pmf, actions=a, **kwargs))
        elif name == "dm":
            out.append(dm(q, pmf))
        else:
            out.append({"dr": dr, "switch_dr": switch_dr}[name](r, p, pmf, a, q, **kwargs))
    return out


def _values(results):
    return np.array([v.value for v in results])


def _coverage(results, truth):
    return np.mean([v.ci_low <= truth <= v.ci_high for v in results])


# ---- statistical properties against the exact value ------------------------------


def test_ips_is_unbiased(world):
    values = _values(_run(world, "ips"))
    se_of_mean = values.std(ddof=1) / np.sqrt(REPEATS)
    assert abs(values.mean() - world["truth"]) < 3 * se_of_mean


def test_dr_is_unbiased_with_a_wrong_reward_model_and_dm_is_not(world):
    wrong = world["means"] + 0.3
    dr_values = _values(_run(world, "dr", wrong))
    dm_values = _values(_run(world, "dm", wrong))
    assert abs(dr_values.mean() - world["truth"]) < 3 * dr_values.std(ddof=1) / np.sqrt(REPEATS)
    assert abs(dm_values.mean() - world["truth"]) > 0.25


@pytest.mark.parametrize(
    "name, model, kwargs",
    [
        ("ips", None, {}),
        ("snips", None, {}),
        ("dm", "true", {}),
        ("dr", "wrong", {}),
        ("dr", "true", {}),
        ("switch_dr", "true", {"tau": 2.0}),
    ],
)
def test_confidence_intervals_cover_the_truth_about_95_percent(world, name, model, kwargs):
    q = {None: None, "true": world["means"], "wrong": world["means"] + 0.3}[model]
    coverage = _coverage(_run(world, name, q, **kwargs), world["truth"])
    assert 0.88 <= coverage <= 0.99, coverage


def test_standard_errors_match_the_spread_over_repeats(world):
    for name in ("ips", "snips"):
        results = _run(world, name)
        reported = np.mean([v.std_error for v in results])
        observed = _values(results).std(ddof=1)
        assert 0.8 < reported / observed < 1.25, (name, reported, observed)


def test_dr_with_a_good_reward_model_has_lower_variance_than_ips(world):
    ratio = _values(_run(world, "dr", world["means"])).var() / _values(_run(world, "ips")).var()
    assert ratio < 0.7, ratio  # 0.41 here; 0.41-0.58 over six seeds of the world


def test_clipping_lowers_ips_for_non_negative_rewards(world):
    clipped = _values(_run(world, "ips", clip=1.0))
    unclipped = _values(_run(world, "ips"))
    assert np.all(clipped <= unclipped)
    assert clipped.mean() < world["truth"] - 3 * clipped.std(ddof=1) / np.sqrt(REPEATS)


# ---- exact identities and hand computations ---------------------------------------

R4 = np.array([1.0, 0.0, 1.0, 0.5])
MU4 = np.array([0.5, 0.25, 0.8, 0.1])
PI4 = np.array([1.0, 0.5, 0.2, 0.0])  # weights 2, 2, 0.25, 0


def test_snips_equals_a_hand_computation():
    result = snips(R4, MU4, PI4)
    value = 2.25 / 4.25  # (2*1 + 2*0 + 0.25*1 + 0) / (2 + 2 + 0.25 + 0)
    deviations = np.array([2 * (1 - value), 2 * (0 - value), 0.25 * (1 - value), 0.0])
    std_error = np.sqrt(np.sum(deviations**2) / (4 * 3)) / (4.25 / 4)
    z = norm.ppf(0.975)
    assert result.value == pytest.approx(9 / 17, rel=1e-12)
    assert result.std_error == pytest.approx(std_error, rel=1e-12)
    assert result.ci_low == pytest.approx(value - z * std_error, rel=1e-12)
    assert result.ci_high == pytest.approx(value + z * std_error, rel=1e-12)
    assert result.effective_sample_size == pytest.approx(4.25**2 / 8.0625, rel=1e-12)
    assert result.n == 4


def test_ips_equals_a_hand_computation_and_clip():
    assert ips(R4, MU4, PI4).value == pytest.approx(2.25 / 4)
    assert ips(R4, MU4, PI4).std_error == pytest.approx(np.std([2, 0, 0.25, 0], ddof=1) / 2)
    assert ips(R4, MU4, PI4, clip=1.0).value == pytest.approx(1.25 / 4)
    assert snips(R4, MU4, PI4, clip=1.0).value == pytest.approx(1.25 / 2.25)


def test_a_pmf_matrix_with_actions_equals_the_logged_probabilities():
    rng = np.random.default_rng(1)
    pmf = _softmax(rng.normal(size=(50, 3)))
    a = rng.integers(3, size=50)
    r, mu = rng.random(50), rng.uniform(0.1, 1.0, 50)
    for f in (ips, snips):
        assert f(r, mu, pmf, actions=a) == f(r, mu, pmf[np.arange(50), a])


def _dr_inputs(seed=2, n=80, k=4):
    rng = np.random.default_rng(seed)
    pmf = _softmax(2 * rng.normal(size=(n, k)))
    a = rng.integers(k, size=n)
    return rng.normal(size=n), rng.uniform(0.05, 1.0, n), pmf, a, rng.normal(size=(n, k))


def test_switch_dr_is_dr_at_tau_inf_and_dm_at_tau_zero():
    r, mu, pmf, a, q = _dr_inputs()
    assert switch_dr(r, mu, pmf, a, q, tau=np.inf).value == pytest.approx(
        dr(r, mu, pmf, a, q).value, abs=1e-15)
    assert switch_dr(r, mu, pmf, a, q, tau=np.inf).std_error == pytest.approx(
        dr(r, mu, pmf, a, q).std_error, abs=1e-15)
    assert switch_dr(r, mu, pmf, a, q, tau=0.0).value == pytest.approx(dm(q, pmf).value)
    assert switch_dr(r, mu, pmf, a, q, tau=0.0).std_error == pytest.approx(
        dm(q, pmf).std_error)
    # In between: the rows with w > tau lose their correction, and only they.
    w = pmf[np.arange(80), a] / mu
    direct = np.sum(pmf * q, axis=1)
    terms = direct + np.where(w <= 1.5, w * (r - q[np.arange(80), a]), 0.0)
    assert switch_dr(r, mu, pmf, a, q, tau=1.5).value == pytest.approx(terms.mean())


def test_dr_with_a_perfect_model_on_deterministic_rewards_is_dm():
    r, mu, pmf, a, q = _dr_inputs()
    r = q[np.arange(80), a]  # the model knows every reward: nothing left to correct
    assert dr(r, mu, pmf, a, q).value == pytest.approx(dm(q, pmf).value)


def test_a_huge_clip_equals_no_clip():
    r, mu, pmf, a, q = _dr_inputs()
    for f, args in ((ips, (r, mu, pmf)), (snips, (r, mu, pmf))):
        assert f(*args, actions=a, clip=1e12) == f(*args, actions=a)
    assert dr(r, mu, pmf, a, q, clip=1e12) == dr(r, mu, pmf, a, q)


def test_effective_sample_size_is_n_on_policy_and_for_dm():
    r, mu, pmf, a, q = _dr_inputs()
    on_policy = pmf[np.arange(80), a]
    for f in (ips, snips):
        assert f(r, on_policy, on_policy).effective_sample_size == pytest.approx(80)
    assert dr(r, on_policy, pmf, a, q).effective_sample_size == pytest.approx(80)
    assert dm(q, pmf).effective_sample_size == 80
    assert ips(r, mu, np.zeros(80)).effective_sample_size == 0.0


def test_confidence_sets_the_interval_width():
    wide, default = ips(R4, MU4, PI4, confidence=0.99), ips(R4, MU4, PI4)
    ratio = (wide.ci_high - wide.ci_low) / (default.ci_high - default.ci_low)
    assert ratio == pytest.approx(norm.ppf(0.995) / norm.ppf(0.975))


def test_policy_value_is_frozen_with_a_readable_repr():
    result = snips(R4, MU4, PI4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 1.0
    assert repr(result).startswith("PolicyValue(snips: value=0.5294, 95% CI [")
    assert isinstance(result, PolicyValue)


def test_one_row_has_a_value_but_no_interval():
    result = ips([1.0], [0.5], [1.0])
    assert result.value == 2.0 and np.isnan(result.std_error) and np.isnan(result.ci_low)


# ---- errors --------------------------------------------------------------------------

PMF2 = [[0.5, 0.5], [1.0, 0.0]]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ips([], [], []), "rewards is empty"),
        (lambda: ips([1.0, np.nan], [0.5, 0.5], [1, 1]), "rewards contains NaN"),
        (lambda: ips([1.0, np.inf], [0.5, 0.5], [1, 1]), "rewards contains inf"),
        (lambda: ips([1.0, 2.0], [0.5], [1, 1]), "logging_probabilities has 1 rows"),
        (lambda: ips([1.0, 2.0], [0.5, 0.0], [1, 1]), r"logging_probabilities must lie in \(0, 1\]"),
        (lambda: ips([1.0, 2.0], [0.5, 1.5], [1, 1]), r"logging_probabilities must lie in \(0, 1\]"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [1, 1.2]), r"target_probabilities must lie in \[0, 1\]"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [1, 1], actions=[0, 1]), "actions is only used"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], PMF2), "pass actions"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [[0.5, 0.6], [1, 0]], actions=[0, 1]),
         "target_probabilities rows must sum to 1"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [[1.5, -0.5], [1, 0]], actions=[0, 1]),
         "target_probabilities has negative"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], PMF2, actions=[0, 2]), "actions must index the 2"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], PMF2, actions=[0, -1]), "actions must index"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], PMF2, actions=["a", "b"]), "actions must be integer"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [1, 1], clip=0), "clip must be positive"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [1, 1], clip=np.nan), "clip must be a real"),
        (lambda: ips([1.0, 2.0], [0.5, 0.5], [1, 1], confidence=1.0), "confidence must lie"),
        (lambda: ips([[1.0, 2.0]], [0.5], [1]), r"rewards must have shape \(n,\)"),
        (lambda: ips(["x", "y"], [0.5, 0.5], [1, 1]), "rewards must be numeric"),
        (lambda: snips([1.0, 2.0], [0.5, 0.5], [0, 0]), "SNIPS divides by the sum"),
        (lambda: dm([[1.0, 0.0]], PMF2), "reward_estimates has 1 rows but target_pmf has 2"),
        (lambda: dm([[1.0], [0.0]], PMF2), "reward_estimates has 1 columns"),
        (lambda: dm([[1.0, 0.0], [np.nan, 0]], PMF2), "reward_estimates contains NaN"),
        (lambda: dm([[1.0, 0.0], [1.0, 0]], [[0.5, 0.5], [0.9, 0.0]]), "target_pmf rows must"),
        (lambda: dm(np.zeros((0, 2)), np.zeros((0, 2))), "target_pmf is empty"),
        (lambda: dr([1.0, 2.0], [0.5, 0.5], PMF2, [0, 5], np.zeros((2, 2))), "actions must index"),
        (lambda: dr([1.0, 2.0], [0.5, 0.5], PMF2, [0, 1], np.zeros((2, 3))),
         "reward_estimates has 3 columns"),
        (lambda: dr([1.0, 2.0], [0.5, 0.5], PMF2, [0, 1, 1], np.zeros((2, 2))), "actions has 3 rows"),
        (lambda: switch_dr([1.0, 2.0], [0.5, 0.5], PMF2, [0, 1], np.zeros((2, 2)), tau=-1),
         "tau must be >= 0"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- evaluate_policy ---------------------------------------------------------------


class FixedPolicy:
    """A 'fitted policy' with fixed outputs, labels in a non-sorted order."""

    actions_ = np.array(["c", "a", "b"])

    def __init__(self, pmf, q):
        self.pmf, self.q = pmf, q

    def predict_proba(self, X):
        return self.pmf[: len(X)]

    def decision_function(self, X):
        return self.q[: len(X)]


def test_evaluate_policy_maps_labels_and_matches_the_estimators():
    r, mu, pmf, a, q = _dr_inputs(k=3)
    labels = FixedPolicy.actions_[a]
    policy, X = FixedPolicy(pmf, q), np.zeros((80, 2))
    assert evaluate_policy(policy, X, labels, r, mu) == snips(r, mu, pmf, actions=a)
    assert evaluate_policy(policy, X, labels, r, mu, estimator="ips", clip=3.0) == ips(
        r, mu, pmf, actions=a, clip=3.0)
    assert evaluate_policy(policy, X, labels, r, mu, estimator="dm") == dm(q, pmf)
    assert evaluate_policy(policy, X, labels, r, mu, estimator="dr") == dr(r, mu, pmf, a, q)
    other = FixedPolicy(pmf, q + 1.0)
    assert evaluate_policy(policy, X, labels, r, mu, estimator="switch_dr", tau=2.0,
                           reward_model=other) == switch_dr(r, mu, pmf, a, q + 1.0, tau=2.0)


@pytest.mark.parametrize(
    "kwargs, labels, match",
    [
        ({}, ["a", "z"], r"actions holds labels the policy does not know: \['z'\]"),
        ({}, ["a", "b", "c"], "actions has 3 rows but X has 2"),
        ({"estimator": "mystery"}, ["a", "b"], "estimator must be one of"),
        ({"estimator": "switch_dr"}, ["a", "b"], "needs tau"),
        ({"tau": 1.0}, ["a", "b"], "tau is used by switch_dr only"),
        ({"estimator": "dm", "clip": 2.0}, ["a", "b"], "dm does not use"),
    ],
)
def test_evaluate_policy_errors(kwargs, labels, match):
    policy = FixedPolicy(np.full((2, 3), 1 / 3), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=match):
        evaluate_policy(policy, np.zeros((2, 1)), labels, [1.0, 0.0], [0.5, 0.5], **kwargs)


# ---- the scorer and metadata routing ----------------------------------------------


class MeanRewardPolicy(BaseEstimator):
    """Tiny bandit policy: each action's IPS-weighted mean reward, shrunk to 0.

    ``predict_proba`` is epsilon-greedy on those means; contexts are ignored.
    """

    def __init__(self, shrinkage=0.0, epsilon=0.2):
        self.shrinkage = shrinkage
        self.epsilon = epsilon

    def fit(self, X, y, rewards=None, probabilities=None):
        if rewards is None:
            raise ValueError("MeanRewardPolicy.fit needs rewards")
        self.actions_, index = np.unique(y, return_inverse=True)
        weights = 1.0 / np.asarray(probabilities) if probabilities is not None else 1.0
        weights = np.broadcast_to(weights, index.shape)
        k = self.actions_.size
        sums = np.bincount(index, weights * np.asarray(rewards), minlength=k)
        self.means_ = sums / (np.bincount(index, weights, minlength=k) + self.shrinkage)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def decision_function(self, X):
        return np.tile(self.means_, (len(X), 1))

    def predict(self, X):
        return self.actions_[np.argmax(self.decision_function(X), axis=1)]

    def predict_proba(self, X):
        k = self.actions_.size
        pmf = np.full((len(X), k), self.epsilon / k)
        pmf[:, np.argmax(self.means_)] += 1.0 - self.epsilon
        return pmf


@pytest.fixture(scope="module")
def log():
    rng = np.random.default_rng(3)
    n = 300
    X = rng.normal(size=(n, 2))
    y = rng.choice(np.array(["a", "b", "c"]), size=n)
    means = {"a": 0.2, "b": 0.5, "c": 0.35}
    r = np.array([means[label] for label in y]) + rng.normal(scale=0.3, size=n)
    return X, y, r, np.full(n, 1 / 3)


def test_scorer_called_directly_scores_greedy_or_exploration(log):
    X, y, r, p = log
    policy = MeanRewardPolicy().fit(X, y, rewards=r, probabilities=p)
    greedy = (y == policy.predict(X)).astype(float)
    assert make_policy_scorer("ips")(policy, X, y, rewards=r, probabilities=p) == (
        pytest.approx(ips(r, p, greedy).value))
    index = np.searchsorted(policy.actions_, y)
    assert make_policy_scorer("dr", greedy=False)(policy, X, y, rewards=r, probabilities=p) == (
        pytest.approx(dr(r, p, policy.predict_proba(X), index, policy.decision_function(X)).value))
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        make_policy_scorer()(policy, X, y)
    assert repr(make_policy_scorer("switch_dr", tau=3.0)) == (
        "make_policy_scorer(estimator='switch_dr', greedy=True, tau=3.0)")


def _manual_fold_scores(X, y, r, p, params, scorer):
    scores = []
    for train, test in KFold(3).split(X):
        model = clone(MeanRewardPolicy(**params)).fit(
            X[train], y[train], rewards=r[train], probabilities=p[train])
        scores.append(scorer(model, X[test], y[test], rewards=r[test], probabilities=p[test]))
    return scores


def test_grid_search_receives_rewards_and_probabilities_through_routing(log):
    X, y, r, p = log
    grid = {"shrinkage": [0.0, 1e4], "epsilon": [0.1]}
    scorer = make_policy_scorer("snips")
    with sklearn.config_context(enable_metadata_routing=True):
        policy = MeanRewardPolicy().set_fit_request(rewards=True, probabilities=True)
        search = GridSearchCV(policy, grid, scoring=scorer, cv=3, error_score="raise")
        search.fit(X, y, rewards=r, probabilities=p)
    for i, params in enumerate(search.cv_results_["params"]):
        expected = _manual_fold_scores(X, y, r, p, params, scorer)
        got = [search.cv_results_[f"split{k}_test_score"][i] for k in range(3)]
        assert got == pytest.approx(expected, rel=1e-12)
    assert search.best_estimator_.predict(X[:1])[0] == "b"


def test_scorer_metadata_can_be_aliased(log):
    X, y, r, p = log
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_policy_scorer("ips").set_score_request(
            rewards="clicks", probabilities="propensity")
        policy = MeanRewardPolicy().set_fit_request(rewards="clicks", probabilities="propensity")
        search = GridSearchCV(policy, {"shrinkage": [0.0]}, scoring=scorer, cv=3,
                              error_score="raise").fit(X, y, clicks=r, propensity=p)
    expected = _manual_fold_scores(X, y, r, p, {"shrinkage": 0.0}, make_policy_scorer("ips"))
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(np.mean(expected))


def test_without_routing_the_scorer_says_what_to_do(log):
    X, y, r, p = log
    search = GridSearchCV(MeanRewardPolicy(), {"shrinkage": [0.0]},
                          scoring=make_policy_scorer(), cv=3, error_score="raise")
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        search.fit(X, y, rewards=r, probabilities=p)
