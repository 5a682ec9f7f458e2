"""Epoch and forward kernels for multilayer perceptrons.

Parameters are one flat vector; layer ``l`` holds its weights ``W_l`` (``n_in x n_out``,
row-major, so ``coefs_[l]`` is a reshape) followed by its biases ``b_l``. A ``layout``
array describes the layers, one row each (``L_*`` columns): where the weights and
biases start, the layer's widths, its activation and whether it is frozen.

One call trains one epoch. Per mini-batch, the rows are gathered into a dense buffer
(CSR rows are scattered into it), then every product is a BLAS matrix multiply
(``np.dot`` with an ``out`` buffer: no allocation in the batch loop):

* forward: ``Z_l = A_{l-1} W_l + b_l``, ``A_l = act_l(Z_l)`` (inverted dropout on the
  hidden layers); the last layer's ``Z`` are the raw outputs, whose loss derivative
  comes from ``losses.loss_grad`` row by row (softmax, sigmoid and log links live
  there);
* backward: ``dW_l = A_{l-1}^T dZ_l``, ``db_l`` the column sums of ``dZ_l``, and
  ``dZ_{l-1} = (dZ_l W_l^T) * act'_{l-1}``, down to the first layer that is not
  frozen;
* step: each unfrozen layer's weights get the L2 term (AdamW: decoupled decay), its
  weights and biases the anchored penalty when it is on, then ``optimizers.apply``
  moves weights and biases.

The anchored penalty (elastic weight consolidation, ``sklearn_train.continual``) adds
``strength[p] * (params[p] - anchor[p])`` to the gradient of every parameter of the
unfrozen layers; ``state[3]`` holds ``[anchor, strength]`` (float64, shape ``(2,
n_params)``), or is ``(2, 0)`` when off.

For an autoencoder (``I_RECONSTRUCT``) the targets are the batch's own clean input
rows; ``F_NOISE`` adds Gaussian noise to the input only (denoising).

A NaN target ``Y[i, k]`` leaves output ``k`` of row ``i`` unobserved: no loss and a
zero output delta (``losses`` module docstring); the gradient is still divided by the
batch's number of rows.

Helpers take the epoch's buffers in tuples: ``acts = (offsets, pre, post, mask)``
(every layer's ``Z``, ``A`` and dropout scales, ``offsets`` their starts),
``deltas = (delta, delta_below)`` (the backward pass's two alternating blocks) and
``buffers = (inputs, clean)`` (the batch's input and, for an autoencoder, its clean
copy, the targets).
"""

import math

import numpy as np

from ._jit import kernel, like
# the shared indices and codes, re-exported: callers read them as mlp.I_LOSS etc.
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
from .data import gather_rows, mix, n_cols, record_step_loss, uniform
from .losses import SOFTMAX_LOG, loss_grad, observed
from .normal import normal
from .optimizers import ADAMW, N_STEP, S_LR, apply, begin_step

# activations
IDENTITY = 0
RELU = 1
LEAKY_RELU = 2
GELU = 3
TANH = 4
LOGISTIC = 5
LEAKY_SLOPE = 0.01

# layout columns
L_WEIGHTS = 0
L_BIASES = 1
L_IN = 2
L_OUT = 3
L_ACTIVATION = 4
L_FROZEN = 5
N_LAYOUT = 6

# integer settings (after I_LOSS, I_OPTIMIZER, I_BATCH_SIZE)
I_RECONSTRUCT = N_SHARED_INTS  # 1: the targets are the inputs (autoencoder)
I_SEED = N_SHARED_INTS + 1  # dropout and input noise
N_INTS = N_SHARED_INTS + 2

# float settings (after F_LOSS_PARAM, F_L2)
F_DROPOUT = N_SHARED_FLOATS
F_NOISE = N_SHARED_FLOATS + 1
N_FLOATS = N_SHARED_FLOATS + 2  # followed by the optimizer hyper-parameters

# counters kept between calls: C_STEPS, C_MOMENT_STEPS only
N_COUNTERS = N_SHARED_COUNTERS

