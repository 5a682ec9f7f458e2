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

An anchored penalty (elastic weight consolidation, ``sklearn_train.continual``) adds
``strength[p] * (params[p] - anchor[p])`` to the gradient of every parameter, the
intercepts too; ``state[5]`` holds ``[anchor, strength]`` (float64, shape ``(2,
n_params)``) or is ``(2, 0)`` when off. It moves every parameter each step, so with it
on the kernel runs sweeps only (no direct or lazy steps); it joins the mean gradient
before the optimizer, so AdamW adapts it as it does the loss (only L2 is decoupled).

A NaN target ``Y[i, k]`` leaves output ``k`` of row ``i`` unobserved: no loss, no
gradient (``losses`` module docstring). The gradient is still the batch's sum divided
by its number of rows, so a masked output acts as a sample weight of 0 for that
output alone.

Settings arrive packed in an integer and a float array (indices below; the shared
ones come from ``codes``). Helpers take the epoch's arrays in tuples: ``data = (X, Y,
sample_weight)``, ``state`` as the caller passes it, ``block = (spans, block_Y,
block_weight)`` (the gathered rows of a block), ``work = (coefs, z, dz)`` (one batch's
loss derivatives and one row's outputs), ``lazy = (marked, active, flushed_at,
lazy_scale)`` (the lazy bookkeeping) and ``batch = (start, stop, lr)`` (block rows
``start:stop`` trained at rate ``lr``). Each array a helper unpacks from a tuple costs
an atomic reference-count increment and decrement per call (Numba keeps the element
as a reference of its own): the sweep step takes the arrays it always uses one by one
(with the state tuple it made a dense epoch at batch size 1 12% slower), and the lazy
step unpacks the L1 arrays only when there is L1.
"""

import math

import numpy as np

from ._jit import kernel
# the shared indices and codes, re-exported: callers read them as linear.I_LOSS etc.
from .codes import (
    C_MOMENT_STEPS,
    C_STEPS,
    DIVERGED,
    F_L2,
    F_LOSS_PARAM,
    I_BATCH_SIZE,
    I_LOSS,
    I_OPTIMIZER,
    N_SHARED_COUNTERS,
    N_SHARED_FLOATS,
    N_SHARED_INTS,
    OK,
)
from .data import mark_row, n_cols, prefetch_row, record_step_loss, row_axpy, row_dot
from .data import row_span
from .losses import is_softmax, loss_grad, observed, scalar_loss_grad
from .optimizers import ADAMW, H_PROX, N_STEP, S_LR, SGD, apply, begin_step
from .penalties import l1_clip, l1_prox


# integer settings (after I_LOSS, I_OPTIMIZER, I_BATCH_SIZE)
I_N_OUTPUTS = N_SHARED_INTS
I_FIT_INTERCEPT = N_SHARED_INTS + 1
I_LAZY = N_SHARED_INTS + 2  # 1: sparse input, plain SGD: update the batch's features only
I_AVERAGE_START = N_SHARED_INTS + 3  # samples seen before averaging; -1: no averaging
N_INTS = N_SHARED_INTS + 4

# float settings (after F_LOSS_PARAM, F_L2)
F_L1 = N_SHARED_FLOATS
N_FLOATS = N_SHARED_FLOATS + 1  # followed by the optimizer's (optimizers.N_HYPER)

# counters kept between calls (after C_STEPS, C_MOMENT_STEPS)
C_SEEN = N_SHARED_COUNTERS
C_L1_TOTAL = N_SHARED_COUNTERS + 1
C_N_AVERAGED = N_SHARED_COUNTERS + 2
N_COUNTERS = N_SHARED_COUNTERS + 3

# Rows to prefetch ahead of the one being used: hides the memory latency of shuffled
# access to the rows of X.
_AHEAD = 4
# Rows whose spans, targets and weights are gathered at once (rounded to batches).
_BLOCK_ROWS = 2048
# Below this, fold the shared L2 scale of lazy steps into the weights to keep precision.
_MIN_SCALE = 1e-9


@kernel
def linear_epoch(data, plan, state, ints, floats):
    """Train one epoch over the rows ``order`` of ``X`` in that order.

    Parameters
    ----------
    data : tuple
        ``(X, Y, sample_weight)``: the input matrix (2-D array or data.CSR, float32 or
        float64; parameters share its dtype), the encoded targets (float64, shape
        ``(n_samples, n_outputs)``, see ``losses``; NaN: not observed) and the row
        weights (float64).
    plan : tuple
        ``(order, rates, step_losses, row_outputs)``: the rows to visit (int64;
        consecutive runs of ``batch_size`` form the mini-batches), the learning rate
        of each mini-batch or a single rate for all (float64), a float64 array that
        receives each mini-batch's weighted mean loss (NaN for a batch without
        weight), and a float64 ``(n_rows, n_outputs)`` array that receives the raw
        outputs of each visited row with the parameters before its batch's step
        (prequential, test-then-train evaluation); each of length 0 to record nothing.
    state : tuple
        ``(params, moments, l1_applied, average_sum, counters, anchor)``, updated in
        place except ``anchor``: the anchored penalty's ``[anchor, strength]``
        (float64, shape ``(2, n_params)``; ``(2, 0)``: no such penalty).
    ints, floats : ndarray
        Packed settings, see the ``I_*`` and ``F_*`` indices.

    Returns
    -------
    loss_sum : float
        Sum of ``sample_weight * loss`` over the rows visited.
    weight_sum : float
        Sum of ``sample_weight`` over the rows visited that have an observed target.
    status : int
        ``OK``, or ``DIVERGED`` when a batch loss was not finite (training stopped
        there, before that batch's step; its entry of ``step_losses`` is the last
        one written).
    """
    X = data[0]
    order, rates, step_losses, row_outputs = plan
    params, moments, l1_applied, average_sum, counters, anchor = state
    optimizer = ints[I_OPTIMIZER]
    batch_size = ints[I_BATCH_SIZE]
    n_out = ints[I_N_OUTPUTS]
    average_start = ints[I_AVERAGE_START]
    anchored = anchor.shape[1] > 0  # moves every parameter: sweeps only
    direct = _direct_steps(ints, floats) and not anchored
    lazy_steps = _lazy_steps(ints, floats) and not anchored

    n_features = n_cols(X)
    n_weights = n_out * n_features
    n_rows = order.shape[0]

    block_rows = batch_size * max(1, _BLOCK_ROWS // batch_size)
    # spans has _AHEAD rows more: empty spans after the gathered ones (see _gather)
    block = (np.empty((block_rows + _AHEAD, 2), dtype=np.int64),
             np.empty((block_rows, n_out)), np.empty(block_rows))
    spans = block[0]
    work = (np.empty((batch_size, n_out)), np.empty(n_out), np.empty(n_out))
    grad = np.zeros(0 if direct else params.shape[0], dtype=params.dtype)
    step = np.zeros(N_STEP)
    # lazy bookkeeping: features the batch uses (marked, and listed in active), the
    # averaged scale sum at each weight's last flush, and [scale, its sum over
    # averaged steps]: the true weights are scale * params in direct and lazy steps;
    # always [1, 0] in sweeps
    lazy = (np.zeros(n_features if lazy_steps else 0, dtype=np.bool_),
            np.empty(n_features if lazy_steps else 0, dtype=np.int64),
            np.zeros(n_weights if lazy_steps and average_start >= 0 else 0),
            np.array([1.0, 0.0]))
    marked, active, _, lazy_scale = lazy
    # cumulative L1 (shrinkage applied, C_L1_TOTAL) and the anchored penalty
    penalty = (l1_applied, counters, anchor)
    coefs = work[0]
    hyper = floats[N_FLOATS:]

    loss_sum = 0.0
    weight_sum = 0.0
    status = OK
    for block_start in range(0, n_rows, block_rows):
        block_stop = min(block_start + block_rows, n_rows)
        _gather(data, order, block_start, block_stop, block)
        for start in range(0, block_stop - block_start, batch_size):
            stop = min(start + batch_size, block_stop - block_start)
            b = (block_start + start) // batch_size
            batch = (start, stop, rates[b] if rates.shape[0] > 1 else rates[0])
            n_active = 0
            if lazy_steps:
                for r in range(start, stop):
                    n_active = mark_row(X, spans[r, 0], spans[r, 1], marked, active, n_active)
                _catch_up(state, lazy, n_active, ints, floats)
            if row_outputs.shape[0] > 0:
                _record_outputs(X, spans, batch, params, lazy_scale[0], n_out,
                                row_outputs[block_start:])
            batch_loss, batch_weight = _forward(X, block, batch, params, lazy_scale[0], work,
                                                ints, floats)
            record_step_loss(step_losses, b, batch_loss, batch_weight)
            if not math.isfinite(batch_loss):
                status = DIVERGED
                break
            loss_sum += batch_loss
            weight_sum += batch_weight
            counters[C_STEPS] += 1.0
            counters[C_MOMENT_STEPS] += 1.0
            if direct:
                _direct_sgd_step(X, spans, batch, params, coefs, lazy_scale, ints, floats)
            else:
                _accumulate(X, spans, batch, coefs, grad)
                begin_step(optimizer, batch[2], counters[C_MOMENT_STEPS], hyper, step)
                if lazy_steps:
                    _lazy_sgd_step(state, grad, lazy, n_active, step, batch, ints, floats)
                else:
                    _sweep_step(params, grad, moments, step, batch, penalty, ints, floats)
            counters[C_SEEN] += stop - start
            if average_start >= 0 and counters[C_SEEN] >= average_start:
                counters[C_N_AVERAGED] += 1.0
                first = n_weights if lazy_steps else 0  # lazy weights average by flushing
                for p in range(first, params.shape[0]):
                    average_sum[p] += params[p]
                lazy_scale[1] += lazy_scale[0]
        if status != OK:
            break

    if direct or lazy_steps:
        # leave every weight as a sweep would: true values, all shrinkage applied
        _fold_scale(state, lazy, n_weights, floats[F_L1])
    return loss_sum, weight_sum, status


@kernel(inline="always")
def _direct_steps(ints, floats):
    """Plain SGD without L1, averaging or a proximal term (which ``apply`` adds):
    rows go straight into the weights."""
    return (ints[I_OPTIMIZER] == SGD and floats[F_L1] == 0.0 and ints[I_AVERAGE_START] < 0
            and floats[N_FLOATS + H_PROX] == 0.0)


@kernel(inline="always")
def _lazy_steps(ints, floats):
    """Sparse input with plain SGD (not direct): steps touch the batch's features only
    (not with a proximal term, which moves every weight)."""
    return (ints[I_LAZY] == 1 and not _direct_steps(ints, floats)
            and floats[N_FLOATS + H_PROX] == 0.0)


@kernel
def _gather(data, order, start, stop, block):
    """Look up the spans, targets and weights of the rows ``order[start:stop]`` into
    ``block = (spans, block_Y, block_weight)``.

    In shuffled order each is a cache miss; a tight loop of independent loads takes
    them many at a time, and the training loop then reads them in sequence. The
    ``_AHEAD`` spans after the gathered ones are empty (row 0 of a dense matrix, no
    entry of a CSR one), so the forward pass prefetches ahead without a bounds test.
    """
    X, Y, sample_weight = data
    spans, block_Y, block_weight = block
    for pos in range(start, stop):
        i = order[pos]
        r = pos - start
        spans[r, 0], spans[r, 1] = row_span(X, i)
        for k in range(Y.shape[1]):
            block_Y[r, k] = Y[i, k]
        block_weight[r] = sample_weight[i]
    for r in range(stop - start, stop - start + _AHEAD):
        spans[r, 0] = 0
        spans[r, 1] = 0


@kernel
def _record_outputs(X, spans, batch, params, scale, n_out, outputs):
    """``outputs[r] = W x + b`` for the block rows ``r`` of the batch: what the model
    predicts for them before it learns them."""
    start, stop, _ = batch
    n_features = n_cols(X)
    n_weights = n_out * n_features
    for r in range(start, stop):
        for k in range(n_out):
            outputs[r, k] = (scale * row_dot(X, spans[r, 0], spans[r, 1], params,
                                             k * n_features) + params[n_weights + k])


@kernel
def _forward(X, block, batch, params, scale, work, ints, floats):
    """Forward pass of one mini-batch (``batch = (start, stop, lr)``: block rows
    ``start:stop``) with the parameters before the step; the weights are ``scale *``
    the weights of ``params``.

    Row ``r - start`` of ``coefs`` (``work = (coefs, z, dz)``) receives ``sample_weight
    * d(loss)/dz`` of each output: the factor by which that row enters the gradient (0
    for an unobserved output). Returns the batch's weighted loss sum and the weight
    sum of its rows with an observed target.
    """
    spans, block_Y, block_weight = block
    start, stop, _ = batch
    coefs, z, dz = work
    loss_code = ints[I_LOSS]
    n_out = ints[I_N_OUTPUTS]
    loss_param = floats[F_LOSS_PARAM]
    n_features = n_cols(X)
    n_weights = n_out * n_features
    one_output = n_out == 1 and not is_softmax(loss_code)
    batch_loss = 0.0
    batch_weight = 0.0
    for r in range(start, stop):
        prefetch_row(X, spans[r + _AHEAD, 0], spans[r + _AHEAD, 1])
        a, b = spans[r, 0], spans[r, 1]
        weight = block_weight[r]
        if one_output:
            # scalars instead of the row buffers: a third faster on binary and
            # single-target problems, the most common ones
            y = block_Y[r, 0]
            if y == y:  # observed (not NaN)
                out = scale * row_dot(X, a, b, params, 0) + params[n_features]
                value, d_out = scalar_loss_grad(loss_code, out, y, loss_param)
                batch_loss += weight * value
                batch_weight += weight
                coefs[r - start, 0] = weight * d_out
            else:
                coefs[r - start, 0] = 0.0
        else:
            for k in range(n_out):
                z[k] = scale * row_dot(X, a, b, params, k * n_features) + params[n_weights + k]
            batch_loss += weight * loss_grad(loss_code, z, block_Y, r, dz, loss_param)
            if observed(loss_code, block_Y, r):
                batch_weight += weight
            for k in range(n_out):
                coefs[r - start, k] = weight * dz[k]
    return batch_loss, batch_weight


@kernel
def _direct_sgd_step(X, spans, batch, params, coefs, lazy_scale, ints, floats):
    """Plain SGD step: add each row's contribution straight into the weights.

    The weights are ``scale * params``; L2 decay multiplies the scale, and a row's
    update is divided by it, so the step costs one pass over the batch's rows.
    """
    start, stop, lr = batch
    n_out = ints[I_N_OUTPUTS]
    fit_intercept = ints[I_FIT_INTERCEPT] == 1
    n_features = n_cols(X)
    n_weights = n_out * n_features
    decay = 1.0 - lr * floats[F_L2]
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
def _accumulate(X, spans, batch, coefs, grad):
    """Sum the batch's gradient into ``grad`` (weights, then intercepts)."""
    start, stop, _ = batch
    n_out = coefs.shape[1]
    n_features = n_cols(X)
    n_weights = n_out * n_features
    for r in range(start, stop):
        for k in range(n_out):
            coef = coefs[r - start, k]
            if coef != 0.0:
                row_axpy(X, spans[r, 0], spans[r, 1], coef, grad, k * n_features)
                grad[n_weights + k] += coef


