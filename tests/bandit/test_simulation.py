"""Simulation tools against their definitions: the bake-off's conversion, the online
pass (recomputed round by round through the public API), and the exact expected loss
(against averages of sampled choices)."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import load_iris

from sklearn_train.bandit import EpsilonGreedyBandit, LinUCBBandit, SoftmaxBandit
from sklearn_train.bandit.simulation import (
    BanditData,
    bandit_from_classification,
    expected_policy_loss,
    progressive_validation,
)


def iris_bandit():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    return bandit_from_classification((X - X.mean(0)) / X.std(0), labels)


def test_conversion_gives_reward_one_for_the_class_only():
    X, y = load_iris(return_X_y=True)
    bandit = bandit_from_classification(X, y + 10)
    np.testing.assert_array_equal(bandit.actions, [10, 11, 12])
    np.testing.assert_array_equal(bandit.rewards, np.eye(3)[y])
    np.testing.assert_array_equal(bandit.X, X)


@pytest.mark.parametrize("y, message", [(np.zeros(150), "at least 2 classes"),
                                        (np.zeros((150, 2)), "one label per row"),
                                        (np.zeros(149), "inconsistent")])
def test_conversion_refuses_bad_labels(y, message):
    X, _ = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match=message):
        bandit_from_classification(X, y)


def test_shuffled_keeps_rows_together():
    bandit = iris_bandit()
    mixed = bandit.shuffled(random_state=3)
    assert not np.array_equal(mixed.X, bandit.X)
    # each context keeps its own reward row
    order = [np.flatnonzero((bandit.X == row).all(1))[0] for row in mixed.X]
    np.testing.assert_array_equal(mixed.rewards, bandit.rewards[order])


def test_log_draws_from_the_given_distribution():
    bandit = iris_bandit()
    X, actions, rewards, probabilities = bandit.log(random_state=0)
    index = np.searchsorted(bandit.actions, actions)
    np.testing.assert_array_equal(rewards, bandit.rewards[np.arange(150), index])
    np.testing.assert_allclose(probabilities, 1 / 3)
    big = BanditData(np.zeros((30000, 1)), np.zeros((30000, 3)), np.arange(3))
    _, actions, _, probabilities = big.log([0.6, 0.3, 0.1], random_state=1)
    np.testing.assert_allclose(np.bincount(actions) / 30000, [0.6, 0.3, 0.1], atol=0.01)
    np.testing.assert_allclose(probabilities, np.array([0.6, 0.3, 0.1])[actions])
    with pytest.raises(ValueError, match="sum to 1"):
        big.log([0.5, 0.3, 0.1])


@pytest.mark.parametrize("policy", [EpsilonGreedyBandit(epsilon=0.2, random_state=0),
                                    LinUCBBandit(alpha=0.3, random_state=0)],
                         ids=["eps", "linucb"])
def test_pass_equals_rounds_through_the_public_api(policy):
    bandit = iris_bandit().shuffled(random_state=0)
    run = progressive_validation(policy, bandit)
    assert not hasattr(policy, "actions_")  # the policy given is cloned, not fitted
    replay = LinUCBBandit() if isinstance(policy, LinUCBBandit) else EpsilonGreedyBandit()
    replay.set_params(**policy.get_params())
    replay._start_rounds(4, bandit.actions)
    for i in range(150):
        chosen, probability = replay.sample_action(bandit.X[i:i + 1])
        assert chosen[0] == run.actions[i]
        assert probability[0] == pytest.approx(run.probabilities[i], rel=1e-12)
        reward = bandit.rewards[i, np.searchsorted(bandit.actions, chosen)]
        replay.partial_fit(bandit.X[i:i + 1], chosen, rewards=reward,
                           probabilities=probability)
    index = np.searchsorted(bandit.actions, run.actions)
    np.testing.assert_array_equal(run.rewards, bandit.rewards[np.arange(150), index])
    losses = 1.0 - run.rewards  # the best reward is 1 on every row
    assert run.loss == pytest.approx(losses.mean())
    np.testing.assert_allclose(run.loss_curve, np.cumsum(losses) / np.arange(1, 151))
    np.testing.assert_allclose(run.policy.decision_function(bandit.X),
                               replay.decision_function(bandit.X), atol=1e-12)


class _PlainPolicy(BaseEstimator):
    """A policy with only the public API (what a user's own policy offers)."""

    def __init__(self, epsilon=0.2, random_state=0):
        self.epsilon = epsilon
        self.random_state = random_state

    def partial_fit(self, X, y, *, rewards, probabilities=None, actions=None):
        if not hasattr(self, "inner_"):
            self.inner_ = EpsilonGreedyBandit(epsilon=self.epsilon,
                                              random_state=self.random_state)
        self.inner_.partial_fit(X, y, rewards=rewards, actions=actions)
        self.actions_ = self.inner_.actions_
        return self

    def sample_action(self, X, available_actions=None):
        return self.inner_.sample_action(X, available_actions)


def test_a_policy_without_compiled_rounds_is_driven_row_by_row():
    bandit = iris_bandit().shuffled(random_state=1)
    run = progressive_validation(_PlainPolicy(), bandit)
    index = np.searchsorted(bandit.actions, run.actions)
    np.testing.assert_array_equal(run.rewards, bandit.rewards[np.arange(150), index])
    assert run.probabilities[0] == pytest.approx(1 / 3)  # nothing learnt: uniform
    # from the second round on, the logged probability is the inner policy's pmf:
    # epsilon / 3, plus (1 - epsilon) / m for one of m tied greedy actions
    possible = {round(0.2 / 3 + 0.8 * share, 10) for share in (0, 1, 1 / 2, 1 / 3)}
    assert set(np.round(run.probabilities[1:], 10)) <= possible
    assert run.loss < 0.4  # it learns: a uniform policy loses 2/3


def test_loss_is_against_the_best_available_action():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    rewards = rng.uniform(size=(200, 3))
    mask = np.ones((200, 3), bool)
    mask[:, 2] = False
    run = progressive_validation(SoftmaxBandit(random_state=0), X, rewards,
                                 available_actions=mask)
    assert (run.actions != 2).all()
    best = rewards[:, :2].max(axis=1)
    assert run.loss == pytest.approx(np.mean(best - run.rewards))


def test_bad_simulation_input():
    bandit = iris_bandit()
    policy = LinUCBBandit()
    with pytest.raises(ValueError, match="carries its rewards"):
        progressive_validation(policy, bandit, bandit.rewards)
    with pytest.raises(ValueError, match="rows"):
        progressive_validation(policy, bandit.X, bandit.rewards[:-1])
    with pytest.raises(ValueError, match="sorted distinct"):
        progressive_validation(policy, bandit.X, bandit.rewards, actions=[2, 1, 0])
    with pytest.raises(ValueError, match="NaN|infinity"):
        progressive_validation(policy, bandit.X, bandit.rewards * np.nan)


def test_expected_loss_is_the_mean_of_sampled_losses():
    bandit = iris_bandit().shuffled(random_state=2)
    policy = progressive_validation(SoftmaxBandit(temperature=0.3, random_state=0),
                                    bandit).policy
    exact = expected_policy_loss(policy, bandit)
    pmf = policy.predict_proba(bandit.X)
    assert exact == pytest.approx(np.mean(1.0 - (pmf * bandit.rewards).sum(1)))
    sampled = []
    for seed in range(200):
        chosen, _ = policy.sample_action(bandit.X, random_state=seed)
        sampled.append(np.mean(chosen != bandit.actions[bandit.rewards.argmax(1)]))
    # 200 x 150 draws: the standard error is below 0.003
    assert np.mean(sampled) == pytest.approx(exact, abs=0.01)
    greedy = expected_policy_loss(policy, bandit, greedy=True)
    labels = bandit.actions[bandit.rewards.argmax(1)]
    assert greedy == pytest.approx(np.mean(policy.predict(bandit.X) != labels))
    with pytest.raises(ValueError, match="shape"):
        expected_policy_loss(policy, bandit.X, bandit.rewards[:, :2])
