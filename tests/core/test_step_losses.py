"""Per-step losses: ``step_losses[b]`` of every epoch kernel is mini-batch ``b``'s
weighted mean loss under the parameters of that moment (NaN for a batch without
weight); weighted by the batches' weights they add up to ``loss_sum / weight_sum``; an
array of length 0 records nothing, and a shorter one is never written past its end.

Each batch's loss is checked against NumPy at the parameters a second run of the same
kernel over the rows before that batch reaches.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

from sklearn_train._core import cluster, linear, losses, mixture, mlp, optimizers
from sklearn_train._core._jit import quiet_inlining
from sklearn_train._core.data import as_kernel_matrix
from sklearn_train.neural_network._problem import build_layout
from sklearn_train._problems import NO_ANCHOR

N, D, BATCH = 45, 4, 8  # six batches, the last one short
N_STEPS = -(-N // BATCH)
ZERO_BATCH = 2  # every row of this batch has weight 0


def problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    order = rng.permutation(N).astype(np.int64)
    w = rng.uniform(0.5, 2.0, N)
    w[order[ZERO_BATCH * BATCH:(ZERO_BATCH + 1) * BATCH]] = 0.0
    return rng, X, w, order


def batch_rows(order, b):
    return order[b * BATCH:(b + 1) * BATCH]


def weighted_or_nan(values, w):
    return np.sum(w * values) / w.sum() if w.sum() > 0 else np.nan


def check(run, expected_loss, order, w):
    """``run(order, step_losses) -> (loss_sum, weight_sum)`` trains from a fresh copy
    of the starting state and returns the state; ``expected_loss(state, rows)`` is the
    batch's weighted mean loss at that state."""
    step_losses = np.full(N_STEPS, -1.0)
    loss_sum, weight_sum, state = run(order, step_losses)
    for b in range(N_STEPS):
        before = run(order[:b * BATCH], np.empty(0))[2]
        expected = expected_loss(before, batch_rows(order, b))
        if b == ZERO_BATCH:
            assert np.isnan(step_losses[b]) and np.isnan(expected)
        else:
            assert step_losses[b] == pytest.approx(expected, rel=1e-10, abs=1e-12), b
    batch_weight = np.array([w[batch_rows(order, b)].sum() for b in range(N_STEPS)])
    observed = batch_weight > 0
    assert np.sum(step_losses[observed] * batch_weight[observed]) == pytest.approx(
        loss_sum, rel=1e-12)
    assert np.average(step_losses[observed], weights=batch_weight[observed]) == pytest.approx(
        loss_sum / weight_sum, rel=1e-12)
    # length 0: nothing recorded, the same training
    again = run(order, np.empty(0))
    assert again[0] == loss_sum and again[1] == weight_sum
    # a shorter array: its entries only, nothing past its end
    buffer = np.full(N_STEPS + 3, -5.0)
    short = buffer[:3]
    assert run(order, short)[0] == loss_sum
    np.testing.assert_array_equal(short, step_losses[:3])
    np.testing.assert_array_equal(buffer[3:], -5.0)


# -- linear -----------------------------------------------------------------------------


LINEAR_CASES = {
    "log-sgd-dense": (losses.LOG, 1, optimizers.SGD, False),
    "log-sgd-csr": (losses.LOG, 1, optimizers.SGD, True),
    "squared-adam-2-outputs": (losses.SQUARED, 2, optimizers.ADAM, False),
    "softmax-momentum-l1-csr": (losses.SOFTMAX_LOG, 3, optimizers.MOMENTUM, True),
    "squared-sgd-l1-csr-lazy": (losses.SQUARED, 2, optimizers.SGD, True),
}


@pytest.mark.parametrize("case", list(LINEAR_CASES))
def test_linear_step_losses(case):
    code, n_out, optimizer, sparse = LINEAR_CASES[case]
    rng, X, w, order = problem()
    if code == losses.LOG:
        Y = rng.choice([-1.0, 1.0], size=(N, 1))
    elif code == losses.SOFTMAX_LOG:
        Y = np.eye(3)[rng.integers(0, 3, N)]
    else:
        Y = rng.normal(size=(N, n_out))
    ints = np.zeros(linear.N_INTS, dtype=np.int64)
    ints[linear.I_LOSS] = code
    ints[linear.I_OPTIMIZER] = optimizer
    ints[linear.I_BATCH_SIZE] = BATCH
    ints[linear.I_N_OUTPUTS] = n_out
    ints[linear.I_FIT_INTERCEPT] = 1
    ints[linear.I_LAZY] = int(sparse and optimizer == optimizers.SGD)  # as the estimators
    ints[linear.I_AVERAGE_START] = -1
    floats = np.zeros(linear.N_FLOATS + optimizers.N_HYPER)
    floats[linear.F_L2] = 0.0 if "lazy" in case else 0.01  # lazy L1 goes without L2
    floats[linear.F_L1] = 0.01 if "l1" in case else 0.0
    floats[linear.N_FLOATS:] = optimizers.default_hyper()
    n_params = n_out * (D + 1)
    start = 0.3 * rng.normal(size=n_params)
    Xk = as_kernel_matrix(sp.csr_matrix(X) if sparse else X)

    def run(rows, step_losses, row_outputs=np.empty((0, n_out))):
        state = (start.copy(), np.zeros((2, n_params)), np.zeros(n_params), np.zeros(n_params),
                 np.zeros(linear.N_COUNTERS), NO_ANCHOR)
        with quiet_inlining():
            loss_sum, weight_sum, status = linear.linear_epoch(
                (Xk, Y, w), (rows, np.array([0.2]), step_losses, row_outputs),
                state, ints, floats)
        assert status == linear.OK
        return loss_sum, weight_sum, state

    def outputs(state, rows):
        params = state[0]
        return X[rows] @ params[:n_out * D].reshape(n_out, D).T + params[n_out * D:]

    def expected(state, rows):
        value = losses.mean_loss(code, outputs(state, rows), Y[rows], w[rows], 0.0)
        return value if w[rows].sum() > 0 else np.nan

    check(run, expected, order, w)

    # the recorded outputs of each row are the model's before its batch's step
    # (prequential evaluation), in the order visited; recording changes nothing
    recorded = np.full((N, n_out), np.nan)
    state = run(order, np.empty(0), recorded)[2]
    np.testing.assert_array_equal(state[0], run(order, np.empty(0))[2][0])
    for b in range(N_STEPS):
        before = run(order[:b * BATCH], np.empty(0))[2]
        np.testing.assert_allclose(recorded[b * BATCH:(b + 1) * BATCH],
                                   outputs(before, batch_rows(order, b)), rtol=1e-10,
                                   atol=1e-12)


