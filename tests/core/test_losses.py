"""Per-sample losses of ``sklearn_train._core.losses`` against mathematics.

The compiled ``loss_grad`` is called directly: its derivative is checked against
central finite differences of its own value, and its value against closed-form
formulas, SciPy and scikit-learn's loss module.
"""

import numpy as np
import pytest
from scipy.special import log_softmax, softmax
from sklearn._loss import loss as sk_loss
from sklearn.metrics import hinge_loss, mean_pinball_loss

from sklearn_train._core import losses as L

# Central differences with step H have truncation error ~ H^2 * f''' and rounding
# error ~ 1e-16 * |f| / H; at H = 1e-6 both stay far below the tolerance, which still
# catches any wrong factor or sign in a derivative.
H = 1e-6
FD_RTOL = 1e-6
FD_ATOL = 1e-6
# Points closer than this to a kink of a piecewise loss are redrawn.
KINK_GAP = 1e-3
N_POINTS = 40


def call(code, z, Y, i=0, param=0.0):
    """``(loss, dz)`` from ``loss_grad`` for row ``i`` of ``Y`` at raw outputs ``z``."""
    z = np.ascontiguousarray(z, dtype=np.float64)
    Y = np.ascontiguousarray(np.atleast_2d(Y), dtype=np.float64)
    dz = np.full(z.shape[0], np.nan)
    value = L.loss_grad(code, z, Y, i, dz, float(param))
    return value, dz


def finite_difference(code, z, Y, i, param):
    """Central-difference gradient of the loss value ``loss_grad`` returns."""
    grad = np.empty_like(z)
    for k in range(z.shape[0]):
        step = np.zeros_like(z)
        step[k] = H
        plus, _ = call(code, z + step, Y, i, param)
        minus, _ = call(code, z - step, Y, i, param)
        grad[k] = (plus - minus) / (2 * H)
    return grad


def away_from(values, kinks, draw):
    """Redraw entries of ``values`` within KINK_GAP of any kink, using ``draw(n)``."""
    values = np.array(values, dtype=np.float64)
    while True:
        near = np.zeros(values.shape, dtype=bool)
        for kink in kinks:
            near |= np.abs(values - kink) < KINK_GAP
        if not near.any():
            return values
        values[near] = draw(int(near.sum()))


# -- sampling of (z, Y) points per loss family --------------------------------------


def margin_points(rng, K):
    """Targets in {-1, +1}; margins y * z kept away from the kinks at -1, 0 and 1."""
    Y = rng.choice([-1.0, 1.0], size=(N_POINTS, K))
    margins = away_from(rng.uniform(-3, 3, (N_POINTS, K)), (-1.0, 0.0, 1.0),
                        lambda n: rng.uniform(-3, 3, n))
    return margins * Y, Y  # z = m / y = m * y


def softmax_points(rng, K):
    """One-hot targets over K classes, raw outputs of moderate size."""
    Y = np.eye(K)[rng.integers(0, K, N_POINTS)]
    return rng.normal(0, 2, (N_POINTS, K)), Y


def residual_points(kinks):
    """Real targets; residuals z - y kept away from ``kinks`` (and their negatives)."""

    def sample(rng, K):
        Y = rng.normal(0, 2, (N_POINTS, K))
        points = list(kinks) + [-k for k in kinks]
        r = away_from(rng.uniform(-3, 3, (N_POINTS, K)), points,
                      lambda n: rng.uniform(-3, 3, n))
        return Y + r, Y

    return sample


def log_link_points(target):
    """Targets drawn by ``target(rng, shape)``; z, the log of the mean, in [-2, 2.5]."""

    def sample(rng, K):
        Y = target(rng, (N_POINTS, K))
        return rng.uniform(-2, 2.5, (N_POINTS, K)), Y

    return sample


def non_negative(rng, shape):
    return rng.poisson(2.0, shape).astype(np.float64)  # includes zeros


def positive(rng, shape):
    return rng.gamma(2.0, 1.5, shape) + 1e-3


def real(rng, shape):
    return rng.normal(1.0, 2.0, shape)


