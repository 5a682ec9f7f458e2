"""The Python-side training driver shared by every estimator: ``train``.

The driver never knows which model it trains. A model hands it a *problem*: an object
that owns its data, its compiled epoch and its state, with this interface::

    n_steps() -> int                 optimizer steps in one epoch (rows / batch, ...)
    steps_done() -> int              optimizer steps taken so far (all calls)
    run_epoch(epoch, rates) -> dict  one epoch. ``epoch`` is the number of epochs
                                     run before it (all calls): problems seed their
                                     row order and read their phases from it.
                                     ``rates`` holds the learning rate of each step
                                     (or one for all). Returns history columns:
                                     ``train_loss`` when it is cheap (an epoch may
                                     leave it out), and any extra column
                                     (``learning_rate``: the rate the epoch really
                                     ended with, if the problem changes it). Raises
                                     DivergenceError.
    validate() -> dict               {"val_loss": .., "val_score": ..} or {}
    snapshot() / restore(snapshot)   a copy of the parameters that predict, and back
    save() / load(saved)             a copy of the whole training state (optimizer
                                     too), and back: the driver's rollback
  optional:
    merge(states, weights)           make the weighted combination of saved states
                                     (workers of a data-parallel fit) the state
    reset_optimizer()                start the optimizer afresh (callbacks may call
                                     it through ``TrainingState.reset_optimizer``)
    parameters() -> dict             the live parameter arrays, by name
    record_steps                     set True by the driver when a callback wants
                                     per-step losses: ``run_epoch`` then also returns
                                     ``"step_losses"`` (kept out of the history)
    divergence_advice                what to try when the problem diverges
    divergence_note() -> str|None    what in the data may have caused it (set by
                                     the estimator: a huge target, ...)

Between two epochs, in Python, ``train`` asks the schedule for the rates, writes a
``history_`` row, calls the callbacks (ours, and scikit-learn's through ``tasks``),
applies the stopping rule and keeps the best parameters. Rows without a
``train_loss`` (or, under early stopping, a ``val_loss``) are skipped by the stopping
rule, the growth check and the best-epoch marking. Everything that must be
remembered across ``partial_fit`` calls lives in ``progress``, a dict of Python
scalars, so that a call's bookkeeping costs the same at its 20,000th call as at its
first.
"""

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._core.schedules import ADAPTIVE_FACTOR, ADAPTIVE_MIN, epoch_rates


class DivergenceError(ValueError):
    """Training produced a non-finite loss or parameters and was stopped."""


@dataclass
class Settings:
    """Training settings an estimator hands to ``train`` (read from its parameters)."""

    learning_rate: str
    eta0: float
    alpha: float
    power_t: float
    lr_decay: float
    warmup: float
    max_iter: int
    tol: float | None
    n_iter_no_change: int
    early_stopping: bool
    verbose: int
    # tol relative to the loss at any size (scale-free losses such as an inertia),
    # instead of only once the loss is above 1
    relative_tol: bool = False
    # growth of the training loss is judged a divergence (not for k-means, whose
    # reassignments may raise the inertia while nothing diverges)
    check_growth: bool = True


def new_progress(eta0=None):
    """Fresh training progress: what ``train`` keeps between calls.

    ``epoch`` counts all epochs; epoch-based schedules count from
    ``schedule_start``, the first epoch of the current ``fit``. ``eta0`` is the
    starting rate in use (resolved when the estimator's is "auto"), ``eta`` the
    present one of the adaptive schedule, ``lr_scale`` a factor callbacks put on
    every scheduled rate. The ``best_*`` entries remember the lowest training and
    validation losses of the history so far, and ``marked`` the epoch whose row is
    flagged ``best``, so that marking never rescans the history.
    """
    return {"epoch": 0, "schedule_start": 0, "eta0": eta0, "eta": eta0, "lr_scale": 1.0,
            "best_train_loss": math.inf, "best_train_epoch": None,
            "best_val_loss": math.inf, "best_val_epoch": None, "marked": None}


def record_best(progress, row):
    """Remember ``row``'s losses if they are the lowest so far (see ``mark_best``)."""
    for key in ("train", "val"):
        value = row.get(key + "_loss")
        # a NaN loss (a callback took over a diverging epoch) is never the best
        if value is not None and value < progress[f"best_{key}_loss"]:
            progress[f"best_{key}_loss"] = value
            progress[f"best_{key}_epoch"] = row["epoch"]


