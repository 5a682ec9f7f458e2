"""MLPRegressor: a multilayer perceptron regressor trained by the shared core."""

from numbers import Real

from sklearn.base import ClassNamePrefixFeaturesOutMixin, RegressorMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._targets import REGRESSION_LOSSES, RegressorTargets
from ._base import BaseMLP
from ._classifier import _last_hidden


class MLPRegressor(RegressorTargets, RegressorMixin, ClassNamePrefixFeaturesOutMixin,
                   TransformerMixin, BaseMLP):
    """Multilayer perceptron regressor trained by mini-batch gradient descent.

    Every regression loss of the core (least squares, robust, quantile, and Poisson,
    Gamma and Tweedie deviances with a log link), one or several targets, with the
    network, training and transfer-learning options of ``MLPClassifier``.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
    activation : {"relu", "leaky_relu", "gelu", "tanh", "logistic", "identity"}, \
default="relu"
    loss : {"squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive", "quantile", "poisson", "gamma", "tweedie"}, \
default="squared_error"
        As in ``LinearRegressor``; the log-link losses predict ``exp`` of the
        network's output.
    optimizer, learning_rate, eta0, power_t, lr_decay, warmup, alpha, dropout, \
momentum, beta_1, beta_2, batch_size, max_iter, tol, n_iter_no_change, \
early_stopping, validation_fraction, freeze, init, warm_start, shuffle, \
random_state, verbose, callbacks, scoring
        As in ``MLPClassifier`` (``init``: the output layer is copied when the
        number of targets matches).
    epsilon : float, default=0.1
        Width of the ``huber`` and ``epsilon_insensitive`` losses.
    quantile : float, default=0.5
        Level of the ``quantile`` loss.
    power : float, default=1.5
        Tweedie power of the ``tweedie`` loss.

    Attributes
    ----------
    coefs_, intercepts_, n_layers_, n_outputs_, n_iter_, t_, history_, best_epoch_, \
callbacks_, n_features_in_, feature_names_in_
        As in ``MLPClassifier``.

    Examples
    --------
    >>> from sklearn.datasets import make_friedman1
    >>> from sklearn_train import MLPRegressor
    >>> X, y = make_friedman1(n_samples=2000, noise=0.1, random_state=0)
    >>> reg = MLPRegressor((64,), eta0=0.01, max_iter=100, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _is_regressor = True

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "power": [Interval(Real, None, 0, closed="right"), Interval(Real, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        loss="squared_error",
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
        freeze=None,
        init=None,
        warm_start=False,
        shuffle=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        scoring=None,
        epsilon=0.1,
        quantile=0.5,
        power=1.5,
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
        self.freeze = freeze
        self.init = init
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.scoring = scoring
        self.epsilon = epsilon
        self.quantile = quantile
        self.power = power

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val, sample_weight_val : array-like, optional
            Validation data (see ``MLPClassifier.fit``).

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit_common(
            X, y, incremental=False, sample_weight=sample_weight, X_val=X_val,
            y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def partial_fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
                    sample_weight_val=None):
        """Train one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val, sample_weight_val : array-like, optional

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit_common(
            X, y, incremental=True, sample_weight=sample_weight, X_val=X_val,
            y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def transform(self, X):
        """Activations of the last hidden layer (see ``MLPClassifier.transform``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        features : ndarray of shape (n_samples, hidden_layer_sizes[-1])
        """
        return _last_hidden(self, X)
