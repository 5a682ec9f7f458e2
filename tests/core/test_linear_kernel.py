"""The compiled linear epoch kernel, through the estimators, against mathematics.

Dense and CSR input must train the same model (CSR with plain SGD runs the "lazy"
kernel path, which defers L2 decay, L1 shrinkage and averaging for the features a
mini-batch does not touch), a dense run must reproduce a NumPy transcription of
mini-batch training, L1 must give exact zeros, float32 must train in float32 without
copying X, averaging must be the mean of the iterates, and divergence must be caught.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from sklearn_train import DivergenceError, LinearClassifier, LinearRegressor
from sklearn_train._core import linear
from sklearn_train._core.data import as_kernel_matrix

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
PENALTIES = ["l2", "l1", "elasticnet", None]
# Dense and CSR runs differ only in the order of floating-point sums over a row
# (zeros skipped); over a few epochs that stays around 1e-15.
SAME = 1e-10


def sparse_problem(n_classes, seed=0, n=60, d=12, density=0.3):
    """Rows with ~70% zeros, so most mini-batches leave some features untouched."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < density)
    if n_classes == 2:
        y = (X @ rng.normal(size=d) > 0).astype(int)
    else:
        y = np.argmax(X @ rng.normal(size=(d, n_classes)), axis=1)
    return X, y


def fit_both(estimator, X, y, **fit_params):
    """Fit clones of ``estimator`` on dense ``X`` and on its CSR form."""
    dense = clone(estimator).fit(X, y, **fit_params)
    csr = clone(estimator).fit(sp.csr_matrix(X), y, **fit_params)
    return dense, csr


def assert_same_model(dense, csr):
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=0, atol=SAME)
    np.testing.assert_allclose(csr.intercept_, dense.intercept_, rtol=0, atol=SAME)


def classifier(optimizer, penalty, average=False, **params):
    # alpha and eta0 large enough that penalty and averaging effects are far above SAME
    settings = dict(optimizer=optimizer, penalty=penalty, average=average, alpha=0.01,
                    l1_ratio=0.5, eta0=0.1, batch_size=8, max_iter=3, tol=None,
                    random_state=0)
    settings.update(params)
    return LinearClassifier(**settings)


# -- dense and CSR train the same model --------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("average", [False, True], ids=["plain", "averaged"])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_dense_and_csr_give_the_same_coefficients(optimizer, penalty, average, n_classes):
    X, y = sparse_problem(n_classes)
    dense, csr = fit_both(classifier(optimizer, penalty, average), X, y)
    assert_same_model(dense, csr)


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_dense_and_csr_agree_without_intercept(optimizer, penalty):
    X, y = sparse_problem(3, seed=1)
    dense, csr = fit_both(classifier(optimizer, penalty, fit_intercept=False), X, y)
    np.testing.assert_array_equal(dense.intercept_, 0.0)
    assert_same_model(dense, csr)


@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_dense_and_csr_agree_with_sample_weights(optimizer, penalty):
    X, y = sparse_problem(2, seed=2)
    weight = np.random.default_rng(3).uniform(0, 3, X.shape[0])
    dense, csr = fit_both(classifier(optimizer, penalty), X, y, sample_weight=weight)
    assert_same_model(dense, csr)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_dense_and_csr_agree_for_multi_target_regression(optimizer):
    X, _ = sparse_problem(2, seed=4)
    Y = X @ np.random.default_rng(5).normal(size=(X.shape[1], 2))
    reg = LinearRegressor(optimizer=optimizer, alpha=0.01, eta0=0.05, batch_size=8,
                          max_iter=3, tol=None, random_state=0)
    dense, csr = fit_both(reg, X, Y)
    assert_same_model(dense, csr)


# -- training is mini-batch gradient descent on the documented objective ---------------


def l1_clip(w, applied, total):
    """Tsuruoka's cumulative L1 step (penalties.py): move each weight toward zero by
    what it has not yet received of ``total``, stopping at zero."""
    new = np.where(w > 0, np.maximum(0.0, w - (total + applied)),
                   np.where(w < 0, np.minimum(0.0, w + (total - applied)), w))
    return new, applied + (new - w)


