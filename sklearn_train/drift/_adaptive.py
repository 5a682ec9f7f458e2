"""DriftAdaptive: an online model that notices a drift and reacts to it."""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._delegate import DelegatingMixin
from .._estimator import CachedParameterNames, check_params_once
from ._adwin import ADWIN
from ._base import DriftDetector
from ._ddm import DDM
from ._feature_monitor import FeatureDriftMonitor
from ._signals import RecentRows, row_signal, signal_from_outputs, signal_of

REACTIONS = ("reset", "boost_lr", "refit_window")
# inputs of at most this many values that ``predict`` saw are kept, so that the
# ``partial_fit`` of the same rows reuses the predictions as its "error" signal
_REUSED_SIZE = 4096
# rows per compiled call of the prequential fast path (progressive_val_score)
_CHUNK = 2048


class DriftAdaptive(CachedParameterNames, DelegatingMixin, MetaEstimatorMixin, BaseEstimator):
    """Learn a stream with ``partial_fit``; on a detected drift, react.

    Before each ``partial_fit`` call learns its rows, the model as it stands
    predicts them; each row's error (or loss) goes to ``detector``, and when it
    reports a drift the wrapper reacts once the call has learned its rows:

    * ``"reset"`` keeps the parameters and starts the optimizer over: zero moments,
      and a step schedule (``invscaling``, ``optimal``) back at its first, largest
      rate, so the model moves fast towards the new concept and settles again;
    * ``"boost_lr"`` multiplies every rate by ``boost`` for the next ``boost_rows``
      rows;
    * ``"refit_window"`` replaces the model by a fresh clone of ``estimator``
      trained ``refit_epochs`` times over the last ``window`` rows (any estimator
      with ``partial_fit``; the other two need one of ours).

    ``input_monitor`` (a ``FeatureDriftMonitor``) watches the features as a second
    signal: a shift of the input triggers the same reaction, before the errors
    grow. ``history_`` records every drift, where it was seen, and what was done.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        The online model (cloned).
    detector : drift detector, default=None
        Fed one value per row (cloned); None: ``ADWIN()``. ``DDM`` needs
        ``signal="error"`` on a classifier (0/1 values).
    reaction : {"reset", "boost_lr", "refit_window"}, default="reset"
        What a drift does (see above).
    signal : {"error", "loss"} or callable, default="error"
        What the detector watches: ``"error"`` is a classifier's 0/1 mistake or a
        regressor's absolute error; ``"loss"`` the log loss or squared error; a
        callable ``signal(estimator, X, y)`` returns one value per row.
    window : int, default=1000
        Rows ``"refit_window"`` retrains on.
    boost : float, default=10.0
        Factor on the learning rate after a drift (``"boost_lr"``, > 1).
    boost_rows : int, default=500
        Rows the boost lasts.
    refit_epochs : int, default=5
        Passes over the window of ``"refit_window"``.
    input_monitor : FeatureDriftMonitor or None, default=None
        A second signal, fed the features of every row (cloned). ``fit``'s rows
        are its reference.

    Attributes
    ----------
    estimator_ : estimator
        The model that predicts.
    detector_ : drift detector
        The detector, fed one value per row since ``fit`` (or the first
        ``partial_fit``).
    input_monitor_ : FeatureDriftMonitor or None
        The input monitor, fed every row.
    history_ : list of dict
        One entry per drift: ``row`` (0-based position in the stream since ``fit``
        or the first ``partial_fit``), ``source`` (``"error"``: the detector;
        ``"input"``: the monitor, with the ``features`` that moved) and the
        ``reaction`` taken (one per call, at the first drift of the call: later
        drifts of the same call are recorded with reaction None).
    drifts_ : ndarray of int64
        The ``row`` of every entry of ``history_``.
    n_seen_ : int
        Rows learned since ``fit`` or the first ``partial_fit``.
    classes_ : ndarray
        The classes (classifiers).
    n_features_in_ : int
        Features of the rows.

    Notes
    -----
    A reaction takes effect after the call in which the drift was detected: with
    one-row calls, at the next row. ``progressive_val_score`` runs a
    ``DriftAdaptive`` over our linear models in compiled calls of 2,048 rows; a
    drift rolls the call back to the block where it fired, so the predictions,
    drifts and model equal those of block-by-block ``partial_fit`` calls. With a
    callable ``signal`` it goes block by block.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.drift import DriftAdaptive
    >>> from sklearn_train.evaluation import progressive_val_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(6000, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> y[3000:] = X[3000:, 1] > 0  # the concept changes at row 3000
    >>> plain = progressive_val_score(LinearClassifier(random_state=0), X, y,
    ...                               "accuracy", batch_size=10, window=500)
    >>> model = DriftAdaptive(LinearClassifier(random_state=0), reaction="boost_lr")
    >>> result = progressive_val_score(model, X, y, "accuracy", batch_size=10,
    ...                                window=500)
    >>> round(plain.score, 3), round(result.score, 3)  # over the last 500 rows
    (0.8, 0.988)
    >>> result.estimator.drifts_  # rows where the detector saw a change
    array([1033, 3049, 3593])

    The first "drift" is the error rate falling while the model learns: ADWIN
    reports changes of either sign.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["partial_fit"])],
        "detector": [DriftDetector, None],
        "reaction": [StrOptions(set(REACTIONS))],
        "signal": [StrOptions({"error", "loss"}), callable],
        "window": [Interval(Integral, 1, None, closed="left")],
        "boost": [Interval(Real, 1, None, closed="neither")],
        "boost_rows": [Interval(Integral, 1, None, closed="left")],
        "refit_epochs": [Interval(Integral, 1, None, closed="left")],
        "input_monitor": [FeatureDriftMonitor, None],
    }

    def __init__(self, estimator, detector=None, *, reaction="reset", signal="error",
                 window=1000, boost=10.0, boost_rows=500, refit_epochs=5,
                 input_monitor=None):
        self.estimator = estimator
        self.detector = detector
        self.reaction = reaction
        self.signal = signal
        self.window = window
        self.boost = boost
        self.boost_rows = boost_rows
        self.refit_epochs = refit_epochs
        self.input_monitor = input_monitor

    # -- training -----------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit a clone of ``estimator`` on ``(X, y)``; the stream starts after.

        The detector starts empty (training rows give no honest errors); the input
        monitor takes these rows as its reference.

        Returns
        -------
        self : DriftAdaptive
        """
        self._check_params()
        estimator = clone(self.estimator)
        estimator.fit(X, y, **_weights(sample_weight), **fit_params)
        self._start(estimator)
        self._after_learning(X, y, sample_weight, np.empty(0), 0)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Predict the rows with the current model (the detector's signal), learn
        them, then react when a drift was detected.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        classes : array-like, default=None
            Every class of the stream (classifiers; needed at the first call).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : DriftAdaptive
        """
        self._check_params()
        fit_params = _weights(sample_weight)
        if classes is not None:
            fit_params["classes"] = classes
        if not hasattr(self, "estimator_"):
            estimator = clone(self.estimator)
            estimator.partial_fit(X, y, **fit_params)
            self._start(estimator)
            self._after_learning(X, y, sample_weight, np.empty(0), 0)
            return self
        # (the signal, then the learning: either failing leaves everything as it
        # was; what follows them checks nothing that can fail)
        values = self._reused_errors(X, y)
        if values is None:
            values = row_signal(self.signal, self.estimator_, X, y)
        self.estimator_.partial_fit(X, y, **fit_params)
        self._after_learning(X, y, sample_weight, values, len(values))
        return self

    def predict(self, X):
        """The fitted estimator's ``predict`` (kept for the ``partial_fit`` of the
        same rows, whose "error" signal it is: a test-then-train loop predicts once).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray
        """
        check_is_fitted(self)
        predictions = self.estimator_.predict(X)
        # (a cache, changed in place: predict leaves the estimator's __dict__ as is)
        cache = self.__dict__.get("_predicted")
        if cache is not None:
            cache[0] = ((X.copy(), predictions, self.estimator_)
                        if self.signal == "error" and isinstance(X, np.ndarray)
                        and X.size <= _REUSED_SIZE else None)
        return predictions

    def _reused_errors(self, X, y):
        """The "error" signal from the last ``predict``, when it saw these very
        values with the present model; else None."""
        cache = self.__dict__.get("_predicted") or [None]
        seen, cache[0] = cache[0], None
        if (seen is None or self.signal != "error" or seen[2] is not self.estimator_
                or not isinstance(X, np.ndarray) or seen[0].shape != X.shape
                or not np.array_equal(seen[0], X)):
            return None
        if seen[1].shape[0] != len(y):
            return None
        return signal_of("error", self.estimator_, lambda method: seen[1], y)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_checked_params", None)
        if "_predicted" in state:
            state["_predicted"] = [None]
        return state

    # -- the stream's bookkeeping ------------------------------------------------------

    def _start(self, estimator):
        self.estimator_ = estimator
        self.detector_ = ADWIN() if self.detector is None else clone(self.detector)
        self.input_monitor_ = (None if self.input_monitor is None
                               else clone(self.input_monitor))
        self.history_ = []
        self.n_seen_ = 0
        self._recent = RecentRows(self.window)
        self._boost_left = 0
        self._predicted = [None]  # (see predict)
        self.n_features_in_ = estimator.n_features_in_
        for name in ("classes_", "feature_names_in_"):  # (none of an earlier fit's)
            if hasattr(estimator, name):
                setattr(self, name, getattr(estimator, name))
            else:
                self.__dict__.pop(name, None)

    def _after_learning(self, X, y, sample_weight, values, n_signalled):
        """Feed the detectors the call's values and rows, record their drifts and
        react to the first (``n_signalled``: 0 for the rows that start a stream)."""
        X = X if sp.issparse(X) else np.asarray(X)  # (the inner model validated it)
        start = self.n_seen_
        entries = []
        if n_signalled:
            seen = self.detector_.n_seen_
            self.detector_.update(values)
            for position in self.detector_.drifts_:
                if position >= seen:
                    entries.append({"row": start + int(position - seen),
                                    "source": "error"})
        if self.input_monitor_ is not None:
            entries += self._monitor_input(X, start)
        self._recent.add(X, np.asarray(y), None if sample_weight is None
                         else np.asarray(sample_weight, dtype=np.float64))
        self.n_seen_ = start + X.shape[0]
        self._count_boost(X.shape[0])
        entries.sort(key=lambda entry: entry["row"])
        for index, entry in enumerate(entries):
            entry["reaction"] = self.reaction if index == 0 else None
        if entries:
            self._react()
        self.history_.extend(entries)

    def _monitor_input(self, X, start):
        monitor = self.input_monitor_
        seen = monitor.n_seen_
        monitor.update(X.toarray() if sp.issparse(X) else X)
        events = monitor.events_
        events = events[events[:, 0] >= seen]
        return [{"row": start + int(row - seen), "source": "input",
                 "features": events[events[:, 0] == row, 1].tolist()}
                for row in np.unique(events[:, 0])]

    def _react(self):
        if self.reaction == "reset":
            self.estimator_._restart_optimizer()
        elif self.reaction == "boost_lr":
            if self._boost_left <= 0:  # (a drift during a boost extends it)
                self.estimator_._scale_rate(self.boost)
            self._boost_left = self.boost_rows
        else:
            X, y, sample_weight = self._recent.rows()
            if hasattr(self, "feature_names_in_"):  # (fitted on a DataFrame: keep names)
                import pandas as pd

                X = pd.DataFrame(X, columns=self.feature_names_in_)
            model = clone(self.estimator)
            extra = {"classes": self.classes_} if is_classifier(model) else {}
            for _ in range(self.refit_epochs):
                model.partial_fit(X, y, **extra, **_weights(sample_weight))
            self.estimator_ = model
            self._boost_left = 0  # (a boost of the old model, after set_params, ends)

    def _count_boost(self, n_rows):
        if self._boost_left > 0:
            self._boost_left -= n_rows
            if self._boost_left <= 0:
                self.estimator_._scale_rate(1.0 / self.boost)

    @property
    def drifts_(self):
        """Rows of the stream at which a drift was detected."""
        check_is_fitted(self)
        return np.array([entry["row"] for entry in self.history_], dtype=np.int64)

    def _check_params(self):
        check_params_once(self)
        if self.reaction in ("reset", "boost_lr") and not hasattr(
                self.estimator, "_restart_optimizer"):
            raise TypeError(
                f"reaction={self.reaction!r} restarts or scales the optimizer of one of "
                f"sklearn_train's gradient-trained models; {type(self.estimator).__name__}"
                " has none: use reaction='refit_window'.")
        if (isinstance(self.detector, DDM)
                and (self.signal != "error" or not is_classifier(self.estimator))):
            raise ValueError("DDM watches an error rate (values 0 and 1): use it with "
                             "signal='error' on a classifier.")
        if self.signal == "loss" and is_classifier(self.estimator) and not hasattr(
                self.estimator, "predict_proba"):
            raise ValueError(f"signal='loss' needs predict_proba, which "
                             f"{type(self.estimator).__name__} lacks: use 'error'.")

    # -- progressive_val_score's compiled path -----------------------------------------

    def _response(self, outputs, method):
        return self.estimator_._response(outputs, method)

    def _prequential_outputs(self, X, y, batch_size, **fit_params):
        """As block-by-block ``partial_fit`` calls of ``batch_size`` rows would,
        in compiled calls of ``_CHUNK`` rows of the inner model, each rolled back to
        the block of the first drift (of either signal) when one fires; None when
        this cannot run."""
        inner = getattr(self.estimator_, "_prequential_outputs", None)
        if inner is None or callable(self.signal):
            return None
        self._check_params()
        weights = fit_params.get("sample_weight")
        parts, position, n = [], 0, X.shape[0]
        chunk = max(batch_size, _CHUNK // batch_size * batch_size)
        while position < n:
            stop = min(n, position + chunk)
            if self._boost_left > 0:  # (the boost ends at a block boundary)
                stop = min(stop, position + -(-self._boost_left // batch_size) * batch_size)
            saved = copy.deepcopy((self.estimator_, self.detector_, self.input_monitor_))
            outputs = self._record_chunk(X, y, weights, position, stop, batch_size)
            if outputs is None:
                return None  # (only the first chunk can: nothing was changed yet)
            first = self._first_drift(X[position:stop], y[position:stop], outputs)
            values = None
            if first is not None:  # learn up to the end of the first drift's block, again
                stop = min(stop, position + (first // batch_size + 1) * batch_size)
                self.estimator_, self.detector_, self.input_monitor_ = saved
                outputs = self._record_chunk(X, y, weights, position, stop, batch_size)
                values = signal_from_outputs(self.signal, self.estimator_, outputs,
                                             y[position:stop])
            self._after_fast_chunk(X, y, weights, position, stop, values)
            parts.append(outputs)
            position = stop
        return np.concatenate(parts)

    def _first_drift(self, X, y, outputs):
        """Feed a chunk's signal and rows to the detector and the monitor; the
        chunk's first row where either fired, or None."""
        seen = self.detector_.n_seen_
        self.detector_.update(signal_from_outputs(self.signal, self.estimator_, outputs, y))
        drifts = self.detector_.drifts_
        firsts = ([int(drifts[drifts >= seen][0] - seen)]
                  if drifts.size and drifts[-1] >= seen else [])
        if self.input_monitor_ is not None:
            seen = self.input_monitor_.n_seen_
            self.input_monitor_.update(X.toarray() if sp.issparse(X) else X)
            rows = self.input_monitor_.drifts_
            if rows.size and rows[-1] >= seen:
                firsts.append(int(rows[rows >= seen][0] - seen))
        return min(firsts) if firsts else None

    def _record_chunk(self, X, y, weights, start, stop, batch_size):
        extra = {} if weights is None else {"sample_weight": weights[start:stop]}
        return self.estimator_._prequential_outputs(X[start:stop], y[start:stop],
                                                    batch_size, **extra)

    def _after_fast_chunk(self, X, y, weights, start, stop, values):
        """The bookkeeping of ``_after_learning`` for rows already fed to the
        detector (``values`` None) or to be fed again after a rollback."""
        rows = slice(start, stop)
        w = None if weights is None else weights[rows]
        if values is not None:
            self._after_learning(X[rows], y[rows], w, values, stop - start)
            return
        self._recent.add(X[rows], y[rows], w)
        self.n_seen_ += stop - start
        self._count_boost(stop - start)


def _weights(sample_weight):
    return {} if sample_weight is None else {"sample_weight": sample_weight}
