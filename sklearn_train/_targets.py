"""Target handling shared by every classifier, and by every regressor, of ours.

``ClassifierTargets`` encodes labels (binary: one output of +-1; more classes: one-hot
for the softmax losses, +-1 one-vs-rest for the margin losses), applies class weights,
scores validation outputs and turns raw outputs into predictions and probabilities.
``RegressorTargets`` does the same for regression targets and their link. Both need
``_raw_outputs(X)`` (the ``(n_samples, n_outputs)`` outputs of the model) from the
estimator they are mixed into. ``InputTargets`` serves the Autoencoder, whose
targets are its input. (Clustering models have no targets: they use none of these.)
"""

import copy

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ._core import losses
from ._estimator import TrainedEstimator

# loss name -> (code with two classes, code with more)
CLASSIFICATION_LOSSES = {
    "log_loss": (losses.LOG, losses.SOFTMAX_LOG),
    "focal": (losses.FOCAL, losses.SOFTMAX_FOCAL),
    "hinge": (losses.HINGE, losses.HINGE),
    "squared_hinge": (losses.SQUARED_HINGE, losses.SQUARED_HINGE),
    "modified_huber": (losses.MODIFIED_HUBER, losses.MODIFIED_HUBER),
    "perceptron": (losses.PERCEPTRON, losses.PERCEPTRON),
}
_PROBABILISTIC = ("log_loss", "focal", "modified_huber")
# Smallest class frequency used to place the starting intercept (avoids log(0)).
_MIN_FREQUENCY = 1e-4


def _has_proba(estimator):
    if estimator.loss not in _PROBABILISTIC:
        raise AttributeError(
            f"probability estimates are not available for loss={estimator.loss!r}; "
            f"use one of {_PROBABILISTIC}."
        )
    return True


REGRESSION_LOSSES = {
    "squared_error": losses.SQUARED,
    "huber": losses.HUBER,
    "epsilon_insensitive": losses.EPSILON_INSENSITIVE,
    "squared_epsilon_insensitive": losses.SQUARED_EPSILON_INSENSITIVE,
    "quantile": losses.QUANTILE,
    "poisson": losses.POISSON,
    "gamma": losses.GAMMA,
    "tweedie": losses.TWEEDIE,
}
_LOG_LINK = ("poisson", "gamma", "tweedie")
# Targets beyond this are named when a regression diverges (scale them first).
_LARGE_TARGET = 1e4
# Smallest mean used to place a log-link intercept (all-zero targets give log(0)).
_MIN_MEAN = 1e-10


def _r2(y, y_pred, sample_weight):
    """Weighted R^2 averaged over targets, as ``sklearn.metrics.r2_score`` computes it.

    Called every epoch on already validated arrays, where r2_score's input checks
    would cost more than the epoch on small data.
    """
    y = y.reshape(y.shape[0], -1)
    y_pred = y_pred.reshape(y.shape)
    if sample_weight.sum() <= 0:
        return float("nan")
    w = sample_weight[:, None]
    residual = (w * (y - y_pred) ** 2).sum(axis=0)
    spread = (w * (y - np.average(y, axis=0, weights=sample_weight)) ** 2).sum(axis=0)
    # r2_score's convention for a constant target: 1 if predicted exactly, else 0
    scores = np.where(spread > 0, 1 - residual / np.where(spread > 0, spread, 1),
                      np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())


