"""Update rules over one flat parameter vector and its state arrays.

An optimizer is "step(weights, gradient)": ``update(code, params, p, grad, moments,
step)`` moves coordinate ``p`` of ``params`` given its gradient, updating that
coordinate's moments in place. Kernels call it per coordinate so that dense sweeps
and sparse (touched-coordinates-only) sweeps share one rule.

``moments`` has two rows of ``len(params)``: the first moment / velocity / AdaGrad
accumulator, and the second moment (RMSProp, Adam). They live in the estimator between
calls, so ``partial_fit`` and ``warm_start`` continue an optimizer exactly.

``step`` is a small float array rebuilt once per optimizer step by ``begin_step``:
the learning rate and the bias corrections, so the per-coordinate rule stays cheap.
"""

import math

from numba import njit

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


@njit(cache=True, nogil=True)
def begin_step(code, lr, t, hyper, step):
    """Fill ``step`` for optimizer step number ``t`` (1-based) at learning rate ``lr``."""
    step[S_LR] = lr
    if code == ADAM or code == ADAMW:
        correction1 = 1.0 - hyper[H_BETA1] ** t
        root2 = math.sqrt(1.0 - hyper[H_BETA2] ** t)
        step[S_ADAM_LR] = lr * root2 / correction1
        step[S_ADAM_EPS] = hyper[H_EPS] * root2


@njit(cache=True, nogil=True)
def update(code, params, p, grad, moments, hyper, step):
    """Move ``params[p]`` against ``grad`` by the rule ``code``."""
    lr = step[S_LR]
    if code == SGD:
        params[p] -= lr * grad
    elif code == MOMENTUM or code == NESTEROV:
        velocity = hyper[H_MOMENTUM] * moments[0, p] + grad
        moments[0, p] = velocity
        if code == NESTEROV:
            params[p] -= lr * (grad + hyper[H_MOMENTUM] * velocity)
        else:
            params[p] -= lr * velocity
    elif code == ADAGRAD:
        acc = moments[0, p] + grad * grad
        moments[0, p] = acc
        params[p] -= lr * grad / (math.sqrt(acc) + hyper[H_EPS])
    elif code == RMSPROP:
        beta2 = hyper[H_BETA2]
        avg = beta2 * moments[1, p] + (1.0 - beta2) * grad * grad
        moments[1, p] = avg
        params[p] -= lr * grad / (math.sqrt(avg) + hyper[H_EPS])
    else:  # ADAM, ADAMW (AdamW's decoupled decay is applied by the caller)
        beta1 = hyper[H_BETA1]
        beta2 = hyper[H_BETA2]
        m = beta1 * moments[0, p] + (1.0 - beta1) * grad
        v = beta2 * moments[1, p] + (1.0 - beta2) * grad * grad
        moments[0, p] = m
        moments[1, p] = v
        params[p] -= step[S_ADAM_LR] * m / (math.sqrt(v) + step[S_ADAM_EPS])
