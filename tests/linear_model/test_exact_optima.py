"""Full-batch training reaches the optimum of scikit-learn's exact solvers.

Our objective is ``mean(sample_weight * loss) + alpha * penalty`` with the L2 penalty
``||w||^2 / 2``. The scikit-learn objectives map onto it as:

* LogisticRegression: ``C * sum(loss) + ||w||^2 / 2``, so ``C = 1 / (alpha * n)``;
* Ridge: ``||y - Xw||^2 + alpha_ridge * ||w||^2`` with our half squared error, so
  ``alpha_ridge = alpha * n``;
* PoissonRegressor: ``mean(half deviance) + alpha / 2 * ||w||^2``, the same alpha;
* QuantileRegressor: ``mean(pinball) + alpha * ||w||_1``, the same alpha (0 here).

With ``batch_size = n_samples`` and ``shuffle=False`` every step is a full gradient
step, so the smooth problems converge to the solver's answer up to the solver's own
tolerance. The reference solvers run with tight tolerances; the gaps asserted below
are far larger than what was measured (about 1e-8) but far smaller than any
difference a wrong gradient, penalty scaling or intercept would make.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LogisticRegression,
    PoissonRegressor,
    QuantileRegressor,
    Ridge,
)
from sklearn.metrics import log_loss, mean_pinball_loss, mean_poisson_deviance
from sklearn.preprocessing import StandardScaler

from sklearn_train import LinearClassifier, LinearRegressor

ALPHA = 1e-2
N = 400


def full_batch(**params):
    params.setdefault("learning_rate", "constant")
    return dict(batch_size=N, shuffle=False, tol=None, alpha=ALPHA, **params)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(N, 8, n_informative=5, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(N, 8, n_informative=5, n_classes=3, random_state=0)
    return StandardScaler().fit_transform(X), y


def penalised_log_loss(model, X, y):
    return log_loss(y, model.predict_proba(X)) + ALPHA / 2 * np.sum(model.coef_**2)


@pytest.mark.parametrize("optimizer, eta0, epochs", [
    ("sgd", 1.0, 2000),  # plain gradient descent: slowest, step 1/L-sized
    ("nesterov", 0.5, 500),
    ("adam", 0.05, 2000),
])
def test_binary_log_loss_matches_lbfgs(binary, optimizer, eta0, epochs):
    X, y = binary
    reference = LogisticRegression(C=1 / (ALPHA * N), tol=1e-12, max_iter=10_000).fit(X, y)
    model = LinearClassifier(**full_batch(optimizer=optimizer, eta0=eta0, max_iter=epochs))
    model.fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-6)
    assert penalised_log_loss(model, X, y) == pytest.approx(
        penalised_log_loss(reference, X, y), rel=1e-9
    )


def test_multinomial_log_loss_matches_lbfgs(three_classes):
    X, y = three_classes
    reference = LogisticRegression(C=1 / (ALPHA * N), tol=1e-12, max_iter=10_000).fit(X, y)
    model = LinearClassifier(**full_batch(optimizer="nesterov", eta0=0.5, max_iter=1000))
    model.fit(X, y)
    assert model.coef_.shape == reference.coef_.shape == (3, 8)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    # softmax intercepts are unpenalised, so only their differences are determined
    np.testing.assert_allclose(
        model.intercept_ - model.intercept_.mean(),
        reference.intercept_ - reference.intercept_.mean(),
        atol=1e-6,
    )
    assert penalised_log_loss(model, X, y) == pytest.approx(
        penalised_log_loss(reference, X, y), rel=1e-9
    )


def test_squared_error_matches_ridge():
    X, y = make_regression(N, 8, noise=5, random_state=0)
    y = y + 50  # an offset the intercept must learn
    reference = Ridge(alpha=ALPHA * N).fit(X, y)
    model = LinearRegressor(**full_batch(optimizer="nesterov", learning_rate="constant",
                                         eta0=0.3, max_iter=500)).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-8)
    np.testing.assert_allclose(model.intercept_, [reference.intercept_], atol=1e-8)

    def objective(m):
        return (np.mean((y - m.predict(X)) ** 2) / 2
                + ALPHA / 2 * np.sum(np.ravel(m.coef_) ** 2))

    assert objective(model) == pytest.approx(objective(reference), rel=1e-12)


def test_poisson_matches_poisson_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 5)) * 0.5
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.5, 0.0, 0.1]) + 1.0))
    reference = PoissonRegressor(alpha=ALPHA, tol=1e-12, max_iter=1000).fit(X, y)
    model = LinearRegressor(**full_batch(loss="poisson", optimizer="nesterov",
                                         learning_rate="constant", eta0=0.1, max_iter=1000))
    model.fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, [reference.intercept_], atol=1e-6)
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-6)

    def objective(m):
        deviance = mean_poisson_deviance(y, m.predict(X))  # twice the mean half deviance
        return deviance / 2 + ALPHA / 2 * np.sum(m.coef_**2)

    assert objective(model) == pytest.approx(objective(reference), rel=1e-9)


def test_quantile_matches_quantile_regressor():
    """The pinball loss is not smooth: Adam with a cosine-annealed rate gets there.

    The linear program's optimum is flat in some directions, so coefficients are
    compared loosely and the objective tightly.
    """
    X, y = make_regression(N, 8, noise=5, random_state=0)
    y = y + 50
    reference = QuantileRegressor(quantile=0.8, alpha=0.0, solver="highs").fit(X, y)
    model = LinearRegressor(**full_batch(loss="quantile", quantile=0.8, penalty=None,
                                         optimizer="adam", learning_rate="cosine",
                                         eta0=0.5, max_iter=3000))
    model.fit(X, y)
    ours = mean_pinball_loss(y, model.predict(X), alpha=0.8)
    best = mean_pinball_loss(y, reference.predict(X), alpha=0.8)
    assert best <= ours <= best * (1 + 1e-5)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=0.1)


@pytest.mark.parametrize("optimizer, eta0, schedule", [
    ("sgd", 0.1, "constant"),  # cumulative L1 penalty
    ("momentum", 0.05, "constant"),  # proximal steps in each optimizer's own step size
    ("nesterov", 0.05, "constant"),
    ("adagrad", 0.5, "constant"),
    ("rmsprop", 0.05, "cosine"),  # fixed-size steps: annealed to settle exactly
    ("adam", 0.05, "cosine"),
    ("adamw", 0.05, "cosine"),
])
@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
def test_l1_penalties_match_lasso_and_elastic_net(optimizer, eta0, schedule, penalty):
    """Both use ``mean(r^2) / 2 + alpha * l1_ratio * |w|_1 + alpha * (1 - l1_ratio) / 2
    * |w|^2``; the zero weights must come out exactly zero."""
    if optimizer == "adamw" and penalty == "elasticnet":
        pytest.skip("AdamW decouples the L2 part on purpose: it does not minimise the "
                    "L2-penalised objective, so it has no ElasticNet optimum to match")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 8))
    y = X @ np.array([1.0, -0.5, 0.25, 0, 0, 0, 0, 0]) + 0.3 * rng.normal(size=200) + 2
    reference = (Lasso(alpha=0.1, tol=1e-12, max_iter=100_000) if penalty == "l1" else
                 ElasticNet(alpha=0.1, l1_ratio=0.5, tol=1e-12, max_iter=100_000)).fit(X, y)
    model = LinearRegressor(optimizer=optimizer, eta0=eta0, learning_rate=schedule,
                            penalty=penalty, l1_ratio=0.5, alpha=0.1, batch_size=200,
                            shuffle=False, tol=None, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-9)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)
