"""LinearClassifier: linear classification trained by the shared gradient core."""

from numbers import Real

from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._targets import CLASSIFICATION_LOSSES, ClassifierTargets
from ._base import BaseLinear


class LinearClassifier(ClassifierTargets, ClassifierMixin, BaseLinear):
    """Linear classifier trained by mini-batch gradient descent.

    A drop-in for scikit-learn's ``SGDClassifier`` (same parameter names and meanings
    where the concept is the same) with modern optimizers, learning-rate schedules,
    true multinomial (softmax) training, mini-batches, early stopping that restores
    the best parameters, a per-epoch ``history_`` and a progress bar.

    With two classes one output is trained. With more, ``log_loss`` and ``focal``
    train one softmax over all classes; the margin losses train one-vs-rest outputs
    jointly (one pass over the data for all classes).

    Parameters
    ----------
    loss : {"log_loss", "focal", "hinge", "squared_hinge", "modified_huber", \
"perceptron"}, default="log_loss"
        ``log_loss`` is logistic regression (softmax for more than two classes),
        ``focal`` the focal loss of Lin et al. (2017) with exponent ``gamma``,
        ``hinge`` a linear SVM, ``modified_huber`` a smoothed hinge that also gives
        probabilities, ``perceptron`` the perceptron rule.
    optimizer : {"adam", "sgd", "momentum", "nesterov", "adagrad", "rmsprop", \
"adamw"}, default="adam"
        Update rule. With sparse input, ``"sgd"`` touches only the features present
        in each mini-batch (cost O(nnz)) unless L1 is combined with L2 (elasticnet)
        or averaging; the others update every weight each step.
    learning_rate : {"constant", "optimal", "invscaling", "adaptive", "cosine", \
"exponential", "linear"}, default="invscaling"
        Schedule of the step size: ``eta0`` throughout; ``1 / (alpha * (t0 + t))``;
        ``eta0 / (t + 1) ** power_t`` over optimizer steps ``t = 0, 1, ...``; ``eta0``
        divided by 5 after ``n_iter_no_change`` epochs without improvement; cosine
        annealing from ``eta0`` to zero over ``max_iter`` epochs; ``eta0 * lr_decay **
        epoch``; a linear decay from ``eta0`` to zero over ``max_iter`` epochs.
        The default decays with the number of steps rather than epochs, so a small
        data set keeps large steps for many epochs while a large one settles within
        its first epoch, below the noise floor of a constant rate.
    eta0 : float or "auto", default=0.05
        Initial learning rate. ``"auto"`` derives it from the data as
        ``LinearRegressor`` does (useful with ``optimizer="sgd"``).
    power_t : float, default=0.5
        Exponent of the ``invscaling`` schedule.
    lr_decay : float, default=0.9
        Factor per epoch of the ``exponential`` schedule.
    warmup : float, default=0.0
        Epochs over which the rate ramps linearly up from near zero (any schedule).
    alpha : float, default=1e-4
        Regularisation strength. With ``adamw`` the L2 part (``alpha`` for "l2",
        ``alpha * (1 - l1_ratio)`` for "elasticnet") is applied as decoupled weight
        decay.
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularisation of the weights (never the intercept): ``alpha / 2 * ||w||^2``,
        ``alpha * ||w||_1`` or their ``l1_ratio`` mix, as in scikit-learn. L1 makes
        weights exactly zero with every optimizer (a cumulative penalty for SGD, a
        proximal step in the optimizer's own step sizes for the others).
    l1_ratio : float, default=0.15
        Share of L1 in ``elasticnet``.
    momentum : float, default=0.9
        Momentum of ``momentum`` and ``nesterov``.
    beta_1, beta_2 : float, default=0.9, 0.999
        Moment decays of ``adam`` / ``adamw``; ``beta_2`` is also RMSProp's decay.
    batch_size : int, default=32
        Rows per optimizer step; 1 gives classic per-sample SGD.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training data); training usually
        stops much earlier by the ``tol`` rule.
    tol : float or None, default=1e-4
        Stop when the monitored loss (the training loss, or the validation loss under
        early stopping) has not improved by ``tol * max(1, loss)`` for
        ``n_iter_no_change`` consecutive epochs. None disables this stop.
    n_iter_no_change : int, default=5
        Patience of the ``tol`` rule and of the ``adaptive`` schedule.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), or use ``X_val`` /
        ``y_val`` given to ``fit``, stop when its loss stops improving, and restore
        the parameters of the best epoch. (scikit-learn's SGD stops on validation
        accuracy, which moves in coarse steps on small validation sets; the accuracy
        is recorded in ``history_`` as ``val_score``.)
    validation_fraction : float, default=0.1
        Share of the training data held out under ``early_stopping``.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights. ``"balanced"``
        weighs class ``c`` by ``n / (n_classes * count_c)``; with ``partial_fit`` the
        counts run over every row learned so far (``class_counts_``), so a stream's
        weights follow its class frequencies (scikit-learn's ``partial_fit`` refuses
        ``"balanced"``).
    average : bool or int, default=False
        Averaged SGD: predict with the mean of the parameters over the steps; an
        integer starts averaging once that many samples have been seen.
    fit_intercept : bool, default=True
        Learn an intercept per output. ``fit`` starts it at the log-odds of the class
        frequencies for the logistic and focal losses; it starts at zero otherwise
        and in ``partial_fit`` (one chunk need not show every class).
    warm_start : bool, default=False
        Continue from the previous fit: parameters, optimizer state and counters.
    shuffle : bool, default=True
        Visit rows in a new random order each epoch.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling and of the validation split.
    verbose : int, default=0
        1 or more shows a progress bar over epochs with loss and validation score.
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
        uses ``score`` (accuracy).
    gamma : float, default=2.0
        Focusing exponent of the focal loss (0 gives the log loss).

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in the dtype of the training data.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    class_counts_ : ndarray of shape (n_classes,)
        Rows of each class learned so far (``class_weight="balanced"`` only).
    n_iter_ : int
        Epochs run by the last ``fit`` (1 for ``partial_fit``).
    t_ : int
        Optimizer steps (mini-batches) taken since training started: by the last fit,
        or since the first of a run of ``partial_fit`` / ``warm_start`` calls.
    history_ : list of dict
        One row per epoch: ``epoch``, ``train_loss``, ``val_loss`` and ``val_score``
        when there is validation data, ``learning_rate`` (of the epoch's last step)
        and ``seconds``; ``best`` is True on one row: the epoch restored by early
        stopping (or ``EarlyStopping(restore_best=True)``), else the one with the
        lowest validation loss (training loss without validation data). Callbacks
        may add columns. ``pandas.DataFrame(clf.history_)`` makes it a table;
        ``TrainingHistoryDisplay.from_estimator(clf)`` plots it.
    best_epoch_ : int
        The ``epoch`` of the row marked ``best``.
    callbacks_ : list
        The copies of ``callbacks`` this estimator trained with (their fitted
        attributes, such as ``EarlyStopping.stopped_epoch_``, are read here).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has string feature names.

    See Also
    --------
    LinearRegressor : The same training for regression losses.
    sklearn.linear_model.SGDClassifier : scikit-learn's per-sample SGD.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_train import LinearClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LinearClassifier(random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.97
    True
    >>> history = clf[-1].history_
    >>> sorted(history[0])
    ['best', 'epoch', 'learning_rate', 'seconds', 'train_loss']
    """

    _parameter_constraints = {
        **BaseLinear._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "gamma": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        loss="log_loss",
        *,
        optimizer="adam",
        learning_rate="invscaling",
        eta0=0.05,
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
        class_weight=None,
        average=False,
        fit_intercept=True,
        warm_start=False,
        shuffle=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        scoring=None,
        gamma=2.0,
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
        self.class_weight = class_weight
        self.average = average
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.scoring = scoring
        self.gamma = gamma

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None, *,
            X_val=None, y_val=None, sample_weight_val=None):
        """Train for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 trains in float32.
        y : array-like of shape (n_samples,)
            Class labels.
        coef_init : ndarray of shape (n_outputs, n_features), optional
            Starting weights.
        intercept_init : ndarray of shape (n_outputs,), optional
            Starting intercepts.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each sample (multiplied by ``class_weight``).
        X_val, y_val : array-like, optional
            Validation data, scored every epoch into ``history_``; used for early
            stopping instead of a held-out fraction when ``early_stopping=True``. It
            is used as given: inside a ``Pipeline`` (``clf__X_val=...``) the earlier
            steps do not transform it, so pass it already transformed.
        sample_weight_val : array-like of shape (n_val_samples,), optional

        Returns
        -------
        self : LinearClassifier
        """
        return self._fit_common(
            X, y, incremental=False, sample_weight=sample_weight,
            init={"coef_init": coef_init, "intercept_init": intercept_init},
            X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val,
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None, *, X_val=None,
                    y_val=None, sample_weight_val=None):
        """Train one epoch over ``(X, y)``, continuing from the current state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), optional
            All classes that will ever be seen; required on the first call.
        sample_weight : array-like of shape (n_samples,), optional
        X_val, y_val, sample_weight_val : array-like, optional
            Validation data scored into this call's ``history_`` row.

        Returns
        -------
        self : LinearClassifier
        """
        return self._fit_common(
            X, y, incremental=True, sample_weight=sample_weight, classes=classes,
            X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val,
        )
