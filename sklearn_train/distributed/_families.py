"""How each family of ours trains data-parallel: ``family_of(estimator)``.

A family answers four questions, always in the same order of a fit:

1. ``inspect(est, X, y, w)`` (on a worker, per partition): the partition's share of
   the global statistics (labels and their counts, target means, squared row
   norms, weighted sums of the rows);
2. ``set_globals(template, summaries)`` (client): the statistics that must be the
   same on every worker (``classes_``, class weights, the data's origin), set on
   the template estimator that the workers receive;
3. ``start(template, ...)`` (client, several partitions): the starting state from
   the global statistics (one partition starts exactly as a local fit);
4. ``merge(problem, states, shares, before)`` (client, every round): the combined
   state of the workers' states, each with its share of the round's rows.

The gradient families (linear models, networks, the autoencoder) start from the
estimator's own ``_initial_state`` over a *stand-in* of the data: one row per
class (weighted by the class's total weight) or per partition (its weighted target
mean), so that the starting intercepts are those of all the data. Their states
combine by the weighted mean of every entry; ``aggregate="adagrad"`` weighs each
coordinate of the parameters by its squared-gradient statistic as well.
"""

import copy

import numpy as np
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from .._core.codes import I_OPTIMIZER
from .._core.optimizers import ADAGRAD
from .._data import TrainingData
from .._targets import ClassifierTargets, InputTargets, RegressorTargets
from .._targets import _weighted_quantile


class GradientFamily:
    """Linear models, networks and the autoencoder (states of ``params`` and
    optimizer ``moments``)."""

    uses_optimizer = True
    needs_start_pass = False

    def inspect(self, est, X, y, w):
        summary = {}
        if isinstance(est, ClassifierTargets):
            summary.update(_label_counts(y, w))
        elif isinstance(est, RegressorTargets):
            Y, _ = copy.copy(est)._encode_targets(y, None, first_call=True)
            summary["single_target"] = np.ndim(y) == 1
            summary["n_outputs"] = Y.shape[1]
            summary["target_row"] = _target_summary(est, Y, w)
        if getattr(est, "eta0", None) == "auto":
            from ..linear_model._base import squared_row_norms

            summary["squared_norm_sum"] = float(squared_row_norms(X).sum())
        return summary

    def set_globals(self, template, summaries):
        if isinstance(template, ClassifierTargets):
            _set_classes(template, summaries)
        elif isinstance(template, RegressorTargets):
            shapes = {summary["single_target"] for summary in summaries}
            if len(shapes) > 1:
                raise ValueError("y is 1-D in some partitions and 2-D in others.")
            template._single_target = shapes.pop()

    def stand_in(self, template, summaries, X_like):
        """A ``TrainingData`` whose few rows stand for all the data: the targets'
        weighted distribution, for the starting intercepts."""
        if isinstance(template, ClassifierTargets):
            labels = template.classes_
            Y, factor = template._encode_targets(labels, None, first_call=False)
            weights = _global_label_weights(template, summaries)
            if factor is not None:
                weights = weights * factor
        elif isinstance(template, RegressorTargets):
            rows = [summary["target_row"] for summary in summaries]
            Y = np.vstack([row for row, _ in rows])
            weights = np.array([weight for _, weight in rows])
        else:  # InputTargets: the autoencoder starts its biases at 0
            Y, weights = np.empty((1, 0)), np.ones(1)
        X = np.zeros((Y.shape[0], X_like.shape[1]), dtype=X_like.dtype)
        y = X if isinstance(template, InputTargets) else None
        return TrainingData(X=X, y=y, Y=np.ascontiguousarray(Y),
                            sample_weight=np.ascontiguousarray(weights, dtype=np.float64))

    def start(self, template, summaries, stand_in, init):
        n_rows = sum(summary["n_rows"] for summary in summaries)
        norms = [summary.get("squared_norm_sum") for summary in summaries]
        if None not in norms:
            stand_in.extra["mean_squared_norm"] = float(np.sum(norms)) / n_rows
        return template._initial_state(stand_in, init)

    def merge(self, problem, states, shares, before, aggregate):
        problem.merge(states, shares)
        if aggregate == "adagrad":
            _adagrad_average(problem, states, shares)


