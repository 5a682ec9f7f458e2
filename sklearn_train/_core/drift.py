"""Compiled concept-drift detectors: one kernel per detector, a whole array per call.

Every kernel has the form ``kernel(values, settings, state, flags)``: it feeds the
float64 ``values`` one by one, in order, changing ``state`` (a tuple of arrays) in
place, writes ``flags[i]`` (``DRIFT`` and/or ``WARNING`` bits) for element ``i`` and
returns the number of elements that raised a flag. ``settings`` is a tuple of small
float and int arrays read through the index constants below.

ADWIN, Page-Hinkley and DDM reset their whole state at the element that follows a
drift, as river's detectors do: the ``*_PENDING`` flag carries that across calls, and
a new state is all zeros with that flag set, so the first element clears it.
KSWIN shrinks its window to the recent part at the drift itself (see
``sklearn_train.drift.KSWIN``).
"""

import math

import numpy as np

from ._jit import kernel
from .data import uniform

DRIFT = 1
WARNING = 2

# ---- ADWIN -----------------------------------------------------------------------
# settings = (floats, ints)
AF_DELTA = 0
AF_MIN_WINDOW = 1
AF_GRACE = 2
N_ADWIN_FLOATS = 3
AI_CLOCK = 0
AI_MAX_BUCKETS = 1
N_ADWIN_INTS = 2
# state = (floats, ints, totals, variances, counts); row r of totals/variances holds
# counts[r] buckets of 2**r elements each, oldest first; row 0 holds the newest
AS_TOTAL = 0
AS_VARIANCE = 1  # sum of squared deviations from the window's mean
AS_WIDTH = 2
N_ADWIN_STATE_FLOATS = 3
AS_TICK = 0
AS_ROWS = 1
AS_PENDING = 2
N_ADWIN_STATE_INTS = 3


@kernel
def adwin_update(values, settings, state, flags):
    """ADWIN (bucket-compressed adaptive window) over ``values``."""
    n_flagged = 0
    for i in range(values.shape[0]):
        if state[1][AS_PENDING]:
            _adwin_clear(state)
        _adwin_insert(values[i], settings, state)
        drift = _adwin_check(settings, state)
        state[1][AS_PENDING] = drift
        flags[i] = DRIFT if drift else 0
        n_flagged += drift
    return n_flagged


@kernel(inline="always")
def _adwin_clear(state):
    floats, ints, totals, variances, counts = state
    floats[:] = 0.0
    ints[:] = 0
    ints[AS_ROWS] = 1
    totals[:] = 0.0
    variances[:] = 0.0
    counts[:] = 0


@kernel(inline="always")
def _drop_first(totals, variances, counts, row, n_dropped):
    """Remove the ``n_dropped`` oldest buckets of ``row``."""
    kept = counts[row] - n_dropped
    for k in range(kept):
        totals[row, k] = totals[row, k + n_dropped]
        variances[row, k] = variances[row, k + n_dropped]
    for k in range(kept, counts[row]):
        totals[row, k] = 0.0
        variances[row, k] = 0.0
    counts[row] = kept


@kernel(inline="always")
def _adwin_insert(value, settings, state):
    floats, ints, totals, variances, counts = state
    max_buckets = settings[1][AI_MAX_BUCKETS]
    totals[0, counts[0]] = value
    variances[0, counts[0]] = 0.0
    counts[0] += 1
    # streaming variance: the new element against the mean of the window before it
    floats[AS_WIDTH] += 1.0
    width = floats[AS_WIDTH]
    if width > 1.0:
        deviation = value - floats[AS_TOTAL] / (width - 1.0)
        floats[AS_VARIANCE] += (width - 1.0) * deviation * deviation / width
    floats[AS_TOTAL] += value
    # a full row merges its two oldest buckets into one of the next row, and so on up
    row = 0
    while counts[row] == max_buckets + 1:
        size = float(1 << row)
        mean0 = totals[row, 0] / size
        mean1 = totals[row, 1] / size
        merged_variance = (variances[row, 0] + variances[row, 1]
                           + size * 0.5 * (mean0 - mean1) * (mean0 - mean1))
        merged_total = totals[row, 0] + totals[row, 1]
        if row + 1 >= ints[AS_ROWS]:
            ints[AS_ROWS] = row + 2
        totals[row + 1, counts[row + 1]] = merged_total
        variances[row + 1, counts[row + 1]] = merged_variance
        counts[row + 1] += 1
        _drop_first(totals, variances, counts, row, 2)
        row += 1


@kernel(inline="always")
def _adwin_cut(n0, n1, mean_gap, settings, floats):
    """Whether sub-windows of ``n0`` and ``n1`` elements whose means differ by
    ``mean_gap`` differ more than ADWIN's bound allows."""
    delta = settings[0][AF_DELTA]
    min_window = settings[0][AF_MIN_WINDOW]
    width = floats[AS_WIDTH]
    delta_prime = math.log(2.0 * math.log(width) / delta)
    m_recip = 1.0 / (n0 - min_window + 1.0) + 1.0 / (n1 - min_window + 1.0)
    epsilon = (math.sqrt(2.0 * m_recip * (floats[AS_VARIANCE] / width) * delta_prime)
               + 2.0 / 3.0 * delta_prime * m_recip)
    return abs(mean_gap) > epsilon


