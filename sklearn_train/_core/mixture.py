"""Gaussian mixture kernels: stepwise (online) EM over mini-batches.

The model keeps running averages of the sufficient statistics of each component
``c``: its share of the weight ``n_c``, the weighted sum of rows ``x_c`` and of their
squares ``xx_c`` (outer products for full covariances, squares per feature for
diagonal ones, squared norms for spherical ones), each per unit of data weight. A
mini-batch computes the responsibilities under the current parameters (E-step),
its own statistics ``s_batch``, and moves ``s <- (1 - eta) s + eta s_batch``; the
parameters are then the M-step of ``s``. With ``eta_t = (t + 1) ** -kappa``,
``0.5 < kappa <= 1``, this is stochastic approximation EM (Sato; Cappe & Moulines
2009), which converges to a stationary point of the likelihood; a floor on ``eta``
(the forgetting factor) keeps a window of recent batches instead, for data whose
distribution drifts.

Parameters are float64 whatever the input's dtype (batches are converted as they
are gathered): covariances formed as ``E[xx] - mu mu^T`` lose too many digits in
float32. Covariance-shaped arrays are flat, ``n_components`` blocks of ``d * d``
(full), ``d`` (diagonal) or 1 (spherical) values, so one compiled variant serves
every covariance type.

Rows enter every kernel minus an ``origin`` (the mean of the rows the model was
initialised on), and means are stored relative to it: ``E[xx] - mu mu^T`` cancels
catastrophically for data far from 0 (an offset of 1e7 on unit-variance data left
covariances indefinite).

Every covariance gets ``reg_covar`` added to its diagonal, and the Cholesky
factorisation raises any pivot below ``reg_covar`` to it: covariances stay positive
definite with eigenvalues of at least about ``reg_covar``.
"""

import math

import numpy as np

from ._jit import kernel
from .codes import DIVERGED, OK  # re-exported: callers read mixture.OK
from .data import gather_rows, record_step_loss

FULL = 0
DIAG = 1
SPHERICAL = 2

# integer settings
I_BATCH_SIZE = 0
I_COVARIANCE = 1
N_INTS = 2

# float settings
F_REG_COVAR = 0
F_MIN_STEP = 1  # 1 - forgetting factor
N_FLOATS = 2

# Rows per block when scoring.
_BLOCK = 1024
_LOG_2PI = math.log(2.0 * math.pi)
# Log-probability gap below the best component from which a responsibility is 0.
_FAR = -30.0
# A component whose share of the weight falls below this keeps its last mean and
# covariance (its statistics no longer define them).
_MIN_SHARE = 1e-12


@kernel
def block_size(code, d):
    """Values per component of a covariance-shaped array."""
    if code == FULL:
        return d * d
    if code == DIAG:
        return d
    return 1


@kernel
def log_prob_block(rows, params, code, out, scratch):
    """``out[r, c] = log weight_c + log N(rows[r] | mean_c, cov_c)``.

    ``params = (weights, means, covariances, precision_cholesky, log_det)``, where
    ``log_det[c]`` is the log-determinant of the precision's Cholesky factor
    (``-log|cov_c| / 2``) and, for full covariances, ``precision_cholesky[c]`` is the
    upper-triangular ``P`` with ``cov^-1 = P P^T``.
    """
    weights, means, _, chol, log_det = params
    nb, d = rows.shape
    k = weights.shape[0]
    size = block_size(code, d)
    if code == FULL:
        # every component's (x - mean) P from one product with the P side by side:
        # one wide BLAS call instead of k narrow ones
        stacked = scratch[:d * k * d].reshape(d, k * d)
        projected = scratch[d * k * d:d * k * d + nb * k * d].reshape(nb, k * d)
        shifts = np.zeros(k * d)  # mean_c @ P_c
        for c in range(k):
            P = chol[c * size:(c + 1) * size].reshape(d, d)
            for i in range(d):
                m = means[c, i]
                for j in range(d):
                    stacked[i, c * d + j] = P[i, j]
                    shifts[c * d + j] += m * P[i, j]
        np.dot(rows, stacked, projected)
    for c in range(k):
        base = math.log(max(weights[c], 1e-300)) + log_det[c] - 0.5 * d * _LOG_2PI
        if code == FULL:
            shift = shifts[c * d:(c + 1) * d]
            for r in range(nb):
                y = projected[r, c * d:(c + 1) * d]
                total = 0.0
                for j in range(d):
                    v = y[j] - shift[j]
                    total += v * v
                out[r, c] = base - 0.5 * total
        elif code == DIAG:
            # zero-based views: loops indexed from an offset keep a negative-index
            # check per element and do not vectorise
            mean = means[c]
            precision = chol[c * d:(c + 1) * d]
            for r in range(nb):
                row = rows[r]
                total = 0.0
                for j in range(d):
                    v = (row[j] - mean[j]) * precision[j]
                    total += v * v
                out[r, c] = base - 0.5 * total
        else:
            mean = means[c]
            p2 = chol[c] * chol[c]
            for r in range(nb):
                row = rows[r]
                total = 0.0
                for j in range(d):
                    v = row[j] - mean[j]
                    total += v * v
                out[r, c] = base - 0.5 * p2 * total