def mark_best(history, progress, restored_epoch=None, n_new=0):
    """Flag one row ``best``: the epoch restored, else the lowest monitored loss.

    The monitored loss is the validation loss among the rows that have one (calls of
    partial_fit without validation data add rows without it), else the training
    loss. The ``n_new`` rows of this call go into ``progress`` (``record_best``)
    now, with the columns callbacks wrote into them; they, the row marked before
    and the new best row are the only rows touched. Returns the best epoch (None
    for an empty history).
    """
    for row in history[len(history) - n_new:]:
        row["best"] = False
        record_best(progress, row)
    best = restored_epoch
    if best is None:
        best = progress["best_val_epoch"]
    if best is None:
        best = progress["best_train_epoch"]
    if best is None and history:  # no row has a loss: the last one
        best = history[-1]["epoch"]
    for epoch, flag in ((progress["marked"], False), (best, True)):
        row = _row_of(history, epoch)
        if row is not None:
            row["best"] = flag
    progress["marked"] = best
    return best


def _row_of(history, epoch):
    """The row of ``epoch``: epochs are consecutive, so its index is known."""
    if epoch is None or not history:
        return None
    index = epoch - history[0]["epoch"]
    if 0 <= index < len(history) and history[index]["epoch"] == epoch:
        return history[index]
    return next((row for row in history if row["epoch"] == epoch), None)


class _Monitor:
    """scikit-learn's stopping rule: ``n_iter_no_change`` epochs without a ``tol`` gain.

    It watches the validation loss under early stopping, else the training loss, and
    remembers the best epoch it saw; epochs without that loss are skipped. (scikit-
    learn's SGD watches the validation accuracy or R^2 instead; on small validation
    sets accuracy moves in coarse steps and ties, so it stops on noise. The loss is
    what training minimises and is smooth; the score is still in ``history_``.)
    """

    def __init__(self, settings):
        self.key = "val_loss" if settings.early_stopping else "train_loss"
        self.tol = -np.inf if settings.tol is None else settings.tol
        self.floor = 0.0 if settings.relative_tol else 1.0
        self.patience = settings.n_iter_no_change
        self.best = -np.inf
        self.best_epoch = None
        self.stale = 0

    def update(self, row):
        """Record an epoch; return True when it is the best so far."""
        if self.key not in row:
            return False
        value = -row[self.key]
        if self.best_epoch is None:
            self.best = value
            self.best_epoch = row["epoch"]
            return True
        # The gain must exceed tol, relative to the loss once the loss is above 1 (as
        # scipy's L-BFGS-B ``ftol``), so regression losses in squared target units
        # stop as readily as classification losses.
        # (relative to a loss of exactly 0, as an inertia on duplicate points, only
        # a tie is possible: it counts as no gain)
        if value < self.best + self.tol * max(self.floor, abs(self.best)) or (
                self.floor == 0.0 and value == self.best):
            self.stale += 1
        else:
            self.stale = 0
        if value > self.best:
            self.best = value
            self.best_epoch = row["epoch"]
            return True
        return False

    @property
    def plateau(self):
        return self.stale >= self.patience


def _progress_bar(settings, total):
    if settings.verbose < 1:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="epoch", leave=True)


class TrainingState:
    """What callbacks see of a training call, and what they may change.

    One is made per ``fit`` / ``partial_fit`` call and handed to every hook of every
    callback (see ``sklearn_train.callbacks.Callback``).

    Attributes
    ----------
    estimator : estimator
        The estimator being trained. Its fitted attributes are updated when the call
        ends; ``model()`` gives a fitted copy at the present parameters.
    history : list of dict
        Every ``history_`` row so far, this call's epochs last (the row of the epoch
        that just ended is ``history[-1]``). Callbacks may add keys to it.
    stop_training : bool
        Set to True to stop after the present epoch (returning True from
        ``on_epoch_end`` does the same).
    incremental : bool
        True in ``partial_fit`` (one epoch per call, training goes on across calls).
    restored_epoch : int or None
        The epoch whose parameters were restored in this call, if any.
    step_losses : ndarray or None
        The mean loss of each optimizer step of the epoch that just ended, when a
        callback asked for them (``Callback.wants_step_losses``); else None.
    """

    def __init__(self, estimator, problem, progress, history, make_model,
                 incremental=False):
        self.estimator = estimator
        self.history = history
        self.incremental = incremental
        self.stop_training = False
        self.restored_epoch = None
        self.step_losses = None
        self._problem = problem
        self._progress = progress
        self._make_model = make_model
        self._rates = None
        self._n_before = len(history)

    @property
    def epoch(self):
        """Number of epochs completed, all calls counted (the last row's ``epoch``)."""
        return self._progress["epoch"]

    @property
    def learning_rate(self):
        """Learning rate of the coming epoch's first step.

        Set it in ``on_epoch_begin`` to train the coming epoch at that constant rate
        instead of the schedule's.
        """
        if self._rates is None:  # before the first epoch: the starting rate
            return float(self._progress["eta0"])
        return float(self._rates[0])

    @learning_rate.setter
    def learning_rate(self, value):
        value = float(value)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"The learning rate must be a positive number; got {value}.")
        self._rates = np.array([value])

    @property
    def lr_scale(self):
        """Factor on the schedule's rates from the coming epoch on (1.0 at each fit)."""
        return self._progress["lr_scale"]

    @lr_scale.setter
    def lr_scale(self, value):
        value = float(value)
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"lr_scale must be a positive number; got {value}.")
        self._progress["lr_scale"] = value

    @property
    def n_epochs(self):
        """Epochs completed in this call."""
        return len(self.history) - self._n_before

    def model(self):
        """A fitted copy of the estimator with the present parameters."""
        return self._make_model()

    def snapshot(self):
        """A copy of the present parameters (for ``restore``)."""
        return self._problem.snapshot()

    def restore(self, snapshot, epoch):
        """Make ``snapshot``, taken after ``epoch``, the parameters again."""
        self._problem.restore(snapshot)
        self.restored_epoch = epoch

    @property
    def parameters(self):
        """The arrays the problem trains, by name, live (changes take effect), in
        the problem's own form: a linear model's raw iterates (``params``; with
        ``average`` the running average is what predicts), a network's flat vector,
        k-means centres relative to the data's origin (``cluster_centers_`` minus
        it), a mixture's parameters relative to its origin."""
        return self._problem.parameters()

    def reset_optimizer(self):
        """Start the optimizer afresh from the coming step: its moments are zeroed and
        Adam's bias correction counts again from the next step (a reaction to a
        drift in the data, for instance)."""
        reset = getattr(self._problem, "reset_optimizer", None)
        if reset is None:
            raise AttributeError(
                f"{type(self.estimator).__name__} has no optimizer state to reset.")
        reset()


