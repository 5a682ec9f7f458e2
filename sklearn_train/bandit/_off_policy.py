"""Off-policy estimators of a target policy's value from a bandit log.

Every estimator here is a mean (or, for SNIPS, a ratio of means) of one term per
logged row, so its standard error comes from the spread of those terms and its
confidence interval from the normal approximation. Public through
``sklearn_train.bandit.evaluation``.
"""

import math

import numpy as np

from . import _ope_checks as checks
from ._policy_value import effective_sample_size, mean_result, result


def _weights(rewards, logging_probabilities, target, actions, clip):
    """Validated rewards and the (clipped) importance weight of every row."""
    rewards = checks.as_float_array(rewards, "rewards", 1)
    n = rewards.size
    mu = checks.check_logging_probabilities(logging_probabilities, n)
    pi = checks.check_target(target, actions, n)
    return rewards, np.minimum(pi / mu, checks.check_clip(clip))


_TARGET_DOC = """rewards : array-like of shape (n,)
        Observed reward of each logged row (higher is better).

    logging_probabilities : array-like of shape (n,)
        Probability, in (0, 1], with which the logging policy took the logged action.

    target_probabilities : array-like of shape (n,) or (n, n_actions)
        The target policy's probability of each logged action, in [0, 1]; or its
        full pmf matrix, rows summing to 1, together with ``actions``.

    actions : array-like of int of shape (n,), default=None
        Column of the logged action in ``target_probabilities``; only (and always)
        with a pmf matrix."""

_CLIP_DOC = """clip : float, default=None
        Cap on the importance weights ``target / logging`` probabilities. Clipping
        lowers the variance but biases the estimate: for non-negative rewards it is
        biased downwards, since clipped rows count less than they should. None does
        not clip.

    confidence : float, default=0.95
        Level of the normal-approximation confidence interval."""


def ips(
    rewards, logging_probabilities, target_probabilities, *, actions=None, clip=None,
    confidence=0.95,
):
    """Inverse propensity scoring: the mean of ``w_i * r_i``, ``w = pi / mu``.

    Unbiased when the logging probabilities are right and the target only takes
    actions the logging policy could take; its variance grows with the weights.

    Parameters
    ----------
    {target}

    {clip}

    Returns
    -------
    PolicyValue
        Standard error from the spread of the terms ``w_i * r_i``.

    Examples
    --------
    >>> from sklearn_train.bandit.evaluation import ips
    >>> ips([1.0, 0.0, 1.0, 0.5], [0.5, 0.25, 0.8, 0.1], [1.0, 0.5, 0.2, 0.0])
    PolicyValue(ips: value=0.5625, 95% CI [-0.3837, 1.509], std_error=0.483, \
effective_sample_size=2.24, n=4)
    """
    checks.check_confidence(confidence)
    rewards, w = _weights(rewards, logging_probabilities, target_probabilities, actions, clip)
    return mean_result(w * rewards, w, confidence, "ips")


def snips(
    rewards, logging_probabilities, target_probabilities, *, actions=None, clip=None,
    confidence=0.95,
):
    """Self-normalised IPS: ``sum(w_i * r_i) / sum(w_i)``.

    Slightly biased, but bounded by the observed rewards and usually far less
    variable than IPS. Undefined (ValueError) when every weight is 0.

    Parameters
    ----------
    {target}

    {clip}

    Returns
    -------
    PolicyValue
        Standard error of the ratio by the delta method:
        ``sqrt(sum((w_i * (r_i - value)) ** 2) / (n * (n - 1))) / mean(w)``.

    Examples
    --------
    >>> from sklearn_train.bandit.evaluation import snips
    >>> snips([1.0, 0.0, 1.0, 0.5], [0.5, 0.25, 0.8, 0.1], [1.0, 0.5, 0.2, 0.0])
    PolicyValue(snips: value=0.5294, 95% CI [-0.2276, 1.286], std_error=0.386, \
effective_sample_size=2.24, n=4)
    """
    checks.check_confidence(confidence)
    rewards, w = _weights(rewards, logging_probabilities, target_probabilities, actions, clip)
    n, total = w.size, w.sum()
    if total <= 0.0:
        raise ValueError(
            "target_probabilities is 0 for every logged action: SNIPS divides by the "
            "sum of the importance weights, which is 0"
        )
    value = np.dot(w, rewards) / total
    deviations = w * (rewards - value)
    std_error = (
        math.sqrt(np.dot(deviations, deviations) / (n * (n - 1))) / (total / n)
        if n > 1 else math.nan
    )
    return result(value, std_error, effective_sample_size(w), n, confidence, "snips")


def dm(reward_estimates, target_pmf, *, confidence=0.95):
    """Direct method: the mean over rows of ``sum_a pi(a | x_i) * q(x_i, a)``.

    Parameters
    ----------
    reward_estimates : array-like of shape (n, n_actions)
        A reward model's estimate of every action's reward on every logged context.

    target_pmf : array-like of shape (n, n_actions)
        The target policy's pmf on every logged context, rows summing to 1.

    confidence : float, default=0.95
        Level of the normal-approximation confidence interval.

    Returns
    -------
    PolicyValue
        Its standard error reflects the spread of the contexts only, not the reward
        model's error: a biased model gives a confident, wrong interval.
        ``effective_sample_size`` is ``n``.

    Examples
    --------
    >>> from sklearn_train.bandit.evaluation import dm
    >>> dm([[1.0, 0.0], [0.5, 0.5]], [[0.5, 0.5], [1.0, 0.0]])
    PolicyValue(dm: value=0.5, 95% CI [0.5, 0.5], std_error=0, \
effective_sample_size=2, n=2)
    """
    checks.check_confidence(confidence)
    pmf = checks.check_pmf(target_pmf, "target_pmf", None)
    q = checks.check_reward_estimates(
        reward_estimates, pmf.shape[0], pmf.shape[1], reference="target_pmf"
    )
    return mean_result(np.einsum("ij,ij->i", pmf, q), None, confidence, "dm")


