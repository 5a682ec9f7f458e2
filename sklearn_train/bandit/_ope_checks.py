"""Input checks of the off-policy estimators: every error names the argument at fault."""

from numbers import Real

import numpy as np

PMF_TOLERANCE = 1e-6


def as_float_array(values, name, ndim):
    """``values`` as a float64 array of ``ndim`` dimensions, finite and non-empty."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if array.ndim != ndim:
        shape = "(n,)" if ndim == 1 else "(n, n_actions)"
        raise ValueError(f"{name} must have shape {shape}, got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} is empty: an estimate needs at least one logged row")
    if ndim == 2 and array.shape[1] == 0:
        raise ValueError(f"{name} has no columns: it needs one per action")
    if not np.all(np.isfinite(array)):
        bad = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {bad}; every entry must be finite")
    return array


def check_rows(array, name, n, reference="rewards"):
    """Raise unless ``array`` has ``n`` rows (those of ``reference``)."""
    if array.shape[0] != n:
        raise ValueError(
            f"{name} has {array.shape[0]} rows but {reference} has {n}; "
            "every input describes the same logged rows"
        )


def check_logging_probabilities(values, n):
    """Logging propensities of the logged actions: (n,), each in (0, 1]."""
    p = as_float_array(values, "logging_probabilities", 1)
    check_rows(p, "logging_probabilities", n)
    if np.any(p <= 0.0) or np.any(p > 1.0):
        worst = p[(p <= 0.0) | (p > 1.0)][0]
        raise ValueError(
            "logging_probabilities must lie in (0, 1] (a logged action had a "
            f"positive chance of being taken), found {worst!r}"
        )
    return p


def check_pmf(values, name, n, reference="rewards"):
    """A pmf matrix (n, n_actions): non-negative rows that sum to 1 (n=None: any n)."""
    pmf = as_float_array(values, name, 2)
    if n is not None:
        check_rows(pmf, name, n, reference)
    if np.any(pmf < 0.0):
        raise ValueError(f"{name} has negative probabilities (row {np.argmin(pmf.min(1))})")
    sums = pmf.sum(axis=1)
    off = np.abs(sums - 1.0) > PMF_TOLERANCE
    if off.any():
        row = int(np.argmax(off))
        raise ValueError(
            f"{name} rows must sum to 1 (tolerance {PMF_TOLERANCE:g}); "
            f"row {row} sums to {sums[row]!r}"
        )
    return pmf


def check_actions(values, n, n_actions):
    """Logged action indices: (n,) integers in [0, n_actions)."""
    actions = np.asarray(values)
    if actions.ndim != 1:
        raise ValueError(f"actions must have shape (n,), got shape {actions.shape}")
    check_rows(actions, "actions", n)
    if actions.dtype.kind == "f" and np.all(np.isfinite(actions)):
        if np.all(actions == np.round(actions)):
            actions = actions.astype(np.int64)
    if actions.dtype.kind not in "iu":
        raise ValueError(
            "actions must be integer indices of the logged actions (columns of the "
            f"pmf), got dtype {actions.dtype}; evaluate_policy maps labels to indices"
        )
    outside = (actions < 0) | (actions >= n_actions)
    if outside.any():
        raise ValueError(
            f"actions must index the {n_actions} pmf columns (0 to {n_actions - 1}), "
            f"found {actions[outside][0]}"
        )
    return actions.astype(np.intp)


def check_target(values, actions, n):
    """The target's probability of each logged action from (n,) or a pmf (n, K)."""
    ndim = np.ndim(values)
    if ndim == 2:
        if actions is None:
            raise ValueError(
                "target_probabilities is a pmf matrix (n, n_actions): pass actions, "
                "the index of each logged action, to pick its column"
            )
        pmf = check_pmf(values, "target_probabilities", n)
        actions = check_actions(actions, n, pmf.shape[1])
        return pmf[np.arange(n), actions]
    if actions is not None:
        raise ValueError(
            "actions is only used with a pmf matrix target_probabilities (n, "
            "n_actions); a vector is already the probability of each logged action"
        )
    target = as_float_array(values, "target_probabilities", 1)
    check_rows(target, "target_probabilities", n)
    if np.any(target < 0.0) or np.any(target > 1.0):
        worst = target[(target < 0.0) | (target > 1.0)][0]
        raise ValueError(f"target_probabilities must lie in [0, 1], found {worst!r}")
    return target


def check_reward_estimates(values, n, n_actions, reference="rewards"):
    """Estimated rewards of every action (n, n_actions), finite."""
    q = as_float_array(values, "reward_estimates", 2)
    check_rows(q, "reward_estimates", n, reference)
    if q.shape[1] != n_actions:
        raise ValueError(
            f"reward_estimates has {q.shape[1]} columns but target_pmf has "
            f"{n_actions}; both need one column per action, in the same order"
        )
    return q


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or np.isnan(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_clip(clip):
    """None, or a positive cap on the importance weights (inf allowed)."""
    if clip is None:
        return np.inf
    clip = _real(clip, "clip")
    if clip <= 0.0:
        raise ValueError(f"clip must be positive (a cap on importance weights), got {clip!r}")
    return clip


def check_tau(tau):
    """The switch threshold: a non-negative number (inf allowed)."""
    tau = _real(tau, "tau")
    if tau < 0.0:
        raise ValueError(f"tau must be >= 0 (an importance-weight threshold), got {tau!r}")
    return tau


def check_confidence(confidence):
    """A confidence level strictly between 0 and 1."""
    confidence = _real(confidence, "confidence")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return confidence
