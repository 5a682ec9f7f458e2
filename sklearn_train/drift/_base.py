"""What every detector shares: input checks, parameter validation, the event record.

A detector is a ``BaseEstimator`` for ``clone``, ``get_params``, ``set_params`` and its
repr, but not an estimator with ``fit``: ``update`` feeds it a stream. Its state is a
tuple of NumPy arrays that its compiled kernel (``sklearn_train._core.drift``) changes
in place, so a pickled detector continues exactly where it stopped.
"""

import math

import numpy as np
from sklearn.base import BaseEstimator

from .._core.drift import DRIFT, WARNING

_SCALARS = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32,
                      np.bool_})


def pending_state(n_floats, n_ints, pending):
    """A ``(floats, ints)`` state of zeros whose ``ints[pending]`` flag makes the
    kernel clear (initialise) it at the first value."""
    ints = np.zeros(n_ints, dtype=np.int64)
    ints[pending] = 1
    return np.zeros(n_floats), ints


class DriftDetector(BaseEstimator):
    """Base class of the compiled drift detectors (not public).

    Subclasses give ``_kernel`` (a function of ``(values, settings, state, flags)``),
    ``_new_state()``, ``_settings_of(state)`` and, when some parameter fixes the
    shape of the state, ``_structure()``: the values that must not change while a
    state exists.
    """

    _kernel = None

    # ---- the stream ----------------------------------------------------------------
    def update(self, x):
        """Feed one value or a 1-D array of values, in order, in one compiled call.

        Parameters
        ----------
        x : float or array-like of shape (n_values,)
            The next value(s) of the stream.

        Returns
        -------
        self
            ``drift_detected`` and ``warning_detected`` then say whether a drift
            (a warning) fired at the last value fed, exactly as if the values had
            been fed one by one; ``drifts_`` and ``warnings_`` hold every position
            where one fired.
        """
        values = self._check_values(x)
        settings, state = self._prepared()
        if values.shape[0] == 0:
            return self
        if values.shape[0] == 1 and values is self.__dict__.get("_stream_one"):
            flags = self._stream_one_flag
        else:
            flags = np.empty(values.shape[0], dtype=np.uint8)
        n_flagged = type(self)._kernel(values, settings, state, flags)
        self._record(flags, n_flagged)
        return self

    def reset(self):
        """Forget everything seen (state, positions, counts); keep the parameters."""
        for name in [name for name in vars(self) if name.startswith("_stream_")]:
            delattr(self, name)
        return self

    # ---- what the stream left ------------------------------------------------------
    @property
    def drift_detected(self):
        """Whether a drift fired at the last value fed."""
        return bool(getattr(self, "_stream_last", 0) & DRIFT)

    @property
    def warning_detected(self):
        """Whether a warning fired at the last value fed (never, for detectors
        without a warning zone)."""
        return bool(getattr(self, "_stream_last", 0) & WARNING)

    @property
    def drifts_(self):
        """0-based positions, among all values fed since construction or ``reset``,
        where a drift fired."""
        return self._positions("_stream_drifts")

    @property
    def warnings_(self):
        """0-based positions where a warning fired (see ``drifts_``)."""
        return self._positions("_stream_warnings")

    @property
    def n_seen_(self):
        """The number of values fed since construction or ``reset``."""
        return getattr(self, "_stream_n_seen", 0)

    # ---- internals -----------------------------------------------------------------
    def _check_values(self, x):
        name = type(self).__name__
        if type(x) in _SCALARS:  # the per-value path: no NumPy call before the kernel
            if not math.isfinite(x):
                raise ValueError(f"{name}.update got {x!r}: values must be finite.")
            if not self._takes(x):
                self._check_domain(np.array([x], dtype=np.float64))
            one = self.__dict__.get("_stream_one")
            if one is None:  # reused: allocating costs as much as the kernel
                one = self._stream_one = np.empty(1)
                self._stream_one_flag = np.empty(1, dtype=np.uint8)
            one[0] = x
            return one
        try:
            values = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}.update takes real numbers: {error}") from None
        if values.ndim > 1:
            raise ValueError(f"{name}.update takes a number or a 1-D array; got an "
                             f"array of shape {values.shape}.")
        values = np.ascontiguousarray(values.reshape(-1))
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(f"{name}.update got {values[bad[0]]} at position "
                             f"{bad[0]}: values must be finite (no NaN or infinity).")
        self._check_domain(values)
        return values

    @staticmethod
    def _takes(value):
        """Whether the detector takes the finite number ``value`` (all do but DDM)."""
        return True

    def _check_domain(self, values):
        """Raise a ValueError for values the detector cannot take (all can take any
        finite value but DDM)."""

    def _prepared(self):
        """The settings and the state, validating the parameters first when any of
        them was set since the last call (everything or nothing is stored). A
        parameter changed in place (a ``window`` list edited) is not seen."""
        if self.__dict__.get("_stream_valid"):
            return self._stream_settings, self._stream_state
        self._validate_params()
        self._check_params()
        structure = self._structure()
        if hasattr(self, "_stream_state"):
            changed = [name for name, old, new in zip(self._structure_names(),
                                                      self._stream_structure, structure)
                       if old != new]
            if changed:
                raise ValueError(
                    f"{type(self).__name__}: {', '.join(changed)} changed after values "
                    "were fed, and fixes the shape of the state: call reset() first.")
            state = self._stream_state
        else:
            state = self._new_state()
        settings = self._settings_of(state)
        self._stream_state = state
        self._stream_settings = settings
        self._stream_structure = structure
        self._stream_valid = True
        return settings, state

    def __setattr__(self, name, value):
        # setting a parameter (set_params does too) makes the next update validate
        if not name.startswith("_stream_"):
            self.__dict__.pop("_stream_valid", None)
        object.__setattr__(self, name, value)

    def _check_params(self):
        """Checks across parameters, after ``_parameter_constraints``."""

    def _structure(self):
        return tuple(getattr(self, name) for name in self._structure_names())

    def _structure_names(self):
        return ()

    def _record(self, flags, n_flagged):
        start = self.n_seen_
        self._stream_last = int(flags[-1])
        self._stream_n_seen = start + flags.shape[0]
        if n_flagged:
            self._append("_stream_drifts", np.flatnonzero(flags & DRIFT) + start)
            self._append("_stream_warnings", np.flatnonzero(flags & WARNING) + start)

    def _append(self, name, positions):
        """Add ``positions`` to the record ``name`` = (buffer, count); the buffer
        doubles when full, so a long stream of per-value calls stays O(1) a call."""
        if positions.size == 0:
            return
        buffer, count = getattr(self, name, (np.empty(0, dtype=np.int64), 0))
        if count + positions.size > buffer.shape[0]:
            grown = np.empty(max(2 * buffer.shape[0], count + positions.size, 8), np.int64)
            grown[:count] = buffer[:count]
            buffer = grown
        buffer[count:count + positions.size] = positions
        setattr(self, name, (buffer, count + positions.size))

    def _positions(self, name):
        buffer, count = getattr(self, name, (np.empty(0, dtype=np.int64), 0))
        return buffer[:count].copy()
