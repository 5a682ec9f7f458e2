"""Off-policy evaluation: what would a target policy have earned on a logged bandit?

A bandit log holds, for every row, the context, the action taken, its reward and the
logging policy's probability of that action. The estimators re-weight or model the
rewards to estimate the expected reward of another (target) policy:

``ips``
    inverse propensity scoring, unbiased, high variance;
``snips``
    self-normalised IPS, a little biased, much steadier;
``dm``
    the direct method, the mean of a reward model's estimates under the target;
``dr``
    doubly robust, DM plus an IPS correction of the model's residuals;
``switch_dr``
    DR where the importance weight is at most ``tau``, DM elsewhere.

Each returns a :class:`PolicyValue` with a normal-approximation confidence interval
and the effective sample size of its importance weights. :func:`evaluate_policy`
applies them to a fitted policy and :func:`make_policy_scorer` makes a scorer for
``GridSearchCV`` that receives the log's rewards and probabilities through
scikit-learn's metadata routing.
"""

from ._off_policy import dm, dr, ips, snips, switch_dr
from ._policy_value import PolicyValue
from ._policy_scoring import PolicyScorer, evaluate_policy, make_policy_scorer

__all__ = [
    "PolicyScorer",
    "PolicyValue",
    "dm",
    "dr",
    "evaluate_policy",
    "ips",
    "make_policy_scorer",
    "snips",
    "switch_dr",
]