def _weighted_quantile(values, weights, q):
    """Smallest value whose cumulative weight share reaches ``q``."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    position = np.searchsorted(cumulative, q * cumulative[-1])
    return values[order][min(position, values.shape[0] - 1)]


def _plain_labels(y, classes):
    """Whether ``y`` is a 1-D array of integer or (unicode) string labels, as
    ``classes``. (scikit-learn refuses labels of bytes: they take its checks.)"""
    if not isinstance(y, np.ndarray) or y.ndim != 1:
        return False
    kind = y.dtype.kind
    return kind in "biuU" and (kind == "U") == (classes.dtype.kind == "U")


def _class_index(classes, y):
    """Index of each label of ``y`` in the sorted ``classes``; labels outside them
    raise a ValueError naming them."""
    y = np.asarray(y)
    comparable = (y.dtype.kind == "U") == (classes.dtype.kind == "U")
    if comparable and y.dtype.kind != "O" and classes.dtype.kind != "O":
        index = np.searchsorted(classes, y)
        found = np.minimum(index, classes.shape[0] - 1)
        unseen = classes[found] != y
    else:
        unseen = ~np.isin(y, classes)
        index = np.searchsorted(classes, y) if not unseen.any() else None
    if np.any(unseen):
        raise ValueError(
            f"y contains labels not among classes_ {classes!r}: "
            f"{np.unique(y[unseen])!r}."
        )
    return index


class ClassifierTargets:
    """Labels in, classes out (mixed into our classifiers; not public)."""

    def _encode_targets(self, y, classes, first_call, weights_from_y=False):
        """Return ``(Y, factor)``: encoded targets and per-row class weights (None
        without ``class_weight``).

        ``weights_from_y``: this is training data, from which per-class weights
        ("balanced") are computed (``"stream"``: a partial_fit call's, whose counts
        add to the running ``class_counts_``); other data reuses those weights.
        """
        if first_call:
            check_classification_targets(y)
            labels = np.unique(y if classes is None else classes)
            if labels.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in the data; got "
                    f"{labels.shape[0]} class: {labels!r}."
                )
            self.classes_ = labels
        else:
            if not _plain_labels(y, self.classes_):
                # (integer and string labels among classes_ are valid labels: only
                # other labels need scikit-learn's checks)
                check_classification_targets(y)
            if classes is not None and not np.array_equal(np.unique(classes),
                                                          self.classes_):
                raise ValueError(
                    f"classes={classes!r} differs from the classes of the first call, "
                    f"{self.classes_!r}."
                )
        index = _class_index(self.classes_, y)
        n_classes = self.classes_.shape[0]
        if n_classes == 2:
            Y = np.where(index == 1, 1.0, -1.0)[:, None]
        elif self.loss in ("log_loss", "focal"):
            Y = np.zeros((y.shape[0], n_classes))
            Y[np.arange(y.shape[0]), index] = 1.0
        else:
            Y = np.full((y.shape[0], n_classes), -1.0)
            Y[np.arange(y.shape[0]), index] = 1.0
        factor = None
        if self.class_weight == "balanced" and weights_from_y:
            factor = self._balanced_weights(index, n_classes, weights_from_y == "stream"
                                            and not first_call)[index]
        elif self.class_weight is not None:
            # per-class weights come from a fit's training labels ("balanced") and are
            # reused for its validation data and for later partial_fit calls, unless
            # set_params changed class_weight in between
            if (weights_from_y or not hasattr(self, "_class_weights")
                    or self._class_weight_source != self.class_weight):
                weights = compute_class_weight(self.class_weight, classes=self.classes_,
                                               y=y)
                if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
                    raise ValueError(
                        f"class_weight must give every class a finite, non-negative "
                        f"weight; got {self.class_weight!r}.")
                self._class_weights = weights
                self._class_weight_source = copy.deepcopy(self.class_weight)
            factor = self._class_weights[index]
        return np.ascontiguousarray(Y), factor

    def _balanced_weights(self, index, n_classes, continuing):
        """scikit-learn's "balanced" weights, ``n / (n_classes * count)``, from the
        class counts of every training row so far: a fit's, then each partial_fit
        call's added (scikit-learn's partial_fit refuses "balanced", as one chunk
        does not show the classes' frequencies). A class not seen yet weighs 0: it
        has no rows to weigh."""
        counts = np.bincount(index, minlength=n_classes).astype(np.float64)
        if continuing and getattr(self, "class_counts_", None) is not None:
            counts += self.class_counts_
        self.class_counts_ = counts
        weights = np.zeros(n_classes)
        seen = counts > 0
        weights[seen] = counts.sum() / (n_classes * counts[seen])
        self._class_weights = weights
        self._class_weight_source = "balanced"
        return weights

    def _needs_classes(self, y):
        """Whether a first partial_fit with ``y`` must be told every class."""
        return True

    def _loss_code(self):
        binary, multiclass = CLASSIFICATION_LOSSES[self.loss]
        return binary if self.classes_.shape[0] == 2 else multiclass

    def _loss_param(self):
        return float(self.gamma)

    def _initial_intercept(self, Y, sample_weight):
        n_outputs = Y.shape[1]
        if self.loss not in ("log_loss", "focal"):
            return np.zeros(n_outputs)
        total = sample_weight.sum()
        if total <= 0:
            return np.zeros(n_outputs)
        if n_outputs == 1:
            positive = sample_weight @ (Y[:, 0] > 0) / total
            positive = np.clip(positive, _MIN_FREQUENCY, 1 - _MIN_FREQUENCY)
            return np.array([np.log(positive / (1 - positive))])
        log_frequency = np.log(np.maximum(sample_weight @ Y / total, _MIN_FREQUENCY))
        return log_frequency - log_frequency.mean()

    def _score_outputs(self, Z, y, sample_weight):
        # accuracy_score's input checks cost milliseconds per epoch on small data;
        # the inputs here are already validated.
        total = sample_weight.sum()
        if total <= 0:
            return float("nan")
        return float(sample_weight @ (self._decode(Z) == y) / total)

    def _stratify(self, y):
        return y

    # -- prediction ----------------------------------------------------------------

    def _decode(self, Z):
        if Z.shape[1] == 1:
            return self.classes_[(Z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(Z, axis=1)]

    def _response(self, Z, method):
        """What ``method`` ("predict", "predict_proba" or "decision_function") returns
        for raw outputs ``Z``."""
        if method == "predict":
            return self._decode(Z)
        if method == "predict_proba":
            return self._proba(Z)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def decision_function(self, X):
        """Raw scores: signed distance to the boundary, or one score per class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        Z = self._raw_outputs(X)
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict(self, X):
        """Predicted class of each row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        return self._decode(self._raw_outputs(X))

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (``log_loss``, ``focal`` and ``modified_huber`` only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        return self._proba(self._raw_outputs(X))

    def _proba(self, Z):
        """``predict_proba`` from raw outputs ``Z``."""
        if self.loss == "modified_huber":
            # scikit-learn's rule: (clip(z, -1, 1) + 1) / 2, normalised one-vs-rest
            P = (np.clip(Z, -1.0, 1.0) + 1.0) / 2.0
            if P.shape[1] == 1:
                return np.hstack([1.0 - P, P])
            total = P.sum(axis=1, keepdims=True)
            empty = total[:, 0] == 0
            P[empty] = 1.0
            total[empty] = P.shape[1]
            return P / total
        if Z.shape[1] == 1:
            positive = expit(Z)
            return np.hstack([1.0 - positive, positive])
        return softmax(Z, axis=1)

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        if self.loss == "modified_huber":
            with np.errstate(divide="ignore"):
                return np.log(self.predict_proba(X))
        Z = self._raw_outputs(X)
        if Z.shape[1] == 1:
            # log(1 - sigmoid(z)) = log_sigmoid(-z): finite where 1 - p rounds to 0
            return np.hstack([log_expit(-Z), log_expit(Z)])
        return log_softmax(Z, axis=1)


class RegressorTargets:
    """Regression targets in, predictions out (mixed into our regressors)."""

    def _encode_targets(self, y, classes, first_call, weights_from_y=False):
        y = np.asarray(y, dtype=np.float64)
        if first_call:
            self._single_target = y.ndim == 1
        elif (y.ndim == 1) != self._single_target:
            raise ValueError(
                "y must have the same number of dimensions as in the first fit: "
                f"{'1' if self._single_target else '2'}-D."
            )
        self._check_target_domain(y)
        Y = y.reshape(y.shape[0], -1)
        return np.ascontiguousarray(Y), None

    def _check_target_domain(self, y):
        power = {"poisson": 1.0, "gamma": 2.0}.get(self.loss, self.power)
        if self.loss not in _LOG_LINK:
            return
        if power >= 2 and np.any(y <= 0):
            raise ValueError(
                f"loss={self.loss!r} (power={power:g}) needs strictly positive y; "
                f"the smallest value is {y.min():g}."
            )
        if 1 <= power < 2 and np.any(y < 0):
            raise ValueError(
                f"loss={self.loss!r} (power={power:g}) needs non-negative y; the "
                f"smallest value is {y.min():g}."
            )

    def _loss_code(self):
        return REGRESSION_LOSSES[self.loss]

    def _divergence_note(self, data):
        largest = float(np.max(np.abs(data.Y))) if data.Y.size else 0.0
        if largest <= _LARGE_TARGET:
            return None
        return (f"The target reaches {largest:.3g}: scale it (for example with "
                "sklearn.compose.TransformedTargetRegressor and a StandardScaler).")

    def _loss_param(self):
        if self.loss == "quantile":
            return float(self.quantile)
        if self.loss == "tweedie":
            return float(self.power)
        return float(self.epsilon)

    def _initial_intercept(self, Y, sample_weight):
        if sample_weight.sum() <= 0:
            return np.zeros(Y.shape[1])
        if self.loss == "quantile":
            return np.array(
                [_weighted_quantile(Y[:, k], sample_weight, self.quantile)
                 for k in range(Y.shape[1])]
            )
        mean = np.average(Y, axis=0, weights=sample_weight)
        if self.loss in _LOG_LINK:
            return np.log(np.maximum(mean, _MIN_MEAN))
        return mean

    def _score_outputs(self, Z, y, sample_weight):
        return _r2(y, self._inverse_link(Z, y.ndim == 1), sample_weight)

    # -- prediction ----------------------------------------------------------------

    def _inverse_link(self, Z, single):
        predictions = np.exp(Z) if self.loss in _LOG_LINK else Z
        return predictions[:, 0] if single else predictions

    def _response(self, Z, method):
        """What ``predict`` returns for raw outputs ``Z`` (a regressor's one method)."""
        return self._inverse_link(Z, self._single_target)

    def predict(self, X):
        """Predicted targets (the mean under a log link: ``exp`` of the linear part).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        return self._inverse_link(self._raw_outputs(X), self._single_target)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss in _LOG_LINK
        return tags


class InputTargets:
    """Target hooks of a model that reconstructs its input (the Autoencoder): ``y``
    is ignored and the rows stand for the targets (validation split, scoring)."""

    def _validate_fit_data(self, X, y, sample_weight, reset):
        X, _, sample_weight = TrainedEstimator._validate_fit_data(
            self, X, None, sample_weight, reset)
        return X, X, sample_weight

    def _encode_targets(self, y, classes, first_call, weights_from_y=False):
        return np.empty((y.shape[0], 0)), None

    def _loss_param(self):
        return 0.0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
