"""Each callback of ``sklearn_train.callbacks`` does what it says, checked by its effect.

Where a callback reacts to a history column, the tests either feed it a scripted column
(``Script``, written by a callback listed before it: callbacks talk through the history
rows) whose stalls are known by construction, or read the real column back from
``history_`` and work out independently when the callback should have acted.
Parameters "at epoch e" come from ``Recorder``, which keeps ``run.model()`` after every
epoch; it is a module-level class (not a LambdaCallback with a lambda) so that an
estimator holding it can be pickled by ``Checkpoint``.
"""

import copy
import math
import os
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.preprocessing import StandardScaler

from sklearn_train import DivergenceError, LinearClassifier, LinearRegressor
from sklearn_train._training import mark_best, new_progress
from sklearn_train.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

EXACT = dict(rtol=1e-12, atol=1e-12)


# -- data and helpers -------------------------------------------------------------------


def binary_data(n=240, n_features=6, seed=0):
    X, y = make_classification(n, n_features, n_informative=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


def noisy_binary_data():
    """15% of the labels flipped: with a large step the validation loss soon stalls."""
    X, y = binary_data(n=300, n_features=8, seed=1)
    return X, np.where(np.random.default_rng(0).random(len(y)) < 0.15, 1 - y, y)


def regression_data(n=240, n_features=6, seed=0):
    X, y = make_regression(n, n_features, n_informative=4, noise=5.0, random_state=seed)
    return StandardScaler().fit_transform(X), y


# A classifier whose validation loss turns up within a few tens of epochs
NOISY = dict(eta0=0.2, tol=None, max_iter=200, random_state=0)


def noisy_split():
    """``(X_train, y_train), {"X_val": .., "y_val": ..}`` of the noisy data.

    Explicit validation data, not ``early_stopping=True``: the estimator's own early
    stopping restores its best epoch too, which would hide what the callback does.
    """
    X, y = noisy_binary_data()
    return (X[:240], y[:240]), {"X_val": X[240:], "y_val": y[240:]}


class Recorder(Callback):
    """Keeps a fitted copy of the model after every epoch: ``models[epoch]``."""

    def __init__(self):
        pass

    def on_train_begin(self, run):
        if not hasattr(self, "models"):
            self.models = {}

    def on_epoch_end(self, run):
        self.models[run.epoch] = run.model()


class Script(Callback):
    """Writes ``values[epoch - 1]`` into the history column ``column`` after each epoch."""

    def __init__(self, column, values):
        self.column = column
        self.values = values

    def on_epoch_end(self, run):
        run.history[-1][self.column] = self.values[run.epoch - 1]


def find(callbacks, kind):
    (found,) = [callback for callback in callbacks if isinstance(callback, kind)]
    return found


def assert_same_parameters(a, b):
    np.testing.assert_allclose(a.coef_, b.coef_, **EXACT)
    np.testing.assert_allclose(a.intercept_, b.intercept_, **EXACT)


def expected_stop(values, patience, min_delta=0.0, mode="min"):
    """(best epoch, stop epoch or None) of an early stop watching ``values`` (epochs 1..).

    An epoch improves when it beats the last improving epoch by more than min_delta;
    training stops after the ``patience``-th epoch in a row that does not improve.
    """
    sign = 1.0 if mode == "min" else -1.0
    best_value, best_epoch, stalled = math.inf, None, 0
    for epoch, value in enumerate(values, start=1):
        if sign * value < best_value - min_delta:
            best_value, best_epoch, stalled = sign * value, epoch, 0
        else:
            stalled += 1
            if stalled == patience:
                return best_epoch, epoch
    return best_epoch, None


def column(estimator, name):
    return [row[name] for row in estimator.history_]


def best_rows(estimator):
    return [row["epoch"] for row in estimator.history_ if row["best"]]


# -- EarlyStopping ----------------------------------------------------------------------


@pytest.mark.parametrize("patience, min_delta", [(1, 0.0), (3, 0.0), (3, 0.25)])
def test_early_stopping_stops_patience_epochs_after_a_scripted_best(patience, min_delta):
    # a first stall at epoch 5, then a new best at 6 followed by gains of at most 0.12
    values = [9.0, 8.0, 7.0, 6.0, 6.5, 5.8, 5.9, 5.85, 5.82, 5.7, 5.65, 5.6, 5.55, 5.5]
    best, stop = expected_stop(values, patience, min_delta)
    assert stop == best + patience < len(values)
    X, y = binary_data()
    clf = LinearClassifier(max_iter=len(values), tol=None, random_state=0, callbacks=[
        Recorder(),
        Script("watched_loss", values),
        EarlyStopping("watched_loss", patience=patience, min_delta=min_delta),
    ]).fit(X, y)

    stopping = find(clf.callbacks_, EarlyStopping)
    assert clf.n_iter_ == len(clf.history_) == stopping.stopped_epoch_ == stop
    assert stopping.best_epoch_ == best == clf.best_epoch_
    assert stopping.best_ == values[best - 1]
    assert_same_parameters(clf, find(clf.callbacks_, Recorder).models[best])


def test_early_stopping_min_delta_ignores_small_gains():
    values = [9.0, 8.0, 7.0, 6.0, 6.5, 5.8, 5.9, 5.85, 5.82, 5.7, 5.65, 5.6, 5.55, 5.5]
    X, y = binary_data()
    stops = {}
    for min_delta in (0.0, 0.25):
        clf = LinearClassifier(max_iter=len(values), tol=None, random_state=0, callbacks=[
            Script("watched_loss", values),
            EarlyStopping("watched_loss", patience=3, min_delta=min_delta),
        ]).fit(X, y)
        stops[min_delta] = (clf.best_epoch_, clf.n_iter_)
        assert stops[min_delta] == expected_stop(values, 3, min_delta)
    # 5.8 after 6.0 is a gain of 0.2: a new best (epoch 6, stop at 9) only without
    # min_delta; with it the best stays at epoch 4 and training stops at 7
    assert stops[0.0] != stops[0.25]


def test_early_stopping_on_the_validation_loss_stops_and_restores_the_best_epoch():
    (X, y), validation = noisy_split()
    recorder = Recorder()
    clf = LinearClassifier(**NOISY, callbacks=[recorder, EarlyStopping("val_loss", patience=3)]
                           ).fit(X, y, **validation)

    stopping = find(clf.callbacks_, EarlyStopping)
    best, stop = expected_stop(column(clf, "val_loss"), patience=3)
    assert stop is not None and best < stop  # restoring is what is tested
    assert stopping.stopped_epoch_ == stop == clf.n_iter_
    assert stopping.best_epoch_ == best == clf.best_epoch_
    assert best_rows(clf) == [best]
    assert stopping.best_ == clf.history_[best - 1]["val_loss"]
    models = find(clf.callbacks_, Recorder).models
    assert sorted(models) == list(range(1, stop + 1))
    assert_same_parameters(clf, models[best])
    np.testing.assert_array_equal(clf.predict_proba(X), models[best].predict_proba(X))
    # the original recorder was never called: training used a copy
    assert not hasattr(recorder, "models")


def test_early_stopping_without_restore_keeps_the_last_epoch():
    (X, y), validation = noisy_split()
    clf = LinearClassifier(**NOISY, callbacks=[
        Recorder(), EarlyStopping("val_loss", patience=3, restore_best=False)]
    ).fit(X, y, **validation)

    stopping = find(clf.callbacks_, EarlyStopping)
    best, stop = expected_stop(column(clf, "val_loss"), patience=3)
    assert stopping.stopped_epoch_ == stop == clf.n_iter_
    assert best < stop
    models = find(clf.callbacks_, Recorder).models
    assert_same_parameters(clf, models[stop])
    assert np.abs(clf.coef_ - models[best].coef_).max() > 1e-6
    # nothing was restored: ``best`` marks the lowest validation loss, as documented
    assert best_rows(clf) == [best] and clf.best_epoch_ == best


def test_restored_epoch_is_the_best_row_even_where_another_loss_is_lower():
    # the watched column is best at epoch 2; the validation loss keeps falling at first
    values = [5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    X, y = binary_data()
    clf = LinearClassifier(max_iter=len(values), tol=None, random_state=0, callbacks=[
        Recorder(), Script("watched_loss", values), EarlyStopping("watched_loss", patience=3),
    ]).fit(X[:200], y[:200], X_val=X[200:], y_val=y[200:])

    assert clf.n_iter_ == 5
    assert int(np.argmin(column(clf, "val_loss"))) + 1 != 2  # else this proves nothing
    assert best_rows(clf) == [2] and clf.best_epoch_ == 2
    assert_same_parameters(clf, find(clf.callbacks_, Recorder).models[2])


def test_early_stopping_restores_the_best_epoch_when_max_iter_ends_the_fit():
    values = [3.0, 1.0, 2.0, 2.0, 2.0]  # patience 10 never runs out
    X, y = binary_data()
    clf = LinearClassifier(max_iter=len(values), tol=None, random_state=0, callbacks=[
        Recorder(), Script("watched_loss", values), EarlyStopping("watched_loss", patience=10),
    ]).fit(X, y)

    stopping = find(clf.callbacks_, EarlyStopping)
    assert clf.n_iter_ == len(values) and stopping.stopped_epoch_ is None
    assert_same_parameters(clf, find(clf.callbacks_, Recorder).models[2])
    assert clf.best_epoch_ == 2 and best_rows(clf) == [2]


@pytest.mark.parametrize("max_iter", [
    20,  # the train-loss best (epoch 17) is not the last epoch
    12,  # ... and is the last epoch, while early_stopping=True restored another one
])
def test_early_stopping_restore_replaces_the_estimators_own_restore(max_iter):
    # early_stopping=True restores the lowest validation loss; a callback watching the
    # training loss restores after it (on_train_end), so its best epoch must win
    X, y = noisy_binary_data()
    clf = LinearClassifier(early_stopping=True, eta0=0.2, tol=None, max_iter=max_iter,
                           random_state=0, callbacks=[
        Recorder(), EarlyStopping("train_loss", patience=50)]).fit(X, y)

    stopping = find(clf.callbacks_, EarlyStopping)
    val_best = int(np.argmin(column(clf, "val_loss"))) + 1
    assert stopping.stopped_epoch_ is None
    assert stopping.best_epoch_ != val_best  # the two restores disagree
    assert_same_parameters(clf, find(clf.callbacks_, Recorder).models[stopping.best_epoch_])
    assert clf.best_epoch_ == stopping.best_epoch_ and best_rows(clf) == [clf.best_epoch_]


def test_early_stopping_in_max_mode_on_the_validation_score():
    (X, y), validation = noisy_split()
    clf = LinearClassifier(**NOISY, callbacks=[
        Recorder(), EarlyStopping("val_score", patience=3, mode="max")]).fit(X, y, **validation)

    stopping = find(clf.callbacks_, EarlyStopping)
    scores = column(clf, "val_score")
    best, stop = expected_stop(scores, patience=3, mode="max")
    assert stop is not None
    assert stopping.stopped_epoch_ == stop == clf.n_iter_
    assert stopping.best_epoch_ == best == clf.best_epoch_
    assert stopping.best_ == max(scores) == scores[best - 1]
    assert_same_parameters(clf, find(clf.callbacks_, Recorder).models[best])


def test_early_stopping_auto_mode_maximises_a_score():
    (X, y), validation = noisy_split()
    auto = LinearClassifier(**NOISY, callbacks=[EarlyStopping("val_score", patience=3)]
                            ).fit(X, y, **validation)
    explicit = LinearClassifier(**NOISY, callbacks=[
        EarlyStopping("val_score", patience=3, mode="max")]).fit(X, y, **validation)
    assert auto.n_iter_ < NOISY["max_iter"]
    assert auto.n_iter_ == explicit.n_iter_
    assert auto.best_epoch_ == explicit.best_epoch_


def test_early_stopping_on_an_unknown_column_names_it():
    X, y = binary_data()
    clf = LinearClassifier(max_iter=3, tol=None, callbacks=[EarlyStopping("val_acuracy")])
    with pytest.raises(ValueError, match="val_acuracy") as error:
        clf.fit(X, y)
    assert "train_loss" in str(error.value)  # it lists the columns there are
    assert not hasattr(clf, "coef_")  # a failed fit leaves the estimator unfitted


def test_early_stopping_on_the_validation_loss_without_validation_data():
    X, y = binary_data()
    clf = LinearClassifier(max_iter=3, tol=None, callbacks=[EarlyStopping()])  # val_loss
    with pytest.raises(ValueError, match="val_loss") as error:
        clf.fit(X, y)
    message = str(error.value)
    assert "validation data" in message and "X_val" in message


def test_early_stopping_patience_must_be_positive():
    X, y = binary_data()
    with pytest.raises(ValueError, match="patience"):
        LinearClassifier(max_iter=3, callbacks=[EarlyStopping("train_loss", patience=0)]).fit(X, y)


# -- ReduceLROnPlateau ------------------------------------------------------------------


def expected_rates(values, eta0, factor, patience, min_delta=1e-4, cooldown=0, min_lr=0.0):
    """Learning rate of each epoch and the reducing epochs, under a plateau rule."""
    rate, rates, reductions = eta0, [], []
    best, stalled, cooling = math.inf, 0, 0
    for epoch, value in enumerate(values, start=1):
        rates.append(rate)
        if value < best - min_delta:
            best, stalled = value, 0
        else:
            stalled += 1
        if cooling > 0:
            cooling -= 1
            stalled = 0
        elif stalled >= patience:
            new_rate = max(rate * factor, min_lr)
            if new_rate < rate:
                rate = new_rate
                reductions.append(epoch)
            stalled, cooling = 0, cooldown
    return rates, reductions


PLATEAU_VALUES = [5.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("patience, cooldown", [(1, 0), (2, 0), (2, 2)])
def test_reduce_lr_on_plateau_multiplies_the_rate_after_patience_stalled_epochs(
        patience, cooldown):
    X, y = binary_data()
    eta0, factor = 0.1, 0.5
    clf = LinearClassifier(learning_rate="constant", eta0=eta0, tol=None,
                           max_iter=len(PLATEAU_VALUES), random_state=0, callbacks=[
        Script("watched_loss", PLATEAU_VALUES),
        ReduceLROnPlateau("watched_loss", factor=factor, patience=patience, cooldown=cooldown),
    ]).fit(X, y)

    rates, reductions = expected_rates(PLATEAU_VALUES, eta0, factor, patience,
                                       cooldown=cooldown)
    assert reductions  # the scripted plateaus do trigger reductions
    np.testing.assert_allclose(column(clf, "learning_rate"), rates, rtol=1e-12)
    assert find(clf.callbacks_, ReduceLROnPlateau).reductions_ == reductions
    # each reduction shows as a drop by exactly ``factor`` in the next epoch's row
    learning_rates = column(clf, "learning_rate")
    for epoch in reductions[:-1] if reductions[-1] == len(PLATEAU_VALUES) else reductions:
        assert learning_rates[epoch] == pytest.approx(factor * learning_rates[epoch - 1],
                                                      rel=1e-12)


def test_reduce_lr_on_plateau_really_slows_the_steps():
    # the rate the history reports is the one the optimizer used: training on with the
    # reduced rate equals a run whose later epochs are scheduled at that rate
    X, y = binary_data()
    values = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    params = dict(optimizer="sgd", learning_rate="constant", eta0=0.1, tol=None,
                  max_iter=len(values), random_state=0)
    reduced = LinearClassifier(**params, callbacks=[
        Script("watched_loss", values),
        ReduceLROnPlateau("watched_loss", factor=0.5, patience=2)]).fit(X, y)
    rates, reductions = expected_rates(values, 0.1, 0.5, patience=2)
    assert find(reduced.callbacks_, ReduceLROnPlateau).reductions_ == reductions == [4, 6]
    scheduled = LinearClassifier(**params, callbacks=[LearningRateScheduler(
        lambda epoch, lr: rates[epoch])]).fit(X, y)
    assert column(scheduled, "learning_rate") == column(reduced, "learning_rate")
    assert_same_parameters(reduced, scheduled)


def test_reduce_lr_on_plateau_stops_at_min_lr():
    X, y = binary_data()
    values = [1.0] * 12  # stalls from the second epoch on
    clf = LinearClassifier(learning_rate="constant", eta0=0.1, tol=None, max_iter=12,
                           random_state=0, callbacks=[
        Script("watched_loss", values),
        ReduceLROnPlateau("watched_loss", factor=0.5, patience=2, min_lr=0.03),
    ]).fit(X, y)

    rates = column(clf, "learning_rate")
    assert min(rates) >= 0.03
    assert rates[-1] == pytest.approx(0.03, rel=1e-12)
    # 0.1 -> 0.05 after epoch 3 -> 0.03 (not 0.025) after epoch 5, then no more
    assert find(clf.callbacks_, ReduceLROnPlateau).reductions_ == [3, 5]


def test_reduce_lr_on_plateau_never_goes_below_min_lr_by_rounding():
    X, y = binary_data()
    values = [1.0] * 12
    clf = LinearClassifier(learning_rate="constant", eta0=0.1, tol=None, max_iter=12,
                           random_state=0, callbacks=[
        Script("watched_loss", values),
        ReduceLROnPlateau("watched_loss", factor=0.3, patience=2, min_lr=0.007),
    ]).fit(X, y)

    rates = column(clf, "learning_rate")
    # 0.1 -> 0.03 -> 0.009 -> 0.007 (min_lr), reached after epoch 7
    assert find(clf.callbacks_, ReduceLROnPlateau).reductions_ == [3, 5, 7]
    assert min(rates) >= 0.007


def test_reduce_lr_on_plateau_persists_across_partial_fit_and_resets_with_fit():
    X, y = binary_data()
    values = [1.0] * 6
    clf = LinearClassifier(learning_rate="constant", eta0=0.1, tol=None, random_state=0,
                           callbacks=[Script("watched_loss", values),
                                      ReduceLROnPlateau("watched_loss", factor=0.5, patience=1)])
    first_callbacks = None
    for call in range(len(values)):
        clf.partial_fit(X, y, classes=[0, 1])
        if first_callbacks is None:
            first_callbacks = clf.callbacks_
        # each call works on copies and keeps them: the state goes on from call to call
        assert len(find(clf.callbacks_, ReduceLROnPlateau).reductions_) == max(0, call)

    rates, reductions = expected_rates(values, 0.1, 0.5, patience=1)
    assert reductions == [2, 3, 4, 5, 6]
    np.testing.assert_allclose(column(clf, "learning_rate"), rates, rtol=1e-12)
    assert find(clf.callbacks_, ReduceLROnPlateau).reductions_ == reductions

    # a new fit starts over at the full rate, with fresh callback copies
    clf.set_params(max_iter=2).fit(X, y)
    assert column(clf, "learning_rate") == [0.1, 0.1]
    assert clf.callbacks_ is not first_callbacks
    assert find(clf.callbacks_, ReduceLROnPlateau).reductions_ == [2]


def test_a_second_fit_starts_again_from_the_full_rate():
    X, y = binary_data()
    values = [1.0] * 10  # indexed by epoch, which goes on under warm_start
    clf = LinearClassifier(learning_rate="constant", eta0=0.1, tol=None, max_iter=5,
                           random_state=0, callbacks=[
        Script("watched_loss", values), ReduceLROnPlateau("watched_loss", factor=0.5, patience=1)])
    first = column(clf.fit(X, y), "learning_rate")
    second = column(clf.fit(X, y), "learning_rate")
    assert first[0] == 0.1 and first[-1] < 0.1
    assert second == first
    # also when the second fit continues the first (warm_start): the rate starts over
    warm = column(clf.set_params(warm_start=True).fit(X, y), "learning_rate")
    assert warm[-5:] == first


def test_reduce_lr_on_plateau_rejects_a_factor_outside_zero_one():
    X, y = binary_data()
    with pytest.raises(ValueError, match="factor"):
        LinearClassifier(max_iter=2, callbacks=[ReduceLROnPlateau("train_loss", factor=1.5)]
                         ).fit(X, y)


# -- LearningRateScheduler --------------------------------------------------------------


def test_learning_rate_scheduler_sets_each_epochs_rate():
    X, y = binary_data()
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return 0.2 / (1 + epoch) ** 2

    clf = LinearClassifier(learning_rate="constant", eta0=0.07, max_iter=5, tol=None,
                           random_state=0, callbacks=[LearningRateScheduler(schedule)]).fit(X, y)

    assert [epoch for epoch, _ in calls] == list(range(5))
    # the function sees the estimator's own (constant) schedule, not its last answer
    assert [lr for _, lr in calls] == [0.07] * 5
    assert column(clf, "learning_rate") == [0.2 / (1 + epoch) ** 2 for epoch in range(5)]


def test_learning_rate_scheduler_sees_the_schedules_own_rate():
    X, y = binary_data()
    seen = []
    clf = LinearClassifier(learning_rate="exponential", eta0=0.1, lr_decay=0.5, max_iter=4,
                           tol=None, random_state=0, callbacks=[LearningRateScheduler(
        lambda epoch, lr: seen.append(lr) or 0.5 * lr)]).fit(X, y)
    # exponential: eta0 * lr_decay ** epoch at the epoch's start, not compounded by the
    # halving the function applies
    np.testing.assert_allclose(seen, [0.1 * 0.5 ** e for e in range(4)], rtol=1e-12)
    np.testing.assert_allclose(column(clf, "learning_rate"),
                               [0.05 * 0.5 ** e for e in range(4)], rtol=1e-12)


def test_learning_rate_scheduler_counts_epochs_across_partial_fit():
    X, y = binary_data()
    epochs = []
    clf = LinearClassifier(random_state=0, callbacks=[LearningRateScheduler(
        lambda epoch, lr: epochs.append(epoch) or 0.01)])
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])
    assert epochs == [0, 1, 2]
    assert column(clf, "learning_rate") == [0.01] * 3


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf")])
def test_learning_rate_scheduler_rejects_a_non_positive_rate(bad):
    X, y = binary_data()
    clf = LinearClassifier(max_iter=3, tol=None,
                           callbacks=[LearningRateScheduler(lambda epoch, lr: bad)])
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        clf.fit(X, y)
    assert not hasattr(clf, "coef_")


# -- Checkpoint -------------------------------------------------------------------------


def test_checkpoint_file_is_the_model_at_its_best_epoch(tmp_path):
    X, y = binary_data()
    path = tmp_path / "best.joblib"
    clf = LinearClassifier(eta0=0.3, learning_rate="constant", max_iter=15, tol=None,
                           random_state=0,
                           callbacks=[Recorder(), Checkpoint(path, monitor="train_loss")]
                           ).fit(X, y)

    checkpoint = find(clf.callbacks_, Checkpoint)
    losses = column(clf, "train_loss")
    best = int(np.argmin(losses)) + 1
    assert checkpoint.best_epoch_ == best and checkpoint.best_ == min(losses)
    # one write per improving epoch, all to the same file
    improving = [e for e in range(1, 16) if losses[e - 1] < min(losses[:e - 1], default=np.inf)]
    assert checkpoint.saved_ == [os.fspath(path)] * len(improving)

    saved = joblib.load(path)
    at_best = find(clf.callbacks_, Recorder).models[best]
    assert saved.history_[-1]["epoch"] == best and len(saved.history_) == best
    assert_same_parameters(saved, at_best)
    np.testing.assert_array_equal(saved.predict_proba(X), at_best.predict_proba(X))
    np.testing.assert_array_equal(saved.predict(X), at_best.predict(X))


def test_checkpoint_of_the_restored_epoch_predicts_as_the_final_model(tmp_path):
    (X, y), validation = noisy_split()
    path = tmp_path / "best.joblib"
    clf = LinearClassifier(**NOISY, callbacks=[
        EarlyStopping("val_loss", patience=3), Checkpoint(path, monitor="val_loss")]
    ).fit(X, y, **validation)

    assert find(clf.callbacks_, EarlyStopping).stopped_epoch_ > clf.best_epoch_
    saved = joblib.load(path)
    assert saved.history_[-1]["epoch"] == clf.best_epoch_
    assert_same_parameters(saved, clf)
    np.testing.assert_array_equal(saved.predict_proba(X), clf.predict_proba(X))


def test_checkpoint_every_epoch_to_its_own_file(tmp_path):
    X, y = regression_data()
    template = os.fspath(tmp_path / "ckpt_{epoch}.joblib")
    reg = LinearRegressor(max_iter=4, tol=None, random_state=0, callbacks=[
        Recorder(), Checkpoint(template, monitor="train_loss", save_best_only=False)]).fit(X, y)

    expected = [template.format(epoch=epoch) for epoch in range(1, 5)]
    assert find(reg.callbacks_, Checkpoint).saved_ == expected
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in expected)
    models = find(reg.callbacks_, Recorder).models
    for epoch, path in enumerate(expected, start=1):
        saved = joblib.load(path)
        assert saved.history_[-1]["epoch"] == epoch
        assert_same_parameters(saved, models[epoch])
        np.testing.assert_array_equal(saved.predict(X), models[epoch].predict(X))
    assert_same_parameters(joblib.load(expected[-1]), reg)


