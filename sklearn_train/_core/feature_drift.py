"""Compiled input-drift monitor: an EWMA control chart per feature, all in one call.

Each feature first fills a reference window of ``reference`` values. From it the
chart takes the feature's mean ``m`` and standard deviation ``s`` and watches two
statistics of the standardised value ``u = clip((x - m) / s, -c, c)``: ``u`` itself
(a shift of the mean) and ``u**2`` (a change of the spread). Clipping at ``c`` keeps
one outlier of a heavy-tailed or sparse feature from firing the chart on its own;
the reference's own mean and standard deviation of ``u`` and ``u**2`` (computed in a
second pass over the stored window, so they hold for any distribution) centre and
scale the charts. An exponentially weighted mean of each statistic, started at its
reference mean, fires when it leaves ``threshold`` of its standard deviations
(``sqrt(lambda / (2 - lambda) * (1 - (1 - lambda)**(2 t)))`` of the statistic's, the
exact value after ``t`` rows, Lucas and Saccucci 1990). A feature that fired, and a
feature constant over its reference (nothing to standardise by), fills a new
reference from its next value.
"""

import math

import numpy as np

from ._jit import kernel

MEAN_SHIFT = 1
SPREAD_SHIFT = 2

# settings = (floats, ints)
FF_SMOOTHING = 0  # lambda
FF_THRESHOLD = 1
FF_CLIP = 2
N_FEATURE_FLOATS = 3
FI_REFERENCE = 0
N_FEATURE_INTS = 1
# state = (stats, counts, window): stats (n_features, N_STATS), counts
# (n_features, N_COUNTS), window (reference, n_features) of reference values
ST_MEAN = 0
ST_SD = 1
ST_U_MEAN = 2
ST_U_SD = 3
ST_SQ_MEAN = 4
ST_SQ_SD = 5
ST_U_EWM = 6
ST_SQ_EWM = 7
ST_DECAY = 8  # (1 - lambda) ** (2 t): the part of the chart's spread not reached yet
N_STATS = 9
CT_FILLED = 0  # reference values stored so far
CT_WATCHING = 1  # 1 when the charts run, 0 while the reference fills
N_COUNTS = 2


@kernel
def feature_drift_update(X, settings, state, flags):
    """Feed the rows of ``X`` (n_rows, n_features) in order; ``flags[i, j]`` gets the
    ``MEAN_SHIFT``/``SPREAD_SHIFT`` bits of feature ``j`` at row ``i``. Returns the
    number of rows where some feature fired."""
    stats, counts, window = state
    n_flagged = 0
    for i in range(X.shape[0]):
        row_fired = False
        for j in range(X.shape[1]):
            x = X[i, j]
            flag = 0
            if counts[j, CT_WATCHING]:
                flag = _chart_step(x, settings, stats[j])
                if flag:
                    counts[j, :] = 0  # fill a new reference from the next value
            else:
                window[counts[j, CT_FILLED], j] = x
                counts[j, CT_FILLED] += 1
                if counts[j, CT_FILLED] == window.shape[0]:
                    counts[j, CT_FILLED] = 0
                    counts[j, CT_WATCHING] = _reference_stats(window, j, settings,
                                                              stats[j])
            flags[i, j] = flag
            row_fired = row_fired or flag != 0
        n_flagged += row_fired
    return n_flagged


@kernel(inline="always")
def _chart_step(x, settings, stats):
    smoothing = settings[0][FF_SMOOTHING]
    clip = settings[0][FF_CLIP]
    u = min(max((x - stats[ST_MEAN]) / stats[ST_SD], -clip), clip)
    stats[ST_U_EWM] += smoothing * (u - stats[ST_U_EWM])
    stats[ST_SQ_EWM] += smoothing * (u * u - stats[ST_SQ_EWM])
    stats[ST_DECAY] *= (1.0 - smoothing) * (1.0 - smoothing)
    spread = settings[0][FF_THRESHOLD] * math.sqrt(
        smoothing / (2.0 - smoothing) * (1.0 - stats[ST_DECAY]))
    flag = 0
    if abs(stats[ST_U_EWM] - stats[ST_U_MEAN]) > spread * stats[ST_U_SD]:
        flag |= MEAN_SHIFT
    # the moving mean of squares is skewed like a chi-square: its cube root
    # (Wilson and Hilferty) is near-normal, with a third of its relative spread
    ratio = stats[ST_SQ_EWM] / stats[ST_SQ_MEAN]
    if abs(ratio ** (1.0 / 3.0) - 1.0) > spread * stats[ST_SQ_SD] / (3.0 * stats[ST_SQ_MEAN]):
        flag |= SPREAD_SHIFT
    return flag


@kernel(inline="always")
def _reference_stats(window, j, settings, stats):
    """The chart's centre and scale from the full reference window of feature ``j``;
    returns 1 when the charts can run (the feature varied), else 0."""
    n = window.shape[0]
    clip = settings[0][FF_CLIP]
    mean = 0.0
    for k in range(n):
        mean += window[k, j]
    mean /= n
    variance = 0.0
    for k in range(n):
        variance += (window[k, j] - mean) ** 2
    sd = math.sqrt(variance / n)
    if not sd > 0.0:
        return 0
    u_sum, sq_sum = 0.0, 0.0
    for k in range(n):
        u = min(max((window[k, j] - mean) / sd, -clip), clip)
        u_sum += u
        sq_sum += u * u
    u_mean, sq_mean = u_sum / n, sq_sum / n
    u_var, sq_var = 0.0, 0.0
    for k in range(n):
        u = min(max((window[k, j] - mean) / sd, -clip), clip)
        u_var += (u - u_mean) ** 2
        sq_var += (u * u - sq_mean) ** 2
    stats[ST_MEAN] = mean
    stats[ST_SD] = sd
    stats[ST_U_MEAN] = u_mean
    stats[ST_U_SD] = math.sqrt(u_var / n)
    stats[ST_SQ_MEAN] = sq_mean
    # (a two-valued feature balanced around its mean has a constant u**2: no
    # spread chart, rather than one that fires at the last bit of rounding)
    sq_sd = math.sqrt(sq_var / n)
    stats[ST_SQ_SD] = sq_sd if sq_sd > 1e-9 * sq_mean else np.inf
    stats[ST_U_EWM] = u_mean
    stats[ST_SQ_EWM] = sq_mean
    stats[ST_DECAY] = 1.0
    return 1


def new_feature_state(n_features, reference):
    """An empty monitor state: every feature filling its reference."""
    return (np.zeros((n_features, N_STATS)), np.zeros((n_features, N_COUNTS), np.int64),
            np.zeros((reference, n_features)))
