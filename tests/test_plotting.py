"""TrainingHistoryDisplay: what it draws is the estimator's history_, and nothing else.

Figures render with the Agg backend (no display needed) and are closed after each test.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_train import LinearClassifier
from sklearn_train.plotting import TrainingHistoryDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(300, 6, n_informative=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    return X[:200], y[:200], X[200:], y[200:]


@pytest.fixture(scope="module")
def clf(data):
    X, y, X_val, y_val = data
    return LinearClassifier(max_iter=8, tol=None, scoring="balanced_accuracy",
                            random_state=0).fit(X, y, X_val=X_val, y_val=y_val)


def column(history, key):
    return [row.get(key, math.nan) for row in history]


def test_renders_a_png(clf, tmp_path):
    display = TrainingHistoryDisplay.from_estimator(clf)
    path = tmp_path / "history.png"
    display.figure_.savefig(path)
    content = path.read_bytes()
    assert content.startswith(PNG_MAGIC)
    assert len(content) > 1000


def test_lines_are_the_history(clf):
    display = TrainingHistoryDisplay.from_estimator(clf)
    epochs = [row["epoch"] for row in clf.history_]
    assert epochs == list(range(1, 9))
    assert set(display.lines_) == {"train_loss", "val_loss", "val_score",
                                   "learning_rate", "best_epoch"}
    for key in ("train_loss", "val_loss", "val_score", "learning_rate"):
        line = display.lines_[key]
        np.testing.assert_array_equal(line.get_xdata(), epochs, err_msg=key)
        np.testing.assert_array_equal(line.get_ydata(), column(clf.history_, key),
                                      err_msg=key)
    # losses on the main axes, score and learning rate (log scale) on twins of it
    assert display.lines_["train_loss"].axes is display.ax_
    assert display.lines_["val_loss"].axes is display.ax_
    assert display.lines_["val_score"].axes is display.score_ax_
    assert display.lines_["learning_rate"].axes is display.lr_ax_
    assert display.lr_ax_.get_yscale() == "log"
    assert display.score_ax_.get_shared_x_axes().joined(display.ax_, display.score_ax_)
    assert "balanced_accuracy" in display.score_ax_.get_ylabel()
    assert display.figure_ is display.ax_.figure
    assert display.ax_.get_title() == "LinearClassifier"
    # one legend for all five lines, on the topmost axes (drawn last)
    labels = [text.get_text() for text in display.legend_.get_texts()]
    assert labels == [line.get_label() for line in display.lines_.values()]
    assert display.legend_.axes is display.lr_ax_


def test_best_epoch_marker(clf):
    display = TrainingHistoryDisplay.from_estimator(clf)
    marker = display.lines_["best_epoch"]
    assert [row["epoch"] for row in clf.history_ if row["best"]] == [clf.best_epoch_]
    np.testing.assert_array_equal(marker.get_xdata(), [clf.best_epoch_] * 2)
    assert marker.get_linestyle() == "--"
    assert str(clf.best_epoch_) in marker.get_label()


def test_without_validation_data_there_are_no_validation_lines(data):
    X, y, _, _ = data
    clf = LinearClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(clf)
    assert set(display.lines_) == {"train_loss", "learning_rate", "best_epoch"}
    assert display.score_ax_ is None
    np.testing.assert_array_equal(display.lines_["train_loss"].get_ydata(),
                                  column(clf.history_, "train_loss"))
    np.testing.assert_array_equal(display.lines_["best_epoch"].get_xdata(),
                                  [clf.best_epoch_] * 2)


def test_show_lr_false_and_given_axes(clf):
    fig, (left, right) = plt.subplots(1, 2)
    display = TrainingHistoryDisplay.from_estimator(clf, ax=right, show_lr=False,
                                                    estimator_name="mine")
    assert display.ax_ is right and display.figure_ is fig
    assert "learning_rate" not in display.lines_ and display.lr_ax_ is None
    assert right.get_title() == "mine"
    assert not left.lines


def test_pipeline_stands_for_its_final_step(data):
    X, y, _, _ = data
    pipe = make_pipeline(StandardScaler(), LinearClassifier(max_iter=3, tol=None))
    pipe.fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(pipe)
    np.testing.assert_array_equal(display.lines_["train_loss"].get_ydata(),
                                  column(pipe[-1].history_, "train_loss"))


def test_partial_fit_epochs_count_on_and_missing_values_are_gaps(data):
    X, y, X_val, y_val = data
    clf = LinearClassifier(random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    clf.partial_fit(X[100:], y[100:], X_val=X_val, y_val=y_val)
    clf.partial_fit(X[:100], y[:100])
    display = TrainingHistoryDisplay.from_estimator(clf)
    np.testing.assert_array_equal(display.lines_["val_loss"].get_xdata(), [1, 2, 3])
    val_loss = display.lines_["val_loss"].get_ydata()
    assert np.isnan(val_loss[[0, 2]]).all()
    assert val_loss[1] == clf.history_[1]["val_loss"]


def test_from_history_without_best_row_draws_no_marker():
    rows = [{"epoch": 3, "train_loss": 1.0}, {"epoch": 4, "train_loss": 0.5}]
    display = TrainingHistoryDisplay.from_history(rows)
    assert set(display.lines_) == {"train_loss"}
    np.testing.assert_array_equal(display.lines_["train_loss"].get_xdata(), [3, 4])
    assert display.ax_.get_title() == ""


def test_unfitted_estimator_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        TrainingHistoryDisplay.from_estimator(LinearClassifier())


def test_estimator_without_history_is_a_clear_error(data):
    X, y, _, _ = data
    dummy = DummyClassifier().fit(X, y)
    with pytest.raises(ValueError, match="DummyClassifier has no history_"):
        TrainingHistoryDisplay.from_estimator(dummy)


@pytest.mark.parametrize("history, match", [
    ([], "history is empty"),
    ([{"epoch": 1}], "at least 'epoch' and 'train_loss'"),
    ([{"epoch": 1.5, "train_loss": 0.1}], "'epoch' must be an integer"),
])
def test_bad_history_is_a_clear_error(history, match):
    with pytest.raises(ValueError, match=match):
        TrainingHistoryDisplay.from_history(history)


def test_import_does_not_import_matplotlib():
    code = ("import sys, sklearn_train, sklearn_train.plotting; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_missing_matplotlib_is_a_clear_error(clf, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    with pytest.raises(ImportError, match="from_estimator requires matplotlib"):
        TrainingHistoryDisplay.from_estimator(clf)
    with pytest.raises(ImportError, match="plot requires matplotlib"):
        TrainingHistoryDisplay(clf.history_).plot()
