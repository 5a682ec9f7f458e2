"""The learning-rate range test: ``lr_find`` and its ``LRFinderResult``.

Smith (2017), "Cyclical Learning Rates for Training Neural Networks", section 3.3,
and fastai's ``Learner.lr_find``: train a copy of the model for a short run whose
rate grows exponentially from ``start_lr`` to ``end_lr``, one mini-batch per rate,
and record the loss. The loss first barely moves (the rate is too small), then falls,
then blows up; a good constant rate lies where it falls fastest.

The sweep drives the estimator's own compiled problem (``_problems.GradientProblem``)
one step at a time, in the rows order a ``fit`` would visit, so it measures the very
optimizer, loss, penalty and batch size the estimator trains with. The estimator's
schedule, callbacks and stopping rules take no part: the sweep sets every rate.
"""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ._estimator import TrainedEstimator
from ._gradient import GradientMixin
from ._problems import NO_STEP_LOSSES, GradientProblem
from ._training import DivergenceError

__all__ = ["LRFinderResult", "lr_find"]

# The suggestion leaves out this share of the first steps: the bias-corrected average
# of a few noisy mini-batch losses still swings more than the trend moves it (with
# 10%, fastai's share, the steepest "descent" was such a swing on a noisy regression).
_SKIP_START_SHARE = 0.2
# ... and the last steps, where the curve turns up.
_SKIP_END = 5


def lr_find(estimator, X, y=None, *, sample_weight=None, start_lr=1e-7, end_lr=10.0,
            num_steps=100, smoothing=0.98, diverge_threshold=4.0, warm_start=False):
    """Sweep the learning rate exponentially over optimizer steps; suggest ``eta0``.

    A copy of ``estimator`` takes ``num_steps`` optimizer steps, one mini-batch
    (``batch_size`` rows, in the order ``fit`` would visit them, over as many epochs
    as needed) each, at rates spaced evenly in log scale from ``start_lr`` to
    ``end_lr``. Each step records the mini-batch's training loss before its update,
    and an exponential moving average of those losses (with fastai's bias
    correction, so early values are not pulled towards zero). The sweep stops early
    when the smoothed loss exceeds ``diverge_threshold`` times its lowest value so
    far, or the loss or parameters become non-finite.

    The suggestion is the rate where the smoothed loss falls fastest per decade of
    rate (its steepest descent against ``log(rate)``, fastai's "steep"), searched
    before the lowest smoothed loss, leaving out the first 20% of the steps (the
    average still swings) and the last 5 (the curve turns up). It is meant as ``eta0`` of a constant (or slowly decaying)
    schedule with the estimator's optimizer: a rate that still learns fast and is
    well below the point of divergence.

    Parameters
    ----------
    estimator : estimator
        One of our gradient-trained estimators (``LinearClassifier``,
        ``LinearRegressor``, ``MLPClassifier``, ``MLPRegressor``, ``Autoencoder``).
        It is never changed.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        Targets (None for an ``Autoencoder``).
    sample_weight : array-like of shape (n_samples,), default=None
    start_lr, end_lr : float, default=1e-7, 10.0
        First and last rate of the sweep; ``0 < start_lr < end_lr``.
    num_steps : int, default=100
        Optimizer steps (rates) of the sweep, at least 2.
    smoothing : float, default=0.98
        Weight of the past in the moving average of the loss, in [0, 1); 0 keeps the
        raw losses.
    diverge_threshold : float, default=4.0
        Stop once the smoothed loss exceeds this many times its lowest value; > 1.
    warm_start : bool, default=False
        False sweeps a ``sklearn.base.clone`` of the estimator: a fresh start, as a
        ``fit`` with the suggested rate would make (the same ``random_state`` gives
        the same initial parameters and row order). True sweeps a deep copy of a
        fitted estimator, from its fitted parameters and optimizer state (to choose
        the rate of further training).

    Returns
    -------
    result : LRFinderResult
        The curve, whether the sweep diverged, and the suggested rate.

    Raises
    ------
    ValueError
        When ``estimator`` is not one of our gradient-trained estimators, or an
        argument is out of range.
    sklearn.exceptions.NotFittedError
        With ``warm_start=True`` and an estimator not fitted yet.

    Notes
    -----
    ``average`` (averaged SGD) is switched off in the copy: the averaged model lags
    the iterates whose rate is swept. Validation data held out by
    ``early_stopping`` is held out here too (the sweep trains on the rest).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_train import LinearClassifier, lr_find
    >>> X, y = load_digits(return_X_y=True)
    >>> X = scale(X)
    >>> clf = LinearClassifier(learning_rate="constant", random_state=0)
    >>> result = lr_find(clf, X, y, end_lr=1000.0)
    >>> result.diverged, len(result.learning_rates) < 100  # stopped early
    (True, True)
    >>> 1e-3 < result.suggestion < 1.0
    True
    >>> clf = clf.set_params(eta0=result.suggestion).fit(X, y)
    """
    _check_estimator(estimator)
    start_lr, end_lr, num_steps, smoothing, diverge_threshold = _check_sweep(
        start_lr, end_lr, num_steps, smoothing, diverge_threshold)
    model = _working_copy(estimator, warm_start)
    problem, progress, _, _ = model._start_call(
        X, y, incremental=False, sample_weight=sample_weight, continuing=warm_start)
    if not isinstance(problem, GradientProblem):
        raise ValueError(f"lr_find cannot drive {type(estimator).__name__}: it is not "
                        "trained by mini-batch gradient steps.")
    rates = np.geomspace(start_lr, end_lr, num_steps)
    losses, diverged = _sweep(problem, rates, progress["epoch"], smoothing,
                              diverge_threshold)
    return LRFinderResult(rates[:len(losses)], np.asarray(losses), smoothing=smoothing,
                          diverged=diverged, estimator_name=type(estimator).__name__)


