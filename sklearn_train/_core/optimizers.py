"""Update rules over one flat parameter vector and its state arrays.

An optimizer is "step(weights, gradient)": ``apply(code, params, grad, moments, hyper,
step, start, stop)`` moves ``params[start:stop]`` against ``grad[start:stop]`` and
zeroes the gradient it consumed. The rule is chosen once per call, outside the loop
over coordinates, so every rule runs as a tight (SIMD) loop.

``moments`` has two rows of ``len(params)``: the first moment / velocity / AdaGrad
accumulator, and the second moment (RMSProp, Adam); a data-parallel worker with a
proximal term (``H_PROX``, FedProx) adds a third, its anchor. They live in the
estimator between calls, so ``partial_fit`` and ``warm_start`` continue an optimizer
exactly.

``step`` is a small float array filled once per optimizer step by ``begin_step``: the
learning rate and Adam's bias corrections folded into a rate and an epsilon.

Examples
--------
>>> import numpy as np
>>> params, grad = np.array([1.0, -2.0]), np.array([0.5, -0.5])
>>> moments, step = np.zeros((2, 2)), np.zeros(N_STEP)
>>> hyper = default_hyper()
>>> begin_step(SGD, 0.1, 1.0, hyper, step)
>>> apply(SGD, params, grad, moments, hyper, step, 0, 2)
>>> params, grad
(array([ 0.95, -1.95]), array([0., 0.]))
"""

import math

import numpy as np

from ._jit import kernel, like, sqrt

SGD = 0
MOMENTUM = 1
NESTEROV = 2
ADAGRAD = 3
RMSPROP = 4
ADAM = 5
ADAMW = 6

# Indices into the hyper-parameter array ``hyper``.
H_MOMENTUM = 0
H_BETA1 = 1
H_BETA2 = 2
H_EPS = 3
H_PROX = 4  # FedProx's mu: pull towards the anchor in moments' third row, if any
N_HYPER = 5

# Indices into the per-step array filled by ``begin_step``.
S_LR = 0
S_ADAM_LR = 1  # lr * sqrt(1 - beta2^t) / (1 - beta1^t)
S_ADAM_EPS = 2  # eps * sqrt(1 - beta2^t): Adam's epsilon seen through the correction
N_STEP = 3


def default_hyper(momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, proximal=0.0):
    """The hyper-parameter array: momentum, Adam's betas, the epsilon floor and the
    proximal strength (FedProx's ``mu``; 0 in any local fit)."""
    hyper = np.empty(N_HYPER)
    hyper[H_MOMENTUM] = momentum
    hyper[H_BETA1] = beta_1
    hyper[H_BETA2] = beta_2
    hyper[H_EPS] = epsilon
    hyper[H_PROX] = proximal
    return hyper


@kernel
def begin_step(code, lr, t, hyper, step):
    """Fill ``step`` for optimizer step number ``t`` (1-based) at learning rate ``lr``."""
    step[S_LR] = lr
    if code == ADAM or code == ADAMW:
        correction1 = 1.0 - hyper[H_BETA1] ** t
        root2 = math.sqrt(1.0 - hyper[H_BETA2] ** t)
        step[S_ADAM_LR] = lr * root2 / correction1
        step[S_ADAM_EPS] = hyper[H_EPS] * root2


@kernel
def apply(code, params, grad, moments, hyper, step, start, stop):
    """Move ``params[start:stop]`` by the rule ``code``; zero ``grad[start:stop]``.

    AdamW's decoupled weight decay is not applied here: the caller shrinks the
    weights it decays before calling (the intercepts are never decayed).
    """
    # Views over the range: their indices run from 0, so the loops carry no
    # negative-index handling and vectorise (indexing params[p] for p in
    # range(start, stop) did not: 4x slower on a network's 14k parameters).
    w = params[start:stop]
    g = grad[start:stop]
    first = moments[0, start:stop]
    second = moments[1, start:stop]
    if moments.shape[0] > 2 and hyper[H_PROX] > 0.0:
        # FedProx (Li et al. 2020): the gradient of mu / 2 * |w - anchor|^2, the
        # anchor (the round's global parameters) in a third row of moments
        mu = like(params, hyper[H_PROX])
        anchor = moments[2, start:stop]
        for p in range(w.shape[0]):
            g[p] += mu * (w[p] - anchor[p])
    # scalars in the parameters' precision (see _jit.like)
    lr = like(params, step[S_LR])
    if code == SGD:
        for p in range(w.shape[0]):
            w[p] -= lr * g[p]
    elif code == MOMENTUM:
        mu = like(params, hyper[H_MOMENTUM])
        for p in range(w.shape[0]):
            velocity = mu * first[p] + g[p]
            first[p] = velocity
            w[p] -= lr * velocity
    elif code == NESTEROV:
        # PyTorch's form: step along g + mu * v, the velocity one step ahead
        mu = like(params, hyper[H_MOMENTUM])
        for p in range(w.shape[0]):
            velocity = mu * first[p] + g[p]
            first[p] = velocity
            w[p] -= lr * (g[p] + mu * velocity)
    elif code == ADAGRAD:
        eps = like(params, hyper[H_EPS])
        for p in range(w.shape[0]):
            acc = first[p] + g[p] * g[p]
            first[p] = acc
            w[p] -= lr * g[p] / (sqrt(acc) + eps)
    elif code == RMSPROP:
        beta2 = like(params, hyper[H_BETA2])
        rest2 = like(params, 1.0 - hyper[H_BETA2])
        eps = like(params, hyper[H_EPS])
        for p in range(w.shape[0]):
            avg = beta2 * second[p] + rest2 * g[p] * g[p]
            second[p] = avg
            w[p] -= lr * g[p] / (sqrt(avg) + eps)
    else:  # ADAM, ADAMW
        beta1 = like(params, hyper[H_BETA1])
        beta2 = like(params, hyper[H_BETA2])
        rest1 = like(params, 1.0 - hyper[H_BETA1])
        rest2 = like(params, 1.0 - hyper[H_BETA2])
        adam_lr = like(params, step[S_ADAM_LR])
        adam_eps = like(params, step[S_ADAM_EPS])
        for p in range(w.shape[0]):
            m = beta1 * first[p] + rest1 * g[p]
            v = beta2 * second[p] + rest2 * g[p] * g[p]
            first[p] = m
            second[p] = v
            w[p] -= adam_lr * m / (sqrt(v) + adam_eps)
    g[:] = 0.0