# Rows per block of the forward kernel (prediction, validation).
_CHUNK = 1024

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_NOISE_SALT = np.uint64(0xD1B54A32D192ED03)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@kernel
def mlp_epoch(data, plan, state, layout, ints, floats):
    """Train one epoch over the rows ``order`` of ``X`` in that order.

    Parameters
    ----------
    data : tuple
        ``(X, Y, sample_weight)``: the input (2-D array or data.CSR, float32 or
        float64; parameters and buffers share its dtype), the encoded targets
        (float64, shape ``(n_samples, n_outputs)``; NaN: not observed; ignored for an
        autoencoder) and the row weights.
    plan : tuple
        ``(order, rates, step_losses)``: the rows to visit (int64), the learning rate
        of each mini-batch or one rate for all (float64), and a float64 array that
        receives each mini-batch's weighted mean loss (NaN for a batch without
        weight), or of length 0 to record nothing.
    state : tuple
        ``(params, moments, counters, anchor)``, updated in place except ``anchor``,
        the anchored penalty's ``[anchor, strength]`` (float64, ``(2, n_params)``;
        ``(2, 0)``: off).
    layout : ndarray of int64, shape (n_layers, N_LAYOUT)
    ints, floats : ndarray
        Packed settings (``I_*``, ``F_*`` then the optimizer hyper-parameters).

    Returns
    -------
    loss_sum, weight_sum : float
        Sums of ``sample_weight * loss`` and of ``sample_weight`` over the rows seen
        (the weights of rows with an observed target).
    status : int
        ``OK``, or ``DIVERGED`` when a batch loss was not finite (stopped there).
    """
    X, _, _ = data
    order, rates, step_losses = plan
    params, moments, counters, anchor = state
    penalty = (floats[F_L2], anchor)
    batch_size = ints[I_BATCH_SIZE]
    optimizer = ints[I_OPTIMIZER]
    reconstruct = ints[I_RECONSTRUCT] == 1
    hyper = floats[N_FLOATS:]
    n_layers = layout.shape[0]
    n_features = n_cols(X)
    dtype = params.dtype  # buffers in the parameters' precision

    offsets, size = _buffer_offsets(layout, batch_size)
    buffers = (np.zeros(batch_size * n_features, dtype=dtype),
               np.zeros(batch_size * n_features if reconstruct else 0, dtype=dtype))
    acts = (offsets,
            np.empty(size, dtype=dtype),  # Z of every layer
            np.empty(size, dtype=dtype),  # A of every layer (masks applied)
            np.empty(size, dtype=dtype))  # dropout scale of every unit
    pre = acts[1]
    width = np.max(layout[:, L_OUT])
    width = max(width, n_features)
    deltas = (np.empty(batch_size * width, dtype=dtype),
              np.empty(batch_size * width, dtype=dtype))
    grad = np.zeros_like(params)
    n_out = layout[n_layers - 1, L_OUT]
    last = offsets[n_layers - 1]
    scratch = (np.empty(n_out), np.empty(n_out))  # one row's raw outputs, derivative
    step = np.zeros(N_STEP)

    loss_sum = 0.0
    weight_sum = 0.0
    status = OK
    n_rows = order.shape[0]
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        nb = stop - start
        rows = order[start:stop]
        b = start // batch_size
        lr = rates[b] if rates.shape[0] > 1 else rates[0]
        counters[C_STEPS] += 1.0
        counters[C_MOMENT_STEPS] += 1.0
        seed = _stream(ints[I_SEED], counters[C_STEPS])
        source = _gather(X, rows, buffers, ints, floats, seed)
        _forward_batch(source, params, layout, acts, floats[F_DROPOUT], seed)
        batch_loss, batch_weight = _output_delta(
            _block(pre, last, nb, n_out), _block(deltas[0], 0, nb, n_out), data, rows,
            buffers[1], scratch, ints, floats)
        record_step_loss(step_losses, b, batch_loss, batch_weight)
        if not math.isfinite(batch_loss):
            status = DIVERGED
            break
        loss_sum += batch_loss
        weight_sum += batch_weight
        _backward_batch(source, params, grad, layout, acts, deltas, floats[F_DROPOUT])
        begin_step(optimizer, lr, counters[C_MOMENT_STEPS], hyper, step)
        _step(params, grad, moments, hyper, step, layout, optimizer, penalty)
    return loss_sum, weight_sum, status