def train(problem, settings, progress, max_epochs, *, stop=True, run=None,
          callbacks=(), tasks=None):
    """Run up to ``max_epochs`` epochs of ``problem``; return the new history rows.

    Parameters
    ----------
    problem : object
        The model being trained (see the module docstring).
    settings : Settings
    progress : dict
        Epoch count, rates and best losses from earlier calls; updated.
    max_epochs : int
    stop : bool
        Apply the tolerance stopping rule and restore the best parameters under
        early stopping (``fit``); ``partial_fit`` runs exactly one epoch instead.
    run : TrainingState, optional
        Handed to the callbacks; its ``history`` receives the new rows.
    callbacks : sequence of sklearn_train.callbacks.Callback
    tasks : object, optional
        Reports epochs to scikit-learn's callback protocol (``_callback_tasks``).
    """
    if run is None:
        run = TrainingState(None, problem, progress, [], lambda: None)
    monitor = _Monitor(settings)
    history = []
    best = None
    bar = _progress_bar(settings, max_epochs)
    finished = False  # stopped by the tolerance rule or a callback
    diverged = False  # a callback took over a non-finite epoch
    rollback = False
    if callbacks:
        rollback = any(callback.handles_divergence for callback in callbacks)
        problem.record_steps = any(callback.wants_step_losses for callback in callbacks)
    try:
        _call(callbacks, "on_train_begin", run)
        for _ in range(max_epochs):
            run._rates = _scheduled_rates(problem, settings, progress)
            if not run._rates.any():
                _warn_no_rate(settings)
            _call(callbacks, "on_epoch_begin", run)
            saved = problem.save() if rollback else None
            if tasks is not None:
                tasks.begin_epoch()
            try:
                row = _run_one_epoch(problem, settings, progress, run)
            except DivergenceError as error:
                if saved is None or not _handled(callbacks, run, error):
                    raise
                problem.load(saved)
                if tasks is not None:
                    tasks.end_epoch()
                finished = diverged = True
                break
            history.append(row)
            run.history.append(row)
            if stop and monitor.update(row) and settings.early_stopping:
                best = (problem.snapshot(), row["epoch"])
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: v for k, v in row.items() if k.endswith(("loss", "score"))})
            halt = tasks is not None and tasks.end_epoch()
            halt = _call(callbacks, "on_epoch_end", run) or halt
            if halt or run.stop_training:
                finished = True
                break
            if stop and settings.tol is not None and monitor.plateau:
                if settings.learning_rate == "adaptive" and progress["eta"] > ADAPTIVE_MIN:
                    progress["eta"] /= ADAPTIVE_FACTOR
                    monitor.stale = 0
                else:
                    finished = True
                    break
        if stop and history and not diverged and best is None and settings.check_growth:
            # (early stopping restores its best epoch: a blow-up after it is harmless)
            _check_growth(history, _advice(problem, settings))
        if best is not None:
            run.restore(*best)
        _call(callbacks, "on_train_end", run)
    finally:
        if bar is not None:
            bar.close()
    if stop and settings.tol is not None and not finished:
        warnings.warn(
            f"Maximum number of epochs ({max_epochs}) reached before the stopping "
            "criterion was met; consider increasing max_iter.",
            ConvergenceWarning,
        )
    return history


