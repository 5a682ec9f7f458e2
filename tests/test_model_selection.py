"""ContinuedHalvingSearchCV: the winner of an exhaustive search for fewer epochs,
continuation equal to one longer fit bit for bit, clear errors, scikit-learn's
result format and estimator contract."""

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs, make_regression
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_train import (
    ContinuedHalvingSearchCV,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
)
from sklearn_train._continuation import Continuation, train_and_score
from sklearn_train.callbacks import LambdaCallback
from sklearn_train.model_selection import rung_epochs

# eta0 a decade apart and alpha two: on digits the candidates differ clearly
GRID = {"eta0": [0.003, 0.03, 0.3], "alpha": [1e-5, 1e-3, 1e-1]}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def counting(estimator):
    """``estimator`` with a callback that counts every epoch it trains (a clone's
    callback copies share the counter), and the counter."""
    epochs = []
    return estimator.set_params(callbacks=[LambdaCallback(
        on_epoch_end=lambda run: epochs.append(1))]), epochs


def test_halving_finds_the_grid_search_winner_for_fewer_epochs(digits):
    X, y = digits
    cv = StratifiedKFold(5)
    halving_model, halving_epochs = counting(LinearClassifier(random_state=0))
    halving = ContinuedHalvingSearchCV(halving_model, GRID, cv=cv).fit(X, y)
    final = halving.n_resources_[-1]
    assert halving.n_resources_ == [1, 3, 9] and halving.n_candidates_ == [9, 3, 1]

    grid_model, grid_epochs = counting(
        LinearClassifier(max_iter=final, tol=None, random_state=0))
    grid = GridSearchCV(grid_model, GRID, cv=cv).fit(X, y)

    assert halving.best_params_ == grid.best_params_
    # the winner's fold models are those of the grid search, continued: same scores
    winner = grid.cv_results_["params"].index(grid.best_params_)
    for fold in range(5):
        key = f"split{fold}_test_score"
        assert halving.cv_results_[key][halving.best_index_] == grid.cv_results_[key][winner]
    assert halving.best_score_ == grid.best_score_

    # epochs counted as they were trained, the refits taken out
    halving_trained = len(halving_epochs) - halving.best_estimator_.n_iter_
    grid_trained = len(grid_epochs) - grid.best_estimator_.n_iter_
    assert grid_trained == len(grid.cv_results_["params"]) * 5 * final == 405
    assert halving.n_epochs_total_ == halving_trained == 9 * 5 * 1 + 3 * 5 * 2 + 1 * 5 * 6
    assert halving.n_epochs_total_ < grid_trained
    assert halving.best_estimator_.get_params()["max_iter"] == final


CONTINUED = [
    (LinearClassifier(random_state=0), "classification"),
    (LinearRegressor(random_state=0), "regression"),
    (MLPClassifier((8,), dropout=0.1, random_state=0), "classification"),
    (MLPRegressor((8,), random_state=0), "regression"),
]


@pytest.mark.parametrize("estimator, task", CONTINUED,
                         ids=[type(e).__name__ for e, _ in CONTINUED])
def test_a_candidate_continued_to_nine_epochs_is_a_fresh_nine_epoch_fit(
        estimator, task, digits):
    """The search's own task, rung by rung (1, 3, 9 epochs in total), trains the
    very parameters of one 9-epoch fit on the same fold."""
    if task == "classification":
        X, y = digits
    else:
        X, y = make_regression(300, 8, noise=1.0, random_state=0)
        y = y / 100
    train, test = next(KFold(3, shuffle=True, random_state=0).split(X))
    continuation = Continuation.of(estimator)
    model = continuation.start(estimator, {"alpha": 1e-3})
    def scorer(model, X, y):
        return model.score(X, y)

    for rung, new_epochs in enumerate([1, 2, 6]):
        model, result = train_and_score(
            continuation, model, X, y, train, test, new_epochs, first=rung == 0,
            scorer=scorer, fit_params={}, classes=None, return_train_score=False,
            error_score="raise")
    fresh = clone(estimator).set_params(alpha=1e-3, max_iter=9, tol=None)
    fresh.fit(X[train], y[train])

    names = ["coef_", "intercept_"] if hasattr(fresh, "coef_") else ["coefs_", "intercepts_"]
    for name in names:
        continued, direct = getattr(model, name), getattr(fresh, name)
        if not isinstance(direct, list):  # (a network's layers are lists of arrays)
            continued, direct = [continued], [direct]
        assert len(continued) == len(direct)
        for mine, theirs in zip(continued, direct):
            np.testing.assert_array_equal(mine, theirs)
    assert len(model.history_) == 9 and model.t_ == fresh.t_
    assert result["test_scores"] == fresh.score(X[test], y[test])


