"""Autoencoder: a network trained to reproduce its input through a narrow code."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import losses, mlp
from .._targets import InputTargets
from ._base import ACTIVATIONS, BaseMLP
from ._problem import forward


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, InputTargets, BaseMLP):
    """Autoencoder: learns a low-dimensional code of the data by reconstructing it.

    The network maps the input through ``hidden_layer_sizes`` to a linear code of
    ``n_components`` units (the bottleneck), then mirrors the hidden layers back to
    the input's width; it is trained on the squared reconstruction error by the
    shared core (every optimizer, schedule, callback, early stopping on a held-out
    reconstruction, ``partial_fit``). ``transform`` gives the code,
    ``inverse_transform`` the reconstruction of a code. With ``noise > 0`` it is a
    denoising autoencoder: Gaussian noise of that standard deviation is added to
    each training input, the target stays the clean input.

    Scale the features first (``StandardScaler``): the loss weighs every feature's
    squared error alike.

    Parameters
    ----------
    n_components : int, default=2
        Width of the code.
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Encoder layers between the input and the code (the decoder mirrors them);
        ``()`` gives a linear autoencoder (it spans the principal subspace).
    activation : {"relu", "leaky_relu", "gelu", "tanh", "logistic", "identity"}, \
default="relu"
        Activation of the encoder and decoder layers (the code and the output are
        linear).
    noise : float, default=0.0
        Standard deviation of the Gaussian input noise during training.
    optimizer, learning_rate, eta0, power_t, lr_decay, warmup, alpha, dropout, \
momentum, beta_1, beta_2, batch_size, max_iter, tol, n_iter_no_change, \
early_stopping, validation_fraction, freeze, init, warm_start, shuffle, \
random_state, verbose, callbacks, scoring
        As in ``MLPClassifier``. ``val_score`` in ``history_`` is the R^2 of the
        reconstruction of the validation rows.

    Attributes
    ----------
    coefs_, intercepts_, n_layers_, n_iter_, t_, history_, best_epoch_, callbacks_, \
n_features_in_, feature_names_in_
        As in ``MLPClassifier``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_train import Autoencoder
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> ae = Autoencoder(n_components=8, hidden_layer_sizes=(64,), max_iter=50,
    ...                  eta0=0.003, random_state=0).fit(X)
    >>> ae.transform(X).shape, ae.get_feature_names_out()[:2].tolist()
    ((1797, 8), ['autoencoder0', 'autoencoder1'])
    >>> ae.history_[-1]["train_loss"] < ae.history_[0]["train_loss"]
    True
    """

    _reconstruct = True

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(64,),
        activation="relu",
        noise=0.0,
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
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.noise = noise
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

    def fit(self, X, y=None, sample_weight=None, *, X_val=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional
        X_val : array-like, optional
            Validation rows, whose reconstruction is scored every epoch.

        Returns
        -------
        self : Autoencoder
        """
        return self._fit_common(X, None, incremental=False, sample_weight=sample_weight,
                                X_val=X_val, y_val=X_val)

    def partial_fit(self, X, y=None, sample_weight=None, *, X_val=None):
        """Train one epoch over ``X``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional
        X_val : array-like, optional

        Returns
        -------
        self : Autoencoder
        """
        return self._fit_common(X, None, incremental=True, sample_weight=sample_weight,
                                X_val=X_val, y_val=X_val)

    def transform(self, X):
        """The code (bottleneck activations) of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        code : ndarray of shape (n_samples, n_components)
        """
        return self._hidden_output(X, self._code_layer())

    def inverse_transform(self, X):
        """Reconstruction of the input from codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        if np.iscomplexobj(X):
            raise ValueError("Complex data not supported: inverse_transform takes real "
                             "codes.")
        codes = np.asarray(X, dtype=self._state["params"].dtype)
        if codes.ndim != 2 or codes.shape[1] != self._n_features_out:
            raise ValueError(f"inverse_transform expects codes of shape (n_samples, "
                             f"{self._n_features_out}); got {codes.shape}.")
        if not np.isfinite(codes).all():
            raise ValueError("Input contains NaN or infinity.")
        layout = self._state["layout"]
        return forward(codes, self._predicting_state(), self._code_layer() + 1,
                       layout.shape[0] - 1)

    @property
    def _n_features_out(self):
        return int(self._state["layout"][self._code_layer(), mlp.L_OUT])

    # -- hooks ---------------------------------------------------------------------------

    def _input_noise(self):
        return float(self.noise)

    def _code_layer(self):
        """Index of the code layer: from the fitted network once there is one (the
        parameters may have been changed since), else from the parameters."""
        if hasattr(self, "_state"):
            return self._state["layout"].shape[0] // 2 - 1
        return len(self._hidden_sizes())

    def _layer_sizes(self, n_features, n_outputs):
        hidden = self._hidden_sizes()
        return [n_features, *hidden, self.n_components, *hidden[::-1], n_features]

    def _layer_activations(self, n_layers):
        hidden = ACTIVATIONS[self.activation]
        codes = [hidden] * (n_layers - 1)
        codes[self._code_layer()] = mlp.IDENTITY  # a linear code
        return codes

    def _validation_set(self, data, X_val, y_val, sample_weight_val, classes):
        if X_val is None:
            return super()._validation_set(data, None, None, None, classes)
        X_val = validate_data(self, X_val, reset=False, accept_sparse="csr",
                              dtype=data.X.dtype, order="C")
        weight = np.ones(X_val.shape[0])
        return None, (X_val, X_val, np.empty((X_val.shape[0], 0)), weight)

    def _loss_code(self):
        return losses.SQUARED

    def _initial_intercept(self, Y, sample_weight):
        return np.zeros(self.n_features_in_)

    def _validation_problem(self, data):
        if isinstance(self.scoring, str):
            raise ValueError(
                f"scoring={self.scoring!r}: scikit-learn's scorers need predictions, "
                "which an Autoencoder does not make. Pass None (the R^2 of the "
                "reconstruction) or a callable scorer(autoencoder, X_val, X_val)."
            )
        return super()._validation_problem(data)

    def _score_outputs(self, Z, y, sample_weight):
        # weighted by each feature's variance: a near-constant feature's own R^2 is
        # meaningless (its variance can be rounding noise)
        target = y.toarray() if sp.issparse(y) else y
        return float(r2_score(target, Z, sample_weight=sample_weight,
                              multioutput="variance_weighted"))
