"""The learning-rate range test, ``lr_find``.

The suggestion is checked against a grid search: on each problem every ``eta0`` of
``np.geomspace(1e-4, 1, 12)`` trains a fresh copy at a constant rate for a fixed
budget (3 epochs of digits, 5 of the regression problem), the same ``random_state``
for all; the best is the one with the lowest training loss after that budget, as
scikit-learn's ``log_loss`` / ``mean_squared_error`` measure it on the training data.
The suggestion must lie within a factor of 3 of it (one grid step is 2.3x).
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_friedman1
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.preprocessing import scale

from sklearn_train import (Autoencoder, KMeans, LinearClassifier, LinearRegressor,
                           MLPClassifier, MLPRegressor, lr_find)
from sklearn_train.callbacks import LambdaCallback

GRID = np.geomspace(1e-4, 1.0, 12)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return scale(X), y


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(1000, 10, noise=0.5, random_state=0)
    return scale(X), (y - y.mean()) / y.std()


def _grid_best(estimator, X, y):
    """The eta0 of GRID with the lowest training loss after the estimator's budget."""
    losses = []
    for eta0 in GRID:
        model = clone(estimator).set_params(eta0=eta0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model.fit(X, y)
            except ValueError:  # diverged
                losses.append(np.inf)
                continue
        if hasattr(model, "predict_proba"):
            losses.append(log_loss(y, model.predict_proba(X)))
        else:
            losses.append(mean_squared_error(y, model.predict(X)))
    return GRID[int(np.argmin(losses))]


@pytest.mark.parametrize("problem", ["linear_classifier_digits", "mlp_regressor_friedman"])
def test_suggestion_is_near_the_best_eta0_of_a_grid(problem, digits, friedman):
    if problem == "linear_classifier_digits":
        X, y = digits
        estimator = LinearClassifier(learning_rate="constant", tol=None, max_iter=3,
                                     random_state=0)
    else:
        X, y = friedman
        estimator = MLPRegressor(hidden_layer_sizes=(32,), optimizer="sgd",
                                 learning_rate="constant", tol=None, max_iter=5,
                                 random_state=0)
    best = _grid_best(estimator, X, y)
    result = lr_find(estimator, X, y)
    assert best / 3 <= result.suggestion <= best * 3, (result.suggestion, best)


def _one_epoch_step_losses(estimator, X, y, rate):
    """The mini-batch losses of one fit epoch at a constant rate (a callback's)."""
    seen = []

    class Record(LambdaCallback):
        wants_step_losses = True

    record = Record(on_epoch_end=lambda run: seen.append(run.step_losses.copy()))
    clone(estimator).set_params(eta0=rate, learning_rate="constant", max_iter=1,
                                tol=None, callbacks=[record]).fit(X, y)
    return seen[0]


@pytest.mark.parametrize("make", [
    lambda: LinearClassifier(random_state=1),
    lambda: LinearRegressor(optimizer="momentum", random_state=1),
    lambda: MLPClassifier(hidden_layer_sizes=(8,), random_state=1),
    lambda: MLPRegressor(hidden_layer_sizes=(8,), optimizer="sgd", random_state=1),
    lambda: Autoencoder(hidden_layer_sizes=(4,), random_state=1),
], ids=["LinearClassifier", "LinearRegressor", "MLPClassifier", "MLPRegressor",
        "Autoencoder"])
def test_sweep_takes_the_steps_fit_takes(make, digits, friedman):
    """At (nearly) one rate, the sweep's losses are those of fit's first epoch: the
    same starting point, mini-batches in the same order, the same optimizer."""
    estimator = make().set_params(batch_size=32)
    X, y = friedman if "Regressor" in type(estimator).__name__ else digits
    X, y = X[:200], (None if isinstance(estimator, Autoencoder) else y[:200])
    expected = _one_epoch_step_losses(estimator, X, y, rate=0.05)
    n_steps = len(expected)  # 200 rows in batches of 32: 7 steps
    result = lr_find(estimator, X, y, start_lr=0.05, end_lr=0.05 * (1 + 1e-9),
                     num_steps=n_steps)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-6)
    assert not result.diverged


def test_rates_and_smoothing(digits):
    X, y = digits
    result = lr_find(LinearClassifier(random_state=0), X, y, start_lr=1e-6, end_lr=1e-2,
                     num_steps=40, smoothing=0.9)
    rates = result.learning_rates
    assert not result.diverged and len(rates) == 40
    assert rates[0] == pytest.approx(1e-6) and rates[-1] == pytest.approx(1e-2)
    # exponential: a constant ratio from step to step
    np.testing.assert_allclose(rates[1:] / rates[:-1], (1e4) ** (1 / 39))
    # the bias-corrected moving average, written as weighted means
    losses = result.losses
    for i in (0, 5, 39):
        weights = 0.9 ** np.arange(i, -1, -1)
        assert result.smoothed_losses[i] == pytest.approx(
            np.sum(weights * losses[:i + 1]) / weights.sum())