def test_a_pipeline_continues_its_last_step_and_the_search_predicts(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LinearClassifier(random_state=0))
    search = ContinuedHalvingSearchCV(
        pipe, {"linearclassifier__eta0": [0.001, 0.01, 0.1]}, cv=3).fit(X, y)
    best = search.best_estimator_
    assert best[-1].max_iter == search.n_resources_[-1] == 3
    assert best[-1].tol is None and best[-1].warm_start is False
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_array_equal(search.predict_proba(X), best.predict_proba(X))
    assert search.score(X, y) == best.score(X, y)
    np.testing.assert_array_equal(search.classes_, np.arange(10))


def test_an_estimator_without_warm_start_is_continued_by_partial_fit():
    X, _ = make_blobs(300, 2, centers=4, random_state=0)
    search = ContinuedHalvingSearchCV(
        KMeans(random_state=0), {"n_clusters": [2, 3, 4, 5]}, factor=2, cv=2).fit(X)
    assert search.n_resources_ == [1, 2, 4] and search.n_candidates_ == [4, 2, 1]
    # the refit takes as many partial_fit epochs as the winner reached
    assert len(search.best_estimator_.history_) == 4


def test_random_candidates_are_drawn_with_random_state(digits):
    X, y = digits
    distributions = {"eta0": loguniform(1e-3, 1.0), "alpha": loguniform(1e-6, 1e-1)}
    search = ContinuedHalvingSearchCV(
        LinearClassifier(random_state=0), distributions, n_candidates=4, cv=2,
        random_state=3, refit=False)
    first, second = clone(search).fit(X, y), clone(search).fit(X, y)
    assert first.cv_results_["params"] == second.cv_results_["params"]
    assert first.n_candidates_ == [4, 2, 1]
    assert not hasattr(first, "best_estimator_")
    with pytest.raises(AttributeError, match="predict"):
        first.predict(X)
    with pytest.raises(TypeError, match="give n_candidates"):
        clone(first).set_params(n_candidates=None).fit(X, y)


def test_max_and_min_resources():
    assert rung_epochs(9, 3, 1, None) == [1, 3, 9]
    assert rung_epochs(10, 3, 1, None) == [1, 3, 9, 27]
    assert rung_epochs(10, 3, 1, 10) == [1, 3, 9]  # the last rung keeps 2 candidates
    assert rung_epochs(9, 3, "exhaust", 30) == [3, 9, 27]
    assert rung_epochs(9, 2, 2, None) == [2, 4, 8, 16, 32]
    assert rung_epochs(1, 3, 5, None) == [5]
    with pytest.raises(ValueError, match="needs max_resources"):
        rung_epochs(9, 3, "exhaust", None)
    with pytest.raises(ValueError, match="more than max_resources"):
        rung_epochs(9, 3, 5, 4)


def test_cv_results_in_scikit_learns_format(digits):
    X, y = digits
    search = ContinuedHalvingSearchCV(
        LinearClassifier(random_state=0), GRID, cv=3, return_train_score=True,
        max_resources=3).fit(X, y)
    results = search.cv_results_
    n_rows = sum(search.n_candidates_)
    assert search.n_candidates_ == [9, 3] and search.n_resources_ == [1, 3]
    for key in ("mean_test_score", "std_test_score", "rank_test_score", "iter",
                "n_resources", "mean_fit_time", "std_score_time", "param_eta0",
                "split0_test_score", "split2_test_score", "mean_train_score",
                "split1_train_score"):
        assert len(results[key]) == n_rows, key
    assert len(results["params"]) == n_rows
    np.testing.assert_array_equal(results["iter"], [0] * 9 + [1] * 3)
    np.testing.assert_array_equal(results["n_resources"], [1] * 9 + [3] * 3)
    # the survivors are the best third of the first rung
    first = np.argsort(-results["mean_test_score"][:9], kind="stable")[:3]
    assert [results["params"][i] for i in sorted(first)] == results["params"][9:]
    # rank 1 is the best of the last rung, and the last rung ranks first
    assert results["rank_test_score"][search.best_index_] == 1
    assert sorted(results["rank_test_score"][9:]) == [1, 2, 3]
    assert search.best_index_ == 9 + np.argmax(results["mean_test_score"][9:])
    assert search.best_score_ == results["mean_test_score"][search.best_index_]
    assert search.n_epochs_total_ == 9 * 3 * 1 + 3 * 3 * 2