@kernel
def _scratch_size(rows, k, d):
    """Scratch values for ``log_prob_block`` and ``_batch_statistics`` on ``rows``."""
    return max(d * k * d + rows * k * d, 2 * rows * d)


@kernel
def _normalise(log_prob, nb):
    """Turn the first ``nb`` rows of ``log_prob`` into responsibilities in place;
    return each row's log-likelihood (log-sum-exp) in a new array."""
    k = log_prob.shape[1]
    log_norm = np.empty(nb)
    for r in range(nb):
        top = log_prob[r, 0]
        for c in range(1, k):
            top = max(top, log_prob[r, c])
        total = 0.0
        for c in range(k):
            gap = log_prob[r, c] - top
            # a component this far below the best gets a responsibility of 0 (under
            # 1e-13): far components skip the exponential, which is most of them
            # when the components are well apart
            if gap > _FAR:
                e = math.exp(gap)
                log_prob[r, c] = e
                total += e
            else:
                log_prob[r, c] = 0.0
        log_norm[r] = top + math.log(total)
        scale = 1.0 / total
        for c in range(k):
            log_prob[r, c] *= scale
    return log_norm


@kernel
def _batch_statistics(rows, resp, row_weight, code, stats, scratch, outer):
    """Responsibility-weighted statistics of a batch (``stats`` overwritten, per
    unit of the batch's weight)."""
    s_n, s_x, s_xx = stats
    nb, d = rows.shape
    k = s_n.shape[0]
    size = block_size(code, d)
    s_n[:] = 0.0
    s_x[:] = 0.0
    s_xx[:] = 0.0
    total = 0.0
    for r in range(nb):
        total += row_weight[r]
    if total <= 0.0:
        return 0.0
    inv_total = 1.0 / total
    # rows with a responsibility for the component, compacted (and scaled by it)
    scaled = scratch[:nb * d].reshape(nb, d)
    kept = scratch[nb * d:2 * nb * d].reshape(nb, d)
    for c in range(k):
        sums = s_x[c]
        squares = s_xx[c * size:(c + 1) * size]
        m = 0
        for r in range(nb):
            if resp[r, c] == 0.0:  # a far component (see _normalise)
                continue
            g = row_weight[r] * resp[r, c] * inv_total
            s_n[c] += g
            row = rows[r]
            out = scaled[m]
            for j in range(d):
                v = g * row[j]
                out[j] = v
                sums[j] += v
            if code == FULL:
                kept[m, :] = row
            elif code == DIAG:
                for j in range(d):
                    squares[j] += out[j] * row[j]
            else:
                for j in range(d):
                    squares[0] += out[j] * row[j]
            m += 1
        if code == FULL:
            if m > 0:
                np.dot(scaled[:m].T, kept[:m], outer)
                squares[:] = outer.ravel()
    return total


