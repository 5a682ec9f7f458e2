"""Shared fitting logic of MLPClassifier, MLPRegressor and Autoencoder.

The training flow is ``TrainedEstimator``'s; this adds what is a network: the layer
table, weight initialisation suited to the activation, dropout, transfer learning
(``init`` from a fitted network of ours, ``freeze``), the kernel settings and the
``MLPProblem``.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _clone_parametrized
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._core import mlp
from .._core.optimizers import N_HYPER
from .._core.schedules import SCHEDULES
from .._estimator import TrainedEstimator
from .._gradient import GRADIENT_PARAMETERS, OPTIMIZERS, GradientMixin
from .._supervised import SUPERVISED_PARAMETERS, SupervisedMixin
from ._problem import MLPProblem, build_layout, forward, layer_views, new_state

ACTIVATIONS = {
    "identity": mlp.IDENTITY,
    "relu": mlp.RELU,
    "leaky_relu": mlp.LEAKY_RELU,
    "gelu": mlp.GELU,
    "tanh": mlp.TANH,
    "logistic": mlp.LOGISTIC,
}


class BaseMLP(SupervisedMixin, GradientMixin, TrainedEstimator):
    """Base class of the networks (not public)."""

    _parameter_constraints = {
        **TrainedEstimator._parameter_constraints,
        **GRADIENT_PARAMETERS,
        **SUPERVISED_PARAMETERS,
        # "optimal" is the linear models' 1 / (alpha (t0 + t)) from SVM theory: for a
        # network it starts near 1 / sqrt(alpha), about 10 at the default alpha
        "learning_rate": [StrOptions(set(SCHEDULES) - {"optimal"})],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "freeze": [None, Interval(Integral, 0, None, closed="left"), "array-like"],
        "init": "no_validation",
        "eta0": [Interval(Real, 0, None, closed="neither")],  # no "auto" for networks
    }

    _reconstruct = False  # an autoencoder: targets are the inputs

    def __sklearn_clone__(self):
        # ``init`` is a fitted network whose layers are read, never changed: clones
        # share it. (clone would otherwise clone it into an unfitted estimator,
        # and every GridSearchCV candidate would fail.)
        shallow = copy.copy(self)
        shallow.init = None
        twin = _clone_parametrized(shallow)
        twin.init = self.init
        return twin

    # -- architecture -----------------------------------------------------------------

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if not all(isinstance(size, Integral) and size >= 1 for size in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers; got {self.hidden_layer_sizes!r}."
            )
        return [int(size) for size in sizes]

    def _layer_sizes(self, n_features, n_outputs):
        return [n_features, *self._hidden_sizes(), n_outputs]

    def _layer_activations(self, n_layers):
        """Activation code of each hidden layer (the output layer's is the loss's)."""
        return [ACTIVATIONS[self.activation]] * (n_layers - 1)

    def _frozen_layers(self, n_layers):
        if self.freeze is None:
            return set()
        if np.isscalar(self.freeze):
            if self.freeze > n_layers:
                raise ValueError(
                    f"freeze={self.freeze} is more layers than this network has "
                    f"({n_layers} layers of weights)."
                )
            return set(range(int(self.freeze)))
        frozen = {int(layer) for layer in self.freeze}
        if any(layer < 0 or layer >= n_layers for layer in frozen):
            raise ValueError(
                f"freeze={self.freeze!r} names layers outside 0..{n_layers - 1} (this "
                f"network has {n_layers} layers of weights)."
            )
        return frozen

    # -- the network's part of training -------------------------------------------------

    def _initial_state(self, data, init):
        sizes = self._layer_sizes(data.X.shape[1], data.n_outputs)
        n_layers = len(sizes) - 1
        layout, n_params = build_layout(sizes, 0, codes=self._layer_activations(n_layers))
        state = new_state(layout, n_params, data.X.dtype)
        rng = check_random_state(self._seed)
        for layer in range(n_layers):
            W, _ = layer_views(state, layer)
            W[...] = _initial_weights(rng, *W.shape, layout[layer, mlp.L_ACTIVATION])
        if not data.incremental:
            _, output_bias = layer_views(state, n_layers - 1)
            output_bias[...] = self._initial_intercept(
                data.train_part(data.Y), data.train_part(data.sample_weight))
        if self.init is not None:
            self._copy_layers_from(self.init, state)
        self._set_frozen(state)
        return state

    def _continue_state(self, data, init):
        X, n_outputs = data.X, data.n_outputs
        layout = self._state["layout"]
        n_out = self._layer_sizes(X.shape[1], n_outputs)[-1]
        if layout[0, mlp.L_IN] != X.shape[1] or layout[-1, mlp.L_OUT] != n_out:
            raise ValueError(
                f"The fitted network has {layout[0, mlp.L_IN]} inputs and "
                f"{layout[-1, mlp.L_OUT]} outputs; X and y do not match it. Fit from "
                "scratch (warm_start=False) to change the data's shape."
            )
        sizes = self._layer_sizes(X.shape[1], n_outputs)
        fitted = [int(layout[0, mlp.L_IN]), *(int(n) for n in layout[:, mlp.L_OUT])]
        activations = self._layer_activations(len(sizes) - 1)
        if sizes != fitted or list(layout[:-1, mlp.L_ACTIVATION]) != activations:
            raise ValueError(
                f"The fitted network has layer widths {fitted}; the parameters now ask "
                f"for {sizes} (or another activation). warm_start and partial_fit "
                "continue the fitted network: fit from scratch (warm_start=False) to "
                "change its architecture."
            )
        state = {key: value.copy() for key, value in self._state.items()}
        state["params"] = self._predicting_state()["params"]  # with any edits
        for key in ("params", "moments"):
            state[key] = state[key].astype(X.dtype, copy=False)
        self._set_frozen(state)
        return state

    def _set_frozen(self, state):
        layout = state["layout"]
        frozen = self._frozen_layers(layout.shape[0])
        if len(frozen) == layout.shape[0]:
            warnings.warn(
                f"freeze={self.freeze!r} freezes every layer: training will not change "
                "the network.", UserWarning, stacklevel=6,
            )
        for layer in range(layout.shape[0]):
            layout[layer, mlp.L_FROZEN] = int(layer in frozen)

    def _copy_layers_from(self, source, state):
        """Start from the layers of a fitted network of ours (transfer learning).

        Every layer of ``source`` whose shape matches ours in order is copied; the
        output layer too when it matches (same classes or outputs), else it keeps its
        fresh initialisation (a new head for new classes).
        """
        if not isinstance(source, BaseMLP):
            raise TypeError(
                "init must be a fitted MLPClassifier, MLPRegressor or Autoencoder of "
                f"sklearn_train, or None; got {_short_repr(source)}.")
        check_is_fitted(source, "coefs_")
        layout = state["layout"]
        n_layers = layout.shape[0]
        copied = 0
        for layer, (W_source, b_source) in enumerate(zip(source.coefs_, source.intercepts_)):
            if layer >= n_layers:
                break
            W, b = layer_views(state, layer)
            if W_source.shape != W.shape:
                if layer < n_layers - 1:
                    raise ValueError(
                        f"init: layer {layer} of {type(source).__name__} has weights of "
                        f"shape {W_source.shape}, this network's are {W.shape}; the "
                        "hidden layers must match (hidden_layer_sizes and the number of "
                        "features)."
                    )
                break
            if layer == n_layers - 1 and not self._same_outputs(source, n_layers):
                break
            W[...] = W_source
            b[...] = b_source
            copied += 1
        if copied == 0:
            raise ValueError(f"init: no layer of {type(source).__name__} fits this network.")

    def _same_outputs(self, source, n_layers):
        """Whether ``source``'s output layer means the same as ours: same kind of
        estimator, same depth (else its layer at our output's index is a hidden
        one) and the same loss."""
        return (type(source) is type(self)
                and len(source.coefs_) == n_layers
                and getattr(source, "loss", None) == getattr(self, "loss", None))

    def _kernel_settings(self, n_rows):
        ints = np.zeros(mlp.N_INTS, dtype=np.int64)
        ints[mlp.I_LOSS] = self._loss_code()
        ints[mlp.I_OPTIMIZER] = OPTIMIZERS[self.optimizer]
        ints[mlp.I_BATCH_SIZE] = max(1, min(self.batch_size, n_rows))
        ints[mlp.I_RECONSTRUCT] = int(self._reconstruct)
        ints[mlp.I_SEED] = self._seed
        floats = np.zeros(mlp.N_FLOATS + N_HYPER, dtype=np.float64)
        floats[mlp.F_LOSS_PARAM] = self._loss_param()
        floats[mlp.F_L2] = self.alpha
        floats[mlp.F_DROPOUT] = self.dropout
        floats[mlp.F_NOISE] = self._input_noise()
        floats[mlp.N_FLOATS:] = self._hyper()
        return ints, floats

    def _input_noise(self):
        return 0.0

    def _make_problem(self, data, state):
        ints, floats = self._kernel_settings(data.n_train)
        return MLPProblem(data, state, ints, floats, self._validation_problem(data),
                          seed=self._seed, shuffle=self.shuffle)

    def _fitted_attributes(self, state):
        layout = state["layout"]
        coefs, intercepts = [], []
        for layer in range(layout.shape[0]):
            W, b = layer_views(state, layer)
            coefs.append(W.copy())
            intercepts.append(b.copy())
        # predictions read the parameter vector: a copy of the model needs its own
        # (a fit replaces this by the whole training state)
        return {"coefs_": coefs, "intercepts_": intercepts, "n_layers_": len(coefs) + 1,
                "n_outputs_": int(layout[-1, mlp.L_OUT]),
                "_state": {"params": state["params"].copy(), "layout": layout.copy()}}

    # -- prediction --------------------------------------------------------------------

    def _check_input(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, accept_sparse=self._accept_sparse,
                             dtype=[np.float64, np.float32])

    def _raw_outputs(self, X):
        """Raw outputs of the network (before the loss's link), float64."""
        return forward(self._check_input(X), self._predicting_state()).astype(
            np.float64, copy=False)

    @property
    def _n_features_out(self):
        """Width of what ``transform`` returns: the last hidden layer (or the input)."""
        layout = self._state["layout"]
        return int(layout[-2, mlp.L_OUT] if layout.shape[0] > 1 else layout[0, mlp.L_IN])

    def _hidden_output(self, X, layer):
        X = self._check_input(X)
        return forward(X, self._predicting_state(), 0, layer)

    def _predicting_state(self):
        """The network as ``coefs_`` and ``intercepts_`` hold it now: edits to them
        (as users of scikit-learn's MLP make) take effect."""
        state = self._state
        params = np.empty_like(state["params"])
        for layer, (W, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            target_W, target_b = layer_views({"params": params, "layout": state["layout"]},
                                             layer)
            target_W[...] = W
            target_b[...] = b
        return {"params": params, "layout": state["layout"]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _short_repr(value):
    """A description of ``value`` short enough for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def _initial_weights(rng, n_in, n_out, activation):
    """Glorot (Xavier) uniform weights, ``U(-b, b)`` with ``b = sqrt(6 / (n_in +
    n_out))``, and ``sqrt(2 / (n_in + n_out))`` before a logistic unit (whose slope
    is a quarter of tanh's around 0), as scikit-learn's MLP starts.

    He's ``sqrt(6 / n_in)`` for the rectifiers was measured too: on the benchmark's
    10-class problem (one hidden layer of 128, Adam) it trained 2 points of test
    accuracy behind scikit-learn after 10 epochs, Glorot level with it; He's
    variance argument is about deep stacks of rectifiers, not these shallow nets.
    """
    factor = 2.0 if activation == mlp.LOGISTIC else 6.0
    bound = np.sqrt(factor / (n_in + n_out))
    return rng.uniform(-bound, bound, size=(n_in, n_out))
