"""The training API a data scientist relies on: resuming, persistence, weights, outputs.

Exact-continuation tests compare coefficients to 1e-12: the runs being compared execute
the same compiled arithmetic on the same rows in the same order, so any difference
beyond rounding means state (optimizer moments, step counter, shuffle seed, intercept)
was lost or re-initialised between calls.
"""

import math
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from sklearn_train import LinearClassifier, LinearRegressor

EXACT = dict(rtol=1e-12, atol=1e-12)


def binary_data(n=240, n_features=6, seed=0):
    X, y = make_classification(n, n_features, n_informative=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


def multiclass_data(n=240, n_features=6, n_classes=3, seed=0):
    X, y = make_classification(n, n_features, n_informative=4, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=seed)
    return StandardScaler().fit_transform(X), y


def regression_data(n=240, n_features=6, n_targets=1, seed=0):
    X, y = make_regression(n, n_features, n_informative=4, n_targets=n_targets,
                           noise=5.0, random_state=seed)
    return StandardScaler().fit_transform(X), y


def assert_same_model(a, b, **tolerance):
    tolerance = tolerance or EXACT
    np.testing.assert_allclose(a.coef_, b.coef_, **tolerance)
    np.testing.assert_allclose(a.intercept_, b.intercept_, **tolerance)


def zero_intercept(y):
    """Zero starting intercepts, one per output the model will have for ``y``."""
    if np.ndim(y) == 2:
        return np.zeros(np.shape(y)[1])
    n_classes = np.unique(y).shape[0]
    is_classification = np.issubdtype(np.asarray(y).dtype, np.integer) and n_classes < 20
    return np.zeros(n_classes if is_classification and n_classes > 2 else 1)


def partial_fit_kwargs(estimator, y, first):
    """Keyword arguments of a partial_fit call: classes on the classifier's first call."""
    if first and isinstance(estimator, LinearClassifier):
        return {"classes": np.unique(y)}
    return {}


# Both an adaptive optimizer (moments and bias correction must persist) and plain SGD
# with a step-count schedule (the global step counter must persist).
OPTIMIZER_SETTINGS = [
    dict(optimizer="adam", learning_rate="constant", eta0=0.01),
    dict(optimizer="sgd", learning_rate="invscaling", eta0=0.05, power_t=0.5),
]
PROBLEMS = {
    "binary": (LinearClassifier, binary_data),
    "multiclass": (LinearClassifier, multiclass_data),
    "regression": (LinearRegressor, regression_data),
}


# -- partial_fit / warm_start -----------------------------------------------------------


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("settings", OPTIMIZER_SETTINGS, ids=["adam", "sgd-invscaling"])
def test_partial_fit_epochs_equal_fit(problem, shuffle, settings):
    Estimator, make_data = PROBLEMS[problem]
    X, y = make_data()
    n_epochs = 4
    params = dict(settings, shuffle=shuffle, random_state=7, batch_size=32, tol=None)

    # partial_fit starts the intercepts at zero (one chunk need not be representative);
    # fit starts them at the best constant model unless told otherwise
    fitted = Estimator(max_iter=n_epochs, **params).fit(X, y, intercept_init=zero_intercept(y))
    streamed = Estimator(**params)
    for epoch in range(n_epochs):
        streamed.partial_fit(X, y, **partial_fit_kwargs(streamed, y, first=epoch == 0))

    assert_same_model(fitted, streamed)
    assert streamed.t_ == fitted.t_ == n_epochs * math.ceil(len(X) / 32)


@pytest.mark.parametrize("problem", ["binary", "regression"])
def test_partial_fit_on_chunks_equals_one_pass_over_their_concatenation(problem):
    Estimator, make_data = PROBLEMS[problem]
    X, y = make_data(n=192)  # a multiple of batch_size: no batch straddles two chunks
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y])
    params = dict(batch_size=32, shuffle=False, tol=None, random_state=0)

    # partial_fit starts the intercepts at zero; fit is told to do the same
    one_pass = Estimator(max_iter=1, **params).fit(X2, y2, intercept_init=zero_intercept(y))
    streamed = Estimator(**params)
    streamed.partial_fit(X, y, **partial_fit_kwargs(streamed, y, first=True))
    streamed.partial_fit(X, y)

    assert_same_model(one_pass, streamed)
    assert streamed.t_ == one_pass.t_ == 2 * 192 // 32


