"""A fitted model keeps its floating-point precision when training continues.

``partial_fit`` or a warm start with data of another dtype converts that data to the
model's precision; the model is never downcast (a float32 chunk used to turn a float64
model into a float32 one for good) nor upcast.
"""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from sklearn_train import (
    Autoencoder,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
)

X, y = make_classification(200, 6, random_state=0)
CLASSES = np.unique(y)


def fitted_values(estimator):
    """The learned parameters, whatever the family."""
    if hasattr(estimator, "cluster_centers_"):
        return [estimator.cluster_centers_]
    if hasattr(estimator, "coefs_"):
        return list(estimator.coefs_) + list(estimator.intercepts_)
    return [estimator.coef_, estimator.intercept_]


def continue_training(estimator, first, second):
    kwargs = {"classes": CLASSES} if isinstance(
        estimator, (LinearClassifier, MLPClassifier)) else {}
    target = None if isinstance(estimator, (KMeans, Autoencoder)) else y
    estimator.partial_fit(first, target, **kwargs)
    estimator.partial_fit(second, target)
    return estimator


ESTIMATORS = [
    lambda: LinearClassifier(random_state=0),
    lambda: LinearRegressor(random_state=0),
    lambda: MLPClassifier((4,), random_state=0),
    lambda: MLPRegressor((4,), random_state=0),
    lambda: Autoencoder(2, hidden_layer_sizes=(), random_state=0),
    lambda: KMeans(3, random_state=0),
]


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize("model_dtype, chunk_dtype",
                         [(np.float64, np.float32), (np.float32, np.float64)])
def test_a_chunk_of_another_dtype_is_converted_to_the_model(make, model_dtype,
                                                            chunk_dtype):
    first = X.astype(model_dtype)
    mixed = continue_training(make(), first, X.astype(chunk_dtype))
    # the same chunk converted by the caller: the very same computation
    converted = continue_training(make(), first, X.astype(chunk_dtype).astype(model_dtype))
    for got, expected in zip(fitted_values(mixed), fitted_values(converted)):
        assert got.dtype == model_dtype
        np.testing.assert_array_equal(got, expected)


def test_warm_start_keeps_the_precision():
    model = LinearClassifier(warm_start=True, max_iter=3, tol=None, random_state=0)
    model.fit(X, y)
    model.fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float64
