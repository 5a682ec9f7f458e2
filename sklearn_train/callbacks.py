"""Callbacks: watch and steer training between epochs.

Pass them to any estimator of ours as ``callbacks=[...]``::

    clf = LinearClassifier(callbacks=[EarlyStopping(patience=3), Checkpoint("best.joblib")])

Why a parameter and not ``set_callbacks``: a parameter is cloned with the estimator,
so every ``GridSearchCV`` candidate and every cross-validation fold trains with its own
copies and none shares another's state (best loss, patience count, file). ``fit``
never changes the objects you passed: it trains with deep copies, kept afterwards in
the fitted attribute ``callbacks_`` (where ``EarlyStopping.stopped_epoch_`` and the
like can be read). A run of ``partial_fit`` calls carries their state on from call to
call (each call works on copies, kept only if it succeeds), so patience counts across
calls.

scikit-learn's own callbacks (``sklearn.callback.ProgressBar``, ``ScoringMonitor``;
scikit-learn 1.9 and later) are set with ``est.set_callbacks(...)`` as on
scikit-learn's estimators, and see one task per epoch.

Every hook receives a ``TrainingState`` (``run``): the estimator, the ``history`` rows
so far (the epoch that just ended is ``run.history[-1]``), ``run.model()`` for a fitted
copy at the present parameters, ``run.learning_rate`` and ``run.lr_scale`` to change
the rates, ``run.parameters`` (the live parameter arrays), ``run.reset_optimizer()``,
``run.step_losses`` (each mini-batch's loss, for a callback with
``wants_step_losses = True``) and ``run.stop_training``. A callback stops training by
returning True from ``on_epoch_end`` or by setting ``run.stop_training = True``, never
by raising.
Callbacks talk to each other only through the history rows.

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> from sklearn.preprocessing import scale
>>> from sklearn_train import LinearClassifier
>>> from sklearn_train.callbacks import EarlyStopping, LambdaCallback
>>> X, y = load_breast_cancer(return_X_y=True)
>>> seen = []
>>> clf = LinearClassifier(
...     early_stopping=True, tol=None, max_iter=200, random_state=0,
...     callbacks=[EarlyStopping(monitor="val_loss", patience=3),
...                LambdaCallback(on_epoch_end=lambda run: seen.append(run.epoch))],
... ).fit(scale(X), y)
>>> clf.callbacks_[0].stopped_epoch_ == len(clf.history_) == len(seen) < 200
True
"""

import inspect
import math
import os
import pickle
import string
import tempfile
import warnings

from ._training import TrainingState

__all__ = [
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "LambdaCallback",
    "LearningRateScheduler",
    "ReduceLROnPlateau",
    "TerminateOnNaN",
    "TrainingState",
]


class Callback:
    """Base class: override the hooks you need; each receives the ``TrainingState``.

    Hooks run in this order in each ``fit`` / ``partial_fit`` call:
    ``on_train_begin``, then per epoch ``on_epoch_begin`` and ``on_epoch_end``, then
    ``on_train_end`` (after the estimator's own early stopping has restored its best
    parameters, so a callback may still replace them).
    """

    #: Whether ``on_divergence`` may take over a diverging epoch. The driver copies
    #: the training state before each epoch only when a callback says so.
    handles_divergence = False

    #: Whether the callback reads ``run.step_losses`` (the mean loss of each
    #: optimizer step of the epoch that just ended, for drift detection inside a
    #: chunk). The kernels record them only when a callback says so.
    wants_step_losses = False

    def on_train_begin(self, run):
        """Called once at the start of each ``fit`` / ``partial_fit`` call."""

    def on_epoch_begin(self, run):
        """Called before each epoch; ``run.learning_rate`` may be set here."""

    def on_epoch_end(self, run):
        """Called after each epoch (its row is ``run.history[-1]``); True stops."""

    def on_train_end(self, run):
        """Called once when the call's training ends (not after an error)."""

    def on_divergence(self, run, error):
        """Called when an epoch's loss or parameters become non-finite.

        Return True to stop training with the parameters from before that epoch
        instead of raising ``error`` (needs ``handles_divergence = True``).
        """
        return False

    def __repr__(self):
        names = [name for name in inspect.signature(type(self).__init__).parameters
                 if name != "self"]
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({args})"


