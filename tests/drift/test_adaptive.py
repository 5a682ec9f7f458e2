"""DriftAdaptive: each reaction against its mathematical definition, the compiled
prequential pass against block-by-block partial_fit, the gain over the plain online
model on river's drifting generators, the input monitor as a second signal, bad
parameters, failed calls, pickling and scikit-learn's estimator checks."""

import itertools
import pickle

import numpy as np
import pytest
from river.datasets import synth
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_train import LinearClassifier, LinearRegressor
from sklearn_train.drift import ADWIN, DDM, DriftAdaptive, FeatureDriftMonitor
from sklearn_train.evaluation import progressive_val_score

N_ROWS, CHANGE = 10_000, 5_000


def river_rows(stream, n_rows):
    rows = list(itertools.islice(stream, n_rows))
    keys = sorted(rows[0][0])
    X = np.array([[x[key] for key in keys] for x, _ in rows], dtype=np.float64)
    y = np.array([int(target) for _, target in rows])
    return X, y


@pytest.fixture(scope="module")
def streams():
    """river's generators: SEA and Agrawal switching concept at row 5,000 (a
    50-row transition: river's sigmoid overflows for a sharper one), and a
    hyperplane that turns a little at every row."""
    def switch(first, second):
        return synth.ConceptDriftStream(first, second, position=CHANGE, width=50, seed=3)

    made = {
        "sea": river_rows(switch(synth.SEA(variant=0, seed=1),
                                 synth.SEA(variant=3, seed=2)), N_ROWS),
        "agrawal": river_rows(switch(synth.Agrawal(classification_function=0, seed=1),
                                     synth.Agrawal(classification_function=4, seed=2)),
                              N_ROWS),
        "hyperplane": river_rows(synth.Hyperplane(seed=1, n_features=10,
                                                  n_drift_features=5, mag_change=0.01,
                                                  noise_percentage=0.05, sigma=0.1),
                                 50_000),
    }
    for name in ("sea", "agrawal"):  # scaled by the first rows' statistics only
        X, y = made[name]
        head = X[:1000]
        made[name] = ((X - head.mean(axis=0)) / head.std(axis=0), y)
    return made


def prequential_accuracy(model, X, y, rows):
    result = progressive_val_score(model, X, y, "accuracy")
    assert result.fast  # (the compiled pass: see test_fast_pass_equals_block_by_block)
    # predictions[i] is row i + 1's (the first row trains only)
    return float(np.mean(result.predictions[rows.start - 1:] == y[rows]))


# ---- the gain on drifting streams --------------------------------------------------
@pytest.mark.parametrize("name, rows, margin", [
    ("sea", slice(CHANGE, None), 0.02),          # plain 0.937 -> 0.974-0.982
    ("agrawal", slice(CHANGE, None), 0.10),      # plain 0.634 -> 0.775-0.779
    ("hyperplane", slice(25_000, None), 0.05),   # plain 0.684 -> 0.773-0.830
])
def test_every_reaction_beats_the_plain_online_model_after_the_drift(streams, name,
                                                                     rows, margin):
    X, y = streams[name]
    base = LinearClassifier(random_state=0)
    plain = prequential_accuracy(base, X, y, rows)
    for reaction in ("reset", "boost_lr", "refit_window"):
        if name == "hyperplane" and reaction == "boost_lr":
            continue  # (a gradual drift: a boost of 500 rows at each alarm is not enough)
        adaptive = prequential_accuracy(DriftAdaptive(base, reaction=reaction), X, y, rows)
        assert adaptive > plain + margin, (reaction, plain, adaptive)


