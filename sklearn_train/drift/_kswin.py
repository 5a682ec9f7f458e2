"""KSWIN: a Kolmogorov-Smirnov test between the newest values and older ones."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.stats import ks_2samp
from sklearn.utils._param_validation import Interval

from .._core import drift as core
from ._base import DriftDetector

_STREAM = np.uint64(0x3C6EF372FE94F82B)  # KSWIN's sampling stream, apart from others


def critical_count(alpha, stat_size):
    """The smallest ``k`` such that two samples of ``stat_size`` values whose
    empirical distributions differ by ``k / stat_size`` make a drift by river's rule
    (``ks_2samp(..., method="auto")`` p-value at most ``alpha`` and statistic above
    0.1); ``stat_size + 1`` when no ``k`` does.

    The p-value depends on the statistic only, which is a multiple of
    ``1 / stat_size``; it falls as ``k`` grows, so a bisection over ``k`` (each step
    one scipy call on two shifted ranges that differ by exactly ``k / stat_size``)
    turns the test into one integer comparison per value.
    """
    base = np.arange(stat_size, dtype=np.float64)

    def significant(k):
        with warnings.catch_warnings():  # scipy says when it falls back to asymptotics
            warnings.simplefilter("ignore", RuntimeWarning)
            return ks_2samp(base, base + k, method="auto").pvalue <= alpha

    low, high = stat_size // 10 + 1, stat_size  # k / stat_size > 0.1
    if low > high or not significant(high):
        return stat_size + 1
    while low < high:
        middle = (low + high) // 2
        if significant(middle):
            high = middle
        else:
            low = middle + 1
    return low


class KSWIN(DriftDetector):
    """Kolmogorov-Smirnov Windowing drift detector (Raab et al., 2020), compiled.

    KSWIN slides a window of ``window_size`` values. Once it is full, at every value
    it draws ``stat_size`` of the window's older ``window_size - stat_size`` values
    at random and compares their empirical distribution with that of the newest
    ``stat_size``: a two-sample Kolmogorov-Smirnov test whose p-value is at most
    ``alpha`` (and whose statistic exceeds 0.1) is a drift. Same parameters, defaults
    and test as ``river.drift.KSWIN`` (0.26), with the differences below.

    Parameters
    ----------
    alpha : float, default=0.005
        Significance of the test, in [0, 1]; keep it small (below 0.01).
    window_size : int, default=100
        Length of the sliding window.
    stat_size : int, default=30
        Values in each sample tested; at most ``window_size / 2``, so that the
        older part holds enough values to draw them without repetition.
    seed : int or None, default=None
        Seed of the draws; None takes a fresh one (from the operating system) when
        the state is made.
    window : array-like of shape (n_values,) or None, default=None
        Values seen before, to start from (the last ``window_size`` are kept);
        ``reset()`` starts from them again.

    Attributes
    ----------
    drift_detected, warning_detected : bool
        Whether a drift fired at the last value fed (KSWIN has no warnings).
    drifts_, warnings_ : ndarray of int64
        0-based positions of every value at which a drift (a warning) fired.
    n_seen_ : int
        Values fed since construction or ``reset()``.

    Notes
    -----
    Where this differs from river 0.26, on purpose:

    * After a drift, river sets its window to the newest ``stat_size`` values, but
      its next ``update`` resets the whole detector (river's convention for every
      detector), so the window actually restarts empty and, with a seed, the
      random draws restart from the seed. Here the window keeps the newest
      ``stat_size`` values, as the method's authors describe (they belong to the
      new concept): the next test comes ``window_size - stat_size`` values after a
      drift rather than ``window_size``.
    * The draws come from our counter-based stream (``sklearn_train._core.data``)
      keyed by ``seed``, so they are reproducible and never repeat after a drift;
      they differ from river's ``random.Random`` draws, so the detections agree
      with river's in distribution, not value by value.
    * river's test calls scipy's ``ks_2samp`` at every value; here the statistic
      is counted exactly in compiled code and compared with ``critical_count``,
      the same decision (the statistic must exceed 0.1 exactly, not up to
      rounding).

    ``update`` takes a number or a 1-D array, processed in one compiled call exactly
    as value after value (``drift_detected`` refers to the last value). Not an
    estimator with ``fit``: scikit-learn's ``parametrize_with_checks`` does not
    apply; parameters are validated at the first ``update`` and whenever one changed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.drift import KSWIN
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0.0, 1.0, 1000), rng.normal(3.0, 1.0, 1000)])
    >>> detector = KSWIN(alpha=0.0001, seed=42).update(stream)
    >>> int(detector.drifts_[detector.drifts_ >= 1000][0])
    1015
    """

    _kernel = core.kswin_update
    _parameter_constraints = {
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "window_size": [Interval(Integral, 2, None, closed="left")],
        "stat_size": [Interval(Integral, 1, None, closed="left")],
        "seed": [None, Interval(Integral, 0, 2 ** 64 - 1, closed="both")],
        "window": [None, "array-like"],
    }

    def __init__(self, alpha=0.005, window_size=100, stat_size=30, seed=None, window=None):
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed
        self.window = window

    def _check_params(self):
        if 2 * self.stat_size > self.window_size:
            raise ValueError(
                f"KSWIN needs stat_size <= window_size / 2 (the older part of the window "
                f"must hold stat_size values to draw from); got stat_size="
                f"{self.stat_size}, window_size={self.window_size}.")
        self._initial_window()

    def _initial_window(self):
        if self.window is None:
            return np.empty(0)
        try:
            values = np.asarray(self.window, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"KSWIN's window must hold real numbers: {error}") from None
        if values.ndim != 1 or not np.isfinite(values).all():
            raise ValueError("KSWIN's window must be a 1-D sequence of finite numbers.")
        return values[len(values) - min(len(values), self.window_size):]

    def _structure_names(self):
        return ("window_size", "stat_size", "seed", "window")

    def _structure(self):
        return (self.window_size, self.stat_size, self.seed,
                tuple(self._initial_window().tolist()))

    def _new_state(self):
        if self.seed is None:
            seed = np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0]
        else:
            seed = np.uint64(self.seed)
        window = np.zeros(self.window_size)
        start = self._initial_window()
        window[:start.shape[0]] = start
        ints = np.zeros(core.N_KSWIN_STATE_INTS, dtype=np.int64)
        ints[core.KS_COUNT] = start.shape[0]
        return (ints, window, np.arange(self.window_size - self.stat_size),
                np.zeros(self.stat_size), np.zeros(self.stat_size),
                np.array([seed ^ _STREAM], dtype=np.uint64))

    def _settings_of(self, state):
        settings = np.zeros(core.N_KSWIN_INTS, dtype=np.int64)
        settings[core.KI_WINDOW] = self.window_size
        settings[core.KI_STAT] = self.stat_size
        settings[core.KI_CRITICAL] = critical_count(self.alpha, self.stat_size)
        return settings