def test_divergence_stops_the_sweep(digits):
    X, y = digits
    result = lr_find(LinearClassifier(learning_rate="constant", random_state=0), X, y,
                     end_lr=1000.0, diverge_threshold=4.0)
    smoothed = result.smoothed_losses
    assert result.diverged and len(smoothed) < 100
    # it stopped at the first step whose smoothed loss passed 4x the best so far
    assert smoothed[-1] > 4 * smoothed.min()
    assert (smoothed[:-1] <= 4 * np.minimum.accumulate(smoothed[:-1])).all()


def test_non_finite_loss_stops_the_sweep(friedman):
    X, y = friedman
    # features 1e3 times too large: plain SGD overflows within a few steps
    result = lr_find(LinearRegressor(optimizer="sgd", random_state=0), X * 1e3, y,
                     start_lr=1e-3, end_lr=10.0, num_steps=50, diverge_threshold=1e300)
    assert result.diverged and len(result.losses) < 50
    assert np.isfinite(result.losses).all()


def test_estimator_is_left_unchanged(digits):
    X, y = digits
    unfitted = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    before = pickle.dumps(unfitted)
    lr_find(unfitted, X, y, num_steps=20)
    assert pickle.dumps(unfitted) == before
    assert not hasattr(unfitted, "n_features_in_")

    fitted = LinearClassifier(max_iter=2, tol=None, average=True, random_state=0)
    fitted.fit(X, y)
    before = pickle.dumps(fitted)
    lr_find(fitted, X, y, num_steps=20)
    assert pickle.dumps(fitted) == before


def test_warm_start_sweeps_from_the_fitted_parameters(digits):
    X, y = digits
    clf = LinearClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)
    before = pickle.dumps(clf)
    warm = lr_find(clf, X, y, warm_start=True, num_steps=20)
    fresh = lr_find(clf, X, y, num_steps=20)
    assert pickle.dumps(clf) == before
    # the first rates (below 1e-6) barely move the parameters: the losses are the
    # fitted model's, resp. the class prior's (fit starts at the class log-odds)
    fitted_loss = log_loss(y, clf.predict_proba(X))
    prior = np.bincount(y) / len(y)
    prior_loss = log_loss(y, np.tile(prior, (len(y), 1)))
    assert np.mean(warm.losses[:10]) == pytest.approx(fitted_loss, rel=0.5)
    assert np.mean(fresh.losses[:10]) == pytest.approx(prior_loss, rel=0.05)
    assert fitted_loss < prior_loss / 5


@pytest.mark.parametrize("kwargs, message", [
    ({"start_lr": 1.0, "end_lr": 1.0}, "start_lr < end_lr"),
    ({"start_lr": 0.0}, "start_lr < end_lr"),
    ({"end_lr": float("inf")}, "end_lr must be a finite number"),
    ({"num_steps": 1}, "num_steps must be an integer >= 2"),
    ({"num_steps": 10.0}, "num_steps must be an integer >= 2"),
    ({"smoothing": 1.0}, "smoothing must be in"),
    ({"diverge_threshold": 1.0}, "diverge_threshold must be > 1"),
])
def test_bad_arguments(kwargs, message, digits):
    X, y = digits
    with pytest.raises(ValueError, match=message):
        lr_find(LinearClassifier(), X, y, **kwargs)


@pytest.mark.parametrize("estimator", [KMeans(2), SGDClassifier()],
                         ids=["KMeans", "SGDClassifier"])
def test_estimators_it_cannot_drive(estimator, digits):
    X, y = digits
    with pytest.raises(ValueError, match="gradient-trained estimators"):
        lr_find(estimator, X, y)


def test_warm_start_needs_a_fitted_model(digits):
    X, y = digits
    with pytest.raises(NotFittedError, match="not fitted yet"):
        lr_find(LinearClassifier(), X, y, warm_start=True)
    averaged = LinearClassifier(average=True, max_iter=1, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="averaged model"):
        lr_find(averaged, X, y, warm_start=True)


def test_plot(digits):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = digits
    result = lr_find(LinearClassifier(random_state=0), X, y, end_lr=1000.0)
    display = result.plot()
    try:
        np.testing.assert_array_equal(display.lines_["loss"].get_xdata(),
                                      result.learning_rates)
        np.testing.assert_array_equal(display.lines_["smoothed_loss"].get_ydata(),
                                      result.smoothed_losses)
        assert display.lines_["suggestion"].get_xdata()[0] == result.suggestion
        assert display.ax_.get_xscale() == "log"
        # the y axis keeps the curve readable: the blow-up at the end is cut off
        assert display.ax_.get_ylim()[1] < result.losses.max()
    finally:
        plt.close(display.figure_)
