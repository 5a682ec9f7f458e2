"""Epoch kernel for linear models: one compiled call trains one pass over the data.

Parameters are one flat vector: the weights ``W`` (``n_outputs x n_features``, row-major,
so ``coef_`` is a reshape) followed by the ``n_outputs`` intercepts. Penalties act on the
weights only: the prefix ``params[:n_outputs * n_features]``.

Per mini-batch the kernel computes the raw outputs ``z = W x + b`` of each row, the
loss derivative, accumulates the gradient, then lets the optimizer move the touched
coordinates. For sparse input trained with plain SGD, "touched" is only the features
the batch uses, which keeps a step O(nnz):

* L2 decay of every weight is a single multiplication of a shared ``scale``
  (weights are ``scale * params``), folded back before the kernel returns;
* L1 is the cumulative penalty of ``penalties.l1_clip``, applied when a weight is used;
* averaging (ASGD) adds ``params[p] * (sum of scales since p was last flushed)``.

Every other case sweeps all coordinates each step, so results do not depend on the
layout. Settings arrive packed in an integer and a float array (indices below).
"""

import math

import numpy as np
from numba import njit

from .data import mark_row, n_cols, prefetch_row, row_axpy, row_dot
from .losses import loss_grad
from .optimizers import ADAMW, N_STEP, SGD, begin_step, update
from .penalties import l1_clip

FASTMATH = {"reassoc", "contract", "nsz", "arcp"}  # not nnan/ninf: isfinite must work

# integer settings
I_LOSS = 0
I_OPTIMIZER = 1
I_BATCH_SIZE = 2
I_N_OUTPUTS = 3
I_FIT_INTERCEPT = 4
I_LAZY = 5  # 1: sparse input with plain SGD, update only the batch's features
I_AVERAGE_START = 6  # samples seen before averaging starts; -1: no averaging
N_INTS = 7

# float settings
F_LOSS_PARAM = 0
F_L1 = 1
F_L2 = 2
N_FLOATS = 3  # followed by the optimizer hyper-parameters (optimizers.N_HYPER)

# counters kept between calls
C_STEPS = 0
C_SEEN = 1
C_L1_TOTAL = 2
C_N_AVERAGED = 3
N_COUNTERS = 4

# kernel status
OK = 0
DIVERGED = 1

