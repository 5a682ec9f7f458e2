"""The core's addressed normal draws (ziggurat) against the standard normal law."""

import numpy as np
import pytest
from numba import njit
from scipy import stats

from sklearn_train._core.normal import _AREA, _DENSITY, _EDGE, _R, normal


@njit
def _draws(key, first, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = normal(key, first + i)
    return out


def test_layers_have_equal_areas():
    # every layer's rectangle (and the base strip with its tail) has the same area
    rectangles = _EDGE[1:256] * (_DENSITY[2:257] - _DENSITY[1:256])
    np.testing.assert_allclose(rectangles, _AREA, rtol=1e-8)
    base = _R * _DENSITY[1] + stats.norm.sf(_R) * np.sqrt(2 * np.pi)
    np.testing.assert_allclose(base, _AREA, rtol=1e-8)
    assert _EDGE[256] == 0.0 and np.all(np.diff(_EDGE[1:]) < 0)


@pytest.mark.parametrize("key", [np.uint64(0), np.uint64(2**63 + 12345)])
def test_draws_follow_the_standard_normal(key):
    z = _draws(key, 0, 400_000)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 * 400_000 ** -0.5
    assert abs(z.std() - 1.0) < 0.005
    # the rare paths are right too: the tail beyond r (base layer) and the wedges
    beyond = np.mean(np.abs(z) > _R)
    expected = 2 * stats.norm.sf(_R)
    assert abs(beyond - expected) < 5 * np.sqrt(expected / z.size)
    # odd moments vanish, the fourth is 3
    assert abs(stats.skew(z)) < 0.02 and abs(stats.kurtosis(z)) < 0.05


def test_draws_are_addressed():
    key = np.uint64(99)
    z = _draws(key, 0, 1000)
    np.testing.assert_array_equal(_draws(key, 500, 500), z[500:])
    other = _draws(np.uint64(100), 0, 1000)
    assert abs(np.corrcoef(z, other)[0, 1]) < 0.15
    # neighbouring draws are uncorrelated
    long = _draws(key, 0, 200_000)
    assert abs(np.corrcoef(long[:-1], long[1:])[0, 1]) < 0.015
