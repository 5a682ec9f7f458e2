"""What a fixed ``random_state`` promises when the BLAS thread count changes (see the
README's reproducibility note): the linear models are bit-identical, the networks
and full-covariance mixtures agree to the last bits."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification
from threadpoolctl import threadpool_limits

from sklearn_train import GaussianMixture, LinearClassifier, MLPClassifier


def fit_with_threads(make, X, y, threads):
    with threadpool_limits(threads):
        return make().fit(X, y)


@pytest.fixture(scope="module")
def data():
    return make_classification(3000, 64, n_informative=20, n_classes=4, random_state=0)


def test_linear_models_do_not_depend_on_blas_threads(data):
    X, y = data
    make = lambda: LinearClassifier(max_iter=3, tol=None, random_state=0)  # noqa: E731
    one, two = (fit_with_threads(make, X, y, n) for n in (1, 2))
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)


def test_networks_agree_to_the_last_bits_across_blas_threads(data):
    X, y = data
    make = lambda: MLPClassifier((256,), max_iter=2, tol=None, random_state=0)  # noqa: E731
    one, again, two = (fit_with_threads(make, X, y, n) for n in (1, 1, 2))
    for a, b, c in zip(one.coefs_, again.coefs_, two.coefs_):
        np.testing.assert_array_equal(a, b)  # same threads: bit-identical
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-12 * np.abs(a).max())
    np.testing.assert_allclose(one.predict_proba(X), two.predict_proba(X), atol=1e-12)


def test_full_mixtures_agree_to_the_last_bits_across_blas_threads():
    X, _ = make_blobs(4000, 30, centers=5, random_state=0)
    make = lambda: GaussianMixture(5, max_iter=3, tol=None, random_state=0)  # noqa: E731
    one, two = (fit_with_threads(make, X, None, n) for n in (1, 2))
    np.testing.assert_allclose(one.covariances_, two.covariances_, rtol=1e-10, atol=1e-12)
    diag = lambda: GaussianMixture(5, covariance_type="diag", max_iter=3, tol=None,  # noqa: E731
                                   random_state=0)
    np.testing.assert_array_equal(fit_with_threads(diag, X, None, 1).covariances_,
                                  fit_with_threads(diag, X, None, 2).covariances_)