@kernel
def _buffer_offsets(layout, rows):
    """Start of each layer's ``rows x n_out`` block in the activation buffers."""
    n_layers = layout.shape[0]
    offsets = np.empty(n_layers, dtype=np.int64)
    size = 0
    for layer in range(n_layers):
        offsets[layer] = size
        size += rows * layout[layer, L_OUT]
    return offsets, size


@kernel
def _stream(seed, step):
    """A SplitMix64 state for one optimizer step: its own stream of random draws."""
    return mix(np.uint64(seed) ^ mix(np.uint64(step) * _GAMMA))


@kernel
def _gather(X, rows, buffers, ints, floats, seed):
    """Densify the rows ``rows`` of ``X`` into ``inputs`` (``buffers = (inputs,
    clean)``; a clean copy for an autoencoder, then input noise); return the batch's
    input as a ``(rows, n_features)`` array."""
    inputs, clean = buffers
    noise = floats[F_NOISE]
    n_features = n_cols(X)
    nb = rows.shape[0]
    used = nb * n_features
    # (np.int64: a literal 0 would compile another variant of gather_rows)
    source = gather_rows(X, rows, np.int64(0), nb, inputs)
    if ints[I_RECONSTRUCT] == 1:
        clean[:used] = inputs[:used]
    if noise > 0.0:
        noise_stream = mix(seed ^ _NOISE_SALT)  # not the draws dropout uses
        for p in range(0, used):
            inputs[p] += noise * normal(noise_stream, p)
    return source


@kernel
def _forward_batch(source, params, layout, acts, dropout, seed):
    """Forward pass of the rows of ``source``; fills every layer's ``Z`` (``pre``) and
    ``A`` (``post``), and the dropout scales (``mask``) when ``dropout > 0``."""
    offsets, pre, post, mask = acts
    nb = source.shape[0]
    n_layers = layout.shape[0]
    below = source
    for layer in range(n_layers):
        n_in = layout[layer, L_IN]
        n_out = layout[layer, L_OUT]
        Z = _block(pre, offsets[layer], nb, n_out)
        _affine(below, params, layout[layer, L_WEIGHTS], layout[layer, L_BIASES], n_in,
                n_out, Z)
        A = _block(post, offsets[layer], nb, n_out)
        _activate(layout[layer, L_ACTIVATION], Z, A)
        if dropout > 0.0 and layer < n_layers - 1:
            M = _block(mask, offsets[layer], nb, n_out)
            keep = 1.0 / (1.0 - dropout)
            base = offsets[layer]
            for r in range(nb):
                for k in range(n_out):
                    drop = uniform(seed, base + r * n_out + k) < dropout
                    M[r, k] = 0.0 if drop else keep
                    A[r, k] *= M[r, k]
        below = A


@kernel
def _block(buffer, offset, rows, columns):
    return buffer[offset:offset + rows * columns].reshape(rows, columns)


@kernel
def _affine(below, params, weights, biases, n_in, n_out, Z):
    """``Z = below @ W + b`` for the layer whose parameters start at ``weights``."""
    W = params[weights:weights + n_in * n_out].reshape(n_in, n_out)
    b = params[biases:biases + n_out]  # a view: indices from 0 vectorise
    np.dot(below, W, Z)
    for r in range(Z.shape[0]):
        for k in range(n_out):
            Z[r, k] += b[k]


@kernel
def _activate(code, Z, A):
    """``A = act(Z)``; one loop per activation, chosen outside it (so it vectorises)."""
    z = Z.ravel()  # both C-contiguous blocks of the same shape
    a = A.ravel()
    zero = like(z, 0.0)
    slope = like(z, LEAKY_SLOPE)
    if code == RELU:
        for p in range(z.shape[0]):
            a[p] = max(z[p], zero)
    elif code == LEAKY_RELU:
        for p in range(z.shape[0]):
            a[p] = z[p] if z[p] > zero else slope * z[p]
    elif code == GELU:
        for p in range(z.shape[0]):
            a[p] = 0.5 * z[p] * (1.0 + math.erf(z[p] * _INV_SQRT2))
    elif code == TANH:
        for p in range(z.shape[0]):
            a[p] = math.tanh(z[p])
    elif code == LOGISTIC:
        for p in range(z.shape[0]):
            a[p] = 1.0 / (1.0 + math.exp(-z[p]))
    else:
        a[:] = z


