"""Simulation: bandits made from labelled data, and the online pass that measures a
policy on them.

The protocol of Bietti, Agarwal & Langford's "Contextual Bandit Bake-off" (JMLR 2021):
a classification data set becomes a bandit with one action per class and reward 1 for
the right class, 0 otherwise (:func:`bandit_from_classification`); a policy then makes
one online pass over the rows in a given order, choosing an action per row from its
exploration distribution and learning only the chosen action's reward
(:func:`progressive_validation`). Its progressive-validation loss is the mean shortfall
of the chosen rewards against the best ones: for 0/1 rewards, the error rate while it
learns. :func:`expected_policy_loss` is the exact expected shortfall of a fitted
policy's distribution on data whose every reward is known.
"""

import time
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_consistent_length

__all__ = ["BanditData", "ProgressiveValidation", "bandit_from_classification",
           "expected_policy_loss", "progressive_validation"]


@dataclass
class BanditData:
    """A bandit with every reward known: contexts, the reward matrix, the actions.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        Contexts.
    rewards : ndarray of shape (n_samples, n_actions)
        The reward each action would get on each row; columns follow ``actions``.
    actions : ndarray of shape (n_actions,)
        Action labels, sorted (the classes for :func:`bandit_from_classification`).
    """

    X: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray

    def shuffled(self, random_state=None):
        """The same bandit, rows in a random order (a data order of the bake-off).

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        BanditData
        """
        order = check_random_state(random_state).permutation(self.X.shape[0])
        return BanditData(self.X[order], self.rewards[order], self.actions)

    def log(self, probabilities=None, random_state=None):
        """A logged bandit: one action per row drawn from a logging policy.

        Parameters
        ----------
        probabilities : array-like of shape (n_samples, n_actions) or \
(n_actions,), default=None
            The logging policy's distribution per row (or one for all rows);
            uniform by default.
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        X, actions, rewards, probabilities : ndarrays
            The contexts, the logged action labels, their rewards and the
            probabilities they were drawn with: the arguments of a policy's
            ``fit(X, actions, rewards=..., probabilities=...)``.
        """
        n, k = self.rewards.shape
        pmf = np.full((n, k), 1.0 / k) if probabilities is None else np.broadcast_to(
            np.asarray(probabilities, dtype=np.float64), (n, k))
        if (pmf < 0).any() or not np.allclose(pmf.sum(axis=1), 1.0):
            raise ValueError("probabilities must be non-negative rows that sum to 1.")
        uniforms = check_random_state(random_state).random_sample(n)
        chosen = (pmf.cumsum(axis=1) < uniforms[:, None]).sum(axis=1).clip(0, k - 1)
        rows = np.arange(n)
        return self.X, self.actions[chosen], self.rewards[rows, chosen], pmf[rows, chosen]


def bandit_from_classification(X, y):
    """Turn labelled data into a bandit: one action per class, reward 1 for the
    row's class and 0 for the others (the bake-off's conversion).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Contexts.
    y : array-like of shape (n_samples,)
        Class labels; at least two classes.

    Returns
    -------
    BanditData
        ``actions`` are the sorted classes.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train.bandit.simulation import bandit_from_classification
    >>> X, y = load_digits(return_X_y=True)
    >>> bandit = bandit_from_classification(X / 16, y)
    >>> bandit.rewards.shape, float(bandit.rewards.sum(axis=1).max())
    ((1797, 10), 1.0)
    """
    X = check_array(X, dtype=np.float64, order="C")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one label per row; got shape {y.shape}.")
    check_consistent_length(X, y)
    actions, index = np.unique(y, return_inverse=True)
    if len(actions) < 2:
        raise ValueError(f"a bandit needs at least 2 classes; y has {len(actions)}.")
    rewards = np.zeros((X.shape[0], len(actions)))
    rewards[np.arange(X.shape[0]), index] = 1.0
    return BanditData(X, rewards, actions)