@kernel
def m_step(stats, params, code, reg_covar):
    """Parameters from the statistics (components without weight keep theirs).

    Returns the number of Cholesky pivots that had to be raised to ``reg_covar``.
    """
    s_n, s_x, s_xx = stats
    weights, means, cov, chol, log_det = params
    k, d = means.shape
    size = block_size(code, d)
    total = 0.0
    for c in range(k):
        total += s_n[c]
    floored = 0
    L = np.empty((d, d))
    for c in range(k):
        weights[c] = s_n[c] / total if total > 0.0 else 1.0 / k
        if s_n[c] <= _MIN_SHARE * total:
            continue
        inv_n = 1.0 / s_n[c]
        for j in range(d):
            means[c, j] = s_x[c, j] * inv_n
        if code == FULL:
            C = cov[c * size:(c + 1) * size].reshape(d, d)
            for i in range(d):
                for j in range(d):
                    C[i, j] = s_xx[c * size + i * d + j] * inv_n - means[c, i] * means[c, j]
                C[i, i] += reg_covar
            raised = _cholesky(C, reg_covar, L)
            if raised > 0:  # the covariance the factor stands for: L L^T
                np.dot(L, L.T, C)
            floored += raised
            P = chol[c * size:(c + 1) * size].reshape(d, d)
            log_det[c] = _inverse_transpose(L, P)
        elif code == DIAG:
            log_det[c] = 0.0
            for j in range(d):
                var = s_xx[c * d + j] * inv_n - means[c, j] * means[c, j] + reg_covar
                var = max(var, reg_covar)
                cov[c * d + j] = var
                chol[c * d + j] = 1.0 / math.sqrt(var)
                log_det[c] -= 0.5 * math.log(var)
        else:
            norm = 0.0
            for j in range(d):
                norm += means[c, j] * means[c, j]
            var = max((s_xx[c] * inv_n - norm) / d + reg_covar, reg_covar)
            cov[c] = var
            chol[c] = 1.0 / math.sqrt(var)
            log_det[c] = -0.5 * d * math.log(var)
    return floored


@kernel
def _cholesky(A, floor, L):
    """Lower Cholesky factor of the symmetric ``A`` into ``L``; pivots below ``floor``
    (rounding, or a matrix that is not positive definite) are raised to it.
    Returns the number of raised pivots."""
    d = A.shape[0]
    raised = 0
    L[:, :] = 0.0
    for j in range(d):
        s = A[j, j]
        for p in range(j):
            s -= L[j, p] * L[j, p]
        if not s >= floor:  # also catches NaN
            s = floor
            raised += 1
        L[j, j] = math.sqrt(s)
        for i in range(j + 1, d):
            t = A[i, j]
            for p in range(j):
                t -= L[i, p] * L[j, p]
            L[i, j] = t / L[j, j]
    return raised


@kernel
def _inverse_transpose(L, P):
    """``P = L^-T`` (upper triangular) for lower-triangular ``L``; returns
    ``log det P = -sum log L_jj``."""
    d = L.shape[0]
    P[:, :] = 0.0
    log_det = 0.0
    for j in range(d):
        log_det -= math.log(L[j, j])
    # columns of L^-1 by forward substitution: L z = e_col; P[col, :] = z^T
    for col in range(d):
        for i in range(col, d):
            t = 1.0 if i == col else 0.0
            for p in range(col, i):
                t -= L[i, p] * P[col, p]
            P[col, i] = t / L[i, i]
    return log_det


@kernel
def _centred_rows(X, origin, order, start, stop, buffer):
    """Rows ``order[start:stop]`` minus ``origin``, as float64 (see gather_rows)."""
    rows = gather_rows(X, order, start, stop, buffer)
    for r in range(rows.shape[0]):
        row = rows[r]
        for j in range(row.shape[0]):
            row[j] -= origin[j]
    return rows