@kernel
def _activation_slope(code, Z, D):
    """Multiply ``D`` by the derivative of the activation at ``Z``."""
    z = Z.ravel()
    d = D.ravel()
    zero = like(z, 0.0)
    slope = like(z, LEAKY_SLOPE)
    # selects, not branches: half the units are off, an unpredictable branch each
    if code == RELU:
        for p in range(z.shape[0]):
            d[p] = d[p] if z[p] > zero else zero
    elif code == LEAKY_RELU:
        for p in range(z.shape[0]):
            d[p] = d[p] if z[p] > zero else slope * d[p]
    elif code == GELU:
        for p in range(z.shape[0]):
            v = z[p]
            d[p] *= (0.5 * (1.0 + math.erf(v * _INV_SQRT2))
                     + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v))
    elif code == TANH:
        for p in range(z.shape[0]):
            t = math.tanh(z[p])
            d[p] *= 1.0 - t * t
    elif code == LOGISTIC:
        for p in range(z.shape[0]):
            sigma = 1.0 / (1.0 + math.exp(-z[p]))
            d[p] *= sigma * (1.0 - sigma)


@kernel
def _output_delta(Z, D, data, rows, clean, scratch, ints, floats):
    """Loss of the batch's raw outputs ``Z``; ``D`` receives ``w * dloss/dz / nb``.

    ``rows`` are the batch's rows of ``data = (X, Y, sample_weight)``; an
    autoencoder's targets are the ``clean`` input rows instead. ``scratch = (z, dz)``
    holds one row's outputs and derivative. Returns the batch's weighted loss and the
    weight of its rows with an observed target.
    """
    _, Y, sample_weight = data
    z, dz = scratch
    loss_code = ints[I_LOSS]
    loss_param = floats[F_LOSS_PARAM]
    reconstruct = ints[I_RECONSTRUCT] == 1
    nb, n_out = Z.shape
    if loss_code == SOFTMAX_LOG and not reconstruct:  # this one code, not its family
        return _softmax_delta(Z, D, data, rows)
    inputs = _block(clean, 0, nb if reconstruct else 0, n_out)
    batch_loss = 0.0
    batch_weight = 0.0
    for r in range(nb):
        i = rows[r]
        weight = sample_weight[i]
        for k in range(n_out):
            z[k] = Z[r, k]
        if reconstruct:  # the targets are the batch's clean input rows
            value = loss_grad(loss_code, z, inputs, r, dz, loss_param)
            seen = observed(loss_code, inputs, r)
        else:
            value = loss_grad(loss_code, z, Y, i, dz, loss_param)
            seen = observed(loss_code, Y, i)
        batch_loss += weight * value
        if seen:
            batch_weight += weight
        for k in range(n_out):
            D[r, k] = weight * dz[k] / nb
    return batch_loss, batch_weight


@kernel
def _softmax_delta(Z, D, data, rows):
    """``_output_delta`` for the multinomial log loss, the usual classifier: the same
    arithmetic as ``losses.loss_grad`` on the whole block, without a call and two
    copies per row (a fifth of an epoch at batch size 200)."""
    _, Y, sample_weight = data
    nb, n_out = Z.shape
    batch_loss = 0.0
    batch_weight = 0.0
    for r in range(nb):
        i = rows[r]
        if not observed(SOFTMAX_LOG, Y, i):  # a NaN in the row: not observed
            for k in range(n_out):
                D[r, k] = 0.0
            continue
        weight = sample_weight[i]
        z_max = Z[r, 0]
        for k in range(1, n_out):
            z_max = max(z_max, Z[r, k])
        total = 0.0
        for k in range(n_out):
            e = math.exp(Z[r, k] - z_max)
            D[r, k] = e
            total += e
        log_total = math.log(total) + z_max
        loss = 0.0
        scale = weight / (total * nb)
        for k in range(n_out):
            loss += Y[i, k] * (log_total - Z[r, k])
            D[r, k] = D[r, k] * scale - weight * Y[i, k] / nb
        batch_loss += weight * loss
        batch_weight += weight
    return batch_loss, batch_weight


