"""The linear model as a training problem for the shared driver (``_training.train``).

A linear state (``new_state``) holds everything a linear model must keep to
continue training exactly: the raw parameter vector, the optimizer moments, the L1
bookkeeping, the averaging sums and the step counters. ``LinearProblem`` binds a
state to one call's data and exposes the driver's interface around the compiled
``linear_epoch``.
"""

import numpy as np

from .._core import linear
from .._core._jit import quiet_inlining
from .._core.data import as_kernel_matrix, writeable_alias
from .._core.losses import mean_loss
from .._problems import GradientProblem
from .._training import DivergenceError


def new_state(n_outputs, n_features, dtype):
    """Zero parameters and optimizer state for ``n_outputs x n_features`` weights."""
    n_params = n_outputs * (n_features + 1)
    return {
        "params": np.zeros(n_params, dtype=dtype),
        "moments": np.zeros((2, n_params), dtype=dtype),
        "l1_applied": np.zeros(n_params, dtype=dtype),
        "average_sum": np.zeros(n_params, dtype=np.float64),
        "counters": np.zeros(linear.N_COUNTERS, dtype=np.float64),
    }


def copy_state(state, dtype):
    """A working copy, so a failed call leaves the estimator's state untouched."""
    copied = {key: value.copy() for key, value in state.items()}
    for key in ("params", "moments", "l1_applied"):
        copied[key] = copied[key].astype(dtype, copy=False)
    return copied


def model_parameters(state, n_features):
    """The parameters that predict, ``(coef, intercept)``: the running average once
    averaging has started."""
    n_averaged = state["counters"][linear.C_N_AVERAGED]
    params = state["params"]
    if n_averaged > 0:
        params = (state["average_sum"] / n_averaged).astype(params.dtype)
    n_outputs = params.shape[0] // (n_features + 1)
    n_weights = params.shape[0] - n_outputs
    coef = params[:n_weights].reshape(n_outputs, -1)
    return coef, params[n_weights:]


class LinearProblem(GradientProblem):
    """One call's data bound to a linear model's state.

    Parameters
    ----------
    data : TrainingData
        The call's data: input (all rows; ``data.rows`` selects the training rows),
        encoded targets (float64) and row weights.
    state : dict
        See ``new_state``; updated in place.
    ints, floats : ndarray
        Packed kernel settings (``linear.I_*``, ``linear.F_*``).
    validation : tuple or None
        ``(X_val, Y_val, sample_weight_val, score)`` where ``score(Z)`` turns raw
        validation outputs into the estimator's score.
    seed, shuffle : int, bool
        The row order (see ``RowProblem``).
    """

    def __init__(self, data, state, ints, floats, validation=None, *, seed, shuffle=True):
        super().__init__(data.n_train, ints[linear.I_BATCH_SIZE], seed, shuffle,
                         data.rows)
        self.X_input = data.X
        self.X = as_kernel_matrix(data.X)
        self.Y = writeable_alias(data.Y)  # (read-only targets: no second variant)
        self.sample_weight = writeable_alias(data.sample_weight)
        self.state = state
        self.ints = ints
        self.floats = floats
        self.validation = validation
        self.n_outputs = int(ints[linear.I_N_OUTPUTS])
        self.n_features = data.X.shape[1]
        # the raw outputs of each visited row before its step (prequential
        # evaluation: ``record_outputs``); no rows: nothing recorded
        self.row_outputs = np.empty((0, self.n_outputs))

    def record_outputs(self):
        """Record, in the coming epoch, each row's raw outputs before the step that
        learns it (in the order visited); returns the array that receives them."""
        self.row_outputs = np.full((self.n_rows, self.n_outputs), np.nan)
        return self.row_outputs

    def steps_done(self):
        return int(self.state["counters"][linear.C_STEPS])

    def run_rows(self, plan):
        s = self.state
        packed = (s["params"], s["moments"], s["l1_applied"], s["average_sum"], s["counters"],
                  self.anchor)
        with quiet_inlining():
            loss_sum, weight_sum, status = linear.linear_epoch(
                (self.X, self.Y, self.sample_weight), (*plan, self.row_outputs), packed,
                self.ints, self.floats,
            )
        if status != linear.OK:
            raise DivergenceError("the training loss became infinite or NaN.")
        if not np.isfinite(s["params"]).all():
            raise DivergenceError("the parameters became infinite or NaN.")
        if s["counters"][linear.C_N_AVERAGED] > 0:
            # The averaged parameters predict, and they converge more slowly than the
            # iterates the epoch's running loss saw: report (and stop on) their loss.
            if not np.isfinite(s["average_sum"]).all():
                raise DivergenceError("the averaged parameters became infinite or NaN.")
            Z = self.raw_outputs(self.X_input)
            rows = slice(None) if self.rows is None else self.rows
            loss = self._loss(Z[rows], self.Y[rows], self.sample_weight[rows])
            if not np.isfinite(loss):
                raise DivergenceError("the averaged model's loss became infinite or NaN.")
            return {"train_loss": loss}
        return {"train_loss": loss_sum / weight_sum if weight_sum > 0 else 0.0}

    def _loss(self, Z, Y, sample_weight):
        """Weighted mean loss of raw outputs ``Z`` against encoded targets ``Y``."""
        code = int(self.ints[linear.I_LOSS])
        param = float(self.floats[linear.F_LOSS_PARAM])
        return float(mean_loss(code, np.ascontiguousarray(Z), np.ascontiguousarray(Y),
                               np.ascontiguousarray(sample_weight), param))

    def raw_outputs(self, X):
        coef, intercept = model_parameters(self.state, self.n_features)
        return np.asarray(X @ coef.T + intercept, dtype=np.float64)

    def validate(self):
        if self.validation is None:
            return {}
        X_val, Y_val, weight_val, score = self.validation
        Z = self.raw_outputs(X_val)  # once: both the loss and the score use it
        return {"val_loss": self._loss(Z, Y_val, weight_val), "val_score": float(score(Z))}

    def snapshot(self):
        coef, intercept = model_parameters(self.state, self.n_features)
        return np.concatenate([coef.ravel(), intercept])

    def restore(self, snapshot):
        """Continue from ``snapshot``: raw parameters and running average both equal it.

        The average keeps the weight of the steps it stood for; when that sum would
        overflow (parameters near the float range), averaging starts over from the
        snapshot instead.
        """
        counters = self.state["counters"]
        self.state["params"][:] = snapshot
        with np.errstate(over="ignore"):
            total = snapshot * counters[linear.C_N_AVERAGED]
        if not np.isfinite(total).all():
            total = snapshot
            counters[linear.C_N_AVERAGED] = 1.0
        self.state["average_sum"][:] = total