def family_of(estimator):
    """The family rules for ``estimator`` (an estimator of ours)."""
    from ..cluster import GaussianMixture, KMeans
    from ..linear_model._base import BaseLinear
    from ..neural_network._base import BaseMLP
    from ._clustering import KMeansFamily, MixtureFamily

    if isinstance(estimator, (BaseLinear, BaseMLP)):
        return GradientFamily()
    if isinstance(estimator, KMeans):
        return KMeansFamily()
    if isinstance(estimator, GaussianMixture):
        return MixtureFamily()
    raise TypeError(
        f"fit_distributed trains LinearClassifier, LinearRegressor, MLPClassifier, "
        f"MLPRegressor, Autoencoder, KMeans and GaussianMixture; got "
        f"{type(estimator).__name__}.")


# -- targets --------------------------------------------------------------------------


def _label_counts(y, w):
    if np.ndim(y) != 1:
        raise ValueError("fit_distributed takes 1-D class labels (multilabel y is not "
                         "supported yet); got y of shape "
                         f"{np.shape(y)}.")
    check_classification_targets(y)
    labels, inverse = np.unique(y, return_inverse=True)
    return {"labels": labels, "counts": np.bincount(inverse, minlength=labels.shape[0]),
            "label_weights": np.bincount(inverse, w, minlength=labels.shape[0])}


def _set_classes(template, summaries):
    """``classes_`` and the class weights of all partitions' labels."""
    labels = np.unique(np.concatenate([summary["labels"] for summary in summaries]))
    if labels.shape[0] < 2:
        raise ValueError(
            f"{type(template).__name__} needs at least 2 classes in the data; got "
            f"{labels.shape[0]} class: {labels!r}.")
    template.classes_ = labels
    from ..neural_network import MLPClassifier

    if isinstance(template, MLPClassifier):
        template._multilabel = False  # (1-D labels: checked by _label_counts)
    if template.class_weight is None:
        return
    counts = np.zeros(labels.shape[0], dtype=np.int64)
    for summary in summaries:
        counts[np.searchsorted(labels, summary["labels"])] += summary["counts"]
    # scikit-learn's own rule, on labels with the counts of all the data
    weights = compute_class_weight(template.class_weight, classes=labels,
                                   y=np.repeat(labels, counts))
    if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
        raise ValueError("class_weight must give every class a finite, non-negative "
                         f"weight; got {template.class_weight!r}.")
    template._class_weights = weights
    template._class_weight_source = copy.deepcopy(template.class_weight)


def _global_label_weights(template, summaries):
    labels = template.classes_
    weights = np.zeros(labels.shape[0])
    for summary in summaries:
        weights[np.searchsorted(labels, summary["labels"])] += summary["label_weights"]
    return weights


def _target_summary(est, Y, w):
    """``(row, weight)``: the partition's weighted target mean (its quantile for the
    quantile loss) and its total weight."""
    total = float(w.sum())
    if total <= 0:
        return np.zeros(Y.shape[1]), 0.0
    if est.loss == "quantile":
        row = np.array([_weighted_quantile(Y[:, k], w, est.quantile)
                        for k in range(Y.shape[1])])
    else:
        row = np.average(Y, axis=0, weights=w)
    return row, total


def _adagrad_average(problem, states, shares):
    """Per-coordinate averaging of the parameters weighted by each worker's
    squared-gradient statistic (AdaGrad's accumulator, else RMSProp's / Adam's
    second moment), times its row share: Vowpal Wabbit's AllReduce averaging. A
    coordinate no worker moved keeps the plain weighted mean."""
    row = 0 if problem.ints[I_OPTIMIZER] == ADAGRAD else 1
    weights = [share * state["moments"][row].astype(np.float64)
               for share, state in zip(shares, states)]
    total = sum(weights)
    weighted = sum(weight * state["params"] for weight, state in zip(weights, states))
    moved = total > 0
    params = problem.state["params"]
    params[moved] = (weighted[moved] / total[moved]).astype(params.dtype)