@pytest.mark.parametrize("problem", ["binary", "regression"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_warm_start_continues_the_previous_fit(problem, shuffle):
    Estimator, make_data = PROBLEMS[problem]
    X, y = make_data()
    params = dict(shuffle=shuffle, tol=None, random_state=3)

    continued = Estimator(max_iter=3, warm_start=True, **params).fit(X, y)
    continued.set_params(max_iter=4).fit(X, y)
    at_once = Estimator(max_iter=7, **params).fit(X, y)

    assert_same_model(continued, at_once)
    assert continued.n_iter_ == 4  # epochs of the last fit
    assert [row["epoch"] for row in continued.history_] == list(range(1, 8))


def test_fit_without_warm_start_starts_over():
    X, y = binary_data()
    clf = LinearClassifier(max_iter=3, tol=None, random_state=3).fit(X, y)
    clf.fit(X, y)
    fresh = LinearClassifier(max_iter=3, tol=None, random_state=3).fit(X, y)
    assert_same_model(clf, fresh)
    assert len(clf.history_) == 3


# -- pickle and clone -------------------------------------------------------------------


@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_pickle_round_trip_predicts_and_continues_identically(problem):
    Estimator, make_data = PROBLEMS[problem]
    X, y = make_data()
    original = Estimator(max_iter=3, tol=None, random_state=0).fit(X, y)

    restored = pickle.loads(pickle.dumps(original))

    np.testing.assert_array_equal(restored.predict(X), original.predict(X))
    if hasattr(original, "decision_function"):
        np.testing.assert_array_equal(restored.decision_function(X),
                                      original.decision_function(X))
    # The optimizer state, counters and shuffle seed travel with the pickle.
    original.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_same_model(restored, original)
    assert restored.t_ == original.t_


@pytest.mark.parametrize("Estimator", [LinearClassifier, LinearRegressor])
def test_clone_is_unfitted_with_equal_params(Estimator):
    X, y = binary_data()
    original = Estimator(eta0=0.05, max_iter=3, tol=None, random_state=0).fit(X, y)

    copy = clone(original)

    assert copy.get_params() == original.get_params()
    assert not hasattr(copy, "coef_")
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    # Same parameters, same random_state: fitting the clone reproduces the original.
    assert_same_model(copy.fit(X, y), original)


# -- dtypes and memory layout -----------------------------------------------------------


def test_float32_trains_in_float32_close_to_float64():
    X, y = binary_data()
    params = dict(max_iter=5, tol=None, random_state=0)
    single = LinearClassifier(**params).fit(X.astype(np.float32), y)
    double = LinearClassifier(**params).fit(X, y)

    assert single.coef_.dtype == np.float32
    assert single.decision_function(X.astype(np.float32)).dtype == np.float32
    # float32 rounding (6e-8 relative per operation) over 40 steps moves the weights
    # (of size ~0.2) by about 1e-7; a float32-specific bug would move them far more.
    np.testing.assert_allclose(single.coef_, double.coef_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(single.predict_proba(X.astype(np.float32)),
                               double.predict_proba(X), rtol=0, atol=1e-5)


def test_float32_regressor_matches_float64():
    X, y = regression_data()
    params = dict(max_iter=5, tol=None, random_state=0)
    single = LinearRegressor(**params).fit(X.astype(np.float32), y)
    double = LinearRegressor(**params).fit(X, y)

    assert single.coef_.dtype == np.float32
    prediction = single.predict(X.astype(np.float32))
    assert prediction.dtype == np.float32
    # float32 carries ~7 significant digits of targets in the hundreds
    np.testing.assert_allclose(prediction, double.predict(X), rtol=0,
                               atol=1e-5 * np.abs(y).max())


def test_read_only_memmapped_input_trains_like_in_memory_data(tmp_path):
    X, y = binary_data(n=300)
    joblib.dump((X, y), tmp_path / "data.joblib")
    X_mapped, y_mapped = joblib.load(tmp_path / "data.joblib", mmap_mode="r")
    assert not X_mapped.flags.writeable

    params = dict(max_iter=3, tol=None, random_state=0)
    from_disk = LinearClassifier(**params).fit(X_mapped, y_mapped)
    in_memory = LinearClassifier(**params).fit(X, y)

    assert_same_model(from_disk, in_memory)


def test_grid_search_with_two_jobs_on_memmapped_data():
    # 2000 x 80 float64 is 1.28 MB: above joblib's 1 MB threshold, so the workers get
    # a read-only memmap of X.
    X, y = make_classification(2000, 80, n_informative=10, class_sep=2.0, random_state=0)
    assert X.nbytes > 1e6
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LinearClassifier(max_iter=5, tol=None, random_state=0)),
        {"linearclassifier__eta0": [0.01, 0.05]},
        cv=2,
        n_jobs=2,
    )
    search.fit(X, y)
    # LogisticRegression cross-validates to about 0.9 on this data; chance is 0.5.
    assert search.best_score_ > 0.85
    assert search.best_estimator_.score(X, y) > 0.85


# -- early stopping ---------------------------------------------------------------------


def best_epoch(history):
    """1-based epoch of the lowest validation loss (the first one on ties)."""
    return int(np.argmin([row["val_loss"] for row in history])) + 1


def noisy_binary_data():
    """Binary data with 15% of the labels flipped: the validation loss soon turns up."""
    X, y = binary_data(n=300, n_features=8, seed=1)
    return X, np.where(np.random.default_rng(0).random(len(y)) < 0.15, 1 - y, y)


EARLY_STOPPING_CASES = {
    # noisy targets and a large step: the best epoch comes well before the stop
    "classifier": (LinearClassifier, dict(eta0=0.2), noisy_binary_data),
    "regressor": (LinearRegressor, dict(eta0=0.05, learning_rate="constant"),
                  lambda: regression_data(n=300, n_features=8, seed=1)),
}


@pytest.mark.parametrize("case", list(EARLY_STOPPING_CASES))
def test_early_stopping_restores_the_best_epoch(case):
    Estimator, settings, make_data = EARLY_STOPPING_CASES[case]
    X, y = make_data()
    params = dict(settings, early_stopping=True, random_state=0)

    stopped = Estimator(n_iter_no_change=3, max_iter=200, **params).fit(X, y)
    best = best_epoch(stopped.history_)
    # Training went past the best epoch, so restoring it is what is being tested.
    assert best < stopped.n_iter_

    # Same random_state: same validation split and the same shuffles; it trains
    # exactly to the best epoch and keeps the parameters of that epoch.
    to_best = Estimator(tol=None, max_iter=best, **params).fit(X, y)

    assert_same_model(stopped, to_best)
    assert all({"val_loss", "val_score"} <= set(row) for row in stopped.history_)


@pytest.mark.parametrize("case", list(EARLY_STOPPING_CASES))
def test_early_stopping_on_explicit_validation_data(case):
    Estimator, settings, make_data = EARLY_STOPPING_CASES[case]
    X, y = make_data()
    X_train, y_train, X_val, y_val = X[:200], y[:200], X[200:], y[200:]
    params = dict(settings, early_stopping=True, random_state=0)

    stopped = Estimator(n_iter_no_change=3, max_iter=200, **params).fit(
        X_train, y_train, X_val=X_val, y_val=y_val)
    best = best_epoch(stopped.history_)
    assert best < stopped.n_iter_
    to_best = Estimator(tol=None, max_iter=best, **params).fit(
        X_train, y_train, X_val=X_val, y_val=y_val)

    assert_same_model(stopped, to_best)
    # Every training row was used: nothing held out of X_train.
    assert stopped.t_ == stopped.n_iter_ * math.ceil(200 / stopped.batch_size)
    # The recorded scores are those of the restored (best) model on X_val.
    row = stopped.history_[best - 1]
    assert row["val_score"] == pytest.approx(stopped.score(X_val, y_val), abs=1e-12)
    if Estimator is LinearClassifier:
        val_loss = log_loss(y_val, stopped.predict_proba(X_val))
    else:
        val_loss = 0.5 * np.mean((y_val - stopped.predict(X_val)) ** 2)  # half squared error
    assert row["val_loss"] == pytest.approx(val_loss, rel=1e-10)


def test_validation_score_on_the_held_out_split_is_accuracy_at_the_best_epoch():
    from sklearn_train._data import split_validation

    X, y = binary_data(n=300, n_features=8, seed=1)
    clf = LinearClassifier(early_stopping=True, eta0=0.2, n_iter_no_change=3,
                           random_state=0).fit(X, y)
    # The estimator draws its split from its own seed; reproduce it to know the rows.
    _, val_rows = split_validation(len(X), clf.validation_fraction, y, clf._seed)

    row = clf.history_[best_epoch(clf.history_) - 1]
    assert row["val_score"] == pytest.approx(
        accuracy_score(y[val_rows], clf.predict(X[val_rows])), abs=1e-12)
    assert row["val_loss"] == pytest.approx(
        log_loss(y[val_rows], clf.predict_proba(X[val_rows])), rel=1e-10)


def test_validation_on_the_held_out_split_weights_by_class_weight_once():
    """Training weights rows by class_weight; the held-out rows must be weighted alike."""
    from sklearn_train._data import split_validation

    X, y = binary_data(n=300, n_features=8, seed=1)
    class_weight = {0: 1.0, 1: 10.0}
    clf = LinearClassifier(early_stopping=True, class_weight=class_weight, max_iter=10,
                           tol=None, random_state=0).fit(X, y)
    _, val_rows = split_validation(len(X), clf.validation_fraction, y, clf._seed)
    weights = np.array([class_weight[label] for label in y[val_rows]])

    row = clf.history_[best_epoch(clf.history_) - 1]
    assert row["val_score"] == pytest.approx(
        accuracy_score(y[val_rows], clf.predict(X[val_rows]), sample_weight=weights),
        abs=1e-12)
    assert row["val_loss"] == pytest.approx(
        log_loss(y[val_rows], clf.predict_proba(X[val_rows]), sample_weight=weights),
        rel=1e-10)


def test_explicit_validation_data_weights_by_class_weight_once():
    X, y = binary_data(n=300, n_features=8, seed=1)
    class_weight = {0: 1.0, 1: 10.0}
    clf = LinearClassifier(class_weight=class_weight, max_iter=3, tol=None,
                           random_state=0).fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])
    weights = np.array([class_weight[label] for label in y[200:]])

    row = clf.history_[-1]
    assert row["val_score"] == pytest.approx(
        accuracy_score(y[200:], clf.predict(X[200:]), sample_weight=weights), abs=1e-12)
    assert row["val_loss"] == pytest.approx(
        log_loss(y[200:], clf.predict_proba(X[200:]), sample_weight=weights), rel=1e-10)


