"""Shared fitting logic of LinearClassifier and LinearRegressor.

The training flow itself is ``TrainedEstimator``'s, with the optimizer parameters of
``GradientMixin`` and the targets and validation of ``SupervisedMixin``; this adds
what is linear: the penalty, averaging and intercept parameters, the parameter
vector and its starting point (``coef_init``, the data-driven intercept), the
data-derived ``eta0="auto"``, the kernel settings and the ``LinearProblem``.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import linear
from .._core.optimizers import N_HYPER, SGD
from .._core.penalties import penalty_strengths
from .._callback_tasks import callbacks_listen
from .._estimator import TrainedEstimator
from .._gradient import GRADIENT_PARAMETERS, OPTIMIZERS, GradientMixin
from .._supervised import SUPERVISED_PARAMETERS, SupervisedMixin
from ._problem import LinearProblem, copy_state, model_parameters, new_state


def squared_row_norms(X):
    """Squared norm of every row of dense or CSR ``X`` (float64)."""
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X, dtype=np.float64)


class BaseLinear(SupervisedMixin, GradientMixin, TrainedEstimator):
    """Base class: parameters, validation and the training call (not public)."""

    _parameter_constraints = {
        **TrainedEstimator._parameter_constraints,
        **GRADIENT_PARAMETERS,
        **SUPERVISED_PARAMETERS,
        "penalty": [StrOptions({"l2", "l1", "elasticnet"}), None],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "average": [Interval(Integral, 1, None, closed="left"), "boolean"],
        "fit_intercept": ["boolean"],
    }

    # -- hooks for subclasses -------------------------------------------------------

    def _initial_intercept(self, Y, sample_weight):
        return np.zeros(Y.shape[1])

    def _shape_coef(self, coef):
        """``coef_`` as the estimator exposes it, from (n_outputs, n_features)."""
        return coef

    # -- the linear model's part of training ------------------------------------------

    def _eta0_param(self):
        # "auto" is resolved from these: a change of any of them between partial_fit
        # calls resolves it again
        if self.eta0 == "auto":
            return ("auto", self.optimizer, self.momentum, self.fit_intercept)
        return self.eta0

    def _resolve_eta0(self, data):
        """The starting learning rate; for ``eta0="auto"`` one derived from the data.

        For plain SGD, ``1 / (mean squared row norm + fit_intercept)``: the inverse of
        a bound on the curvature of the squared error, a stable step whatever the
        scale of the features (the step size of scikit-learn's SAG solver, with the
        mean in place of the maximum). Momentum carries a gradient ``1 / (1 -
        momentum)`` times, so its rate is that much smaller; the adaptive optimizers
        normalise gradients themselves and start at 0.01. Features so large that
        this rate is no longer a normal number in the data's precision (after the
        division by the batch size) are refused: training would not move.
        """
        if self.eta0 != "auto":
            return float(self.eta0)
        if self.optimizer in ("adagrad", "rmsprop", "adam", "adamw"):
            return 0.01
        X = data.X
        mean_norm = data.extra.get("mean_squared_norm")  # (a data-parallel fit's)
        if mean_norm is None:
            mean_norm = float(np.mean(data.train_part(squared_row_norms(X))))
        curvature = mean_norm + float(self.fit_intercept)
        rate = 1.0 / curvature if curvature > 0 else 1.0  # (all-zero rows, no intercept)
        if self.optimizer in ("momentum", "nesterov"):
            rate *= 1.0 - self.momentum
        if not rate / self.batch_size >= np.finfo(X.dtype).tiny:
            raise ValueError(
                f"eta0='auto' derives the learning rate from the scale of the features: "
                f"their mean squared row norm is {mean_norm:.3g}, so the rate would be "
                f"{rate:.3g}, too small for {X.dtype} arithmetic (training would not "
                "move). Scale the features (for example with StandardScaler), or set "
                "eta0 to a number.")
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
        floats[linear.N_FLOATS:] = self._hyper()
        return ints, floats

    def _initial_state(self, data, init):
        n_outputs, n_features = data.n_outputs, data.X.shape[1]
        state = new_state(n_outputs, n_features, data.X.dtype)
        if (not data.incremental and init.get("intercept_init") is None
                and self.fit_intercept):
            # fit sees all its data: start the intercepts at the best constant model
            # (partial_fit starts at zero, as one chunk need not be representative)
            state["params"][n_outputs * n_features:] = self._initial_intercept(
                data.train_part(data.Y), data.train_part(data.sample_weight))
        self._start_from(state, n_outputs, n_features, **init)
        return state

    def _continue_state(self, data, init):
        n_outputs, n_features = data.n_outputs, data.X.shape[1]
        state = copy_state(self._state, data.X.dtype)
        if state["params"].shape[0] != n_outputs * (n_features + 1):
            raise ValueError(
                f"The fitted model has {self.n_features_in_} features and "
                f"{n_outputs} outputs; X and y do not match it. Fit from scratch "
                "(warm_start=False) to change the data's shape."
            )
        self._start_from(state, n_outputs, n_features, **init)
        return state

    def _make_problem(self, data, state):
        ints, floats = self._kernel_settings(data.n_outputs, data.n_train,
                                             sparse_input=not isinstance(data.X, np.ndarray))
        problem = LinearProblem(data, state, ints, floats, self._validation_problem(data),
                                seed=self._seed, shuffle=self.shuffle)
        if self.__dict__.get("_recording_outputs"):
            self.__dict__["_recorded_outputs"] = problem.record_outputs()
        return problem

    # -- prequential evaluation (sklearn_train.evaluation) ------------------------------

    def _prequential_outputs(self, X, y, batch_size, **fit_params):
        """Learn ``(X, y)`` as ``partial_fit`` on blocks of ``batch_size`` rows in
        order would, in one call, and return each row's raw outputs from before the
        step that learns it (test, then train); None, untrained, when this
        configuration cannot (then the caller predicts and learns block by block).

        The one call equals the block-by-block calls when each block is one
        optimizer step of a per-step schedule, with nothing done between calls.
        """
        per_call = (self.learning_rate not in ("constant", "optimal", "invscaling")
                    or self.warmup != 0 or self.average not in (False, 0)
                    or self.early_stopping or self.callbacks or callbacks_listen(self)
                    or set(fit_params) - {"sample_weight"})
        if per_call or batch_size > self.batch_size or not hasattr(self, "_state"):
            return None
        saved = {"batch_size": self.batch_size, "shuffle": self.shuffle}
        self.__dict__["_recording_outputs"] = True
        try:
            self.batch_size, self.shuffle = batch_size, False
            self.partial_fit(X, y, **fit_params)
            return self.__dict__.pop("_recorded_outputs")
        finally:
            self.__dict__.update(saved)
            self.__dict__.pop("_recording_outputs", None)
            self.__dict__.pop("_recorded_outputs", None)

    def _fitted_attributes(self, state):
        coef, intercept = model_parameters(state, self.n_features_in_)
        return {"coef_": self._shape_coef(coef.copy()), "intercept_": intercept.copy()}

    def _start_from(self, state, n_outputs, n_features, coef_init=None,
                    intercept_init=None):
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
            self._fresh_optimizer(state)
            for key in ("l1_applied", "average_sum"):
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

