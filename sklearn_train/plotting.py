"""Display objects: plots of a fitted estimator's training, of a learning-rate sweep
(``lr_find``) and of an embedding.

Follows scikit-learn's Display convention: ``Display.from_estimator(est)`` (or
``from_history(rows)``, ``from_result(lr_find(...))``, ``from_embedding(E)``) computes what to draw and calls
``plot``, which draws on a
matplotlib Axes and keeps the artists as attributes ending in ``_``. matplotlib is
imported inside ``plot`` only, so importing this module does not need it.
"""

import math
import warnings
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils._optional_dependencies import check_matplotlib_support
from sklearn.utils.validation import check_is_fitted

__all__ = ["EmbeddingDisplay", "LRFinderDisplay", "TrainingHistoryDisplay"]

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


# Labels of a floating dtype with more distinct values than this are a quantity
# (coloured along a colorbar), not classes (one legend entry each).
_MAX_FLOAT_CLASSES = 20
# Default marker area (points²) for n points: _POINT_AREA_BUDGET / n, within these
# bounds (matplotlib's own default is 36); and the area a legend marker gets at least.
_POINT_AREA_BUDGET = 12_000
_POINT_AREA_BOUNDS = (1.0, 36.0)
# Up to this many points, markers are opaque by default; above, half transparent.
_MAX_OPAQUE = 5_000