# -- history_ and counters ------------------------------------------------------------


def test_history_rows_and_counters_after_fit():
    X, y = regression_data(n=250)
    reg = LinearRegressor(max_iter=6, tol=None, batch_size=32, eta0=0.01, power_t=0.25,
                          random_state=0).fit(X, y)

    assert reg.n_iter_ == len(reg.history_) == 6
    assert [row["epoch"] for row in reg.history_] == list(range(1, 7))
    assert all(set(row) == {"epoch", "train_loss", "learning_rate", "seconds", "best"}
               for row in reg.history_)
    assert reg.t_ == 6 * math.ceil(250 / 32)
    # invscaling: the last step t_ ran at eta0 / t_ ** power_t
    assert reg.history_[-1]["learning_rate"] == pytest.approx(0.01 / reg.t_ ** 0.25)
    # the loss reported is the training loss and it falls on this easy problem
    assert reg.history_[-1]["train_loss"] < reg.history_[0]["train_loss"]

    table = pd.DataFrame(reg.history_)
    assert table.shape == (6, 5)
    assert (table["seconds"] >= 0).all()


def test_history_with_early_stopping_counts_only_training_rows():
    X, y = regression_data(n=250)
    reg = LinearRegressor(max_iter=4, tol=None, early_stopping=True, batch_size=32,
                          random_state=0).fit(X, y)

    table = pd.DataFrame(reg.history_)
    assert set(table.columns) == {"epoch", "train_loss", "val_loss", "val_score",
                                  "learning_rate", "seconds", "best"}
    assert len(table) == reg.n_iter_ == 4
    n_train = 250 - math.ceil(0.1 * 250)  # validation_fraction=0.1 held out
    assert reg.t_ == 4 * math.ceil(n_train / 32)