@kernel
def _backward_batch(source, params, grad, layout, acts, deltas, dropout):
    """Gradients of the unfrozen layers from the output delta (``deltas[0]``,
    consumed; ``deltas[1]`` is the other block of the alternation)."""
    offsets, pre, post, mask = acts
    nb = source.shape[0]
    n_layers = layout.shape[0]
    lowest = n_layers  # lowest layer that trains: no gradient is needed below it
    for layer in range(n_layers):
        if layout[layer, L_FROZEN] == 0:
            lowest = min(lowest, layer)
    upper, lower = deltas
    for layer in range(n_layers - 1, lowest - 1, -1):
        n_in = layout[layer, L_IN]
        n_out = layout[layer, L_OUT]
        D = _block(upper, 0, nb, n_out)
        below = source if layer == 0 else _block(post, offsets[layer - 1], nb, n_in)
        weights = layout[layer, L_WEIGHTS]
        W = params[weights:weights + n_in * n_out].reshape(n_in, n_out)
        if layout[layer, L_FROZEN] == 0:
            G = grad[weights:weights + n_in * n_out].reshape(n_in, n_out)
            np.dot(below.T, D, G)
            biases = layout[layer, L_BIASES]
            g = grad[biases:biases + n_out]
            g[:] = 0.0
            for r in range(nb):
                for k in range(n_out):
                    g[k] += D[r, k]
        if layer > lowest:
            D_below = _block(lower, 0, nb, n_in)
            np.dot(D, W.T, D_below)
            _activation_slope(layout[layer - 1, L_ACTIVATION],
                              _block(pre, offsets[layer - 1], nb, n_in), D_below)
            if dropout > 0.0:  # layer - 1 is a hidden layer: it had dropout
                M = _block(mask, offsets[layer - 1], nb, n_in)
                for r in range(nb):
                    for k in range(n_in):
                        D_below[r, k] *= M[r, k]
            upper, lower = lower, upper


@kernel
def _step(params, grad, moments, hyper, step, layout, optimizer, penalty):
    """One optimizer step on every unfrozen layer; ``penalty = (l2, anchor)``: L2 on
    the weights only, the anchored penalty (when on) on weights and biases."""
    l2, anchor = penalty
    anchored = anchor.shape[1] > 0
    lr = step[S_LR]
    for layer in range(layout.shape[0]):
        if layout[layer, L_FROZEN] != 0:
            continue
        weights = layout[layer, L_WEIGHTS]
        biases = layout[layer, L_BIASES]
        end = biases + layout[layer, L_OUT]
        if l2 > 0.0:
            w = params[weights:biases]
            if optimizer == ADAMW:
                w *= 1.0 - lr * l2
            else:
                g = grad[weights:biases]
                for p in range(w.shape[0]):
                    g[p] += l2 * w[p]
        if anchored:
            for p in range(weights, end):
                grad[p] += anchor[1, p] * (params[p] - anchor[0, p])
        apply(optimizer, params, grad, moments, hyper, step, weights, end)


@kernel
def mlp_forward(X, params, layout, first, last, out):
    """Outputs of layers ``first..last`` for the rows of ``X`` into ``out``.

    ``X`` is the input of layer ``first``; ``out`` (``n_samples x n_out`` of layer
    ``last``) receives that layer's activations (raw outputs for the output layer).
    Rows go through in blocks, so memory stays ``_CHUNK x width``.
    """
    n_rows = out.shape[0]
    n_features = n_cols(X)
    sub = layout[first:last + 1]
    offsets, size = _buffer_offsets(sub, _CHUNK)
    inputs = np.zeros(_CHUNK * n_features, dtype=params.dtype)
    pre = np.empty(size, dtype=params.dtype)
    post = np.empty(size, dtype=params.dtype)
    n_out = sub[sub.shape[0] - 1, L_OUT]
    order = np.arange(n_rows)
    for start in range(0, n_rows, _CHUNK):
        stop = min(start + _CHUNK, n_rows)
        nb = stop - start
        source = gather_rows(X, order, start, stop, inputs)
        # no dropout: the mask buffer is never touched (pre stands in for it)
        _forward_batch(source, params, sub, (offsets, pre, post, pre), 0.0, np.uint64(0))
        A = _block(post, offsets[sub.shape[0] - 1], nb, n_out)
        for r in range(nb):
            for k in range(n_out):
                out[start + r, k] = A[r, k]