# ---- the compiled prequential pass -------------------------------------------------
def drifting_blobs(seed=0, n_rows=6000, regression=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 3))
    w = np.array([1.0, -1.0, 0.5])
    t = np.r_[X[: n_rows // 2] @ w, X[n_rows // 2:] @ -w]
    if regression:
        return X, t + 0.1 * rng.normal(size=n_rows)
    return X, (t > 0).astype(int)


def block_by_block(model, X, y, batch_size, **first):
    model.partial_fit(X[:batch_size], y[:batch_size], **first)
    predictions = []
    for start in range(batch_size, X.shape[0], batch_size):
        rows = slice(start, start + batch_size)
        predictions.append(model.predict(X[rows]))
        model.partial_fit(X[rows], y[rows])
    return model, np.concatenate(predictions)


@pytest.mark.parametrize("reaction", ["reset", "boost_lr", "refit_window"])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_fast_pass_equals_block_by_block(reaction, batch_size):
    X, y = drifting_blobs(n_rows=2400)
    model = DriftAdaptive(LinearClassifier(random_state=0), reaction=reaction,
                          boost_rows=300, window=400)
    fast = progressive_val_score(model, X, y, "accuracy", batch_size=batch_size)
    assert fast.fast
    slow, predictions = block_by_block(clone(model), X, y, batch_size, classes=[0, 1])
    np.testing.assert_array_equal(fast.predictions, predictions)
    assert fast.estimator.history_ == slow.history_
    assert any(entry["row"] > 1200 for entry in slow.history_)  # the drift was seen
    np.testing.assert_allclose(fast.estimator.estimator_.coef_, slow.estimator_.coef_,
                               rtol=1e-12, atol=1e-12)
    assert fast.estimator._boost_left == slow._boost_left
    assert fast.estimator.estimator_._progress["lr_scale"] == (
        slow.estimator_._progress["lr_scale"])


def test_fast_pass_of_a_regressor_on_its_squared_loss():
    X, y = drifting_blobs(regression=True)
    model = DriftAdaptive(LinearRegressor(random_state=0), signal="loss")
    fast = progressive_val_score(model, X, y, "mse", batch_size=5)
    slow, predictions = block_by_block(clone(model), X, y, 5)
    assert fast.fast
    np.testing.assert_allclose(fast.predictions, predictions, rtol=1e-10, atol=1e-10)
    assert fast.estimator.history_ == slow.history_ and slow.history_


# ---- each reaction is what it says -------------------------------------------------
def learned(model, X, y):
    """A model after learning the first 3,000 rows of a stream."""
    return model.partial_fit(X[:3000], y[:3000], classes=[0, 1])


def test_reset_makes_the_next_step_a_first_step():
    X, y = drifting_blobs()
    old = learned(LinearClassifier(random_state=0, batch_size=2, shuffle=False), X, y)
    old._restart_optimizer()
    pair = [int(np.flatnonzero(y == 0)[0]), int(np.flatnonzero(y == 1)[0])]
    # a fresh model started at the same parameters takes its first (largest) step
    fresh = LinearClassifier(random_state=0, batch_size=2, shuffle=False, max_iter=1,
                             tol=None).fit(X[pair], y[pair], coef_init=old.coef_,
                                           intercept_init=old.intercept_)
    restarted = old.partial_fit(X[pair], y[pair])
    np.testing.assert_allclose(restarted.coef_, fresh.coef_, rtol=1e-12)
    assert not np.allclose(restarted.coef_, learned(
        LinearClassifier(random_state=0, batch_size=2, shuffle=False), X, y
    ).partial_fit(X[pair], y[pair]).coef_)  # (without the restart: a smaller step)


def test_boost_lasts_boost_rows():
    X, y = drifting_blobs(n_rows=2000)
    model = DriftAdaptive(LinearClassifier(random_state=0), reaction="boost_lr",
                          boost=4.0, boost_rows=20)
    model.partial_fit(X[:10], y[:10], classes=[0, 1])
    row = 10
    while not any(entry["row"] >= 1000 for entry in model.history_):
        model.partial_fit(X[row:row + 1], y[row:row + 1])
        row += 1
    assert model.estimator_._progress["lr_scale"] == 4.0
    for _ in range(19):  # (ADWIN cannot fire again this soon: grace period, clock)
        model.partial_fit(X[row:row + 1], y[row:row + 1])
        row += 1
        assert model.estimator_._progress["lr_scale"] == 4.0
    model.partial_fit(X[row:row + 1], y[row:row + 1])
    assert model.estimator_._progress["lr_scale"] == 1.0


def test_boost_multiplies_the_sgd_step_exactly():
    X, y = drifting_blobs()
    config = dict(optimizer="sgd", learning_rate="constant", eta0=0.01, shuffle=False,
                  random_state=0)
    base = learned(LinearClassifier(**config), X, y)
    boosted = pickle.loads(pickle.dumps(base))
    boosted._scale_rate(4.0)
    step = base.partial_fit(X[3000:3001], y[3000:3001]).coef_
    start = learned(LinearClassifier(**config), X, y).coef_
    big_step = boosted.partial_fit(X[3000:3001], y[3000:3001]).coef_
    np.testing.assert_allclose(big_step - start, 4.0 * (step - start), rtol=1e-9)


def test_refit_window_retrains_a_clone_on_the_last_rows():
    X, y = drifting_blobs()
    model = DriftAdaptive(LinearClassifier(random_state=0), reaction="refit_window",
                          window=300, refit_epochs=3)
    model.partial_fit(X[:10], y[:10], classes=[0, 1])
    start = 10
    while not model.history_ or model.history_[-1]["row"] < 3000:
        model.partial_fit(X[start:start + 10], y[start:start + 10])
        start += 10
    expected = clone(model.estimator)
    for _ in range(3):
        expected.partial_fit(X[start - 300:start], y[start - 300:start], classes=[0, 1])
    np.testing.assert_array_equal(model.estimator_.coef_, expected.coef_)


def test_refit_window_works_with_scikit_learn_models():
    X, y = drifting_blobs()
    model = DriftAdaptive(SGDClassifier(random_state=0), reaction="refit_window")
    result = progressive_val_score(model, X, y, "accuracy", batch_size=20)
    assert not result.fast
    assert any(entry["row"] > 3000 for entry in result.estimator.history_)
    late = slice(4500 - 20, None)
    assert np.mean(result.predictions[late] == y[4500:]) > 0.9


# ---- the input monitor -------------------------------------------------------------
def test_an_input_shift_triggers_the_reaction_before_any_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 5))
    y = (X[:, 0] > 0).astype(int)
    X[2500:, 3] += 2.0  # a feature the concept ignores moves: no error grows
    model = DriftAdaptive(LinearClassifier(random_state=0),
                          input_monitor=FeatureDriftMonitor())
    model.fit(X[:1000], y[:1000])
    for start in range(1000, 4000, 50):
        model.partial_fit(X[start:start + 50], y[start:start + 50])
    inputs = [entry for entry in model.history_ if entry["source"] == "input"]
    assert len(inputs) == 1
    assert inputs[0]["features"] == [3]
    assert 2500 <= inputs[0]["row"] < 2550 and inputs[0]["reaction"] == "reset"
    assert model.input_monitor_.n_seen_ == 4000


