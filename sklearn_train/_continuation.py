"""How a search trains a model for more epochs: ``Continuation``, and one rung's task.

``ContinuedHalvingSearchCV`` keeps one fitted model per candidate and fold and trains
the survivors of each rung further instead of fitting them again. ``Continuation``
says how, for one estimator:

- ``"warm_start"``: the estimator (or the last step of a Pipeline) has ``warm_start``
  and ``max_iter``. Each rung fits with ``warm_start=True, max_iter=<new epochs>``.
  Ours go on exactly: the parameters, the optimizer's moments and step count, the
  row-order seed and the epoch count carry over, so fits of 1, 2 and 6 epochs train
  the very model of one 9-epoch fit (tests/test_model_selection.py checks it bit for
  bit), validation split and starting point included. Settings under which a warm
  start would not go on as one longer fit (an epoch-based schedule, early stopping)
  are refused; the estimator says which (``_warm_start_gap``).
- ``"partial_fit"``: otherwise, one ``partial_fit`` call per epoch (``classes`` on the
  first call of a classifier); ours run exactly one epoch per call.

Why ``warm_start`` first: our ``fit`` starts the intercepts at the best constant
model and holds out its validation split, where a first ``partial_fit`` starts at
zero on every row, so only warm starts make the continued model the one a single
``fit`` of the same length gives (which is what the refit on all data trains).

The search sets ``tol=None`` on every candidate: each rung then trains exactly the
epochs it gives (the tolerance rule would stop a candidate short of its budget, and
the next rung would count a fresh plateau from a run that had already converged).
"""

import time
import traceback
from dataclasses import dataclass

from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import _check_method_params


def _final_estimator(estimator, prefix=""):
    """``(prefix, estimator)`` of the model a Pipeline trains last (its own
    parameters are ``prefix + name``); any other estimator is its own."""
    if isinstance(estimator, Pipeline) and estimator.steps:
        name, step = estimator.steps[-1]
        return _final_estimator(step, f"{prefix}{name}__")
    return prefix, estimator


@dataclass(frozen=True)
class Continuation:
    """How a model of one estimator is trained further (see the module docstring)."""

    method: str  # "warm_start" or "partial_fit"
    prefix: str  # "" or the Pipeline path "<step>__" of warm_start and max_iter
    has_tol: bool = False

    @classmethod
    def of(cls, estimator):
        """The way to continue ``estimator``; a clear error when there is none."""
        prefix, final = _final_estimator(estimator)
        params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
        if "warm_start" in params and "max_iter" in params:
            return cls("warm_start", prefix, "tol" in params)
        if hasattr(estimator, "partial_fit"):
            return cls("partial_fit", "")
        raise InvalidParameterError(
            f"{type(final).__name__} cannot be trained further epoch by epoch: it has "
            "neither warm_start and max_iter parameters nor a partial_fit method. "
            "Use scikit-learn's HalvingGridSearchCV, which fits every rung afresh."
        )

    def owned(self):
        """The parameters the search sets on every candidate (not to be searched)."""
        if self.method == "partial_fit":
            return ()
        names = ("max_iter", "warm_start") + (("tol",) if self.has_tol else ())
        return tuple(self.prefix + name for name in names)

    def start(self, estimator, params):
        """A fresh model of the candidate ``params``, set up to be continued."""
        model = clone(estimator).set_params(**clone(params, safe=False))
        if self.method == "warm_start":
            model.set_params(**self._fit_settings(), **{self.prefix + "warm_start": True})
            _, final = _final_estimator(model)
            gap = getattr(final, "_warm_start_gap", None)
            reason = gap() if gap is not None else None
            if reason is not None:
                raise ValueError(
                    f"The candidate {params} cannot be continued across rungs: "
                    f"{reason}.")
        return model

    def train(self, model, X, y, n_epochs, *, first, fit_params, classes=None):
        """Train ``model`` ``n_epochs`` more epochs on ``(X, y)``; return it."""
        if self.method == "warm_start":
            model.set_params(**{self.prefix + "max_iter": n_epochs})
            return model.fit(X, y, **fit_params)
        for epoch in range(n_epochs):
            if first and epoch == 0 and classes is not None:
                model.partial_fit(X, y, classes=classes, **fit_params)
            else:
                model.partial_fit(X, y, **fit_params)
        return model

    def refit(self, estimator, params, X, y, n_epochs, *, fit_params, classes=None):
        """The candidate ``params`` trained ``n_epochs`` on all of ``(X, y)``.

        One ``fit`` of ``n_epochs`` (``warm_start`` as the estimator has it): the
        model that continuing rung by rung would have trained on these rows.
        """
        model = clone(estimator).set_params(**clone(params, safe=False))
        if self.method == "warm_start":
            model.set_params(**self._fit_settings(), **{self.prefix + "max_iter": n_epochs})
            return model.fit(X, y, **fit_params)
        return self.train(model, X, y, n_epochs, first=True, fit_params=fit_params,
                          classes=classes)

    def _fit_settings(self):
        return {self.prefix + "tol": None} if self.has_tol else {}


def train_and_score(continuation, model, X, y, train, test, n_epochs, *, first, scorer,
                    fit_params, classes, return_train_score, error_score):
    """One rung of one candidate on one fold: train ``n_epochs`` more, score.

    Returns ``(model, result)``; ``result`` holds what scikit-learn's
    ``_format_results`` reads (``fit_time``, ``score_time``, ``test_scores``,
    ``train_scores``) and ``fit_error``, the traceback of a failed fit or score
    (its scores are then ``error_score``) or None.
    """
    X_train = _safe_indexing(X, train)
    y_train = None if y is None else _safe_indexing(y, train)
    fit_params = _check_method_params(X, params=fit_params, indices=train)
    result = {"fit_time": 0.0, "score_time": 0.0, "fit_error": None}
    started = time.perf_counter()
    try:
        model = continuation.train(model, X_train, y_train, n_epochs, first=first,
                                   fit_params=fit_params, classes=classes)
        result["fit_time"] = time.perf_counter() - started
        started = time.perf_counter()
        X_test = _safe_indexing(X, test)
        y_test = None if y is None else _safe_indexing(y, test)
        result["test_scores"] = scorer(model, X_test, y_test)
        if return_train_score:
            result["train_scores"] = scorer(model, X_train, y_train)
        result["score_time"] = time.perf_counter() - started
    except Exception:
        if isinstance(error_score, str):  # "raise"
            raise
        result["fit_error"] = traceback.format_exc()
        result["test_scores"] = result["train_scores"] = error_score
    if not return_train_score:
        result.pop("train_scores", None)
    return model, result