# (id, code, param, sampler, outputs K)
CASES = [
    ("hinge", L.HINGE, 0.0, margin_points, (1, 3)),
    ("squared_hinge", L.SQUARED_HINGE, 0.0, margin_points, (1, 3)),
    ("modified_huber", L.MODIFIED_HUBER, 0.0, margin_points, (1, 3)),
    ("perceptron", L.PERCEPTRON, 0.0, margin_points, (1, 3)),
    ("log", L.LOG, 0.0, margin_points, (1, 3)),
    ("focal_g0", L.FOCAL, 0.0, margin_points, (1, 3)),
    ("focal_g0.5", L.FOCAL, 0.5, margin_points, (1, 3)),
    ("focal_g2", L.FOCAL, 2.0, margin_points, (1, 3)),
    ("softmax_log", L.SOFTMAX_LOG, 0.0, softmax_points, (2, 3, 5)),
    ("softmax_focal_g0.5", L.SOFTMAX_FOCAL, 0.5, softmax_points, (2, 3, 5)),
    ("softmax_focal_g2", L.SOFTMAX_FOCAL, 2.0, softmax_points, (2, 3, 5)),
    ("squared", L.SQUARED, 0.0, residual_points(()), (1, 3)),
    ("huber", L.HUBER, 0.7, residual_points((0.7,)), (1, 3)),
    ("epsilon_insensitive", L.EPSILON_INSENSITIVE, 0.3, residual_points((0.3,)), (1, 3)),
    ("squared_epsilon_insensitive", L.SQUARED_EPSILON_INSENSITIVE, 0.3,
     residual_points((0.3,)), (1, 3)),
    ("quantile_0.2", L.QUANTILE, 0.2, residual_points((0.0,)), (1, 3)),
    ("quantile_0.9", L.QUANTILE, 0.9, residual_points((0.0,)), (1, 3)),
    ("poisson", L.POISSON, 0.0, log_link_points(non_negative), (1, 3)),
    ("gamma", L.GAMMA, 0.0, log_link_points(positive), (1, 3)),
    ("tweedie_0", L.TWEEDIE, 0.0, log_link_points(real), (1, 3)),
    ("tweedie_1", L.TWEEDIE, 1.0, log_link_points(non_negative), (1, 3)),
    ("tweedie_1.5", L.TWEEDIE, 1.5, log_link_points(non_negative), (1, 3)),
    ("tweedie_2", L.TWEEDIE, 2.0, log_link_points(positive), (1, 3)),
    ("tweedie_3", L.TWEEDIE, 3.0, log_link_points(positive), (1, 3)),
]

FD_CASES = [
    pytest.param(code, param, sampler, K, id=f"{name}-K{K}")
    for name, code, param, sampler, Ks in CASES
    for K in Ks
]


def test_every_loss_code_is_covered():
    """A new loss code must get a finite-difference case too."""
    codes = {getattr(L, name) for name in dir(L) if name.isupper() and
             isinstance(getattr(L, name), int)}
    assert codes == {code for _, code, _, _, _ in CASES}


@pytest.mark.parametrize("code, param, sampler, K", FD_CASES)
def test_gradient_matches_finite_differences(code, param, sampler, K):
    rng = np.random.default_rng(1000 * code + K)
    Z, Y = sampler(rng, K)
    for i in range(Z.shape[0]):
        # the row index must select the target row: pass all of Y, not a copy of row i
        value, dz = call(code, Z[i], Y, i, param)
        assert np.isfinite(value)
        expected = finite_difference(code, Z[i], Y, i, param)
        np.testing.assert_allclose(dz, expected, rtol=FD_RTOL, atol=FD_ATOL,
                                   err_msg=f"row {i}: z={Z[i]}, y={Y[i]}")


# -- values of classification losses --------------------------------------------------


def evaluate(code, Z, Y, param=0.0):
    """Per-row losses ``(n,)`` and gradients ``(n, K)`` of raw outputs ``Z``."""
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    pairs = [call(code, Z[i], Y, i, param) for i in range(Z.shape[0])]
    return np.array([value for value, _ in pairs]), np.array([dz for _, dz in pairs])


@pytest.fixture
def margin_data():
    rng = np.random.default_rng(7)
    return margin_points(rng, 3)


def margin_rows(code, Z, Y, param=0.0):
    return evaluate(code, Z, Y, param)[0]


def test_margin_losses_match_formulas(margin_data):
    Z, Y = margin_data
    m = Y * Z  # margins; each loss sums its per-output values
    expected = {
        L.HINGE: np.maximum(0, 1 - m),
        L.SQUARED_HINGE: np.maximum(0, 1 - m) ** 2,
        L.MODIFIED_HUBER: np.where(m >= -1, np.maximum(0, 1 - m) ** 2, -4 * m),
        L.PERCEPTRON: np.maximum(0, -m),
        L.LOG: np.logaddexp(0, -m),
    }
    for code, per_output in expected.items():
        np.testing.assert_allclose(margin_rows(code, Z, Y), per_output.sum(axis=1),
                                   rtol=1e-12, atol=1e-14, err_msg=f"code {code}")


