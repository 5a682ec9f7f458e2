"""``partial_fit`` streams: parameters checked on every call, a stream of one-row
calls equal to ``fit`` where it should be, and a history that grows in place."""

import copy

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_train.callbacks import LambdaCallback
from sklearn_train import (
    Autoencoder,
    GaussianMixture,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
)

# (estimator, a parameter value its constraints refuse)
INVALID = [
    (LinearClassifier(), {"alpha": -5.0}),
    (LinearClassifier(), {"optimizer": "bogus"}),
    (LinearRegressor(), {"batch_size": 0}),
    (LinearRegressor(), {"learning_rate": "bogus"}),
    (MLPClassifier((4,)), {"eta0": -1.0}),
    (MLPRegressor((4,)), {"activation": "bogus"}),
    (Autoencoder(2), {"dropout": 2.0}),
    (KMeans(3), {"n_clusters": 0}),
    (GaussianMixture(2), {"reg_covar": -1.0}),
]


def stream_data(estimator, n=60, seed=0):
    if isinstance(estimator, LinearRegressor | MLPRegressor):
        X, y = make_regression(n, 4, noise=1.0, random_state=seed)
        return X, y / 100.0, {}
    X, y = make_classification(n, 4, random_state=seed)
    classifier = isinstance(estimator, LinearClassifier | MLPClassifier)
    extra = {"classes": np.unique(y)} if classifier else {}
    return X, y, extra


def fitted_state(estimator):
    return {key: copy.deepcopy(value) for key, value in vars(estimator).items()}


def assert_same_state(before, estimator):
    after = vars(estimator)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value)
        elif key in ("history_", "_progress", "n_iter_", "t_", "best_epoch_"):
            assert after[key] == value


@pytest.mark.parametrize("estimator, bad", INVALID,
                         ids=[f"{type(e).__name__}-{next(iter(b))}" for e, b in INVALID])
def test_every_partial_fit_checks_the_parameters(estimator, bad):
    """scikit-learn validates parameters on every call; so do we: a value changed by
    set_params between two partial_fit calls is refused, and the estimator is left
    as it was (and goes on when the value is set back)."""
    estimator = copy.deepcopy(estimator).set_params(random_state=0)
    X, y, extra = stream_data(estimator)
    estimator.partial_fit(X[:30], y[:30], **extra)
    good = {name: estimator.get_params()[name] for name in bad}
    before = fitted_state(estimator)
    estimator.set_params(**bad)
    with pytest.raises(InvalidParameterError, match=next(iter(bad))):
        estimator.partial_fit(X[30:], y[30:])
    assert_same_state(before, estimator)
    # also on a first call
    fresh = copy.deepcopy(estimator)
    for key in list(vars(fresh)):
        if key.endswith("_") or key.startswith("_"):
            delattr(fresh, key)
    with pytest.raises(InvalidParameterError, match=next(iter(bad))):
        fresh.partial_fit(X[:30], y[:30], **extra)
    estimator.set_params(**good)
    estimator.partial_fit(X[30:], y[30:])
    assert len(estimator.history_) == 2


def one_row_stream(estimator, X, y, first_kwargs):
    for i in range(X.shape[0]):
        estimator.partial_fit(X[i:i + 1], y[i:i + 1], **(first_kwargs if i == 0 else {}))
    return estimator


def test_five_thousand_one_row_calls_equal_one_epoch_of_fit():
    """Each call is one step at the schedule's next rate, Adam's moments and step
    count go on, and the history grows by one row a call: the stream trains exactly
    the model of one in-order epoch of fit with mini-batches of one row."""
    X, y = make_classification(5_000, 5, random_state=1)
    settings = dict(batch_size=1, shuffle=False, max_iter=1, tol=None, random_state=0)
    fitted = LinearClassifier(**settings).fit(X, y, intercept_init=[0.0])
    streamed = one_row_stream(LinearClassifier(**settings), X, y, {"classes": [0, 1]})
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-12,
                               atol=1e-15)
    assert streamed.t_ == fitted.t_ == 5_000
    assert len(streamed.history_) == 5_000
    assert [row["epoch"] for row in streamed.history_[-3:]] == [4_998, 4_999, 5_000]
    assert sum(row["best"] for row in streamed.history_) == 1
    best = min(streamed.history_, key=lambda row: row["train_loss"])
    assert streamed.best_epoch_ == best["epoch"]


