"""ADWIN: an adaptive window, cut where its old and recent parts differ in mean."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._core import drift as core
from ._base import DriftDetector


def bucket_rows(max_buckets):
    """Rows of buckets (row ``r`` of buckets of ``2**r`` values) that hold a window
    of 2**53 values, as many as a float64 count tells apart, when each row keeps at
    most ``max_buckets`` buckets."""
    return max(1, math.ceil(math.log2(2.0 ** 53 / max_buckets + 1.0)))


class ADWIN(DriftDetector):
    """ADaptive WINdowing drift detector (Bifet and Gavalda, 2007), compiled.

    ADWIN keeps a window of recent values, compressed into buckets of 1, 2, 4, ...
    values (at most ``max_buckets`` of each size), and drops its oldest values while
    some split of the window into an old and a recent part has means further apart
    than a Hoeffding-type bound of confidence ``delta`` allows. A drift is reported
    when anything was dropped. Same parameters, defaults and detections as
    ``river.drift.ADWIN`` (0.26): the window is checked every ``clock`` values once it
    holds more than ``grace_period``, splits leaving a part shorter than
    ``min_window_length`` are not tested, and, as in river, the whole state is
    forgotten at the value after a drift.

    Parameters
    ----------
    delta : float, default=0.002
        Significance of the test, in (0, 1): smaller detects less and later.
    clock : int, default=32
        Test every ``clock`` values (1: at every value).
    max_buckets : int, default=5
        Buckets of each size kept before the two oldest merge.
    min_window_length : int, default=5
        Shortest sub-window a split may leave.
    grace_period : int, default=10
        No test until the window holds more than this many values.

    Attributes
    ----------
    drift_detected, warning_detected : bool
        Whether a drift fired at the last value fed (ADWIN has no warnings).
    drifts_, warnings_ : ndarray of int64
        0-based positions of every value at which a drift (a warning) fired.
    n_seen_ : int
        Values fed since construction or ``reset()``.
    width, total, estimation : float
        Values in the window, their sum and their mean (river's names).

    Notes
    -----
    ``update`` takes a number or a whole 1-D array, processed in one compiled call
    exactly as value after value; ``drift_detected`` then refers to the array's last
    value. The buckets live in fixed arrays of ``bucket_rows(max_buckets)`` rows,
    enough for any stream. Not an estimator with ``fit``, so scikit-learn's
    ``parametrize_with_checks`` does not apply; parameters are validated at the
    first ``update`` and whenever one changed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.drift import ADWIN
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(1.5, 1.0, 1000)])
    >>> detector = ADWIN().update(stream)
    >>> detector.drifts_
    array([1023])
    >>> detector.n_seen_
    2000
    """

    _kernel = core.adwin_update
    _parameter_constraints = {
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "clock": [Interval(Integral, 1, None, closed="left")],
        "max_buckets": [Interval(Integral, 1, None, closed="left")],
        "min_window_length": [Interval(Integral, 1, None, closed="left")],
        "grace_period": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, delta=0.002, clock=32, max_buckets=5, min_window_length=5,
                 grace_period=10):
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period

    def _structure_names(self):
        return ("max_buckets",)

    def _new_state(self):
        rows = bucket_rows(self.max_buckets)
        ints = np.zeros(core.N_ADWIN_STATE_INTS, dtype=np.int64)
        ints[core.AS_PENDING] = 1  # the first value clears (initialises) the state
        return (np.zeros(core.N_ADWIN_STATE_FLOATS), ints,
                np.zeros((rows, self.max_buckets + 1)),
                np.zeros((rows, self.max_buckets + 1)),
                np.zeros(rows, dtype=np.int64))

    def _settings_of(self, state):
        floats = np.zeros(core.N_ADWIN_FLOATS)
        floats[core.AF_DELTA] = self.delta
        floats[core.AF_MIN_WINDOW] = self.min_window_length
        floats[core.AF_GRACE] = self.grace_period
        ints = np.zeros(core.N_ADWIN_INTS, dtype=np.int64)
        ints[core.AI_CLOCK] = self.clock
        ints[core.AI_MAX_BUCKETS] = self.max_buckets
        return floats, ints

    def _window(self, index):
        state = getattr(self, "_stream_state", None)
        return 0.0 if state is None else float(state[0][index])

    @property
    def width(self):
        """The number of values in the window."""
        return self._window(core.AS_WIDTH)

    @property
    def total(self):
        """The sum of the values in the window."""
        return self._window(core.AS_TOTAL)

    @property
    def estimation(self):
        """The mean of the window (0 when it is empty)."""
        return self.total / self.width if self.width else 0.0
