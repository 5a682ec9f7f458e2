"""Edge cases of training found in review: each test pins a behaviour that was wrong."""

import numpy as np
import pytest
from scipy.special import log_softmax
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

from sklearn_train import DivergenceError, LinearClassifier, LinearRegressor


def three_classes(n=300, seed=0):
    X, y = make_classification(n, 6, n_informative=4, n_classes=3, n_clusters_per_class=1,
                               random_state=seed)
    return StandardScaler().fit_transform(X), y


def test_a_finite_blow_up_ends_with_divergence_error():
    X, y = make_regression(200, 5, noise=1, random_state=0)
    # features 30 times larger and a constant rate 100 times too large: the loss grows
    # every epoch without overflowing within the run
    model = LinearRegressor(eta0=1.0, learning_rate="constant", random_state=0)
    with pytest.raises(DivergenceError, match="training loss grew from .* eta0"):
        model.fit(30 * X, y)
    assert not hasattr(model, "coef_")


def test_a_momentum_overshoot_that_recovers_is_not_divergence():
    X, y = make_regression(400, 8, noise=5, random_state=0)
    # full-batch Nesterov overshoots for a few epochs (the loss grows over tenfold)
    # before it converges; only a fit that ends far above its best is divergence
    model = LinearRegressor(optimizer="nesterov", learning_rate="constant", eta0=0.3,
                            batch_size=400, shuffle=False, tol=None, max_iter=300)
    model.fit(X, y + 50)
    losses = [row["train_loss"] for row in model.history_]
    assert max(losses) > 10 * min(losses[:3])
    assert model.score(X, y + 50) > 0.99


def test_partial_fit_learns_a_class_missing_from_the_first_chunk():
    X, y = three_classes(3000)
    first = y != 2  # the first chunk shows classes 0 and 1 only
    model = LinearClassifier(random_state=0)
    model.partial_fit(X[first][:300], y[first][:300], classes=[0, 1, 2])
    for chunk in np.array_split(np.arange(3000), 10):
        model.partial_fit(X[chunk], y[chunk])
    assert np.mean(model.predict(X) == y) > 0.85
    assert np.mean(model.predict(X[y == 2]) == 2) > 0.8


def test_cosine_schedule_restarts_with_each_warm_started_fit():
    X, y = three_classes()
    model = LinearClassifier(learning_rate="cosine", max_iter=4, tol=None,
                             warm_start=True, random_state=0)
    model.fit(X, y)
    first = model.coef_.copy()
    model.fit(X, y)
    rates = [row["learning_rate"] for row in model.history_]
    assert rates[4] == pytest.approx(rates[0])  # the second fit starts again at eta0
    assert not np.allclose(model.coef_, first)


def test_coef_init_overrides_a_warm_start():
    X, y = three_classes()
    model = LinearClassifier(max_iter=2, tol=None, warm_start=True, random_state=0)
    model.fit(X, y)
    start = np.full((3, X.shape[1]), 5.0)
    model.set_params(max_iter=1, eta0=1e-9).fit(X, y, coef_init=start,
                                                intercept_init=np.zeros(3))
    np.testing.assert_allclose(model.coef_, start, atol=1e-6)


def test_switching_optimizer_on_a_warm_start_starts_its_moments_afresh():
    X, y = three_classes()
    model = LinearClassifier(optimizer="momentum", eta0=0.1, max_iter=5, tol=None,
                             warm_start=True, random_state=0).fit(X, y)
    # momentum's velocity (possibly negative) would be read as AdaGrad's sum of squares
    model.set_params(optimizer="adagrad").fit(X, y)
    assert np.all(model._state["moments"][0] >= 0)
    assert np.isfinite(model.coef_).all() and model.score(X, y) > 0.8


def test_adam_after_a_switch_steps_as_a_fresh_adam():
    """Adam's bias correction counts from the switch, not from the model's first
    step: continuing with Adam from SGD's parameters equals a new Adam fit started at
    them (same rows in the same order, constant rate)."""
    X, y = three_classes()
    settings = dict(eta0=0.01, learning_rate="constant", shuffle=False, tol=None,
                    batch_size=16, random_state=0)
    model = LinearClassifier(optimizer="sgd", max_iter=3, warm_start=True, **settings)
    model.fit(X, y)
    start_coef, start_intercept = model.coef_.copy(), model.intercept_.copy()
    model.set_params(optimizer="adam", max_iter=2).fit(X, y)
    fresh = LinearClassifier(optimizer="adam", max_iter=2, **settings)
    fresh.fit(X, y, coef_init=start_coef, intercept_init=start_intercept)
    np.testing.assert_allclose(model.coef_, fresh.coef_, rtol=1e-12, atol=1e-14)