def test_partial_fit_appends_one_history_row_per_call():
    X, y = binary_data(n=100)
    clf = LinearClassifier(batch_size=16, random_state=0)
    for call in range(1, 4):
        clf.partial_fit(X, y, classes=[0, 1])
        assert len(clf.history_) == call
        assert clf.n_iter_ == 1
        assert clf.history_[-1]["epoch"] == call
        assert clf.t_ == call * math.ceil(100 / 16)


def test_partial_fit_with_validation_data_records_its_score():
    X, y = binary_data()
    clf = LinearClassifier(random_state=0)
    clf.partial_fit(X[:200], y[:200], classes=[0, 1], X_val=X[200:], y_val=y[200:])
    clf.partial_fit(X[:200], y[:200])

    one_epoch = LinearClassifier(max_iter=1, tol=None, random_state=0).fit(
        X[:200], y[:200], intercept_init=[0.0])  # partial_fit's starting intercept
    assert clf.history_[0]["val_score"] == pytest.approx(
        accuracy_score(y[200:], one_epoch.predict(X[200:])), abs=1e-12)
    assert "val_loss" not in clf.history_[1]


# -- weights --------------------------------------------------------------------------


def test_balanced_class_weight_equals_the_explicit_dict():
    X, y = binary_data()
    y = np.where(np.arange(len(y)) < 60, 1, 0)  # imbalanced: 60 ones, 180 zeros
    counts = np.bincount(y)
    explicit = {label: len(y) / (2 * counts[label]) for label in (0, 1)}
    params = dict(max_iter=3, tol=None, random_state=0)

    balanced = LinearClassifier(class_weight="balanced", **params).fit(X, y)
    as_dict = LinearClassifier(class_weight=explicit, **params).fit(X, y)

    assert_same_model(balanced, as_dict)


