"""ContinualLearner: learn a sequence of tasks with EWC and / or replay."""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from .._delegate import DelegatingMixin, _fitted_has
from .._estimator import check_params_once
from ._fisher import diagonal_fisher, parameter_vector, supports_ewc
from ._replay import ClassBalancedReservoir

_FITTED = ("estimator_", "n_tasks_", "fisher_", "anchor_", "callbacks_", "_reservoir",
           "n_features_in_", "feature_names_in_", "classes_")


class ContinualLearner(DelegatingMixin, MetaEstimatorMixin, BaseEstimator):
    """Learn tasks one after another, keeping what earlier tasks taught.

    ``fit_task(X, y)`` trains the model ``epochs`` passes (``partial_fit`` calls of
    the inner estimator) over the task's rows, together with, when ``replay > 0``,
    every row of a class-balanced reservoir of the earlier tasks; then it
    consolidates: with ``ewc > 0`` the exact per-sample diagonal Fisher of the task
    at the new parameters is added to the running total (online EWC, no decay) and
    the anchor moves to the new parameters, so the next tasks train with the
    penalty ``ewc / 2 * sum_p F_p (theta_p - anchor_p)^2`` (its gradient
    ``ewc * F * (theta - anchor)`` joins the loss's inside the compiled epoch).
    ``ewc=0`` and ``replay=0`` is naive fine-tuning.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        The model (cloned). ``ewc > 0`` needs one of our ``LinearClassifier``,
        ``LinearRegressor``, ``MLPClassifier``, ``MLPRegressor`` (log, hinge,
        squared-hinge or squared-error loss); replay works with any.
    ewc : float, default=0.0
        Strength of elastic weight consolidation (the lambda of Kirkpatrick et
        al.); 0: off.
    replay : int, default=0
        Rows the reservoir keeps, shared equally by the classes seen (a
        regressor's rows are one class); 0: no replay.
    classes : array-like, default=None
        Every class of all tasks (class-incremental learning needs them up front);
        None: the classes of the first task.
    epochs : int, default=5
        Passes over each task's rows.
    random_state : int, RandomState instance or None, default=None
        The reservoir's draws, and the inner estimator's seed when its own
        ``random_state`` is None.
    callbacks : list or None, default=None
        Task callbacks (objects with ``on_task_end(learner)``), such as
        ``ForgettingMonitor``; the learner works with deep copies, ``callbacks_``.

    Attributes
    ----------
    estimator_ : estimator
        The model after the last task.
    n_tasks_ : int
        Tasks learned since ``fit`` (or the first ``fit_task``).
    fisher_ : ndarray or None
        The accumulated diagonal Fisher (in the model's parameter layout), None
        when ``ewc == 0``.
    anchor_ : ndarray or None
        The parameters after the last task (the penalty's centre).
    callbacks_ : list
        The copies of ``callbacks``.
    classes_ : ndarray
        The classes (classifiers).
    n_features_in_ : int

    Notes
    -----
    With the penalty on, our linear models take full ("sweep") optimizer steps over
    every parameter: the penalty moves every weight every step, which the cheaper
    direct and lazy sparse steps cannot carry. ``partial_fit`` learns one more
    task (as ``fit_task``); ``fit`` starts over with one task.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.continual import ContinualLearner
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> def learn(**params):  # digits 0-1, then 2-3, ..., then 8-9
    ...     learner = ContinualLearner(LinearClassifier(batch_size=16, random_state=0),
    ...                                classes=range(10), random_state=0, **params)
    ...     for task in range(5):
    ...         rows = (y // 2) == task
    ...         learner.fit_task(X[rows], y[rows])
    ...     return round(learner.score(X, y), 2)
    >>> learn(), learn(replay=200)  # naive fine-tuning knows only the last digits
    (0.19, 0.8)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["partial_fit"])],
        "ewc": [Interval(Real, 0, None, closed="left")],
        "replay": [Interval(Integral, 0, None, closed="left")],
        "classes": ["array-like", None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "callbacks": [list, None],
    }

    def __init__(self, estimator, *, ewc=0.0, replay=0, classes=None, epochs=5,
                 random_state=None, callbacks=None):
        self.estimator = estimator
        self.ewc = ewc
        self.replay = replay
        self.classes = classes
        self.epochs = epochs
        self.random_state = random_state
        self.callbacks = callbacks

    def fit(self, X, y, sample_weight=None):
        """Forget every task; learn ``(X, y)`` as the first.

        Returns
        -------
        self : ContinualLearner
        """
        return self._guarded(X, y, sample_weight, None, restart=True)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Learn ``(X, y)`` as one more task (``fit_task``); ``classes`` is used by
        the first call when the ``classes`` parameter is None.

        Returns
        -------
        self : ContinualLearner
        """
        return self._guarded(X, y, sample_weight, classes, restart=False)

    def fit_task(self, X, y, sample_weight=None):
        """Learn one task: train on its rows (and the replayed ones), consolidate,
        then run the callbacks. A call that fails leaves the learner as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the task's rows (replayed rows weigh 1).

        Returns
        -------
        self : ContinualLearner
        """
        return self._guarded(X, y, sample_weight, None, restart=False)

    @available_if(_fitted_has("transform"))
    def fit_transform(self, X, y, sample_weight=None):
        """``fit(X, y)``, then the fitted estimator's ``transform(X)``."""
        return self.fit(X, y, sample_weight).transform(X)

    def _guarded(self, X, y, sample_weight, classes, restart):
        before = dict(self.__dict__)  # (the steps below replace, never mutate, these)
        try:
            if restart:
                for name in _FITTED:
                    self.__dict__.pop(name, None)
            return self._learn_task(X, y, sample_weight, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _learn_task(self, X, y, sample_weight, classes):
        check_params_once(self)
        first = not hasattr(self, "estimator_")
        if self.ewc > 0 and not supports_ewc(self.estimator):
            raise TypeError(
                f"ewc={self.ewc} needs one of sklearn_train's LinearClassifier, "
                f"LinearRegressor, MLPClassifier or MLPRegressor; got "
                f"{type(self.estimator).__name__} (replay works with any estimator).")
        classifier = is_classifier(self.estimator)
        X, y = validate_data(self, X, y, reset=first, accept_sparse="csr",
                             dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=not classifier)
        if classifier and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if first:
            self._start(classes if self.classes is None else self.classes, y, classifier)
        estimator = copy.deepcopy(self.estimator_)
        reservoir = copy.deepcopy(self._reservoir)
        X_train, y_train, weights = self._with_replay(X, y, sample_weight, reservoir)
        extra = {} if weights is None else {"sample_weight": weights}
        if classifier:
            extra["classes"] = self.classes_
        if self.ewc > 0 and self.fisher_ is not None:
            estimator._anchor_penalty = np.stack([self.anchor_, self.ewc * self.fisher_])
        try:
            for _ in range(self.epochs):
                estimator.partial_fit(X_train, y_train, **extra)
        finally:
            estimator.__dict__.pop("_anchor_penalty", None)
        if self.ewc > 0:
            fisher = diagonal_fisher(estimator, X, y)
            self.fisher_ = fisher if self.fisher_ is None else self.fisher_ + fisher
            self.anchor_ = parameter_vector(estimator)
        if self.replay > 0:
            reservoir.add(X, y, classifier and y.ndim == 1)  # (multilabel: one group)
        callbacks = copy.deepcopy(self.callbacks_)
        self.estimator_, self._reservoir = estimator, reservoir
        self.n_tasks_ += 1
        self.callbacks_ = callbacks
        for callback in callbacks:
            callback.on_task_end(self)
        return self

    def _start(self, classes, y, classifier):
        for callback in self.callbacks or []:
            if not callable(getattr(callback, "on_task_end", None)):
                raise TypeError(f"callbacks must have an on_task_end(learner) method, "
                                f"as ForgettingMonitor has; got {callback!r}.")
        if classifier:
            labels = np.unique(y if classes is None else np.asarray(classes))
            if labels.shape[0] < 2 and classes is None:
                raise ValueError(
                    f"The first task has 1 class ({labels[0]!r}): a classifier needs "
                    "two; give every class of the tasks with classes=[...].")
            self.classes_ = labels
        rng = check_random_state(self.random_state)
        self._reservoir = ClassBalancedReservoir(
            self.replay, np.random.default_rng(rng.randint(np.iinfo(np.int32).max)))
        self.estimator_ = clone(self.estimator)
        if (self.random_state is not None
                and self.estimator_.get_params().get("random_state", 0) is None):
            self.estimator_.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
        self.n_tasks_ = 0
        self.fisher_ = self.anchor_ = None
        self.callbacks_ = copy.deepcopy(list(self.callbacks or []))

    def _with_replay(self, X, y, sample_weight, reservoir):
        """The task's rows with the reservoir's after them, and their weights."""
        stored = reservoir.sample() if self.replay > 0 else None
        if stored is None:
            return X, y, sample_weight
        X_old, y_old = stored
        if sp.issparse(X) or sp.issparse(X_old):
            X_all = sp.vstack([sp.csr_matrix(X), sp.csr_matrix(X_old)], format="csr")
        else:
            X_all = np.concatenate([X, X_old])
        X_all = X_all.astype(X.dtype, copy=False)
        weights = None
        if sample_weight is not None:
            weights = np.concatenate([sample_weight, np.ones(y_old.shape[0])])
        return X_all, np.concatenate([y, y_old]), weights  # (labels: common dtype)
