"""TrainingHistoryDisplay: what it draws is the estimator's history_, and nothing else.
EmbeddingDisplay: what it draws is the embedding, coloured and named by the labels.

Figures render with the Agg backend (no display needed) and are closed after each test.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.manifold import TSNE as SklearnTSNE
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_train import LinearClassifier
from sklearn_train.plotting import EmbeddingDisplay, TrainingHistoryDisplay

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


# EmbeddingDisplay ------------------------------------------------------------------

class StubEmbedding(TransformerMixin, BaseEstimator):
    """A fitted embedding model in miniature: ``transform`` keeps the first two
    columns; ``embedding_`` of the fitted rows is shifted far away, so a test can tell
    which of the two was drawn."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        self.embedding_ = X[:, :2] - 1000.0
        return self

    def transform(self, X):
        return np.asarray(X, dtype=np.float64)[:, :2]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    X = rng.normal(size=(60, 4)) + 6.0 * y[:, None]
    return X, y


def offsets(scatter):
    return np.asarray(scatter.get_offsets())


def legend_names(display):
    return [text.get_text() for text in display.legend_.get_texts()]


def test_embedding_one_scatter_per_class_with_its_points_and_colour(blobs):
    X, y = blobs
    display = EmbeddingDisplay.from_embedding(X, y)
    np.testing.assert_array_equal(display.classes_, [0, 1, 2])
    assert len(display.scatters_) == 3
    tab10 = matplotlib.colormaps["tab10"]
    for i, scatter in enumerate(display.scatters_):
        np.testing.assert_array_equal(offsets(scatter), X[y == i][:, :2])  # 2 of 4 columns
        np.testing.assert_allclose(scatter.get_facecolor(), [tab10(i)])
        assert scatter.axes is display.ax_
    assert legend_names(display) == ["0", "1", "2"]
    assert display.legend_.legend_handles[2].get_label() == "2"
    assert display.colorbar_ is None
    assert display.figure_ is display.ax_.figure


def test_embedding_label_names_sequence_dict_and_string_labels(blobs):
    X, y = blobs
    names = EmbeddingDisplay.from_embedding(X, y, label_names=["a", "b", "c"])
    assert legend_names(names) == ["a", "b", "c"]
    partial = EmbeddingDisplay.from_embedding(X, y, label_names={2: "two"})
    assert legend_names(partial) == ["0", "1", "two"]
    strings = np.array(["owl", "cat", "dog"])[y]  # sorted: cat (1), dog (2), owl (0)
    display = EmbeddingDisplay.from_embedding(X, strings)
    assert legend_names(display) == ["cat", "dog", "owl"]
    np.testing.assert_array_equal(offsets(display.scatters_[2]), X[y == 0][:, :2])
    whole = EmbeddingDisplay.from_embedding(X, y.astype(np.float64))  # 0.0, 1.0, 2.0
    assert whole.colorbar_ is None and len(whole.scatters_) == 3


def test_embedding_without_labels_has_no_legend(blobs):
    X, _ = blobs
    display = EmbeddingDisplay.from_embedding(X[:, :2])
    assert display.legend_ is None and display.colorbar_ is None
    assert display.classes_ is None
    (scatter,) = display.scatters_
    np.testing.assert_array_equal(offsets(scatter), X[:, :2])
    assert display.ax_.get_legend() is None


def test_embedding_continuous_labels_get_a_colorbar(blobs):
    X, _ = blobs
    values = np.linspace(0.0, 1.0, len(X))
    display = EmbeddingDisplay.from_embedding(X, values)
    assert display.legend_ is None and display.classes_ is None
    (scatter,) = display.scatters_
    np.testing.assert_array_equal(scatter.get_array(), values)
    assert scatter.get_cmap().name == "viridis"
    assert display.colorbar_ is not None
    assert display.colorbar_.mappable is scatter
    many = np.arange(len(X), dtype=np.float64)  # whole numbers, but 60 of them
    assert EmbeddingDisplay.from_embedding(X, many).colorbar_ is not None
    hidden = EmbeddingDisplay.from_embedding(X, values, legend=False, cmap="magma")
    assert hidden.colorbar_ is None and hidden.scatters_[0].get_cmap().name == "magma"


