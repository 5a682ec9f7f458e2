"""A NaN target means "this output of this row was not observed": in the linear and MLP
epoch kernels it gives no loss and no gradient, and a row without an observed output
adds nothing to ``weight_sum``. The gradient is still divided by the batch's rows, so a
masked output acts as a sample weight of 0 for that output alone."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_train._core import linear, losses, mlp, optimizers
from sklearn_train._core._jit import quiet_inlining
from sklearn_train._core.data import as_kernel_matrix
from sklearn_train._problems import NO_ANCHOR

# the finite-difference and one-step helpers of the MLP tests
_spec = importlib.util.spec_from_file_location(
    "mlp_test_helpers", Path(__file__).parents[1] / "neural_network" / "test_mlp.py")
mlp_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mlp_helpers)


def linear_epoch(X, Y, w, order, params, *, code, optimizer=optimizers.SGD, batch=None,
                 rate=0.1, sparse=False):
    """One epoch from ``params``: ``(params_after, loss_sum, weight_sum)``."""
    n_out = Y.shape[1]
    ints = np.zeros(linear.N_INTS, dtype=np.int64)
    ints[linear.I_LOSS] = code
    ints[linear.I_OPTIMIZER] = optimizer
    ints[linear.I_BATCH_SIZE] = X.shape[0] if batch is None else batch
    ints[linear.I_N_OUTPUTS] = n_out
    ints[linear.I_FIT_INTERCEPT] = 1
    ints[linear.I_LAZY] = int(sparse and optimizer == optimizers.SGD)
    ints[linear.I_AVERAGE_START] = -1
    floats = np.zeros(linear.N_FLOATS + optimizers.N_HYPER)
    floats[linear.N_FLOATS:] = optimizers.default_hyper()
    after = params.copy()
    n_params = params.shape[0]
    state = (after, np.zeros((2, n_params)), np.zeros(n_params), np.zeros(n_params),
             np.zeros(linear.N_COUNTERS), NO_ANCHOR)
    Xk = as_kernel_matrix(sp.csr_matrix(X) if sparse else X)
    with quiet_inlining():
        loss_sum, weight_sum, status = linear.linear_epoch(
            (Xk, Y, w), (order, np.array([rate]), np.empty(0), np.empty((0, n_out))), state,
            ints, floats)
    assert status == linear.OK
    return after, loss_sum, weight_sum


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_linear_masked_squared_error_matches_numpy(sparse):
    rng = np.random.default_rng(0)
    n, d, k = 9, 4, 3
    X = rng.normal(size=(n, d))
    Y = rng.normal(size=(n, k))
    Y[[0, 3, 3, 7], [1, 0, 2, 2]] = np.nan
    Y[5] = np.nan  # no output observed: no loss, no gradient, no weight
    w = rng.uniform(0.5, 2.0, n)
    params = 0.5 * rng.normal(size=k * (d + 1))
    after, loss_sum, weight_sum = linear_epoch(X, Y, w, np.arange(n), params,
                                               code=losses.SQUARED, sparse=sparse)
    # NumPy: one full-batch SGD step, masked residuals 0, divided by all n rows
    W, b = params[:k * d].reshape(k, d), params[k * d:]
    R = X @ W.T + b - Y
    observed = ~np.isnan(R)
    R = np.where(observed, R, 0.0)
    G = w[:, None] * R
    expected = params - 0.1 * np.concatenate([(G.T @ X).ravel(), G.sum(axis=0)]) / n
    np.testing.assert_allclose(after, expected, rtol=1e-12, atol=1e-14)
    assert loss_sum == pytest.approx(np.sum(w[:, None] * 0.5 * R**2), rel=1e-12)
    assert weight_sum == pytest.approx(w[observed.any(axis=1)].sum(), rel=1e-14)
    assert weight_sum < w.sum()


CODES = {"binary-log": (losses.LOG, 1), "softmax": (losses.SOFTMAX_LOG, 3),
         "softmax-focal": (losses.SOFTMAX_FOCAL, 3)}


@pytest.mark.parametrize("optimizer", [optimizers.SGD, optimizers.ADAM], ids=["sgd", "adam"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(CODES))
def test_linear_unobserved_row_equals_weight_zero(case, sparse, optimizer):
    """A binary row with a NaN target, or a softmax row with a NaN anywhere, trains
    as that row with sample weight 0: same parameters, same loss; its weight is not
    in weight_sum. Several batches, so the later steps see the difference too."""
    code, k = CODES[case]
    rng = np.random.default_rng(1)
    n, d = 20, 5
    X = rng.normal(size=(n, d))
    Y = (rng.choice([-1.0, 1.0], size=(n, 1)) if k == 1
         else np.eye(k)[rng.integers(0, k, n)])
    w = rng.uniform(0.5, 2.0, n)
    order = rng.permutation(n).astype(np.int64)
    params = 0.3 * rng.normal(size=k * (d + 1))
    hidden = [2, 11, 17]
    masked = Y.copy()
    masked[hidden, 0] = np.nan
    zero_weight = w.copy()
    zero_weight[hidden] = 0.0
    run = dict(code=code, optimizer=optimizer, batch=4, sparse=sparse)
    got = linear_epoch(X, masked, w, order, params, **run)
    want = linear_epoch(X, Y, zero_weight, order, params, **run)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-13, atol=1e-15)
    assert got[1] == pytest.approx(want[1], rel=1e-13)
    assert got[2] == pytest.approx(zero_weight.sum(), rel=1e-14)
    assert not np.allclose(got[0], linear_epoch(X, Y, w, order, params, **run)[0])


# -- one MLP step --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["squared_error", "multilabel"])
def test_mlp_masked_outputs_match_finite_differences(family):
    """Some outputs of some rows masked (no row entirely): the kernel's gradient is the
    finite-difference gradient of the masked objective, ``sum of the observed
    sample_weight * loss / n_rows`` (``losses.mean_loss`` skips masked outputs)."""
    X, Y, sw, params, layout, code, param = mlp_helpers.gradient_problem(mlp.TANH, family)
    Y = Y.copy()
    Y[[0, 2, 5], [1, 0, 1]] = np.nan
    assert not np.isnan(Y).all(axis=1).any()
    kernel = mlp_helpers.kernel_step(X, Y, sw, params, layout, code, param)
    reference = mlp_helpers.finite_differences(X, Y, sw, params, layout, code, param)
    mlp_helpers.assert_gradient_close(kernel, reference)
    # and the masked entries matter: with them observed the gradient differs
    filled = np.nan_to_num(Y, nan=1.0)
    assert not np.allclose(kernel, mlp_helpers.kernel_step(X, filled, sw, params, layout,
                                                           code, param))


def test_mlp_masked_squared_error_is_a_target_equal_to_the_output():
    """For the squared error a target equal to the current output gives no loss and
    no gradient either: the same step as a NaN there."""
    X, Y, sw, params, layout, code, param = mlp_helpers.gradient_problem(
        mlp.RELU, "squared_error")
    Z = mlp_helpers.raw_outputs(X, params, layout)
    where = (np.array([1, 3, 4]), np.array([0, 1, 1]))  # no row entirely
    masked, filled = Y.copy(), Y.copy()
    masked[where] = np.nan
    filled[where] = Z[where]
    got, got_loss = mlp_helpers.run_epoch(X, masked, sw, params, layout, code, param)
    want, want_loss = mlp_helpers.run_epoch(X, filled, sw, params, layout, code, param)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    assert got_loss == pytest.approx(want_loss, rel=1e-13)  # every row still observed


@pytest.mark.parametrize("family", ["softmax_log", "softmax_focal", "binary_log"])
def test_mlp_unobserved_row_equals_weight_zero(family):
    X, Y, sw, params, layout, code, param = mlp_helpers.gradient_problem(mlp.TANH, family)
    hidden = [1, 4]
    masked = Y.copy()
    masked[hidden, -1] = np.nan  # softmax: one NaN hides the row; binary: its only output
    zero_weight = sw.copy()
    zero_weight[hidden] = 0.0
    got, got_mean = mlp_helpers.run_epoch(X, masked, sw, params, layout, code, param)
    want, want_mean = mlp_helpers.run_epoch(X, Y, zero_weight, params, layout, code, param)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    # run_epoch returns loss_sum / weight_sum: the same mean, over the observed rows
    assert got_mean == pytest.approx(want_mean, rel=1e-13)
