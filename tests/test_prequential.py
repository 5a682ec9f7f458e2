"""Prequential evaluation: ``progressive_val_score`` against the test-then-train loop
written out by hand, for our compiled path and for the block-by-block one."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import (accuracy_score, mean_absolute_error, mean_squared_error,
                             root_mean_squared_error)

from sklearn_train import LinearClassifier, LinearRegressor, MLPClassifier
from sklearn_train.evaluation import progressive_val_score


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def hand_loop(model, X, y, batch_size, method="predict", **fit_params):
    """Predict each block, then learn it; the first block only learns."""
    model.partial_fit(X[:batch_size], y[:batch_size], **fit_params)
    predictions = []
    for start in range(batch_size, len(y), batch_size):
        block = slice(start, start + batch_size)
        predictions.append(getattr(model, method)(X[block]))
        model.partial_fit(X[block], y[block], **fit_params)
    return np.concatenate(predictions), model


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "multiclass"])
def test_compiled_pass_equals_the_hand_loop(digits, batch_size, binary):
    X, y = digits
    if binary:
        y = (y == 3).astype(int)
    model = LinearClassifier(random_state=0)
    result = progressive_val_score(model, X, y, "accuracy", batch_size=batch_size)
    assert result.fast
    expected, trained = hand_loop(clone(model), X, y, batch_size, classes=np.unique(y))
    np.testing.assert_array_equal(result.predictions, expected)
    np.testing.assert_allclose(result.estimator.coef_, trained.coef_, rtol=1e-12,
                               atol=1e-12)
    # the curve is the accuracy of the predictions so far, at block ends
    for seen, value in zip(result.n_seen, result.curve):
        assert value == accuracy_score(y[batch_size:seen], expected[:seen - batch_size])
    assert result.n_seen[-1] == len(y) and result.score == result.curve[-1]
    assert not hasattr(model, "coef_")  # the estimator passed in is untouched


def test_regressor_probabilities_and_weights(digits):
    X, y = make_regression(300, 8, noise=5.0, random_state=0)
    y = y / y.std()
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    model = LinearRegressor(random_state=0)
    result = progressive_val_score(model, X, y, "mae", sample_weight=w)
    assert result.fast
    model.partial_fit(X[:1], y[:1], sample_weight=w[:1])
    expected = []
    for i in range(1, len(y)):
        expected.append(model.predict(X[i:i + 1])[0])
        model.partial_fit(X[i:i + 1], y[i:i + 1], sample_weight=w[i:i + 1])
    np.testing.assert_allclose(result.predictions, expected, rtol=1e-10, atol=1e-12)
    assert result.score == pytest.approx(mean_absolute_error(y[1:], expected))
    # probabilities from the recorded outputs, as predict_proba gives them
    X, y = digits
    result = progressive_val_score(LinearClassifier(random_state=0), X, y, "log_loss",
                                   batch_size=5)
    expected, _ = hand_loop(LinearClassifier(random_state=0), X, y, 5, "predict_proba",
                            classes=np.unique(y))
    assert result.fast
    np.testing.assert_allclose(result.predictions, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("model", [
    LinearClassifier(learning_rate="adaptive", random_state=0),  # a per-epoch schedule
    LinearClassifier(average=True, random_state=0),
    LinearClassifier(batch_size=2, random_state=0),  # smaller steps than the blocks
    SGDClassifier(random_state=0),
    MLPClassifier((8,), random_state=0),
], ids=["adaptive", "average", "small-batches", "sklearn-sgd", "mlp"])
def test_block_by_block_for_everything_else(digits, model):
    X, y = digits
    X, y = X[:150], (y[:150] > 4).astype(int)
    result = progressive_val_score(model, X, y, "accuracy", batch_size=4)
    assert not result.fast
    expected, trained = hand_loop(clone(model), X, y, 4, classes=np.unique(y))
    np.testing.assert_array_equal(result.predictions, expected)
    np.testing.assert_array_equal(result.estimator.predict(X), trained.predict(X))


def test_window_and_checkpoints(digits):
    X, y = digits
    result = progressive_val_score(LinearClassifier(random_state=0), X, y, "accuracy",
                                   window=50, n_checkpoints=7)
    assert len(result.curve) == 7 and result.n_seen[0] > 1
    truth = y[1:]
    for seen, value in zip(result.n_seen, result.curve):
        end = seen - 1
        begin = max(0, end - 50)
        assert value == accuracy_score(truth[begin:end], result.predictions[begin:end])


def test_a_fitted_model_continues_and_is_left_alone(digits):
    X, y = digits
    fitted = LinearClassifier(random_state=0).fit(X[:300], y[:300])
    coef = fitted.coef_.copy()
    # (the stream lacks class 0: the model's own classes are kept)
    stream = y[300:] != 0
    result = progressive_val_score(fitted, X[300:][stream], y[300:][stream], accuracy_score)
    assert result.predictions.shape == (stream.sum(),)
    result = progressive_val_score(fitted, X[300:], y[300:], accuracy_score)
    # nothing to warm up: every row is predicted, by a model that knows the task
    assert result.predictions.shape == (300,) and result.n_seen[-1] == 300
    assert result.score > 0.85
    np.testing.assert_array_equal(fitted.coef_, coef)


def test_a_stream_that_drifts_scores_lower_in_a_window_after_the_change(digits):
    # the rolling score sees the change; the cumulative one dilutes it
    X, y = digits
    flipped = np.where(np.arange(len(y)) < 300, y, (y + 1) % 10)
    result = progressive_val_score(LinearClassifier(random_state=0), X, flipped,
                                   "accuracy", window=60, n_checkpoints=60)
    after = (result.n_seen > 300) & (result.n_seen < 360)
    before = (result.n_seen > 240) & (result.n_seen <= 300)
    assert result.curve[after].min() < result.curve[before].mean() - 0.3


@pytest.mark.parametrize("kwargs, error, message", [
    ({"metric": "nope"}, ValueError, "unknown metric"),
    ({"metric": 3}, TypeError, "metric must be"),
    ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ({"n_checkpoints": 1.5}, ValueError, "n_checkpoints"),
    ({"window": -2}, ValueError, "window"),
    ({"response_method": "transform"}, ValueError, "response_method must be one of"),
    ({"y": np.zeros(5)}, ValueError, "one entry per row"),
    ({"X": np.zeros((0, 4)), "y": np.zeros(0)}, ValueError, "empty"),
    ({"sample_weight": np.ones(3)}, ValueError, "sample_weight must have"),
])
def test_bad_arguments(digits, kwargs, error, message):
    X, y = digits
    arguments = {"X": X[:20], "y": y[:20], "metric": "accuracy", **kwargs}
    estimator = LinearClassifier()
    with pytest.raises(error, match=message):
        progressive_val_score(estimator, **arguments)
    assert not hasattr(estimator, "coef_")


def test_estimators_without_partial_fit_or_the_response():
    from sklearn.linear_model import LogisticRegression, Perceptron
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(TypeError, match="partial_fit"):
        progressive_val_score(LogisticRegression(), X, y, "accuracy")
    with pytest.raises(ValueError, match="no predict_proba"):
        progressive_val_score(Perceptron(), X, y, "log_loss")


@pytest.mark.parametrize("metric, function", [
    ("mae", mean_absolute_error), ("mse", mean_squared_error),
    ("rmse", root_mean_squared_error)])
@pytest.mark.parametrize("window", [None, 40])
def test_running_curves_of_regression_metrics_equal_scikit_learns(metric, function, window):
    X, y = make_regression(400, 5, noise=5.0, random_state=0)
    result = progressive_val_score(LinearRegressor(random_state=0), X, y, metric,
                                   batch_size=3, window=window, n_checkpoints=9)
    truth = y[3:]
    for seen, value in zip(result.n_seen, result.curve):
        end = seen - 3
        begin = 0 if window is None else max(0, end - window)
        assert value == pytest.approx(function(truth[begin:end],
                                               result.predictions[begin:end]), rel=1e-12)
