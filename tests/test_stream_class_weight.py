"""class_weight="balanced" on a stream: running class counts over partial_fit calls."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

from sklearn_train import LinearClassifier, MLPClassifier


def imbalanced(n=3000, seed=0):
    return make_classification(n, 10, n_informative=5, weights=[0.9, 0.07, 0.03],
                               n_classes=3, n_clusters_per_class=1, random_state=seed)


@pytest.mark.parametrize("cls", [LinearClassifier, MLPClassifier])
def test_running_weights_are_balanced_weights_of_every_row_so_far(cls):
    X, y = imbalanced(600)
    model = cls(class_weight="balanced", random_state=0)
    for start in range(0, 600, 100):
        model.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2])
        seen = y[:start + 100]
        np.testing.assert_array_equal(model.class_counts_, np.bincount(seen, minlength=3))
        present = np.unique(seen)
        # scikit-learn's "balanced" rule on all rows learned so far
        expected = compute_class_weight("balanced", classes=present, y=seen)
        np.testing.assert_allclose(model._class_weights[present], expected)


def test_a_class_not_seen_yet_weighs_nothing_until_it_comes():
    X, y = imbalanced(600)
    first = y != 2
    model = LinearClassifier(class_weight="balanced", random_state=0)
    model.partial_fit(X[first][:50], y[first][:50], classes=[0, 1, 2])
    assert model.class_counts_[2] == 0 and model._class_weights[2] == 0
    model.partial_fit(X[~first][:5], y[~first][:5])
    assert model._class_weights[2] == pytest.approx(55 / (3 * 5))


def test_balanced_stream_learns_the_rare_classes():
    # the point of the weights: on a 90/7/3 stream the balanced model finds the rare
    # classes that the unweighted one mostly ignores
    X, y = imbalanced()
    X_test, y_test = X[2000:], y[2000:]
    scores = {}
    for weight in (None, "balanced"):
        model = LinearClassifier(class_weight=weight, random_state=0)
        for start in range(0, 2000, 50):
            model.partial_fit(X[start:start + 50], y[start:start + 50], classes=[0, 1, 2])
        scores[weight] = balanced_accuracy_score(y_test, model.predict(X_test))
    assert scores["balanced"] > scores[None] + 0.05, scores


def test_a_failed_call_leaves_the_counts_alone():
    X, y = imbalanced(200)
    model = LinearClassifier(class_weight="balanced", random_state=0)
    model.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    counts = model.class_counts_.copy()
    with pytest.raises(ValueError):
        model.partial_fit(X[100:150, :5], y[100:150])  # the wrong width
    np.testing.assert_array_equal(model.class_counts_, counts)
