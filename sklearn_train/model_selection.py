"""Hyperparameter search that trains the survivors on: ``ContinuedHalvingSearchCV``."""

import time
import warnings
from math import ceil
from numbers import Integral

import numpy as np
from sklearn.base import _fit_context, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_method_params, indexable

from ._continuation import Continuation, train_and_score

__all__ = ["ContinuedHalvingSearchCV"]


class ContinuedHalvingSearchCV(BaseSearchCV):
    """Successive halving over epochs that continues the survivors of each rung.

    Every candidate is trained ``min_resources`` epochs on each cross-validation
    fold and scored; the best ``1 / factor`` of them (by mean score over the folds)
    train on, ``factor`` times as many epochs in total, from where they are. The
    rungs go on until one candidate is left or the next rung would pass
    ``max_resources`` epochs. Each candidate keeps its own fitted model per fold
    between rungs, so a survivor's epochs are never trained twice: scikit-learn's
    ``HalvingGridSearchCV(resource="max_iter")`` fits every rung from scratch.

    Models are continued with ``warm_start=True`` and ``max_iter`` set to the new
    epochs (the estimator's own, or the last step's of a Pipeline), else with one
    ``partial_fit`` call per epoch. Our estimators continue exactly: a candidate
    trained 1, then 2, then 6 more epochs is the very model of one 9-epoch fit.

    Parameters
    ----------
    estimator : estimator object
        An estimator that can be trained further: one with ``warm_start`` and
        ``max_iter`` parameters (all of ours that train by epochs:
        ``LinearClassifier``, ``LinearRegressor``, ``MLPClassifier``,
        ``MLPRegressor``, ``Autoencoder``, ``GaussianMixture``), a Pipeline ending
        in one, or one with ``partial_fit`` (``KMeans``).

    param_distributions : dict or list of dicts
        Parameter names (as ``set_params`` takes them) mapped to lists of values or
        to distributions with an ``rvs`` method. With ``n_candidates=None`` every
        combination of the lists is a candidate, as in ``GridSearchCV``; a list of
        dicts searches each dict's grid.

    n_candidates : int, default=None
        Sample this many candidates from ``param_distributions`` (as
        ``RandomizedSearchCV`` does with ``n_iter``); None takes the whole grid.

    factor : int, default=3
        Each rung keeps the best ``ceil(n_candidates / factor)`` candidates of the
        rung before and trains them to ``factor`` times the epochs.

    min_resources : int or "exhaust", default=1
        Epochs every candidate trains in the first rung. "exhaust" chooses the
        largest number that still lets the last rung reach ``max_resources``.

    max_resources : int, default=None
        Most epochs a candidate may reach; no rung passes it, so with too few
        epochs the last rung may hold several candidates. None: the rungs go on
        until one candidate is left.

    scoring : str, callable or None, default=None
        One scorer (a name of ``sklearn.metrics.get_scorer_names()`` or a callable
        ``scorer(estimator, X, y)``); None uses the estimator's ``score``.

    n_jobs : int, default=None
        Candidate-fold fits of a rung run in parallel through joblib: -1 uses all
        processors, None one unless a ``joblib.parallel_config`` says otherwise
        (``backend="dask"`` spreads them over a dask cluster).

    refit : bool, default=True
        Train the best candidate on all the data, for the epochs it reached, as
        ``best_estimator_`` (see Notes), and let the search predict with it.

    cv : int, cross-validation generator or iterable, default=5
        As in ``GridSearchCV``: the number of (stratified for classifiers) folds,
        a splitter, or an iterable of ``(train, test)`` index arrays; one split,
        such as ``[(train_idx, val_idx)]`` or ``ShuffleSplit(n_splits=1)``, makes
        it a search on a single validation set. The splits are drawn once: every
        rung trains and scores on the same folds.

    verbose : int, default=0
        Above 0, a line per rung: candidates, folds and epochs.

    pre_dispatch : int or str, default="2*n_jobs"
        How many fits joblib dispatches ahead (see ``joblib.Parallel``).

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates (``n_candidates``); the candidates' own
        ``random_state`` seeds their training.

    error_score : "raise" or float, default=np.nan
        The score of a fit that fails. A candidate that fails on a fold is not
        continued. "raise" raises the error instead.

    return_train_score : bool, default=False
        Also score each rung's models on their training folds
        (``mean_train_score`` and the like in ``cv_results_``).

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        One row per candidate and rung it reached, in ``GridSearchCV``'s format
        (``params``, ``param_<name>``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time`` ...), plus ``iter`` (the rung) and ``n_resources`` (the
        epochs trained in total at that rung). ``mean_fit_time`` is the time of
        that rung's new epochs only. ``rank_test_score`` ranks the rows of later
        rungs ahead of earlier ones (an earlier row's score is of fewer epochs), so
        rank 1 is ``best_index_``.

    best_index_ : int
        The row of ``cv_results_`` of the best candidate of the last rung.

    best_params_ : dict
        Its parameters.

    best_score_ : float
        Its mean cross-validated score at the epochs it reached.

    best_estimator_ : estimator
        With ``refit=True``: the best parameters trained on all the data for the
        epochs the candidate reached (``max_iter`` set to them, ``tol=None``).

    refit_time_ : float
        Seconds of that refit.

    n_epochs_total_ : int
        Epochs trained by the search over all candidates, folds and rungs (each
        survivor's epochs counted once, the refit not counted).

    n_resources_ : list of int
        Epochs every candidate of a rung has trained in total, per rung.

    n_candidates_ : list of int
        Candidates per rung.

    n_iterations_ : int
        Rungs run.

    min_resources_ : int
        Epochs of the first rung ("exhaust" resolved).

    n_splits_ : int
        Cross-validation folds.

    scorer_ : callable
        The scorer used, also by ``score``.

    multimetric_ : bool
        Always False: one scorer only.

    See Also
    --------
    sklearn.model_selection.HalvingGridSearchCV : Successive halving that refits
        every rung from scratch; it can also halve over samples.
    sklearn.model_selection.GridSearchCV : Every candidate at full length.

    Notes
    -----
    Which training settings the search changes: it sets ``tol=None`` (and
    ``warm_start=True`` on the models it continues), so that every rung trains
    exactly the epochs it gives; the tolerance rule would stop a candidate short,
    and the next rung would count a fresh plateau. ``max_iter``, ``warm_start``
    and ``tol`` are therefore not searchable. Settings under which a warm start
    would not go on as one longer fit are refused with the reason: our epoch-based
    schedules (``cosine``, ``exponential``, ``linear``) and ``warmup`` start over
    with every fit, and ``early_stopping=True`` restores the best epoch of each fit.
    A callback that stops training or scales the rate acts within each rung.

    Why ``best_estimator_`` is refit rather than a continued model: the continued
    models are one per fold, each trained without its test fold. The refit is one
    fit of the epochs the winner reached on all the data, which is exactly the
    model continuing it rung by rung on all the data would give.

    For the successive-halving idea, see Jamieson and Talwalkar, "Non-stochastic
    Best Arm Identification and Hyperparameter Optimization", AISTATS 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.model_selection import ContinuedHalvingSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = ContinuedHalvingSearchCV(
    ...     LinearClassifier(random_state=0),
    ...     {"eta0": [0.003, 0.03, 0.3], "alpha": [1e-5, 1e-3, 1e-1]},
    ...     cv=3,
    ... ).fit(X / 16, y)
    >>> search.n_candidates_, search.n_resources_
    ([9, 3, 1], [1, 3, 9])
    >>> search.n_epochs_total_  # 9*3*1 + 3*3*2 + 1*3*6; a grid search at 9: 243
    63
    >>> search.best_estimator_.max_iter
    9
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "refit": ["boolean"],
        "param_distributions": [dict, list],
        "n_candidates": [Interval(Integral, 1, None, closed="left"), None],
        "factor": [Interval(Integral, 2, None, closed="left")],
        "min_resources": [Interval(Integral, 1, None, closed="left"),
                          StrOptions({"exhaust"})],
        "max_resources": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_candidates=None,
        factor=3,
        min_resources=1,
        max_resources=None,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=5,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv,
                         verbose=verbose, pre_dispatch=pre_dispatch,
                         error_score=error_score, return_train_score=return_train_score)
        self.param_distributions = param_distributions
        self.n_candidates = n_candidates
        self.factor = factor
        self.min_resources = min_resources
        self.max_resources = max_resources
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # (scikit-learn's searches leave this out: a search predicts with its
        # estimator, so it takes 2-D targets exactly when the estimator does)
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags

    # (False: the estimator and the candidates' values are checked by their own fits)
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, groups=None, **fit_params):
        """Run the rungs, then refit the best candidate.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets; None for unsupervised estimators.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter (``GroupKFold``, ...).
        **fit_params : dict
            Passed to every fit (``partial_fit``) of the estimator; arrays of
            ``n_samples`` (``sample_weight``) are split with the folds.

        Returns
        -------
        self : object
            The fitted search.
        """
        continuation = Continuation.of(self.estimator)
        candidates = self._candidate_params(continuation)
        epochs = rung_epochs(len(candidates), self.factor, self.min_resources,
                             self.max_resources)
        X, y = indexable(X, y)
        fit_params = _check_method_params(X, params=fit_params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        # drawn once: every rung goes on training and scoring on the same folds
        splits = list(cv.split(X, y, groups))
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        classes = None
        if continuation.method == "partial_fit" and is_classifier(self.estimator):
            classes = np.unique(y)
        task = {"scorer": scorer, "fit_params": fit_params, "classes": classes,
                "return_train_score": self.return_train_score,
                "error_score": self.error_score}
        rows, results, n_epochs_total = self._run_rungs(
            continuation, candidates, epochs, X, y, splits, task)

        self.scorer_, self.multimetric_, self.n_splits_ = scorer, False, len(splits)
        self.n_epochs_total_ = n_epochs_total
        self.n_resources_ = list(epochs)
        self.n_candidates_ = [sum(rung == r for _, rung, _ in rows)
                              for r in range(len(epochs))]
        self.n_iterations_ = len(epochs)
        self.min_resources_ = epochs[0]
        self._store_results(candidates, rows, results)
        if self.refit:
            started = time.perf_counter()
            self.best_estimator_ = continuation.refit(
                self.estimator, self.best_params_, X, y,
                int(self.cv_results_["n_resources"][self.best_index_]),
                fit_params=fit_params, classes=classes)
            self.refit_time_ = time.perf_counter() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    def _candidate_params(self, continuation):
        """The candidates, checked against the parameters the search sets itself."""
        if self.n_candidates is None:
            try:
                candidates = list(ParameterGrid(self.param_distributions))
            except TypeError as error:
                raise TypeError(f"{error} Without n_candidates the search takes the "
                                "whole grid; give n_candidates to sample from "
                                "distributions.") from None
        else:
            candidates = list(ParameterSampler(self.param_distributions,
                                               self.n_candidates,
                                               random_state=self.random_state))
        owned = sorted({name for params in candidates for name in params}
                       & set(continuation.owned()))
        if owned:
            raise ValueError(
                f"The search sets {owned} itself and cannot search over them: "
                "max_iter is each rung's budget of epochs (min_resources, factor, "
                "max_resources), warm_start continues the survivors and tol=None "
                "lets every rung train its whole budget.")
        return candidates

    def _run_rungs(self, continuation, candidates, epochs, X, y, splits, task):
        """Train and score rung by rung. Returns ``rows`` (candidate, rung, epochs;
        one per row of ``cv_results_``), their fold results in that order, and the
        epochs trained."""
        survivors = list(range(len(candidates)))
        models = {c: [continuation.start(self.estimator, candidates[c]) for _ in splits]
                  for c in survivors}
        rows, results, scores, failed, done, n_epochs = [], [], {}, set(), 0, 0
        with Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch) as parallel:
            for rung, total in enumerate(epochs):
                if rung:
                    survivors = _best(survivors, scores, failed,
                                      ceil(len(survivors) / self.factor), rung)
                    models = {c: models[c] for c in survivors}
                if self.verbose > 0:
                    print(f"[ContinuedHalvingSearchCV] rung {rung}: {len(survivors)} "
                          f"candidates x {len(splits)} folds, epochs {done} -> {total}")
                outcomes = parallel(
                    delayed(train_and_score)(continuation, models[c][fold], X, y, train,
                                             test, total - done, first=rung == 0, **task)
                    for c in survivors for fold, (train, test) in enumerate(splits))
                for i, c in enumerate(survivors):
                    mine = outcomes[i * len(splits):(i + 1) * len(splits)]
                    models[c] = [model for model, _ in mine]
                    folds = [result for _, result in mine]
                    if any(result["fit_error"] for result in folds):
                        failed.add(c)
                    scores[c] = np.mean([result["test_scores"] for result in folds])
                    rows.append((c, rung, total))
                    results.extend(folds)
                self._report_failures(results[-len(outcomes):], rung)
                n_epochs += len(survivors) * len(splits) * (total - done)
                done = total
        return rows, results, n_epochs

    def _report_failures(self, results, rung):
        errors = [result["fit_error"] for result in results if result["fit_error"]]
        if len(errors) == len(results):
            raise ValueError(f"All the {len(results)} fits of rung {rung} failed. The "
                             f"first error:\n{errors[0]}")
        if errors:
            warnings.warn(
                f"{len(errors)} of the {len(results)} fits of rung {rung} failed; "
                f"they score error_score={self.error_score} and their candidates are "
                f"not continued. The first error:\n{errors[0]}", FitFailedWarning)

    def _store_results(self, candidates, rows, results):
        """``cv_results_`` in scikit-learn's format, and the best candidate."""
        for result in results:
            result.pop("fit_error")
        more = {"iter": [rung for _, rung, _ in rows],
                "n_resources": [total for _, _, total in rows]}
        params = [candidates[c] for c, _, _ in rows]
        cv_results = self._format_results(params, self.n_splits_, results, more)
        cv_results["rank_test_score"] = _rank_later_rungs_first(
            cv_results["iter"], cv_results["mean_test_score"])
        self.cv_results_ = cv_results
        self.best_index_ = int(np.flatnonzero(cv_results["rank_test_score"] == 1)[0])
        self.best_params_ = cv_results["params"][self.best_index_]
        self.best_score_ = float(cv_results["mean_test_score"][self.best_index_])


