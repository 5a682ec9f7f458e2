"""Bad input and bad settings fail early with an error that names the problem.

Also: a run that diverges raises ``DivergenceError`` and leaves the estimator as it was.
"""

import copy

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.preprocessing import StandardScaler

from sklearn_train import DivergenceError, LinearClassifier, LinearRegressor

QUICK = dict(max_iter=2, tol=None, random_state=0)


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(120, 5, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(120, 5, noise=1.0, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(params=["classifier", "regressor"])
def problem(request, binary, regression):
    """``(Estimator, X, y)`` for each estimator."""
    if request.param == "classifier":
        return (LinearClassifier, *binary)
    return (LinearRegressor, *regression)


def with_value(X, value):
    X = X.copy()
    X[3, 2] = value
    return X


def first_partial_fit(estimator, X, y, **kwargs):
    if isinstance(estimator, LinearClassifier):
        kwargs.setdefault("classes", np.unique(y))
    return estimator.partial_fit(X, y, **kwargs)


# -- non-finite values -----------------------------------------------------------------


@pytest.mark.parametrize("value, message", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_X_is_refused_by_fit_partial_fit_and_predict(problem, value, message):
    Estimator, X, y = problem
    bad = with_value(X, value)
    with pytest.raises(ValueError, match=f"Input X contains {message}"):
        Estimator(**QUICK).fit(bad, y)
    with pytest.raises(ValueError, match=f"Input X contains {message}"):
        first_partial_fit(Estimator(**QUICK), bad, y)

    fitted = Estimator(**QUICK).fit(X, y)
    with pytest.raises(ValueError, match=f"Input X contains {message}"):
        fitted.partial_fit(bad, y)
    with pytest.raises(ValueError, match=f"Input X contains {message}"):
        fitted.predict(bad)


def test_non_finite_validation_data_is_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LinearClassifier(**QUICK).fit(X, y, X_val=with_value(X, np.nan), y_val=y)


@pytest.mark.parametrize("value, message", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_regression_target_is_refused(regression, value, message):
    X, y = regression
    y = y.copy()
    y[5] = value
    with pytest.raises(ValueError, match=f"Input y contains {message}"):
        LinearRegressor(**QUICK).fit(X, y)
    with pytest.raises(ValueError, match=f"Input y contains {message}"):
        LinearRegressor(**QUICK).partial_fit(X, y)


# -- shapes ----------------------------------------------------------------------------


def test_no_rows_is_refused(problem):
    Estimator, X, y = problem
    with pytest.raises(ValueError, match="0 sample"):
        Estimator(**QUICK).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="0 sample"):
        first_partial_fit(Estimator(**QUICK), X[:0], y[:0], **(
            {"classes": [0, 1]} if Estimator is LinearClassifier else {}))


def test_no_features_is_refused(problem):
    Estimator, X, y = problem
    with pytest.raises(ValueError, match="0 feature"):
        Estimator(**QUICK).fit(X[:, :0], y)


def test_mismatched_lengths_are_refused(problem):
    Estimator, X, y = problem
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator(**QUICK).fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        Estimator(**QUICK).fit(X, y, sample_weight=np.ones(len(y) - 1))


def test_wrong_number_of_features_after_fit_is_refused(problem):
    Estimator, X, y = problem
    fitted = Estimator(**QUICK).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 5"):
        fitted.predict(X[:, :3])
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 5"):
        fitted.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="X has 3 features, but .* expecting 5"):
        Estimator(**QUICK).fit(X, y, X_val=X[:, :3], y_val=y)


def test_coef_init_of_the_wrong_shape_is_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match=r"coef_init has shape \(4,\); expected \(1, 5\)"):
        LinearClassifier(**QUICK).fit(X, y, coef_init=np.zeros(4))
    with pytest.raises(ValueError, match=r"intercept_init has shape \(2,\); expected \(1,\)"):
        LinearClassifier(**QUICK).fit(X, y, intercept_init=np.zeros(2))
    # the right number of values in the wrong layout would scramble the weights
    X3 = np.hstack([X, X[:, :1]])[:, :6]
    y3 = np.arange(len(y)) % 3
    with pytest.raises(ValueError, match=r"coef_init has shape \(6, 3\); expected \(3, 6\)"):
        LinearClassifier(**QUICK).fit(X3, y3, coef_init=np.zeros((6, 3)))


def test_two_dimensional_classification_target(binary):
    X, y = binary
    # scikit-learn's convention: a column vector is accepted with a warning ...
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = LinearClassifier(**QUICK).fit(X, y[:, None])
    np.testing.assert_array_equal(column.coef_, LinearClassifier(**QUICK).fit(X, y).coef_)
    # ... several columns are an error
    with pytest.raises(ValueError, match="y should be a 1d array"):
        LinearClassifier(**QUICK).fit(X, np.c_[y, y])


def test_regression_target_dimensions_must_not_change(regression):
    X, y = regression
    reg = LinearRegressor(**QUICK).partial_fit(X, y)
    with pytest.raises(ValueError, match="same number of dimensions"):
        reg.partial_fit(X, np.c_[y, y])


# -- classes ---------------------------------------------------------------------------


def test_a_single_class_is_refused(binary):
    X, _ = binary
    with pytest.raises(ValueError, match="at least 2 classes"):
        LinearClassifier(**QUICK).fit(X, np.zeros(len(X), dtype=int))


def test_partial_fit_needs_classes_on_the_first_call(binary):
    X, y = binary
    with pytest.raises(ValueError, match="classes must be passed"):
        LinearClassifier(**QUICK).partial_fit(X, y)




def test_labels_outside_classes_are_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match=r"labels not among classes_.*\[2\]"):
        LinearClassifier(**QUICK).partial_fit(X, np.where(y == 1, 2, y), classes=[0, 1])
    clf = LinearClassifier(**QUICK).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="labels not among classes_"):
        clf.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="labels not among classes_"):
        LinearClassifier(**QUICK).fit(X, y, X_val=X, y_val=y + 7)