def _warn_no_rate(settings):
    warnings.warn(
        f"The learning rate is 0 in this epoch: the {settings.learning_rate!r} schedule "
        f"ends after max_iter={settings.max_iter} epochs (each partial_fit call is an "
        "epoch), so training no longer moves. Raise max_iter, or use a schedule of "
        "steps ('invscaling', 'constant') for a stream.", UserWarning, stacklevel=4)


def _call(callbacks, hook, run):
    """Call one hook of every callback (a hook set to None is skipped); True when
    any returned a true value."""
    answer = False
    for callback in callbacks:
        function = getattr(callback, hook)
        if function is not None:
            result = function(run)
            # only True stops: a hook (say a lambda) may return anything else
            answer = (isinstance(result, (bool, np.bool_)) and bool(result)) or answer
    return answer


def _handled(callbacks, run, error):
    """Whether a callback takes over a diverging epoch (instead of the error)."""
    handled = False
    for callback in callbacks:
        handled = callback.on_divergence(run, error) or handled
    return handled


# A training loss this many times its best so far (plus one, for losses near zero;
# for negative losses: as far above it) means the run diverges even though every
# number is still finite.
_GROWTH_LIMIT = 10.0


def _advice(problem, settings):
    """What to try when training diverges: what the data suggests first, then the
    problem's own advice (a model without a learning rate), else the gradient
    trainers'."""
    advice = getattr(problem, "divergence_advice", None)
    if advice is None:
        advice = (f"Try a smaller eta0 (it is {settings.eta0:g}), scale the features "
                  "(for example with StandardScaler), or an adaptive optimizer such as "
                  "'adam'.")
    note = getattr(problem, "divergence_note", None)
    note = note() if note is not None else None
    return advice if note is None else f"{note} {advice}"


def _check_growth(history, advice):
    """Raise DivergenceError when a fit ends with its loss blown up, still finite.

    Checked when a fit stops (its loss has not improved for n_iter_no_change epochs,
    or max_iter is reached), not every epoch: momentum methods can overshoot for a few
    epochs and recover. (partial_fit sees a new chunk each call, whose loss may rightly
    differ, so only non-finite values stop it.) Rows without a training loss are
    skipped.
    """
    rows = [row for row in history if "train_loss" in row]
    if not rows:
        return
    best = min(rows, key=lambda row: row["train_loss"])
    last = rows[-1]
    # measured from the best loss, so that losses below zero (a negative
    # log-density) are judged alike
    rise = last["train_loss"] - best["train_loss"]
    if rise > (_GROWTH_LIMIT - 1.0) * abs(best["train_loss"]) + 1.0:
        raise DivergenceError(
            f"Training diverged: the training loss grew from {best['train_loss']:.4g} "
            f"(epoch {best['epoch']}) to {last['train_loss']:.4g} (epoch "
            f"{last['epoch']}). {advice}"
        )


def _scheduled_rates(problem, settings, progress):
    """The schedule's rate for each step of the coming epoch, times ``lr_scale``."""
    rates = epoch_rates(
        settings.learning_rate,
        settings.eta0,
        # (a drift reaction restarts a step schedule at ``step_origin``)
        first_step=problem.steps_done() - progress.get("step_origin", 0),
        n_steps=problem.n_steps(),
        epoch=progress["epoch"] - progress["schedule_start"],
        alpha=settings.alpha,
        power_t=settings.power_t,
        lr_decay=settings.lr_decay,
        warmup=settings.warmup,
        horizon=settings.max_iter,
        current=progress["eta"],
    )
    scale = progress["lr_scale"]
    return rates if scale == 1.0 else rates * scale


def _run_one_epoch(problem, settings, progress, run):
    """One compiled epoch plus its bookkeeping; returns the history row."""
    started = time.perf_counter()
    epoch = progress["epoch"]
    rates = run._rates
    try:
        result = problem.run_epoch(epoch, rates)
    except DivergenceError as exc:
        raise DivergenceError(
            f"Training diverged in epoch {epoch + 1}: {exc} {_advice(problem, settings)}"
        ) from None
    progress["epoch"] = epoch + 1
    run.step_losses = result.pop("step_losses", None)
    row = {"epoch": epoch + 1}
    row.update(result)
    row.update(problem.validate())
    if "learning_rate" not in row:  # (a problem may report the rate it really used)
        row["learning_rate"] = float(rates[-1])
    row["seconds"] = time.perf_counter() - started
    return row