class EmbeddingDisplay:
    """Embedding visualization: a scatter of the points, coloured by their labels.

    It is recommended to use :meth:`from_estimator` or :meth:`from_embedding` to
    create a display; the constructor only stores its arguments. All attributes are
    stored by :meth:`plot`.

    The first column of the embedding is the x axis and the second the y axis; further
    columns (``n_components > 2``) are not drawn: plot other pairs by passing
    ``embedding[:, [i, j]]``. A one-column embedding (or a 1-D array) is drawn along the
    x axis against zeros, with no y ticks.

    How the points are coloured depends on the labels:

    - no labels: one colour, no legend;
    - classes (integers, strings, booleans, or floats with at most 20 distinct values
      that are all whole numbers): one scatter and one legend entry per class, in
      sorted label order, named after the label or ``label_names``. The legend sits
      outside the axes, on the right, so that it hides no point;
    - a quantity (floats with a fractional value or more than 20 distinct values):
      one scatter coloured along ``cmap``, with a colorbar instead of a legend.

    Parameters
    ----------
    embedding : array-like of shape (n_samples, n_components) or (n_samples,)
        The embedded points, for example an estimator's ``embedding_`` or the output
        of its ``transform``.
    labels : array-like of shape (n_samples,), default=None
        Class or value of each point; None draws all points in one colour.
    label_names : sequence of str or dict, default=None
        Legend names of the classes: a sequence with one name per distinct label, in
        sorted label order (as a data set's ``target_names``), or a dict from label to
        name (labels it lacks keep their own name). None names each class by its
        label. Ignored for a quantity.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the scatter.
    figure_ : matplotlib Figure
        Figure containing the plot.
    scatters_ : list of matplotlib PathCollection
        With classes, one scatter per class, in the order of ``classes_`` (each one's
        label is the class's legend name); otherwise a list of the one scatter.
    classes_ : ndarray or None
        The distinct labels, sorted; None without labels or for a quantity.
    legend_ : matplotlib Legend or None
        The legend of the classes; None without classes or with ``legend=False``.
    colorbar_ : matplotlib Colorbar or None
        The colorbar of a quantity; None otherwise or with ``legend=False``.

    See Also
    --------
    TrainingHistoryDisplay : The per-epoch ``history_`` of a fit.
    sklearn.inspection.DecisionBoundaryDisplay : Decision regions of a classifier.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklearn_train.plotting import EmbeddingDisplay
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat(["cat", "dog", "owl"], [50, 30, 20])
    >>> centres = {"cat": (0, 0), "dog": (5, 0), "owl": (0, 5)}
    >>> embedding = rng.normal(size=(100, 2)) + [centres[label] for label in labels]
    >>> display = EmbeddingDisplay.from_embedding(embedding, labels)
    >>> [text.get_text() for text in display.legend_.get_texts()]
    ['cat', 'dog', 'owl']
    >>> [len(scatter.get_offsets()) for scatter in display.scatters_]
    [50, 30, 20]
    >>> plt.close(display.figure_)

    A fitted estimator's ``embedding_`` (here scikit-learn's ``Isomap``; a pipeline
    whose last step is the embedding works too):

    >>> from sklearn.datasets import load_wine
    >>> from sklearn.manifold import Isomap
    >>> from sklearn.preprocessing import scale
    >>> wine = load_wine()
    >>> isomap = Isomap(n_components=2).fit(scale(wine.data))
    >>> display = EmbeddingDisplay.from_estimator(
    ...     isomap, y=wine.target, label_names=["Barolo", "Grignolino", "Barbera"])
    >>> [text.get_text() for text in display.legend_.get_texts()]
    ['Barolo', 'Grignolino', 'Barbera']
    >>> display.ax_.get_title()
    'Isomap'
    >>> plt.close(display.figure_)
    """

    def __init__(self, embedding, labels=None, *, label_names=None):
        self.embedding = embedding
        self.labels = labels
        self.label_names = label_names

    def plot(self, ax=None, *, cmap=None, s=None, alpha=None, legend=True, title=None,
             **scatter_kwargs):
        """Plot the embedding.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. None makes a new figure with constrained layout, which
            leaves room for the legend or the colorbar.
        cmap : str or matplotlib Colormap, default=None
            Colours. For classes, a qualitative colormap (at most 255 colours, such as
            ``"tab10"``) gives class ``i`` its ``i``-th colour (colours repeat, with a
            warning, when there are more classes than colours); any other colormap is
            sampled at evenly spaced points, one per class. None: ``"tab10"`` up to 10
            classes, ``"tab20"`` up to 20, ``"turbo"`` sampled beyond. For a quantity,
            the colormap of the colorbar; None: ``"viridis"``.
        s : float, default=None
            Marker area in points². None suits the number of points: 12,000 / n,
            between 1 and 36.
        alpha : float, default=None
            Marker opacity. None: opaque up to 5,000 points, 0.5 above.
        legend : bool, default=True
            Draw the legend of the classes, or the colorbar of a quantity.
        title : str, default=None
            Title of the axes; None leaves it as it is.
        **scatter_kwargs : dict
            Further keyword arguments of :meth:`matplotlib.axes.Axes.scatter`
            (``marker``, ``edgecolors``, ``rasterized``...). With labels, the colours
            come from them: ``c`` and ``color`` are refused.

        Returns
        -------
        display : EmbeddingDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        x, y, one_column = _embedding_axes(self.embedding)
        n_points = len(x)
        labels = None if self.labels is None else _check_labels(self.labels, n_points)
        if labels is not None and {"c", "color"} & set(scatter_kwargs):
            raise TypeError(
                "EmbeddingDisplay colours the points by their labels: do not pass "
                "c or color with labels (choose the colours with cmap).")
        if s is None:
            s = float(np.clip(_POINT_AREA_BUDGET / n_points, *_POINT_AREA_BOUNDS))
        if alpha is None:
            alpha = 1.0 if n_points <= _MAX_OPAQUE else 0.5
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        style = {"s": s, "alpha": alpha, **scatter_kwargs}

        classes = legend_artist = colorbar = None
        if labels is None:
            if "c" not in style:
                style.setdefault("color", "C0")
            scatters = [ax.scatter(x, y, **style)]
        elif _is_quantity(labels):
            scatters = [ax.scatter(x, y, c=labels, cmap=cmap or "viridis", **style)]
            if legend:
                colorbar = ax.figure.colorbar(scatters[0], ax=ax)
        else:
            classes, codes = np.unique(labels, return_inverse=True)
            names = _class_names(classes, self.label_names)
            colors = _class_colors(cmap, len(classes))
            scatters = [
                ax.scatter(x[codes == i], y[codes == i], color=colors[i], label=name,
                           **style)
                for i, name in enumerate(names)
            ]
            if legend:
                legend_artist = ax.legend(
                    handles=scatters, loc="center left", bbox_to_anchor=(1.0, 0.5),
                    frameon=False,
                    markerscale=max(1.0, math.sqrt(_POINT_AREA_BOUNDS[1] / s)))
        if one_column:
            ax.set_yticks([])
        if title is not None:
            ax.set_title(title)

        self.ax_ = ax
        self.figure_ = ax.figure
        self.scatters_ = scatters
        self.classes_ = classes
        self.legend_ = legend_artist
        self.colorbar_ = colorbar
        return self

    @classmethod
    def from_embedding(cls, embedding, y=None, *, label_names=None, ax=None, **kwargs):
        """Plot an embedding given as an array.

        Parameters
        ----------
        embedding : array-like of shape (n_samples, n_components) or (n_samples,)
            The embedded points; the first two columns are drawn.
        y : array-like of shape (n_samples,), default=None
            Labels of the points (classes or a quantity, see the class docstring).
        label_names : sequence of str or dict, default=None
            Legend names of the classes (see the class docstring).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Keyword arguments of :meth:`plot` (``cmap``, ``s``, ``alpha``, ``legend``,
            ``title``, and those of ``Axes.scatter``).

        Returns
        -------
        display : EmbeddingDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_embedding")
        display = cls(embedding, y, label_names=label_names)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X=None, y=None, *, label_names=None, ax=None,
                       **kwargs):
        """Plot the embedding of a fitted estimator.

        Parameters
        ----------
        estimator : estimator or Pipeline
            A fitted embedding model (``TSNE``, ``UMAP``, scikit-learn's ``Isomap``...)
            or a fitted ``Pipeline`` whose last step is one.
        X : array-like of shape (n_samples, n_features), default=None
            None plots the points the model was fitted on: the ``embedding_`` of the
            estimator (of a pipeline's last step), which is enough for models that
            only have ``fit_transform``, as scikit-learn's ``TSNE``. Otherwise plots
            ``estimator.transform(X)`` (through every step of a pipeline).
        y : array-like of shape (n_samples,), default=None
            Labels of the plotted points: of the fitted points when X is None, of the
            rows of X otherwise.
        label_names : sequence of str or dict, default=None
            Legend names of the classes (see the class docstring).
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.
        **kwargs : dict
            Keyword arguments of :meth:`plot`; ``title`` defaults to the class name of
            the embedding model (``title=None``: no title).

        Returns
        -------
        display : EmbeddingDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        check_is_fitted(model)
        name = type(model).__name__
        if X is None:
            if not hasattr(model, "embedding_"):
                raise ValueError(
                    f"{name} has no embedding_ to plot: pass X to plot "
                    f"{type(estimator).__name__}.transform(X) instead.")
            embedding, where = model.embedding_, f"{name}'s embedding_"
        else:
            if not hasattr(estimator, "transform"):
                raise ValueError(
                    f"{type(estimator).__name__} has no transform, so it cannot embed "
                    "new points: pass X=None to plot the embedding_ of the points it "
                    "was fitted on.")
            embedding, where = estimator.transform(X), "X"
        if y is not None and len(y) != len(embedding):
            fitted = " (with X=None, y labels the points the model was fitted on)"
            raise ValueError(
                f"y has {len(y)} labels but {where} has {len(embedding)} rows"
                f"{fitted if X is None else ''}: give one label per point.")
        kwargs.setdefault("title", name)
        return cls.from_embedding(embedding, y, label_names=label_names, ax=ax, **kwargs)


def _embedding_axes(embedding):
    """x and y of the points, and whether there was one column only: the first two
    columns; a single column against zeros."""
    points = check_array(embedding, ensure_2d=False, input_name="embedding")
    if points.ndim == 1:
        points = points[:, None]
    x = points[:, 0]
    one_column = points.shape[1] == 1
    y = np.zeros_like(x) if one_column else points[:, 1]
    return x, y, one_column


def _check_labels(labels, n_points):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(
            f"labels must be one label per point, a 1-D array; got shape {labels.shape}.")
    if len(labels) != n_points:
        raise ValueError(
            f"labels has {len(labels)} entries but the embedding has {n_points} rows: "
            "give one label per point.")
    return labels


def _is_quantity(labels):
    """Floats with a fractional value, or too many values to be classes."""
    if labels.dtype.kind != "f":
        return False
    return (not np.array_equal(labels, np.round(labels))
            or len(np.unique(labels)) > _MAX_FLOAT_CLASSES)


def _class_names(classes, label_names):
    if label_names is None:
        return [str(label) for label in classes]
    if isinstance(label_names, Mapping):
        return [str(label_names.get(label, label)) for label in classes]
    names = [str(name) for name in label_names]
    if len(names) != len(classes):
        raise ValueError(
            f"label_names has {len(names)} names for {len(classes)} distinct labels "
            f"({_preview(classes)}): give one name per distinct label, in sorted label "
            "order, or a dict from label to name.")
    return names


def _preview(values, most=5):
    shown = ", ".join(str(value) for value in values[:most])
    return shown + (", ..." if len(values) > most else "")


def _class_colors(cmap, n_classes):
    """One RGBA colour per class (see ``EmbeddingDisplay.plot``'s ``cmap``)."""
    from matplotlib import colormaps
    from matplotlib.colors import Colormap, ListedColormap

    if cmap is None:
        cmap = "tab10" if n_classes <= 10 else "tab20" if n_classes <= 20 else "turbo"
    if not isinstance(cmap, Colormap):
        cmap = colormaps[cmap]
    if isinstance(cmap, ListedColormap) and cmap.N < 256:  # qualitative
        if n_classes > cmap.N:
            warnings.warn(
                f"The colormap {cmap.name!r} has {cmap.N} colours for {n_classes} "
                "classes: colours repeat. Pass a colormap with more colours (cmap="
                "'tab20', or a continuous one such as 'turbo').", UserWarning,
                stacklevel=3)
        return cmap(np.arange(n_classes) % cmap.N)
    return cmap(np.linspace(0.0, 1.0, n_classes))


# Room above the plateau of the smoothed loss in an LRFinderDisplay, as a share of its
# range: the losses of the diverging last steps would otherwise flatten the curve.
_LR_FINDER_HEADROOM = 0.5


class LRFinderDisplay:
    """Learning-rate finder curve: the training loss against the learning rate.

    It is recommended to use :meth:`from_result` (or ``LRFinderResult.plot``) to
    create a display; the constructor only stores the curve. All attributes are
    stored by :meth:`plot`.

    One Axes shows, against the learning rate on a log scale, each step's mini-batch
    loss (thin, light) and its smoothed loss, and a vertical dashed line at the
    suggested rate. The y axis stops a little above the smoothed loss's plateau
    before its minimum, so the blow-up of the last steps does not flatten the curve.

    Parameters
    ----------
    learning_rates : array-like of shape (n_steps,)
        Rate of each step, increasing.
    losses : array-like of shape (n_steps,)
        Loss of each step.
    smoothed_losses : array-like of shape (n_steps,), default=None
        Smoothed loss of each step; None draws only ``losses``.
    suggestion : float, default=None
        The suggested rate; None or NaN draws no line.
    estimator_name : str, default=None
        Title of the plot; None for no title.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        The lines drawn, by name: ``"loss"``, and those of ``"smoothed_loss"`` and
        ``"suggestion"`` that were drawn. The x data are the learning rates.
    legend_ : matplotlib Legend

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_train import LinearClassifier, lr_find
    >>> X, y = load_digits(return_X_y=True)
    >>> result = lr_find(LinearClassifier(random_state=0), scale(X), y)
    >>> display = result.plot()
    >>> sorted(display.lines_)
    ['loss', 'smoothed_loss', 'suggestion']
    >>> display.ax_.get_xscale()
    'log'
    >>> plt.close(display.figure_)
    """

    def __init__(self, learning_rates, losses, smoothed_losses=None, *, suggestion=None,
                 estimator_name=None):
        self.learning_rates = learning_rates
        self.losses = losses
        self.smoothed_losses = smoothed_losses
        self.suggestion = suggestion
        self.estimator_name = estimator_name

    def plot(self, ax=None):
        """Plot the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.

        Returns
        -------
        display : LRFinderDisplay
            Object that stores the computed values.
        """
        check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        rates, losses, smoothed = self._curve()
        if ax is None:
            _, ax = plt.subplots(layout="constrained")
        lines = {}
        (lines["loss"],) = ax.plot(rates, losses, color="C0", alpha=0.35, linewidth=1,
                                   label="mini-batch loss")
        if smoothed is not None:
            (lines["smoothed_loss"],) = ax.plot(rates, smoothed, color="C0",
                                                label="smoothed loss")
        if self.suggestion is not None and np.isfinite(self.suggestion):
            lines["suggestion"] = ax.axvline(
                self.suggestion, color="black", linestyle="--", linewidth=1,
                label=f"suggested rate ({self.suggestion:.3g})")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_ylim(*_finder_limits(losses if smoothed is None else smoothed, losses))
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)

        self.ax_ = ax
        self.figure_ = ax.figure
        self.lines_ = lines
        self.legend_ = ax.legend(handles=list(lines.values()), loc="best")
        return self

    def _curve(self):
        """The arrays to draw, checked: rates positive and increasing, same lengths."""
        rates = check_array(self.learning_rates, ensure_2d=False, dtype=np.float64)
        columns = [rates]
        for name in ("losses", "smoothed_losses"):
            value = getattr(self, name)
            if value is None:
                columns.append(None)
                continue
            value = check_array(value, ensure_2d=False, dtype=np.float64,
                                ensure_all_finite=False)
            if value.shape != rates.shape:
                raise ValueError(f"{name} has shape {value.shape}; learning_rates has "
                                 f"{rates.shape}: one value per step is needed.")
            columns.append(value)
        if rates.ndim != 1 or not (rates > 0).all() or not (np.diff(rates) > 0).all():
            raise ValueError("learning_rates must be a 1-D array of positive, increasing "
                             "rates.")
        if columns[1] is None:
            raise ValueError("losses are needed: one value per step.")
        return columns

    @classmethod
    def from_result(cls, result, *, ax=None):
        """Plot the curve of a ``LRFinderResult`` (what ``lr_find`` returns).

        Parameters
        ----------
        result : LRFinderResult
        ax : matplotlib Axes, default=None
            Axes to draw on; None makes a new figure.

        Returns
        -------
        display : LRFinderDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_result")
        display = cls(result.learning_rates, result.losses, result.smoothed_losses,
                      suggestion=result.suggestion, estimator_name=result.estimator_name)
        return display.plot(ax=ax)


def _finder_limits(smoothed, losses):
    """y limits of an LRFinderDisplay: from the lowest loss to a little above the
    smoothed loss's highest value before its minimum."""
    finite = losses[np.isfinite(losses)]
    low = float(finite.min()) if finite.size else 0.0
    before_minimum = smoothed[:int(np.nanargmin(smoothed)) + 1]
    high = float(np.nanmax(before_minimum))
    span = max(high - low, abs(high) * 1e-3, 1e-12)
    return low - 0.05 * span, high + _LR_FINDER_HEADROOM * span
