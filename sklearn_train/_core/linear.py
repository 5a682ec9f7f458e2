"""Epoch kernel for linear models: one compiled call trains one pass over the data.

Parameters are one flat vector: the weights ``W`` (``n_outputs x n_features``, row-major,
so ``coef_`` is a reshape) followed by the ``n_outputs`` intercepts. Penalties act on the
weights only: the prefix ``params[:n_outputs * n_features]``.

Per mini-batch the kernel computes the raw outputs ``z = W x + b`` of each row with the
parameters before the step and the loss derivative (``_forward``), then takes one step.
There are three kinds of step:

* direct (plain SGD without L1 or averaging: scikit-learn's usual setting, any
  layout): each row's contribution goes straight into the weights and L2 decay is
  one multiplication of a shared scale, so a step costs one pass over the batch's
  rows: O(nnz) on sparse input, no gradient buffer;
* sweep (every other optimizer, and SGD with L1 or averaging on dense input): the
  gradient is summed into a buffer and the optimizer moves every parameter
  (``optimizers.apply``);
* lazy (plain SGD on sparse input with L1 alone, or L2 with averaging): like a sweep,
  but only the features the batch uses are touched, so it also costs O(nnz):

  - L2 decay of every weight is one multiplication of a shared ``scale`` (the
    weights are ``scale * params``), folded back into ``params`` before the kernel
    returns;
  - L1 is the cumulative penalty of ``penalties.l1_clip``, caught up when a weight
    is used;
  - averaging adds ``params[p] * (sum of scales since p was last flushed)``.

Lazy steps give the same weights as dense ones up to rounding. L1 next to L2 decay or
averaging cannot be done lazily: a weight that reaches zero during the steps it skips
stops decaying (and stops changing its average), at a step the lazy update does not
know. The estimators run those combinations as sweeps, so lazy L1 always has a scale
of 1.

Settings arrive packed in an integer and a float array (indices below).
"""

import math

import numpy as np

from ._jit import kernel
from .data import mark_row, n_cols, prefetch_row, row_axpy, row_dot, row_span
from .losses import SOFTMAX_FOCAL, SOFTMAX_LOG, loss_grad, scalar_loss_grad
from .optimizers import ADAMW, N_STEP, S_LR, SGD, apply, begin_step
from .penalties import l1_clip, l1_prox

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
C_MOMENT_STEPS = 4  # steps since the optimizer's moments started (Adam's correction)
N_COUNTERS = 5

# kernel status
OK = 0
DIVERGED = 1

# Rows to prefetch ahead of the one being used: hides the memory latency of shuffled
# access to the rows of X.
_AHEAD = 4
# Rows whose spans, targets and weights are gathered at once (rounded to batches).
_BLOCK_ROWS = 2048
# Below this, fold the shared L2 scale of lazy steps into the weights to keep precision.
_MIN_SCALE = 1e-9