def test_a_heavy_class_weight_shifts_predictions_toward_that_class():
    X, y = binary_data()
    params = dict(max_iter=10, tol=None, random_state=0)
    plain = LinearClassifier(**params).fit(X, y)
    favour_one = LinearClassifier(class_weight={0: 1.0, 1: 20.0}, **params).fit(X, y)

    assert (favour_one.predict(X) == 1).mean() > (plain.predict(X) == 1).mean() + 0.1
    assert favour_one.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


@pytest.mark.parametrize("problem", ["binary", "regression"])
def test_zero_sample_weight_equals_dropping_the_rows(problem):
    Estimator, make_data = PROBLEMS[problem]
    X, y = make_data(n=200)
    keep = np.arange(200) % 4 != 0  # drop 50 of 200 rows
    weights = np.where(keep, 1.0, 0.0)
    # One full batch per epoch, in row order, for both data sets.
    params = dict(optimizer="sgd", learning_rate="constant", eta0=0.1, alpha=1e-3,
                  batch_size=256, shuffle=False, tol=None, max_iter=20)

    zero_weighted = Estimator(**params).fit(X, y, sample_weight=weights)
    # The objective is mean(sample_weight * loss) over the batch's rows, zero-weight
    # rows included: the gradient is sum(w_i g_i) / 200. Without those rows it is
    # divided by 150 instead, so the kept rows get weight 150 / 200 to make the two
    # objectives (and the L2 term added to them) identical.
    dropped = Estimator(**params).fit(X[keep], y[keep],
                                      sample_weight=np.full(keep.sum(), keep.mean()))

    assert_same_model(zero_weighted, dropped, rtol=1e-10, atol=1e-12)


