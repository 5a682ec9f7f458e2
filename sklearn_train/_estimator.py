"""The fitting logic every estimator of ours shares: ``TrainedEstimator``.

A model family (linear models, neural networks, ...) subclasses it and says, through a
few hooks, how targets are encoded, how a training state starts, continues and turns
into fitted attributes, and which compiled problem trains it. Everything else is here
and the same for all: parameter validation, data and validation-set handling, warm
starts and ``partial_fit`` runs, learning-rate bookkeeping, callbacks (ours and
scikit-learn's), ``scoring``, the driver call, ``history_`` and its best epoch, and
leaving the estimator unchanged when a call fails.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._callback_tasks import CallbackSupportMixin, EpochTasks, with_callbacks
from ._core.optimizers import ADAM, ADAGRAD, ADAMW, MOMENTUM, NESTEROV, RMSPROP, SGD
from ._core.optimizers import default_hyper
from ._core.schedules import SCHEDULES
from ._training import Settings, TrainingState, mark_best, new_progress, split_validation
from ._training import train
from .callbacks import Callback

OPTIMIZERS = {
    "sgd": SGD,
    "momentum": MOMENTUM,
    "nesterov": NESTEROV,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "adam": ADAM,
    "adamw": ADAMW,
}

# Numerical floor added to root-mean-square denominators (AdaGrad, RMSProp, Adam).
EPSILON = 1e-8

# Attributes scikit-learn's callback protocol keeps on an estimator during a fit: not
# part of a fitted copy, and not rolled back when a fit fails (its teardown needs them).
_CALLBACK_RUNTIME = ("_callback_fit_ctx", "_skl_callbacks_to_teardown",
                     "_parent_callback_ctx")


class TrainedEstimator(CallbackSupportMixin, BaseEstimator):
    """Base class of every estimator trained by the shared driver (not public)."""

    _parameter_constraints = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "warmup": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, None, None, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "scoring": [str, callable, None],
    }

    # -- hooks for subclasses -------------------------------------------------------

    _is_regressor = False
    _MOMENT_STEPS = None  # index of the family's counter of steps since the moments began
    _multi_output = False  # 2-D targets allowed (regressors, multilabel classifiers)
    _accept_sparse = "csr"

    def _encode_targets(self, y, classes, first_call, weights_from_y=False):
        """Return ``(Y, sample_weight_factor)``: encoded targets and per-row weights.

        ``weights_from_y``: this is a fit's training data, from which per-class
        weights ("balanced") are computed; other data reuses those weights.
        """
        raise NotImplementedError

    def _loss_code(self):
        raise NotImplementedError

    def _loss_param(self):
        return 0.0

    def _score_outputs(self, Z, y, sample_weight):
        """Score of raw outputs ``Z`` against raw targets ``y`` (validation)."""
        raise NotImplementedError

    def _stratify(self, y):
        return None

    def _initial_state(self, X, Y, sample_weight, incremental, init):
        """A fresh training state (a dict of arrays) for targets ``Y`` (the training
        rows); ``init`` holds the fit's starting-point arguments."""
        raise NotImplementedError

    def _continue_state(self, X, n_outputs, init):
        """A working copy of ``self._state`` for data ``X``, checked against it."""
        raise NotImplementedError

    def _make_problem(self, X, Y, sample_weight, rows, state, validation):
        """The training problem (see ``_training``) over this call's data."""
        raise NotImplementedError

    def _fitted_attributes(self, state, n_outputs):
        """The fitted attributes that predict, as copies (``coef_``, ...)."""
        raise NotImplementedError

    def _resolve_eta0(self, X, rows):
        return float(self.eta0)

    def _eta0_param(self):
        """The ``eta0`` parameter as set (the starting rate is resolved from it)."""
        return self.eta0

    def _fresh_optimizer(self, state):
        """Start the optimizer over: zero moments, and a bias correction (Adam) that
        counts from the next step."""
        state["moments"][:] = 0.0
        if self._MOMENT_STEPS is not None:
            state["counters"][self._MOMENT_STEPS] = 0.0

    def _state_dtype(self):
        """The floating-point type the fitted state computes in (None: any input)."""
        return self._state["params"].dtype

    def _finish_fit(self, problem, incremental):
        """Fitted attributes computed once training ends, from the call's problem
        (k-means: refinement passes, ``labels_``); its state may still change."""
        return {}

    # -- fitting ------------------------------------------------------------------

    def _check_settings(self):
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "learning_rate='optimal' needs alpha > 0: its rate is 1 / (alpha * t)."
            )

    def _settings(self, max_iter, eta0):
        return Settings(
            learning_rate=self.learning_rate,
            eta0=float(eta0),
            alpha=float(self.alpha),
            power_t=float(self.power_t),
            lr_decay=float(self.lr_decay),
            warmup=float(self.warmup),
            max_iter=int(max_iter),
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=bool(self.early_stopping),
            shuffle=bool(self.shuffle),
            verbose=int(self.verbose),
        )

    def _hyper(self):
        """The optimizer hyper-parameters (``optimizers.H_*``)."""
        return default_hyper(self.momentum, self.beta_1, self.beta_2, EPSILON)

    def _validate_fit_data(self, X, y, sample_weight, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=self._accept_sparse,
            dtype=[np.float64, np.float32],
            order="C",
            multi_output=self._is_regressor or self._multi_output,
            y_numeric=self._is_regressor,
        )
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        return X, y, np.ascontiguousarray(sample_weight)

    def _validation_set(self, X, y, sample_weight, X_val, y_val, sample_weight_val, classes):
        """Held-out data as ``(rows, validation)`` for the problem; rows=None: all."""
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            X_val, y_val = validate_data(
                self,
                X_val,
                y_val,
                reset=False,
                accept_sparse=self._accept_sparse,
                dtype=X.dtype,
                order="C",
                multi_output=self._is_regressor or self._multi_output,
                y_numeric=self._is_regressor,
            )
            weight_val = np.ascontiguousarray(
                _check_sample_weight(sample_weight_val, X_val, dtype=np.float64))
            if np.any(weight_val < 0):
                raise ValueError("Negative values in data passed to `sample_weight_val`.")
            Y_val, factor = self._encode_targets(y_val, classes, first_call=False)
            return None, (X_val, y_val, Y_val, weight_val * factor)
        if not self.early_stopping:
            return None, None
        train_rows, val_rows = split_validation(
            X.shape[0], self.validation_fraction, self._stratify(y), self._seed
        )
        # sample_weight already carries the class weights: do not apply them again
        Y_val, _ = self._encode_targets(y[val_rows], classes, first_call=False)
        return train_rows, (X[val_rows], y[val_rows], Y_val, sample_weight[val_rows])

    def _validation_problem(self, validation, current_model):
        """``(X_val, Y_val, weight_val, score)`` for the problem: ``score(Z)`` of raw
        validation outputs, by ``scoring`` on ``current_model()`` when it is set."""
        X_val, y_val, Y_val, weight_val = validation
        if self.scoring is None:
            def score(Z):
                return self._score_outputs(Z, y_val, weight_val)
        else:
            scorer = check_scoring(self, self.scoring)
            # only weighted data passes weights: a plain scorer(est, X, y) works too
            weights = {} if np.all(weight_val == 1.0) else {"sample_weight": weight_val}

            def score(Z):
                return scorer(current_model(), X_val, y_val, **weights)

        return (X_val, np.ascontiguousarray(Y_val), np.ascontiguousarray(weight_val), score)

    @with_callbacks
    def _fit_common(self, X, y, **kwargs):
        """Train as ``_train`` does; a call that fails leaves the estimator as it was.

        Validation sets ``n_features_in_`` and ``classes_`` before training starts, so
        an error (bad targets, a diverging run) would otherwise leave a half-updated
        estimator: unfitted attributes next to old coefficients.
        """
        before = dict(self.__dict__)
        try:
            return self._train(X, y, **kwargs)
        except BaseException:
            runtime = {key: self.__dict__[key] for key in _CALLBACK_RUNTIME
                       if key in self.__dict__}
            self.__dict__.clear()
            self.__dict__.update(before)
            self.__dict__.update(runtime)
            raise

    def _train(self, X, y, *, sample_weight, classes, incremental, X_val=None, y_val=None,
               sample_weight_val=None, **init):
        """Validate, set up or continue the state, train, store fitted attributes."""
        self._check_settings()
        continuing = hasattr(self, "_state") and (incremental or self.warm_start)
        X, y, sample_weight = self._validate_fit_data(
            X, y, sample_weight, reset=not (incremental and continuing)
        )
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        model_dtype = self._state_dtype() if continuing else None
        if model_dtype is not None and X.dtype != model_dtype:
            # the model keeps the precision it was trained in: this call's data is
            # converted to it (a float32 chunk must not downcast a float64 model)
            X = X.astype(model_dtype)
        if not continuing:
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        Y, factor = self._encode_targets(y, classes, first_call=not continuing,
                                         weights_from_y=not incremental)
        sample_weight = sample_weight * factor
        n_outputs = Y.shape[1]
        rows, validation = None, None
        if not incremental or X_val is not None or y_val is not None:
            rows, validation = self._validation_set(
                X, y, sample_weight, X_val, y_val, sample_weight_val, classes
            )
        train_rows = slice(None) if rows is None else rows
        if continuing:
            state = self._continue_state(X, n_outputs, init)
            progress = dict(self._progress)
            if progress["optimizer"] != self.optimizer:
                # another rule's moments mean something else (velocity vs. accumulator)
                self._fresh_optimizer(state)
                progress["optimizer"] = self.optimizer
        else:
            state = self._initial_state(X, Y[train_rows], sample_weight[train_rows],
                                        incremental, init)
            progress = new_progress(self._seed, self.optimizer)
        if not (incremental and continuing) or progress.get("eta0_param") != self._eta0_param():
            # (a partial_fit keeps the run's rate unless set_params changed eta0)
            progress["eta0"] = progress["eta"] = self._resolve_eta0(X, rows)
            progress["eta0_param"] = self._eta0_param()
        if not incremental:
            # epoch-based schedules (cosine, exponential, warm-up, adaptive) and the
            # callbacks' rate factor start over with every fit, also a warm-started
            # one; step counts carry on
            progress["schedule_start"] = progress["epoch"]
            progress["eta"] = progress["eta0"]
            progress["lr_scale"] = 1.0
        callbacks = self._callbacks_for(continuing and incremental)
        history = [dict(row) for row in self.history_] if continuing else []
        n_before = len(history)

        def fitted(full=False):
            """The fitted attributes of the present state (copies). Called only once
            ``problem`` and ``run`` below exist (callbacks, scoring, the end of fit)."""
            attributes = self._fitted_attributes(state, n_outputs)
            if full:
                rows = [dict(row) for row in history]
                attributes.update(
                    _state=problem.save(),
                    _progress=dict(progress),
                    history_=rows,
                    best_epoch_=mark_best(rows, run.restored_epoch),
                    n_iter_=len(history) - n_before,
                    t_=problem.steps_done(),
                    callbacks_=callbacks,
                )
            return attributes

        def current_model(full=True):
            """A fitted copy of the estimator at the present parameters."""
            model = copy.copy(self)
            for key in _CALLBACK_RUNTIME:
                model.__dict__.pop(key, None)
            model.__dict__.update(fitted(full))
            return model

        if validation is not None:
            # a scorer only predicts: the light copy (coef_, intercept_) will do
            validation = self._validation_problem(validation,
                                                  lambda: current_model(full=False))
        problem = self._make_problem(X, Y, sample_weight, rows, state, validation)
        max_epochs = 1 if incremental else self.max_iter
        run = TrainingState(self, problem, progress, history, current_model, incremental)
        metadata = (None if np.all(sample_weight == 1.0)
                    else {"sample_weight": sample_weight[train_rows]})
        tasks = EpochTasks.start(self, _rows_of(X, rows), _rows_of(y, rows), metadata,
                                 max_epochs, fitted)
        train(problem, self._settings(self.max_iter, progress["eta0"]), progress,
              max_epochs, stop=not incremental, run=run, callbacks=callbacks, tasks=tasks)
        final = self._finish_fit(problem, incremental)
        self.__dict__.update(fitted(full=True))
        self.__dict__.update(final)
        if tasks is not None:
            tasks.end()
        return self

    def _callbacks_for(self, continuing):
        """Deep copies of ``callbacks`` for a new run; a run of partial_fit keeps its own."""
        if continuing and hasattr(self, "callbacks_"):
            # copies, committed with the other fitted attributes only if the call
            # succeeds (a failed call leaves the callbacks as they were)
            return copy.deepcopy(self.callbacks_)
        callbacks = list(self.callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks must be sklearn_train.callbacks.Callback instances; got "
                    f"{callback!r}. scikit-learn's own callbacks (sklearn.callback) go "
                    "through set_callbacks(...)."
                )
        return copy.deepcopy(callbacks)


def _rows_of(data, rows):
    """``data`` itself, or a callable slicing the training rows out when asked."""
    if rows is None:
        return data
    return lambda: data[rows]