def test_a_reloaded_checkpoint_continues_with_partial_fit_as_the_fit_did(tmp_path):
    X, y = binary_data()
    template = os.fspath(tmp_path / "ckpt_{epoch}.joblib")
    clf = LinearClassifier(max_iter=5, tol=None, random_state=0, callbacks=[
        Recorder(), Checkpoint(template, monitor="train_loss", save_best_only=False)]).fit(X, y)
    models = find(clf.callbacks_, Recorder).models

    resumed = joblib.load(template.format(epoch=3))
    resumed.set_params(callbacks=None)
    resumed.partial_fit(X, y)
    resumed.partial_fit(X, y)

    # same optimizer state (Adam moments, step count) and shuffle seed: epochs 4 and 5
    # run exactly as they did inside the fit
    assert [row["epoch"] for row in resumed.history_] == [1, 2, 3, 4, 5]
    assert resumed.t_ == clf.t_
    assert_same_parameters(resumed, models[5])
    assert_same_parameters(resumed, clf)


def test_checkpoint_monitoring_validation_loss_without_validation_data(tmp_path):
    X, y = binary_data()
    with pytest.raises(ValueError, match="val_loss"):
        LinearClassifier(max_iter=2, callbacks=[Checkpoint(tmp_path / "c.joblib")]).fit(X, y)
    assert not os.listdir(tmp_path)