# -- predictions ------------------------------------------------------------------------


@pytest.mark.parametrize("make_data", [binary_data, multiclass_data], ids=["binary", "multiclass"])
@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_probabilities_are_consistent_with_predict(make_data, loss):
    X, y = make_data()
    clf = LinearClassifier(loss=loss, max_iter=5, tol=None, random_state=0).fit(X, y)

    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (proba >= 0).all()
    if loss == "log_loss":
        # modified_huber clips, so rows can tie at 0 / 1; log_loss never ties here
        np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
        np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "perceptron"])
def test_margin_losses_have_no_probabilities(loss):
    X, y = binary_data()
    clf = LinearClassifier(loss=loss, max_iter=2, tol=None, random_state=0).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert not hasattr(clf, "predict_log_proba")
    with pytest.raises(AttributeError, match="predict_proba") as error:
        clf.predict_proba(X)
    # scikit-learn's available_if chains the estimator's own explanation
    assert "not available for loss" in str(error.value.__cause__)


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_decision_function_shapes(loss):
    X, y = binary_data()
    binary = LinearClassifier(loss=loss, max_iter=2, tol=None, random_state=0).fit(X, y)
    assert binary.decision_function(X).shape == (len(X),)
    assert binary.coef_.shape == (1, X.shape[1])
    # positive scores mean the second class
    np.testing.assert_array_equal(binary.classes_[(binary.decision_function(X) > 0).astype(int)],
                                  binary.predict(X))

    X, y = multiclass_data(n_classes=4)
    multi = LinearClassifier(loss=loss, max_iter=2, tol=None, random_state=0).fit(X, y)
    assert multi.decision_function(X).shape == (len(X), 4)
    np.testing.assert_array_equal(multi.classes_[multi.decision_function(X).argmax(axis=1)],
                                  multi.predict(X))


def test_multiclass_log_loss_is_a_softmax():
    X, y = multiclass_data(n_classes=4)
    clf = LinearClassifier(max_iter=10, tol=None, random_state=0).fit(X, y)

    assert clf.coef_.shape == (4, X.shape[1])
    assert clf.intercept_.shape == (4,)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(clf.decision_function(X), axis=1),
                               rtol=1e-12)
    assert clf.score(X, y) > 0.7


def test_string_labels_round_trip():
    X, y = multiclass_data()
    animals = np.array(["cat", "dog", "eel"])
    clf = LinearClassifier(max_iter=5, tol=None, random_state=0).fit(X, animals[y])
    numeric = LinearClassifier(max_iter=5, tol=None, random_state=0).fit(X, y)

    np.testing.assert_array_equal(clf.classes_, animals)
    np.testing.assert_array_equal(clf.predict(X), animals[numeric.predict(X)])


# -- multi-output regression ------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
def test_multi_output_regression_equals_one_model_per_target(shuffle):
    X, Y = regression_data(n_targets=3)
    # Plain SGD updates each coordinate from its own gradient, and each output's
    # gradient involves only that output's parameters: the targets train independently.
    params = dict(optimizer="sgd", eta0=0.1, learning_rate="constant", shuffle=shuffle,
                  max_iter=5, tol=None, random_state=0)

    joint = LinearRegressor(**params).fit(X, Y)

    assert joint.coef_.shape == (3, X.shape[1])
    assert joint.intercept_.shape == (3,)
    assert joint.predict(X).shape == (len(X), 3)
    for k in range(3):
        single = LinearRegressor(**params).fit(X, Y[:, k])
        assert single.coef_.shape == (X.shape[1],)
        np.testing.assert_allclose(joint.coef_[k], single.coef_, **EXACT)
        np.testing.assert_allclose(joint.intercept_[k], single.intercept_[0], **EXACT)
    assert r2_score(Y, joint.predict(X)) > 0.9