def test_a_one_row_network_stream_equals_fit():
    """The same for a network with dropout, whose draws are seeded by the step."""
    X, y = make_regression(500, 4, noise=1.0, random_state=2)
    y = y / 100
    settings = dict(hidden_layer_sizes=(6,), batch_size=1, shuffle=False, max_iter=1,
                    tol=None, dropout=0.1, random_state=0)
    stream = one_row_stream(MLPRegressor(**settings), X, y, {})
    # fit starts the output bias at the mean target, a stream at zero
    fitted = MLPRegressor(**settings)
    fitted._initial_intercept = lambda Y, weights: np.zeros(Y.shape[1])
    fitted.fit(X, y)
    for streamed, direct in zip(stream.coefs_ + stream.intercepts_,
                                fitted.coefs_ + fitted.intercepts_):
        np.testing.assert_allclose(streamed, direct, rtol=1e-12, atol=1e-14)
    assert stream.t_ == fitted.t_ == 500


def test_history_grows_in_place_and_a_failed_call_takes_its_rows_out():
    X, y, extra = stream_data(LinearClassifier())
    model = LinearClassifier(random_state=0).partial_fit(X[:20], y[:20], **extra)
    history = model.history_
    model.partial_fit(X[20:40], y[20:40])
    assert model.history_ is history and len(history) == 2
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[40:, :3], y[40:])
    assert model.history_ is history and len(history) == 2
    # a callback that raises in the middle of a fit's epochs: its rows go again
    boom = LinearClassifier(max_iter=5, tol=None, warm_start=True, random_state=0)
    boom.fit(X, y)
    rows = list(boom.history_)

    def fail_at_third(run):
        if run.n_epochs == 3:
            raise RuntimeError("stop here")

    boom.set_params(callbacks=[LambdaCallback(on_epoch_end=fail_at_third)])
    with pytest.raises(RuntimeError, match="stop here"):
        boom.fit(X, y)
    assert boom.history_ == rows


def test_a_shallow_copy_trains_on_its_own_history():
    """The history grows in place, so copy.copy gives the copy its own rows: training
    the copy leaves the original's history (and best row) as they were."""
    X, y, extra = stream_data(LinearClassifier())
    original = LinearClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
    rows = [dict(row) for row in original.history_]
    twin = copy.copy(original)
    twin.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert original.history_ == rows and len(twin.history_) == 5
    original.partial_fit(X, y)
    assert [row["epoch"] for row in original.history_] == [1, 2, 3, 4]
    assert sum(row["best"] for row in original.history_) == 1


def test_the_parameter_check_cache_neither_pickles_nor_keeps_estimators_alive():
    import gc
    import pickle
    import weakref

    X, y, _ = stream_data(LinearClassifier())

    def fitted_with_a_callback_that_reaches_it():
        box = {}
        model = LinearClassifier(max_iter=2, tol=None, callbacks=[
            LambdaCallback(on_epoch_end=lambda run: box.get("model"))])
        box["model"] = model
        model.fit(X, y)
        return model

    model = fitted_with_a_callback_that_reaches_it()
    assert "_checked_params" in vars(model)
    clean = LinearClassifier(max_iter=2, tol=None).fit(X, y)
    assert "_checked_params" not in vars(pickle.loads(pickle.dumps(clean)))
    reference = weakref.ref(model)
    del model
    gc.collect()
    assert reference() is None


def test_labels_of_bytes_take_scikit_learns_checks_on_later_calls():
    X, y, extra = stream_data(LinearClassifier())
    model = LinearClassifier(random_state=0).partial_fit(
        X, np.where(y == 1, "a", "b"), classes=["a", "b"])
    with pytest.raises(TypeError, match="bytes"):
        model.partial_fit(X[:1], np.array([b"a"]))


def test_a_model_saved_by_an_older_version_predicts_but_is_not_continued():
    X, y, extra = stream_data(LinearClassifier())
    model = LinearClassifier(random_state=0).partial_fit(X, y, **extra)
    del model._state_version  # what a model fitted before the redesign lacks
    assert model.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="older sklearn_train"):
        model.partial_fit(X, y)
    model.fit(X, y)  # a fresh fit is fine
    model.partial_fit(X, y)


def test_a_stream_past_the_end_of_an_epoch_schedule_warns_that_it_stopped_learning():
    X, y, extra = stream_data(LinearClassifier())
    model = LinearClassifier(learning_rate="cosine", max_iter=3, random_state=0)
    model.partial_fit(X, y, **extra)
    model.partial_fit(X, y)
    model.partial_fit(X, y)
    coef = model.coef_.copy()
    with pytest.warns(UserWarning, match="learning rate is 0"):
        model.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)  # nothing moved
