"""Learning-rate schedules: the rate of every optimizer step of one epoch.

Plain Python and NumPy, evaluated once per epoch: ``epoch_rates`` returns one rate per
mini-batch (or a single rate when all are equal), which the compiled epoch kernel reads
by batch index. Step-based schedules (``optimal``, ``invscaling``) use the global step
count, so they continue across ``partial_fit`` calls; epoch-based ones (``cosine``,
``exponential``, ``linear``, ``warmup``) use the fractional epoch ``epoch + b /
n_steps``.
"""

import math

import numpy as np

SCHEDULES = ("constant", "optimal", "invscaling", "adaptive", "cosine", "exponential",
             "linear")
# The schedules that count epochs from the start of a fit (``schedule_start``): a
# warm-started fit runs them from their beginning again.
EPOCH_SCHEDULES = ("cosine", "exponential", "linear")

# ``adaptive`` divides the rate by this on a plateau and stops below ``ADAPTIVE_MIN``
# (the values of scikit-learn's SGD).
ADAPTIVE_FACTOR = 5.0
ADAPTIVE_MIN = 1e-6


def optimal_offset(alpha):
    """Step offset of the ``optimal`` schedule ``1 / (alpha * (offset + t))``.

    This is Bottou's heuristic as scikit-learn's SGD uses it: the first rate is
    ``1 / sqrt(sqrt(alpha))``, a typical weight size for that regularisation.
    (scikit-learn divides it by ``max(1, dloss(-typw, 1))``; that derivative is
    negative for every loss it offers, so the factor is 1 and is left out.)
    """
    typical_weight = math.sqrt(1.0 / math.sqrt(alpha))
    return 1.0 / (typical_weight * alpha)


def epoch_rates(kind, eta0, *, first_step, n_steps, epoch, alpha=1e-4, power_t=0.5,
                lr_decay=0.9, warmup=0.0, horizon=1, current=None):
    """Learning rate of each of the ``n_steps`` optimizer steps of one epoch.

    Parameters
    ----------
    kind : {"constant", "optimal", "invscaling", "adaptive", "cosine", "exponential", \
"linear"}
    eta0 : float
        Initial (base) learning rate.
    first_step : int
        Number of optimizer steps taken before this epoch.
    n_steps : int
        Steps (mini-batches) in this epoch.
    epoch : int
        Number of epochs completed before this one.
    alpha : float
        Regularisation strength (``optimal``).
    power_t : float
        Exponent of ``invscaling``: ``eta0 / (t + 1) ** power_t``.
    lr_decay : float
        Factor per epoch of ``exponential``.
    warmup : float
        Epochs of linear warm-up from near zero to the scheduled rate; 0 for none.
    horizon : int
        Epochs over which ``cosine`` and ``linear`` anneal from ``eta0`` to zero
        (``max_iter``).
    current : float, optional
        Present rate of ``adaptive`` (``eta0`` before any reduction).

    Returns
    -------
    rates : ndarray of float64
        One rate per step, or a single rate when the schedule is flat over the epoch.

    Examples
    --------
    >>> epoch_rates("invscaling", 0.1, first_step=0, n_steps=3, epoch=0, power_t=1.0)
    array([0.1       , 0.05      , 0.03333333])
    """
    progress = epoch + np.arange(n_steps) / n_steps  # fractional epoch of each step
    if kind == "constant":
        rates = np.array([eta0], dtype=np.float64)
    elif kind == "adaptive":
        rates = np.array([eta0 if current is None else current], dtype=np.float64)
    elif kind == "optimal":
        steps = first_step + np.arange(n_steps, dtype=np.float64)
        rates = 1.0 / (alpha * (optimal_offset(alpha) + steps))
    elif kind == "invscaling":
        steps = first_step + np.arange(n_steps, dtype=np.float64)
        rates = eta0 / (steps + 1.0) ** power_t
    elif kind == "cosine":
        rates = eta0 * 0.5 * (1.0 + np.cos(np.pi * np.minimum(progress / horizon, 1.0)))
    elif kind == "exponential":
        rates = eta0 * lr_decay**progress
    elif kind == "linear":
        # UMAP's decay, eta0 * (1 - epoch / n_epochs), here along the steps too
        rates = eta0 * np.maximum(1.0 - progress / horizon, 0.0)
    else:
        raise ValueError(f"Unknown learning_rate schedule {kind!r}.")
    if warmup > 0 and epoch < warmup:
        ramp = np.minimum(1.0, (progress + 1.0 / n_steps) / warmup)
        rates = rates * ramp
    return rates
