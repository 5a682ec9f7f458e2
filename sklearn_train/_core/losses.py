"""Per-sample losses: value and derivative with respect to the raw prediction.

Every loss is selected by a small integer code so that one compiled kernel serves
all of them (passing functions to Numba kernels would defeat the on-disk cache).

``loss_grad(code, z, Y, i, dz, param)`` takes one sample's raw outputs ``z`` (length K)
and its encoded target, row ``i`` of ``Y`` (row index rather than a row view: views
cost reference counting in the hot loop), writes d(loss)/dz into ``dz`` and returns
the loss value. Target encodings:

* margin losses (hinge ... binary focal): ``y`` in {-1, +1}, one column per
  one-vs-rest output;
* softmax losses: ``y`` is a one-hot (or any probability) row over the K classes;
* regression losses: ``y`` is the real target, one column per output. Poisson,
  Gamma and Tweedie use a log link: ``z`` is the log of the predicted mean.

The single float ``param`` is the loss's own parameter: focal ``gamma``, Huber and
epsilon-insensitive ``epsilon``, the ``quantile`` level, or the Tweedie ``power``.

Every code belongs to exactly one family, ``MARGIN_LOSSES``, ``SOFTMAX_LOSSES`` or
``REGRESSION_LOSSES`` (``LOG_LINK_LOSSES`` is a part of the last), and kernels
dispatch on membership (``is_margin``, ``is_softmax``), never on the numeric order of
the codes. Numba folds ``code in (constant tuple)`` into comparisons of constants.

A NaN target means "not observed": ``Y[i, k] = NaN`` gives output ``k`` of row ``i``
no loss and a zero derivative. For the softmax losses the row is one distribution, so
a NaN anywhere in it leaves the whole row unobserved. ``observed(code, Y, i)`` says
whether a row counts at all: a row without an observed output adds nothing to the
weight a mean loss divides by.
"""

import math

import numpy as np

from ._jit import kernel

HINGE = 0
SQUARED_HINGE = 1
MODIFIED_HUBER = 2
PERCEPTRON = 3
LOG = 4  # binary logistic on a single margin
FOCAL = 5  # binary focal on a single margin
SOFTMAX_LOG = 6
SOFTMAX_FOCAL = 7
SQUARED = 8
HUBER = 9
EPSILON_INSENSITIVE = 10
SQUARED_EPSILON_INSENSITIVE = 11
QUANTILE = 12
POISSON = 13
GAMMA = 14
TWEEDIE = 15

MARGIN_LOSSES = (HINGE, SQUARED_HINGE, MODIFIED_HUBER, PERCEPTRON, LOG, FOCAL)
SOFTMAX_LOSSES = (SOFTMAX_LOG, SOFTMAX_FOCAL)
REGRESSION_LOSSES = (SQUARED, HUBER, EPSILON_INSENSITIVE, SQUARED_EPSILON_INSENSITIVE,
                     QUANTILE, POISSON, GAMMA, TWEEDIE)
LOG_LINK_LOSSES = (POISSON, GAMMA, TWEEDIE)  # regression losses with z = log(mean)


@kernel(inline="always")
def is_margin(code):
    """Whether ``code`` is a margin loss (targets in {-1, +1})."""
    return code in MARGIN_LOSSES


@kernel(inline="always")
def is_softmax(code):
    """Whether ``code`` is a softmax loss (one distribution over the outputs)."""
    return code in SOFTMAX_LOSSES


@kernel(inline="always")
def is_regression(code):
    """Whether ``code`` is a regression loss (real targets)."""
    return code in REGRESSION_LOSSES


@kernel(inline="always")
def observed(code, Y, i):
    """Whether row ``i`` of ``Y`` has an observed target (see the module docstring)."""
    if is_softmax(code):
        for k in range(Y.shape[1]):
            if Y[i, k] != Y[i, k]:
                return False
        return True
    for k in range(Y.shape[1]):
        if Y[i, k] == Y[i, k]:
            return True
    return False


@kernel
def _margin(code, m, gamma):
    """Loss and d(loss)/dm for a margin m = y * z with y in {-1, +1}."""
    if code == HINGE:
        if m < 1.0:
            return 1.0 - m, -1.0
        return 0.0, 0.0
    if code == PERCEPTRON:
        # m == 0 counts as a mistake so that training can start from zero weights.
        if m <= 0.0:
            return -m, -1.0
        return 0.0, 0.0
    if code == SQUARED_HINGE:
        if m < 1.0:
            return (1.0 - m) ** 2, -2.0 * (1.0 - m)
        return 0.0, 0.0
    if code == MODIFIED_HUBER:
        if m >= 1.0:
            return 0.0, 0.0
        if m >= -1.0:
            return (1.0 - m) ** 2, -2.0 * (1.0 - m)
        return -4.0 * m, -4.0
    # LOG and FOCAL share one exponential: e = exp(-|m|) gives both sigmoids and
    # log(1 + exp(-m)) without overflow.
    e = math.exp(-abs(m))
    neg_log_p = math.log1p(e) + max(-m, 0.0)  # -log(sigmoid(m))
    if m > 0.0:
        p, q = 1.0 / (1.0 + e), e / (1.0 + e)  # q = 1 - p, accurate when p is near 1
    else:
        p, q = e / (1.0 + e), 1.0 / (1.0 + e)
    if code == LOG:
        return neg_log_p, -q
    # FOCAL: -(1 - p)^gamma * log(p) with p = sigmoid(m)
    q_gamma = q**gamma
    return q_gamma * neg_log_p, -q_gamma * (gamma * p * neg_log_p + q)


