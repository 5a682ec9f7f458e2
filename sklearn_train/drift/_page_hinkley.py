"""Page-Hinkley: cumulative deviations from the running mean."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._core import drift as core
from ._base import DriftDetector, pending_state

_MODES = {"up": core.MODE_UP, "down": core.MODE_DOWN, "both": core.MODE_BOTH}


class PageHinkley(DriftDetector):
    """Page-Hinkley test for a change in the mean of a stream, compiled.

    With ``m_t`` the running mean, the detector keeps ``U_t = alpha U_{t-1} + (x_t -
    m_t) - delta`` and ``L_t = alpha L_{t-1} + (x_t - m_t) + delta``; an increase
    fires when ``U_t - min U > threshold``, a decrease when ``max L - L_t >
    threshold``, once ``min_instances`` values were seen since the last reset. Same
    parameters, defaults and detections as ``river.drift.PageHinkley`` (0.26),
    including the reset of the whole state at the value after a drift.

    Parameters
    ----------
    min_instances : int, default=30
        Values seen (since the last drift) before a drift may fire.
    delta : float, default=0.005
        Deviations tolerated per value (non-negative).
    threshold : float, default=50.0
        The detection threshold (lambda).
    alpha : float, default=0.9999
        Forgetting factor of the cumulative sums, in (0, 1].
    mode : {"both", "up", "down"}, default="both"
        Detect increases of the mean, decreases, or both.

    Attributes
    ----------
    drift_detected, warning_detected : bool
        Whether a drift fired at the last value fed (no warnings here).
    drifts_, warnings_ : ndarray of int64
        0-based positions of every value at which a drift (a warning) fired.
    n_seen_ : int
        Values fed since construction or ``reset()``.

    Notes
    -----
    ``update`` takes a number or a 1-D array, processed in one compiled call exactly
    as value after value (``drift_detected`` refers to the last value). river starts
    its running maximum of ``L`` at -1 rather than minus infinity; with ``delta >= 0``
    (required here: a negative tolerance means nothing) the first ``L`` is ``delta``,
    so the two agree. Not an estimator with ``fit``: scikit-learn's
    ``parametrize_with_checks`` does not apply; parameters are validated at the first
    ``update`` and whenever one changed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.drift import PageHinkley
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(1.5, 1.0, 1000)])
    >>> detector = PageHinkley()
    >>> for value in stream[:1100]:
    ...     _ = detector.update(value)
    >>> detector.update(stream[1100:]).drifts_
    array([1033, 1922])
    """

    _kernel = core.page_hinkley_update
    _parameter_constraints = {
        "min_instances": [Interval(Integral, 0, None, closed="left")],
        "delta": [Interval(Real, 0, None, closed="left")],
        "threshold": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="right")],
        "mode": [StrOptions(set(_MODES))],
    }

    def __init__(self, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001,
                 mode="both"):
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode

    def _new_state(self):
        return pending_state(core.N_PH_STATE_FLOATS, core.N_PH_STATE_INTS, core.PS_PENDING)

    def _settings_of(self, state):
        floats = np.zeros(core.N_PH_FLOATS)
        floats[core.PF_DELTA] = self.delta
        floats[core.PF_THRESHOLD] = self.threshold
        floats[core.PF_ALPHA] = self.alpha
        ints = np.zeros(core.N_PH_INTS, dtype=np.int64)
        ints[core.PI_MIN_INSTANCES] = self.min_instances
        ints[core.PI_MODE] = _MODES[self.mode]
        return floats, ints
