"""scikit-learn's callback protocol (``sklearn.callback``, scikit-learn >= 1.9).

Our estimators take scikit-learn's callbacks through ``set_callbacks`` and report one
task per epoch, each ending with a fitted copy of the model at that epoch. The
recording callbacks here implement the protocol by hand (the methods of
``sklearn.callback.FitCallback``; ``max_propagation_depth`` too for the
auto-propagated one), so the tests see exactly what a third-party callback sees.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("sklearn.callback")

from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_train import LinearClassifier  # noqa: E402
from sklearn_train.callbacks import (  # noqa: E402
    Callback,
    EarlyStopping,
    LambdaCallback,
    TerminateOnNaN,
)

EXACT = dict(rtol=1e-12, atol=1e-12)


def binary_data(n=240, n_features=6, seed=0):
    X, y = make_classification(n, n_features, n_informative=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


class Recorder(Callback):
    """Ours: keeps a fitted copy of the model after every epoch, ``models[epoch]``."""

    def __init__(self):
        pass

    def on_train_begin(self, run):
        if not hasattr(self, "models"):
            self.models = {}

    def on_epoch_end(self, run):
        self.models[run.epoch] = run.model()


class TaskRecorder:
    """A scikit-learn FitCallback recording every task; optionally stops after epochs."""

    def __init__(self, stop_after_epochs=None):
        self.stop_after_epochs = stop_after_epochs
        self.setups = []
        self.teardowns = []
        self.begun = []
        self.ended = []

    def setup(self, estimator, context):
        self.setups.append(type(estimator).__name__)

    def teardown(self, estimator, context):
        self.teardowns.append(type(estimator).__name__)

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self.begun.append((context.estimator_name, context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self.ended.append(dict(estimator_name=context.estimator_name,
                               task_name=context.task_name, task_id=context.task_id,
                               X=X, y=y, metadata=metadata, fitted=fitted_estimator))
        return (self.stop_after_epochs is not None and context.task_name == "epoch"
                and context.task_id + 1 >= self.stop_after_epochs)

    def epochs(self, estimator_name="LinearClassifier"):
        return [task for task in self.ended
                if task["task_name"] == "epoch" and task["estimator_name"] == estimator_name]


class PropagatedTaskRecorder(TaskRecorder):
    """The same, auto-propagated from a meta-estimator to every nested estimator."""

    max_propagation_depth = None


# -- FitCallback set on our estimator ---------------------------------------------------


def test_a_fit_callback_sees_one_task_per_epoch_with_that_epochs_model():
    X, y = binary_data()
    tasks = TaskRecorder()
    clf = LinearClassifier(max_iter=5, tol=None, random_state=0, callbacks=[Recorder()])
    clf.set_callbacks(tasks)
    clf.fit(X, y)

    epochs = tasks.epochs()
    assert clf.n_iter_ == 5
    assert [task["task_id"] for task in epochs] == list(range(clf.n_iter_))
    assert [name for _, name, _ in tasks.begun] == ["fit"] + ["epoch"] * clf.n_iter_
    assert tasks.setups == tasks.teardowns == ["LinearClassifier"]
    models = clf.callbacks_[0].models
    for task in epochs:
        at_epoch = models[task["task_id"] + 1]
        fitted = task["fitted"]
        assert fitted is not clf
        np.testing.assert_allclose(fitted.coef_, at_epoch.coef_, **EXACT)
        np.testing.assert_allclose(fitted.intercept_, at_epoch.intercept_, **EXACT)
        np.testing.assert_array_equal(fitted.predict_proba(X), at_epoch.predict_proba(X))
        np.testing.assert_array_equal(task["X"], X)
        np.testing.assert_array_equal(task["y"], y)
        assert task["metadata"] is None
    # the last task to end is the whole fit, with the final model
    (root,) = [task for task in tasks.ended if task["task_name"] == "fit"]
    assert tasks.ended[-1] is root
    np.testing.assert_array_equal(root["fitted"].predict_proba(X), clf.predict_proba(X))
    # and the fitted copies at epoch ends differ from one another: they are not all
    # the final model
    assert not np.allclose(epochs[0]["fitted"].coef_, clf.coef_)


def test_fit_callback_gets_the_training_rows_and_weights():
    X, y = binary_data()
    weights = np.linspace(0.5, 1.5, len(y))
    tasks = TaskRecorder()
    clf = LinearClassifier(max_iter=2, tol=None, early_stopping=True, random_state=0)
    clf.set_callbacks(tasks).fit(X, y, sample_weight=weights)

    n_val = int(np.ceil(clf.validation_fraction * len(y)))
    for task in tasks.epochs():
        assert task["X"].shape == (len(y) - n_val, X.shape[1])
        assert task["y"].shape == (len(y) - n_val,)
        assert set(map(tuple, task["X"])) <= set(map(tuple, X))
        weight = task["metadata"]["sample_weight"]
        assert weight.shape == task["y"].shape
        assert set(weight) <= set(weights)


def test_returning_true_from_on_fit_task_end_stops_training():
    X, y = binary_data()
    tasks = TaskRecorder(stop_after_epochs=3)
    clf = LinearClassifier(max_iter=50, tol=None, random_state=0)
    clf.set_callbacks(tasks).fit(X, y)
    assert clf.n_iter_ == len(clf.history_) == 3
    assert len(tasks.epochs()) == 3
    assert tasks.teardowns == ["LinearClassifier"]


def test_each_partial_fit_call_is_a_fit_task_with_one_epoch():
    X, y = binary_data()
    tasks = TaskRecorder()
    clf = LinearClassifier(random_state=0, callbacks=[Recorder()])
    clf.set_callbacks(tasks)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1])

    assert [name for _, name, _ in tasks.begun] == ["fit", "epoch"] * 3
    assert len(tasks.setups) == len(tasks.teardowns) == 3
    models = clf.callbacks_[0].models
    for epoch, task in enumerate(tasks.epochs(), start=1):
        assert task["task_id"] == 0  # the only epoch of its call
        np.testing.assert_allclose(task["fitted"].coef_, models[epoch].coef_, **EXACT)


def test_sklearn_callbacks_and_ours_together():
    # an EarlyStopping of ours and a scikit-learn callback on the same fit: both see
    # every epoch, and the fit stops where ours says
    X, y = binary_data()
    tasks = TaskRecorder()
    clf = LinearClassifier(max_iter=200, tol=None, eta0=0.3, learning_rate="constant",
                           random_state=0,
                           callbacks=[EarlyStopping("train_loss", patience=2, min_delta=1e-3)])
    clf.set_callbacks(tasks).fit(X, y)
    assert clf.n_iter_ == clf.callbacks_[0].stopped_epoch_ < 200
    assert len(tasks.epochs()) == clf.n_iter_


# -- auto-propagated callbacks reach our epochs inside meta-estimators --------------------


def test_auto_propagated_callback_reaches_our_epochs_in_a_pipeline():
    X, y = binary_data()
    tasks = PropagatedTaskRecorder()
    pipe = make_pipeline(StandardScaler(),
                         LinearClassifier(max_iter=4, tol=None, random_state=0))
    pipe.set_callbacks(tasks).fit(X, y)

    clf = pipe[-1]
    epochs = tasks.epochs()
    assert len(epochs) == clf.n_iter_ == 4
    assert [task["task_id"] for task in epochs] == [0, 1, 2, 3]
    # the last epoch's fitted copy is the final model; X is what the scaler gave it
    np.testing.assert_allclose(epochs[-1]["fitted"].coef_, clf.coef_, **EXACT)
    np.testing.assert_allclose(epochs[-1]["X"], pipe[0].transform(X), **EXACT)
    assert tasks.setups == tasks.teardowns == ["Pipeline"]  # set up once, at the top
    # nothing of the protocol is left on our estimator after the fit
    assert not [key for key in vars(clf) if "callback_" in key and key != "callbacks_"]


def test_auto_propagated_callback_reaches_our_epochs_in_a_grid_search():
    X, y = binary_data(n=200)
    tasks = PropagatedTaskRecorder()
    n_epochs, n_candidates, n_folds = 3, 2, 2
    search = GridSearchCV(
        make_pipeline(StandardScaler(),
                      LinearClassifier(max_iter=n_epochs, tol=None, random_state=0)),
        {"linearclassifier__alpha": [1e-4, 1e-2]}, cv=n_folds, n_jobs=1)
    search.set_callbacks(tasks).fit(X, y)

    # every candidate on every fold, and the refit
    n_fits = n_candidates * n_folds + 1
    assert len(tasks.epochs()) == n_epochs * n_fits
    roots = [task for task in tasks.ended
             if task["estimator_name"] == "LinearClassifier" and task["task_name"] == "fit"]
    assert len(roots) == n_fits
    np.testing.assert_allclose(tasks.epochs()[-1]["fitted"].coef_,
                               search.best_estimator_[-1].coef_, **EXACT)


# -- scikit-learn's own callbacks -------------------------------------------------------


def test_scoring_monitor_records_one_score_per_epoch():
    X, y = binary_data()
    monitor = ScoringMonitor(scoring="accuracy")
    clf = LinearClassifier(max_iter=5, tol=None, eta0=0.01, random_state=0,
                           callbacks=[Recorder()])
    clf.set_callbacks(monitor).fit(X, y)

    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in rows] == list(range(clf.n_iter_))
    models = clf.callbacks_[0].models
    for row in rows:
        model = models[row["task_id"] + 1]
        assert row["accuracy"] == pytest.approx(accuracy_score(y, model.predict(X)), abs=1e-12)
    assert len({row["accuracy"] for row in rows}) > 1  # the scores follow training


def fit_pipeline(progress_bar):
    X, y = binary_data()
    pipe = make_pipeline(StandardScaler(),
                         LinearClassifier(max_iter=5, tol=None, random_state=0))
    if progress_bar:
        pipe.set_callbacks(ProgressBar())
    return pipe.fit(X, y)


def test_progress_bar_on_a_pipeline_changes_nothing():
    shown = fit_pipeline(progress_bar=True)
    plain = fit_pipeline(progress_bar=False)
    np.testing.assert_array_equal(shown[-1].coef_, plain[-1].coef_)
    np.testing.assert_array_equal(shown[-1].intercept_, plain[-1].intercept_)
    assert shown[-1].history_[-1]["train_loss"] == plain[-1].history_[-1]["train_loss"]


def test_progress_bar_on_a_parallel_grid_search_changes_nothing():
    X, y = binary_data(n=200)

    def search():
        return GridSearchCV(
            make_pipeline(StandardScaler(),
                          LinearClassifier(max_iter=3, tol=None, random_state=0)),
            {"linearclassifier__eta0": [0.01, 0.1]}, cv=2, n_jobs=2)

    # max_propagation_depth=None: the bars go down to our epochs, in the workers too
    shown = search().set_callbacks(ProgressBar(max_propagation_depth=None)).fit(X, y)
    plain = search().fit(X, y)
    np.testing.assert_array_equal(shown.cv_results_["mean_test_score"],
                                  plain.cv_results_["mean_test_score"])
    assert shown.best_params_ == plain.best_params_
    np.testing.assert_array_equal(shown.best_estimator_[-1].coef_,
                                  plain.best_estimator_[-1].coef_)


@pytest.mark.parametrize("ours", [EarlyStopping(), TerminateOnNaN(),
                                  LambdaCallback(on_epoch_end=print)],
                         ids=["EarlyStopping", "TerminateOnNaN", "LambdaCallback"])
def test_our_callbacks_do_not_go_through_set_callbacks(ours):
    with pytest.raises(TypeError, match="FitCallback"):
        LinearClassifier().set_callbacks(ours)


def test_sklearn_callbacks_do_not_go_through_callbacks_param():
    X, y = binary_data()
    with pytest.raises(TypeError, match="set_callbacks"):
        LinearClassifier(max_iter=2, callbacks=[ScoringMonitor(scoring="accuracy")]).fit(X, y)


# -- without scikit-learn's callback protocol ------------------------------------------


_WITHOUT_PROTOCOL = textwrap.dedent("""
    import json, sys
    import numpy as np
    # scikit-learn 1.9 imports sklearn.callback itself (Pipeline, GridSearchCV,
    # StandardScaler...): load those first, then make ``from sklearn.callback import``
    # fail as it does on an older scikit-learn, before sklearn_train is imported
    import sklearn.base, sklearn.metrics, sklearn.model_selection, sklearn.pipeline
    import sklearn.preprocessing
    sys.modules["sklearn.callback"] = None
    try:
        from sklearn.callback import CallbackSupportMixin
    except ImportError:
        pass
    else:
        raise SystemExit("sklearn.callback is not hidden")

    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler
    from sklearn_train import LinearClassifier, _callback_tasks
    from sklearn_train.callbacks import EarlyStopping, LambdaCallback

    X, y = make_classification(240, 6, n_informative=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    seen = []
    clf = LinearClassifier(
        max_iter=200, tol=None, eta0=0.3, learning_rate="constant", random_state=0,
        callbacks=[EarlyStopping("train_loss", patience=2, min_delta=1e-3),
                   LambdaCallback(on_epoch_end=lambda run: seen.append(run.epoch))],
    ).fit(X, y)
    pipe = sklearn.pipeline.make_pipeline(
        StandardScaler(), LinearClassifier(max_iter=3, tol=None, random_state=0)).fit(X, y)
    print(json.dumps({
        "have": _callback_tasks.HAVE_SKLEARN_CALLBACKS,
        "set_callbacks": hasattr(clf, "set_callbacks"),
        "mixin_members": [k for k in vars(_callback_tasks.CallbackSupportMixin)
                          if not k.startswith("__")],
        "n_iter": clf.n_iter_,
        "stopped": clf.callbacks_[0].stopped_epoch_,
        "seen": seen,
        "coef": clf.coef_.tolist(),
        "pipe_coef": pipe[-1].coef_.tolist(),
    }))
""")


def test_without_sklearn_callback_our_estimators_and_callbacks_still_work():
    result = subprocess.run([sys.executable, "-c", _WITHOUT_PROTOCOL], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["have"] is False
    assert out["set_callbacks"] is False
    assert out["mixin_members"] == []
    assert out["stopped"] == out["n_iter"] < 200
    assert out["seen"] == list(range(1, out["n_iter"] + 1))

    # the same fits here, with the protocol present, give the same models
    X, y = binary_data()
    clf = LinearClassifier(max_iter=200, tol=None, eta0=0.3, learning_rate="constant",
                           random_state=0,
                           callbacks=[EarlyStopping("train_loss", patience=2, min_delta=1e-3)]
                           ).fit(X, y)
    assert clf.n_iter_ == out["n_iter"]
    np.testing.assert_allclose(clf.coef_, out["coef"], **EXACT)
    pipe = make_pipeline(StandardScaler(),
                         LinearClassifier(max_iter=3, tol=None, random_state=0)).fit(X, y)
    np.testing.assert_allclose(pipe[-1].coef_, out["pipe_coef"], **EXACT)