class LRFinderResult:
    """The curve of a learning-rate sweep (see ``lr_find``).

    Parameters
    ----------
    learning_rates : ndarray of shape (n_steps,)
        Rate of each step taken, increasing.
    losses : ndarray of shape (n_steps,)
        Training loss of each step's mini-batch, before its update.
    smoothing : float, default=0.98
        Weight of the past in the moving average of ``losses``.
    diverged : bool, default=False
        Whether the sweep stopped early because the loss blew up.
    estimator_name : str, default=None

    Attributes
    ----------
    smoothed_losses : ndarray of shape (n_steps,)
        Bias-corrected exponential moving average of ``losses``.
    suggestion : float
        The suggested ``eta0``: the rate of the steepest descent of
        ``smoothed_losses`` against ``log(learning_rates)`` (see ``lr_find``);
        NaN when too few steps were recorded to tell.
    suggestion_index : int or None
        Its step.
    """

    def __init__(self, learning_rates, losses, *, smoothing=0.98, diverged=False,
                 estimator_name=None):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        self.smoothing = smoothing
        self.diverged = bool(diverged)
        self.estimator_name = estimator_name
        self.smoothed_losses = smooth(self.losses, smoothing)
        self.suggestion_index = steepest_descent(self.learning_rates, self.smoothed_losses)
        self.suggestion = (np.nan if self.suggestion_index is None
                           else float(self.learning_rates[self.suggestion_index]))

    def __repr__(self):
        return (f"LRFinderResult(n_steps={len(self.learning_rates)}, "
                f"diverged={self.diverged}, suggestion={self.suggestion:.3g})")

    def plot(self, ax=None, **kwargs):
        """Draw the curve: see ``sklearn_train.plotting.LRFinderDisplay``.

        Returns
        -------
        display : LRFinderDisplay
        """
        from .plotting import LRFinderDisplay

        return LRFinderDisplay.from_result(self, ax=ax, **kwargs)


def smooth(losses, smoothing):
    """Exponential moving average of ``losses`` divided by ``1 - smoothing**(i+1)``,
    the weight it has gathered, so it starts at the first loss, not near 0."""
    average = 0.0
    smoothed = np.empty(len(losses))
    for i, loss in enumerate(losses):
        average = smoothing * average + (1.0 - smoothing) * loss
        smoothed[i] = average / (1.0 - smoothing ** (i + 1))
    return smoothed


