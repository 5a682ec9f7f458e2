"""Update rules of ``sklearn_train._core.optimizers`` against mathematics.

Every rule minimises a convex quadratic, reproduces a plain NumPy transcription of
its textbook (PyTorch) form step by step, and touches only ``[start, stop)``.
"""

import numpy as np
import pytest

from sklearn_train._core import optimizers as O

ALL_CODES = {name: getattr(O, name) for name in
             ("SGD", "MOMENTUM", "NESTEROV", "ADAGRAD", "RMSPROP", "ADAM", "ADAMW")}
DIM = 5
# Eigenvalues of the quadratic's Hessian: condition number 5.
EIGENVALUES = np.array([1.0, 1.5, 2.5, 3.5, 5.0])


@pytest.fixture(scope="module")
def quadratic():
    """``(A, c)``: f(w) = 0.5 (w - c)^T A (w - c), A symmetric positive definite."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(DIM, DIM)))
    return Q @ np.diag(EIGENVALUES) @ Q.T, rng.normal(size=DIM)


def minimise(code, A, c, rate, n_steps):
    """Run the optimizer from w = 0 with the exact gradient; ``rate(t)`` per step."""
    w = np.zeros(DIM)
    grad = np.zeros(DIM)
    moments = np.zeros((2, DIM))
    step = np.zeros(O.N_STEP)
    hyper = O.default_hyper()
    for t in range(1, n_steps + 1):
        grad[:] = A @ (w - c)
        O.begin_step(code, rate(t), float(t), hyper, step)
        O.apply(code, w, grad, moments, hyper, step, 0, DIM)
    return w


# name -> (rate of step t, steps). Every run must land within CONVERGED of c.
SCHEDULE = {
    # Gradient descent contracts by max|1 - lr * lambda| = 0.7 per step at lr = 0.3
    # (2 / (1 + 5) would be optimal); 300 steps shrink the error by 0.7^300.
    "SGD": (lambda t: 0.3, 300),
    # Heavy ball / Nesterov with momentum 0.9 are stable for lr * lambda < 2 (1 + 0.9);
    # the error decays like sqrt(0.9)^t, 1e-12 after 500 steps.
    "MOMENTUM": (lambda t: 0.1, 500),
    "NESTEROV": (lambda t: 0.1, 500),
    # AdaGrad's steps shrink as squared gradients accumulate; once the accumulator
    # settles (the gradient decays geometrically) it is gradient descent with a
    # fixed diagonal step, below 2 / lambda here at lr = 1.
    "ADAGRAD": (lambda t: 1.0, 500),
    # RMSProp and Adam normalise the step to a size of about lr: with a constant rate
    # they may hover at that distance from the minimum, so the rate decays
    # geometrically (its sum, 20, still covers the distance to c many times).
    "RMSPROP": (lambda t: 0.1 * 0.995**t, 2000),
    "ADAM": (lambda t: 0.1 * 0.995**t, 2000),
    "ADAMW": (lambda t: 0.1 * 0.995**t, 2000),
}
CONVERGED = 1e-8


@pytest.mark.parametrize("name", sorted(ALL_CODES))
def test_minimises_a_convex_quadratic(name, quadratic):
    A, c = quadratic
    rate, n_steps = SCHEDULE[name]
    w = minimise(ALL_CODES[name], A, c, rate, n_steps)
    np.testing.assert_allclose(w, c, rtol=0, atol=CONVERGED)


# -- one-to-one with a NumPy transcription --------------------------------------------


def reference_steps(name, params, grads, rates, hyper):
    """The textbook rules (PyTorch's forms, no dampening), one gradient per step."""
    mu, beta1, beta2, eps = hyper[:4]  # (hyper[4]: the proximal term, 0 here)
    w = params.copy()
    m = np.zeros_like(w)  # velocity, AdaGrad sum or Adam's first moment
    v = np.zeros_like(w)  # RMSProp's / Adam's second moment
    for t, (g, lr) in enumerate(zip(grads, rates), start=1):
        if name == "SGD":
            w = w - lr * g
        elif name == "MOMENTUM":
            m = mu * m + g
            w = w - lr * m
        elif name == "NESTEROV":
            m = mu * m + g
            w = w - lr * (g + mu * m)
        elif name == "ADAGRAD":
            m = m + g**2
            w = w - lr * g / (np.sqrt(m) + eps)
        elif name == "RMSPROP":
            v = beta2 * v + (1 - beta2) * g**2
            w = w - lr * g / (np.sqrt(v) + eps)
        else:  # Adam with bias correction; AdamW's decay is the caller's job
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g**2
            m_hat = m / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w, m, v


@pytest.mark.parametrize("name", sorted(ALL_CODES))
def test_steps_match_textbook_formulas(name):
    code = ALL_CODES[name]
    rng = np.random.default_rng(1)
    n_steps = 6
    start = rng.normal(size=DIM)
    # tiny gradients included: there Adam's epsilon and bias corrections matter most
    grads = rng.normal(size=(n_steps, DIM)) * np.array([1.0, 1e-3, 10.0, 1e-7, 0.5])
    rates = rng.uniform(0.01, 0.2, n_steps)
    # hyper-parameters away from the defaults, so that swapped betas would show
    hyper = O.default_hyper(momentum=0.8, beta_1=0.7, beta_2=0.95, epsilon=1e-6)

    w = start.copy()
    grad = np.zeros(DIM)
    moments = np.zeros((2, DIM))
    step = np.zeros(O.N_STEP)
    for t in range(n_steps):
        grad[:] = grads[t]
        O.begin_step(code, rates[t], float(t + 1), hyper, step)
        O.apply(code, w, grad, moments, hyper, step, 0, DIM)

    expected_w, expected_m, expected_v = reference_steps(name, start, grads, rates,
                                                         tuple(hyper))
    # Only rounding separates the two (Adam's correction is folded into lr and eps).
    np.testing.assert_allclose(w, expected_w, rtol=1e-12, atol=1e-15)
    if name in ("MOMENTUM", "NESTEROV", "ADAGRAD", "ADAM", "ADAMW"):
        np.testing.assert_allclose(moments[0], expected_m, rtol=1e-12, atol=1e-300)
    if name in ("RMSPROP", "ADAM", "ADAMW"):
        np.testing.assert_allclose(moments[1], expected_v, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", ["ADAM", "ADAMW"])
def test_adam_first_step_has_size_lr(name):
    """Bias correction makes m_hat = g and v_hat = g^2 at t = 1: each coordinate moves
    by lr * |g| / (|g| + eps), about lr, whatever the size of g."""
    g = np.array([1e-4, -0.5, 3.0, -200.0])
    w = np.zeros(4)
    grad = g.copy()
    hyper = O.default_hyper()
    step = np.zeros(O.N_STEP)
    O.begin_step(ALL_CODES[name], 0.01, 1.0, hyper, step)
    O.apply(ALL_CODES[name], w, grad, np.zeros((2, 4)), hyper, step, 0, 4)
    eps = hyper[O.H_EPS]
    np.testing.assert_allclose(w, -0.01 * g / (np.abs(g) + eps), rtol=1e-12)


# -- bookkeeping --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_CODES))
def test_apply_consumes_its_range_only(name):
    code = ALL_CODES[name]
    rng = np.random.default_rng(2)
    n, start, stop = 9, 3, 7
    params = rng.normal(size=n)
    grad = rng.normal(size=n)
    moments = np.abs(rng.normal(size=(2, n)))
    before = params.copy(), grad.copy(), moments.copy()
    hyper = O.default_hyper()
    step = np.zeros(O.N_STEP)
    O.begin_step(code, 0.1, 3.0, hyper, step)
    O.apply(code, params, grad, moments, hyper, step, start, stop)

    inside = np.zeros(n, dtype=bool)
    inside[start:stop] = True
    np.testing.assert_array_equal(grad[inside], 0.0)
    np.testing.assert_array_equal(params[~inside], before[0][~inside])
    np.testing.assert_array_equal(grad[~inside], before[1][~inside])
    np.testing.assert_array_equal(moments[:, ~inside], before[2][:, ~inside])
    # the range did move (a nonzero gradient always changes the parameter)
    assert np.all(params[inside] != before[0][inside])


@pytest.mark.parametrize("name", ["SGD", "MOMENTUM", "NESTEROV", "ADAGRAD", "RMSPROP",
                                  "ADAM"])
def test_proximal_term_is_the_gradient_of_its_penalty(name):
    """With an anchor row and mu > 0 (FedProx), a step equals the plain step on the
    gradient plus mu * (w - anchor); without the row, mu changes nothing."""
    code = getattr(O, name)
    rng = np.random.default_rng(0)
    w, g, anchor = rng.normal(size=(3, DIM))
    plain_w, plain_moments = w.copy(), np.zeros((2, DIM))
    prox_w, prox_moments = w.copy(), np.zeros((3, DIM))
    prox_moments[2] = anchor
    step = np.zeros(O.N_STEP)
    mu = 0.7
    for t in (1.0, 2.0):
        O.begin_step(code, 0.1, t, O.default_hyper(), step)
        O.apply(code, plain_w, g + mu * (plain_w - anchor), plain_moments,
                O.default_hyper(), step, 0, DIM)
        O.apply(code, prox_w, g.copy(), prox_moments, O.default_hyper(proximal=mu), step,
                0, DIM)
    np.testing.assert_allclose(prox_w, plain_w, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(prox_moments[:2], plain_moments, rtol=1e-14, atol=1e-15)
    unanchored = w.copy()
    O.apply(code, unanchored, g.copy(), np.zeros((2, DIM)), O.default_hyper(proximal=mu),
            step, 0, DIM)
    reference = w.copy()
    O.apply(code, reference, g.copy(), np.zeros((2, DIM)), O.default_hyper(), step, 0,
            DIM)
    np.testing.assert_array_equal(unanchored, reference)