# Rows to prefetch ahead of the one being used: hides memory latency of shuffled access.
_AHEAD = 3
# Below this, fold the shared L2 scale into the weights to keep precision.
_MIN_SCALE = 1e-9


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def linear_epoch(X, Y, sample_weight, order, rates, state, ints, floats):
    """Train one epoch over the rows ``order`` of ``X`` in that order.

    Parameters
    ----------
    X : 2-D array or data.CSR
        Input matrix (float32 or float64); parameters share its dtype.
    Y : ndarray of shape (n_samples, n_outputs), float64
        Encoded targets (see ``losses``).
    sample_weight : ndarray of shape (n_samples,), float64
    order : ndarray of int64
        Rows to visit; consecutive runs of ``batch_size`` form the mini-batches.
    rates : ndarray of float64
        Learning rate of each mini-batch, or a single rate for all.
    state : tuple
        ``(params, moments, l1_applied, average_sum, counters)``, updated in place.
    ints, floats : ndarray
        Packed settings, see the ``I_*`` and ``F_*`` indices.

    Returns
    -------
    loss_sum : float
        Sum of ``sample_weight * loss`` over the rows visited.
    weight_sum : float
        Sum of ``sample_weight`` over the rows visited.
    status : int
        ``OK``, or ``DIVERGED`` when a batch loss was not finite (training stopped there).
    """
    params, moments, l1_applied, average_sum, counters = state
    loss_code = ints[I_LOSS]
    optimizer = ints[I_OPTIMIZER]
    batch_size = ints[I_BATCH_SIZE]
    n_out = ints[I_N_OUTPUTS]
    fit_intercept = ints[I_FIT_INTERCEPT] == 1
    lazy = ints[I_LAZY] == 1
    average_start = ints[I_AVERAGE_START]
    loss_param = floats[F_LOSS_PARAM]
    l1 = floats[F_L1]
    l2 = floats[F_L2]
    hyper = floats[N_FLOATS:]

    n_features = n_cols(X)
    n_weights = n_out * n_features
    n_rows = order.shape[0]

    grad = np.zeros_like(params)
    z = np.empty(n_out)
    dz = np.empty(n_out)
    step = np.zeros(N_STEP)
    marked = np.zeros(n_features if lazy else 0, dtype=np.bool_)
    active = np.empty(n_features if lazy else 0, dtype=np.int64)
    flushed_at = np.zeros(n_weights if average_start >= 0 else 0)
    scale = 1.0  # the true weights are scale * params[:n_weights] (plain SGD only)
    scale_sum = 0.0  # sum of `scale` over the averaged steps of this call

    loss_sum = 0.0
    weight_sum = 0.0
    status = OK
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        batch = start // batch_size
        lr = rates[batch] if rates.shape[0] > 1 else rates[0]
        n_active = n_features
        if lazy:
            n_active = 0
            for pos in range(start, stop):
                n_active = mark_row(X, order[pos], marked, active, n_active)
            if l1 > 0.0:
                # catch up on shrinkage the batch's weights missed while unused
                for a in range(n_active):
                    for k in range(n_out):
                        p = k * n_features + active[a]
                        _flush_average(params, p, average_sum, flushed_at, scale_sum)
                        l1_clip(params, p, scale, counters[C_L1_TOTAL], l1_applied)

        batch_loss = 0.0
        for pos in range(start, stop):
            if pos + _AHEAD < n_rows:
                prefetch_row(X, order[pos + _AHEAD])
            i = order[pos]
            for k in range(n_out):
                z[k] = scale * row_dot(X, i, params, k * n_features) + params[n_weights + k]
            weight = sample_weight[i]
            batch_loss += weight * loss_grad(loss_code, z, Y[i], dz, loss_param)
            weight_sum += weight
            for k in range(n_out):
                coef = weight * dz[k]
                if coef != 0.0:
                    row_axpy(X, i, coef, grad, k * n_features)
                    grad[n_weights + k] += coef
        if not math.isfinite(batch_loss):
            status = DIVERGED
            break
        loss_sum += batch_loss

        t = counters[C_STEPS] + 1.0
        begin_step(optimizer, lr, t, hyper, step)
        averaging = average_start >= 0 and counters[C_SEEN] + (stop - start) >= average_start
        inv_batch = 1.0 / (stop - start)
        decay = 1.0 - lr * l2
        if optimizer == SGD and l2 > 0.0:
            scale *= decay
        counters[C_L1_TOTAL] += lr * l1
        l1_total = counters[C_L1_TOTAL]
        for a in range(n_active):
            j = active[a] if lazy else a
            for k in range(n_out):
                p = k * n_features + j
                g = grad[p] * inv_batch
                grad[p] = 0.0
                _flush_average(params, p, average_sum, flushed_at, scale_sum)
                if optimizer == SGD:
                    g /= scale
                elif optimizer == ADAMW:
                    params[p] *= decay
                else:
                    g += l2 * params[p]
                update(optimizer, params, p, g, moments, hyper, step)
                if l1 > 0.0:
                    l1_clip(params, p, scale, l1_total, l1_applied)
            if lazy:
                marked[j] = False
        for k in range(n_out):
            p = n_weights + k
            if fit_intercept:
                update(optimizer, params, p, grad[p] * inv_batch, moments, hyper, step)
            grad[p] = 0.0
            if averaging:
                average_sum[p] += params[p]
        if averaging:
            scale_sum += scale
            counters[C_N_AVERAGED] += 1.0
        if scale < _MIN_SCALE:
            _fold_scale(params, n_weights, scale, average_sum, flushed_at, scale_sum)
            scale_sum = 0.0
            scale = 1.0
        counters[C_STEPS] = t
        counters[C_SEEN] += stop - start

    if lazy and l1 > 0.0:
        # leave every weight as a dense run would: all pending shrinkage applied
        for p in range(n_weights):
            l1_clip(params, p, scale, counters[C_L1_TOTAL], l1_applied)
    _fold_scale(params, n_weights, scale, average_sum, flushed_at, scale_sum)
    return loss_sum, weight_sum, status


@njit(cache=True, nogil=True, fastmath=FASTMATH, inline="always")
def _flush_average(params, p, average_sum, flushed_at, scale_sum):
    """Add weight ``p``'s unchanged value over the averaged steps since its last flush."""
    if flushed_at.shape[0] > 0:
        average_sum[p] += params[p] * (scale_sum - flushed_at[p])
        flushed_at[p] = scale_sum


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _fold_scale(params, n_weights, scale, average_sum, flushed_at, scale_sum):
    """Bring the averages up to date, then make ``params`` the true weights."""
    for p in range(n_weights if flushed_at.shape[0] > 0 else 0):
        _flush_average(params, p, average_sum, flushed_at, scale_sum)
        flushed_at[p] = 0.0
    if scale != 1.0:
        for p in range(n_weights):
            params[p] *= scale
