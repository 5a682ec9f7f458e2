"""What a drift detector watches in a supervised stream: each row's error or loss
under the model as it stood before it learned the row."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier

# the smallest probability a log loss sees: a confident mistake costs about 34.5
_PROBABILITY_FLOOR = 1e-15


def row_signal(kind, estimator, X, y):
    """Each row's ``"error"`` (a classifier's 0/1 mistake, a regressor's absolute
    error, averaged over outputs) or ``"loss"`` (log loss, squared error) under
    ``estimator``; a callable ``kind(estimator, X, y)`` gives its own values."""
    if callable(kind):
        values = np.asarray(kind(estimator, X, y), dtype=np.float64)
        if values.shape != (len(y),):
            raise ValueError(f"signal must return one value per row ({len(y)}); got "
                             f"shape {values.shape}.")
        return values
    return signal_of(kind, estimator, lambda method: getattr(estimator, method)(X), y)


def signal_from_outputs(kind, estimator, outputs, y):
    """``row_signal`` from the raw outputs of one of our models (``_response``)."""
    return signal_of(kind, estimator,
                     lambda method: estimator._response(outputs, method), y)


def signal_of(kind, estimator, respond, y):
    """The ``"error"`` or ``"loss"`` of each row from ``respond(method)``, the
    estimator's ``"predict"`` (or ``"predict_proba"``) output for the rows."""
    y = np.asarray(y)
    if is_classifier(estimator):
        if kind == "error":
            return (respond("predict") != y).astype(np.float64)
        return class_log_loss(estimator.classes_, respond("predict_proba"), y)
    return regression_signal(kind, respond("predict"), y)


def class_log_loss(classes, proba, y):
    """``-log p(y)`` of each row, with probabilities floored (see above)."""
    columns = np.searchsorted(classes, y)
    columns = np.minimum(columns, classes.shape[0] - 1)
    known = classes[columns] == y  # a class the model never saw: the floor
    p = np.where(known, proba[np.arange(len(y)), columns], 0.0)
    return -np.log(np.maximum(p, _PROBABILITY_FLOOR))


def regression_signal(kind, prediction, y):
    residual = np.asarray(prediction, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    values = np.abs(residual) if kind == "error" else residual ** 2
    return values.reshape(len(values), -1).mean(axis=1)


class RecentRows:
    """The last ``size`` rows learned (``X``, ``y``, sample weights), kept as the
    chunks they came in, oldest dropped first."""

    def __init__(self, size):
        self.size = size
        self.chunks = []
        self.n_rows = 0

    def add(self, X, y, sample_weight):
        n = X.shape[0]
        if n >= self.size:  # (the chunk alone fills the window)
            self.chunks, self.n_rows = [], 0
            X, y = X[n - self.size:], y[n - self.size:]
            sample_weight = None if sample_weight is None else sample_weight[n - self.size:]
        self.chunks.append((X, y, sample_weight))
        self.n_rows += X.shape[0]
        while self.n_rows - self.chunks[0][0].shape[0] >= self.size:
            self.n_rows -= self.chunks.pop(0)[0].shape[0]

    def rows(self):
        """``(X, y, sample_weight)`` of the last ``size`` rows (weights None when
        no chunk had any)."""
        parts = list(zip(*self.chunks))
        stack = sp.vstack if sp.issparse(parts[0][0]) else np.concatenate
        X = stack(parts[0])
        y = np.concatenate(parts[1])
        weights = None
        if any(w is not None for w in parts[2]):
            weights = np.concatenate([np.ones(x.shape[0]) if w is None else w
                                      for x, w in zip(parts[0], parts[2])])
        start = X.shape[0] - min(self.size, X.shape[0])
        return (X[start:], y[start:], None if weights is None else weights[start:])