# -- MLP --------------------------------------------------------------------------------


def test_mlp_step_losses():
    rng, X, w, order = problem(1)
    Y = np.eye(3)[rng.integers(0, 3, N)]
    layout, n_params = build_layout([D, 5, 3], mlp.TANH)
    ints = np.zeros(mlp.N_INTS, dtype=np.int64)
    ints[mlp.I_LOSS] = losses.SOFTMAX_LOG
    ints[mlp.I_OPTIMIZER] = optimizers.ADAM
    ints[mlp.I_BATCH_SIZE] = BATCH
    floats = np.concatenate([np.zeros(mlp.N_FLOATS), optimizers.default_hyper()])
    floats[mlp.F_L2] = 0.01
    start = 0.5 * rng.normal(size=n_params)

    def run(rows, step_losses):
        state = (start.copy(), np.zeros((2, n_params)), np.zeros(mlp.N_COUNTERS), NO_ANCHOR)
        with quiet_inlining():
            loss_sum, weight_sum, status = mlp.mlp_epoch(
                (X, Y, w), (rows, np.array([0.05]), step_losses), state, layout, ints, floats)
        assert status == mlp.OK
        return loss_sum, weight_sum, state

    def expected(state, rows):
        Z = np.empty((rows.shape[0], 3))
        with quiet_inlining():
            mlp.mlp_forward(np.ascontiguousarray(X[rows]), state[0], layout, 0, 1, Z)
        value = losses.mean_loss(losses.SOFTMAX_LOG, Z, Y[rows], w[rows], 0.0)
        return value if w[rows].sum() > 0 else np.nan

    check(run, expected, order, w)


# -- k-means ----------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_kmeans_step_losses(sparse):
    rng, X, w, order = problem(2)
    start = X[:3] + 0.1
    Xk = as_kernel_matrix(sp.csr_matrix(X) if sparse else X)
    ints = np.zeros(cluster.N_INTS, dtype=np.int64)
    ints[cluster.I_BATCH_SIZE] = BATCH
    floats = np.zeros(cluster.N_FLOATS)

    def run(rows, step_losses):
        state = (start.copy(), np.zeros(3))
        with quiet_inlining():
            inertia, weight_sum, _ = cluster.kmeans_epoch(
                (Xk, w, (X**2).sum(axis=1)), (rows, np.ones(1), step_losses), state, ints,
                floats)
        return inertia, weight_sum, state

    def expected(state, rows):
        distances = ((X[rows, None, :] - state[0][None]) ** 2).sum(axis=2).min(axis=1)
        return weighted_or_nan(distances, w[rows])

    check(run, expected, order, w)


# -- Gaussian mixture --------------------------------------------------------------------


def test_gmm_step_losses():
    rng, X, w, order = problem(3)
    k, code = 2, mixture.DIAG
    size = mixture.block_size(code, D)
    origin = X.mean(axis=0)
    resp = np.eye(k)[np.arange(N) % k]
    reg_covar = 1e-6

    def fresh():
        params = (np.full(k, 1.0 / k), np.zeros((k, D)), np.zeros(k * size), np.zeros(k * size),
                  np.zeros(k))
        stats = (np.zeros(k), np.zeros((k, D)), np.zeros(k * size))
        mixture.statistics(X, origin, np.ones(N), resp, code, stats)
        mixture.m_step(stats, params, code, reg_covar)
        return params, stats

    ints = np.array([BATCH, code], dtype=np.int64)
    floats = np.array([reg_covar, 0.0])

    def run(rows, step_losses):
        params, stats = fresh()
        with quiet_inlining():
            loss_sum, weight_sum, status = mixture.gmm_epoch(
                (X, origin, w), (rows, np.array([0.4]), step_losses), params, stats,
                np.zeros(2), ints, floats)
        assert status == mixture.OK
        return loss_sum, weight_sum, params

    def expected(params, rows):
        out = np.empty((rows.shape[0], k))
        mixture.weighted_log_prob(np.ascontiguousarray(X[rows]), origin, params, code, out)
        return weighted_or_nan(-logsumexp(out, axis=1), w[rows])

    check(run, expected, order, w)
