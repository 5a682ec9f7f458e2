"""Offline policy learners against their definitions: the pseudo-reward matrices are
the IPS and DR formulas, the cross-fitting never lets a row see itself, the SNIPS
gradient is the finite differences', and every learner beats its logging policy."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_train import LinearRegressor
from sklearn_train.bandit import (
    DRPolicyLearner,
    IPSPolicyLearner,
    PolicyGradientLearner,
)
from sklearn_train.bandit._offline import pseudo_rewards

LEARNERS = [IPSPolicyLearner(random_state=0), DRPolicyLearner(random_state=0),
            PolicyGradientLearner(random_state=0)]
IDS = ["ips", "dr", "gradient"]


def linear_world(n=3000, n_actions=4, seed=0):
    """Contexts, the mean-reward matrix and a uniform log of it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    W = rng.normal(size=(n_actions, 5))
    means = 1.0 / (1.0 + np.exp(-(X @ W.T)))
    actions = rng.integers(0, n_actions, n)
    rewards = (rng.uniform(size=n) < means[np.arange(n), actions]).astype(float)
    return X, means, actions, rewards, np.full(n, 1.0 / n_actions)


@pytest.fixture(scope="module")
def world():
    return linear_world()


def true_value(policy, X, means):
    return float((policy.predict_proba(X) * means).sum(axis=1).mean())


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_learnt_policies_beat_the_logging_policy(learner, world):
    X, means, a, r, p = world
    policy = clone(learner).fit(X[:2000], a[:2000], rewards=r[:2000],
                                probabilities=p[:2000])
    held = slice(2000, None)
    uniform, best = means[held].mean(), means[held].max(axis=1).mean()
    greedy = means[held][np.arange(1000), policy.predict(X[held])].mean()
    # measured: uniform 0.50, best 0.86; IPS 0.82, DR 0.83, gradient 0.84 (greedy)
    assert greedy > uniform + 0.8 * (best - uniform)
    if isinstance(policy, PolicyGradientLearner):
        # a stochastic policy: its own value is above the log's too
        assert true_value(policy, X[held], means[held]) > uniform + 0.5 * (best - uniform)


def test_ips_regresses_the_ips_pseudo_rewards(world):
    X, _, a, r, p = world
    p = np.where(a == 0, 0.7, 0.1)  # any logging probabilities
    model = LinearRegressor(random_state=0)
    policy = IPSPolicyLearner(model, clip=5.0).fit(X, a, rewards=r, probabilities=p)
    expected = np.zeros((len(X), 4))
    expected[np.arange(len(X)), a] = r * np.minimum(1.0 / p, 5.0)
    direct = clone(model).fit(X, expected)
    np.testing.assert_allclose(policy.decision_function(X), direct.predict(X), atol=1e-12)


def test_dr_pseudo_rewards_and_cross_fitting(world):
    from sklearn.model_selection import KFold
    X, _, a, r, p = world
    X, a, r, p = X[:400], a[:400], r[:400], p[:400]
    learner = DRPolicyLearner(cv=3, random_state=0)
    estimates = learner.cross_fitted_rewards(X, a, r, 4)
    # by hand: each fold's rows estimated by per-action models of the other folds
    seed = np.random.RandomState(0).randint(2**31)
    for train, test in KFold(3, shuffle=True, random_state=seed).split(X):
        for action in range(4):
            rows = train[a[train] == action]
            model = LinearRegressor(random_state=0).fit(X[rows], r[rows])
            np.testing.assert_allclose(estimates[test, action], model.predict(X[test]),
                                       atol=1e-12)
    q = estimates.copy()
    targets = pseudo_rewards(a, r, 1.0 / p, estimates)
    by_formula = q + (np.arange(4) == a[:, None]) * ((r - q[np.arange(400), a]) / p)[:, None]
    np.testing.assert_allclose(targets, by_formula)


def test_dr_targets_vary_less_than_ips_targets(world):
    X, _, a, r, p = world
    learner = DRPolicyLearner(random_state=0)
    dr_targets = pseudo_rewards(a, r, 1 / p, learner.cross_fitted_rewards(X, a, r, 4))
    ips_targets = pseudo_rewards(a, r, 1 / p, np.zeros((len(X), 4)))
    # both are unbiased for each action's mean reward; DR's spread is smaller
    assert (dr_targets.var(axis=0) < 0.8 * ips_targets.var(axis=0)).all()
    np.testing.assert_allclose(dr_targets.mean(0), ips_targets.mean(0), atol=0.06)


@pytest.mark.parametrize("hidden, activation", [((), "relu"), ((4,), "tanh"),
                                                ((3, 2), "relu")])