@dataclass
class ProgressiveValidation:
    """What one online pass of a policy did.

    Attributes
    ----------
    loss : float
        The progressive-validation loss: the mean over rounds of the best reward
        minus the chosen action's reward (the error rate for 0/1 rewards).
    loss_curve : ndarray of shape (n_rounds,)
        The mean loss of the rounds so far, after each round.
    actions : ndarray of shape (n_rounds,)
        The chosen action labels.
    probabilities : ndarray of shape (n_rounds,)
        The probability each was chosen with (a log usable for evaluation).
    rewards : ndarray of shape (n_rounds,)
        The rewards observed.
    seconds : float
        Wall time of the pass.
    policy : estimator
        The policy after the pass (a clone of the one given).
    """

    loss: float
    loss_curve: np.ndarray
    actions: np.ndarray
    probabilities: np.ndarray
    rewards: np.ndarray
    seconds: float
    policy: object

    def __repr__(self):
        return (f"ProgressiveValidation(loss={self.loss:.4g}, rounds={len(self.actions)}, "
                f"seconds={self.seconds:.3g})")


def progressive_validation(policy, X, rewards=None, *, actions=None, available_actions=None):
    """Run a policy through the rows once, learning from the rewards of its choices.

    For each row in order: draw an action from the policy's exploration distribution,
    observe that action's reward (only that one), learn it. Our policies run all the
    rounds in one compiled call when their value models are compiled heads; a policy
    of another kind is driven through ``sample_action`` and ``partial_fit``, row by
    row, with the same result.

    Parameters
    ----------
    policy : bandit policy
        Cloned (unfitted); its ``random_state`` fixes the draws.
    X : array-like of shape (n_samples, n_features) or BanditData
        Contexts in the order of the pass; a ``BanditData`` brings its rewards and
        actions (then ``rewards`` must be None).
    rewards : array-like of shape (n_samples, n_actions)
        Every action's reward on every row (only the chosen one is shown to the
        policy).
    actions : array-like of shape (n_actions,), default=None
        Labels of the reward columns, sorted; ``0 .. n_actions - 1`` by default.
    available_actions : array-like of bool, shape (n_samples, n_actions), default=None
        Which actions each row may take; the loss compares with the best available.

    Returns
    -------
    ProgressiveValidation

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train.bandit import LinUCBBandit
    >>> from sklearn_train.bandit.simulation import (bandit_from_classification,
    ...                                              progressive_validation)
    >>> X, y = load_digits(return_X_y=True)
    >>> bandit = bandit_from_classification(X / 16, y).shuffled(random_state=0)
    >>> run = progressive_validation(LinUCBBandit(random_state=0), bandit)
    >>> bool(run.loss < 0.3), run.loss_curve.shape
    (True, (1797,))
    """
    if isinstance(X, BanditData):
        if rewards is not None or actions is not None:
            raise ValueError("a BanditData carries its rewards and actions; pass "
                             "rewards=None and actions=None with it.")
        X, rewards, actions = X.X, X.rewards, X.actions
    X = check_array(X, dtype=np.float64, order="C")
    rewards = check_array(rewards, dtype=np.float64, order="C")
    if rewards.shape[0] != X.shape[0]:
        raise ValueError(f"rewards has {rewards.shape[0]} rows; X has {X.shape[0]}.")
    labels = np.arange(rewards.shape[1]) if actions is None else np.asarray(actions)
    if labels.shape != (rewards.shape[1],) or (
            len(labels) > 1 and not (labels[1:] > labels[:-1]).all()):
        raise ValueError(f"actions must be {rewards.shape[1]} sorted distinct labels, "
                         "one per column of rewards.")
    mask = None if available_actions is None else np.asarray(available_actions)
    policy = clone(policy)
    start = time.perf_counter()
    if hasattr(policy, "_learn_rounds"):
        policy._start_rounds(X.shape[1], labels)
        index, probabilities, observed = policy._learn_rounds(X, rewards, mask)
    else:
        index, probabilities, observed = _rounds_through_the_api(policy, X, rewards,
                                                                 labels, mask)
    seconds = time.perf_counter() - start
    best = rewards.max(axis=1) if mask is None else np.where(mask, rewards, -np.inf).max(1)
    losses = best - observed
    curve = np.cumsum(losses) / np.arange(1, len(losses) + 1)
    return ProgressiveValidation(float(losses.mean()), curve, labels[index],
                                 probabilities, observed, seconds, policy)