def test_hinge_matches_sklearn_metric(margin_data):
    Z, Y = margin_data
    z, y = Z[:, :1], Y[:, :1]
    ours = margin_rows(L.HINGE, z, y)
    assert ours.mean() == pytest.approx(hinge_loss(y[:, 0], z[:, 0]), rel=1e-12)


def test_log_matches_sklearn_half_binomial(margin_data):
    Z, Y = margin_data
    z, y = Z[:, :1], Y[:, :1]
    values, grads = evaluate(L.LOG, z, y)
    y01 = (y[:, 0] + 1) / 2  # scikit-learn encodes the classes as 0 / 1
    raw = np.ascontiguousarray(z[:, 0])
    binomial = sk_loss.HalfBinomialLoss()
    np.testing.assert_allclose(values, binomial.loss(y_true=y01, raw_prediction=raw),
                               rtol=1e-12)
    # d/dz with y in {-1, 1} equals scikit-learn's d/draw with y in {0, 1}
    np.testing.assert_allclose(grads[:, 0], binomial.gradient(y_true=y01, raw_prediction=raw),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_binary_focal_matches_formula(margin_data, gamma):
    Z, Y = margin_data
    p = 1 / (1 + np.exp(-(Y * Z)))  # probability of the true class
    expected = (-((1 - p) ** gamma) * np.log(p)).sum(axis=1)
    np.testing.assert_allclose(margin_rows(L.FOCAL, Z, Y, gamma), expected, rtol=1e-10)


def test_focal_with_gamma_zero_is_log_loss(margin_data):
    Z, Y = margin_data
    for i in range(Z.shape[0]):
        focal, d_focal = call(L.FOCAL, Z[i], Y, i, 0.0)
        log, d_log = call(L.LOG, Z[i], Y, i, 0.0)
        assert focal == pytest.approx(log, rel=1e-12)
        np.testing.assert_allclose(d_focal, d_log, rtol=1e-12, atol=1e-15)


def test_softmax_log_is_cross_entropy():
    rng = np.random.default_rng(3)
    Z, Y = softmax_points(rng, 4)
    for i in range(Z.shape[0]):
        value, dz = call(L.SOFTMAX_LOG, Z[i], Y, i)
        c = np.argmax(Y[i])
        assert value == pytest.approx(-log_softmax(Z[i])[c], rel=1e-12)
        np.testing.assert_allclose(dz, softmax(Z[i]) - Y[i], rtol=1e-12, atol=1e-15)


def test_softmax_log_accepts_a_probability_row():
    """Soft targets: the loss is the cross-entropy -sum_k y_k log p_k."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=5)
    y = rng.dirichlet(np.ones(5))[None, :]
    value, dz = call(L.SOFTMAX_LOG, z, y)
    assert value == pytest.approx(-(y[0] * log_softmax(z)).sum(), rel=1e-12)
    np.testing.assert_allclose(dz, softmax(z) - y[0], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_softmax_focal_matches_formula(gamma):
    rng = np.random.default_rng(5)
    Z, Y = softmax_points(rng, 3)
    for i in range(Z.shape[0]):
        p_c = softmax(Z[i])[np.argmax(Y[i])]
        value, _ = call(L.SOFTMAX_FOCAL, Z[i], Y, i, gamma)
        assert value == pytest.approx(-((1 - p_c) ** gamma) * np.log(p_c), rel=1e-10)


def test_softmax_focal_with_gamma_zero_is_softmax_log():
    rng = np.random.default_rng(6)
    Z, Y = softmax_points(rng, 4)
    for i in range(Z.shape[0]):
        focal, d_focal = call(L.SOFTMAX_FOCAL, Z[i], Y, i, 0.0)
        log, d_log = call(L.SOFTMAX_LOG, Z[i], Y, i, 0.0)
        assert focal == pytest.approx(log, rel=1e-12)
        np.testing.assert_allclose(d_focal, d_log, rtol=1e-12, atol=1e-15)


# -- numerical stability ---------------------------------------------------------------


@pytest.mark.parametrize("code, param", [(L.LOG, 0.0), (L.FOCAL, 0.0), (L.FOCAL, 0.5),
                                         (L.FOCAL, 2.0)])
@pytest.mark.parametrize("z", [-1e3, 1e3])
def test_binary_losses_are_finite_at_huge_outputs(code, param, z):
    for y in (-1.0, 1.0):
        value, dz = call(code, np.array([z]), np.array([[y]]), 0, param)
        m = y * z
        assert np.isfinite(value) and np.isfinite(dz).all()
        if m < 0:  # confidently wrong: loss ~ -m, slope of size 1 toward the target
            assert value == pytest.approx(-m, rel=1e-12)
            assert dz[0] == pytest.approx(-y, rel=1e-12)
        else:  # confidently right: nothing left to learn
            assert value == pytest.approx(0.0, abs=1e-300)
            assert dz[0] == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("code, param", [(L.SOFTMAX_LOG, 0.0), (L.SOFTMAX_FOCAL, 0.0),
                                         (L.SOFTMAX_FOCAL, 2.0)])
def test_softmax_losses_are_finite_at_huge_outputs(code, param):
    z = np.array([1e3, -1e3, 0.0])
    wrong = np.array([[0.0, 1.0, 0.0]])  # p(true class) = exp(-2000)
    value, dz = call(code, z, wrong, 0, param)
    assert value == pytest.approx(2e3, rel=1e-12)
    np.testing.assert_allclose(dz, [1.0, -1.0, 0.0], atol=1e-12)
    right = np.array([[1.0, 0.0, 0.0]])
    value, dz = call(code, z, right, 0, param)
    assert np.isfinite(value) and np.isfinite(dz).all()
    assert value == pytest.approx(0.0, abs=1e-300)
    np.testing.assert_allclose(dz, 0.0, atol=1e-300)


# -- values of regression losses ------------------------------------------------------


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(11)
    Y = rng.normal(0, 2, (60, 1))
    return Y + rng.uniform(-3, 3, Y.shape), Y


def regression_rows(code, Z, Y, param=0.0):
    return evaluate(code, Z, Y, param)[0]


def test_squared_error_is_half_squared_residual(regression_data):
    Z, Y = regression_data
    np.testing.assert_allclose(regression_rows(L.SQUARED, Z, Y),
                               0.5 * (Z - Y)[:, 0] ** 2, rtol=1e-12)


def test_huber_matches_sklearn(regression_data):
    Z, Y = regression_data
    huber = sk_loss.HuberLoss(delta=0.7)
    expected = huber.loss(y_true=Y[:, 0], raw_prediction=np.ascontiguousarray(Z[:, 0]))
    np.testing.assert_allclose(regression_rows(L.HUBER, Z, Y, 0.7), expected, rtol=1e-12)


def test_epsilon_insensitive_losses_match_formulas(regression_data):
    Z, Y = regression_data
    excess = np.maximum(0, np.abs(Z - Y)[:, 0] - 0.3)
    np.testing.assert_allclose(regression_rows(L.EPSILON_INSENSITIVE, Z, Y, 0.3), excess,
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(regression_rows(L.SQUARED_EPSILON_INSENSITIVE, Z, Y, 0.3),
                               excess**2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("level", [0.1, 0.5, 0.85])
def test_quantile_is_pinball_loss(regression_data, level):
    Z, Y = regression_data
    ours = regression_rows(L.QUANTILE, Z, Y, level)
    assert ours.mean() == pytest.approx(mean_pinball_loss(Y[:, 0], Z[:, 0], alpha=level),
                                        rel=1e-12)
    pinball = sk_loss.PinballLoss(quantile=level)
    np.testing.assert_allclose(
        ours, pinball.loss(y_true=Y[:, 0], raw_prediction=np.ascontiguousarray(Z[:, 0])),
        rtol=1e-12, atol=1e-15)


# (id, code, param, scikit-learn loss, target sampler)
LOG_LINK = [
    ("poisson", L.POISSON, 0.0, sk_loss.HalfPoissonLoss(), non_negative),
    ("gamma", L.GAMMA, 0.0, sk_loss.HalfGammaLoss(), positive),
    ("tweedie_0", L.TWEEDIE, 0.0, sk_loss.HalfTweedieLoss(power=0.0), real),
    ("tweedie_1", L.TWEEDIE, 1.0, sk_loss.HalfTweedieLoss(power=1.0), non_negative),
    ("tweedie_1.5", L.TWEEDIE, 1.5, sk_loss.HalfTweedieLoss(power=1.5), non_negative),
    ("tweedie_2", L.TWEEDIE, 2.0, sk_loss.HalfTweedieLoss(power=2.0), positive),
    ("tweedie_3", L.TWEEDIE, 3.0, sk_loss.HalfTweedieLoss(power=3.0), positive),
]


@pytest.mark.parametrize("code, param, sk, target", [pytest.param(*c[1:], id=c[0])
                                                     for c in LOG_LINK])
def test_log_link_losses_match_sklearn_up_to_a_constant(code, param, sk, target):
    """scikit-learn drops terms that depend on y only; the difference must not move
    with z, and the gradients must agree exactly."""
    rng = np.random.default_rng(21)
    y = target(rng, (30, 1))
    offsets = []
    for z in (-1.0, 2.0, 0.3):
        raw = np.full(30, z)
        values, grads = evaluate(code, raw[:, None], y, param)
        offsets.append(values - sk.loss(y_true=y[:, 0], raw_prediction=raw))
        np.testing.assert_allclose(grads[:, 0], sk.gradient(y_true=y[:, 0],
                                                            raw_prediction=raw),
                                   rtol=1e-10, atol=1e-12)
    # the offset is a function of y alone: the same at every z
    np.testing.assert_allclose(offsets[1], offsets[0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(offsets[2], offsets[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("code, param", [(L.POISSON, 0.0), (L.GAMMA, 0.0),
                                         (L.TWEEDIE, 0.0), (L.TWEEDIE, 1.5),
                                         (L.TWEEDIE, 3.0)])
def test_half_deviance_is_zero_at_a_perfect_prediction(code, param):
    y = np.array([[0.05], [1.0], [3.7], [40.0]])
    for i in range(y.shape[0]):
        value, dz = call(code, np.log(y[i]), y, i, param)
        # loss ~ y at these magnitudes: the rounding of exp(log(y)) is all that remains
        assert value == pytest.approx(0.0, abs=1e-12 * y[i, 0])
        assert dz[0] == pytest.approx(0.0, abs=1e-12 * y[i, 0])


@pytest.mark.parametrize("power, code, target", [(1.0, L.POISSON, non_negative),
                                                 (2.0, L.GAMMA, positive)])
def test_tweedie_power_one_and_two_are_poisson_and_gamma(power, code, target):
    rng = np.random.default_rng(31)
    Z, Y = log_link_points(target)(rng, 2)
    for i in range(Z.shape[0]):
        tweedie, d_tweedie = call(L.TWEEDIE, Z[i], Y, i, power)
        other, d_other = call(code, Z[i], Y, i, 0.0)
        assert tweedie == other
        np.testing.assert_array_equal(d_tweedie, d_other)


@pytest.mark.parametrize("power, code", [(1.0, L.POISSON), (2.0, L.GAMMA)])
def test_tweedie_deviance_is_continuous_in_the_power(power, code):
    """The general formula near p = 1 and p = 2 approaches the special cases
    (the unit deviance is continuous in p; the change is O(|p - power|))."""
    rng = np.random.default_rng(32)
    Z, Y = log_link_points(positive)(rng, 1)
    for i in range(Z.shape[0]):
        exact, d_exact = call(code, Z[i], Y, i)
        for near in (power - 1e-6, power + 1e-6):
            if near < 1.0:
                continue  # no Tweedie distribution between 0 and 1
            value, dz = call(L.TWEEDIE, Z[i], Y, i, near)
            assert value == pytest.approx(exact, rel=1e-4, abs=1e-4)
            np.testing.assert_allclose(dz, d_exact, rtol=1e-4, atol=1e-4)


# -- mean over rows -------------------------------------------------------------------


@pytest.mark.parametrize("code, param, sampler, K", [
    pytest.param(L.LOG, 0.0, margin_points, 1, id="log"),
    pytest.param(L.HINGE, 0.0, margin_points, 3, id="hinge-K3"),
    pytest.param(L.SOFTMAX_FOCAL, 2.0, softmax_points, 3, id="softmax_focal"),
    pytest.param(L.HUBER, 0.7, residual_points((0.7,)), 2, id="huber-K2"),
    pytest.param(L.TWEEDIE, 1.5, log_link_points(non_negative), 1, id="tweedie"),
])
def test_mean_loss_is_weighted_mean_of_row_losses(code, param, sampler, K):
    rng = np.random.default_rng(41)
    Z, Y = sampler(rng, K)
    weight = rng.uniform(0, 3, Z.shape[0])
    weight[:5] = 0.0  # zero-weight rows must not count
    rows = evaluate(code, Z, Y, param)[0]
    expected = np.average(rows, weights=weight)
    ours = L.mean_loss(code, np.ascontiguousarray(Z), np.ascontiguousarray(Y), weight,
                       float(param))
    assert ours == pytest.approx(expected, rel=1e-12)
