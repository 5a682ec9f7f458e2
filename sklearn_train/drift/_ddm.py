"""DDM: the error rate of a learner against its best level so far."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._core import drift as core
from ._base import DriftDetector, pending_state


class DDM(DriftDetector):
    """Drift Detection Method (Gama et al., 2004) over a stream of errors, compiled.

    The input is 1 for an error (a wrong prediction) and 0 for a correct one. With
    ``p`` the error rate since the last drift and ``s = sqrt(p (1 - p) / n)``, DDM
    remembers ``p_min, s_min`` where ``p + s`` was lowest; past ``warm_start`` values,
    ``p + s > p_min + warning_threshold * s_min`` is a warning and ``p + s > p_min +
    drift_threshold * s_min`` a drift (then not a warning). Same parameters, defaults
    and detections as ``river.drift.binary.DDM`` (0.26), including the reset of the
    whole state at the value after a drift.

    Parameters
    ----------
    warm_start : int, default=30
        Values seen (since the last drift) before anything may fire.
    warning_threshold : float, default=2.0
        Standard deviations above the best level that make a warning.
    drift_threshold : float, default=3.0
        Standard deviations above the best level that make a drift.

    Attributes
    ----------
    drift_detected, warning_detected : bool
        Whether a drift (a warning) fired at the last value fed.
    drifts_, warnings_ : ndarray of int64
        0-based positions of every value at which a drift (a warning) fired.
    n_seen_ : int
        Values fed since construction or ``reset()``.

    Notes
    -----
    Values must be 0 or 1 (booleans too): a rate of anything else is not an error
    rate, and ``s`` would be meaningless, so other values raise a ValueError.
    ``update`` takes a number or a 1-D array, processed in one compiled call exactly
    as value after value (the flags refer to the last value). Not an estimator with
    ``fit``: scikit-learn's ``parametrize_with_checks`` does not apply; parameters are
    validated at the first ``update`` and whenever one changed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.drift import DDM
    >>> rng = np.random.default_rng(0)
    >>> errors = np.concatenate([rng.random(1000) < 0.1, rng.random(1000) < 0.3])
    >>> detector = DDM().update(errors)
    >>> detector.drifts_
    array([1052])
    >>> warnings = detector.warnings_  # the first warning after the change:
    >>> int(warnings[warnings >= 1000][0])
    1013
    """

    _kernel = core.ddm_update
    _parameter_constraints = {
        "warm_start": [Interval(Integral, 0, None, closed="left")],
        "warning_threshold": [Interval(Real, 0, None, closed="left")],
        "drift_threshold": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, warm_start=30, warning_threshold=2.0, drift_threshold=3.0):
        self.warm_start = warm_start
        self.warning_threshold = warning_threshold
        self.drift_threshold = drift_threshold

    @staticmethod
    def _takes(value):
        return value == 0 or value == 1

    def _check_domain(self, values):
        bad = np.flatnonzero((values != 0.0) & (values != 1.0))
        if bad.size:
            raise ValueError(f"DDM.update takes errors as 0 or 1 (or booleans); got "
                             f"{values[bad[0]]} at position {bad[0]}.")

    def _new_state(self):
        return pending_state(core.N_DDM_STATE_FLOATS, core.N_DDM_STATE_INTS, core.DS_PENDING)

    def _settings_of(self, state):
        floats = np.zeros(core.N_DDM_FLOATS)
        floats[core.DF_WARNING] = self.warning_threshold
        floats[core.DF_DRIFT] = self.drift_threshold
        ints = np.zeros(core.N_DDM_INTS, dtype=np.int64)
        ints[core.DI_WARM_START] = self.warm_start
        return floats, ints