def reference_regression(X, y, weight, optimizer, lr, l2, batch_size, n_epochs, *,
                         l1=0.0, average=False, beta1=0.9, beta2=0.999, eps=1e-8,
                         mu=0.9):
    """Half squared error in row order. Per mini-batch: gradient
    mean(weight * residual * x) + l2 * w (AdamW: decoupled decay w *= 1 - lr * l2),
    an optimizer step, then the cumulative L1 clip of the weights (not the intercept).
    Returns the last parameters, or their mean over all steps when ``average``."""
    n, d = X.shape
    theta = np.append(np.zeros(d), np.average(y, weights=weight))  # documented start
    m = np.zeros(d + 1)
    v = np.zeros(d + 1)
    applied = np.zeros(d)
    total = 0.0
    history = []
    t = 0
    for _ in range(n_epochs):
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size)
            Xb, yb, wb = X[rows], y[rows], weight[rows]
            r = wb * (Xb @ theta[:d] + theta[d] - yb)
            g = np.append(Xb.T @ r, r.sum()) / Xb.shape[0]
            t += 1
            if optimizer == "adamw":
                theta[:d] *= 1 - lr * l2
            else:
                g[:d] += l2 * theta[:d]
            if optimizer == "sgd":
                theta -= lr * g
            elif optimizer == "momentum":
                m = mu * m + g
                theta -= lr * m
            else:
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g**2
                theta -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
            if l1 > 0:
                total += lr * l1
                theta[:d], applied = l1_clip(theta[:d], applied, total)
            history.append(theta.copy())
    theta = np.mean(history, axis=0) if average else theta
    return theta[:d], theta[d]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_training_matches_numpy_minibatch_descent(optimizer, sparse):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(23, 4))  # 23 rows: the last batch of 5 is a short one
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 1.5 + 0.1 * rng.normal(size=23)
    weight = rng.uniform(0.5, 2.0, 23)
    reg = LinearRegressor(optimizer=optimizer, learning_rate="constant", eta0=0.05,
                          alpha=0.02, batch_size=6, max_iter=4, tol=None, shuffle=False)
    reg.fit(sp.csr_matrix(X) if sparse else X, y, sample_weight=weight)
    coef, intercept = reference_regression(X, y, weight, optimizer, 0.05, 0.02, 6, 4)
    # the same arithmetic in another order: agreement to rounding
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, [intercept], rtol=1e-10, atol=1e-12)


# (penalty, average, eta0, alpha): l1_ratio is 0.5, so elasticnet has l1 = l2 = alpha / 2
SGD_CASES = {
    "l2-averaged": ("l2", True, 0.1, 0.1),
    "l1": ("l1", False, 0.1, 0.1),
    "l1-averaged": ("l1", True, 0.1, 0.1),
    "elasticnet": ("elasticnet", False, 0.1, 0.1),
    "elasticnet-averaged": ("elasticnet", True, 0.1, 0.1),
    # eta0 * alpha = 1: a step's L2 decay factor 1 - lr * alpha is exactly zero
    "l2-full-decay": ("l2", False, 0.5, 2.0),
}


@pytest.mark.parametrize("case", list(SGD_CASES))
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr-lazy"])
def test_sgd_penalties_and_averaging_match_numpy(case, sparse):
    """The lazy CSR path must give what per-step decay, clipping and averaging give,
    also for weights that several consecutive mini-batches do not touch."""
    penalty, average, eta0, alpha = SGD_CASES[case]
    rng = np.random.default_rng(12)
    X = rng.normal(size=(16, 5)) * (rng.random((16, 5)) < 0.35)
    y = X @ np.array([2.0, -1.0, 1.5, 0.5, -2.0]) + 0.5
    weight = np.ones(16)
    reg = LinearRegressor(optimizer="sgd", learning_rate="constant", eta0=eta0,
                          alpha=alpha, penalty=penalty, l1_ratio=0.5, average=average,
                          batch_size=2, max_iter=2, tol=None, shuffle=False)
    reg.fit(sp.csr_matrix(X) if sparse else X, y)
    l1, l2 = {"l1": (alpha, 0.0), "l2": (0.0, alpha),
              "elasticnet": (alpha / 2, alpha / 2)}[penalty]
    coef, intercept = reference_regression(X, y, weight, "sgd", eta0, l2, 2, 2, l1=l1,
                                           average=average)
    np.testing.assert_allclose(reg.coef_, coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(reg.intercept_, [intercept], rtol=1e-10, atol=1e-12)


# -- L1 gives exact zeros -------------------------------------------------------------


@pytest.fixture(scope="module")
def mostly_irrelevant():
    """5 informative features among 60; labels depend on the first five only."""
    rng = np.random.default_rng(7)
    n, d, k = 300, 60, 5
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.5)
    w = np.zeros(d)
    w[:k] = rng.choice([-2.0, 2.0], k)
    y = (X @ w + 0.1 * rng.normal(size=n) > 0).astype(int)
    return X, y, k


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_l1_sets_irrelevant_weights_exactly_to_zero(mostly_irrelevant, sparse):
    X, y, k = mostly_irrelevant
    X = sp.csr_matrix(X) if sparse else X
    settings = dict(optimizer="sgd", alpha=0.03, eta0=0.05, max_iter=20, tol=None,
                    random_state=0)
    coef = LinearClassifier(penalty="l1", **settings).fit(X, y).coef_[0]
    assert np.mean(coef[k:] == 0.0) >= 0.8
    assert np.all(coef[:k] != 0.0)
    # the zeros come from the L1 clipping, not from the data: L2 leaves none
    coef_l2 = LinearClassifier(penalty="l2", **settings).fit(X, y).coef_[0]
    assert np.all(coef_l2 != 0.0)


