"""Penalty steps: L2 as weight decay, L1 as a cumulative (Tsuruoka) proximal step.

The objective is ``mean(sample_weight * loss) + l2 / 2 * ||w||^2 + l1 * ||w||_1`` over the
weights (never the intercepts). ``penalty`` and ``alpha`` / ``l1_ratio`` map to the
two strengths exactly as in scikit-learn's SGD estimators.

L1 uses the cumulative penalty of Tsuruoka, Tsujii and Ananiadou (2009): ``total`` is
the L1 shrinkage every weight could have received so far (the sum of ``lr * l1`` over
steps) and ``applied[p]`` what weight ``p`` actually received. Clipping at zero makes
weights exactly zero, and because the pending amount is applied whenever a weight is
next touched, sparse kernels can skip weights their batch does not use.
"""

from ._jit import kernel


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
    stops at zero; ``applied[p]`` records the (signed) change made. ``total`` and
    ``applied`` are in the units of ``params``.
    """
    before = params[p]
    if before > 0.0:
        params[p] = max(0.0, before - (total + applied[p]))
    elif before < 0.0:
        params[p] = min(0.0, before + (total - applied[p]))
    applied[p] += params[p] - before