# -- progress bar -----------------------------------------------------------------------


def test_verbose_shows_a_progress_bar_on_stderr(capfd):
    X, y = binary_data()
    LinearClassifier(max_iter=3, tol=None, verbose=1, random_state=0).fit(X, y)
    out, err = capfd.readouterr()
    assert "3/3" in err and "epoch" in err
    assert "train_loss" not in out

    LinearClassifier(max_iter=3, tol=None, verbose=0, random_state=0).fit(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# -- starting point ---------------------------------------------------------------------


def test_coef_init_and_intercept_init_are_the_starting_point():
    X, y = multiclass_data()
    rng = np.random.default_rng(0)
    coef_init = rng.normal(size=(3, X.shape[1]))
    intercept_init = rng.normal(size=3)
    params = dict(optimizer="sgd", eta0=1e-9, max_iter=1, tol=None, random_state=0)

    clf = LinearClassifier(**params).fit(X, y, coef_init=coef_init, intercept_init=intercept_init)
    default = LinearClassifier(**params).fit(X, y)

    np.testing.assert_allclose(clf.coef_, coef_init, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, intercept_init, atol=1e-6)
    assert not np.allclose(default.coef_, coef_init, atol=0.1)


def test_regressor_coef_init_is_the_starting_point():
    X, y = regression_data()
    coef_init = np.arange(X.shape[1], dtype=float)
    params = dict(eta0=1e-12, max_iter=1, tol=None, random_state=0)

    reg = LinearRegressor(**params).fit(X, y, coef_init=coef_init, intercept_init=3.0)

    # steps of eta0 * gradient (about 1e-12 * 1e2) leave the start in place
    np.testing.assert_allclose(reg.coef_, coef_init, atol=1e-8)
    np.testing.assert_allclose(reg.intercept_, [3.0], atol=1e-8)


# -- scikit-learn tooling and sparse input ---------------------------------------------


def make_texts(n_per_topic=15, seed=0):
    """Short made-up texts on two topics that share some filler words."""
    rng = np.random.default_rng(seed)
    topics = {
        "sport": "goal match team score coach league striker referee stadium season".split(),
        "food": "recipe oven flour butter sauce garlic bake pasta spice dinner".split(),
    }
    filler = "the a today really new good about with".split()
    texts, labels = [], []
    for label, words in topics.items():
        for _ in range(n_per_topic):
            chosen = list(rng.choice(words, 4, replace=False)) + list(rng.choice(filler, 3))
            rng.shuffle(chosen)
            texts.append(" ".join(chosen))
            labels.append(label)
    return np.array(texts), np.array(labels)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_text_pipeline_with_sparse_input_in_cross_val_score(optimizer):
    texts, labels = make_texts()
    pipeline = make_pipeline(
        TfidfVectorizer(),
        LinearClassifier(optimizer=optimizer, eta0=0.1, max_iter=20, tol=None, random_state=0),
    )
    scores = cross_val_score(pipeline, texts, labels, cv=3)
    # the topics share no content word, so a working model is (near) perfect
    assert scores.mean() >= 0.9


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("Estimator", [LinearClassifier, LinearRegressor])
def test_sparse_input_trains_the_same_model_as_dense(Estimator, optimizer):
    X, y = regression_data() if Estimator is LinearRegressor else binary_data()
    X[np.abs(X) < 0.8] = 0.0  # about half the entries zero
    params = dict(optimizer=optimizer, alpha=1e-3, max_iter=3, tol=None, random_state=0)

    sparse = Estimator(**params).fit(sp.csr_matrix(X), y)
    dense = Estimator(**params).fit(X, y)

    # sgd on CSR takes lazy steps (shared L2 scale, deferred updates): the same
    # arithmetic reordered, equal to rounding
    assert_same_model(sparse, dense, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-9,
                               atol=1e-9)