class _Watch:
    """Tracks the best value of one history column (the monitors of the callbacks)."""

    def __init__(self, owner, monitor, mode, min_delta):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max'; got {mode!r}.")
        if mode == "auto":
            mode = "min" if monitor.endswith("loss") else "max"
        self.owner = owner
        self.monitor = monitor
        self.sign = 1.0 if mode == "min" else -1.0
        self.min_delta = abs(float(min_delta))
        self.best = math.inf  # in "min" terms: sign * value
        self.wait = 0

    def value(self, row):
        if self.monitor not in row:
            raise ValueError(
                f"{self.owner} monitors {self.monitor!r}, which the history rows do not "
                f"have (they have {sorted(row)}). 'val_loss' and 'val_score' need "
                "validation data: early_stopping=True, or X_val and y_val in fit."
            )
        return float(row[self.monitor])

    def update(self, row):
        """Record an epoch; True when it improved on the best by more than min_delta."""
        value = self.sign * self.value(row)
        if value < self.best - self.min_delta:
            self.best = value
            self.wait = 0
            return True
        self.wait += 1
        return False

    @property
    def best_value(self):
        return self.sign * self.best


class EarlyStopping(Callback):
    """Stop when a monitored history column stops improving; restore its best epoch.

    Parameters
    ----------
    monitor : str, default="val_loss"
        Column of ``history_`` to watch: ``"val_loss"``, ``"val_score"`` (the
        estimator's ``scoring``), ``"train_loss"``, or one a callback writes.
    patience : int, default=5
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        Smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}, default="auto"
        Whether lower or higher is better; "auto" takes lower for names ending in
        "loss", higher otherwise.
    restore_best : bool, default=True
        When training stops (and at the end of a ``fit``), go back to the parameters
        of the best epoch.

    Attributes
    ----------
    best_ : float
        Best value seen.
    best_epoch_ : int
        Epoch (``history_`` row ``epoch``) where it was seen.
    stopped_epoch_ : int or None
        Epoch after which this callback stopped training; None if it did not.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.callbacks import EarlyStopping
    >>> X, y = make_classification(500, 10, random_state=0)
    >>> stop = EarlyStopping(monitor="train_loss", patience=2, min_delta=1e-3)
    >>> clf = LinearClassifier(callbacks=[stop], tol=None, max_iter=500,
    ...                        random_state=0).fit(X, y)
    >>> clf.n_iter_ < 500 and clf.callbacks_[0].stopped_epoch_ == clf.n_iter_
    True
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best = restore_best

    def on_train_begin(self, run):
        if not hasattr(self, "_watch"):
            if int(self.patience) < 1:
                raise ValueError(f"EarlyStopping: patience must be >= 1; got {self.patience}.")
            self._watch = _Watch("EarlyStopping", self.monitor, self.mode, self.min_delta)
            self._best_parameters = None
            self.best_ = None
            self.best_epoch_ = None
            self.stopped_epoch_ = None
        elif self.stopped_epoch_ is not None:
            # training goes on after this callback stopped it (partial_fit after the
            # fit it stopped): count patience afresh from here, keep the best so far
            self.stopped_epoch_ = None
            self._watch.wait = 0

    def on_epoch_end(self, run):
        row = run.history[-1]
        if self._watch.update(row):
            self.best_ = self._watch.best_value
            self.best_epoch_ = row["epoch"]
            if self.restore_best:
                self._best_parameters = run.snapshot()
        elif self._watch.wait >= self.patience:
            self.stopped_epoch_ = row["epoch"]
            return True
        return False

    def on_train_end(self, run):
        # partial_fit calls go on from their own last epoch until this callback stops
        stopping = self.stopped_epoch_ is not None or not run.incremental
        # the parameters are the last epoch's, unless early stopping restored others
        current = run.epoch if run.restored_epoch is None else run.restored_epoch
        if (self.restore_best and stopping and self._best_parameters is not None
                and self.best_epoch_ != current):
            run.restore(self._best_parameters, self.best_epoch_)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when a monitored column stalls.

    The factor applies to every rate of the estimator's schedule from the next epoch
    on, and stays for the rest of the ``fit`` (or run of ``partial_fit`` calls).

    Parameters
    ----------
    monitor : str, default="val_loss"
    factor : float, default=0.1
        Between 0 and 1.
    patience : int, default=3
        Epochs without improvement before each reduction.
    min_delta : float, default=1e-4
    mode : {"auto", "min", "max"}, default="auto"
    cooldown : int, default=0
        Epochs to wait after a reduction before counting stalls again.
    min_lr : float, default=0.0
        The rate is never reduced below this.

    Attributes
    ----------
    reductions_ : list of int
        Epochs after which the rate was reduced.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.callbacks import ReduceLROnPlateau
    >>> X, y = make_classification(300, 5, random_state=0)
    >>> clf = LinearClassifier(
    ...     learning_rate="constant", eta0=0.1, tol=None, max_iter=30, random_state=0,
    ...     callbacks=[ReduceLROnPlateau("train_loss", factor=0.5, patience=1)],
    ... ).fit(X, y)
    >>> clf.history_[-1]["learning_rate"] < 0.1
    True
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=3, min_delta=1e-4,
                 mode="auto", cooldown=0, min_lr=0.0):
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.cooldown = cooldown
        self.min_lr = min_lr

    def on_train_begin(self, run):
        if not 0.0 < self.factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1); got {self.factor}.")
        if not hasattr(self, "_watch"):
            self._watch = _Watch("ReduceLROnPlateau", self.monitor, self.mode, self.min_delta)
            self._cooling = 0
            self.reductions_ = []

    def on_epoch_end(self, run):
        row = run.history[-1]
        improved = self._watch.update(row)
        if self._cooling > 0:
            self._cooling -= 1
            self._watch.wait = 0
            return False
        if not improved and self._watch.wait >= self.patience:
            rate = row["learning_rate"]
            new_rate = max(rate * self.factor, self.min_lr)
            # (a rate already at min_lr may differ from it in the last bits)
            if new_rate < rate * (1.0 - 1e-9):
                run.lr_scale *= new_rate / rate
                self.reductions_.append(row["epoch"])
            self._watch.wait = 0
            self._cooling = int(self.cooldown)
        return False


class LearningRateScheduler(Callback):
    """Set each epoch's learning rate with a function ``schedule(epoch, lr) -> lr``.

    ``epoch`` counts the epochs completed before the coming one (0 first); ``lr`` is
    the rate the estimator's own schedule would start that epoch with. The epoch is
    trained at the returned rate, constant over its steps.

    Parameters
    ----------
    schedule : callable

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.callbacks import LearningRateScheduler
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> halve = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    >>> clf = LinearClassifier(callbacks=[halve], max_iter=3, tol=None).fit(X, y)
    >>> [row["learning_rate"] for row in clf.history_]
    [0.1, 0.05, 0.025]
    """

    def __init__(self, schedule):
        self.schedule = schedule

    def on_epoch_begin(self, run):
        run.learning_rate = self.schedule(run.epoch, run.learning_rate)


class Checkpoint(Callback):
    """Write the model to a file whenever a monitored column improves.

    The file holds a fitted estimator at that epoch's parameters, with its
    ``history_`` so far, its optimizer state and its callbacks: ``joblib.load`` it
    to predict, or to go on training with ``partial_fit``. It is replaced
    atomically (written aside, then renamed), so it is never left half-written.

    Parameters
    ----------
    path : str or path-like
        Where to write; may name history columns in braces, as ``str.format`` does
        (``"model-{epoch}.joblib"``, ``"{val_loss:.4f}.joblib"``), to keep one file
        per saved epoch. A literal brace is written twice: ``"run{{1}}.joblib"``
        writes ``run{1}.joblib``. A field that is not a column name (``{}``,
        ``{1}``) is refused when the callback is made; a column the rows do not
        have, when the first file is written.
    monitor : str, default="val_loss"
    mode : {"auto", "min", "max"}, default="auto"
    save_best_only : bool, default=True
        False writes after every epoch.

    Notes
    -----
    Callbacks that cannot be pickled (a ``LambdaCallback`` of a lambda) are left
    out of the file, with a warning. Every copy of the estimator writes to the same
    ``path``: inside ``GridSearchCV`` or cross-validation the candidates and folds
    overwrite each other's files; checkpoint a single fit (or the refit).

    Attributes
    ----------
    best_ : float
    best_epoch_ : int
    saved_ : list of str
        Paths written, in order.

    Examples
    --------
    >>> import os, tempfile, joblib
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.callbacks import Checkpoint
    >>> X, y = make_classification(300, 5, random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "best.joblib")
    >>> clf = LinearClassifier(callbacks=[Checkpoint(path, monitor="train_loss")],
    ...                        max_iter=20, tol=None, random_state=0).fit(X, y)
    >>> best = joblib.load(path)
    >>> best.history_[-1]["epoch"] == clf.callbacks_[0].best_epoch_
    True
    """

    def __init__(self, path, monitor="val_loss", mode="auto", save_best_only=True):
        self.path = path
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        _path_fields(path)  # a broken template fails here, not after an epoch

    def on_train_begin(self, run):
        if not hasattr(self, "_watch"):
            self._watch = _Watch("Checkpoint", self.monitor, self.mode, 0.0)
            self.best_ = None
            self.best_epoch_ = None
            self.saved_ = []

    def on_epoch_end(self, run):
        row = run.history[-1]
        improved = self._watch.update(row)
        if improved:
            self.best_ = self._watch.best_value
            self.best_epoch_ = row["epoch"]
        if improved or not self.save_best_only:
            missing = sorted(set(_path_fields(self.path)) - set(row))
            if missing:
                raise ValueError(
                    f"Checkpoint path {os.fspath(self.path)!r} names "
                    f"{', '.join('{' + name + '}' for name in missing)}, which the "
                    f"history rows do not have (they have {sorted(row)}); write a "
                    "literal brace twice: '{{' and '}}'.")
            path = os.fspath(self.path).format(**row)
            _write(self._serialise(run.model()), path)
            self.saved_.append(path)
        return False

    def _serialise(self, model):
        """The model's pickle; without its callbacks (and a ``scoring`` function)
        if they cannot be pickled, such as lambdas."""
        try:
            return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError, TypeError) as error:
            if not getattr(self, "_warned", False):
                self._warned = True
                warnings.warn(
                    f"Checkpoint saves the model without its callbacks and scoring "
                    f"function, which cannot be pickled ({error}); a reloaded model "
                    "resumes without them.", UserWarning, stacklevel=5,
                )
            model.set_params(callbacks=None)
            model.callbacks_ = []
            if callable(getattr(model, "scoring", None)):
                model.set_params(scoring=None)
            return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def _path_fields(path, template=None):
    """The history columns a Checkpoint path template names (see its docstring),
    those of nested fields (``{val_loss:.{digits}f}``) included."""
    text = os.fspath(path)
    try:
        parsed = list(string.Formatter().parse(text if template is None else template))
    except ValueError as error:  # a lone brace
        raise ValueError(f"Checkpoint path {text!r} is not a valid template ({error}); "
                         "write a literal brace twice: '{{' and '}}'.") from None
    fields = []
    for _, field, spec, _ in parsed:
        if field is not None:
            fields.append(field)
            if spec and "{" in spec:
                fields.extend(_path_fields(text, spec))
    for field in fields:
        if not field.isidentifier():
            raise ValueError(
                f"Checkpoint path {text!r} has the field {{{field}}}: fields name "
                "history columns, such as {epoch} or {val_loss:.4f}; write a literal "
                "brace twice: '{{' and '}}'.")
    return fields


def _write(data, path):
    """Write ``data`` to ``path`` through a temporary file, so that an interrupted
    write never leaves a broken checkpoint behind.

    The model is pickled by the C pickler (``joblib.load`` and ``pickle.load`` both
    read the file): ``joblib.dump`` walks objects with a Python-level pickler, 20x
    slower on a model with a long ``history_`` (4 ms against 0.2 ms at 100
    epochs), which adds up when a checkpoint is written every epoch.
    """
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class TerminateOnNaN(Callback):
    """Stop, without an error, when the loss or a score becomes NaN or infinite.

    Without it a diverging epoch raises ``DivergenceError``. With it, training stops
    and keeps the parameters from before that epoch (or of the last epoch whose row
    has a non-finite validation loss or score), with a warning.

    Attributes
    ----------
    terminated_epoch_ : int or None
        The epoch that went non-finite; None if none did.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from sklearn_train import LinearRegressor
    >>> from sklearn_train.callbacks import TerminateOnNaN
    >>> X = np.random.default_rng(0).normal(size=(100, 3)) * 1e3
    >>> y = X @ [1.0, 2.0, 3.0]
    >>> reg = LinearRegressor(eta0=10.0, learning_rate="constant", tol=None,
    ...                       max_iter=50, callbacks=[TerminateOnNaN()])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     reg = reg.fit(X, y)
    >>> reg.n_iter_ < 50, reg.callbacks_[0].terminated_epoch_ == reg.n_iter_ + 1
    (True, True)
    >>> bool(np.isfinite(reg.coef_).all())
    True
    """

    handles_divergence = True

    def __init__(self):
        pass

    def on_train_begin(self, run):
        if not hasattr(self, "terminated_epoch_"):
            self.terminated_epoch_ = None

    def on_epoch_end(self, run):
        row = run.history[-1]
        bad = [key for key, value in row.items()
               if isinstance(value, float) and not math.isfinite(value)]
        if bad:
            self._stop(row["epoch"], f"{', '.join(bad)} became non-finite")
            return True
        return False

    def on_divergence(self, run, error):
        self._stop(run.epoch + 1, str(error))
        return True

    def _stop(self, epoch, reason):
        self.terminated_epoch_ = epoch
        warnings.warn(f"TerminateOnNaN stopped training in epoch {epoch}: {reason}",
                      RuntimeWarning, stacklevel=4)


class LambdaCallback(Callback):
    """A callback made of plain functions, for quick custom hooks.

    Each argument is a function of the ``TrainingState`` (``on_epoch_end`` may
    return True to stop).

    Parameters
    ----------
    on_train_begin, on_epoch_begin, on_epoch_end, on_train_end : callable, optional

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.callbacks import LambdaCallback
    >>> X, y = make_classification(200, 5, random_state=0)
    >>> stop_at_3 = LambdaCallback(on_epoch_end=lambda run: run.epoch >= 3)
    >>> LinearClassifier(callbacks=[stop_at_3], tol=None).fit(X, y).n_iter_
    3
    """

    def __init__(self, on_train_begin=None, on_epoch_begin=None, on_epoch_end=None,
                 on_train_end=None):
        # the functions replace the methods; the driver skips a hook that is None
        self.on_train_begin = on_train_begin
        self.on_epoch_begin = on_epoch_begin
        self.on_epoch_end = on_epoch_end
        self.on_train_end = on_train_end
