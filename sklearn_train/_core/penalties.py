"""Penalty steps: L2 as weight decay, L1 as a cumulative (Tsuruoka) proximal step.

The objective is ``mean(sample_weight * loss) + l2 / 2 * ||w||^2 + l1 * ||w||_1`` over the
weights (never the intercepts). ``penalty`` and ``alpha`` / ``l1_ratio`` map to the
two strengths exactly as in scikit-learn's SGD estimators.

L1 with plain SGD uses the cumulative penalty of Tsuruoka, Tsujii and Ananiadou
(2009), as scikit-learn's SGD does: ``total`` is the L1 shrinkage every weight could
have received so far (the sum of ``lr * l1`` over steps) and ``applied[p]`` what weight
``p`` actually received. Clipping at zero makes weights exactly zero, and because the
pending amount is applied whenever a weight is next touched, sparse kernels can skip
weights their batch does not use.

The other optimizers take steps of their own size per coordinate, so a shrinkage of
``lr * l1`` would not match the step they took: they use the proximal step of
``l1 * |w|`` in their own metric (``l1_prox``), the composite update of Duchi et al.
(2011) for AdaGrad, which again gives exact zeros.
"""

import math

from ._jit import kernel
from .optimizers import (
    ADAGRAD,
    H_EPS,
    H_MOMENTUM,
    MOMENTUM,
    NESTEROV,
    RMSPROP,
    S_ADAM_EPS,
    S_ADAM_LR,
    S_LR,
)


def penalty_strengths(penalty, alpha, l1_ratio):
    """Return ``(l1, l2)`` strengths for a scikit-learn style ``penalty`` name."""
    if penalty is None:
        return 0.0, 0.0
    if penalty == "l2":
        return 0.0, float(alpha)
    if penalty == "l1":
        return float(alpha), 0.0
    # elasticnet
    return float(alpha * l1_ratio), float(alpha * (1.0 - l1_ratio))


@kernel
def l1_clip(params, p, total, applied):
    """Apply weight ``p``'s pending L1 shrinkage.

    The weight moves toward zero by what it has not yet received of ``total`` and
    stops at zero; ``applied[p]`` records the (signed) change made.
    """
    before = params[p]
    if before > 0.0:
        params[p] = max(0.0, before - (total + applied[p]))
    elif before < 0.0:
        params[p] = min(0.0, before + (total - applied[p]))
    applied[p] += params[p] - before


@kernel
def l1_prox(code, params, moments, hyper, step, l1, start, stop):
    """Soft-threshold ``params[start:stop]`` by each coordinate's own step times ``l1``.

    Called right after ``optimizers.apply`` took step ``step`` with rule ``code`` (not
    plain SGD): the step size of coordinate ``p`` is ``lr / (1 - momentum)`` for
    momentum and Nesterov (a steady velocity carries the gradient that many times, so
    the fixed point is the L1 optimum), and ``lr / (sqrt(second moment) + eps)`` for
    the adaptive rules.
    """
    lr = step[S_LR]
    for p in range(start, stop):
        if code == MOMENTUM or code == NESTEROV:
            size = lr / (1.0 - hyper[H_MOMENTUM])
        elif code == ADAGRAD:
            size = lr / (math.sqrt(moments[0, p]) + hyper[H_EPS])
        elif code == RMSPROP:
            size = lr / (math.sqrt(moments[1, p]) + hyper[H_EPS])
        else:  # ADAM, ADAMW
            size = step[S_ADAM_LR] / (math.sqrt(moments[1, p]) + step[S_ADAM_EPS])
        shrink = size * l1
        w = params[p]
        if w > shrink:
            params[p] = w - shrink
        elif w < -shrink:
            params[p] = w + shrink
        else:
            params[p] = 0.0