@kernel
def _sweep_step(params, grad, moments, step, batch, penalty, ints, floats):
    """Optimizer step on every parameter from the summed gradient ``grad``.

    ``penalty = (l1_applied, counters, anchor)``: the first two are read only with
    L1, the anchored penalty only when it is on. (The arrays every step uses are
    separate arguments: each array a helper takes out of a tuple costs it an atomic
    reference-count increment and decrement per call, a few percent of an epoch at
    small batches.)
    """
    optimizer = ints[I_OPTIMIZER]
    n_weights = params.shape[0] - ints[I_N_OUTPUTS]
    l1 = floats[F_L1]
    l2 = floats[F_L2]
    hyper = floats[N_FLOATS:]
    lr = step[S_LR]
    inv_batch = 1.0 / (batch[1] - batch[0])
    _weight_gradient(optimizer, params, grad, n_weights, inv_batch, l2, lr)
    if penalty[2].shape[1] > 0:
        _anchored_gradient(params, grad, penalty[2], inv_batch, ints)
    apply(optimizer, params, grad, moments, hyper, step, 0, n_weights)
    if l1 > 0.0 and optimizer == SGD:
        l1_applied, counters, _ = penalty
        counters[C_L1_TOTAL] += lr * l1
        for p in range(n_weights):
            l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)
    elif l1 > 0.0:
        l1_prox(optimizer, params, moments, hyper, step, l1, 0, n_weights)
    _intercept_step(params, grad, moments, hyper, step, inv_batch, ints)


