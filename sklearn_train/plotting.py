"""Display objects: plots of a fitted estimator's training.

Follows scikit-learn's Display convention: ``Display.from_estimator(est)`` (or
``from_history(rows)``) computes what to draw and calls ``plot``, which draws on a
matplotlib Axes and keeps the artists as attributes ending in ``_``. matplotlib is
imported inside ``plot`` only, so importing this module does not need it.
"""

import math
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

__all__ = ["TrainingHistoryDisplay"]

# Points between the plot and the learning-rate axis when it sits outside the score axis:
# room for the score axis's tick labels and label.
_LR_AXIS_OFFSET = 60
# Up to this many epochs, each epoch's point is marked (a one-epoch history is visible).
_MAX_MARKED = 50


class TrainingHistoryDisplay:
    """Training history visualization: losses, validation score and learning rate.

    It is recommended to use :meth:`from_estimator` or :meth:`from_history` to create
    a display; the constructor only stores the rows. All attributes are stored by
    :meth:`plot`.

    One Axes shows, against the epoch:

    - on its left y axis, the training loss and, with validation data, the
      validation loss (same units, so one scale);
    - on a right y axis (``twinx``), the validation score, when the rows have one;
    - on a second right y axis, log scale, the learning rate (``show_lr=True``). It
      is drawn whether or not it varies, so the plot always shows the rate each
      epoch ended at; a flat line says the schedule was constant. Without a score
      it takes the first right axis; with one, its spine sits further out;
    - a vertical dashed line at the best epoch, the row whose ``best`` is True (the
      epoch early stopping restored, see ``history_``); none when no row has it.

    Epochs come from each row's ``epoch`` (they count on across ``partial_fit`` and
    ``warm_start`` calls). A row without a column (validation data passed to some
    ``partial_fit`` calls only) leaves a gap in that line. One legend lists every
    line of every axis; it belongs to the topmost axis, so no line crosses it.

    Parameters
    ----------
    history : list of dict
        One row per epoch, as the ``history_`` of our estimators: ``epoch`` and
        ``train_loss``; optionally ``val_loss``, ``val_score``, ``learning_rate``,
        ``best``. Other keys are ignored.
    estimator_name : str, default=None
        Title of the plot; None for no title.
    score_name : str, default=None
        What ``val_score`` measures (for example ``"accuracy"``), used in its label;
        None labels it "score".

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the losses (the x axis and the left y axis).
    score_ax_ : matplotlib Axes or None
        Right y axis with the validation score; None when not drawn.
    lr_ax_ : matplotlib Axes or None
        Right y axis (log scale) with the learning rate; None when not drawn.
    figure_ : matplotlib Figure
        Figure containing the plot.
    lines_ : dict of str to matplotlib Line2D
        The lines drawn, by name: ``"train_loss"``, and those of ``"val_loss"``,
        ``"val_score"``, ``"learning_rate"`` and ``"best_epoch"`` that were drawn.
        Each line's x data are the epochs (``best_epoch``: twice its epoch).
    legend_ : matplotlib Legend
        The legend, on the topmost of ``ax_``, ``score_ax_`` and ``lr_ax_``.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against training set size.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.plotting import TrainingHistoryDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = LinearClassifier(early_stopping=True, random_state=0).fit(scale(X), y)
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> sorted(display.lines_)
    ['best_epoch', 'learning_rate', 'train_loss', 'val_loss', 'val_score']
    >>> display.lines_["best_epoch"].get_xdata()[0] == clf.best_epoch_
    True
    >>> plt.close(display.figure_)
    """

    def __init__(self, history, *, estimator_name=None, score_name=None):
        self.history = history
        self.estimator_name = estimator_name
        self.score_name = score_name

    def plot(self, ax=None, *, show_lr=True):
        """Plot the history.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on (its figure receives the twin axes of the score and the
            learning rate). None makes a new figure with constrained layout, which
            leaves room for the right-hand axes.
        show_lr : bool, default=True
            Draw the learning rate (when the rows have it) on its own log-scale axis.

        Returns
        -------
        display : TrainingHistoryDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        rows = _check_history(self.history)
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        epochs = np.array([row["epoch"] for row in rows], dtype=np.int64)
        style = {"marker": "." if len(rows) <= _MAX_MARKED else None}
        lines = {}

        (lines["train_loss"],) = ax.plot(epochs, _column(rows, "train_loss"), color="C0",
                                         label="training loss", **style)
        if _has(rows, "val_loss"):
            (lines["val_loss"],) = ax.plot(epochs, _column(rows, "val_loss"), color="C1",
                                           label="validation loss", **style)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        score_ax = lr_ax = None
        if _has(rows, "val_score"):
            score_label = f"validation {self.score_name or 'score'}"
            score_ax = ax.twinx()
            (lines["val_score"],) = score_ax.plot(
                epochs, _column(rows, "val_score"), color="C2", label=score_label, **style)
            _label_right_axis(score_ax, score_label, "C2")
        if show_lr and _has(rows, "learning_rate"):
            lr_ax = ax.twinx()
            if score_ax is not None:
                lr_ax.spines["right"].set_position(("outward", _LR_AXIS_OFFSET))
            (lines["learning_rate"],) = lr_ax.plot(
                epochs, _column(rows, "learning_rate"), color="0.45", linestyle=":",
                label="learning rate", **style)
            lr_ax.set_yscale("log")
            _label_right_axis(lr_ax, "learning rate", "0.45")

        best = [row["epoch"] for row in rows if _is_true(row.get("best"))]
        if best:
            lines["best_epoch"] = ax.axvline(best[0], color="black", linestyle="--",
                                             linewidth=1, label=f"best epoch ({best[0]})")

        legend = self._legend(
            [ax] + [other for other in (score_ax, lr_ax) if other is not None], lines)
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)

        self.ax_ = ax
        self.score_ax_ = score_ax
        self.lr_ax_ = lr_ax
        self.figure_ = ax.figure
        self.lines_ = lines
        self.legend_ = legend
        return self

    @staticmethod
    def _legend(axes, lines):
        """One legend for the lines of all ``axes``, on the topmost so none crosses it.

        ``loc="best"`` avoids only the lines of the legend's own Axes, so that Axes
        gets invisible stand-ins of the others' lines, in their own coordinates
        (``add_artist``, unlike ``plot``, leaves the data limits alone).
        """
        from matplotlib.lines import Line2D

        top = axes[-1]
        for other in axes[:-1]:
            for line in other.get_lines():
                top.add_artist(Line2D(line.get_xdata(), line.get_ydata(),
                                      transform=line.get_transform(), visible=False))
        return top.legend(handles=list(lines.values()), loc="best")

    @classmethod
    def from_history(cls, history, *, estimator_name=None, score_name=None, ax=None,
                     **kwargs):
        """Plot a list of history rows (an estimator's ``history_``, or your own).

        Parameters
        ----------
        history : list of dict
            Rows with at least ``epoch`` and ``train_loss`` (see the class docstring).
        estimator_name : str, default=None
            Title of the plot.
        score_name : str, default=None
            What ``val_score`` measures, for its label.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Keyword arguments of :meth:`plot` (``show_lr``).

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_history")
        display = cls(history, estimator_name=estimator_name, score_name=score_name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, estimator_name=None, **kwargs):
        """Plot the ``history_`` of a fitted estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted estimator of this package (anything with ``history_``); a
            ``Pipeline`` stands for its final step.
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        estimator_name : str, default=None
            Title of the plot; None uses the estimator's class name.
        **kwargs : dict
            Keyword arguments of :meth:`plot` (``show_lr``).

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        if isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        check_is_fitted(estimator)
        if not hasattr(estimator, "history_"):
            raise ValueError(
                f"{type(estimator).__name__} has no history_ to plot: "
                f"{cls.__name__} plots the per-epoch history_ that sklearn_train "
                "estimators record when they are fitted."
            )
        if estimator_name is None:
            estimator_name = type(estimator).__name__
        return cls.from_history(estimator.history_, estimator_name=estimator_name,
                                score_name=_score_name(estimator), ax=ax, **kwargs)


def _check_history(history):
    """The rows as a list; a clear error for anything that cannot be plotted."""
    try:
        rows = list(history)
    except TypeError:
        raise TypeError(
            f"history must be a list of dicts (an estimator's history_); got "
            f"{type(history).__name__}."
        ) from None
    if not rows:
        raise ValueError("history is empty: there is no epoch to plot.")
    for row in rows:
        if not hasattr(row, "get") or "epoch" not in row or "train_loss" not in row:
            raise ValueError(
                "Each history row must be a dict with at least 'epoch' and "
                f"'train_loss'; got {row!r}."
            )
        if not isinstance(row["epoch"], Integral):
            raise ValueError(f"'epoch' must be an integer; got {row['epoch']!r}.")
    return rows


def _has(rows, key):
    return any(key in row for row in rows)


def _column(rows, key):
    """The values of one column as floats; NaN (a gap in the line) where missing."""
    return np.array([row.get(key, math.nan) for row in rows], dtype=np.float64)


def _is_true(value):
    """``best`` flag: True or numpy True; False, None and NaN (pandas gaps) are not."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def _label_right_axis(ax, label, color):
    ax.set_ylabel(label, color=color)
    ax.tick_params(axis="y", which="both", colors=color)


def _score_name(estimator):
    """What an estimator's ``val_score`` measures: its ``scoring``, or its ``score``."""
    scoring = getattr(estimator, "scoring", None)
    if isinstance(scoring, str):
        return scoring
    if scoring is None and is_classifier(estimator):
        return "accuracy"
    if scoring is None and is_regressor(estimator):
        return "R²"
    return None
