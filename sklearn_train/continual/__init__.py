"""Continual learning: a sequence of tasks, learned one after another.

``ContinualLearner`` wraps one of our gradient-trained models (or, for replay
alone, any estimator with ``partial_fit``) and learns task after task with elastic
weight consolidation (``ewc=``: the exact per-sample diagonal Fisher as the
penalty's weights, applied inside the compiled epoch) and / or experience replay
(``replay=``: a class-balanced reservoir of earlier rows). ``ForgettingMonitor``
records the accuracy matrix, the average accuracy and the backward transfer.
"""

from ._learner import ContinualLearner
from ._monitor import ForgettingMonitor

__all__ = ["ContinualLearner", "ForgettingMonitor"]