def test_balanced_weights_come_from_the_training_labels_only():
    X, y = three_classes()
    X_val, y_val = X[:60][y[:60] != 2], y[:60][y[:60] != 2]  # no class 2 here
    model = LinearClassifier(class_weight="balanced", max_iter=3, tol=None,
                             random_state=0).fit(X[60:], y[60:], X_val=X_val, y_val=y_val)
    counts = np.bincount(y[60:])
    np.testing.assert_allclose(model._class_weights, len(y[60:]) / (3 * counts))
    # partial_fit goes on counting: the weights are those of all rows learned
    model.partial_fit(X[:30], y[:30])
    counts = counts + np.bincount(y[:30], minlength=3)
    np.testing.assert_array_equal(model.class_counts_, counts)
    np.testing.assert_allclose(model._class_weights, counts.sum() / (3 * counts))


def test_a_batch_larger_than_the_data_is_one_batch():
    X, y = three_classes(100)
    huge = LinearClassifier(batch_size=10**12, max_iter=3, tol=None, random_state=0)
    whole = LinearClassifier(batch_size=100, max_iter=3, tol=None, random_state=0)
    np.testing.assert_allclose(huge.fit(X, y).coef_, whole.fit(X, y).coef_)
    assert huge.t_ == 3


@pytest.mark.parametrize("Estimator", [LinearClassifier, LinearRegressor])
def test_negative_sample_weights_are_refused(Estimator):
    X, y = three_classes(50)
    weights = np.ones(50)
    weights[3] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        Estimator().fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match="Negative values .* `sample_weight_val`"):
        Estimator().fit(X, y, X_val=X, y_val=y, sample_weight_val=weights)


def test_log_probabilities_stay_finite_when_a_class_is_certain():
    X, y = make_classification(200, 4, random_state=0)
    binary = LinearClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)
    far = X[:3] * 1e4  # margins in the thousands: 1 - p rounds to 0
    log_p = binary.predict_log_proba(far)
    assert np.isfinite(log_p).all()
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0)
    X3, y3 = three_classes()
    multi = LinearClassifier(max_iter=5, tol=None, random_state=0).fit(X3, y3)
    far3 = X3[:3] * 1e4
    log_p3 = multi.predict_log_proba(far3)
    assert np.isfinite(log_p3).all()
    np.testing.assert_allclose(log_p3, log_softmax(multi.decision_function(far3), axis=1))


def test_auto_learning_rate_is_stable_on_unscaled_features():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=100.0, size=(300, 3))  # a fixed rate of 0.01 diverges here
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=300)
    model = LinearRegressor(random_state=0).fit(X, y)
    expected = 1.0 / (np.mean(np.sum(X**2, axis=1)) + 1.0)
    assert model.history_[0]["learning_rate"] <= expected
    assert np.isfinite(model.coef_).all()
    with pytest.raises(DivergenceError):
        LinearRegressor(eta0=0.01, random_state=0).fit(X, y)


def test_set_params_between_partial_fit_calls_takes_effect():
    """eta0 and class_weight changed between partial_fit calls apply from the next
    call (they were kept from the first call)."""
    X, y = three_classes()
    model = LinearClassifier(eta0=0.1, learning_rate="constant", random_state=0)
    model.partial_fit(X, y, classes=np.unique(y))
    before = model.coef_.copy()
    model.set_params(eta0=1e-12).partial_fit(X, y)
    np.testing.assert_allclose(model.coef_, before, atol=1e-9)
    assert model.history_[-1]["learning_rate"] == 1e-12

    weighted = LinearClassifier(class_weight={0: 1.0, 1: 1.0, 2: 1.0}, random_state=0)
    weighted.partial_fit(X, y, classes=np.unique(y))
    weighted.set_params(class_weight={0: 1.0, 1: 5.0, 2: 1.0}).partial_fit(X, y)
    np.testing.assert_array_equal(weighted._class_weights, [1.0, 5.0, 1.0])


def test_auto_eta0_is_resolved_again_when_the_optimizer_changes():
    """eta0="auto" depends on the optimizer: a switch between partial_fit calls gets
    the new optimizer's rate (SGD's was kept: 10x too large for momentum)."""
    X, y = three_classes()
    model = LinearClassifier(eta0="auto", optimizer="sgd", learning_rate="constant",
                             random_state=0)
    model.partial_fit(X, y, classes=np.unique(y))
    sgd_rate = model.history_[-1]["learning_rate"]
    model.partial_fit(X, y)
    assert model.history_[-1]["learning_rate"] == sgd_rate  # unchanged: kept
    model.set_params(optimizer="momentum", momentum=0.9).partial_fit(X, y)
    assert model.history_[-1]["learning_rate"] == pytest.approx(0.1 * sgd_rate)