@pytest.mark.parametrize("clip", [None, 3.0])
def test_snips_gradient_matches_finite_differences(hidden, activation, clip):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    index = rng.integers(0, 3, 40)
    rewards = rng.uniform(size=40)
    inverse = 1.0 / rng.uniform(0.2, 1.0, 40)
    learner = PolicyGradientLearner(hidden, activation=activation, alpha=0.01, clip=clip)
    sizes = (3, *hidden, 3)
    from sklearn_train.bandit._offline import _initial_params
    params = _initial_params(sizes, np.random.RandomState(1))
    params += np.random.RandomState(2).normal(0, 0.5, params.shape)  # off the start
    _, grad = learner._objective(params, sizes, X, index, rewards, inverse)
    numeric = np.empty_like(params)
    for k in range(len(params)):
        step = np.zeros_like(params)
        step[k] = 1e-6
        up = learner._objective(params + step, sizes, X, index, rewards, inverse, False)[0]
        down = learner._objective(params - step, sizes, X, index, rewards, inverse, False)[0]
        numeric[k] = (up - down) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-7)


def test_gradient_training_raises_the_logs_snips_value(world):
    X, _, a, r, p = world
    policy = PolicyGradientLearner(random_state=0).fit(X, a, rewards=r, probabilities=p)
    curve = np.array(policy.loss_curve_)
    start_value = r.mean()  # the uniform start: SNIPS of a uniform log is its mean
    assert -curve[-1] > start_value + 0.2
    assert policy.n_iter_ == len(curve) < 200  # it stopped on its own
    assert [W.shape for W in policy.coefs_] == [(5, 4)]


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_pmf_floor_masks_seed_and_pickle(learner, world):
    X, _, a, r, p = world
    policy = clone(learner).set_params(min_probability=0.05).fit(
        X[:500], a[:500], rewards=r[:500], probabilities=p[:500])
    mask = np.ones((50, 4), bool)
    mask[::2, 1] = False
    pmf = policy.predict_proba(X[:50], mask)
    np.testing.assert_allclose(pmf.sum(axis=1), 1.0)
    assert (pmf[~mask] == 0).all() and (pmf[mask] >= 0.05 - 1e-12).all()
    again = clone(policy).fit(X[:500], a[:500], rewards=r[:500], probabilities=p[:500])
    np.testing.assert_array_equal(again.predict_proba(X[:50]), policy.predict_proba(X[:50]))
    copy = pickle.loads(pickle.dumps(policy))
    np.testing.assert_array_equal(copy.sample_action(X[:50])[0],
                                  policy.sample_action(X[:50])[0])
    assert np.isfinite(policy.score(X[500:], a[500:], rewards=r[500:],
                                    probabilities=p[500:]))


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_bad_logs_are_refused(learner, world):
    X, _, a, r, p = world
    X, a, r, p = X[:50], a[:50], r[:50], p[:50]
    cases = [({"probabilities": None}, "probabilities"),
             ({"probabilities": p[:-1]}, "probabilities must be one number"),
             ({"probabilities": p * 0}, r"\(0, 1\]"),
             ({"rewards": np.where(np.arange(50) == 3, np.nan, r)}, "NaN"),
             ({"rewards": r[:3]}, "rewards must be one number")]
    for change, message in cases:
        kwargs = {"rewards": r, "probabilities": p, **change}
        with pytest.raises(ValueError, match=message):
            clone(learner).fit(X, a, **kwargs)
    fitted = clone(learner).fit(X, a, rewards=r, probabilities=p)
    before = fitted.predict_proba(X)
    with pytest.raises(ValueError, match="clip"):
        fitted.set_params(clip=0.5).fit(X, a, rewards=r, probabilities=p)
    with pytest.raises(ValueError, match="clip"):  # while it is set, on any call
        fitted.predict_proba(X)
    fitted.set_params(clip=learner.clip)
    np.testing.assert_array_equal(fitted.predict_proba(X), before)


def test_diverging_gradient_training_is_refused():
    X, _, a, r, p = linear_world(200)
    with pytest.raises(ValueError, match="diverged"):
        PolicyGradientLearner(optimizer="sgd", eta0=1e306).fit(
            X * 1e3, a, rewards=r * 1e3, probabilities=p)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        PolicyGradientLearner((0,)).fit(X, a, rewards=r, probabilities=p)
    with pytest.raises(ValueError, match="cv=5 needs at least 5"):
        DRPolicyLearner().fit(X[:3], a[:3], rewards=r[:3], probabilities=p[:3],
                              actions=np.arange(4))