def test_fast_pass_with_an_input_monitor_equals_block_by_block():
    X, y = drifting_blobs(n_rows=4000)
    X[1000:, 2] += 1.5  # the input moves before the concept does (row 2000)
    model = DriftAdaptive(LinearClassifier(random_state=0), reaction="boost_lr",
                          input_monitor=FeatureDriftMonitor(reference=300))
    fast = progressive_val_score(model, X, y, "accuracy", batch_size=4)
    slow, predictions = block_by_block(clone(model), X, y, 4, classes=[0, 1])
    assert fast.fast
    np.testing.assert_array_equal(fast.predictions, predictions)
    assert fast.estimator.history_ == slow.history_
    assert {entry["source"] for entry in slow.history_} == {"error", "input"}


# ---- parameters, failures, persistence ---------------------------------------------
@pytest.mark.parametrize("params, error, message", [
    ({"reaction": "nope"}, ValueError, "reaction"),
    ({"window": 0}, ValueError, "window"),
    ({"boost": 1.0}, ValueError, "boost"),
    ({"detector": "adwin"}, ValueError, "detector"),
    ({"detector": DDM(), "signal": "loss"}, ValueError, "DDM"),
])
def test_bad_parameters_fail_clearly_on_any_call(params, error, message):
    X, y = drifting_blobs(n_rows=100)
    model = DriftAdaptive(LinearClassifier(), **params)
    with pytest.raises(error, match=message):
        model.partial_fit(X, y, classes=[0, 1])
    good = DriftAdaptive(LinearClassifier()).partial_fit(X, y, classes=[0, 1])
    good.set_params(**params)
    with pytest.raises(error, match=message):
        good.partial_fit(X, y)
    assert good.n_seen_ == 100