@kernel
def gmm_epoch(data, plan, params, stats, counters, ints, floats):
    """One epoch of stepwise EM over the rows ``order`` of ``X``.

    Parameters
    ----------
    data : tuple
        ``(X, origin, sample_weight)``: the input (2-D array, float32 or float64),
        the point subtracted from every row (the means are relative to it) and the
        row weights.
    plan : tuple
        ``(order, rates, step_losses)``: the rows to visit (int64), the step size of
        each mini-batch (or one for all) before the floor, and a float64 array that
        receives each mini-batch's weighted mean negative log-likelihood (NaN for a
        batch without weight), or of length 0 to record nothing.
    params : tuple
        ``(weights, means, covariances, precision_cholesky, log_det)``, updated.
    stats : tuple
        ``(n, x, xx)`` running statistics, updated.
    counters : ndarray
        ``[steps taken, pivots raised to the floor]``, updated.
    ints, floats : ndarray
        ``I_*`` and ``F_*`` settings.

    Returns
    -------
    loss_sum, weight_sum : float
        Sums of ``-weight * log p(x)`` (under the parameters of the moment) and of
        the weights over the epoch's rows.
    status : int
        ``OK``, or ``DIVERGED`` when a log-likelihood was not finite.
    """
    X, origin, sample_weight = data
    order, rates, step_losses = plan
    weights, means, _, _, _ = params
    k, d = means.shape
    batch_size = ints[I_BATCH_SIZE]
    code = ints[I_COVARIANCE]
    reg_covar = floats[F_REG_COVAR]
    min_step = floats[F_MIN_STEP]
    buffer = np.zeros(batch_size * d)
    scratch = np.empty(_scratch_size(batch_size, k, d))
    log_prob = np.empty(batch_size * k)
    row_weight = np.empty(batch_size)
    outer = np.empty((d, d) if code == FULL else (0, 0))
    size = block_size(code, d)
    batch = (np.zeros(k), np.zeros((k, d)), np.zeros(k * size))
    s_n, s_x, s_xx = stats
    b_n, b_x, b_xx = batch
    loss_sum = 0.0
    weight_sum = 0.0
    n_rows = order.shape[0]
    for start in range(0, n_rows, batch_size):
        stop = min(start + batch_size, n_rows)
        nb = stop - start
        rows = _centred_rows(X, origin, order, start, stop, buffer)
        block = log_prob[:nb * k].reshape(nb, k)
        log_prob_block(rows, params, code, block, scratch)
        log_norm = _normalise(block, nb)
        batch_loss = 0.0
        batch_weight = 0.0
        for r in range(nb):
            row_weight[r] = sample_weight[order[start + r]]
            batch_loss -= row_weight[r] * log_norm[r]
            batch_weight += row_weight[r]
        weight_sum += batch_weight
        record_step_loss(step_losses, start // batch_size, batch_loss, batch_weight)
        if not math.isfinite(batch_loss):
            return loss_sum, weight_sum, DIVERGED
        loss_sum += batch_loss
        counters[0] += 1.0  # a step, so the rates stay aligned with the step count
        if _batch_statistics(rows, block, row_weight, code, batch, scratch,
                             outer) <= 0.0:
            continue  # a batch without weight teaches nothing
        rate = rates[start // batch_size] if rates.shape[0] > 1 else rates[0]
        eta = min(max(rate, min_step), 1.0)
        keep = 1.0 - eta
        for c in range(k):
            s_n[c] = keep * s_n[c] + eta * b_n[c]
            for j in range(d):
                s_x[c, j] = keep * s_x[c, j] + eta * b_x[c, j]
        for p in range(s_xx.shape[0]):
            s_xx[p] = keep * s_xx[p] + eta * b_xx[p]
        counters[1] += m_step(stats, params, code, reg_covar)
    return loss_sum, weight_sum, OK


@kernel
def weighted_log_prob(X, origin, params, code, out):
    """``out[i, c] = log weight_c + log N(X[i] - origin | c)`` for every row of ``X``."""
    n = out.shape[0]
    k, d = params[1].shape
    order = np.arange(n)
    buffer = np.zeros(_BLOCK * d)
    scratch = np.empty(_scratch_size(_BLOCK, k, d))
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        rows = _centred_rows(X, origin, order, start, stop, buffer)
        log_prob_block(rows, params, code, out[start:stop], scratch)


@kernel
def statistics(X, origin, sample_weight, resp, code, stats):
    """Statistics of all rows of ``X`` (minus ``origin``) under fixed
    responsibilities ``resp`` (initialisation from a hard assignment)."""
    n = X.shape[0]
    d = X.shape[1]
    rows = np.empty((n, d))
    for i in range(n):
        for j in range(d):
            rows[i, j] = X[i, j] - origin[j]
    scratch = np.empty(2 * n * d)
    outer = np.empty((d, d) if code == FULL else (0, 0))
    return _batch_statistics(rows, resp, sample_weight, code, stats, scratch, outer)