# -- float32 ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_float32_trains_in_float32_close_to_float64(mostly_irrelevant, optimizer, sparse):
    X, y, _ = mostly_irrelevant
    make = sp.csr_matrix if sparse else np.asarray
    settings = dict(optimizer=optimizer, eta0=0.05, max_iter=5, tol=None, random_state=0)
    single = LinearClassifier(**settings).fit(make(X.astype(np.float32)), y)
    double = LinearClassifier(**settings).fit(make(X), y)
    assert single.coef_.dtype == np.float32
    assert single.intercept_.dtype == np.float32
    # float32 rounding (6e-8 relative) over ~50 steps stays near 1e-6; 1e-4 of the
    # weights' size catches any step done wrongly while allowing that drift.
    scale = np.abs(double.coef_).max()
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(single.intercept_, double.intercept_, rtol=0,
                               atol=1e-4 * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernel_input_is_not_copied(monkeypatch, dtype):
    rng = np.random.default_rng(8)
    X = np.ascontiguousarray(rng.normal(size=(40, 6)).astype(dtype))
    Xs = sp.csr_matrix(X)
    assert Xs.indices.dtype == np.int32
    y = (X[:, 0] > 0).astype(int)
    assert as_kernel_matrix(X) is X
    csr = as_kernel_matrix(Xs)
    # the data and row pointers are the same arrays; the int32 column indices are
    # reinterpreted in place as uint32 (no copy)
    assert csr.data is Xs.data and csr.indptr is Xs.indptr
    assert csr.indices.dtype == np.uint32 and np.shares_memory(csr.indices, Xs.indices)

    # what the estimators hand to the compiled epoch shares X's memory
    seen = []
    epoch = linear.linear_epoch

    def spy(data, *args):
        seen.append(data[0])
        return epoch(data, *args)

    monkeypatch.setattr(linear, "linear_epoch", spy)
    LinearClassifier(max_iter=1, tol=None).fit(X, y)
    LinearClassifier(optimizer="sgd", max_iter=1, tol=None).fit(Xs, y)
    dense_seen, csr_seen = seen
    assert dense_seen.dtype == dtype and np.shares_memory(dense_seen, X)
    assert csr_seen.data.dtype == dtype and np.shares_memory(csr_seen.data, Xs.data)


# -- averaging ----------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer, sparse", [("sgd", False), ("sgd", True),
                                               ("adam", False)],
                         ids=["sgd-dense", "sgd-csr-lazy", "adam-dense"])
@pytest.mark.parametrize("penalty", ["l2", None])
def test_average_is_mean_of_the_iterates(optimizer, sparse, penalty):
    """With one mini-batch per epoch, each partial_fit is one optimizer step: the
    averaged model's coef_ is the mean of the plain model's coef_ after each call."""
    X, y = sparse_problem(3, seed=9, n=20, d=6, density=0.5)
    X = sp.csr_matrix(X) if sparse else X
    settings = dict(optimizer=optimizer, penalty=penalty, alpha=0.01, eta0=0.1,
                    batch_size=20, shuffle=False)
    plain = LinearClassifier(**settings)
    averaged = LinearClassifier(average=True, **settings)
    coefs, intercepts = [], []
    for _ in range(6):
        plain.partial_fit(X, y, classes=[0, 1, 2])
        averaged.partial_fit(X, y, classes=[0, 1, 2])
        coefs.append(plain.coef_.copy())
        intercepts.append(plain.intercept_.copy())
        np.testing.assert_allclose(averaged.coef_, np.mean(coefs, axis=0), rtol=0,
                                   atol=1e-12)
        np.testing.assert_allclose(averaged.intercept_, np.mean(intercepts, axis=0),
                                   rtol=0, atol=1e-12)
    # the iterates moved, so the average is not just the last one
    assert np.abs(averaged.coef_ - plain.coef_).max() > 1e-3


# -- divergence ---------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr-lazy"])
def test_divergence_is_reported_with_eta0(sparse):
    rng = np.random.default_rng(10)
    X = 100.0 * rng.normal(size=(50, 3))  # unscaled features
    y = X @ np.array([1.0, 2.0, 3.0])
    # per-sample steps: each multiplies the error by about eta0 * |x|^2 ~ 1e10, so the
    # loss overflows to infinity within the first epoch
    reg = LinearRegressor(optimizer="sgd", learning_rate="constant", eta0=1e6,
                          batch_size=1, max_iter=5, tol=None)
    with pytest.raises(DivergenceError, match="eta0"):
        reg.fit(sp.csr_matrix(X) if sparse else X, y)