def rung_epochs(n_candidates, factor, min_resources, max_resources):
    """Epochs trained in total by the end of each rung: ``min_resources *
    factor**rung``, until a rung holds one candidate or the next one would pass
    ``max_resources``."""
    n_rungs, remaining = 1, n_candidates
    while remaining > 1:
        remaining = ceil(remaining / factor)
        n_rungs += 1
    if min_resources == "exhaust":
        if max_resources is None:
            raise ValueError("min_resources='exhaust' needs max_resources: the epochs "
                             "the last rung should reach.")
        min_resources = max(1, max_resources // factor ** (n_rungs - 1))
    if max_resources is not None:
        if min_resources > max_resources:
            raise ValueError(f"min_resources={min_resources} is more than "
                             f"max_resources={max_resources}.")
        possible = 1
        while min_resources * factor**possible <= max_resources:
            possible += 1
        n_rungs = min(n_rungs, possible)
    return [min_resources * factor**rung for rung in range(n_rungs)]


def _best(survivors, scores, failed, k, rung):
    """The ``k`` best candidates that did not fail, by mean score (ties: the
    earlier candidate), in their original order."""
    usable = [c for c in survivors if c not in failed]
    if not usable:
        raise ValueError(f"Every candidate of rung {rung - 1} failed on some fold: "
                         "there is none to continue.")
    ranked = sorted(usable, key=lambda c: (-_finite(scores[c]), c))
    return sorted(ranked[:k])


def _finite(score):
    """A score for sorting: NaN (a failed or undefined score) as the worst."""
    return -np.inf if np.isnan(score) else score


def _rank_later_rungs_first(rungs, scores):
    """Rank 1 for the best row of the last rung: a row ranks after every row of a
    later rung and every better-scoring row of its own ("min" ties, NaN last)."""
    rungs = np.asarray(rungs)
    scores = np.where(np.isnan(scores), -np.inf, scores)
    later = rungs[None, :] > rungs[:, None]
    better = (rungs[None, :] == rungs[:, None]) & (scores[None, :] > scores[:, None])
    return (1 + np.sum(later | better, axis=1)).astype(np.int32)
