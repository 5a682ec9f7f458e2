"""A multilayer perceptron as a training problem for the shared driver.

The state is ``{"params", "moments", "counters", "layout"}``: one flat parameter
vector (``_core.mlp`` describes its layout), the optimizer moments, the step counter
and the layer table. ``MLPProblem`` binds it to one call's data.
"""

import numpy as np
import scipy.sparse as sp

from .._core import mlp
from .._core._jit import quiet_inlining
from .._core.data import as_kernel_matrix, writeable_alias
from .._core.losses import mean_loss
from .._problems import GradientProblem
from .._training import DivergenceError


def build_layout(sizes, activation, output_activation=mlp.IDENTITY, codes=None):
    """The layer table of a network with layer widths ``sizes`` (input first).

    Hidden layers use ``activation`` (or ``codes[l]`` per layer when given), the last
    ``output_activation``. Returns ``(layout, n_params)``.
    """
    n_layers = len(sizes) - 1
    layout = np.zeros((n_layers, mlp.N_LAYOUT), dtype=np.int64)
    position = 0
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        layout[layer, mlp.L_WEIGHTS] = position
        layout[layer, mlp.L_BIASES] = position + n_in * n_out
        layout[layer, mlp.L_IN] = n_in
        layout[layer, mlp.L_OUT] = n_out
        if layer == n_layers - 1:
            layout[layer, mlp.L_ACTIVATION] = output_activation
        else:
            layout[layer, mlp.L_ACTIVATION] = activation if codes is None else codes[layer]
        position += n_in * n_out + n_out
    return layout, position


def new_state(layout, n_params, dtype):
    return {
        "params": np.zeros(n_params, dtype=dtype),
        "moments": np.zeros((2, n_params), dtype=dtype),
        "counters": np.zeros(mlp.N_COUNTERS, dtype=np.float64),
        "layout": layout,
    }


def layer_views(state, layer):
    """``(W, b)`` of one layer: views into the parameter vector."""
    row = state["layout"][layer]
    params = state["params"]
    start, biases = row[mlp.L_WEIGHTS], row[mlp.L_BIASES]
    W = params[start:biases].reshape(row[mlp.L_IN], row[mlp.L_OUT])
    return W, params[biases:biases + row[mlp.L_OUT]]


def forward(X, state, first=0, last=None):
    """Activations of layer ``last`` (raw outputs for the output layer) for rows of
    ``X``, the input of layer ``first``; float64 or X's float32."""
    layout = state["layout"]
    last = layout.shape[0] - 1 if last is None else last
    params = state["params"]
    out = np.empty((X.shape[0], layout[last, mlp.L_OUT]), dtype=params.dtype)
    if X.shape[0] == 0:
        return out
    X = as_kernel_matrix(X.astype(params.dtype, copy=False))
    with quiet_inlining():  # (a model loaded read-only only reads its parameters here)
        mlp.mlp_forward(X, writeable_alias(params), writeable_alias(layout), first, last,
                        out)
    return out


class MLPProblem(GradientProblem):
    """One call's data bound to a network's state (see ``LinearProblem``); the
    settings say whether it is an autoencoder, whose targets are its inputs."""

    def __init__(self, data, state, ints, floats, validation=None, *, seed, shuffle=True):
        super().__init__(data.n_train, ints[mlp.I_BATCH_SIZE], seed, shuffle, data.rows)
        self.X = as_kernel_matrix(data.X)
        self.Y = writeable_alias(data.Y)  # (read-only targets: no second variant)
        self.sample_weight = writeable_alias(data.sample_weight)
        self.state = state
        self.ints = ints
        self.floats = floats
        self.validation = validation
        self.reconstruct = bool(ints[mlp.I_RECONSTRUCT])

    def steps_done(self):
        return int(self.state["counters"][mlp.C_STEPS])

    def run_rows(self, plan):
        s = self.state
        with quiet_inlining():
            loss_sum, weight_sum, status = mlp.mlp_epoch(
                (self.X, self.Y, self.sample_weight), plan,
                (s["params"], s["moments"], s["counters"], self.anchor), s["layout"],
                self.ints, self.floats,
            )
        if status != mlp.OK:
            raise DivergenceError("the training loss became infinite or NaN.")
        if not np.isfinite(s["params"]).all():
            raise DivergenceError("the parameters became infinite or NaN.")
        return {"train_loss": loss_sum / weight_sum if weight_sum > 0 else 0.0}

    def validate(self):
        if self.validation is None:
            return {}
        X_val, Y_val, weight_val, score = self.validation
        Z = forward(X_val, self.state).astype(np.float64, copy=False)
        if self.reconstruct:
            Y_val = X_val.toarray() if sp.issparse(X_val) else X_val
        code = int(self.ints[mlp.I_LOSS])
        param = float(self.floats[mlp.F_LOSS_PARAM])
        loss = float(mean_loss(code, np.ascontiguousarray(Z),
                               np.ascontiguousarray(Y_val, dtype=np.float64),
                               np.ascontiguousarray(weight_val), param))
        return {"val_loss": loss, "val_score": float(score(Z))}

    def snapshot(self):
        return self.state["params"].copy()

    def restore(self, snapshot):
        self.state["params"][:] = snapshot