@kernel
def _anchored_gradient(params, grad, anchor, inv_batch, ints):
    """Add ``strength * (params - anchor)`` (``anchor = [anchor, strength]``) to the
    gradient: the weights' (already a mean) and the intercepts' (still a sum, which
    ``_intercept_step`` divides by the batch: the term enters it multiplied back)."""
    n_weights = params.shape[0] - ints[I_N_OUTPUTS]
    for p in range(n_weights):
        grad[p] += anchor[1, p] * (params[p] - anchor[0, p])
    if ints[I_FIT_INTERCEPT] == 1:
        for p in range(n_weights, params.shape[0]):
            grad[p] += anchor[1, p] * (params[p] - anchor[0, p]) / inv_batch


@kernel(inline="always")
def _intercept_step(params, grad, moments, hyper, step, inv_batch, ints):
    """Optimizer step on the intercepts (the tail of ``params``) from the summed
    gradient; with ``fit_intercept=False`` only their gradient is cleared."""
    optimizer = ints[I_OPTIMIZER]
    n_out = ints[I_N_OUTPUTS]
    n_weights = params.shape[0] - n_out
    n_bias_end = n_weights + (n_out if ints[I_FIT_INTERCEPT] == 1 else 0)
    for p in range(n_weights, params.shape[0]):
        grad[p] *= inv_batch
    apply(optimizer, params, grad, moments, hyper, step, n_weights, n_bias_end)
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
def _catch_up(state, lazy, n_active, ints, floats):
    """Before a lazy step: flush averages and apply the L1 shrinkage weights missed,
    for the ``n_active`` features the batch uses."""
    params, _, l1_applied, average_sum, counters, _ = state
    _, active, flushed_at, lazy_scale = lazy
    n_out = ints[I_N_OUTPUTS]
    n_features = params.shape[0] // n_out - 1
    l1 = floats[F_L1]
    for a in range(n_active):
        for k in range(n_out):
            p = k * n_features + active[a]
            _flush_average(params, p, average_sum, flushed_at, lazy_scale[1])
            if l1 > 0.0:
                l1_clip(params, p, counters[C_L1_TOTAL], l1_applied)


