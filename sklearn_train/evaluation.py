"""Prequential (test-then-train) evaluation of online learners.

``progressive_val_score`` runs a stream through any estimator with ``partial_fit``:
each block of ``batch_size`` rows is first predicted by the model as it stands, then
learned. Every prediction is made on rows the model has not seen, so the running
score is an honest estimate of how the model does on a stream, without a held-out
set: the protocol of river's ``progressive_val_score`` and MOA's prequential
evaluation.

Our linear models run the whole stream in one compiled call per 2,048 rows: the epoch
kernel records each row's outputs before the step that learns it, so the predictions
and the model are those of the block-by-block loop (a test checks it) at a fraction
of its cost. Other estimators, and linear models whose training does something
between calls (a per-epoch schedule, averaging, early stopping, callbacks, or
mini-batches smaller than ``batch_size``), are driven block by block.
"""

import copy
import functools
import time
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn import metrics as sk_metrics
from sklearn.base import clone, is_classifier
from sklearn.utils.validation import check_is_fitted

__all__ = ["ProgressiveScore", "progressive_val_score"]

# metric names -> (function of (y_true, response), the response it needs)
_METRICS = {
    "accuracy": (sk_metrics.accuracy_score, "predict"),
    "balanced_accuracy": (sk_metrics.balanced_accuracy_score, "predict"),
    "f1": (sk_metrics.f1_score, "predict"),
    "f1_macro": (lambda y, p: sk_metrics.f1_score(y, p, average="macro"), "predict"),
    "log_loss": (sk_metrics.log_loss, "predict_proba"),  # (given the classes: below)
    "roc_auc": (sk_metrics.roc_auc_score, "decision_function"),  # (two classes)
    "mae": (sk_metrics.mean_absolute_error, "predict"),
    "mse": (sk_metrics.mean_squared_error, "predict"),
    "rmse": (sk_metrics.root_mean_squared_error, "predict"),
    "r2": (sk_metrics.r2_score, "predict"),
}
_RESPONSES = ("predict", "predict_proba", "decision_function")


def _squared_error(y, p):
    return (np.asarray(y, dtype=np.float64) - p) ** 2


# metrics that are a mean of per-row terms: function -> (terms, what the mean becomes)
_ROW_MEANS = {
    sk_metrics.accuracy_score: (lambda y, p: (y == p).astype(np.float64), lambda m: m),
    sk_metrics.mean_absolute_error: (
        lambda y, p: np.abs(np.asarray(y, dtype=np.float64) - p), lambda m: m),
    sk_metrics.mean_squared_error: (_squared_error, lambda m: m),
    sk_metrics.root_mean_squared_error: (_squared_error, np.sqrt),
}


@dataclass
class ProgressiveScore:
    """The result of ``progressive_val_score``.

    Attributes
    ----------
    score : float
        The metric over every prediction of the stream (over the last ``window``
        predictions when a window is set).
    curve : ndarray of shape (n_checkpoints,)
        The metric at each checkpoint, over the predictions made so far (or the last
        ``window`` of them).
    n_seen : ndarray of shape (n_checkpoints,)
        The rows of the stream seen at each checkpoint (the first block included).
    predictions : ndarray
        Each row's response before the model learned it, in stream order; the rows
        of the first block, which no model predicted, are left out.
    seconds : float
        Wall time of the pass (predicting and learning).
    estimator : estimator
        The model after the stream (a copy: the estimator passed in is unchanged).
    fast : bool
        Whether the pass ran in compiled calls (see the module docstring) rather
        than block by block.
    """

    score: float
    curve: np.ndarray
    n_seen: np.ndarray
    predictions: np.ndarray
    seconds: float
    estimator: object
    fast: bool


