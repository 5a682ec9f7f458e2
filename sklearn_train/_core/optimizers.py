"""Update rules over one flat parameter vector and its state arrays.

An optimizer is "step(weights, gradient)": ``apply(code, params, grad, moments, hyper,
step, start, stop)`` moves ``params[start:stop]`` against ``grad[start:stop]`` and
zeroes the gradient it consumed. The rule is chosen once per call, outside the loop
over coordinates, so every rule runs as a tight (SIMD) loop.

``moments`` has two rows of ``len(params)``: the first moment / velocity / AdaGrad
accumulator, and the second moment (RMSProp, Adam). They live in the estimator between
calls, so ``partial_fit`` and ``warm_start`` continue an optimizer exactly.

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

from ._jit import kernel

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
N_HYPER = 4

# Indices into the per-step array filled by ``begin_step``.
S_LR = 0
S_ADAM_LR = 1  # lr * sqrt(1 - beta2^t) / (1 - beta1^t)
S_ADAM_EPS = 2  # eps * sqrt(1 - beta2^t): Adam's epsilon seen through the correction
N_STEP = 3


def default_hyper(momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """The hyper-parameter array: momentum, Adam's betas, and the epsilon floor."""
    hyper = np.empty(N_HYPER)
    hyper[H_MOMENTUM] = momentum
    hyper[H_BETA1] = beta_1
    hyper[H_BETA2] = beta_2
    hyper[H_EPS] = epsilon
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
    lr = step[S_LR]
    if code == SGD:
        for p in range(start, stop):
            params[p] -= lr * grad[p]
            grad[p] = 0.0
    elif code == MOMENTUM:
        mu = hyper[H_MOMENTUM]
        for p in range(start, stop):
            velocity = mu * moments[0, p] + grad[p]
            moments[0, p] = velocity
            params[p] -= lr * velocity
            grad[p] = 0.0
    elif code == NESTEROV:
        # PyTorch's form: step along g + mu * v, the velocity one step ahead
        mu = hyper[H_MOMENTUM]
        for p in range(start, stop):
            g = grad[p]
            velocity = mu * moments[0, p] + g
            moments[0, p] = velocity
            params[p] -= lr * (g + mu * velocity)
            grad[p] = 0.0
    elif code == ADAGRAD:
        eps = hyper[H_EPS]
        for p in range(start, stop):
            g = grad[p]
            acc = moments[0, p] + g * g
            moments[0, p] = acc
            params[p] -= lr * g / (math.sqrt(acc) + eps)
            grad[p] = 0.0
    elif code == RMSPROP:
        beta2 = hyper[H_BETA2]
        eps = hyper[H_EPS]
        for p in range(start, stop):
            g = grad[p]
            avg = beta2 * moments[1, p] + (1.0 - beta2) * g * g
            moments[1, p] = avg
            params[p] -= lr * g / (math.sqrt(avg) + eps)
            grad[p] = 0.0
    else:  # ADAM, ADAMW
        beta1 = hyper[H_BETA1]
        beta2 = hyper[H_BETA2]
        adam_lr = step[S_ADAM_LR]
        adam_eps = step[S_ADAM_EPS]
        for p in range(start, stop):
            g = grad[p]
            m = beta1 * moments[0, p] + (1.0 - beta1) * g
            v = beta2 * moments[1, p] + (1.0 - beta2) * g * g
            moments[0, p] = m
            moments[1, p] = v
            params[p] -= adam_lr * m / (math.sqrt(v) + adam_eps)
            grad[p] = 0.0