def steepest_descent(rates, smoothed):
    """Index of the rate where ``smoothed`` falls fastest against ``log(rates)``.

    Searched from step ``_SKIP_START_SHARE * n`` up to the lowest smoothed loss (the
    descent comes before the minimum), and never among the last ``_SKIP_END`` steps;
    None when fewer than two steps remain.
    """
    first = int(len(rates) * _SKIP_START_SHARE)
    last = min(len(rates) - _SKIP_END, int(np.argmin(smoothed)) + 1)
    if last - first < 2:
        return None
    slopes = np.diff(smoothed[first:last]) / np.diff(np.log(rates[first:last]))
    # (the slope between steps i and i+1 is credited to step i: the lower rate)
    return first + int(np.argmin(slopes))


def _sweep(problem, rates, first_epoch, smoothing, diverge_threshold):
    """Take one step per rate; return the losses recorded and whether it diverged."""
    losses = []
    batch, epoch_steps = problem.batch_size, problem.n_steps()
    average, best = 0.0, np.inf
    for step, rate in enumerate(rates):
        epoch, position = divmod(step, epoch_steps)
        if position == 0:
            order = problem.epoch_order(first_epoch + epoch)
        rows = order[position * batch:(position + 1) * batch]
        try:
            loss = problem.run_rows((rows, np.array([rate]), NO_STEP_LOSSES))["train_loss"]
        except DivergenceError:  # the loss or the parameters became non-finite
            return losses, True
        if not np.isfinite(loss):
            return losses, True
        losses.append(float(loss))
        average = smoothing * average + (1.0 - smoothing) * loss
        smoothed = average / (1.0 - smoothing ** (step + 1))
        best = min(best, smoothed)
        if smoothed > diverge_threshold * best:
            return losses, True
    return losses, False


def _check_estimator(estimator):
    if not (isinstance(estimator, TrainedEstimator) and isinstance(estimator, GradientMixin)):
        raise ValueError(
            f"lr_find needs one of sklearn_train's gradient-trained estimators "
            "(LinearClassifier, LinearRegressor, MLPClassifier, MLPRegressor, "
            f"Autoencoder), with an eta0 parameter; got {type(estimator).__name__}. "
            "For a Pipeline, transform X first and pass its final estimator.")


def _check_sweep(start_lr, end_lr, num_steps, smoothing, diverge_threshold):
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr),
                        ("smoothing", smoothing),
                        ("diverge_threshold", diverge_threshold)):
        if not isinstance(value, Real) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number; got {value!r}.")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find needs 0 < start_lr < end_lr; got start_lr={start_lr!r} "
                         f"and end_lr={end_lr!r}.")
    if not isinstance(num_steps, Integral) or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2; got {num_steps!r}.")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1); got {smoothing!r}.")
    if not diverge_threshold > 1:
        raise ValueError(f"diverge_threshold must be > 1; got {diverge_threshold!r}.")
    return float(start_lr), float(end_lr), int(num_steps), float(smoothing), float(
        diverge_threshold)


def _working_copy(estimator, warm_start):
    """The model the sweep trains: a clone, or (``warm_start``) a deep copy of the
    fitted estimator; never the estimator itself."""
    if warm_start:
        if not hasattr(estimator, "_state"):
            raise NotFittedError(
                f"lr_find(warm_start=True) starts from a fitted model; this "
                f"{type(estimator).__name__} is not fitted yet. Fit it, or pass "
                "warm_start=False.")
        estimator._continues(True)  # (refuses a state of an older version)
        if estimator.get_params(deep=False).get("average", False):
            raise ValueError(
                "lr_find(warm_start=True) cannot sweep an averaged model (average="
                f"{estimator.average!r}): its averaged parameters lag the iterates "
                "whose rate is swept. Pass warm_start=False.")
        return copy.deepcopy(estimator)
    model = clone(estimator)
    if "average" in model.get_params(deep=False):
        model.set_params(average=False)
    return model