@kernel
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
        ``OK``, or ``DIVERGED`` when a batch loss was not finite (training stopped
        there, before that batch's step).
    """
    params, moments, l1_applied, average_sum, counters = state
    optimizer = ints[I_OPTIMIZER]
    batch_size = ints[I_BATCH_SIZE]
    n_out = ints[I_N_OUTPUTS]
    average_start = ints[I_AVERAGE_START]
    l1 = floats[F_L1]
    l2 = floats[F_L2]
    direct = optimizer == SGD and l1 == 0.0 and average_start < 0
    lazy = ints[I_LAZY] == 1 and not direct

    n_features = n_cols(X)
    n_weights = n_out * n_features
    n_rows = order.shape[0]

    block = batch_size * max(1, _BLOCK_ROWS // batch_size)
    spans = np.empty((block, 2), dtype=np.int64)
    block_Y = np.empty((block, n_out))
    block_weight = np.empty(block)
    coefs = np.empty((batch_size, n_out))
    z = np.empty(n_out)
    dz = np.empty(n_out)
    grad = np.zeros(0 if direct else params.shape[0], dtype=params.dtype)
    step = np.zeros(N_STEP)
    marked = np.zeros(n_features if lazy else 0, dtype=np.bool_)
    active = np.empty(n_features if lazy else 0, dtype=np.int64)
    flushed_at = np.zeros(n_weights if lazy and average_start >= 0 else 0)
    # [scale, its sum over averaged steps]: the true weights are scale * params in
    # direct and lazy steps; always [1, 0] in sweeps
    lazy_scale = np.array([1.0, 0.0])

    loss_sum = 0.0
    weight_sum = 0.0
    status = OK
    for block_start in range(0, n_rows, block):
        block_stop = min(block_start + block, n_rows)
        _gather(X, Y, sample_weight, order, block_start, block_stop, spans, block_Y,
                block_weight)
        for start in range(0, block_stop - block_start, batch_size):
            stop = min(start + batch_size, block_stop - block_start)
            batch = (block_start + start) // batch_size
            lr = rates[batch] if rates.shape[0] > 1 else rates[0]
            n_active = 0
            if lazy:
                for r in range(start, stop):
                    n_active = mark_row(X, spans[r, 0], spans[r, 1], marked, active, n_active)
                _catch_up(params, active, n_active, n_features, n_out, l1, counters,
                          l1_applied, average_sum, flushed_at, lazy_scale)
            batch_loss, batch_weight = _forward(X, spans, block_Y, block_weight, start,
                                                stop, block_stop - block_start, params,
                                                coefs, z, dz, ints, floats, lazy_scale[0])
            if not math.isfinite(batch_loss):
                status = DIVERGED
                break
            loss_sum += batch_loss
            weight_sum += batch_weight
            counters[C_STEPS] += 1.0
            counters[C_MOMENT_STEPS] += 1.0
            if direct:
                _direct_sgd_step(X, spans, start, stop, params, coefs, ints, lr, l2,
                                 lazy_scale)
            else:
                _accumulate(X, spans, start, stop, coefs, grad, n_out)
                begin_step(optimizer, lr, counters[C_MOMENT_STEPS], floats[N_FLOATS:],
                           step)
                _gradient_step(params, grad, moments, l1_applied, average_sum, counters,
                               ints, floats, step, stop - start, lazy, active, n_active,
                               marked, flushed_at, lazy_scale)
            counters[C_SEEN] += stop - start
            if average_start >= 0 and counters[C_SEEN] >= average_start:
                counters[C_N_AVERAGED] += 1.0
                first = n_weights if lazy else 0  # lazy weights are averaged by flushing
                for p in range(first, params.shape[0]):
                    average_sum[p] += params[p]
                lazy_scale[1] += lazy_scale[0]
        if status != OK:
            break

    if direct or lazy:
        # leave every weight as a sweep would: true values, all shrinkage applied
        _fold_scale(params, n_weights, l1, counters, l1_applied, average_sum, flushed_at,
                    lazy_scale)
    return loss_sum, weight_sum, status


@kernel
def _gather(X, Y, sample_weight, order, start, stop, spans, block_Y, block_weight):
    """Look up the spans, targets and weights of the rows ``order[start:stop]``.

    In shuffled order each is a cache miss; a tight loop of independent loads takes
    them many at a time, and the training loop then reads them in sequence.
    """
    for pos in range(start, stop):
        i = order[pos]
        r = pos - start
        spans[r, 0], spans[r, 1] = row_span(X, i)
        for k in range(Y.shape[1]):
            block_Y[r, k] = Y[i, k]
        block_weight[r] = sample_weight[i]


@kernel
def _forward(X, spans, block_Y, block_weight, start, stop, n_block, params, coefs, z, dz,
             ints, floats, scale):
    """Forward pass of one mini-batch (block rows ``start:stop`` of ``n_block``), with
    the parameters before the step.

    Row ``r - start`` of ``coefs`` receives ``sample_weight * d(loss)/dz`` of each
    output: the factor by which that row enters the gradient. Returns the batch's
    weighted loss sum and weight sum.
    """
    loss_code = ints[I_LOSS]
    n_out = ints[I_N_OUTPUTS]
    loss_param = floats[F_LOSS_PARAM]
    n_features = n_cols(X)
    n_weights = n_out * n_features
    one_output = n_out == 1 and not (loss_code == SOFTMAX_LOG or loss_code == SOFTMAX_FOCAL)
    batch_loss = 0.0
    batch_weight = 0.0
    for r in range(start, stop):
        if r + _AHEAD < n_block:
            prefetch_row(X, spans[r + _AHEAD, 0], spans[r + _AHEAD, 1])
        a, b = spans[r, 0], spans[r, 1]
        weight = block_weight[r]
        batch_weight += weight
        if one_output:
            # scalars instead of the row buffers: a third faster on binary and
            # single-target problems, the most common ones
            out = scale * row_dot(X, a, b, params, 0) + params[n_features]
            value, d_out = scalar_loss_grad(loss_code, out, block_Y[r, 0], loss_param)
            batch_loss += weight * value
            coefs[r - start, 0] = weight * d_out
        else:
            for k in range(n_out):
                z[k] = scale * row_dot(X, a, b, params, k * n_features) + params[n_weights + k]
            batch_loss += weight * loss_grad(loss_code, z, block_Y, r, dz, loss_param)
            for k in range(n_out):
                coefs[r - start, k] = weight * dz[k]
    return batch_loss, batch_weight


@kernel
def _direct_sgd_step(X, spans, start, stop, params, coefs, ints, lr, l2, lazy_scale):
    """Plain SGD step: add each row's contribution straight into the weights.

    The weights are ``scale * params``; L2 decay multiplies the scale, and a row's
    update is divided by it, so the step costs one pass over the batch's rows.
    """
    n_out = ints[I_N_OUTPUTS]
    fit_intercept = ints[I_FIT_INTERCEPT] == 1
    n_features = n_cols(X)
    n_weights = n_out * n_features
    decay = 1.0 - lr * l2
    scale = lazy_scale[0] * decay
    if scale < _MIN_SCALE:
        # the scale would vanish (or turn negative when lr * l2 >= 1): decay the
        # weights themselves this once
        for p in range(n_weights):
            params[p] *= scale
        scale = 1.0
    lazy_scale[0] = scale
    rate = lr / (stop - start)
    for r in range(start, stop):
        for k in range(n_out):
            coef = coefs[r - start, k]
            if coef != 0.0:
                row_axpy(X, spans[r, 0], spans[r, 1], -rate * coef / scale, params,
                         k * n_features)
                if fit_intercept:
                    params[n_weights + k] -= rate * coef


@kernel
def _accumulate(X, spans, start, stop, coefs, grad, n_out):
    """Sum the batch's gradient into ``grad`` (weights, then intercepts)."""
    n_features = n_cols(X)
    n_weights = n_out * n_features
    for r in range(start, stop):
        for k in range(n_out):
            coef = coefs[r - start, k]
            if coef != 0.0:
                row_axpy(X, spans[r, 0], spans[r, 1], coef, grad, k * n_features)
                grad[n_weights + k] += coef


@kernel
def _gradient_step(params, grad, moments, l1_applied, average_sum, counters, ints, floats,
                   step, n_batch, lazy, active, n_active, marked, flushed_at, lazy_scale):
    """Sweep or lazy step from the summed gradient ``grad``, intercepts included."""
    optimizer = ints[I_OPTIMIZER]
    n_out = ints[I_N_OUTPUTS]
    n_weights = params.shape[0] - n_out
    n_features = n_weights // n_out
    n_bias_end = n_weights + (n_out if ints[I_FIT_INTERCEPT] == 1 else 0)
    l1 = floats[F_L1]
    l2 = floats[F_L2]
    lr = step[S_LR]
    inv_batch = 1.0 / n_batch
    if lazy:
        _lazy_sgd_step(params, grad, active, n_active, marked, n_features, n_out,
                       lr * inv_batch, 1.0 - lr * l2, lr * l1, counters, l1_applied,
                       average_sum, flushed_at, lazy_scale)
    else:
        _weight_gradient(optimizer, params, grad, n_weights, inv_batch, l2, lr)
        apply(optimizer, params, grad, moments, floats[N_FLOATS:], step, 0, n_weights)
        if l1 > 0.0 and optimizer == SGD:
            counters[C_L1_TOTAL] += lr * l1
            for p in range(n_weights):
                l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)
        elif l1 > 0.0:
            l1_prox(optimizer, params, moments, floats[N_FLOATS:], step, l1, 0, n_weights)
    for p in range(n_weights, params.shape[0]):
        grad[p] *= inv_batch
    apply(optimizer, params, grad, moments, floats[N_FLOATS:], step, n_weights, n_bias_end)
    grad[n_bias_end:] = 0.0


