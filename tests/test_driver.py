"""The driver (``_training.train``) against a toy problem that is not an estimator.

The toy problem minimises ``|w - target|^2 / 2`` by momentum steps. It reports its
loss only every third epoch (as an embedding estimates its loss every few epochs),
adds a column of its own, reads its phase from the epoch number, and exposes the
protocol's optional parts: ``merge``, ``reset_optimizer``, ``parameters`` and per-step
losses.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sklearn_train import GaussianMixture, KMeans, LinearClassifier, MLPClassifier
from sklearn_train._problems import StateProblem, epoch_order
from sklearn_train._training import (
    DivergenceError,
    Settings,
    TrainingState,
    mark_best,
    new_progress,
    train,
)
from sklearn_train.callbacks import Callback, LambdaCallback


class Toy(StateProblem):
    """Momentum descent on ``|w - target|^2 / 2``; one step per call of ``step``."""

    def __init__(self, target, steps_per_epoch=4, loss_every=3, momentum=0.5):
        self.target = np.asarray(target, dtype=float)
        self.state = {"params": np.zeros_like(self.target),
                      "moments": np.zeros((1, self.target.size)),
                      "counters": np.zeros(1), "layout": np.arange(3)}
        self.steps_per_epoch = steps_per_epoch
        self.loss_every = loss_every
        self.momentum = momentum
        self.epochs_seen = []
        self.rates_seen = []

    def n_steps(self):
        return self.steps_per_epoch

    def steps_done(self):
        return int(self.state["counters"][0])

    def run_epoch(self, epoch, rates):
        self.epochs_seen.append(epoch)
        self.rates_seen.append(np.broadcast_to(rates, (self.steps_per_epoch,)).copy())
        w, v = self.state["params"], self.state["moments"][0]
        losses = []
        for step in range(self.steps_per_epoch):
            losses.append(0.5 * float(np.sum((w - self.target) ** 2)))
            v[:] = self.momentum * v + (w - self.target)
            w -= self.rates_seen[-1][step] * v
            self.state["counters"][0] += 1
        if not np.isfinite(w).all():
            raise DivergenceError("w became infinite or NaN.")
        result = {"phase": "early" if epoch < 2 else "late"}
        if epoch % self.loss_every == 0:
            result["train_loss"] = float(np.mean(losses))
        if self.record_steps:
            result["step_losses"] = np.array(losses)
        return result

    def validate(self):
        return {}

    def reset_optimizer(self):
        self.state["moments"][...] = 0.0


def settings(**changes):
    values = dict(learning_rate="constant", eta0=0.1, alpha=0.0, power_t=0.5,
                  lr_decay=1.0, warmup=0.0, max_iter=30, tol=1e-3, n_iter_no_change=2,
                  early_stopping=False, verbose=0)
    values.update(changes)
    return Settings(**values)


def run_train(problem, max_epochs=30, callbacks=(), stop=True, **changes):
    progress = new_progress(eta0=changes.get("eta0", 0.1))
    history = []
    run = TrainingState(None, problem, progress, history, lambda: None)
    rows = train(problem, settings(**changes), progress, max_epochs, stop=stop, run=run,
                 callbacks=callbacks)
    return rows, progress, run


def test_epochs_without_a_loss_are_skipped_by_the_stopping_rule():
    """A plateau counts only epochs that report a loss: with a loss every third
    epoch and patience 2, a problem that cannot improve stops after its third
    loss, at epoch 7."""
    frozen = Toy([1.0, -2.0])
    rows, _, _ = run_train(frozen, eta0=1e-12)
    assert [row["epoch"] for row in rows if "train_loss" in row] == [1, 4, 7]
    assert len(rows) == 7
    # every row has the problem's own column, and the phase it read from the epoch
    assert [row["phase"] for row in rows] == ["early"] * 2 + ["late"] * 5


def test_best_epoch_and_growth_check_read_only_rows_with_a_loss():
    problem = Toy([3.0])
    rows, progress, run = run_train(problem, max_epochs=8, tol=None)
    assert len(rows) == 8
    best = mark_best(run.history, progress, None, n_new=len(rows))
    with_loss = [row for row in rows if "train_loss" in row]
    assert best == min(with_loss, key=lambda row: row["train_loss"])["epoch"]
    assert sum(row["best"] for row in rows) == 1


def test_growth_check_skips_rows_without_a_loss_and_still_catches_a_blow_up():
    # a rate of 3.5 with momentum 0.5 grows |w - target| every step, still finite
    blowing_up = Toy([1.0], loss_every=2)
    with pytest.raises(DivergenceError, match="grew from"):
        run_train(blowing_up, max_epochs=6, eta0=3.5, tol=None)


def test_epoch_numbers_continue_across_calls_and_the_rates_follow_the_schedule():
    """The problem receives the number of epochs run before each one (all calls),
    so a second call goes on where the first stopped; ``linear`` decays the rate
    to zero over max_iter epochs, along the steps."""
    problem = Toy([1.0], steps_per_epoch=5)
    progress = new_progress(eta0=0.2)
    history = []
    for _ in range(2):
        run = TrainingState(None, problem, progress, history, lambda: None)
        train(problem, settings(learning_rate="linear", eta0=0.2, max_iter=4, tol=None),
              progress, 2, run=run)
    assert problem.epochs_seen == [0, 1, 2, 3]
    rates = np.concatenate(problem.rates_seen)
    np.testing.assert_allclose(rates, 0.2 * (1 - np.arange(20) / 20), rtol=1e-12)


def test_per_step_losses_reach_the_callbacks_not_the_history():
    class WantsSteps(Callback):
        wants_step_losses = True

        def __init__(self):
            self.seen = []

        def on_epoch_end(self, run):
            self.seen.append(run.step_losses)

    watcher = WantsSteps()
    rows, _, _ = run_train(Toy([2.0]), max_epochs=3, callbacks=[watcher], tol=None)
    assert all("step_losses" not in row for row in rows)
    assert [len(losses) for losses in watcher.seen] == [4, 4, 4]
    # the first epoch's loss is the mean of its steps' losses
    assert rows[0]["train_loss"] == pytest.approx(np.mean(watcher.seen[0]))
    # nobody asks: the problem is not asked to record them
    quiet = Toy([2.0])
    run_train(quiet, max_epochs=1, callbacks=[LambdaCallback()], tol=None)
    assert quiet.record_steps is False


def test_a_callback_resets_the_optimizer():
    """A drift reaction: at the end of epoch 2 the moments are zeroed, so epoch 3
    starts as a fresh momentum run from where the parameters are."""
    def reset_after_two(run):
        if run.epoch == 2:
            run.reset_optimizer()

    reset = Toy([5.0], momentum=0.9)
    run_train(reset, max_epochs=3, tol=None,
              callbacks=[LambdaCallback(on_epoch_end=reset_after_two)])
    # the same two epochs, then a fresh optimizer by hand, then the third epoch
    manual = Toy([5.0], momentum=0.9)
    progress = new_progress(eta0=0.1)
    train(manual, settings(tol=None), progress, 2)
    manual.state["moments"][...] = 0.0
    train(manual, settings(tol=None), progress, 1)
    np.testing.assert_array_equal(reset.state["params"], manual.state["params"])
    without = Toy([5.0], momentum=0.9)
    run_train(without, max_epochs=3, tol=None)
    assert not np.array_equal(without.state["params"], reset.state["params"])


def test_reset_optimizer_is_refused_by_a_problem_without_an_optimizer():
    class NoOptimizer(Toy):
        reset_optimizer = None

    with pytest.raises(AttributeError, match="no optimizer state"):
        run_train(NoOptimizer([1.0]), max_epochs=1, tol=None,
                  callbacks=[LambdaCallback(on_epoch_end=lambda run: run.reset_optimizer())])


def test_parameters_are_the_live_arrays():
    problem = Toy([1.0, 2.0])

    def nudge(run):
        run.parameters["params"][0] = 100.0

    run_train(problem, max_epochs=1, tol=None, callbacks=[LambdaCallback(on_epoch_end=nudge)])
    assert problem.state["params"][0] == 100.0


def test_merge_is_the_weighted_mean_of_saved_states():
    problem = Toy([1.0, 2.0])
    first, second = problem.save(), problem.save()
    first["params"][:] = [1.0, 1.0]
    second["params"][:] = [4.0, 7.0]
    second["counters"][:] = 8.0
    problem.merge([first, second], weights=[2.0, 1.0])
    np.testing.assert_allclose(problem.state["params"], [2.0, 3.0])
    np.testing.assert_allclose(problem.state["counters"], [8.0 / 3.0])
    # integer entries (a layer table) must agree
    second["layout"][0] = 7
    with pytest.raises(ValueError, match="'layout' differ"):
        problem.merge([first, second], weights=[1.0, 1.0])
    with pytest.raises(ValueError, match="one non-negative weight per state"):
        problem.merge([first, second], weights=[1.0])


def test_row_orders_depend_on_seed_epoch_and_partition_only():
    base = epoch_order(50, True, 7, 3)
    np.testing.assert_array_equal(base, epoch_order(50, True, 7, 3))
    assert sorted(base) == list(range(50))
    others = [epoch_order(50, True, 8, 3), epoch_order(50, True, 7, 4),
              epoch_order(50, True, 7, 3, partition=0),
              epoch_order(50, True, 7, 3, partition=1)]
    for other in others:
        assert sorted(other) == list(range(50))
        assert not np.array_equal(other, base)
    assert not np.array_equal(others[2], others[3])
    np.testing.assert_array_equal(epoch_order(5, False, 7, 3), np.arange(5))


def test_an_estimator_callback_resets_the_optimizer():
    """Through an estimator: resetting Adam at the end of a partial_fit call makes
    the next call a fresh Adam run from the parameters reached (the same as a fit
    started there with coef_init, which starts its optimizer afresh)."""
    X, y = make_classification(200, 5, random_state=0)
    settings = dict(learning_rate="constant", eta0=0.05, shuffle=False, random_state=0)
    reset = LambdaCallback(on_epoch_end=lambda run: run.reset_optimizer())
    model = LinearClassifier(callbacks=[reset], **settings)
    model.partial_fit(X[:100], y[:100], classes=[0, 1])
    assert not model._state["moments"].any()
    start = model.coef_.copy(), model.intercept_.copy()
    model.partial_fit(X[100:], y[100:])
    fresh = LinearClassifier(max_iter=1, tol=None, **settings).fit(
        X[100:], y[100:], coef_init=start[0], intercept_init=start[1])
    np.testing.assert_allclose(model.coef_, fresh.coef_, rtol=1e-12)
    np.testing.assert_allclose(model.intercept_, fresh.intercept_, rtol=1e-12)
    kept = LinearClassifier(**settings).partial_fit(X[:100], y[:100], classes=[0, 1])
    kept.partial_fit(X[100:], y[100:])
    assert not np.allclose(kept.coef_, model.coef_, rtol=1e-6)


@pytest.mark.parametrize("make, first", [
    (lambda: LinearClassifier(batch_size=10, random_state=0), {"classes": [0, 1]}),
    (lambda: MLPClassifier((5,), batch_size=10, random_state=0), {"classes": [0, 1]}),
    (lambda: KMeans(3, batch_size=10, random_state=0), {}),
    (lambda: GaussianMixture(2, batch_size=10, random_state=0), {}),
], ids=["linear", "mlp", "kmeans", "mixture"])
def test_estimators_hand_per_step_losses_to_a_callback_that_wants_them(make, first):
    """A chunk of 100 rows in mini-batches of 10: ten step losses, which average to
    the epoch's training loss (every row has weight 1)."""

    class Steps(Callback):
        wants_step_losses = True

        def on_train_begin(self, run):
            self.seen = []

        def on_epoch_end(self, run):
            self.seen.append(run.step_losses.copy())

    X, y = make_classification(100, 4, random_state=0)
    model = make().set_params(callbacks=[Steps()])
    model.partial_fit(X, y, **first)
    (steps,) = model.callbacks_[0].seen
    assert steps.shape == (10,) and np.isfinite(steps).all()
    assert np.mean(steps) == pytest.approx(model.history_[-1]["train_loss"], rel=1e-12)