def _dr_parts(rewards, logging_probabilities, target_pmf, actions, reward_estimates, clip):
    """Validated DM terms, weights and residuals ``r_i - q(x_i, a_i)`` of a DR log."""
    rewards = checks.as_float_array(rewards, "rewards", 1)
    n = rewards.size
    mu = checks.check_logging_probabilities(logging_probabilities, n)
    pmf = checks.check_pmf(target_pmf, "target_pmf", n)
    actions = checks.check_actions(actions, n, pmf.shape[1])
    q = checks.check_reward_estimates(reward_estimates, n, pmf.shape[1])
    rows = np.arange(n)
    w = np.minimum(pmf[rows, actions] / mu, checks.check_clip(clip))
    return np.einsum("ij,ij->i", pmf, q), w, rewards - q[rows, actions]


_DR_DOC = """rewards : array-like of shape (n,)
        Observed reward of each logged row (higher is better).

    logging_probabilities : array-like of shape (n,)
        Probability, in (0, 1], with which the logging policy took the logged action.

    target_pmf : array-like of shape (n, n_actions)
        The target policy's pmf on every logged context, rows summing to 1.

    actions : array-like of int of shape (n,)
        Column index of each logged action.

    reward_estimates : array-like of shape (n, n_actions)
        A reward model's estimate of every action's reward, columns as ``target_pmf``."""


def dr(
    rewards, logging_probabilities, target_pmf, actions, reward_estimates, *, clip=None,
    confidence=0.95,
):
    """Doubly robust: the direct method plus an IPS correction of its residuals.

    The term of row ``i`` is ``sum_a pi(a|x_i) q(x_i, a) + w_i (r_i - q(x_i, a_i))``.
    Unbiased if either the logging probabilities or the reward model are right; the
    better the model, the smaller the variance left to the IPS part.

    Parameters
    ----------
    {dr}

    {clip}

    Returns
    -------
    PolicyValue
        Standard error from the spread of the per-row terms; the effective sample
        size is that of the importance weights.

    Examples
    --------
    >>> from sklearn_train.bandit.evaluation import dr
    >>> dr([1.0, 0.0], [0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], [0, 1],
    ...    [[0.8, 0.2], [0.6, 0.4]])
    PolicyValue(dr: value=0.4, 95% CI [-1.168, 1.968], std_error=0.8, \
effective_sample_size=2, n=2)
    """
    checks.check_confidence(confidence)
    direct, w, residual = _dr_parts(
        rewards, logging_probabilities, target_pmf, actions, reward_estimates, clip
    )
    return mean_result(direct + w * residual, w, confidence, "dr")


def switch_dr(
    rewards, logging_probabilities, target_pmf, actions, reward_estimates, *, tau,
    clip=None, confidence=0.95,
):
    """Switch-DR (Wang, Agarwal and Dudik, 2017): DR where ``w <= tau``, DM elsewhere.

    Rows whose importance weight exceeds ``tau`` drop the IPS correction and keep
    only the reward model's estimate, trading a bias (where the model is wrong) for
    the variance of large weights. ``tau=inf`` is ``dr``, ``tau=0`` is ``dm``.

    Parameters
    ----------
    {dr}

    tau : float
        Importance-weight threshold, >= 0 (inf allowed). Compared with the clipped
        weights when ``clip`` is given.

    {clip}

    Returns
    -------
    PolicyValue
        Standard error from the spread of the per-row terms; the effective sample
        size is that of the (clipped) importance weights, switched or not.

    Examples
    --------
    >>> from sklearn_train.bandit.evaluation import switch_dr
    >>> switch_dr([1.0, 0.0], [0.5, 0.5], [[1.0, 0.0], [0.0, 1.0]], [0, 1],
    ...           [[0.8, 0.2], [0.6, 0.4]], tau=1.0)
    PolicyValue(switch_dr: value=0.6, 95% CI [0.208, 0.992], std_error=0.2, \
effective_sample_size=2, n=2)
    """
    checks.check_confidence(confidence)
    tau = checks.check_tau(tau)
    direct, w, residual = _dr_parts(
        rewards, logging_probabilities, target_pmf, actions, reward_estimates, clip
    )
    terms = direct + np.where(w <= tau, w * residual, 0.0)
    return mean_result(terms, w, confidence, "switch_dr")


for _f in (ips, snips):
    _f.__doc__ = _f.__doc__.format(target=_TARGET_DOC, clip=_CLIP_DOC)
for _f in (dr, switch_dr):
    _f.__doc__ = _f.__doc__.format(dr=_DR_DOC, clip=_CLIP_DOC)
del _f

ESTIMATORS = {"ips": ips, "snips": snips, "dm": dm, "dr": dr, "switch_dr": switch_dr}