def progressive_val_score(estimator, X, y, metric, *, batch_size=1, classes=None,
                          response_method=None, n_checkpoints=100, window=None,
                          sample_weight=None):
    """Prequential evaluation: predict each block of the stream, then learn it.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        The model. It is copied (a fitted one continues from where it is; an
        unfitted one starts fresh) and left unchanged.
    X : array-like of shape (n_samples, n_features)
        The stream, in order.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Its targets.
    metric : str or callable
        ``"accuracy"``, ``"balanced_accuracy"``, ``"f1"``, ``"f1_macro"``,
        ``"log_loss"``, ``"roc_auc"``, ``"mae"``, ``"mse"``, ``"rmse"``, ``"r2"``, or
        a function ``metric(y_true, response) -> float`` (scikit-learn's metric
        functions are).
    batch_size : int, default=1
        Rows per block: predicted together, then learned together.
    classes : array-like, default=None
        For a classifier, every class of the stream (``partial_fit``'s ``classes``);
        by default the classes present in ``y``.
    response_method : {"predict", "predict_proba", "decision_function"}, default=None
        What the metric is computed from; by default the named metric's, else
        ``"predict"``.
    n_checkpoints : int, default=100
        Points of the curve, evenly spaced over the stream (at most one per block).
    window : int, default=None
        Compute the metric over the last ``window`` predictions at each checkpoint
        (a rolling score, which follows drifts) instead of over all of them.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights for learning (the metric is unweighted).

    Returns
    -------
    result : ProgressiveScore

    Notes
    -----
    The first block trains the model before anything is predicted (an unfitted
    model cannot predict) unless the estimator passed in is already fitted; its
    rows are not scored. scikit-learn's ``partial_fit`` models are driven block by
    block; ours run faster (see the module docstring).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.evaluation import progressive_val_score
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> result = progressive_val_score(LinearClassifier(random_state=0), scale(X), y,
    ...                                "accuracy")
    >>> result.fast, bool(result.score > 0.9), len(result.curve)
    (True, True, 100)
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(f"progressive_val_score needs an estimator with partial_fit; "
                        f"{type(estimator).__name__} has none.")
    score_function, response_method = _check_metric(metric, response_method)
    batch_size = _check_count(batch_size, "batch_size")
    n_checkpoints = _check_count(n_checkpoints, "n_checkpoints")
    if window is not None:
        window = _check_count(window, "window")
    X, y, sample_weight = _check_stream(X, y, sample_weight)
    model = _fresh_copy(estimator)
    fit_params = {}
    if is_classifier(model):
        if classes is None:  # a fitted model keeps its own
            classes = getattr(model, "classes_", None)
        fit_params["classes"] = np.unique(y) if classes is None else np.asarray(classes)
        if metric == "log_loss":  # a prefix of the stream may lack some classes
            score_function = functools.partial(sk_metrics.log_loss,
                                               labels=fit_params["classes"])

    start = time.perf_counter()
    first = 0 if _is_fitted(model) else min(batch_size, X.shape[0])
    if first:
        model.partial_fit(X[:first], y[:first], **fit_params,
                          **_weights(sample_weight, 0, first))
    predictions = None
    rest = slice(first, None)
    recorder = getattr(model, "_prequential_outputs", None)
    if recorder is not None and first < X.shape[0]:
        outputs = recorder(X[rest], y[rest], batch_size,
                           **_weights(sample_weight, first, X.shape[0]))
        if outputs is not None:
            predictions = model._response(outputs, response_method)
    fast = predictions is not None
    if not fast:
        predictions = _block_by_block(model, X, y, first, batch_size, response_method,
                                      fit_params, sample_weight)
    seconds = time.perf_counter() - start

    truth = y[first:]
    n_seen, curve = _curve(score_function, truth, predictions, first, batch_size,
                           n_checkpoints, window)
    score = curve[-1] if curve.size else np.nan
    return ProgressiveScore(score=float(score), curve=curve, n_seen=n_seen,
                            predictions=predictions, seconds=seconds, estimator=model,
                            fast=fast)


def _block_by_block(model, X, y, first, batch_size, response_method, fit_params,
                    sample_weight):
    """Predict each block with the current model, then learn it."""
    respond = getattr(model, response_method, None)
    if respond is None:
        raise ValueError(f"{type(model).__name__} has no {response_method}, which the "
                         "metric needs.")
    parts = []
    for start in range(first, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        parts.append(respond(X[start:stop]))
        model.partial_fit(X[start:stop], y[start:stop], **fit_params,
                          **_weights(sample_weight, start, stop))
    if not parts:
        return np.empty((0,) + y.shape[1:])
    return np.concatenate(parts)


def _curve(score_function, truth, predictions, first, batch_size, n_checkpoints,
           window):
    """The metric at evenly spaced block ends, over the predictions so far (or the
    last ``window`` of them)."""
    n = truth.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    block_ends = np.arange(batch_size, n + batch_size, batch_size).clip(max=n)
    picks = np.unique(np.linspace(0, block_ends.size - 1, n_checkpoints).round()
                      .astype(int))
    ends = block_ends[picks]
    row_terms = _ROW_MEANS.get(score_function)
    if row_terms is not None and truth.ndim == 1 and truth.shape == predictions.shape:
        # a mean of per-row terms: every checkpoint from one running sum (calling
        # scikit-learn's metric at each of 100 checkpoints cost 300 ms a stream)
        terms, finish = row_terms
        values = terms(truth, predictions)
        sums = np.concatenate([[0.0], np.cumsum(values)])
        begins = np.zeros_like(ends) if window is None else np.maximum(0, ends - window)
        return ends + first, finish((sums[ends] - sums[begins]) / (ends - begins))
    curve = np.empty(ends.size)
    for i, end in enumerate(ends):
        begin = 0 if window is None else max(0, end - window)
        curve[i] = score_function(truth[begin:end], predictions[begin:end])
    return ends + first, curve


def _check_metric(metric, response_method):
    if response_method is not None and response_method not in _RESPONSES:
        raise ValueError(f"response_method must be one of {_RESPONSES}; got "
                         f"{response_method!r}.")
    if isinstance(metric, str):
        if metric not in _METRICS:
            raise ValueError(f"unknown metric {metric!r}; use one of "
                             f"{sorted(_METRICS)} or a function (y_true, y_pred).")
        function, needed = _METRICS[metric]
        return function, response_method or needed
    if not callable(metric):
        raise TypeError(f"metric must be a name or a function (y_true, y_pred); got "
                        f"{metric!r}.")
    return metric, response_method or "predict"


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _check_stream(X, y, sample_weight):
    """Row-aligned arrays (X's own checks are the estimator's)."""
    if not hasattr(X, "shape") or getattr(X, "ndim", 2) != 2:
        X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X.shape}.")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}); got "
                         f"shape {y.shape}.")
    if X.shape[0] == 0:
        raise ValueError("the stream is empty: X has 0 rows.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(f"sample_weight must have one value per row of X "
                             f"({X.shape[0]}); got shape {sample_weight.shape}.")
    return X, y, sample_weight


def _weights(sample_weight, start, stop):
    return {} if sample_weight is None else {"sample_weight": sample_weight[start:stop]}


def _is_fitted(model):
    try:
        check_is_fitted(model)
    except Exception:  # NotFittedError, or an estimator check_is_fitted cannot read
        return False
    return True


def _fresh_copy(estimator):
    """A fitted estimator's deep copy (to continue), or an unfitted one's clone."""
    return copy.deepcopy(estimator) if _is_fitted(estimator) else clone(estimator)