# -- parameters -------------------------------------------------------------------------


@pytest.mark.parametrize("name, value", [
    ("loss", "nope"),
    ("optimizer", "nope"),
    ("learning_rate", "nope"),
    ("penalty", "nope"),
    ("alpha", -1.0),
    ("batch_size", 0),
    ("eta0", 0.0),
    ("max_iter", 0),
    ("validation_fraction", 1.0),
    ("beta_1", 1.0),
])
def test_invalid_parameter_values_are_refused(problem, name, value):
    Estimator, X, y = problem
    # scikit-learn's InvalidParameterError is a ValueError naming the parameter
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        Estimator(**QUICK).set_params(**{name: value}).fit(X, y)
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        first_partial_fit(Estimator(**QUICK).set_params(**{name: value}), X, y)


def test_optimal_schedule_needs_positive_alpha(problem):
    Estimator, X, y = problem
    with pytest.raises(ValueError, match="learning_rate='optimal' needs alpha > 0"):
        Estimator(learning_rate="optimal", alpha=0.0, **QUICK).fit(X, y)


def test_validation_data_needs_both_X_val_and_y_val(problem):
    Estimator, X, y = problem
    with pytest.raises(ValueError, match="Pass both X_val and y_val"):
        Estimator(**QUICK).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="Pass both X_val and y_val"):
        Estimator(**QUICK).fit(X, y, y_val=y)