def test_optimizer_reactions_need_one_of_our_models():
    X, y = drifting_blobs(n_rows=100)
    with pytest.raises(TypeError, match="refit_window"):
        DriftAdaptive(SGDClassifier(), reaction="reset").partial_fit(X, y, classes=[0, 1])


def test_a_failed_call_leaves_the_stream_as_it_was():
    X, y = drifting_blobs()
    model = DriftAdaptive(LinearClassifier(random_state=0))
    model.partial_fit(X[:3500], y[:3500], classes=[0, 1])
    before = pickle.dumps(model)
    bad = X[3500:3600].copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.partial_fit(bad, y[3500:3600])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[3500:3600, :2], y[3500:3600])
    assert pickle.dumps(model) == before


def test_a_pickled_model_continues_exactly():
    X, y = drifting_blobs()
    model = DriftAdaptive(LinearClassifier(random_state=0), reaction="refit_window")
    model.partial_fit(X[:3200], y[:3200], classes=[0, 1])
    twin = pickle.loads(pickle.dumps(model))
    for start in range(3200, 6000, 100):
        for m in (model, twin):
            m.partial_fit(X[start:start + 100], y[start:start + 100])
    assert model.history_ == twin.history_ and model.history_
    np.testing.assert_array_equal(model.estimator_.coef_, twin.estimator_.coef_)


@parametrize_with_checks(
    # (seeded inner models: set_random_state seeds the top level only)
    [DriftAdaptive(LinearClassifier(random_state=0)),
     DriftAdaptive(LinearRegressor(random_state=0), signal="loss")],
    expected_failed_checks=lambda estimator: {
        check: "sample_weight is not equivalent to removing/repeating samples (marked "
               "the same for scikit-learn's SGD estimators)."
        for check in ("check_sample_weight_equivalence_on_dense_data",
                      "check_sample_weight_equivalence_on_sparse_data")})
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_predict_then_partial_fit_reuses_the_predictions_only_for_the_same_rows():
    X, y = drifting_blobs(n_rows=1000)
    plain, reusing, tricked = (DriftAdaptive(LinearClassifier(random_state=0),
                                             ADWIN(clock=1)) for _ in range(3))
    for model in (plain, reusing, tricked):
        model.partial_fit(X[:2], y[:2], classes=[0, 1])
    buffer = np.empty((1, 3))
    for row in range(2, 1000):
        plain.partial_fit(X[row:row + 1], y[row:row + 1])
        reusing.predict(X[row:row + 1])
        reusing.partial_fit(X[row:row + 1], y[row:row + 1])
        buffer[0] = X[row - 1]
        tricked.predict(buffer)
        buffer[0] = X[row]  # the same buffer, other values: the cache must miss
        tricked.partial_fit(buffer, y[row:row + 1])
    assert plain.history_ and plain.history_ == reusing.history_ == tricked.history_
    np.testing.assert_array_equal(plain.detector_._stream_state[0],
                                  tricked.detector_._stream_state[0])