@kernel(inline="always")
def _adwin_check(settings, state):
    """Every ``clock`` elements (once past the grace period), drop the oldest bucket
    while some split of the window into old | recent has means too far apart."""
    floats, ints, totals, variances, counts = state
    min_window = settings[0][AF_MIN_WINDOW]
    ints[AS_TICK] += 1
    if ints[AS_TICK] % settings[1][AI_CLOCK] != 0 or not floats[AS_WIDTH] > settings[0][AF_GRACE]:
        return False
    detected = False
    shrinking = True
    while shrinking:
        shrinking = False
        n0 = 0.0
        n1 = floats[AS_WIDTH]
        u0 = 0.0
        u1 = floats[AS_TOTAL]
        row = ints[AS_ROWS] - 1
        done = False
        while row >= 0 and not done:  # oldest row first, oldest bucket first
            size = float(1 << row)
            for k in range(counts[row]):
                n0 += size
                n1 -= size
                u0 += totals[row, k]
                u1 -= totals[row, k]
                if row == 0 and k == counts[row] - 1:  # no split after the newest
                    done = True
                    break
                if (n1 >= min_window and n0 >= min_window
                        and _adwin_cut(n0, n1, u0 / n0 - u1 / n1, settings, floats)):
                    detected = True
                    shrinking = True
                    if floats[AS_WIDTH] > 0.0:
                        _adwin_drop_oldest(state)
                        done = True
                        break
            row -= 1
    return detected


@kernel(inline="always")
def _adwin_drop_oldest(state):
    floats, ints, totals, variances, counts = state
    last = ints[AS_ROWS] - 1
    size = float(1 << last)
    total = totals[last, 0]
    mean = total / size
    floats[AS_WIDTH] -= size
    floats[AS_TOTAL] -= total
    width = floats[AS_WIDTH]
    mean_rest = floats[AS_TOTAL] / width
    floats[AS_VARIANCE] -= (variances[last, 0]
                            + size * width * (mean - mean_rest) * (mean - mean_rest)
                            / (size + width))
    _drop_first(totals, variances, counts, last, 1)
    if counts[last] == 0:
        ints[AS_ROWS] = last


# ---- Page-Hinkley ----------------------------------------------------------------
PF_DELTA = 0
PF_THRESHOLD = 1
PF_ALPHA = 2
N_PH_FLOATS = 3
PI_MIN_INSTANCES = 0
PI_MODE = 1  # MODE_* below
N_PH_INTS = 2
MODE_UP = 0
MODE_DOWN = 1
MODE_BOTH = 2
# state = (floats, ints)
PS_MEAN = 0
PS_SUM_UP = 1
PS_SUM_DOWN = 2
PS_MIN_UP = 3
PS_MAX_DOWN = 4
N_PH_STATE_FLOATS = 5
PS_N = 0
PS_PENDING = 1
N_PH_STATE_INTS = 2


@kernel
def page_hinkley_update(values, settings, state, flags):
    """Page-Hinkley's cumulative deviations from the running mean over ``values``."""
    floats, ints = state
    delta = settings[0][PF_DELTA]
    threshold = settings[0][PF_THRESHOLD]
    alpha = settings[0][PF_ALPHA]
    mode = settings[1][PI_MODE]
    n_flagged = 0
    for i in range(values.shape[0]):
        if ints[PS_PENDING]:
            page_hinkley_clear(state)
        x = values[i]
        ints[PS_N] += 1
        floats[PS_MEAN] += (1.0 / ints[PS_N]) * (x - floats[PS_MEAN])
        deviation = x - floats[PS_MEAN]
        floats[PS_SUM_UP] = alpha * floats[PS_SUM_UP] + deviation - delta
        floats[PS_SUM_DOWN] = alpha * floats[PS_SUM_DOWN] + deviation + delta
        floats[PS_MIN_UP] = min(floats[PS_MIN_UP], floats[PS_SUM_UP])
        floats[PS_MAX_DOWN] = max(floats[PS_MAX_DOWN], floats[PS_SUM_DOWN])
        drift = False
        if ints[PS_N] >= settings[1][PI_MIN_INSTANCES]:
            up = floats[PS_SUM_UP] - floats[PS_MIN_UP] > threshold
            down = floats[PS_MAX_DOWN] - floats[PS_SUM_DOWN] > threshold
            drift = (up and mode != MODE_DOWN) or (down and mode != MODE_UP)
        ints[PS_PENDING] = drift
        flags[i] = DRIFT if drift else 0
        n_flagged += drift
    return n_flagged


