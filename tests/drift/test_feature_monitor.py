"""FeatureDriftMonitor against a NumPy transcription of its EWMA charts, its false
alarms on stationary streams of several distributions, its delays on known shifts,
row-by-row against whole arrays, bad input and reset."""

import math
import pickle

import numpy as np
import pytest

from sklearn_train.drift import FeatureDriftMonitor


def reference_events(X, reference, smoothing, threshold, clip):
    """The charts of the module docstring, written plainly: (row, feature, kind)."""
    events = []
    for j in range(X.shape[1]):
        filled, watching, stats = [], False, None
        for i, x in enumerate(X[:, j]):
            if not watching:
                filled.append(x)
                if len(filled) < reference:
                    continue
                window = np.array(filled)
                filled = []
                mean, sd = window.mean(), window.std()
                if not sd > 0:
                    continue
                u = np.clip((window - mean) / sd, -clip, clip)
                sq_sd = (u * u).std()
                stats = {"mean": mean, "sd": sd, "u": u.mean(), "u_sd": u.std(),
                         "sq": (u * u).mean(),
                         "sq_sd": sq_sd if sq_sd > 1e-9 * (u * u).mean() else math.inf,
                         "t": 0}
                stats["u_ewm"], stats["sq_ewm"] = stats["u"], stats["sq"]
                watching = True
                continue
            u = min(max((x - stats["mean"]) / stats["sd"], -clip), clip)
            stats["u_ewm"] += smoothing * (u - stats["u_ewm"])
            stats["sq_ewm"] += smoothing * (u * u - stats["sq_ewm"])
            stats["t"] += 1
            spread = threshold * math.sqrt(smoothing / (2 - smoothing)
                                           * (1 - (1 - smoothing) ** (2 * stats["t"])))
            kind = 0
            if abs(stats["u_ewm"] - stats["u"]) > spread * stats["u_sd"]:
                kind |= 1
            ratio = (stats["sq_ewm"] / stats["sq"]) ** (1 / 3)
            if abs(ratio - 1) > spread * stats["sq_sd"] / (3 * stats["sq"]):
                kind |= 2
            if kind:
                events.append((i, j, kind))
                watching = False
    return sorted(events)


@pytest.mark.parametrize("seed", range(3))
def test_events_equal_the_numpy_transcription(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 3)) * [1.0, 3.0, 0.2] + [0.0, 10.0, -5.0]
    X[1200:, 0] += 0.8           # a mean shift
    X[2000:, 1] *= 2.0           # a spread change
    X[:, 2] = np.round(X[:, 2])  # a discrete feature
    params = dict(reference=200, smoothing=0.05, threshold=4.0, clip=3.0)
    ours = FeatureDriftMonitor(**params).update(X).events_
    expected = reference_events(X, **params)
    assert [tuple(event) for event in ours.tolist()] == expected
    assert {event[1] for event in expected} >= {0, 1}  # both shifts were caught


@pytest.mark.parametrize("draw", [
    lambda rng, shape: rng.normal(size=shape),
    lambda rng, shape: rng.exponential(size=shape),
    lambda rng, shape: rng.poisson(0.5, size=shape).astype(float),
    lambda rng, shape: rng.standard_t(3, size=shape),
], ids=["normal", "exponential", "poisson", "student-t3"])
def test_false_alarms_are_rare_on_stationary_streams(draw):
    # defaults: at most 5 alarms in 20 features x 50,000 rows (10**6 feature-values)
    X = draw(np.random.default_rng(0), (50_000, 20))
    assert FeatureDriftMonitor().update(X).events_.shape[0] <= 5


@pytest.mark.parametrize("change, kind, limit", [
    (lambda v: v + 1.0, 1, 100),   # mean + 1 sd: median delay about 43 rows
    (lambda v: v * 1.5, 2, 250),   # sd x 1.5: about 104
    (lambda v: v * 0.5, 2, 250),   # sd x 0.5: about 87
])
def test_known_shifts_are_caught_soon(change, kind, limit):
    delays = []
    for seed in range(10):
        X = np.random.default_rng(seed).normal(size=(4000, 4))
        X[2000:, 1] = change(X[2000:, 1])
        events = FeatureDriftMonitor().update(X).events_
        hits = events[(events[:, 1] == 1) & (events[:, 0] >= 2000)]
        assert hits.size, f"seed {seed}: not caught"
        assert hits[0, 2] & kind
        delays.append(hits[0, 0] - 2000)
    assert np.median(delays) < limit, delays


def test_row_by_row_equals_one_array_and_pickles_mid_stream():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 3))
    X[900:, 2] += 2.0
    whole = FeatureDriftMonitor(reference=300).update(X)
    rows = FeatureDriftMonitor(reference=300)
    for i in range(700):
        rows.update(X[i])
    rows = pickle.loads(pickle.dumps(rows))
    for i in range(700, 1500):
        rows.update(X[i])
        if rows.drift_detected:
            assert 2 in rows.drifted_features_.tolist()
    np.testing.assert_array_equal(rows.events_, whole.events_)
    assert rows.n_seen_ == whole.n_seen_ == 1500
    assert whole.drifts_.tolist() == np.unique(whole.events_[:, 0]).tolist()


def test_constant_features_never_fire():
    X = np.zeros((3000, 2))
    X[:, 1] = np.random.default_rng(0).normal(size=3000)
    X[1500:, 0] = 0.0
    assert (FeatureDriftMonitor().update(X).events_[:, 1] != 0).all()


@pytest.mark.parametrize("bad, message", [
    (np.array([[1.0, np.nan]]), "finite"),
    (np.ones((2, 2, 2)), "2-D"),
    (np.ones((3, 0)), "0 features"),
    (np.array([["a", "b"]]), "real numbers"),
])
def test_bad_rows_fail_clearly_and_leave_the_state(bad, message):
    monitor = FeatureDriftMonitor(reference=10).update(np.ones((5, 2)))
    before = pickle.dumps(monitor)
    with pytest.raises(ValueError, match=message):
        monitor.update(bad)
    assert pickle.dumps(monitor) == before


def test_feature_count_and_parameters_are_checked():
    monitor = FeatureDriftMonitor(reference=10).update(np.ones((5, 2)))
    with pytest.raises(ValueError, match="3 features"):
        monitor.update(np.ones((1, 3)))
    monitor.set_params(reference=20)
    with pytest.raises(ValueError, match="reset"):
        monitor.update(np.ones((1, 2)))
    assert monitor.reset().update(np.ones((1, 3))).n_features_in_ == 3
    with pytest.raises(ValueError, match="smoothing"):
        FeatureDriftMonitor(smoothing=0).update(np.ones((1, 2)))