def test_early_stopping_needs_enough_rows_to_hold_out(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Cannot hold out a validation set"):
        LinearRegressor(early_stopping=True, **QUICK).fit(X[:1], y[:1])


# -- target domains of the log-link losses ---------------------------------------------


def test_poisson_refuses_negative_targets(regression):
    X, _ = regression
    y = np.abs(np.random.default_rng(0).normal(size=len(X)))
    y[7] = -0.5
    with pytest.raises(ValueError, match="poisson.*non-negative y.*-0.5"):
        LinearRegressor(loss="poisson", **QUICK).fit(X, y)
    y[7] = 0.0  # zero counts are fine for Poisson
    assert np.isfinite(LinearRegressor(loss="poisson", **QUICK).fit(X, y).coef_).all()


def test_gamma_refuses_zero_targets(regression):
    X, _ = regression
    y = 1.0 + np.abs(np.random.default_rng(0).normal(size=len(X)))
    y[7] = 0.0
    with pytest.raises(ValueError, match="gamma.*strictly positive y"):
        LinearRegressor(loss="gamma", **QUICK).fit(X, y)
    with pytest.raises(ValueError, match="gamma.*strictly positive y"):
        LinearRegressor(loss="gamma", **QUICK).partial_fit(X, y)


# -- not fitted ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["predict", "decision_function", "predict_proba", "score"])
def test_using_an_unfitted_classifier_raises_not_fitted(binary, method):
    X, y = binary
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError):
        getattr(LinearClassifier(), method)(*args)


def test_using_an_unfitted_regressor_raises_not_fitted(regression):
    X, _ = regression
    with pytest.raises(NotFittedError):
        LinearRegressor().predict(X)


# -- divergence ------------------------------------------------------------------------

# Features of 1e200 make the first step's raw outputs about 1e200 and the second's
# overflow, whatever the loss: training cannot survive them with plain SGD.
HUGE = 1e200
DIVERGING = dict(optimizer="sgd", eta0=1e3)


def test_divergence_error_is_a_value_error_that_says_what_to_try(problem):
    Estimator, X, y = problem
    with pytest.raises(DivergenceError) as error:
        Estimator(**DIVERGING, **QUICK).fit(X * HUGE, y)
    assert isinstance(error.value, ValueError)
    message = str(error.value)
    assert "smaller eta0" in message and "1000" in message
    assert "StandardScaler" in message


def test_diverging_partial_fit_leaves_the_fitted_model_intact(problem):
    Estimator, X, y = problem
    model = Estimator(optimizer="sgd", eta0=0.01, **QUICK).fit(X, y)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    history, t = copy.deepcopy(model.history_), model.t_
    predictions = model.predict(X)
    untouched = copy.deepcopy(model)

    model.set_params(eta0=1e3)
    with pytest.raises(DivergenceError):
        model.partial_fit(X * HUGE, y)
    model.set_params(eta0=0.01)

    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model.intercept_, intercept)
    assert np.isfinite(model.coef_).all()
    assert model.history_ == history and model.t_ == t
    np.testing.assert_array_equal(model.predict(X), predictions)
    # The optimizer state and counters are intact too: training continues exactly as
    # if the failed call had never happened.
    model.partial_fit(X, y)
    untouched.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, untouched.coef_)
    np.testing.assert_array_equal(model.intercept_, untouched.intercept_)


def test_diverging_first_fit_leaves_no_coefficients(problem):
    Estimator, X, y = problem
    model = Estimator(**DIVERGING, **QUICK)
    with pytest.raises(DivergenceError):
        model.fit(X * HUGE, y)
    assert not hasattr(model, "coef_")
    assert not hasattr(model, "intercept_")


def test_model_whose_first_fit_diverged_is_not_fitted(problem):
    Estimator, X, y = problem
    model = Estimator(**DIVERGING, **QUICK)
    with pytest.raises(DivergenceError):
        model.fit(X * HUGE, y)
    # Using it must say "not fitted", as before the call, not fail on a missing coef_.
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_diverging_refit_leaves_the_previous_model_usable(binary):
    X, y = binary
    model = LinearClassifier(optimizer="sgd", eta0=0.01, **QUICK).fit(X, y)
    predictions = model.predict(X)

    # A refit on other data (new label names, fewer features) that diverges ...
    model.set_params(eta0=1e3)
    with pytest.raises(DivergenceError):
        model.fit(X[:, :3] * HUGE, np.where(y == 1, "pos", "neg"))

    # ... keeps the previous coefficients; they must still predict the previous
    # labels on the previous features.
    np.testing.assert_array_equal(model.predict(X), predictions)
