"""The online policies against mathematics: the heads are LinearRegressor steps, the
ridge statistics are ridge regression, pmfs are distributions, the fast path is the
public one, and LinUCB's regret grows sublinearly."""

import numpy as np
import pytest

from sklearn_train import LinearRegressor
from sklearn_train.bandit import (
    BootstrapBandit,
    EpsilonGreedyBandit,
    GreedyBandit,
    LinTSBandit,
    LinUCBBandit,
    RegCBBandit,
    SoftmaxBandit,
    SquareCBBandit,
)

POLICIES = [
    GreedyBandit(random_state=0),
    EpsilonGreedyBandit(epsilon=0.2, decay=0.3, random_state=0),
    SoftmaxBandit(temperature=0.2, random_state=0),
    SquareCBBandit(random_state=0),
    BootstrapBandit(n_estimators=5, random_state=0),
    LinUCBBandit(alpha=0.5, random_state=0),
    LinTSBandit(n_draws=40, random_state=0),
    RegCBBandit(confidence=0.5, random_state=0),
]
IDS = [type(p).__name__ for p in POLICIES]


def linear_problem(n=600, n_features=5, n_actions=4, seed=0):
    """Contexts and the full reward matrix of a linear-reward bandit with noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    W = rng.normal(size=(n_actions, n_features)) / np.sqrt(n_features)
    means = 0.5 + 0.25 * np.tanh(X @ W.T)
    return X, means, np.clip(means + rng.normal(0, 0.1, means.shape), 0, 1)


def uniform_log(X, reward_matrix, seed=1):
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, reward_matrix.shape[1], X.shape[0])
    probabilities = np.full(X.shape[0], 1.0 / reward_matrix.shape[1])
    return actions, reward_matrix[np.arange(X.shape[0]), actions], probabilities


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_compiled_heads_are_linear_regressor_steps(optimizer):
    # each action's head is a LinearRegressor trained row by row on that action's rows
    X, _, R = linear_problem(n=200)
    actions, rewards, p = uniform_log(X, R)
    model = LinearRegressor(optimizer=optimizer, eta0=0.05, alpha=1e-3, batch_size=1,
                            tol=None)
    policy = GreedyBandit(model).fit(X, actions, rewards=rewards, probabilities=p)
    assert policy._compiled()
    heads = policy.params_.reshape(4, X.shape[1] + 1)
    for a in range(4):
        rows = np.flatnonzero(actions == a)
        reference = LinearRegressor(**model.get_params())
        for i in rows:
            reference.partial_fit(X[i:i + 1], rewards[i:i + 1])
        np.testing.assert_allclose(heads[a, :-1], reference.coef_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(heads[a, -1], reference.intercept_[0], rtol=1e-10)


def test_ridge_statistics_are_ridge_regression():
    X, _, R = linear_problem(n=150)
    actions, rewards, p = uniform_log(X, R)
    policy = LinUCBBandit().fit(X[:70], actions[:70], rewards=rewards[:70])
    policy.partial_fit(X[70:], actions[70:], rewards=rewards[70:])
    X1 = np.hstack([X, np.ones((len(X), 1))])
    for a in range(4):
        rows = actions == a
        A = np.eye(X1.shape[1]) + X1[rows].T @ X1[rows]
        np.testing.assert_allclose(policy.ridge_inverse_[a], np.linalg.inv(A), atol=1e-10)
        np.testing.assert_allclose(policy.ridge_coef_[a],
                                   np.linalg.solve(A, X1[rows].T @ rewards[rows]), atol=1e-10)
    np.testing.assert_allclose(policy.decision_function(X[:3]),
                               X1[:3] @ policy.ridge_coef_.T, atol=1e-12)


@pytest.fixture(scope="module")
def fitted():
    X, _, R = linear_problem(n=300)
    actions, rewards, p = uniform_log(X, R)
    from sklearn.base import clone
    return X, [clone(policy).fit(X, actions, rewards=rewards, probabilities=p)
               for policy in POLICIES]


@pytest.mark.parametrize("k", range(len(POLICIES)), ids=IDS)
def test_pmf_is_a_distribution_with_floor_and_mask(fitted, k):
    X, policies = fitted
    policy = policies[k]
    rng = np.random.default_rng(3)
    mask = rng.random((50, 4)) < 0.6
    mask[np.arange(50), rng.integers(0, 4, 50)] = True
    for floor in (0.0, 0.05):
        policy.set_params(min_probability=floor)
        pmf = policy.predict_proba(X[:50], available_actions=mask)
        np.testing.assert_allclose(pmf.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(pmf[~mask] == 0.0)
        assert np.all(pmf[mask] >= floor - 1e-15)
        greedy = np.searchsorted(policy.actions_, policy.predict(X[:50], mask))
        assert np.all(mask[np.arange(50), greedy])
    policy.set_params(min_probability=0.0)


@pytest.mark.parametrize("k", range(len(POLICIES)), ids=IDS)
def test_logged_probabilities_are_the_pmf_and_seeded(fitted, k):
    X, policies = fitted
    policy = policies[k]
    pmf = policy.predict_proba(X[:80])
    draws = policy.counters_[1]
    actions, probabilities = policy.sample_action(X[:80])
    index = np.searchsorted(policy.actions_, actions)
    np.testing.assert_array_equal(probabilities, pmf[np.arange(80), index])
    assert policy.counters_[1] == draws + 80  # the own stream moved on
    again, _ = policy.sample_action(X[:80], random_state=7)
    np.testing.assert_array_equal(again, policy.sample_action(X[:80], random_state=7)[0])
    assert policy.counters_[1] == draws + 80  # a given generator leaves it alone


def test_sampling_frequencies_follow_the_pmf(fitted):
    X, policies = fitted
    policy = policies[1]  # epsilon-greedy: every action has mass
    x = np.repeat(X[:1], 20000, axis=0)
    actions, _ = policy.sample_action(x, random_state=0)
    frequencies = np.bincount(actions, minlength=4) / len(x)
    pmf = policy.predict_proba(X[:1])[0]
    # four standard errors of a binomial frequency
    assert np.all(np.abs(frequencies - pmf) < 4 * np.sqrt(pmf * (1 - pmf) / len(x)) + 1e-9)


@pytest.mark.parametrize("k", range(len(POLICIES)), ids=IDS)
def test_fast_rounds_equal_sampling_then_partial_fit(k):
    from sklearn.base import clone
    X, _, R = linear_problem(n=120)
    fast = clone(POLICIES[k])._start_rounds(X.shape[1], np.arange(4))
    actions, probabilities, rewards = fast._learn_rounds(X, R)
    slow = clone(POLICIES[k])._start_rounds(X.shape[1], np.arange(4))
    for i in range(len(X)):
        chosen, probability = slow.sample_action(X[i:i + 1])
        assert chosen[0] == actions[i]
        assert probability[0] == pytest.approx(probabilities[i], rel=1e-12)
        slow.partial_fit(X[i:i + 1], chosen, rewards=R[i, chosen], probabilities=probability)
    np.testing.assert_array_equal(rewards, R[np.arange(len(X)), actions])
    np.testing.assert_allclose(slow.predict_proba(X), fast.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(slow.decision_function(X), fast.decision_function(X),
                               atol=1e-12)


@pytest.mark.parametrize("policy", [EpsilonGreedyBandit(epsilon=0.2, random_state=0),
                                    RegCBBandit(random_state=0)], ids=["eps", "regcb"])
def test_any_regressor_learns_like_the_compiled_heads(policy):
    # Huber with a threshold no residual reaches is the squared error, but it is not
    # compiled: the regressors' own partial_fit runs, row by row, and must agree
    from sklearn.base import clone
    X, _, R = linear_problem(n=80)
    compiled = clone(policy).set_params(
        estimator=LinearRegressor(eta0=0.05, batch_size=1, tol=None))
    general = clone(policy).set_params(
        estimator=LinearRegressor(loss="huber", epsilon=1e9, eta0=0.05, batch_size=1,
                                  tol=None))
    for p in (compiled, general):
        p._start_rounds(X.shape[1], np.arange(4))
    assert compiled._compiled() and not general._compiled()
    fast = compiled._learn_rounds(X, R)
    slow = general._learn_rounds(X, R)
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-9)
    np.testing.assert_allclose(compiled.decision_function(X), general.decision_function(X),
                               atol=1e-9)
    assert len(general.estimators_) == 1 and len(general.estimators_[0]) == 4


def test_linucb_regret_is_sublinear_and_below_epsilon_greedy():
    X, means, R = linear_problem(n=6000, n_features=6, n_actions=5, seed=4)
    best = means.max(axis=1)
    regrets = {}
    for name, policy in [("linucb", LinUCBBandit(alpha=0.3, random_state=0)),
                         ("eps", EpsilonGreedyBandit(epsilon=0.1, random_state=0))]:
        policy._start_rounds(X.shape[1], np.arange(5))
        actions, _, _ = policy._learn_rounds(X, R)
        regrets[name] = np.cumsum(best - means[np.arange(len(X)), actions])
    linucb = regrets["linucb"]
    # sublinear: the last third adds much less regret than the first third
    first, last = linucb[1999], linucb[-1] - linucb[3999]
    assert last < 0.5 * first, (first, last)
    assert linucb[-1] < 0.7 * regrets["eps"][-1], (linucb[-1], regrets["eps"][-1])


def test_squarecb_probabilities_are_inverse_gap_weights():
    policy = SquareCBBandit(gamma_scale=4.0, gamma_exponent=0.0, random_state=0)
    policy.fit([[1.0]] * 6, [0, 1, 2] * 2, rewards=[0.2, 0.8, 0.5] * 2)
    scores = policy.decision_function([[1.0]])[0]
    best = scores.argmax()
    expected = 1.0 / (3 + 4.0 * (scores[best] - scores))
    expected[best] = 0.0
    expected[best] = 1.0 - expected.sum()
    np.testing.assert_allclose(policy.predict_proba([[1.0]])[0], expected, rtol=1e-12)


def test_softmax_and_epsilon_rules():
    soft = SoftmaxBandit(temperature=0.5).fit([[1.0]] * 4, [0, 1] * 2, rewards=[0, 1] * 2)
    scores = soft.decision_function([[1.0]])[0]
    expected = np.exp(scores / 0.5) / np.exp(scores / 0.5).sum()
    np.testing.assert_allclose(soft.predict_proba([[1.0]])[0], expected, rtol=1e-12)
    eps = EpsilonGreedyBandit(epsilon=0.3, decay=0.5).fit([[1.0]] * 4, [0, 1] * 2,
                                                          rewards=[0, 1] * 2)
    epsilon = 0.3 * (4 + 1) ** -0.5  # after 4 rounds
    np.testing.assert_allclose(eps.predict_proba([[1.0]])[0],
                               [epsilon / 2, 1 - epsilon / 2], rtol=1e-12)


def test_regcb_upper_bounds_stay_in_the_reward_range():
    # an untried action's bound is the top of the range: optimism tries it
    policy = RegCBBandit(reward_range=(0.0, 1.0), confidence=10.0)
    policy.fit([[0.0]] * 5, [0] * 5, rewards=[0.9] * 5, actions=[0, 1])
    assert policy.predict([[0.0]])[0] == 0  # the greedy estimate
    assert policy.predict_proba([[0.0]])[0, 1] > 0  # the optimistic choice shares


def test_joint_model_over_action_features_shares_across_actions():
    # reward = x . f_a: a joint linear model over [x, f_a, x (outer) f_a] is exact and,
    # with 4 seen actions whose [1, f_a] are independent, identified, so it ranks even
    # an action it never saw, which per-action heads cannot do
    rng = np.random.default_rng(5)
    features = np.vstack([np.eye(3), -np.ones((1, 3)), [[0.5, -1.0, 0.8]]])
    X = rng.normal(size=(2000, 3))
    logged = rng.integers(0, 4, 2000)  # action 4 never taken
    rewards = np.einsum("ij,ij->i", X, features[logged])
    model = LinearRegressor(eta0=0.01, learning_rate="constant", batch_size=1, tol=None,
                            alpha=0.0)
    joint = GreedyBandit(model, action_features=features, random_state=0)
    joint.fit(X, logged, rewards=rewards, actions=[0, 1, 2, 3, 4])
    assert not joint._compiled()
    X_test = rng.normal(size=(200, 3))
    truth = X_test @ features.T
    estimates = joint.decision_function(X_test)
    assert np.abs(estimates[:, 4] - truth[:, 4]).max() < 0.1
    agreement = np.mean(joint.predict(X_test) == truth.argmax(axis=1))
    assert agreement > 0.85, agreement
    with pytest.raises(ValueError, match="one row per action"):
        GreedyBandit(action_features=features[:2]).fit(X, logged, rewards=rewards)
