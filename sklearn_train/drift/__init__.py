"""Concept drift: detectors, an input monitor, and a model that reacts.

- ``ADWIN``, ``PageHinkley``, ``DDM`` and ``KSWIN``: compiled counterparts of river's
  detectors (same parameters, defaults and detections; see each class for where
  they differ on purpose) whose ``update`` also takes a whole 1-D array, processed
  in one compiled call as if fed value by value. They are scikit-learn
  ``BaseEstimator`` objects (``clone``, ``get_params``, ``set_params``, repr) but not
  estimators with ``fit``, so ``parametrize_with_checks`` does not apply to them.
- ``FeatureDriftMonitor``: per-feature EWMA charts of the input's mean and spread.
- ``DriftAdaptive``: a meta-estimator that learns a stream with ``partial_fit``,
  watches its errors (and optionally its input) and reacts to a drift.
"""

from ._adaptive import DriftAdaptive
from ._adwin import ADWIN
from ._ddm import DDM
from ._feature_monitor import FeatureDriftMonitor
from ._kswin import KSWIN
from ._page_hinkley import PageHinkley

__all__ = ["ADWIN", "DDM", "DriftAdaptive", "FeatureDriftMonitor", "KSWIN", "PageHinkley"]
