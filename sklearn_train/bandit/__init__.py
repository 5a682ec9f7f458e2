"""Contextual bandits: policies that learn from rewards, off-policy evaluation and
simulation.

A contextual bandit sees a context ``x``, chooses one action, and observes the reward of
that action only. The policies here keep one value model per action (our regressors,
trained by the shared core), explore on top of their estimates, and log the honest
probability of every action they take, so that the logs they leave can be evaluated and
learnt from offline.
"""

from ._offline import DRPolicyLearner, IPSPolicyLearner, PolicyGradientLearner
from ._policies import (
    BootstrapBandit,
    EpsilonGreedyBandit,
    GreedyBandit,
    LinTSBandit,
    LinUCBBandit,
    RegCBBandit,
    SoftmaxBandit,
    SquareCBBandit,
)
from .simulation import (
    BanditData,
    bandit_from_classification,
    expected_policy_loss,
    progressive_validation,
)

__all__ = [
    "BanditData",
    "BootstrapBandit",
    "DRPolicyLearner",
    "EpsilonGreedyBandit",
    "GreedyBandit",
    "IPSPolicyLearner",
    "LinTSBandit",
    "LinUCBBandit",
    "PolicyGradientLearner",
    "RegCBBandit",
    "SoftmaxBandit",
    "SquareCBBandit",
    "bandit_from_classification",
    "expected_policy_loss",
    "progressive_validation",
]