def _rounds_through_the_api(policy, X, rewards, labels, mask):
    """The pass for a policy without the compiled rounds: sample, then learn a row."""
    n = X.shape[0]
    index, probabilities = np.empty(n, dtype=np.int64), np.empty(n)
    observed = np.empty(n)
    for i in range(n):
        if i == 0:
            # nothing learnt yet: the first round is uniform over the available actions
            open_ = np.ones(len(labels), bool) if mask is None else mask[0].astype(bool)
            rng = check_random_state(getattr(policy, "random_state", None))
            index[0] = rng.choice(np.flatnonzero(open_))
            probabilities[0] = 1.0 / open_.sum()
        else:
            chosen, p = policy.sample_action(
                X[i:i + 1], None if mask is None else mask[i:i + 1])
            index[i] = np.searchsorted(labels, chosen[0])
            probabilities[i] = p[0]
        observed[i] = rewards[i, index[i]]
        first = {"actions": labels} if i == 0 else {}
        policy.partial_fit(X[i:i + 1], labels[index[i:i + 1]], rewards=observed[i:i + 1],
                           probabilities=probabilities[i:i + 1], **first)
    return index, probabilities, observed


def expected_policy_loss(policy, X, rewards=None, *, available_actions=None, greedy=False):
    """The exact expected loss of a fitted policy on data with every reward known.

    ``mean_i (max_a R[i, a] - sum_a pi(a | x_i) R[i, a])``: no sampling, so no noise
    (the loss a log of this policy would show on average).

    Parameters
    ----------
    policy : fitted bandit policy
    X : array-like of shape (n_samples, n_features) or BanditData
        Contexts (a ``BanditData`` brings its rewards; then ``rewards`` is None).
    rewards : array-like of shape (n_samples, n_actions)
        Every action's reward; columns in the policy's ``actions_`` order.
    available_actions : array-like of bool, shape (n_samples, n_actions), default=None
    greedy : bool, default=False
        The loss of the greedy choices (``predict``) instead of the exploration
        distribution (``predict_proba``).

    Returns
    -------
    loss : float

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train.bandit import LinUCBBandit
    >>> from sklearn_train.bandit.simulation import (bandit_from_classification,
    ...     expected_policy_loss, progressive_validation)
    >>> X, y = load_digits(return_X_y=True)
    >>> bandit = bandit_from_classification(X / 16, y).shuffled(random_state=0)
    >>> policy = progressive_validation(LinUCBBandit(random_state=0), bandit).policy
    >>> bool(expected_policy_loss(policy, bandit, None, greedy=True) < 0.1)
    True
    """
    if isinstance(X, BanditData):
        if rewards is not None:
            raise ValueError("a BanditData carries its rewards; pass rewards=None.")
        X, rewards = X.X, X.rewards
    rewards = check_array(rewards, dtype=np.float64)
    n_actions = len(policy.actions_)
    if rewards.shape != (np.shape(X)[0], n_actions):
        raise ValueError(f"rewards must have shape ({np.shape(X)[0]}, {n_actions}): "
                         f"one column per action of actions_; got {rewards.shape}.")
    if greedy:
        chosen = np.searchsorted(policy.actions_, policy.predict(X, available_actions))
        pmf = np.eye(n_actions)[chosen]
    else:
        pmf = policy.predict_proba(X, available_actions)
    mask = np.ones(rewards.shape, bool) if available_actions is None else np.asarray(
        available_actions, bool)
    best = np.where(mask, rewards, -np.inf).max(axis=1)
    return float(np.mean(best - (pmf * rewards).sum(axis=1)))
