"""The result of an off-policy estimate: ``PolicyValue`` and how it is summarised."""

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True, repr=False)
class PolicyValue:
    """An estimated policy value with its normal-approximation confidence interval.

    Attributes
    ----------
    value : float
        The estimated expected reward of the target policy.
    ci_low, ci_high : float
        Bounds of the ``confidence`` interval ``value -/+ z * std_error``; NaN when
        there is one row only.
    std_error : float
        Estimated standard error of ``value`` (NaN for one row).
    effective_sample_size : float
        ``(sum w) ** 2 / sum(w ** 2)`` of the (clipped) importance weights ``w``:
        about how many on-policy rows the log is worth. ``n`` for the direct method;
        0 when the target never takes a logged action.
    n : int
        Number of logged rows.
    confidence : float
        Confidence level of the interval.
    estimator : str
        Name of the estimator that produced the value.
    """

    value: float
    ci_low: float
    ci_high: float
    std_error: float
    effective_sample_size: float
    n: int
    confidence: float = 0.95
    estimator: str = ""

    def __repr__(self):
        name = f"{self.estimator}: " if self.estimator else ""
        return (
            f"PolicyValue({name}value={self.value:.4g}, "
            f"{100 * self.confidence:g}% CI [{self.ci_low:.4g}, {self.ci_high:.4g}], "
            f"std_error={self.std_error:.3g}, "
            f"effective_sample_size={self.effective_sample_size:.4g}, n={self.n})"
        )


def effective_sample_size(weights):
    """``(sum w) ** 2 / sum(w ** 2)``; 0 when every weight is 0."""
    total_sq = float(np.dot(weights, weights))
    return float(weights.sum()) ** 2 / total_sq if total_sq > 0.0 else 0.0


def result(value, std_error, ess, n, confidence, estimator):
    """A ``PolicyValue`` whose interval is ``value -/+ z * std_error``."""
    half = norm.ppf(0.5 + confidence / 2.0) * std_error
    return PolicyValue(
        value=float(value),
        ci_low=float(value - half),
        ci_high=float(value + half),
        std_error=float(std_error),
        effective_sample_size=float(ess),
        n=int(n),
        confidence=confidence,
        estimator=estimator,
    )


def mean_result(terms, weights, confidence, estimator):
    """The value of a mean-of-terms estimator; the standard error is theirs."""
    n = terms.size
    std_error = terms.std(ddof=1) / math.sqrt(n) if n > 1 else math.nan
    ess = float(n) if weights is None else effective_sample_size(weights)
    return result(terms.mean(), std_error, ess, n, confidence, estimator)
