"""Server optimizers over the averaged update: ``ServerOptimizer``.

Federated optimisation in the form of Reddi et al., "Adaptive Federated
Optimization" (ICLR 2021): the workers' weighted mean ``x_avg`` defines a
pseudo-gradient ``x - x_avg`` that a server optimizer applies to the global
parameters ``x``. Plain SGD at rate 1 is FedAvg (the mean itself), AdaGrad is
FedAdagrad, Adam is FedAdam. The step is the core's compiled optimizer step
(``_core.optimizers``), the one every local step uses.
"""

from numbers import Real

import numpy as np

from .._core.optimizers import N_STEP, apply, begin_step, default_hyper
from .._gradient import OPTIMIZERS


class ServerOptimizer:
    """An optimizer applied on the client to the round's averaged update.

    Parameters
    ----------
    optimizer : {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}, \
default="adam"
        The rule (our optimizers' ``optimizer`` names): "sgd" at
        ``learning_rate=1`` is FedAvg, "momentum" FedAvgM, "adagrad" FedAdagrad,
        "adam" FedAdam.
    learning_rate : float, default=0.1
        The server's step size (Reddi et al. tune it over 10^-3..1; 1.0 for FedAvg).
        "fedadam" and "fedadagrad" use 0.1.
    momentum, beta_1, beta_2 : float
        As in our estimators (defaults 0.9, 0.9, 0.99).
    epsilon : float, default=1e-3
        The adaptivity floor ``tau`` of Reddi et al. (larger than a local
        optimizer's: a round's update is larger than a gradient step).

    Notes
    -----
    FedAdam here keeps Adam's bias correction, which Reddi et al. leave out; it only
    changes the first rounds' step sizes.

    Examples
    --------
    >>> from sklearn_train.distributed import ServerOptimizer
    >>> ServerOptimizer("adam", learning_rate=0.05)
    ServerOptimizer(optimizer='adam', learning_rate=0.05)
    """

    def __init__(self, optimizer="adam", learning_rate=0.1, *, momentum=0.9,
                 beta_1=0.9, beta_2=0.99, epsilon=1e-3):
        if optimizer not in OPTIMIZERS or optimizer == "adamw":
            raise ValueError(
                f"ServerOptimizer's optimizer must be one of 'sgd', 'momentum', "
                f"'nesterov', 'adagrad', 'rmsprop', 'adam'; got {optimizer!r}.")
        for name, value, low in (("learning_rate", learning_rate, 0.0),
                                 ("epsilon", epsilon, 0.0)):
            if not isinstance(value, Real) or not value > low:
                raise ValueError(f"ServerOptimizer's {name} must be a positive number; "
                                 f"got {value!r}.")
        for name, value in (("momentum", momentum), ("beta_1", beta_1),
                            ("beta_2", beta_2)):
            if not isinstance(value, Real) or not 0 <= value < 1:
                raise ValueError(f"ServerOptimizer's {name} must be in [0, 1); got "
                                 f"{value!r}.")
        self.optimizer = optimizer
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def __repr__(self):
        return (f"ServerOptimizer(optimizer={self.optimizer!r}, "
                f"learning_rate={self.learning_rate:g})")

    def new_state(self, n_params, dtype):
        """The server's moments and its round counter."""
        return {"server_moments": np.zeros((2, n_params), dtype=dtype),
                "server_rounds": np.zeros(1)}

    def step(self, params, previous, state):
        """Move ``previous`` (the parameters before the round) along the averaged
        update that brought them to ``params``; the result is written to ``params``."""
        gradient = (previous - params).astype(params.dtype)  # the pseudo-gradient
        params[...] = previous
        state["server_rounds"][0] += 1.0
        code = OPTIMIZERS[self.optimizer]
        hyper = default_hyper(self.momentum, self.beta_1, self.beta_2, self.epsilon)
        step = np.zeros(N_STEP)
        begin_step(code, self.learning_rate, state["server_rounds"][0], hyper, step)
        apply(code, params, gradient, state["server_moments"], hyper, step, 0,
              params.shape[0])


_AGGREGATES = {
    "fedavg": None,
    "fedadagrad": ("adagrad", 0.1),
    "fedadam": ("adam", 0.1),
}


def server_optimizer(aggregate):
    """The ServerOptimizer that ``aggregate`` names (None: no server step)."""
    if isinstance(aggregate, ServerOptimizer):
        return aggregate
    if isinstance(aggregate, str) and aggregate in ("mean", "adagrad", "fedavg"):
        return None
    if isinstance(aggregate, str) and aggregate in _AGGREGATES:
        return ServerOptimizer(*_AGGREGATES[aggregate])
    raise ValueError(
        f"aggregate must be 'mean', 'adagrad', 'fedavg', 'fedadagrad', 'fedadam' or a "
        f"ServerOptimizer; got {aggregate!r}.")
