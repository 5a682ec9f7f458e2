"""KMeans, checked against mathematics and scikit-learn's exact k-means.

* The compiled mini-batch epoch is replayed in numpy: every row goes to its nearest
  centre, then each centre moves towards the weighted mean of its batch rows by
  ``w_batch / w_seen``, so a centre is always the running weighted mean of all rows
  it has received (a fresh centre jumps to the mean of its first rows).
* With ``refine`` the centres are a Lloyd fixed point: scikit-learn's exact KMeans
  started there stops after one iteration without moving them, and each centre is
  the weighted mean of its rows.
* On well-separated blobs the clusters are found (adjusted Rand index 1) in every
  input format, and k-means++ seeding reaches the optimum that scikit-learn's KMeans
  finds with ten restarts.
* Weights, ``partial_fit`` streams, reassignment of starved centres, degenerate
  input, the stopping rule, callbacks and the scikit-learn API are checked by their
  exact effects.

The data are small and the epochs few: the file stays fast, compile time included.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.cluster import KMeans as ExactKMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_train import KMeans
from sklearn_train._core import cluster
from sklearn_train._core._jit import quiet_inlining
from sklearn_train._core.data import as_kernel_matrix
from sklearn_train.cluster._problem import nearest as lloyd_pass
from sklearn_train.callbacks import Callback, LambdaCallback

N_BLOBS = 6


@pytest.fixture(scope="module")
def blobs():
    """Six well-separated blobs (3000 x 5): ``(X, y, true centres)``."""
    return make_blobs(3000, 5, centers=N_BLOBS, cluster_std=0.5, random_state=0,
                      return_centers=True)


@pytest.fixture(scope="module")
def overlapping():
    """Blobs that touch (std 1.5): the Lloyd optimum is not just the true groups."""
    X, y = make_blobs(3000, 5, centers=N_BLOBS, cluster_std=1.5, random_state=0)
    return X, y


def squared_distances(X, centers):
    X = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64)
    return ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)


def assign(X, centers):
    return squared_distances(X, centers).argmin(axis=1)


def weighted_means(X, labels, k, sample_weight=None, fallback=None):
    """Weighted mean of the rows of each cluster (``fallback[c]`` for an empty one)."""
    w = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    means = np.array(fallback, dtype=np.float64, copy=True) if fallback is not None \
        else np.full((k, X.shape[1]), np.nan)
    for c in range(k):
        rows = (labels == c) & (w > 0)
        if rows.any():
            means[c] = np.average(X[rows], axis=0, weights=w[rows])
    return means


def matched(true_centers, fitted):
    """Index of the fitted centre nearest to each true centre."""
    return squared_distances(true_centers, fitted).argmin(axis=1)


def as_format(X, fmt):
    if fmt == "float32":
        return X.astype(np.float32)
    if fmt == "csr":
        return sp.csr_matrix(X)
    return X


FORMATS = ["float64", "float32", "csr"]


# -- 1. well-separated blobs are recovered ----------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_well_separated_blobs_are_recovered(blobs, fmt):
    """ARI 1, and each true centre has its own fitted centre nearby: the mean of its
    500 rows is within std * sqrt(d / n) ~ 0.05 of it (measured 0.06 at most)."""
    X, y, true_centers = blobs
    km = KMeans(N_BLOBS, batch_size=256, random_state=0).fit(as_format(X, fmt))
    assert km.cluster_centers_.dtype == (np.float32 if fmt == "float32" else np.float64)
    assert km.cluster_centers_.shape == (N_BLOBS, X.shape[1])
    assert adjusted_rand_score(y, km.labels_) > 0.99
    nearest = matched(true_centers, km.cluster_centers_)
    assert sorted(nearest) == list(range(N_BLOBS))  # one fitted centre per blob
    gaps = np.sqrt(squared_distances(true_centers, km.cluster_centers_).min(axis=1))
    assert gaps.max() < 0.2
    # no row is ever sent to a wrong blob, so each centre is the running mean of its
    # blob's rows, repeated once per epoch: the blob's mean
    means = weighted_means(X, y, N_BLOBS)
    rtol = 1e-5 if fmt == "float32" else 1e-9
    np.testing.assert_allclose(km.cluster_centers_[nearest], means, rtol=rtol, atol=rtol)


def test_csr_and_dense_fits_agree(blobs):
    """Same seed, same arithmetic up to rounding: the same centres and labels."""
    X, _, _ = blobs
    params = dict(n_clusters=N_BLOBS, batch_size=256, random_state=3)
    dense = KMeans(**params).fit(X)
    sparse = KMeans(**params).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.cluster_centers_, dense.cluster_centers_,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(sparse.labels_, dense.labels_)
    assert sparse.inertia_ == pytest.approx(dense.inertia_, rel=1e-10)
    assert sparse.n_iter_ == dense.n_iter_


# -- 2. with refinement, the Lloyd optimum ------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_refined_centres_are_a_lloyd_fixed_point(overlapping, weighted):
    X, _ = overlapping
    w = np.random.default_rng(0).uniform(0.2, 3.0, X.shape[0]) if weighted else None
    km = KMeans(N_BLOBS, batch_size=256, refine=20, random_state=0).fit(X,
                                                                        sample_weight=w)
    centers = km.cluster_centers_
    # each centre is the weighted mean of its rows; the rows are labelled by it
    np.testing.assert_array_equal(km.labels_, assign(X, centers))
    np.testing.assert_allclose(weighted_means(X, km.labels_, N_BLOBS, w), centers,
                               rtol=1e-10, atol=1e-10)
    # scikit-learn's exact Lloyd started there does not move (with tol=0 it stops
    # when an iteration leaves the labels as they were: after the second)
    exact = ExactKMeans(N_BLOBS, init=centers, n_init=1, tol=0.0).fit(X, sample_weight=w)
    assert exact.n_iter_ <= 2
    np.testing.assert_allclose(exact.cluster_centers_, centers, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(exact.labels_, km.labels_)
    # the inertia is the weighted sum of squared distances to the labelled centres
    ones = np.ones(X.shape[0]) if w is None else w
    recomputed = np.sum(ones * ((X - centers[km.labels_]) ** 2).sum(axis=1))
    assert km.inertia_ == pytest.approx(recomputed, rel=1e-10)
    assert km.inertia_ == pytest.approx(exact.inertia_, rel=1e-10)


def test_refinement_does_not_increase_the_inertia(overlapping):
    """Lloyd iterations never increase the inertia (same seed, same mini-batch part)."""
    X, _ = overlapping
    inertias = [KMeans(N_BLOBS, batch_size=256, refine=refine, random_state=1).fit(X).inertia_
                for refine in (0, 1, 5)]
    assert inertias[1] <= inertias[0] * (1 + 1e-12)
    assert inertias[2] <= inertias[1] * (1 + 1e-12)


# -- 3. inertia, score, predict, transform ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_score_predict_and_transform_agree_with_the_fit(overlapping, fmt):
    X, _ = overlapping
    data = as_format(X, fmt)
    km = KMeans(N_BLOBS, batch_size=256, random_state=0).fit(data)
    rtol = 1e-5 if fmt == "float32" else 1e-12
    assert km.score(data) == pytest.approx(-km.inertia_, rel=rtol)
    labels = km.predict(data)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(labels, assign(data, km.cluster_centers_))
    distances = km.transform(data)
    assert distances.shape == (X.shape[0], N_BLOBS)
    reference = euclidean_distances(as_format(X, "float64"),
                                    km.cluster_centers_.astype(np.float64))
    np.testing.assert_allclose(distances, reference, rtol=1e-4 if fmt == "float32" else 1e-9,
                               atol=1e-4 if fmt == "float32" else 1e-9)
    np.testing.assert_array_equal(distances.argmin(axis=1), labels)
    # the inertia from the distances
    assert np.sum(distances.min(axis=1).astype(np.float64) ** 2) == pytest.approx(
        km.inertia_, rel=1e-4 if fmt == "float32" else 1e-9)
    # the fit_* shortcuts are fit then predict / transform
    again = KMeans(N_BLOBS, batch_size=256, random_state=0)
    np.testing.assert_array_equal(again.fit_predict(data), km.labels_)
    np.testing.assert_allclose(KMeans(N_BLOBS, batch_size=256, random_state=0)
                               .fit_transform(data), distances, rtol=1e-12)


def test_weighted_score_is_minus_the_weighted_inertia(overlapping):
    X, _ = overlapping
    w = np.random.default_rng(1).uniform(0.0, 2.0, X.shape[0])
    km = KMeans(N_BLOBS, batch_size=256, random_state=0).fit(X, sample_weight=w)
    assert km.score(X, sample_weight=w) == pytest.approx(-km.inertia_, rel=1e-12)
    d2 = squared_distances(X, km.cluster_centers_).min(axis=1)
    assert km.inertia_ == pytest.approx(np.sum(w * d2), rel=1e-10)
    assert km.score(X) == pytest.approx(-np.sum(d2), rel=1e-10)
    # score on other data is minus its inertia to the centres
    X_new = X[:100] + 0.1
    assert km.score(X_new) == pytest.approx(
        -squared_distances(X_new, km.cluster_centers_).min(axis=1).sum(), rel=1e-10)


# -- 4. sample weights --------------------------------------------------------------------


def fixed_start(X, y, k=N_BLOBS):
    """A start with one row of each blob: the Lloyd fixed point is then the blobs'
    means whatever the mini-batch trajectory."""
    return X[[np.flatnonzero(y == c)[0] for c in range(k)]].copy()


def test_integer_weights_are_repeated_rows(blobs):
    X, y, _ = blobs
    X, y = X[:600], y[:600]
    w = np.random.default_rng(0).integers(1, 4, X.shape[0])
    init = fixed_start(X, y)
    params = dict(n_clusters=N_BLOBS, init=init, batch_size=64, refine=30, random_state=0)
    weighted = KMeans(**params).fit(X, sample_weight=w.astype(float))
    repeated = KMeans(**params).fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(np.repeat(weighted.labels_, w), repeated.labels_)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)
    # and both are the weighted means of the blobs
    np.testing.assert_allclose(weighted.cluster_centers_, weighted_means(X, y, N_BLOBS, w),
                               rtol=1e-10, atol=1e-10)


def test_zero_weights_remove_rows(blobs):
    X, y, _ = blobs
    X, y = X[:600], y[:600]
    w = np.ones(X.shape[0])
    dropped = (np.arange(X.shape[0]) % 3 == 0) | (y == 2) & (X[:, 0] > np.median(X[y == 2, 0]))
    w[dropped] = 0.0
    init = fixed_start(X, y)
    params = dict(n_clusters=N_BLOBS, init=init, batch_size=64, refine=30, random_state=0)
    zeroed = KMeans(**params).fit(X, sample_weight=w)
    removed = KMeans(**params).fit(X[~dropped])
    np.testing.assert_allclose(zeroed.cluster_centers_, removed.cluster_centers_,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(zeroed.labels_[~dropped], removed.labels_)
    assert zeroed.inertia_ == pytest.approx(removed.inertia_, rel=1e-10)
    # the dropped rows still get labels (their nearest centre) but count for nothing
    np.testing.assert_array_equal(zeroed.labels_, assign(X, zeroed.cluster_centers_))
    # a weighted mean without the dropped rows differs from the plain blob mean
    assert not np.allclose(zeroed.cluster_centers_[2], X[y == 2].mean(axis=0))


@pytest.mark.parametrize("init", ["k-means++", "random", "array"])
def test_all_zero_weights_raise(blobs, init):
    X, y, _ = blobs
    start = fixed_start(X, y) if init == "array" else init
    km = KMeans(N_BLOBS, init=start)
    with pytest.raises(ValueError, match="[Ss]ample.weight"):
        km.fit(X, sample_weight=np.zeros(X.shape[0]))
    assert not hasattr(km, "cluster_centers_")


def test_too_few_positive_weights_raise(blobs):
    X, _, _ = blobs
    w = np.zeros(X.shape[0])
    w[:N_BLOBS - 1] = 1.0
    with pytest.raises(ValueError, match="positive sample_weight"):
        KMeans(N_BLOBS).fit(X, sample_weight=w)


# -- 5. partial_fit on a stream ---------------------------------------------------------


def test_partial_fit_on_a_stream(blobs):
    X, y, _ = blobs
    batch_size = 128
    km = KMeans(N_BLOBS, batch_size=batch_size, random_state=0)
    steps = 0
    for i, chunk in enumerate(np.array_split(np.random.default_rng(0).permutation(
            X.shape[0]), 10)):
        km.partial_fit(X[chunk])
        steps += math.ceil(chunk.shape[0] / batch_size)
        assert km.n_features_in_ == X.shape[1]
        assert km.t_ == steps
        assert len(km.history_) == i + 1
        assert km.n_iter_ == 1
        assert [row["epoch"] for row in km.history_] == list(range(1, i + 2))
        assert np.isfinite(km.history_[-1]["train_loss"])
    assert not hasattr(km, "labels_")  # fit only
    assert adjusted_rand_score(y, km.predict(X)) > 0.99
    # the later chunks are clustered about as well as the data allows (the mean
    # inertia of a blob of std 0.5 in 5 dimensions is 5 * 0.25 = 1.25)
    assert km.history_[-1]["train_loss"] < 1.5


def test_partial_fit_rejects_another_feature_count_and_keeps_its_state(blobs):
    X, _, _ = blobs
    km = KMeans(N_BLOBS, batch_size=128, random_state=0).partial_fit(X[:500])
    centers, t, history = km.cluster_centers_.copy(), km.t_, len(km.history_)
    with pytest.raises(ValueError, match="features"):
        km.partial_fit(X[500:1000, :4])
    np.testing.assert_array_equal(km.cluster_centers_, centers)
    assert (km.t_, len(km.history_), km.n_features_in_) == (t, history, X.shape[1])
    km.partial_fit(X[500:1000])  # the stream goes on
    assert km.t_ == t + math.ceil(500 / 128)


def test_partial_fit_first_chunk_needs_enough_rows(blobs):
    X, _, _ = blobs
    with pytest.raises(ValueError, match="n_clusters"):
        KMeans(N_BLOBS).partial_fit(X[:N_BLOBS - 1])


# -- 6. per-centre step sizes -----------------------------------------------------------


def test_first_epoch_moves_each_centre_to_its_weighted_mean_then_to_running_means():
    """One batch per call: a fresh centre jumps to the weighted mean of its rows (its
    first step has rate 1); later, a centre that has received weight n1 and gets
    rows of weight n2 and mean m2 moves to ``(n1 c + n2 m2) / (n1 + n2)``."""
    rng = np.random.default_rng(0)
    k, d = 4, 3
    X1, w1 = rng.normal(size=(40, d)), rng.uniform(0.5, 2.0, 40)
    X2, w2 = rng.normal(size=(30, d)) + 0.3, rng.uniform(0.5, 2.0, 30)
    init = rng.normal(size=(k, d))
    init_copy = init.copy()
    km = KMeans(k, init=init, batch_size=64, max_iter=1, tol=None, reassignment_ratio=0,
                random_state=0)
    km.partial_fit(X1, sample_weight=w1)
    np.testing.assert_array_equal(init, init_copy)  # the init array is not written to
    labels1 = assign(X1, init)
    counts1 = np.bincount(labels1, weights=w1, minlength=k)
    assert (counts1 == 0).any() and (counts1 > 0).sum() >= 2  # a centre gets no rows
    expected1 = weighted_means(X1, labels1, k, w1, fallback=init)
    np.testing.assert_allclose(km.cluster_centers_, expected1, rtol=1e-12, atol=1e-12)
    # the epoch's loss is the weighted mean squared distance before the step
    d2 = squared_distances(X1, init).min(axis=1)
    assert km.history_[0]["train_loss"] == pytest.approx(np.average(d2, weights=w1),
                                                         rel=1e-12)
    assert km.t_ == 1

    km.partial_fit(X2, sample_weight=w2)
    labels2 = assign(X2, expected1)
    counts2 = np.bincount(labels2, weights=w2, minlength=k)
    means2 = weighted_means(X2, labels2, k, w2, fallback=expected1)
    total = np.maximum(counts1 + counts2, 1e-300)[:, None]
    expected2 = (counts1[:, None] * expected1 + counts2[:, None] * means2) / total
    expected2[counts1 + counts2 == 0] = expected1[counts1 + counts2 == 0]
    # the centre without rows in the first call moves to its new rows' mean
    fresh = (counts1 == 0) & (counts2 > 0)
    assert fresh.any()
    np.testing.assert_allclose(expected2[fresh], means2[fresh], rtol=1e-12)
    np.testing.assert_allclose(km.cluster_centers_, expected2, rtol=1e-12, atol=1e-12)
    assert km.t_ == 2


def test_fit_of_one_batch_and_one_epoch_is_one_lloyd_step():
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(50, 2)), rng.uniform(0.5, 2.0, 50)
    init = rng.normal(size=(3, 2))
    km = KMeans(3, init=init, batch_size=50, max_iter=1, tol=None, reassignment_ratio=0,
                random_state=0).fit(X, sample_weight=w)
    expected = weighted_means(X, assign(X, init), 3, w, fallback=init)
    np.testing.assert_allclose(km.cluster_centers_, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(km.labels_, assign(X, expected))


def numpy_epoch(X, w, order, centers, counts, batch_size):
    """The mini-batch epoch (without reassignment) written out in numpy."""
    X = X.toarray() if sp.issparse(X) else X
    centers = centers.astype(np.float64)
    counts = counts.copy()
    inertia = weight = 0.0
    for start in range(0, order.shape[0], batch_size):
        rows = order[start:start + batch_size]
        d2 = squared_distances(X[rows], centers)
        labels = d2.argmin(axis=1)
        inertia += np.sum(w[rows] * d2[np.arange(rows.shape[0]), labels])
        weight += np.sum(w[rows])
        for c in range(centers.shape[0]):
            mine = rows[labels == c]
            received = w[mine].sum()
            if received > 0:
                counts[c] += received
                mean = np.average(X[mine], axis=0, weights=w[mine])
                centers[c] += received / counts[c] * (mean - centers[c])
    return centers, counts, inertia, weight


@pytest.mark.parametrize("fmt", FORMATS)
def test_minibatch_epoch_kernel_matches_numpy(fmt):
    """Several batches, weights (some zero), prior counts, a shuffled order."""
    rng = np.random.default_rng(2)
    n, d, k, batch_size = 53, 4, 5, 7
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.3] = 0.0  # some structural zeros for the CSR path
    w = rng.uniform(0.0, 2.0, n)
    w[:5] = 0.0
    order = rng.permutation(n).astype(np.int64)
    data = as_format(X, fmt)
    dtype = np.float32 if fmt == "float32" else np.float64
    centers = np.ascontiguousarray(X[rng.choice(n, k, replace=False)] + 0.1, dtype=dtype)
    counts = np.array([0.0, 3.0, 0.5, 10.0, 0.0])
    expected = numpy_epoch(X, w, order, centers, counts, batch_size)
    ints = np.zeros(cluster.N_INTS, dtype=np.int64)
    ints[cluster.I_BATCH_SIZE] = batch_size
    floats = np.zeros(cluster.N_FLOATS)  # no reassignment
    x_squared = (X.astype(dtype).astype(np.float64) ** 2).sum(axis=1)
    with quiet_inlining():
        inertia, weight, moved = cluster.kmeans_epoch(
            (as_kernel_matrix(data), w, x_squared), (order, np.ones(1), np.empty(0)),
            (centers, counts), ints, floats)
    tol = 1e-5 if fmt == "float32" else 1e-12
    np.testing.assert_allclose(centers, expected[0], rtol=tol, atol=tol)
    np.testing.assert_allclose(counts, expected[1], rtol=1e-12)
    assert inertia == pytest.approx(expected[2], rel=tol)
    assert weight == pytest.approx(expected[3], rel=1e-12)
    assert moved == 0


# -- 7. reassignment of starved centres ------------------------------------------------


def far_start(X, y):
    init = fixed_start(X, y, 4)
    init[3] = 1e3
    return init


@pytest.fixture(scope="module")
def four_blobs():
    return make_blobs(2000, 2, centers=4, cluster_std=0.5, random_state=1)


def test_a_starved_centre_is_moved_into_the_data(four_blobs):
    X, y = four_blobs
    init = far_start(X, y)
    km = KMeans(4, init=init, reassignment_ratio=0.01, batch_size=256,
                random_state=0).fit(X)
    low, high = X.min(axis=0), X.max(axis=0)
    assert np.all((km.cluster_centers_ >= low) & (km.cluster_centers_ <= high))
    assert np.bincount(km.labels_, minlength=4).min() > 0
    assert adjusted_rand_score(y, km.labels_) > 0.99


def test_without_reassignment_a_starved_centre_stays(four_blobs):
    X, y = four_blobs
    init = far_start(X, y)
    km = KMeans(4, init=init, reassignment_ratio=0, batch_size=256, random_state=0).fit(X)
    np.testing.assert_array_equal(km.cluster_centers_[3], init[3])
    assert np.bincount(km.labels_, minlength=4)[3] == 0


@pytest.mark.parametrize("ratio", [0.01, 0.5, 1.0])
def test_reassigned_centres_go_to_rows_of_the_last_batch_with_the_settled_count(ratio):
    """Kernel contract (``_reassign``): a starved centre (count below ``ratio`` times
    the busiest) moves onto a row of the last batch and takes the smallest count of
    the centres that were not starved; at most half the centres move."""
    rng = np.random.default_rng(3)
    n, d, k, batch_size = 40, 2, 4, 16
    X = rng.normal(size=(n, d))
    w = np.ones(n)
    order = np.arange(n, dtype=np.int64)
    centers = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1e3, 1e3]])
    counts = np.zeros(k)
    ints = np.zeros(cluster.N_INTS, dtype=np.int64)
    ints[cluster.I_BATCH_SIZE] = batch_size
    ints[cluster.I_SEED] = 12345
    floats = np.array([ratio])
    before = numpy_epoch(X, w, order, centers, counts, batch_size)
    with quiet_inlining():
        _, _, moved = cluster.kmeans_epoch((X, w, (X**2).sum(axis=1)),
                                           (order, np.ones(1), np.empty(0)),
                                           (centers, counts), ints, floats)
    starved = before[1] < ratio * before[1].max()
    assert starved[3]  # the far centre received nothing
    assert 1 <= moved <= min(starved.sum(), k // 2)
    stayed = np.all(np.isclose(centers, before[0], rtol=1e-12, atol=1e-12), axis=1)
    changed = np.flatnonzero(~stayed)
    assert changed.shape[0] == moved
    assert np.all(starved[changed])
    last_batch = X[(n - 1) // batch_size * batch_size:]
    kept = np.setdiff1d(np.arange(k), changed)
    for c in changed:
        assert np.any(np.all(last_batch == centers[c], axis=1))  # onto a row
        assert counts[c] == before[1][~starved].min()
    np.testing.assert_array_equal(counts[kept], before[1][kept])
    assert np.isfinite(counts).all()


# -- 8. degenerate input ------------------------------------------------------------------


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_fewer_distinct_points_than_clusters_warns(init):
    X = np.repeat([[0.0, 1.0], [5.0, 5.0]], 5, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(4, init=init, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    # every centre sits on one of the two points, both points are centres
    on_points = squared_distances(km.cluster_centers_, X[[0, 5]]).min(axis=1)
    np.testing.assert_array_equal(on_points, 0.0)
    assert np.unique(km.cluster_centers_, axis=0).shape[0] == 2
    assert km.inertia_ == 0.0
    assert np.unique(km.labels_[:5]).shape[0] == 1
    assert np.unique(km.labels_[5:]).shape[0] == 1


def test_fewer_rows_than_clusters_raise():
    X = np.random.default_rng(0).normal(size=(3, 2))
    km = KMeans(4)
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        km.fit(X)
    assert not hasattr(km, "cluster_centers_")


def test_a_constant_feature_stays_constant_in_every_centre(blobs):
    X, _, _ = blobs
    X = X[:600].copy()
    X[:, 1] = 7.25
    km = KMeans(N_BLOBS, batch_size=64, refine=2, random_state=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    np.testing.assert_allclose(km.cluster_centers_[:, 1], 7.25, rtol=1e-13)


@pytest.mark.parametrize("value, message", [(np.nan, "NaN"), (np.inf, "infinity"),
                                            (-np.inf, "infinity")])
def test_non_finite_input_raises(blobs, value, message):
    X, _, _ = blobs
    X = X[:100].copy()
    X[7, 2] = value
    with pytest.raises(ValueError, match=message):
        KMeans(3).fit(X)
    with pytest.raises(ValueError, match=message):
        KMeans(3).partial_fit(X)
    fitted = KMeans(3, random_state=0).fit(np.nan_to_num(X, posinf=0.0, neginf=0.0))
    with pytest.raises(ValueError, match=message):
        fitted.predict(X)


@pytest.mark.parametrize("shape", [(2, 5), (6, 4), (6,)])
def test_init_array_of_the_wrong_shape_raises(blobs, shape):
    X, _, _ = blobs
    with pytest.raises(ValueError, match=r"init has shape \(" + ", ".join(map(str, shape))):
        KMeans(N_BLOBS, init=np.zeros(shape)).fit(X)


def test_init_array_with_nan_raises(blobs):
    X, y, _ = blobs
    init = fixed_start(X, y)
    init[0, 0] = np.nan
    with pytest.raises(ValueError, match="init contains NaN"):
        KMeans(N_BLOBS, init=init).fit(X)


# -- 9. history and stopping --------------------------------------------------------------


def test_history_and_the_tolerance_stop(overlapping):
    X, _ = overlapping
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = KMeans(N_BLOBS, batch_size=256, random_state=0).fit(X)
    assert 2 <= km.n_iter_ < 100
    assert len(km.history_) == km.n_iter_
    losses = np.array([row["train_loss"] for row in km.history_])
    assert np.isfinite(losses).all()
    assert [row["epoch"] for row in km.history_] == list(range(1, km.n_iter_ + 1))
    # stopped because the last epoch gained less than tol (relative)
    assert losses[-1] > losses[:-1].min() * (1 - km.tol)
    assert all(losses[i] < losses[:i].min() * (1 - km.tol) for i in range(1, km.n_iter_ - 1))
    best = int(np.argmin(losses))
    assert km.best_epoch_ == best + 1
    assert [row["best"] for row in km.history_] == [i == best for i in range(km.n_iter_)]
    assert km.t_ == km.n_iter_ * math.ceil(X.shape[0] / 256)
    # the last epoch's mean inertia is close to the final mean inertia
    assert losses[-1] == pytest.approx(km.inertia_ / X.shape[0], rel=0.05)


def test_without_tol_every_epoch_runs(overlapping):
    X, _ = overlapping
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        km = KMeans(N_BLOBS, batch_size=512, tol=None, max_iter=7, random_state=0).fit(X)
    assert km.n_iter_ == len(km.history_) == 7
    assert km.t_ == 7 * math.ceil(X.shape[0] / 512)


def test_max_iter_reached_warns(overlapping):
    X, _ = overlapping
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        km = KMeans(N_BLOBS, batch_size=512, max_iter=1, random_state=0).fit(X)
    assert km.n_iter_ == 1


class RecordLoss(Callback):
    def __init__(self):
        self.losses = []
        self.calls = []

    def on_train_begin(self, run):
        self.calls.append("begin")

    def on_epoch_end(self, run):
        self.losses.append(run.history[-1]["train_loss"])
        self.calls.append(run.epoch)

    def on_train_end(self, run):
        self.calls.append("end")


def test_callbacks_see_every_epoch(overlapping):
    X, _ = overlapping
    record = RecordLoss()
    km = KMeans(N_BLOBS, batch_size=256, tol=None, max_iter=4, random_state=0,
                callbacks=[record]).fit(X)
    assert record.losses == []  # fit works on copies
    seen = km.callbacks_[0]
    assert seen.losses == [row["train_loss"] for row in km.history_]
    assert seen.calls == ["begin", 1, 2, 3, 4, "end"]
    # a callback stops training
    stop = LambdaCallback(on_epoch_end=lambda run: run.epoch >= 2)
    km = KMeans(N_BLOBS, batch_size=256, tol=None, max_iter=10, random_state=0,
                callbacks=[stop]).fit(X)
    assert km.n_iter_ == 2
    # in a stream, the callback's copy carries on from call to call
    km = KMeans(N_BLOBS, batch_size=256, random_state=0, callbacks=[RecordLoss()])
    for chunk in np.array_split(X, 3):
        km.partial_fit(chunk)
    assert km.callbacks_[0].losses == [row["train_loss"] for row in km.history_]
    assert len(km.callbacks_[0].losses) == 3


def test_refit_is_deterministic_and_starts_over(overlapping):
    X, _ = overlapping
    km = KMeans(N_BLOBS, batch_size=256, random_state=0)
    first = km.fit(X).cluster_centers_.copy()
    km.partial_fit(X[:500])
    km.fit(X)
    np.testing.assert_array_equal(km.cluster_centers_, first)
    assert len(km.history_) == km.n_iter_


def test_fit_is_scale_equivariant(overlapping):
    """k-means commutes with scaling: scaling X by a power of two scales the centres
    exactly and the inertia by its square; the documented ``tol`` is relative, so the
    same epochs run whatever the units."""
    X, _ = overlapping
    scale = 2.0 ** -8
    params = dict(n_clusters=N_BLOBS, batch_size=256, random_state=0)
    km = KMeans(**params).fit(X)
    scaled = KMeans(**params).fit(X * scale)
    assert scaled.n_iter_ == km.n_iter_
    np.testing.assert_allclose(scaled.cluster_centers_, km.cluster_centers_ * scale,
                               rtol=1e-12, atol=0)
    assert scaled.inertia_ == pytest.approx(km.inertia_ * scale**2, rel=1e-12)


# -- 10. the scikit-learn API --------------------------------------------------------------


def test_clone_pickle_pipeline_and_feature_names(blobs):
    X, y, _ = blobs
    km = KMeans(N_BLOBS, batch_size=256, refine=1, random_state=0)
    copy = clone(km)
    assert copy.get_params() == km.get_params()
    assert not hasattr(copy, "cluster_centers_")
    km.fit(X)
    assert not hasattr(clone(km), "cluster_centers_")
    restored = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(restored.predict(X), km.predict(X))
    np.testing.assert_array_equal(restored.transform(X[:50]), km.transform(X[:50]))
    restored.partial_fit(X[:300])  # the training state travels too
    assert restored.t_ == km.t_ + math.ceil(300 / 256)
    names = km.get_feature_names_out()
    assert list(names) == [f"kmeans{i}" for i in range(N_BLOBS)]
    pipe = make_pipeline(StandardScaler(), KMeans(N_BLOBS, batch_size=256, random_state=0))
    labels = pipe.fit(X).predict(X)
    assert adjusted_rand_score(y, labels) > 0.99
    np.testing.assert_array_equal(labels, pipe[-1].labels_)
    assert pipe.transform(X[:5]).shape == (5, N_BLOBS)


def test_unfitted_model_raises():
    X = np.zeros((3, 2))
    for method in ("predict", "transform", "score"):
        with pytest.raises(NotFittedError):
            getattr(KMeans(2), method)(X)


def test_batch_size_larger_than_the_data_is_one_batch(overlapping):
    """A batch larger than the data is the whole data (as for the other estimators
    and scikit-learn's MiniBatchKMeans); it must not allocate ``batch_size`` rows."""
    X, _ = overlapping
    X = X[:300]
    km = KMeans(N_BLOBS, batch_size=2**40, max_iter=3, tol=None, random_state=0).fit(X)
    full = KMeans(N_BLOBS, batch_size=300, max_iter=3, tol=None, random_state=0)
    # same seeding rows only if init_size is the same: both use all 300 rows
    full.fit(X)
    assert km.t_ == 3
    np.testing.assert_allclose(km.cluster_centers_, full.cluster_centers_, rtol=1e-12)


# -- 11. k-means++ seeding quality ---------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_plusplus_reaches_the_optimum(seed):
    """Twenty blobs in ten dimensions: one k-means++ seeding lands no two centres in
    one blob, so the fit reaches the inertia scikit-learn finds with ten restarts
    (measured: equal to 1e-14)."""
    X, _ = make_blobs(20_000, 10, centers=20, cluster_std=0.5, random_state=seed)
    optimum = ExactKMeans(20, n_init=10, random_state=0).fit(X).inertia_
    km = KMeans(20, random_state=seed).fit(X)
    assert km.inertia_ <= optimum * 1.001


# -- found in review ------------------------------------------------------------------


def test_seeding_uses_the_rows_that_have_weight():
    """k-means++ seeds from weighted rows even when they are rare."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    weights = np.zeros(5000)
    weights[:8] = 1.0
    model = KMeans(8, random_state=0).fit(X, sample_weight=weights)
    assert model.inertia_ == pytest.approx(0.0, abs=1e-12)


def test_edits_to_the_centres_take_effect():
    X, _ = make_blobs(300, 2, centers=2, random_state=0)
    model = KMeans(2, random_state=0).fit(X)
    before = model.predict(X)
    model.cluster_centers_[:] = model.cluster_centers_[::-1].copy()
    np.testing.assert_array_equal(model.predict(X), 1 - before)


def test_changing_n_clusters_between_partial_fit_calls_is_refused():
    X, _ = make_blobs(300, 2, centers=3, random_state=0)
    model = KMeans(3, random_state=0).partial_fit(X)
    with pytest.raises(ValueError, match="n_clusters changed from 3 to 5"):
        model.set_params(n_clusters=5).partial_fit(X)


@pytest.mark.parametrize("dtype, offset", [(np.float64, 1e8), (np.float32, 1e4)])
def test_a_large_offset_changes_nothing(dtype, offset):
    """k-means works relative to the data's mean: expanded distances cancel far from
    0 (in float32 already at an offset of about 1e3)."""
    X, y = make_blobs(2000, 3, centers=3, cluster_std=0.5, random_state=0)
    plain = KMeans(3, random_state=0).fit(X.astype(dtype))
    shifted = KMeans(3, random_state=0).fit((X + offset).astype(dtype))
    assert adjusted_rand_score(y, shifted.labels_) > 0.99
    np.testing.assert_array_equal(shifted.predict((X + offset).astype(dtype)),
                                  shifted.labels_)
    np.testing.assert_allclose(shifted.inertia_, plain.inertia_, rtol=1e-3)
    np.testing.assert_allclose(shifted.cluster_centers_ - offset,
                               plain.cluster_centers_, atol=1e-2)


# -- determinism -------------------------------------------------------------------------


@pytest.mark.parametrize("d, k, dtype", [(16, 9, np.float64), (7, 6, np.float64),
                                         (33, 5, np.float32)])
def test_a_lloyd_pass_does_not_depend_on_where_its_arrays_lie_in_memory(d, k, dtype):
    """The same pass from the same centres, with the centres (and the kernel's own
    scratch arrays) at 32 different addresses: bit-identical results. (With the arcp
    fast-math flag a division by a centre's weight became a multiplication by its
    reciprocal in the vectorised loop only, and refits differed by one ulp.)"""
    X, _ = make_blobs(2000, d, centers=k, random_state=0)
    X = np.ascontiguousarray(X.astype(dtype))
    results, padding = [], []
    for offset in range(8):
        for pad in range(4):
            padding.append(np.empty(1 + 5 * pad + offset))  # moves later allocations
            buffer = np.empty(k * d + 8, dtype=dtype)
            centers = buffer[offset:offset + k * d].reshape(k, d)
            centers[...] = X[:k]
            lloyd_pass(X, centers, None, update=True)
            results.append(centers.copy())
    for result in results[1:]:
        np.testing.assert_array_equal(result, results[0])


def test_refits_with_refinement_are_identical():
    X, _ = make_blobs(3000, 16, centers=9, random_state=1)
    first = KMeans(9, refine=2, random_state=0).fit(X)
    padding = []
    for size in range(1, 30, 3):
        padding.append(np.empty(size))  # other addresses for the next fit's arrays
        again = KMeans(9, refine=2, random_state=0).fit(X)
        np.testing.assert_array_equal(again.cluster_centers_, first.cluster_centers_)
