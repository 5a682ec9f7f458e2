"""Loss codes are dispatched by family membership, never by their numeric order, and
a NaN target is an unobserved one (``_core.losses``)."""

import numpy as np
import pytest

from sklearn_train._core import losses as L

FAMILIES = {"margin": L.MARGIN_LOSSES, "softmax": L.SOFTMAX_LOSSES,
            "regression": L.REGRESSION_LOSSES}
TESTS = {"margin": L.is_margin, "softmax": L.is_softmax, "regression": L.is_regression}
# every loss code the module defines: its upper-case integer constants
CODES = {name: value for name, value in vars(L).items()
         if name.isupper() and isinstance(value, int)}


def test_every_code_belongs_to_exactly_one_family():
    assert len(CODES) >= 16 and len(set(CODES.values())) == len(CODES)  # distinct
    for name, code in CODES.items():
        homes = [family for family, codes in FAMILIES.items() if code in codes]
        assert len(homes) == 1, f"{name} is in {homes}"
    members = [code for codes in FAMILIES.values() for code in codes]
    assert sorted(members) == sorted(CODES.values())  # no family lists a stray value
    assert set(L.LOG_LINK_LOSSES) <= set(L.REGRESSION_LOSSES)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_membership_tests_agree_with_the_family_tuples(family):
    for code in CODES.values():
        assert TESTS[family](code) == (code in FAMILIES[family])


@pytest.mark.parametrize("name", sorted(CODES))
def test_each_code_dispatches_to_its_family_branch(name):
    """``scalar_loss_grad`` and ``loss_grad`` give what the family's own branch gives."""
    code = CODES[name]
    param = 1.5 if code == L.TWEEDIE else 0.5
    rng = np.random.default_rng(code)
    z = rng.normal(size=3)
    if code in L.SOFTMAX_LOSSES:
        Y = np.eye(3)[[1]]
        dz, expected_dz = np.empty(3), np.empty(3)
        value = L.loss_grad(code, z, Y, 0, dz, param)
        expected = L._softmax(code, z, Y, 0, expected_dz, param)
        assert value == expected
        np.testing.assert_array_equal(dz, expected_dz)
        return
    if code in L.MARGIN_LOSSES:
        Y = np.array([[1.0, -1.0, 1.0]])
        branch = [L._margin(code, y * zk, param) for zk, y in zip(z, Y[0])]
        branch = [(value, d * y) for (value, d), y in zip(branch, Y[0])]
    else:
        Y = rng.uniform(0.5, 2.0, size=(1, 3))  # positive: valid for the log links
        branch = [L._regression(code, zk, y, param) for zk, y in zip(z, Y[0])]
    for k in range(3):
        assert L.scalar_loss_grad(code, z[k], Y[0, k], param) == branch[k]
    dz = np.empty(3)
    assert L.loss_grad(code, z, Y, 0, dz, param) == pytest.approx(
        sum(value for value, _ in branch), rel=1e-15)
    np.testing.assert_array_equal(dz, [d for _, d in branch])


# -- unobserved targets --------------------------------------------------------------


@pytest.mark.parametrize("code", [L.SQUARED, L.LOG, L.HUBER])
def test_nan_output_gives_no_loss_and_no_gradient(code):
    z = np.array([0.3, -1.2, 0.8])
    Y = np.array([[1.0, np.nan, -1.0]])
    dz = np.full(3, 7.0)
    value = L.loss_grad(code, z, Y, 0, dz, 0.5)
    kept = [0, 2]
    full_dz = np.empty(2)
    assert value == L.loss_grad(code, z[kept], Y[:, kept], 0, full_dz, 0.5)
    assert dz[1] == 0.0
    np.testing.assert_array_equal(dz[kept], full_dz)
    assert L.observed(code, Y, 0)
    assert not L.observed(code, np.full((1, 3), np.nan), 0)


@pytest.mark.parametrize("code", L.SOFTMAX_LOSSES)
def test_softmax_row_with_a_nan_is_unobserved(code):
    z = np.array([0.3, -1.2, 0.8])
    Y = np.array([[0.0, np.nan, 1.0]])
    dz = np.full(3, 7.0)
    assert L.loss_grad(code, z, Y, 0, dz, 2.0) == 0.0
    np.testing.assert_array_equal(dz, 0.0)
    assert not L.observed(code, Y, 0)
    assert L.observed(code, np.eye(3)[[0]], 0)


@pytest.mark.parametrize("code", [L.SQUARED, L.SOFTMAX_LOG])
def test_mean_loss_skips_unobserved_targets(code):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(6, 3))
    Y = np.eye(3)[rng.integers(0, 3, 6)] if code == L.SOFTMAX_LOG else rng.normal(size=(6, 3))
    w = rng.uniform(0.5, 2.0, 6)
    masked = Y.copy()
    masked[1, 2] = np.nan  # softmax: row 1 unobserved; squared: one output of it
    masked[4, :] = np.nan  # no observed output: row 4 carries no weight
    if code == L.SOFTMAX_LOG:
        rows = [0, 2, 3, 5]
        expected = L.mean_loss(code, Z[rows], Y[rows], w[rows], 0.0)
    else:
        per_row = 0.5 * np.nansum((Z - masked) ** 2, axis=1)
        rows = [0, 1, 2, 3, 5]
        expected = np.sum(w[rows] * per_row[rows]) / w[rows].sum()
    assert L.mean_loss(code, Z, masked, w, 0.0) == pytest.approx(expected, rel=1e-14)
