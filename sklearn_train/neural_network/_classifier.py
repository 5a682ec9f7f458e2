"""MLPClassifier: a multilayer perceptron classifier trained by the shared core."""

from numbers import Real

import numpy as np
from scipy.special import expit, log_expit
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClassifierMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._targets import CLASSIFICATION_LOSSES, ClassifierTargets
from ._base import BaseMLP

_SOFTMAX_LOSSES = ("log_loss", "focal")


class MLPClassifier(ClassifierTargets, ClassifierMixin, ClassNamePrefixFeaturesOutMixin,
                    TransformerMixin, BaseMLP):
    """Multilayer perceptron classifier trained by mini-batch gradient descent.

    The parameter names of scikit-learn's ``MLPClassifier`` where the concept is
    the same (``hidden_layer_sizes``, ``activation``, ``alpha``, ``batch_size``,
    ``max_iter``, ``tol``, ``n_iter_no_change``, ``early_stopping``, ``beta_1``,
    ``beta_2``, ``momentum``), and the optimizers, schedules, callbacks, ``scoring``,
    ``history_`` and ``partial_fit`` of the shared core. The forward and backward
    passes of a whole epoch run in one compiled call (BLAS matrix products per
    mini-batch); float32 input trains in float32.

    Two classes train one logistic output, more a softmax over all classes, and a
    2-D indicator ``y`` (multilabel) one logistic output per label.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer; ``()`` gives a linear model.
    activation : {"relu", "leaky_relu", "gelu", "tanh", "logistic", "identity"}, \
default="relu"
        Activation of the hidden layers. Weights start Glorot-uniform, at a third of
        the spread before logistic units (scikit-learn's rule); He's larger start
        for rectifiers trained measurably worse on these shallow networks (see
        ``_initial_weights``).
    loss : {"log_loss", "focal"}, default="log_loss"
    optimizer : {"adam", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", \
"adamw"}, default="adam"
    learning_rate : {"constant", "invscaling", "adaptive", "cosine", "exponential", \
"linear"}, default="constant"
        Schedule of the step size (see ``LinearClassifier``; its "optimal" schedule,
        from the theory of linear SVMs, is not offered for networks).
    eta0 : float, default=0.001
        Initial learning rate (scikit-learn's ``learning_rate_init``).
    power_t, lr_decay, warmup : float
        Schedule parameters, as in ``LinearClassifier``.
    alpha : float, default=1e-4
        L2 penalty ``alpha / 2 * ||W||^2`` on the weights (not the biases), added to
        the mean loss of each mini-batch; decoupled weight decay with ``adamw``.
        (scikit-learn divides its ``alpha`` by the batch size.)
    dropout : float, default=0.0
        Probability of zeroing each hidden unit during training (inverted dropout:
        nothing changes at prediction).
    momentum, beta_1, beta_2 : float
        Optimizer parameters.
    batch_size : int, default=200
        Rows per optimizer step (capped at the number of rows).
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float or None, default=1e-4
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (or use ``X_val``, ``y_val``), stop when its
        loss stops improving and restore the best weights.
    validation_fraction : float, default=0.1
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights. ``"balanced"``
        weighs class ``c`` by ``n / (n_classes * count_c)``; with ``partial_fit`` the
        counts run over every row learned so far (``class_counts_``), so a stream's
        weights follow its class frequencies (scikit-learn's ``partial_fit`` refuses
        ``"balanced"``).
    freeze : int, list of int or None, default=None
        Layers (of weights, 0 = the first) kept fixed during training; an integer
        ``k`` freezes the first ``k``. Useful when fine-tuning from ``init``.
    init : fitted MLPClassifier, MLPRegressor or Autoencoder, default=None
        Start from its layers (used when a fit starts from scratch): every leading
        layer of matching shape is copied, the output layer too when the source is
        an MLPClassifier of the same depth, loss and classes (otherwise a new output
        layer is trained, e.g. for new classes). Clones share ``init``.
    warm_start : bool, default=False
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffles, dropout and the validation split. The same
        seed gives bit-identical networks as long as BLAS (which does the layers'
        products) runs on the same number of threads; with another thread count
        the weights may differ in their last bits (about 1e-16 relative after a
        few epochs, as with scikit-learn's MLP). Joblib workers, as in
        ``GridSearchCV(n_jobs=2)``, run BLAS on fewer threads than the main
        process: fit inside ``threadpoolctl.threadpool_limits(1)`` everywhere for
        identical results (on two cores, 256-wide layers then train about 1.6x
        slower).
    verbose : int, default=0
    callbacks : list of sklearn_train.callbacks.Callback, optional
    scoring : str, callable or None, default=None
    gamma : float, default=2.0
        Focusing exponent of the focal loss.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        Weights of each layer, ``(n_in, n_out)``.
    intercepts_ : list of ndarray
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
    n_iter_, t_, history_, best_epoch_, callbacks_
        As in ``LinearClassifier``.
    n_features_in_ : int
    feature_names_in_ : ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_train import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=30,
    ...                                                    random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.95
    True
    """

    _multi_output = True  # multilabel indicator targets

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(_SOFTMAX_LOSSES))],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "gamma": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        loss="log_loss",
        optimizer="adam",
        learning_rate="constant",
        eta0=0.001,
        power_t=0.5,
        lr_decay=0.9,
        warmup=0.0,
        alpha=1e-4,
        dropout=0.0,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        batch_size=200,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        class_weight=None,
        freeze=None,
        init=None,
        warm_start=False,
        shuffle=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        scoring=None,
        gamma=2.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.warmup = warmup
        self.alpha = alpha
        self.dropout = dropout
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.class_weight = class_weight
        self.freeze = freeze
        self.init = init
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.scoring = scoring
        self.gamma = gamma

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel data.
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val, sample_weight_val : array-like, optional
            Validation data, scored every epoch into ``history_`` (and used by early
            stopping instead of a held-out fraction).

        Returns
        -------
        self : MLPClassifier
        """
        return self._fit_common(
            X, y, incremental=False, sample_weight=sample_weight, X_val=X_val,
            y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None, *, X_val=None,
                    y_val=None, sample_weight_val=None):
        """Train one epoch over ``(X, y)``, continuing from the current state.

        Unlike scikit-learn's, this works with validation data: pass ``X_val`` and
        ``y_val`` to record their loss and score (and feed callbacks such as
        ``EarlyStopping``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), optional
            All classes that will ever be seen; required on the first call (except
            for multilabel data).
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val, sample_weight_val : array-like, optional

        Returns
        -------
        self : MLPClassifier
        """
        return self._fit_common(
            X, y, incremental=True, sample_weight=sample_weight, classes=classes,
            X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def transform(self, X):
        """Activations of the last hidden layer: the network as a feature extractor.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            (``X`` itself, densified, when ``hidden_layer_sizes=()``.)
        """
        return _last_hidden(self, X)

    # -- multilabel targets --------------------------------------------------------------

    def _validate_fit_data(self, X, y, sample_weight, reset):
        X, y, sample_weight = super()._validate_fit_data(X, y, sample_weight, reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column of labels, not multilabel data
        return X, y, sample_weight

    def _validation_set(self, data, X_val, y_val, sample_weight_val, classes):
        if y_val is not None and np.ndim(y_val) == 2 and np.shape(y_val)[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        return super()._validation_set(data, X_val, y_val, sample_weight_val, classes)

    def _encode_targets(self, y, classes, first_call, weights_from_y=False):
        # (a label vector is never multilabel: skip type_of_target's scan of it)
        kind = type_of_target(y) if np.ndim(y) == 2 else "labels"
        if kind not in ("labels", "multilabel-indicator"):
            raise ValueError(
                f"{type(self).__name__} takes a vector of labels, or a 0/1 indicator "
                f"matrix for multilabel data; y has shape {np.shape(y)} and is "
                f"{kind!r} (one classifier per column of labels is "
                "sklearn.multioutput.MultiOutputClassifier)."
            )
        multilabel = kind == "multilabel-indicator"
        if first_call:
            self._multilabel = multilabel
        elif multilabel != self._multilabel:
            raise ValueError("y must be a label vector or an indicator matrix, as in the "
                             "first fit.")
        if not multilabel:
            return super()._encode_targets(y, classes, first_call, weights_from_y)
        if self.class_weight is not None:
            raise ValueError("class_weight is not supported for multilabel targets.")
        y = np.asarray(y)
        if first_call:
            self.classes_ = np.arange(y.shape[1])
        elif y.shape[1] != self.classes_.shape[0]:
            raise ValueError(f"y has {y.shape[1]} labels; the first fit had "
                             f"{self.classes_.shape[0]}.")
        return np.where(y > 0, 1.0, -1.0), None

    def _needs_classes(self, y):
        return np.ndim(y) != 2  # multilabel data names its labels by its columns

    def _loss_code(self):
        binary, multiclass = CLASSIFICATION_LOSSES[self.loss]
        return binary if self._multilabel or self.classes_.shape[0] == 2 else multiclass

    def _initial_intercept(self, Y, sample_weight):
        if not self._multilabel:
            return super()._initial_intercept(Y, sample_weight)
        total = max(sample_weight.sum(), 1e-12)
        positive = np.clip(sample_weight @ (Y > 0) / total, 1e-4, 1 - 1e-4)
        return np.log(positive / (1 - positive))

    def _stratify(self, y):
        return None if self._multilabel else y

    def _same_outputs(self, source, n_layers):
        return (super()._same_outputs(source, n_layers)
                and np.array_equal(source.classes_, self.classes_))

    def _decode(self, Z):
        if self._multilabel:
            return (Z > 0).astype(int)
        return super()._decode(Z)

    def _score_outputs(self, Z, y, sample_weight):
        if not self._multilabel:
            return super()._score_outputs(Z, y, sample_weight)
        exact = np.all(self._decode(Z) == np.asarray(y), axis=1)  # subset accuracy
        total = sample_weight.sum()
        return float(sample_weight @ exact / total) if total > 0 else float("nan")

    def predict_proba(self, X):
        """Class probabilities (per label, independently, for multilabel data).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        if getattr(self, "_multilabel", False):
            return expit(self._raw_outputs(X))
        return super().predict_proba(X)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        if getattr(self, "_multilabel", False):
            return log_expit(self._raw_outputs(X))
        return super().predict_log_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _last_hidden(estimator, X):
    """The last hidden layer's activations of a fitted network: the features its
    output layer reads (the input itself when there is no hidden layer)."""
    check_is_fitted(estimator)
    n_layers = estimator._state["layout"].shape[0]
    if n_layers == 1:
        X = estimator._check_input(X)
        return X.toarray() if hasattr(X, "toarray") else X
    return estimator._hidden_output(X, n_layers - 2)