@kernel
def _lazy_sgd_step(state, grad, lazy, n_active, step, batch, ints, floats):
    """Plain SGD step over the weights of the ``n_active`` features the batch uses
    (then the intercepts), from the summed gradient ``grad``.

    L2 decay of every weight, ``1 - lr * l2``, goes into the shared scale; L1 adds
    this step's ``lr * l1`` to the cumulative total (only ever without L2 decay: see
    the module docstring).
    """
    params = state[0]
    marked, active, _, lazy_scale = lazy
    n_out = ints[I_N_OUTPUTS]
    n_weights = params.shape[0] - n_out
    n_features = n_weights // n_out
    lr = step[S_LR]
    inv_batch = 1.0 / (batch[1] - batch[0])
    decay = 1.0 - lr * floats[F_L2]
    l1_step = lr * floats[F_L1]
    scale = lazy_scale[0] * decay
    if scale < _MIN_SCALE:
        # The shared scale would vanish (or turn negative when lr * l2 >= 1): make
        # the weights true values and decay them directly, this step only.
        _fold_scale(state, lazy, n_weights, 0.0)
        for p in range(n_weights):
            params[p] *= decay
        scale = 1.0
    lazy_scale[0] = scale
    rate = lr * inv_batch / scale
    for a in range(n_active):
        j = active[a]
        marked[j] = False
        for k in range(n_out):
            p = k * n_features + j
            params[p] -= rate * grad[p]
            grad[p] = 0.0
    if l1_step > 0.0:
        _, _, l1_applied, _, counters, _ = state
        counters[C_L1_TOTAL] += l1_step
        total = counters[C_L1_TOTAL]
        for a in range(n_active):
            for k in range(n_out):
                l1_clip(params, k * n_features + active[a], total, l1_applied)
    _intercept_step(params, grad, state[1], floats[N_FLOATS:], step, inv_batch, ints)


@kernel
def _flush_average(params, p, average_sum, flushed_at, scale_sum):
    """Add weight ``p``'s unchanged value over the averaged steps since its last flush."""
    if flushed_at.shape[0] > 0:
        average_sum[p] += params[p] * (scale_sum - flushed_at[p])
        flushed_at[p] = scale_sum


@kernel
def _fold_scale(state, lazy, n_weights, l1):
    """End lazy bookkeeping: every weight caught up, true values, scale back to 1.

    Applies all pending L1 shrinkage (``l1`` > 0), brings the averages up to date and
    multiplies the shared scale into the weights.
    """
    params, _, l1_applied, average_sum, counters, _ = state
    _, _, flushed_at, lazy_scale = lazy
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