@kernel(inline="always")
def page_hinkley_clear(state):
    floats, ints = state
    floats[:] = 0.0
    floats[PS_MIN_UP] = np.inf
    floats[PS_MAX_DOWN] = -np.inf
    ints[:] = 0


# ---- DDM -------------------------------------------------------------------------
DF_WARNING = 0
DF_DRIFT = 1
N_DDM_FLOATS = 2
DI_WARM_START = 0
N_DDM_INTS = 1
# state = (floats, ints)
DS_MEAN = 0
DS_P_MIN = 1
DS_S_MIN = 2
DS_PS_MIN = 3
N_DDM_STATE_FLOATS = 4
DS_N = 0
DS_PENDING = 1
N_DDM_STATE_INTS = 2


@kernel
def ddm_update(values, settings, state, flags):
    """DDM over an error stream (``values`` of 0 and 1): the error rate against the
    lowest ``p + s`` seen so far."""
    floats, ints = state
    warning_level = settings[0][DF_WARNING]
    drift_level = settings[0][DF_DRIFT]
    n_flagged = 0
    for i in range(values.shape[0]):
        if ints[DS_PENDING]:
            ddm_clear(state)
        ints[DS_N] += 1
        n = ints[DS_N]
        floats[DS_MEAN] += (1.0 / n) * (values[i] - floats[DS_MEAN])
        p = floats[DS_MEAN]
        s = math.sqrt(p * (1.0 - p) / n)
        flag = 0
        if n > settings[1][DI_WARM_START]:
            if p + s <= floats[DS_PS_MIN]:
                floats[DS_P_MIN] = p
                floats[DS_S_MIN] = s
                floats[DS_PS_MIN] = p + s
            if p + s > floats[DS_P_MIN] + drift_level * floats[DS_S_MIN]:
                flag = DRIFT
            elif p + s > floats[DS_P_MIN] + warning_level * floats[DS_S_MIN]:
                flag = WARNING
        ints[DS_PENDING] = flag == DRIFT
        flags[i] = flag
        n_flagged += flag != 0
    return n_flagged


@kernel(inline="always")
def ddm_clear(state):
    floats, ints = state
    floats[:] = 0.0
    floats[DS_PS_MIN] = np.inf
    ints[:] = 0


# ---- KSWIN -----------------------------------------------------------------------
KI_WINDOW = 0
KI_STAT = 1  # size of the recent part and of the reference sample
KI_CRITICAL = 2  # drift when the KS statistic times stat_size reaches this count
N_KSWIN_INTS = 3
# settings: the int array above
# state = (ints, window, pool, sample, recent, key): window a ring buffer, pool a
# permutation of the reference positions (partial Fisher-Yates draws from it), key
# a uint64 array of one element, the address of the sampling stream
KS_START = 0  # ring position of the oldest element
KS_COUNT = 1
KS_DRAWS = 2  # draws taken from the stream so far
N_KSWIN_STATE_INTS = 3


@kernel
def kswin_update(values, settings, state, flags):
    """KSWIN over ``values``: a two-sample Kolmogorov-Smirnov test between the
    window's newest ``stat_size`` elements and as many drawn from the rest."""
    ints, window, pool, sample, recent, key_array = state
    size = settings[KI_WINDOW]
    n_recent = settings[KI_STAT]
    key = key_array[0]
    n_flagged = 0
    for i in range(values.shape[0]):
        if ints[KS_COUNT] < size:
            window[(ints[KS_START] + ints[KS_COUNT]) % size] = values[i]
            ints[KS_COUNT] += 1
        else:
            window[ints[KS_START]] = values[i]
            ints[KS_START] = (ints[KS_START] + 1) % size
        flags[i] = 0
        if ints[KS_COUNT] < size:
            continue
        n_reference = size - n_recent
        for j in range(n_recent):  # partial Fisher-Yates: n_recent distinct positions
            pick = j + int(uniform(key, ints[KS_DRAWS]) * (n_reference - j))
            ints[KS_DRAWS] += 1
            pool[j], pool[pick] = pool[pick], pool[j]
            sample[j] = window[(ints[KS_START] + pool[j]) % size]
            recent[j] = window[(ints[KS_START] + n_reference + j) % size]
        if _ks_count(sample, recent) >= settings[KI_CRITICAL]:
            flags[i] = DRIFT
            n_flagged += 1
            # the new concept: keep only the newest n_recent elements
            ints[KS_START] = (ints[KS_START] + n_reference) % size
            ints[KS_COUNT] = n_recent
    return n_flagged


@kernel(inline="always")
def _ks_count(a, b):
    """``n * max |F_a - F_b|`` of two samples of equal size ``n`` (sorted in place):
    the largest gap between the counts at or below any value, ties included."""
    a.sort()
    b.sort()
    n = a.shape[0]
    i = 0
    j = 0
    largest = 0
    while i < n and j < n:
        value = min(a[i], b[j])
        while i < n and a[i] <= value:
            i += 1
        while j < n and b[j] <= value:
            j += 1
        largest = max(largest, abs(i - j))
    return max(largest, abs(i - j))