def test_clone_and_get_params():
    search = ContinuedHalvingSearchCV(LinearClassifier(), GRID, factor=2, cv=4)
    params = search.get_params()
    assert params["factor"] == 2 and params["estimator__eta0"] == 0.05
    twin = clone(search)
    assert twin.get_params(deep=False).keys() == search.get_params(deep=False).keys()
    assert twin.param_distributions == GRID and twin.estimator is not search.estimator
    twin.set_params(estimator__alpha=0.5, min_resources="exhaust")
    assert twin.estimator.alpha == 0.5 and search.estimator.alpha != 0.5


@pytest.mark.parametrize("params, message", [
    ({"factor": 1}, "'factor' parameter"),
    ({"factor": 2.5}, "'factor' parameter"),
    ({"min_resources": 0}, "'min_resources' parameter"),
    ({"max_resources": "auto"}, "'max_resources' parameter"),
    ({"n_candidates": 0}, "'n_candidates' parameter"),
    ({"scoring": ["accuracy", "f1_macro"]}, "'scoring' parameter"),
    ({"refit": "accuracy"}, "'refit' parameter"),
    ({"param_distributions": "eta0"}, "'param_distributions' parameter"),
])
def test_bad_parameters_are_refused_by_the_constraints(params, message, digits):
    X, y = digits
    search = ContinuedHalvingSearchCV(LinearClassifier(), GRID).set_params(**params)
    with pytest.raises(InvalidParameterError, match=message):
        search.fit(X[:100], y[:100])


@pytest.mark.parametrize("estimator, grid, error, message", [
    (Ridge(), {"alpha": [1.0, 2.0]}, InvalidParameterError,
     "Ridge cannot be trained further epoch by epoch"),
    (make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": [1.0]},
     InvalidParameterError, "Ridge cannot be trained further"),
    (LinearClassifier(), {"max_iter": [5, 10]}, ValueError,
     r"sets \['max_iter'\] itself"),
    (make_pipeline(StandardScaler(), LinearClassifier()),
     {"linearclassifier__tol": [None, 1e-3]}, ValueError, "linearclassifier__tol"),
    (LinearClassifier(learning_rate="cosine"), {"alpha": [1e-4]}, ValueError,
     "'cosine' schedule starts over"),
    (LinearClassifier(), {"warmup": [0.0, 2.0]}, ValueError, "warm-up starts over"),
    (MLPClassifier((4,)), {"early_stopping": [True]}, ValueError,
     "early_stopping=True restores the best epoch"),
], ids=["no-warm-start", "pipeline-no-warm-start", "max_iter", "tol", "cosine",
        "warmup", "early-stopping"])
def test_estimators_and_candidates_that_cannot_be_continued(estimator, grid, error,
                                                            message, digits):
    X, y = digits
    with pytest.raises(error, match=message):
        ContinuedHalvingSearchCV(estimator, grid, cv=2).fit(X[:200], y[:200])


def test_a_failing_candidate_is_dropped_and_all_failing_is_an_error():
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    regressor = LinearRegressor(random_state=0)
    grid = {"alpha": [1e-4, 1e-2, -1.0]}  # the last one fails its parameter check
    with (pytest.warns(FitFailedWarning, match="3 of the 9 fits of rung 0 failed"),
          pytest.warns(UserWarning, match="test scores are non-finite")):
        search = ContinuedHalvingSearchCV(regressor, grid, cv=3).fit(X, y)
    assert np.isnan(search.cv_results_["mean_test_score"][2])
    assert search.n_candidates_ == [3, 1] and search.best_params_["alpha"] != -1.0
    with pytest.raises(ValueError, match="All the 3 fits of rung 0 failed"):
        ContinuedHalvingSearchCV(regressor, {"alpha": [-1.0]}, cv=3).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        ContinuedHalvingSearchCV(regressor, grid, cv=3, error_score="raise").fit(X, y)


@parametrize_with_checks([
    # (seeded inside: the checks seed only the search's own random_state)
    ContinuedHalvingSearchCV(LinearClassifier(random_state=0), {"alpha": [1e-4, 1e-2]},
                             cv=2, error_score="raise"),
    ContinuedHalvingSearchCV(LinearRegressor(random_state=0), {"alpha": [1e-4, 1e-2]},
                             cv=2, error_score="raise"),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