def test_checkpoint_next_to_a_lambda_callback(tmp_path):
    # a lambda cannot be pickled: the file holds the model without its callbacks
    X, y = binary_data()
    seen = []
    path = tmp_path / "best.joblib"
    with pytest.warns(UserWarning, match="without its callbacks"):
        clf = LinearClassifier(max_iter=3, tol=None, random_state=0, callbacks=[
            LambdaCallback(on_epoch_end=lambda run: seen.append(run.epoch)),
            Checkpoint(path, monitor="train_loss", save_best_only=False)]).fit(X, y)
    assert seen == [1, 2, 3] and path.exists()
    saved = joblib.load(path)
    assert saved.callbacks is None and saved.callbacks_ == []
    np.testing.assert_array_equal(saved.coef_, clf.coef_)


# -- TerminateOnNaN ---------------------------------------------------------------------


def diverging_regression():
    """Unscaled features (std 1e3) with a large constant SGD step: blows up in a few epochs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * 1e3
    return X, X @ np.array([1.0, 2.0, 3.0])


DIVERGING = dict(optimizer="sgd", eta0=0.1, learning_rate="constant", tol=None,
                 max_iter=30, random_state=0)


def test_a_diverging_run_raises_without_terminate_on_nan():
    X, y = diverging_regression()
    reg = LinearRegressor(**DIVERGING)
    with pytest.raises(DivergenceError, match="diverged"):
        reg.fit(X, y)
    assert not hasattr(reg, "coef_")


def test_terminate_on_nan_keeps_the_last_good_epoch():
    X, y = diverging_regression()
    reg = LinearRegressor(**DIVERGING, callbacks=[Recorder(), TerminateOnNaN()])
    with pytest.warns(RuntimeWarning, match="TerminateOnNaN stopped training"):
        reg.fit(X, y)

    terminate = find(reg.callbacks_, TerminateOnNaN)
    assert 2 <= reg.n_iter_ < DIVERGING["max_iter"]
    assert terminate.terminated_epoch_ == reg.n_iter_ + 1
    assert len(reg.history_) == reg.n_iter_
    assert np.isfinite(reg.coef_).all() and np.isfinite(reg.intercept_).all()
    models = find(reg.callbacks_, Recorder).models
    assert sorted(models) == list(range(1, reg.n_iter_ + 1))
    assert_same_parameters(reg, models[reg.n_iter_])
    assert np.isfinite(reg.predict(X)).all()


def test_terminate_on_nan_is_silent_on_a_healthy_run():
    X, y = regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = LinearRegressor(max_iter=3, tol=None, random_state=0,
                              callbacks=[TerminateOnNaN()]).fit(X, y)
        plain = LinearRegressor(max_iter=3, tol=None, random_state=0).fit(X, y)
    assert find(reg.callbacks_, TerminateOnNaN).terminated_epoch_ is None
    assert reg.n_iter_ == 3
    assert_same_parameters(reg, plain)  # the rollback copy changes nothing


# -- LambdaCallback ---------------------------------------------------------------------


def test_lambda_callback_hooks_run_in_order():
    X, y = binary_data()
    events = []
    hooks = LambdaCallback(
        on_train_begin=lambda run: events.append(("train_begin", run.epoch)),
        on_epoch_begin=lambda run: events.append(("epoch_begin", run.epoch)),
        on_epoch_end=lambda run: events.append(("epoch_end", run.epoch, len(run.history))),
        on_train_end=lambda run: events.append(("train_end", run.epoch)),
    )
    clf = LinearClassifier(max_iter=4, tol=None, random_state=0, callbacks=[hooks]).fit(X, y)

    expected = [("train_begin", 0)]
    for epoch in range(1, clf.n_iter_ + 1):
        expected += [("epoch_begin", epoch - 1), ("epoch_end", epoch, epoch)]
    expected.append(("train_end", 4))
    assert clf.n_iter_ == 4
    assert events == expected


def test_lambda_callback_with_some_hooks_only():
    X, y = binary_data()
    ends = []
    clf = LinearClassifier(max_iter=3, tol=None, random_state=0, callbacks=[
        LambdaCallback(on_epoch_end=lambda run: ends.append(run.history[-1]["train_loss"]))
    ]).fit(X, y)
    assert ends == column(clf, "train_loss")


def test_returning_true_from_on_epoch_end_stops():
    X, y = binary_data()
    ended = []
    clf = LinearClassifier(max_iter=50, tol=None, random_state=0, callbacks=[
        LambdaCallback(on_epoch_end=lambda run: run.epoch >= 3,
                       on_train_end=lambda run: ended.append(run.epoch))]).fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 3
    assert ended == [3]


@pytest.mark.parametrize("hook", ["on_epoch_begin", "on_epoch_end"])
def test_setting_stop_training_stops_after_the_present_epoch(hook):
    X, y = binary_data()

    def stop_at_third_epoch(run):
        # run.epoch counts completed epochs: 2 before the third epoch, 3 after it
        if run.epoch == (2 if hook == "on_epoch_begin" else 3):
            run.stop_training = True

    clf = LinearClassifier(max_iter=50, tol=None, random_state=0,
                           callbacks=[LambdaCallback(**{hook: stop_at_third_epoch})]).fit(X, y)
    assert clf.n_iter_ == 3


def test_lambda_callback_repr():
    hooks = LambdaCallback(on_epoch_end=print)
    assert repr(hooks) == (
        "LambdaCallback(on_train_begin=None, on_epoch_begin=None, "
        "on_epoch_end=<built-in function print>, on_train_end=None)")
    assert "LambdaCallback(" in repr(LinearClassifier(callbacks=[hooks]))


def test_stopping_callback_does_not_silence_the_others():
    # every callback's on_epoch_end runs for the epoch that stops training
    X, y = binary_data()
    seen = []
    LinearClassifier(max_iter=50, tol=None, random_state=0, callbacks=[
        LambdaCallback(on_epoch_end=lambda run: run.epoch >= 2),
        LambdaCallback(on_epoch_end=lambda run: seen.append(run.epoch)),
    ]).fit(X, y)
    assert seen == [1, 2]


# -- callbacks are never mutated; copies live in callbacks_ --------------------------------


def public_state(callback):
    return {key: copy.copy(value) for key, value in vars(callback).items()}


def test_fit_leaves_the_passed_callbacks_untouched():
    X, y = noisy_binary_data()
    stopping = EarlyStopping("val_loss", patience=3)
    plateau = ReduceLROnPlateau("val_loss", patience=2)
    terminate = TerminateOnNaN()
    before = [public_state(cb) for cb in (stopping, plateau, terminate)]
    clf = LinearClassifier(early_stopping=True, **NOISY,
                           callbacks=[stopping, plateau, terminate]).fit(X, y)

    assert [public_state(cb) for cb in (stopping, plateau, terminate)] == before
    for original, used in zip(clf.callbacks, clf.callbacks_):
        assert type(used) is type(original) and used is not original
        assert not any(key.endswith("_") for key in vars(original))
    assert clf.callbacks_[0].stopped_epoch_ == clf.n_iter_
    assert not hasattr(stopping, "stopped_epoch_")
    assert clf.callbacks == [stopping, plateau, terminate]  # the parameter itself too


def test_clone_gives_independent_callbacks():
    X, y = noisy_binary_data()
    clf = LinearClassifier(early_stopping=True, **NOISY,
                           callbacks=[EarlyStopping("val_loss", patience=3)])
    cloned = clone(clf)
    assert cloned.callbacks[0] is not clf.callbacks[0]
    assert repr(cloned.callbacks[0]) == repr(clf.callbacks[0])

    clf.fit(X, y)
    cloned.set_params(random_state=1).fit(X, y)
    assert clf.callbacks_[0] is not cloned.callbacks_[0]
    assert clf.callbacks_[0].stopped_epoch_ == clf.n_iter_
    assert cloned.callbacks_[0].stopped_epoch_ == cloned.n_iter_
    # a clone of a fitted estimator gets fresh, unfitted callbacks
    again = clone(clf)
    assert not hasattr(again, "callbacks_")
    assert not hasattr(again.callbacks[0], "stopped_epoch_")


def test_partial_fit_keeps_its_callbacks_and_early_stopping_counts_across_calls():
    X, y = noisy_binary_data()
    X_train, y_train, X_val, y_val = X[:240], y[:240], X[240:], y[240:]
    clf = LinearClassifier(eta0=0.2, learning_rate="constant", random_state=0,
                           callbacks=[Recorder(), EarlyStopping("val_loss", patience=2)])
    for call in range(100):
        clf.partial_fit(X_train, y_train, classes=[0, 1], X_val=X_val, y_val=y_val)
        # the recorder's models go on accumulating: the callbacks' state carries over
        assert len(clf.callbacks_[0].models) == call + 1
        if clf.callbacks_[1].stopped_epoch_ is not None:
            break

    stopping = clf.callbacks_[1]
    best, stop = expected_stop(column(clf, "val_loss"), patience=2)
    assert stop is not None and best < stop
    assert stopping.stopped_epoch_ == stop == len(clf.history_)
    assert stopping.best_epoch_ == best
    # the call that stopped went back to the best epoch's parameters
    assert_same_parameters(clf, clf.callbacks_[0].models[best])
    assert clf.best_epoch_ == best and best_rows(clf) == [best]


@pytest.mark.parametrize("not_a_callback", [
    lambda run: None, "EarlyStopping", EarlyStopping],
    ids=["function", "string", "class"])
def test_a_non_callback_in_callbacks_is_a_type_error(not_a_callback):
    X, y = binary_data()
    with pytest.raises(TypeError, match="sklearn_train.callbacks.Callback"):
        LinearClassifier(max_iter=2, callbacks=[not_a_callback]).fit(X, y)


def test_callbacks_must_be_a_list():
    X, y = binary_data()
    with pytest.raises(ValueError, match="callbacks"):
        LinearClassifier(max_iter=2, callbacks=EarlyStopping("train_loss")).fit(X, y)


# -- scoring= ---------------------------------------------------------------------------


def balanced_error(estimator, X, y):
    """A plain callable scorer: minus the mean per-class error rate."""
    predictions = estimator.predict(X)
    return -np.mean([np.mean(predictions[y == label] != label) for label in np.unique(y)])


CLASSIFIER_SCORINGS = {
    "roc_auc": lambda model, X, y: roc_auc_score(y, model.decision_function(X)),
    "neg_log_loss": lambda model, X, y: -log_loss(y, model.predict_proba(X)),
    balanced_error: balanced_error,
    None: lambda model, X, y: accuracy_score(y, model.predict(X)),
}


@pytest.mark.parametrize("scoring", list(CLASSIFIER_SCORINGS),
                         ids=["roc_auc", "neg_log_loss", "callable", "default"])
def test_scoring_is_written_as_val_score_every_epoch(scoring):
    X, y = binary_data()
    X_train, y_train, X_val, y_val = X[:180], y[:180], X[180:], y[180:]
    clf = LinearClassifier(max_iter=4, tol=None, random_state=0, scoring=scoring,
                           callbacks=[Recorder()]).fit(X_train, y_train, X_val=X_val,
                                                       y_val=y_val)

    reference = CLASSIFIER_SCORINGS[scoring]
    models = find(clf.callbacks_, Recorder).models
    for row in clf.history_:
        assert row["val_score"] == pytest.approx(
            reference(models[row["epoch"]], X_val, y_val), rel=1e-10, abs=1e-12)
    # no restore happened: the final model is the last epoch's
    assert clf.history_[-1]["val_score"] == pytest.approx(reference(clf, X_val, y_val),
                                                          rel=1e-10, abs=1e-12)
    assert len({row["val_score"] for row in clf.history_}) > 1 or scoring is None


def test_regressor_scoring():
    X, y = regression_data()
    reg = LinearRegressor(max_iter=3, tol=None, random_state=0,
                          scoring="neg_mean_absolute_error").fit(
        X[:180], y[:180], X_val=X[180:], y_val=y[180:])
    assert reg.history_[-1]["val_score"] == pytest.approx(
        -mean_absolute_error(y[180:], reg.predict(X[180:])), rel=1e-10)


def test_scoring_on_the_held_out_split_feeds_early_stopping():
    X, y = noisy_binary_data()
    clf = LinearClassifier(early_stopping=True, scoring="neg_log_loss", **NOISY,
                           callbacks=[EarlyStopping("val_score", patience=3)]).fit(X, y)
    # neg_log_loss is minus the validation log loss: the same curve, higher is better
    np.testing.assert_allclose(column(clf, "val_score"),
                               [-v for v in column(clf, "val_loss")], rtol=1e-8)
    best, stop = expected_stop(column(clf, "val_score"), patience=3, mode="max")
    assert clf.n_iter_ == stop and clf.best_epoch_ == best


def test_scoring_without_validation_data_writes_no_score():
    X, y = binary_data()
    clf = LinearClassifier(max_iter=3, tol=None, random_state=0, scoring="roc_auc").fit(X, y)
    assert len(clf.history_) == 3
    assert not any("val_score" in row or "val_loss" in row for row in clf.history_)


# -- history_ ---------------------------------------------------------------------------


@pytest.mark.parametrize("validation", [False, True])
def test_history_table_has_one_row_per_epoch_and_one_best(validation):
    X, y = binary_data()
    fit_params = dict(X_val=X[180:], y_val=y[180:]) if validation else {}
    clf = LinearClassifier(eta0=0.5, learning_rate="constant", max_iter=8, tol=None,
                           random_state=0).fit(X[:180], y[:180], **fit_params)

    table = pd.DataFrame(clf.history_)
    assert len(table) == clf.n_iter_ == 8
    assert table["epoch"].tolist() == list(range(1, 9))
    assert table["best"].dtype == bool and table["best"].sum() == 1
    monitored = "val_loss" if validation else "train_loss"
    lowest = int(table.loc[table[monitored].idxmin(), "epoch"])
    assert int(table.loc[table["best"], "epoch"].iloc[0]) == lowest == clf.best_epoch_
    assert ("val_loss" in table) == validation


def test_history_rows_take_the_columns_callbacks_write():
    X, y = binary_data()
    values = [3.0, 2.0, 1.0]
    clf = LinearClassifier(max_iter=3, tol=None, random_state=0,
                           callbacks=[Script("watched_loss", values)]).fit(X, y)
    assert pd.DataFrame(clf.history_)["watched_loss"].tolist() == values


# -- grid search and cross-validation: no shared state ----------------------------------


class EpochLog(Callback):
    """Records the epochs it saw, to show that no two fits share a callback."""

    def __init__(self):
        pass

    def on_train_begin(self, run):
        if not hasattr(self, "epochs_"):
            self.epochs_ = []

    def on_epoch_end(self, run):
        self.epochs_.append(run.epoch)


def stopping_classifier(**params):
    return LinearClassifier(
        tol=None, max_iter=60, random_state=0, eta0=0.2, learning_rate="constant",
        callbacks=[EarlyStopping("train_loss", patience=2, min_delta=1e-3), EpochLog()],
        **params)


def assert_own_callbacks(estimator):
    stopping, log = estimator.callbacks_
    assert stopping.stopped_epoch_ == estimator.n_iter_ == len(estimator.history_)
    assert log.epochs_ == list(range(1, estimator.n_iter_ + 1))


def test_cross_validation_folds_train_with_their_own_callbacks():
    X, y = binary_data(n=200)
    estimator = stopping_classifier()
    result = cross_validate(estimator, X, y, cv=3, n_jobs=1, return_estimator=True)

    fitted = result["estimator"]
    assert len({id(est.callbacks_[0]) for est in fitted}) == 3
    for est in fitted:
        assert_own_callbacks(est)
    assert not any(hasattr(cb, "epochs_") or hasattr(cb, "stopped_epoch_")
                   for cb in estimator.callbacks)


def test_grid_search_in_parallel_keeps_candidates_apart():
    X, y = binary_data(n=200)
    estimator = stopping_classifier()
    originals = list(estimator.callbacks)
    search = GridSearchCV(estimator, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2).fit(X, y)

    best = search.best_estimator_
    assert_own_callbacks(best)
    assert best.callbacks_[0] is not originals[0]
    assert best.callbacks[0] is not originals[0]  # the refit used a clone
    assert estimator.callbacks == originals
    assert not any(hasattr(cb, "epochs_") or hasattr(cb, "stopped_epoch_") for cb in originals)
    assert not hasattr(estimator, "callbacks_")
    # the refit stops where the same estimator fitted alone stops
    alone = clone(estimator).set_params(**search.best_params_).fit(X, y)
    assert alone.n_iter_ == best.n_iter_
    assert_same_parameters(alone, best)


def _append(history, progress, rows):
    """Add rows as the driver does (their losses are recorded when marking)."""
    history.extend(dict(row) for row in rows)


def test_best_epoch_stays_on_the_validation_loss_when_later_rows_lack_it():
    """partial_fit calls without X_val add rows without val_loss: the best epoch is
    still the lowest validation loss among the rows that have one."""
    rows = [
        {"epoch": 1, "train_loss": 0.9, "val_loss": 0.8},
        {"epoch": 2, "train_loss": 0.7, "val_loss": 0.6},
        {"epoch": 3, "train_loss": 0.5, "val_loss": 0.7},
        {"epoch": 4, "train_loss": 0.1},  # the lowest training loss
    ]
    history, progress = [], new_progress()
    _append(history, progress, rows[:3])
    assert mark_best(history, progress, None, n_new=3) == 2
    _append(history, progress, rows[3:])
    assert mark_best(history, progress, None, n_new=1) == 2
    assert [row["best"] for row in history] == [False, True, False, False]
    alone, progress = [], new_progress()
    _append(alone, progress, rows[3:])
    assert mark_best(alone, progress, None, n_new=1) == 4


def test_marking_the_best_epoch_touches_the_old_and_new_best_rows_only():
    """A stream of partial_fit calls must not rescan its history every call."""
    history, progress = [], new_progress()
    _append(history, progress, [{"epoch": e, "train_loss": 1.0 / e} for e in (1, 2, 3)])
    assert mark_best(history, progress, None, n_new=3) == 3
    history[0]["best"] = "untouched"
    _append(history, progress, [{"epoch": 4, "train_loss": 0.1}])
    assert mark_best(history, progress, None, n_new=1) == 4
    assert [row["best"] for row in history] == ["untouched", False, False, True]
    # a restored epoch wins over the lowest loss
    _append(history, progress, [{"epoch": 5, "train_loss": 0.05}])
    assert mark_best(history, progress, 2, n_new=1) == 2
    assert [row["best"] for row in history] == ["untouched", True, False, False, False]


def test_only_true_from_a_hook_stops_training():
    """A hook may return anything (a lambda's value): only True stops."""
    X, y = make_classification(100, 4, random_state=0)
    seen = {}
    keep_going = LambdaCallback(on_epoch_end=lambda run: seen.setdefault(
        run.epoch, np.arange(3)))
    model = LinearClassifier(max_iter=4, tol=None, callbacks=[keep_going]).fit(X, y)
    assert model.n_iter_ == 4
    stop = LambdaCallback(on_epoch_end=lambda run: np.bool_(run.epoch == 2))
    assert LinearClassifier(max_iter=4, tol=None, callbacks=[stop]).fit(X, y).n_iter_ == 2


def test_a_column_a_callback_writes_decides_the_best_epoch():
    """Callbacks may add columns to the rows: a validation loss written by one in
    on_epoch_end is the loss the best epoch is chosen by."""
    X, y = make_classification(200, 5, random_state=0)

    def own_validation_loss(run):
        row = run.history[-1]
        row["val_loss"] = abs(row["epoch"] - 2) + 0.1  # lowest at epoch 2

    model = LinearClassifier(max_iter=6, tol=None, random_state=0, callbacks=[
        LambdaCallback(on_epoch_end=own_validation_loss)]).fit(X, y)
    assert model.best_epoch_ == 2
    assert [row["epoch"] for row in model.history_ if row["best"]] == [2]
