"""FeatureDriftMonitor: has the input itself changed, feature by feature?"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

from .._core import feature_drift as core


class FeatureDriftMonitor(BaseEstimator):
    """Per-feature monitor of the input's mean and spread (EWMA control charts).

    A drift of the concept shows in a model's errors; a drift of the input (a
    sensor recalibrated, a new population of users) shows in the features first,
    before any label arrives. Each feature's first ``reference`` values fix its
    mean and standard deviation; after that, exponentially weighted means of its
    standardised value and of its square are watched, and the feature fires when
    either leaves ``threshold`` of its standard deviations: a shift of the mean or
    a change of the spread. A feature that fired learns a new reference from its
    next value; so does one that was constant over its reference.

    Parameters
    ----------
    reference : int, default=500
        Values of each feature that fix its reference (at least 10).
    smoothing : float, default=0.02
        The weight ``lambda`` of the newest value in the moving averages, in (0, 1]:
        smaller notices smaller shifts, later (the averages span about ``2 / lambda``
        values).
    threshold : float, default=6.0
        Standard deviations of a moving average, from the reference, at which a
        feature fires. With the defaults, a normal feature fires falsely less than
        once in 10**6 rows, and a shift of its mean by one standard deviation is
        caught about 45 rows after it happens; lower the threshold for earlier,
        noisier alarms.
    clip : float, default=4.0
        Standardised values are clipped to ``[-clip, clip]``, so that one outlier of
        a heavy-tailed or sparse feature cannot fire the chart on its own.

    Attributes
    ----------
    drift_detected : bool
        Whether some feature fired at the last row fed.
    drifted_features_ : ndarray of int64
        The features that fired at the last row fed.
    drifts_ : ndarray of int64
        0-based positions of the rows at which some feature fired.
    events_ : ndarray of shape (n_events, 3), int64
        One row ``(position, feature, kind)`` per feature that fired, ``kind`` 1 for
        a shift of the mean, 2 of the spread, 3 of both (``MEAN_SHIFT | SPREAD_SHIFT``).
    n_seen_ : int
        Rows fed since construction or ``reset()``.
    n_features_in_ : int
        Features of the rows fed (fixed by the first row).

    Notes
    -----
    The charts assume nothing about the features' distribution: the standardised,
    clipped values are centred and scaled by their own moments over the reference.
    They do assume the reference rows are independent; strongly autocorrelated
    features (a slowly wandering sensor) fire more often than the threshold says.
    A shift of the mean also moves the spread chart (the squares grow). Rare-event
    features (a binary feature that is 1 in 2% of rows) have moving averages far
    from normal and fire more often than the threshold says.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train.drift import FeatureDriftMonitor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(3000, 4))
    >>> X[2000:, 2] += 1.0  # feature 2 shifts at row 2000
    >>> monitor = FeatureDriftMonitor().update(X)
    >>> monitor.events_  # position, feature, kind (1: the mean moved)
    array([[2011,    2,    1]])
    """

    _parameter_constraints = {
        "reference": [Interval(Integral, 10, None, closed="left")],
        "smoothing": [Interval(Real, 0, 1, closed="right")],
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "clip": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, reference=500, smoothing=0.02, threshold=6.0, clip=4.0):
        self.reference = reference
        self.smoothing = smoothing
        self.threshold = threshold
        self.clip = clip

    def update(self, X):
        """Feed rows of the input, in order, in one compiled call.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features) or (n_features,)
            The next row(s); a 1-D array is one row.

        Returns
        -------
        self
        """
        values = self._check_rows(X)
        self._validate_params()
        settings = self._settings()
        state = self.__dict__.get("_stream_state")
        if state is None:
            state = core.new_feature_state(values.shape[1], self.reference)
        elif state[2].shape[0] != self.reference:
            raise ValueError("FeatureDriftMonitor: reference changed after rows were "
                             "fed, and fixes the shape of the state: call reset() first.")
        if values.shape[0] == 0:
            return self
        flags = np.zeros(values.shape, dtype=np.uint8)
        core.feature_drift_update(values, settings, state, flags)
        self._stream_state = state
        self.n_features_in_ = values.shape[1]
        self._record(flags)
        return self

    def reset(self):
        """Forget every row fed (references, charts, events); keep the parameters."""
        for name in [name for name in vars(self) if name.startswith("_stream_")]:
            delattr(self, name)
        self.__dict__.pop("n_features_in_", None)
        return self

    @property
    def drift_detected(self):
        """Whether some feature fired at the last row fed."""
        return bool(self.__dict__.get("_stream_last", np.empty(0)).size)

    @property
    def drifted_features_(self):
        """The features that fired at the last row fed."""
        return self.__dict__.get("_stream_last", np.empty(0, dtype=np.int64)).copy()

    @property
    def events_(self):
        """``(position, feature, kind)`` of every feature that fired."""
        events = self.__dict__.get("_stream_events", [])
        if not events:
            return np.empty((0, 3), dtype=np.int64)
        return np.concatenate(events)

    @property
    def drifts_(self):
        """Positions of the rows at which some feature fired."""
        return np.unique(self.events_[:, 0])

    @property
    def n_seen_(self):
        """Rows fed since construction or ``reset()``."""
        return self.__dict__.get("_stream_n_seen", 0)

    def _settings(self):
        floats = np.zeros(core.N_FEATURE_FLOATS)
        floats[core.FF_SMOOTHING] = self.smoothing
        floats[core.FF_THRESHOLD] = self.threshold
        floats[core.FF_CLIP] = self.clip
        ints = np.zeros(core.N_FEATURE_INTS, dtype=np.int64)
        ints[core.FI_REFERENCE] = self.reference
        return floats, ints

    def _check_rows(self, X):
        try:
            values = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"FeatureDriftMonitor.update takes real numbers: "
                             f"{error}") from None
        if values.ndim == 1:
            values = values.reshape(1, -1)
        if values.ndim != 2:
            raise ValueError(f"FeatureDriftMonitor.update takes a row or a 2-D array "
                             f"of rows; got an array of shape {values.shape}.")
        if values.shape[1] == 0:
            raise ValueError("FeatureDriftMonitor.update got rows of 0 features.")
        expected = self.__dict__.get("n_features_in_")
        if expected is not None and values.shape[1] != expected:
            raise ValueError(f"X has {values.shape[1]} features, but the monitor has "
                             f"watched {expected} so far (call reset() to start over).")
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            row, column = bad[0]
            raise ValueError(f"FeatureDriftMonitor.update got {values[row, column]} at "
                             f"row {row}, feature {column}: values must be finite.")
        return np.ascontiguousarray(values)

    def _record(self, flags):
        start = self.n_seen_
        self._stream_n_seen = start + flags.shape[0]
        rows, features = np.nonzero(flags)
        last = features[rows == flags.shape[0] - 1]
        self._stream_last = last.astype(np.int64)
        if rows.size:
            events = np.column_stack([rows + start, features, flags[rows, features]])
            self.__dict__.setdefault("_stream_events", []).append(events.astype(np.int64))