@kernel
def _softmax(code, z, Y, i, dz, gamma):
    """Multinomial log loss or focal loss; fills dz, returns the loss."""
    n_classes = z.shape[0]
    z_max = z[0]
    for k in range(1, n_classes):
        z_max = max(z_max, z[k])
    total = 0.0
    for k in range(n_classes):
        dz[k] = math.exp(z[k] - z_max)
        total += dz[k]
    log_total = math.log(total) + z_max
    for k in range(n_classes):
        dz[k] /= total  # dz holds the probabilities now
    if code == SOFTMAX_LOG:
        loss = 0.0
        for k in range(n_classes):
            loss += Y[i, k] * (log_total - z[k])
            dz[k] -= Y[i, k]
        return loss
    # SOFTMAX_FOCAL: the true class is the one with the largest target weight.
    c = 0
    for k in range(1, n_classes):
        if Y[i, k] > Y[i, c]:
            c = k
    log_pc = z[c] - log_total
    p_c = dz[c]
    one_minus = 0.0  # 1 - p_c as a sum of the other probabilities: no cancellation
    for k in range(n_classes):
        if k != c:
            one_minus += dz[k]
    q_gamma = one_minus**gamma
    # d(loss)/dz_k = coef * (delta_ck - p_k)
    if one_minus > 0.0:
        coef = gamma * q_gamma * p_c * log_pc / one_minus - q_gamma
    else:
        coef = -q_gamma
    for k in range(n_classes):
        delta = 1.0 if k == c else 0.0
        dz[k] = coef * (delta - dz[k])
    return -q_gamma * log_pc


@kernel
def _regression(code, z, y, param):
    """Loss and d(loss)/dz for one output of a regression loss."""
    if code == SQUARED:
        r = z - y
        return 0.5 * r * r, r
    if code == HUBER:
        r = z - y
        if abs(r) <= param:
            return 0.5 * r * r, r
        s = 1.0 if r > 0.0 else -1.0
        return param * abs(r) - 0.5 * param * param, param * s
    if code == EPSILON_INSENSITIVE or code == SQUARED_EPSILON_INSENSITIVE:
        r = z - y
        excess = abs(r) - param
        if excess <= 0.0:
            return 0.0, 0.0
        s = 1.0 if r > 0.0 else -1.0
        if code == EPSILON_INSENSITIVE:
            return excess, s
        return excess * excess, 2.0 * excess * s
    if code == QUANTILE:
        r = y - z
        if r > 0.0:
            return param * r, -param
        return (param - 1.0) * r, 1.0 - param
    # Log-link losses: half deviances, zero at a perfect prediction.
    if code == POISSON or (code == TWEEDIE and param == 1.0):
        return _poisson(z, y)
    if code == GAMMA or (code == TWEEDIE and param == 2.0):
        return _gamma(z, y)
    return _tweedie(z, y, param)


@kernel
def _poisson(z, y):
    mu = math.exp(z)
    const = y * math.log(y) - y if y > 0.0 else 0.0
    return mu - y * z + const, mu - y


@kernel
def _gamma(z, y):
    ratio = y * math.exp(-z)
    return ratio + z - math.log(y) - 1.0, 1.0 - ratio


@kernel
def _tweedie(z, y, p):
    """Tweedie half deviance for a power p other than 1 and 2."""
    a = math.exp(z * (1.0 - p))
    b = math.exp(z * (2.0 - p))
    loss = -y * a / (1.0 - p) + b / (2.0 - p)
    if y > 0.0:
        # the constant that makes the loss zero at mu = y
        loss += y ** (2.0 - p) / ((1.0 - p) * (2.0 - p))
    return loss, -y * a + b


@kernel
def scalar_loss_grad(code, z, y, param):
    """Loss and d(loss)/dz of one output of a margin or regression loss (an observed
    target: a NaN ``y`` gives NaN)."""
    if is_margin(code):
        value, d_margin = _margin(code, y * z, param)
        return value, d_margin * y
    return _regression(code, z, y, param)


@kernel
def loss_grad(code, z, Y, i, dz, param):
    """Loss of sample ``i``; writes d(loss)/dz into ``dz`` (see the module docstring).

    Unobserved (NaN) targets give no loss and a zero derivative.
    """
    if is_softmax(code):
        if not observed(code, Y, i):
            dz[:] = 0.0
            return 0.0
        return _softmax(code, z, Y, i, dz, param)
    loss = 0.0
    for k in range(z.shape[0]):
        y = Y[i, k]
        if y != y:  # not observed
            dz[k] = 0.0
        else:
            value, dz[k] = scalar_loss_grad(code, z[k], y, param)
            loss += value
    return loss


@kernel
def mean_loss(code, Z, Y, sample_weight, param):
    """Weighted mean loss over rows of raw outputs ``Z`` against targets ``Y``.

    Unobserved (NaN) targets are skipped; a row without an observed target carries
    no weight.
    """
    n, n_outputs = Z.shape
    z = np.empty(n_outputs)
    dz = np.empty(n_outputs)
    total = 0.0
    weight = 0.0
    for i in range(n):
        for k in range(n_outputs):
            z[k] = Z[i, k]
        if observed(code, Y, i):
            total += sample_weight[i] * loss_grad(code, z, Y, i, dz, param)
            weight += sample_weight[i]
    if weight <= 0.0:
        return 0.0
    return total / weight