def test_embedding_one_column_is_drawn_against_zeros(blobs):
    X, y = blobs
    for embedding in (X[:, 0], X[:, :1]):
        display = EmbeddingDisplay.from_embedding(embedding, y)
        points = np.concatenate([offsets(scatter) for scatter in display.scatters_])
        np.testing.assert_array_equal(np.sort(points[:, 0]), np.sort(X[:, 0]))
        assert (points[:, 1] == 0).all()
        assert len(display.ax_.get_yticks()) == 0


def test_embedding_given_axes_is_reused(blobs):
    X, y = blobs
    fig, (left, right) = plt.subplots(1, 2)
    display = EmbeddingDisplay.from_embedding(X, y, ax=right, title="mine")
    assert display.ax_ is right and display.figure_ is fig
    assert right.get_title() == "mine"
    assert not left.collections
    again = EmbeddingDisplay.from_embedding(X, legend=False, ax=right)
    assert len(right.collections) == 4  # three classes, then all points
    assert again.legend_ is None


def test_embedding_default_size_and_opacity_follow_the_number_of_points():
    small = EmbeddingDisplay.from_embedding(np.zeros((100, 2)))
    assert small.scatters_[0].get_sizes()[0] == 36.0  # 12,000 / 100, capped at 36
    assert small.scatters_[0].get_alpha() == 1.0
    middle = EmbeddingDisplay.from_embedding(np.zeros((2000, 2)))
    assert middle.scatters_[0].get_sizes()[0] == 6.0
    big = EmbeddingDisplay.from_embedding(np.zeros((24_000, 2)), np.arange(24_000) % 3)
    assert big.scatters_[0].get_sizes()[0] == 1.0
    assert big.scatters_[0].get_alpha() == 0.5
    assert big.legend_.legend_handles[0].get_sizes()[0] == 36.0  # legible in the legend
    given = EmbeddingDisplay.from_embedding(np.zeros((100, 2)), s=3, alpha=0.2,
                                            marker="x")
    assert given.scatters_[0].get_sizes()[0] == 3 and given.scatters_[0].get_alpha() == 0.2


def test_embedding_colormaps_for_many_classes():
    embedding = np.zeros((30, 2))
    fifteen = EmbeddingDisplay.from_embedding(embedding, np.arange(30) % 15)
    tab20 = matplotlib.colormaps["tab20"]
    np.testing.assert_allclose(fifteen.scatters_[14].get_facecolor(), [tab20(14)])
    colors = np.concatenate([s.get_facecolor() for s in fifteen.scatters_])
    assert len(np.unique(colors, axis=0)) == 15
    with pytest.warns(UserWarning, match="'tab10' has 10 colours for 15 classes"):
        EmbeddingDisplay.from_embedding(embedding, np.arange(30) % 15, cmap="tab10")
    sampled = EmbeddingDisplay.from_embedding(embedding, np.arange(30) % 3,
                                              cmap="viridis")
    viridis = matplotlib.colormaps["viridis"]
    np.testing.assert_allclose(sampled.scatters_[2].get_facecolor(), [viridis(1.0)])


def test_embedding_from_estimator_uses_embedding_or_transform(blobs):
    X, y = blobs
    stub = StubEmbedding().fit(X)
    fitted = EmbeddingDisplay.from_estimator(stub, y=y)
    np.testing.assert_array_equal(offsets(fitted.scatters_[1]), stub.embedding_[y == 1])
    assert fitted.ax_.get_title() == "StubEmbedding"
    new = EmbeddingDisplay.from_estimator(stub, X[:40] + 1.0, y[:40], title=None)
    np.testing.assert_array_equal(offsets(new.scatters_[0]), X[:30, :2] + 1.0)
    assert len(new.scatters_) == 2  # classes 0 and 1 only among the first 40 rows
    assert new.ax_.get_title() == ""
    no_labels = EmbeddingDisplay.from_estimator(stub, X)
    np.testing.assert_array_equal(offsets(no_labels.scatters_[0]), X[:, :2])


def test_embedding_from_pipeline(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), StubEmbedding()).fit(X)
    fitted = EmbeddingDisplay.from_estimator(pipe, y=y)
    np.testing.assert_array_equal(offsets(fitted.scatters_[0]),
                                  pipe[-1].embedding_[y == 0])
    assert fitted.ax_.get_title() == "StubEmbedding"
    new = EmbeddingDisplay.from_estimator(pipe, X, y)  # through the scaler
    scaled = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(offsets(new.scatters_[2]), scaled[y == 2][:, :2])