@kernel
def _weight_gradient(optimizer, params, grad, n_weights, inv_batch, l2, lr):
    """Turn the summed weight gradient into the mean plus the L2 term.

    AdamW decays the weights here instead (decoupled weight decay).
    """
    if optimizer == ADAMW:
        decay = 1.0 - lr * l2
        for p in range(n_weights):
            params[p] *= decay
            grad[p] *= inv_batch
    else:
        for p in range(n_weights):
            grad[p] = grad[p] * inv_batch + l2 * params[p]


@kernel
def _catch_up(params, active, n_active, n_features, n_out, l1, counters, l1_applied,
              average_sum, flushed_at, lazy_scale):
    """Before a lazy step: flush averages and apply the L1 shrinkage weights missed."""
    for a in range(n_active):
        for k in range(n_out):
            p = k * n_features + active[a]
            _flush_average(params, p, average_sum, flushed_at, lazy_scale[1])
            if l1 > 0.0:
                l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)


@kernel
def _lazy_sgd_step(params, grad, active, n_active, marked, n_features, n_out, rate, decay,
                   l1_step, counters, l1_applied, average_sum, flushed_at, lazy_scale):
    """Plain SGD step over the active weights; L2 decay goes into the shared scale.

    ``rate`` is the step on the summed gradient (lr / batch size), ``decay`` the L2
    factor ``1 - lr * l2`` of every weight and ``l1_step`` this step's ``lr * l1``
    (only ever with ``decay == 1``: see the module docstring).
    """
    n_weights = n_features * n_out
    scale = lazy_scale[0] * decay
    if scale < _MIN_SCALE:
        # The shared scale would vanish (or turn negative when lr * l2 >= 1): make
        # the weights true values and decay them directly, this step only.
        _fold_scale(params, n_weights, 0.0, counters, l1_applied, average_sum,
                    flushed_at, lazy_scale)
        for p in range(n_weights):
            params[p] *= decay
        scale = 1.0
    lazy_scale[0] = scale
    counters[C_L1_TOTAL] += l1_step
    rate = rate / scale
    for a in range(n_active):
        j = active[a]
        marked[j] = False
        for k in range(n_out):
            p = k * n_features + j
            params[p] -= rate * grad[p]
            grad[p] = 0.0
            if l1_step > 0.0:
                l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)


@kernel
def _flush_average(params, p, average_sum, flushed_at, scale_sum):
    """Add weight ``p``'s unchanged value over the averaged steps since its last flush."""
    if flushed_at.shape[0] > 0:
        average_sum[p] += params[p] * (scale_sum - flushed_at[p])
        flushed_at[p] = scale_sum


@kernel
def _fold_scale(params, n_weights, l1, counters, l1_applied, average_sum, flushed_at,
                lazy_scale):
    """End lazy bookkeeping: every weight caught up, true values, scale back to 1.

    Applies all pending L1 shrinkage, brings the averages up to date and multiplies
    the shared scale into the weights.
    """
    scale = lazy_scale[0]
    for p in range(n_weights):
        _flush_average(params, p, average_sum, flushed_at, lazy_scale[1])
        if flushed_at.shape[0] > 0:
            flushed_at[p] = 0.0
        if l1 > 0.0:
            l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)
        params[p] *= scale
    lazy_scale[0] = 1.0
    lazy_scale[1] = 0.0
