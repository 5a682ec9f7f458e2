"""Shared fitting logic of LinearClassifier and LinearRegressor.

Subclasses say how targets are encoded, which loss code a ``loss`` name maps to, where
the intercept starts and how validation outputs are scored; everything else (data
validation, validation split, state, the kernel settings, the driver call, the fitted
attributes) is here.
"""

import copy
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._core import linear
from .._core.optimizers import ADAM, ADAGRAD, ADAMW, MOMENTUM, NESTEROV, RMSPROP, SGD
from .._core.optimizers import H_BETA1, H_BETA2, H_EPS, H_MOMENTUM, N_HYPER
from .._core.penalties import penalty_strengths
from .._core.schedules import SCHEDULES
from .._callback_tasks import CallbackSupportMixin, EpochTasks, with_callbacks
from .._training import Settings, TrainingState, mark_best, new_progress, split_validation
from .._training import train
from ..callbacks import Callback
from ._problem import LinearProblem, copy_state, model_parameters, new_state

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
_EPSILON = 1e-8


# Attributes scikit-learn's callback protocol keeps on an estimator during a fit: not
# part of a fitted copy, and not rolled back when a fit fails (its teardown needs them).
_CALLBACK_RUNTIME = ("_callback_fit_ctx", "_skl_callbacks_to_teardown",
                     "_parent_callback_ctx")


