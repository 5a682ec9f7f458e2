"""Learning-rate schedules of ``sklearn_train._core.schedules`` against their formulas."""

import math

import numpy as np
import pytest

from sklearn_train._core.schedules import epoch_rates, optimal_offset


def rates_of(kind, eta0=0.1, **kwargs):
    """Rates as an array of one value per step (a flat schedule may return one)."""
    n_steps = kwargs["n_steps"]
    rates = np.asarray(epoch_rates(kind, eta0, **kwargs), dtype=np.float64)
    assert rates.dtype == np.float64 and rates.shape in {(1,), (n_steps,)}
    return np.broadcast_to(rates, (n_steps,))


def test_constant_is_eta0_everywhere():
    for epoch in (0, 7):
        rates = rates_of("constant", 0.37, first_step=epoch * 5, n_steps=5, epoch=epoch)
        np.testing.assert_array_equal(rates, 0.37)


def test_adaptive_uses_the_current_rate():
    np.testing.assert_array_equal(
        rates_of("adaptive", 0.5, first_step=0, n_steps=4, epoch=0), 0.5)
    np.testing.assert_array_equal(
        rates_of("adaptive", 0.5, first_step=40, n_steps=4, epoch=10, current=0.02), 0.02)


@pytest.mark.parametrize("alpha", [1e-4, 0.01, 1.0])
def test_optimal_is_one_over_alpha_t(alpha):
    t0 = optimal_offset(alpha)
    rates = rates_of("optimal", first_step=0, n_steps=6, epoch=0, alpha=alpha)
    np.testing.assert_allclose(rates, 1 / (alpha * (t0 + np.arange(6))), rtol=1e-13)
    # Bottou's heuristic: the first rate is 1 / sqrt(sqrt(alpha))
    assert rates[0] == pytest.approx(1 / math.sqrt(math.sqrt(alpha)), rel=1e-13)
    later = rates_of("optimal", first_step=6, n_steps=6, epoch=1, alpha=alpha)
    np.testing.assert_allclose(later, 1 / (alpha * (t0 + 6 + np.arange(6))), rtol=1e-13)


def test_invscaling_continues_across_epochs():
    """Step t (1-based, counted over all epochs) gets eta0 / t ** power_t."""
    n_steps, power_t = 4, 0.3
    rates = np.concatenate([
        rates_of("invscaling", 0.2, first_step=e * n_steps, n_steps=n_steps, epoch=e,
                 power_t=power_t)
        for e in range(3)
    ])
    t = np.arange(1, 3 * n_steps + 1)
    np.testing.assert_allclose(rates, 0.2 / t**power_t, rtol=1e-13)


def test_cosine_anneals_from_eta0_to_zero_over_the_horizon():
    n_steps, horizon, eta0 = 5, 4, 0.3
    rates = np.concatenate([
        rates_of("cosine", eta0, first_step=e * n_steps, n_steps=n_steps, epoch=e,
                 horizon=horizon)
        for e in range(horizon + 2)
    ])
    progress = np.arange(rates.shape[0]) / n_steps  # fractional epoch of each step
    expected = eta0 * 0.5 * (1 + np.cos(np.pi * np.minimum(progress / horizon, 1)))
    np.testing.assert_allclose(rates, expected, rtol=1e-13, atol=1e-17)
    assert rates[0] == eta0
    assert np.all(np.diff(rates[: horizon * n_steps]) < 0)
    # the last step before the horizon is already small: 1 - cos(pi/20) of eta0 / 2
    assert rates[horizon * n_steps - 1] < 0.01 * eta0
    # from the horizon on the rate is zero
    np.testing.assert_allclose(rates[horizon * n_steps:], 0.0, atol=1e-17)


def test_linear_decays_to_zero_over_the_horizon_as_umap():
    """UMAP's ``alpha = eta0 * (1 - epoch / n_epochs)`` at the start of each epoch,
    interpolated along its steps, and zero from the horizon on."""
    n_steps, horizon, eta0 = 4, 5, 1.0
    rates = np.concatenate([
        rates_of("linear", eta0, first_step=e * n_steps, n_steps=n_steps, epoch=e,
                 horizon=horizon)
        for e in range(horizon + 2)
    ])
    starts = rates[::n_steps]
    np.testing.assert_allclose(starts[:horizon], eta0 * (1 - np.arange(horizon) / horizon),
                               rtol=1e-13)
    np.testing.assert_allclose(np.diff(rates[:horizon * n_steps]), -eta0 / (horizon * n_steps),
                               rtol=1e-12)
    np.testing.assert_array_equal(rates[horizon * n_steps:], 0.0)


def test_exponential_decays_by_lr_decay_per_epoch():
    n_steps, decay = 4, 0.8
    for epoch in (0, 3):
        rates = rates_of("exponential", 0.5, first_step=epoch * n_steps, n_steps=n_steps,
                         epoch=epoch, lr_decay=decay)
        progress = epoch + np.arange(n_steps) / n_steps
        np.testing.assert_allclose(rates, 0.5 * decay**progress, rtol=1e-13)
    assert rates_of("exponential", 0.5, first_step=4, n_steps=4, epoch=1,
                    lr_decay=decay)[0] == pytest.approx(0.5 * decay, rel=1e-13)


@pytest.mark.parametrize("kind", ["constant", "exponential", "invscaling"])
def test_warmup_ramps_linearly_to_the_scheduled_rate(kind):
    n_steps, warmup = 4, 2

    def epoch(e, warm):
        return rates_of(kind, 0.1, first_step=e * n_steps, n_steps=n_steps, epoch=e,
                        warmup=warm)

    warm = np.concatenate([epoch(e, warmup) for e in range(4)])
    plain = np.concatenate([epoch(e, 0.0) for e in range(4)])
    # step s (1-based) of the warm-up gets s / (warmup * n_steps) of the scheduled rate
    n_warm = warmup * n_steps
    ramp = np.arange(1, n_warm + 1) / n_warm
    np.testing.assert_allclose(warm[:n_warm], plain[:n_warm] * ramp, rtol=1e-13)
    # the ramp reaches the scheduled rate at the last warm-up step and stops there
    assert warm[n_warm - 1] == pytest.approx(plain[n_warm - 1], rel=1e-13)
    np.testing.assert_allclose(warm[n_warm:], plain[n_warm:], rtol=1e-13)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="nope"):
        epoch_rates("nope", 0.1, first_step=0, n_steps=1, epoch=0)