def test_embedding_from_estimator_with_fit_transform_only(blobs):
    X, y = blobs
    tsne = SklearnTSNE(perplexity=5, max_iter=250, random_state=0)
    embedding = tsne.fit_transform(X)
    assert not hasattr(tsne, "transform")
    display = EmbeddingDisplay.from_estimator(tsne, y=y)
    np.testing.assert_array_equal(offsets(display.scatters_[0]), embedding[y == 0])
    assert display.ax_.get_title() == "TSNE"
    with pytest.raises(ValueError, match="TSNE has no transform.*pass X=None"):
        EmbeddingDisplay.from_estimator(tsne, X, y)


def test_embedding_from_estimator_errors(blobs):
    X, y = blobs
    with pytest.raises(NotFittedError, match="not fitted"):
        EmbeddingDisplay.from_estimator(StubEmbedding())
    with pytest.raises(NotFittedError, match="not fitted"):
        EmbeddingDisplay.from_estimator(SklearnTSNE(), y=y)
    with pytest.raises(NotFittedError, match="not fitted"):
        EmbeddingDisplay.from_estimator(make_pipeline(StandardScaler(), StubEmbedding()))
    stub = StubEmbedding().fit(X)
    with pytest.raises(ValueError, match="y has 59 labels but StubEmbedding's "
                                         "embedding_ has 60 rows .with X=None"):
        EmbeddingDisplay.from_estimator(stub, y=y[:-1])
    with pytest.raises(ValueError, match="y has 60 labels but X has 10 rows: give"):
        EmbeddingDisplay.from_estimator(stub, X[:10], y)
    scaler = StandardScaler().fit(X)
    with pytest.raises(ValueError, match="StandardScaler has no embedding_.*pass X"):
        EmbeddingDisplay.from_estimator(scaler)


def test_embedding_bad_input_is_a_clear_error(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="labels has 59 entries but the embedding has "
                                         "60 rows"):
        EmbeddingDisplay.from_embedding(X, y[:-1])
    with pytest.raises(ValueError, match="label_names has 2 names for 3 distinct "
                                         r"labels \(0, 1, 2\)"):
        EmbeddingDisplay.from_embedding(X, y, label_names=["a", "b"])
    with pytest.raises(ValueError, match="1-D array; got shape"):
        EmbeddingDisplay.from_embedding(X, np.c_[y, y])
    with pytest.raises(TypeError, match="do not pass c or color with labels"):
        EmbeddingDisplay.from_embedding(X, y, color="red")
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="embedding contains NaN"):
        EmbeddingDisplay.from_embedding(bad, y)
    with pytest.raises(ValueError, match="dim 3"):
        EmbeddingDisplay.from_embedding(np.zeros((4, 2, 2)))
    red = EmbeddingDisplay.from_embedding(X, color="red")  # fine without labels
    np.testing.assert_allclose(red.scatters_[0].get_facecolor(), [(1, 0, 0, 1)])


def test_embedding_renders_a_png(blobs, tmp_path):
    X, y = blobs
    display = EmbeddingDisplay.from_embedding(X, y)
    path = tmp_path / "embedding.png"
    display.figure_.savefig(path)
    assert path.read_bytes().startswith(PNG_MAGIC)
    # the legend, outside the axes on the right, is inside the figure
    renderer = display.figure_.canvas.get_renderer()
    legend_box = display.legend_.get_window_extent(renderer)
    assert legend_box.x0 >= display.ax_.get_window_extent(renderer).x1
    assert legend_box.x1 <= display.figure_.bbox.x1


def test_embedding_missing_matplotlib_is_a_clear_error(blobs, monkeypatch):
    X, y = blobs
    stub = StubEmbedding().fit(X)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="from_embedding requires matplotlib"):
        EmbeddingDisplay.from_embedding(X, y)
    with pytest.raises(ImportError, match="from_estimator requires matplotlib"):
        EmbeddingDisplay.from_estimator(stub)
    with pytest.raises(ImportError, match="plot requires matplotlib"):
        EmbeddingDisplay(X, y).plot()
