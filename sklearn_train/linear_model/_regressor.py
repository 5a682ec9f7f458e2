"""LinearRegressor: linear regression trained by the shared gradient core."""

from numbers import Real

from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._targets import REGRESSION_LOSSES, RegressorTargets
from ._base import BaseLinear


class LinearRegressor(RegressorTargets, RegressorMixin, BaseLinear):
    """Linear regression trained by mini-batch gradient descent.

    A drop-in for scikit-learn's ``SGDRegressor`` (same parameter names and meanings
    where the concept is the same) that also fits several targets at once, robust and
    quantile losses, and Poisson, Gamma and Tweedie regression with a log link, with
    the optimizers, schedules, early stopping and ``history_`` of the shared core.

    Parameters
    ----------
    loss : {"squared_error", "huber", "epsilon_insensitive", \
"squared_epsilon_insensitive", "quantile", "poisson", "gamma", "tweedie"}, \
default="squared_error"
        ``squared_error`` is least squares (half squared error); ``huber`` switches to
        absolute error beyond ``epsilon``; the ``epsilon_insensitive`` losses ignore
        errors below ``epsilon`` (linear SVR); ``quantile`` is the pinball loss at
        level ``quantile``; ``poisson``, ``gamma`` and ``tweedie`` (with ``power``)
        are half deviances of generalised linear models with a log link: the model
        predicts ``exp(X @ coef_ + intercept_)``.
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", \
"adamw"}, default="sgd"
        Update rule. The default is plain SGD because a regression target can have
        any scale: SGD's steps grow with the error, while Adam's steps have a fixed
        size and need many epochs to reach large coefficients. With sparse input,
        ``"sgd"`` touches only the features present in each mini-batch (cost O(nnz))
        unless L1 is combined with L2 (elasticnet) or averaging.
    learning_rate : {"constant", "optimal", "invscaling", "adaptive", "cosine", \
"exponential", "linear"}, default="invscaling"
        Schedule of the step size (see ``LinearClassifier``); ``invscaling`` is
        ``eta0 / (t + 1) ** power_t`` over optimizer steps ``t = 0, 1, ...``.
    eta0 : float or "auto", default="auto"
        Initial learning rate. ``"auto"`` derives it from the data: for SGD
        ``1 / (mean squared row norm + fit_intercept)``, a step that stays stable
        whatever the scale of the features (times ``1 - momentum`` for momentum and
        Nesterov); 0.01 for the adaptive optimizers.
    power_t : float, default=0.5
        Exponent of the ``invscaling`` schedule. (scikit-learn's SGDRegressor uses
        0.25 with a smaller starting rate; with the larger ``"auto"`` rate a faster
        decay settles better.)
    lr_decay : float, default=0.9
        Factor per epoch of the ``exponential`` schedule.
    warmup : float, default=0.0
        Epochs over which the rate ramps linearly up from near zero.
    alpha : float, default=1e-4
        Regularisation strength. With ``adamw`` the L2 part is applied as decoupled
        weight decay.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularisation of the weights (never the intercept), as in scikit-learn; L1
        makes weights exactly zero with every optimizer.
    l1_ratio : float, default=0.15
        Share of L1 in ``elasticnet``.
    momentum : float, default=0.9
        Momentum of ``momentum`` and ``nesterov``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Moment decays of ``adam`` / ``adamw``; ``beta_2`` is also RMSProp's decay.
    batch_size : int, default=32
        Rows per optimizer step; 1 gives classic per-sample SGD.
    max_iter : int, default=1000
        Maximum number of epochs; training usually stops much earlier by the ``tol``
        rule.
    tol : float or None, default=1e-4
        Stop when the training loss (or the validation loss under early stopping) has
        not improved by ``tol * max(1, loss)`` for ``n_iter_no_change`` consecutive
        epochs; None disables this stop.
    n_iter_no_change : int, default=5
        Patience of the ``tol`` rule and of the ``adaptive`` schedule.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` (or use ``X_val`` / ``y_val``), stop when its
        loss stops improving and restore the best epoch's parameters (R^2 is recorded
        in ``history_`` as ``val_score``).
    validation_fraction : float, default=0.1
        Share of the training data held out under ``early_stopping``.
    average : bool or int, default=False
        Averaged SGD; an integer starts averaging after that many samples.
    fit_intercept : bool, default=True
        Learn an intercept per target. ``fit`` starts it at the (weighted) target
        mean, the ``quantile`` of the targets, or the log of the mean for log-link
        losses; ``partial_fit`` starts it at zero.
    warm_start : bool, default=False
        Continue from the previous fit: parameters, optimizer state and counters.
    shuffle : bool, default=True
        Visit rows in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling and of the validation split.
    verbose : int, default=0
        1 or more shows a progress bar over epochs.
    callbacks : list of sklearn_train.callbacks.Callback, optional
        Called around every epoch: ``EarlyStopping``, ``ReduceLROnPlateau``,
        ``LearningRateScheduler``, ``Checkpoint``, ``TerminateOnNaN``,
        ``LambdaCallback`` or your own. Cloned with the estimator; training uses
        copies kept in ``callbacks_``. (scikit-learn's own callbacks, such as
        ``sklearn.callback.ProgressBar``, go through ``set_callbacks``.)
    scoring : str, callable or None, default=None
        Score written to ``history_`` as ``val_score`` each epoch when there is
        validation data: a scikit-learn scorer name (``"roc_auc"``,
        ``"neg_log_loss"``, ...) or a callable ``scorer(estimator, X, y)``. None
        uses ``score`` (R^2).
    epsilon : float, default=0.1
        Width of the ``huber`` and ``epsilon_insensitive`` losses.
    quantile : float, default=0.5
        Level of the ``quantile`` loss (0.5: median regression).
    power : float, default=1.5
        Tweedie power: 0 normal, 1 Poisson, between 1 and 2 compound Poisson-Gamma,
        2 Gamma, 3 inverse Gaussian (values in (0, 1) do not exist).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : ndarray of shape (1,) or (n_targets,)
    n_iter_ : int
    t_ : int
        Optimizer steps (mini-batches) taken since training started: by the last fit,
        or since the first of a run of ``partial_fit`` / ``warm_start`` calls.
    history_ : list of dict
        One row per epoch (see ``LinearClassifier``); ``val_score`` is R^2 unless
        ``scoring`` says otherwise.
    best_epoch_ : int
        The ``epoch`` of the row marked ``best`` (see ``LinearClassifier``).
    callbacks_ : list
        The copies of ``callbacks`` this estimator trained with.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    LinearClassifier : The same training for classification.
    sklearn.linear_model.SGDRegressor : scikit-learn's per-sample SGD.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_train import LinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = make_pipeline(StandardScaler(), LinearRegressor(random_state=0))
    >>> reg.fit(X, y).score(X, y) > 0.5
    True
    >>> median = LinearRegressor(loss="quantile", quantile=0.5, random_state=0)
    >>> median.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _is_regressor = True

    _parameter_constraints = {
        **BaseLinear._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "quantile": [Interval(Real, 0, 1, closed="neither")],
        "power": [Interval(Real, None, 0, closed="right"), Interval(Real, 1, None, closed="left")],
    }

    def __init__(
        self,
        loss="squared_error",
        *,
        optimizer="sgd",
        learning_rate="invscaling",
        eta0="auto",
        power_t=0.5,
        lr_decay=0.9,
        warmup=0.0,
        alpha=1e-4,
        penalty="l2",
        l1_ratio=0.15,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        batch_size=32,
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        average=False,
        fit_intercept=True,
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
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.warmup = warmup
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.average = average
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.scoring = scoring
        self.epsilon = epsilon
        self.quantile = quantile
        self.power = power

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 trains in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; non-negative for ``poisson``, positive for ``gamma``.
        coef_init : ndarray of shape (n_features,) or (n_targets, n_features), optional
        intercept_init : ndarray of shape (1,) or (n_targets,), optional
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val : array-like, optional
            Validation data, scored every epoch into ``history_``; used for early
            stopping instead of a held-out fraction when ``early_stopping=True``. It
            is used as given: inside a ``Pipeline`` (``clf__X_val=...``) the earlier
            steps do not transform it, so pass it already transformed.
        sample_weight_val : array-like of shape (n_val_samples,), optional

        Returns
        -------
        self : LinearRegressor
        """
        return self._fit_common(
            X, y, incremental=False, sample_weight=sample_weight,
            init={"coef_init": coef_init, "intercept_init": intercept_init},
            X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val,
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
            Validation data scored into this call's ``history_`` row.

        Returns
        -------
        self : LinearRegressor
        """
        return self._fit_common(
            X, y, incremental=True, sample_weight=sample_weight, X_val=X_val,
            y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def _shape_coef(self, coef):
        return coef.ravel() if self._single_target else coef