class BaseLinear(CallbackSupportMixin, BaseEstimator):
    """Base class: parameters, validation and the training call (not public)."""

    _parameter_constraints = {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "warmup": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, None, None, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "average": [Interval(Integral, 1, None, closed="left"), "boolean"],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "scoring": [str, callable, None],
    }

    # -- hooks for subclasses -------------------------------------------------------

    _is_regressor = False

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

    def _initial_intercept(self, Y, sample_weight):
        return np.zeros(Y.shape[1])

    def _score_outputs(self, Z, y, sample_weight):
        """Score of raw outputs ``Z`` against raw targets ``y`` (validation)."""
        raise NotImplementedError

    def _stratify(self, y):
        return None

    def _shape_coef(self, coef):
        """``coef_`` as the estimator exposes it, from (n_outputs, n_features)."""
        return coef

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

    def _resolve_eta0(self, X, rows):
        """The starting learning rate; for ``eta0="auto"`` one derived from the data.

        For plain SGD, ``1 / (mean squared row norm + fit_intercept)``: the inverse of
        a bound on the curvature of the squared error, a stable step whatever the
        scale of the features (the step size of scikit-learn's SAG solver, with the
        mean in place of the maximum). Momentum carries a gradient ``1 / (1 -
        momentum)`` times, so its rate is that much smaller; the adaptive optimizers
        normalise gradients themselves and start at 0.01.
        """
        if self.eta0 != "auto":
            return float(self.eta0)
        if self.optimizer in ("adagrad", "rmsprop", "adam", "adamw"):
            return 0.01
        if sp.issparse(X):
            norms = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        else:
            norms = np.einsum("ij,ij->i", X, X, dtype=np.float64)
        mean_norm = float(np.mean(norms if rows is None else norms[rows]))
        rate = 1.0 / (mean_norm + float(self.fit_intercept))
        if self.optimizer in ("momentum", "nesterov"):
            rate *= 1.0 - self.momentum
        return rate

    def _kernel_settings(self, n_outputs, n_rows, sparse_input):
        optimizer = OPTIMIZERS[self.optimizer]
        average = self.average
        if average is True:
            average_start = 1
        elif average is False or average == 0:
            average_start = -1
        else:
            average_start = int(average)
        ints = np.zeros(linear.N_INTS, dtype=np.int64)
        ints[linear.I_LOSS] = self._loss_code()
        ints[linear.I_OPTIMIZER] = optimizer
        # one batch per epoch either way; the kernel allocates batch-sized buffers
        ints[linear.I_BATCH_SIZE] = max(1, min(self.batch_size, n_rows))
        ints[linear.I_N_OUTPUTS] = n_outputs
        ints[linear.I_FIT_INTERCEPT] = int(self.fit_intercept)
        l1, l2 = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        # Lazy (touched-features-only) steps are exact for plain SGD unless L1 meets L2
        # or averaging (see _core/linear.py); those sweep every weight each step.
        lazy = (sparse_input and optimizer == SGD
                and not (l1 > 0 and (l2 > 0 or average_start >= 0)))
        ints[linear.I_LAZY] = int(lazy)
        ints[linear.I_AVERAGE_START] = average_start
        floats = np.zeros(linear.N_FLOATS + N_HYPER, dtype=np.float64)
        floats[linear.F_LOSS_PARAM] = self._loss_param()
        floats[linear.F_L1] = l1
        floats[linear.F_L2] = l2
        hyper = floats[linear.N_FLOATS:]
        hyper[H_MOMENTUM] = self.momentum
        hyper[H_BETA1] = self.beta_1
        hyper[H_BETA2] = self.beta_2
        hyper[H_EPS] = _EPSILON
        return ints, floats

    def _validate_fit_data(self, X, y, sample_weight, reset):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            multi_output=self._is_regressor,
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
                accept_sparse="csr",
                dtype=X.dtype,
                order="C",
                multi_output=self._is_regressor,
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

    def _train(self, X, y, *, sample_weight, classes, incremental, coef_init=None,
               intercept_init=None, X_val=None, y_val=None, sample_weight_val=None):
        """Validate, set up or continue the state, train, store fitted attributes."""
        self._check_settings()
        continuing = hasattr(self, "_state") and (incremental or self.warm_start)
        X, y, sample_weight = self._validate_fit_data(
            X, y, sample_weight, reset=not (incremental and continuing)
        )
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        if not continuing:
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        Y, factor = self._encode_targets(y, classes, first_call=not continuing,
                                         weights_from_y=not incremental)
        sample_weight = sample_weight * factor
        n_outputs = Y.shape[1]
        n_features = X.shape[1]
        rows, validation = None, None
        if not incremental or X_val is not None or y_val is not None:
            rows, validation = self._validation_set(
                X, y, sample_weight, X_val, y_val, sample_weight_val, classes
            )
        train_rows = slice(None) if rows is None else rows
        if continuing:
            state = copy_state(self._state, X.dtype)
            if state["params"].shape[0] != n_outputs * (n_features + 1):
                raise ValueError(
                    f"The fitted model has {self.n_features_in_} features and "
                    f"{n_outputs} outputs; X and y do not match it. Fit from scratch "
                    "(warm_start=False) to change the data's shape."
                )
            progress = dict(self._progress)
            if progress["optimizer"] != self.optimizer:
                # another rule's moments mean something else (velocity vs. accumulator)
                state["moments"][:] = 0.0
                progress["optimizer"] = self.optimizer
            if coef_init is not None or intercept_init is not None:
                self._start_from(state, coef_init, intercept_init, n_outputs, n_features)
        else:
            state = new_state(n_outputs, n_features, X.dtype)
            if not incremental and intercept_init is None and self.fit_intercept:
                # fit sees all its data: start the intercepts at the best constant model
                # (partial_fit starts at zero, as one chunk need not be representative)
                n_weights = n_outputs * n_features
                state["params"][n_weights:] = self._initial_intercept(
                    Y[train_rows], sample_weight[train_rows])
            self._start_from(state, coef_init, intercept_init, n_outputs, n_features)
            progress = new_progress(self._seed, self.optimizer)
        if not (incremental and continuing):
            progress["eta0"] = progress["eta"] = self._resolve_eta0(X, rows)
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
            ``run`` below exists (callbacks, validation scoring, the end of fit)."""
            attributes = self._fitted_attributes(state, n_outputs)
            if full:
                rows = [dict(row) for row in history]
                attributes.update(
                    _state=copy_state(state, state["params"].dtype),
                    _progress=dict(progress),
                    history_=rows,
                    best_epoch_=mark_best(rows, run.restored_epoch),
                    n_iter_=len(history) - n_before,
                    t_=int(state["counters"][linear.C_STEPS]),
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
        n_train = Y.shape[0] if rows is None else rows.shape[0]
        ints, floats = self._kernel_settings(n_outputs, n_train,
                                             sparse_input=not isinstance(X, np.ndarray))
        problem = LinearProblem(X, Y, sample_weight, rows, state, ints, floats, validation)
        max_epochs = 1 if incremental else self.max_iter
        run = TrainingState(self, problem, progress, history, current_model, incremental)
        metadata = (None if np.all(sample_weight == 1.0)
                    else {"sample_weight": sample_weight[train_rows]})
        tasks = EpochTasks.start(self, _rows_of(X, rows), _rows_of(y, rows), metadata,
                                 max_epochs, fitted)
        train(problem, self._settings(self.max_iter, progress["eta0"]), progress,
              max_epochs, stop=not incremental, run=run, callbacks=callbacks, tasks=tasks)
        self.__dict__.update(fitted(full=True))
        if tasks is not None:
            tasks.end()
        return self

    def _callbacks_for(self, continuing):
        """Deep copies of ``callbacks`` for a new run; a run of partial_fit keeps its own."""
        if continuing and hasattr(self, "callbacks_"):
            return self.callbacks_
        callbacks = list(self.callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks must be sklearn_train.callbacks.Callback instances; got "
                    f"{callback!r}. scikit-learn's own callbacks (sklearn.callback) go "
                    "through set_callbacks(...)."
                )
        return copy.deepcopy(callbacks)

    def _fitted_attributes(self, state, n_outputs):
        """``coef_`` and ``intercept_`` of ``state``, as copies."""
        coef, intercept = model_parameters(state, n_outputs)
        return {"coef_": self._shape_coef(coef.copy()), "intercept_": intercept.copy()}

    def _start_from(self, state, coef_init, intercept_init, n_outputs, n_features):
        """Put user-given starting parameters into ``state``; a fresh optimizer."""
        params = state["params"]
        n_weights = n_outputs * n_features
        if coef_init is not None:
            coef_init = np.asarray(coef_init, dtype=np.float64)
            allowed = [(n_outputs, n_features)] + ([(n_features,)] if n_outputs == 1 else [])
            if coef_init.shape not in allowed:
                raise ValueError(
                    f"coef_init has shape {coef_init.shape}; expected "
                    f"{' or '.join(str(shape) for shape in allowed)} "
                    f"({n_outputs} output(s) x {n_features} features)."
                )
            params[:n_weights] = coef_init.ravel()
        if intercept_init is not None:
            intercept_init = np.atleast_1d(np.asarray(intercept_init, dtype=np.float64))
            if intercept_init.shape != (n_outputs,):
                raise ValueError(
                    f"intercept_init has shape {intercept_init.shape}; expected "
                    f"({n_outputs},)."
                )
            params[n_weights:] = intercept_init
        if coef_init is not None or intercept_init is not None:
            for key in ("moments", "l1_applied", "average_sum"):
                state[key][:] = 0.0
            state["counters"][linear.C_L1_TOTAL] = 0.0
            state["counters"][linear.C_N_AVERAGED] = 0.0

    # -- prediction ----------------------------------------------------------------

    def _raw_outputs(self, X):
        """``X @ coef_.T + intercept_`` as an (n_samples, n_outputs) array."""
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=[np.float64, np.float32]
        )
        coef = self.coef_.reshape(-1, X.shape[1])
        return np.asarray(X @ coef.T) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _rows_of(data, rows):
    """``data`` itself, or a callable slicing the training rows out when asked."""
    if rows is None:
        return data
    return lambda: data[rows]
