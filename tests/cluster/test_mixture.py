"""GaussianMixture (stepwise EM), checked against mathematics and scikit-learn.

* The density: ``score_samples`` is the mixture's log-density computed independently
  with scipy from ``weights_``, ``means_`` and ``covariances_``; ``predict_proba`` are
  the normalised component densities; precisions and their Cholesky factors are the
  inverses. scikit-learn's GaussianMixture given our fitted parameters scores, bic's
  and aic's the same: the attributes follow its conventions.
* The optimum: one component on one full batch is the exact maximum-likelihood
  estimate (plus ``reg_covar``); with step size 1 (``learning_decay`` -> 0) and one
  batch per epoch, stepwise EM *is* batch EM and follows scikit-learn's iterations
  from the same start; with mini-batches it reaches scikit-learn's held-out
  likelihood.
* Streams: under drift the running statistics are the step-size-weighted average of
  the batches, predicted from the generating process; ``forgetting_factor`` tracks a
  moving distribution, plain averaging does not.
* The floor on covariances, degenerate data, bad input, sampling, weights, dtypes,
  clone / pickle / pipeline.

The data are small: the file stays fast once Numba's compiles are cached.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture as SkGaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_train import GaussianMixture

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COVARIANCE_TYPES = ["full", "diag", "spherical"]


def full_covariances(model):
    """``covariances_`` as (k, d, d) matrices whatever the covariance type."""
    k, d = model.means_.shape
    cov = model.covariances_
    if model.covariance_type == "full":
        return cov
    if model.covariance_type == "diag":
        return np.array([np.diag(c) for c in cov])
    return np.array([c * np.eye(d) for c in cov])


def component_log_densities(model, X):
    """``log w_c + log N(x | mu_c, Sigma_c)`` by scipy, one column per component."""
    return np.column_stack([
        math.log(w) + multivariate_normal(mean, cov).logpdf(X)
        for w, mean, cov in zip(model.weights_, model.means_, full_covariances(model))
    ])


def n_parameters(covariance_type, k, d):
    covariance = {"full": k * d * (d + 1) // 2, "diag": k * d, "spherical": k}
    return covariance[covariance_type] + k * d + (k - 1)


def as_sklearn(model):
    """A scikit-learn GaussianMixture holding our fitted parameters."""
    sk = SkGaussianMixture(model.n_components, covariance_type=model.covariance_type)
    sk.weights_ = model.weights_
    sk.means_ = model.means_
    sk.covariances_ = model.covariances_
    sk.precisions_cholesky_ = model.precisions_cholesky_
    sk.precisions_ = model.precisions_
    sk.n_features_in_ = model.n_features_in_
    sk.converged_ = True
    sk.n_iter_ = model.n_iter_
    sk.lower_bound_ = -np.inf
    return sk


def match_nearest(found, targets):
    """The rows of ``found`` nearest to each row of ``targets`` (a permutation)."""
    index = [int(np.argmin(np.linalg.norm(found - t, axis=1))) for t in targets]
    assert sorted(index) == list(range(len(targets)))  # one found row per target
    return found[index]


@pytest.fixture(scope="module")
def overlapping():
    """Three overlapping blobs (a mixture fit with uncertain responsibilities)."""
    X, _ = make_blobs(600, 3, centers=3, cluster_std=2.0, random_state=1)
    return X


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def fitted(request, overlapping):
    model = GaussianMixture(3, covariance_type=request.param, batch_size=128,
                            random_state=0).fit(overlapping)
    return model, overlapping


# -- 1. the density against the mathematics ---------------------------------------------


def test_score_samples_is_the_mixture_log_density(fitted):
    model, X = fitted
    k, d = model.means_.shape
    shapes = {"full": (k, d, d), "diag": (k, d), "spherical": (k,)}
    assert model.covariances_.shape == shapes[model.covariance_type]
    assert model.precisions_cholesky_.shape == shapes[model.covariance_type]
    assert model.weights_.sum() == pytest.approx(1.0, abs=1e-12)
    expected = np.logaddexp.reduce(component_log_densities(model, X), axis=1)
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert model.score(X) == pytest.approx(expected.mean(), rel=1e-10)


def test_predict_proba_is_the_normalised_component_densities(fitted):
    model, X = fitted
    log_joint = component_log_densities(model, X)
    expected = np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1)[:, None])
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(proba, expected, atol=1e-10)
    # overlapping blobs: responsibilities strictly between 0 and 1 are exercised
    assert ((proba > 0.1) & (proba < 0.9)).any()
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1))


def test_precisions_are_the_inverse_covariances(fitted):
    model, _ = fitted
    cov, prec, chol = model.covariances_, model.precisions_, model.precisions_cholesky_
    if model.covariance_type == "full":
        for c in range(model.n_components):
            np.testing.assert_allclose(prec[c] @ cov[c], np.eye(cov.shape[1]), atol=1e-10)
            np.testing.assert_allclose(chol[c] @ chol[c].T, prec[c], rtol=1e-10)
            # upper triangular, as scikit-learn's precisions_cholesky_
            np.testing.assert_array_equal(np.tril(chol[c], -1), 0.0)
            assert np.all(np.diag(chol[c]) > 0)
    else:
        np.testing.assert_allclose(prec * cov, 1.0, rtol=1e-12)
        np.testing.assert_allclose(chol**2, prec, rtol=1e-12)
        assert np.all(chol > 0)


def test_one_component_on_one_batch_is_the_exact_mle():
    """A single component has responsibility 1 everywhere: with one batch the running
    statistics are the (weighted) sample moments, whatever the step size; the fit is
    the weighted mean and biased covariance, plus ``reg_covar`` on the diagonal."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) + [1.0, -2.0, 0.5, 3.0]
    w = rng.uniform(0.2, 3.0, size=300)
    reg = 1e-3
    mean = np.average(X, axis=0, weights=w)
    cov = np.cov(X, rowvar=False, aweights=w, bias=True)
    expected = {"full": cov + reg * np.eye(4), "diag": np.diag(cov) + reg,
                "spherical": np.array([np.trace(cov) / 4 + reg])}
    for covariance_type, cov_expected in expected.items():
        model = GaussianMixture(1, covariance_type=covariance_type, reg_covar=reg,
                                batch_size=300, max_iter=3, tol=None, random_state=0)
        model.fit(X, sample_weight=w)
        np.testing.assert_allclose(model.weights_, [1.0])
        np.testing.assert_allclose(model.means_[0], mean, rtol=1e-10)
        np.testing.assert_allclose(model.covariances_[0], cov_expected, rtol=1e-9)


# -- 2. scikit-learn's conventions ---------------------------------------------------------


def test_sklearn_given_our_parameters_scores_the_same(fitted):
    model, X = fitted
    sk = as_sklearn(model)
    np.testing.assert_allclose(sk.score_samples(X), model.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(sk.predict_proba(X), model.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(sk.predict(X), model.predict(X))
    assert sk.bic(X) == pytest.approx(model.bic(X), rel=1e-10)
    assert sk.aic(X) == pytest.approx(model.aic(X), rel=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_unit_steps_on_one_batch_are_sklearn_batch_em(covariance_type):
    """``eta_t = (t + 1) ** -1e-12`` is 1 to 1e-11: each step replaces the statistics
    by the full data's, so an epoch of one batch is one EM iteration. From the
    parameters after our first epoch, scikit-learn's EM (initialised there) and our
    next 30 epochs must agree. Overlapping blobs make EM move the parameters far
    (about 0.2) in those iterations; measured agreement 1e-12."""
    X, _ = make_blobs(600, 3, centers=3, cluster_std=3.0, random_state=1)
    settings = dict(covariance_type=covariance_type, batch_size=len(X),
                    learning_decay=1e-12, tol=None, random_state=0)
    start = GaussianMixture(3, max_iter=1, **settings).fit(X)
    ours = GaussianMixture(3, max_iter=31, **settings).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkGaussianMixture(3, covariance_type=covariance_type, max_iter=30, tol=0.0,
                               weights_init=start.weights_, means_init=start.means_,
                               precisions_init=start.precisions_, random_state=0).fit(X)
    assert sk.n_iter_ == 30
    assert np.abs(ours.means_ - start.means_).max() > 0.1  # EM did move
    np.testing.assert_allclose(ours.weights_, sk.weights_, atol=1e-9)
    np.testing.assert_allclose(ours.means_, sk.means_, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, atol=1e-9)


# -- 3. recovery of separated blobs ------------------------------------------------------


@pytest.fixture(scope="module")
def separated():
    X, y, centres = make_blobs(4000, 4, centers=3, random_state=0, return_centers=True)
    return X, y, centres


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_separated_blobs_are_recovered(separated, covariance_type):
    """Labels exactly; means at the blobs' sample means (the MLE when the blobs do not
    overlap; measured 0.023), hence near the true centres: the sample mean of ~1333
    unit-variance rows in 4-D is off by about sqrt(4 / 1333) = 0.055, allowed 4x."""
    X, y, centres = separated
    model = GaussianMixture(3, covariance_type=covariance_type, batch_size=256,
                            random_state=0).fit(X)
    assert adjusted_rand_score(y, model.predict(X)) > 0.99
    means = match_nearest(model.means_, centres)
    sample_means = np.array([X[y == c].mean(axis=0) for c in range(3)])
    assert np.linalg.norm(means - sample_means, axis=1).max() < 0.05
    assert np.linalg.norm(means - centres, axis=1).max() < 0.22
    np.testing.assert_allclose(np.sort(model.weights_), np.sort(np.bincount(y) / len(y)),
                               atol=0.01)
    np.testing.assert_array_equal(model.fit_predict(X), model.predict(X))


# -- 4. held-out likelihood against scikit-learn's batch EM ------------------------------

# measured gap at most 8e-5 of |score| (seeds 0-2); the margin is 10x that, so it
# also meets the 1% the design asks for
HELD_OUT_RTOL = 1e-3


@pytest.fixture(scope="module")
def four_blobs():
    X, _ = make_blobs(20_000, 5, centers=4, cluster_std=[0.5, 1.0, 1.5, 2.0],
                      random_state=0)
    return X


def assert_held_out_close_to_sklearn(X, covariance_type):
    train, test = train_test_split(X, test_size=0.25, random_state=0)
    ours = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(train)
    reference = SkGaussianMixture(4, covariance_type=covariance_type,
                                  random_state=0).fit(train).score(test)
    assert ours.score(test) >= reference - HELD_OUT_RTOL * abs(reference)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_held_out_likelihood_matches_batch_em(four_blobs, covariance_type):
    assert_held_out_close_to_sklearn(four_blobs, covariance_type)


def test_held_out_likelihood_matches_batch_em_on_anisotropic_data(four_blobs):
    """Correlated features: only full covariances model them."""
    mixing = np.random.default_rng(0).normal(size=(5, 5))
    assert_held_out_close_to_sklearn(four_blobs @ mixing, "full")


# -- 5. drift --------------------------------------------------------------------------

N_CHUNKS, CHUNK, STEP, BATCH = 40, 500, 0.25, 100
START = np.array([[0.0, 0.0], [0.0, 6.0]])  # the two centres at chunk 0; they move in x


def drifting_chunk(i, rng):
    labels = rng.integers(0, 2, CHUNK)
    return START[labels] + [STEP * i, 0.0] + rng.normal(scale=0.5, size=(CHUNK, 2))


def expected_x(forgetting_factor, learning_decay):
    """Where the running statistics put the means: each batch's statistics enter with
    weight ``eta_t * prod_{s > t} (1 - eta_s)``, ``eta_t = max((t + 1) ** -kappa,
    1 - forgetting_factor)`` (the first step, eta = 1, replaces the initialisation),
    so the mean's x is that weighted average of the batches' centre x."""
    per_chunk = -(-CHUNK // BATCH)
    t = np.arange(N_CHUNKS * per_chunk)
    eta = np.minimum(np.maximum((t + 1.0) ** -learning_decay, 1.0 - forgetting_factor),
                     1.0)
    survive = np.append(np.cumprod((1.0 - eta)[::-1])[::-1][1:], 1.0)
    weight = eta * survive
    assert weight.sum() == pytest.approx(1.0)
    return float(np.sum(weight * STEP * (t // per_chunk)))


@pytest.mark.parametrize("forgetting_factor, learning_decay",
                         [(0.9, 0.6), (1.0, 0.6), (1.0, 1.0)])
def test_partial_fit_follows_a_drifting_stream(forgetting_factor, learning_decay):
    """Two blobs 6 apart in y move +0.25 in x per chunk. The means land where the
    step sizes put them (measured within 0.05); with forgetting they are near the
    final centres (predicted lag 0.36), with plain averaging (``learning_decay=1``:
    eta = 1 / (t + 1), the statistics average all batches) they sit at the average
    centre, 4.9 behind."""
    rng = np.random.default_rng(0)
    model = GaussianMixture(2, batch_size=BATCH, forgetting_factor=forgetting_factor,
                            learning_decay=learning_decay, random_state=0)
    for i in range(N_CHUNKS):
        model.partial_fit(drifting_chunk(i, rng))
    assert model.t_ == N_CHUNKS * -(-CHUNK // BATCH)
    means = model.means_[np.argsort(model.means_[:, 1])]
    np.testing.assert_allclose(means[:, 1], START[:, 1], atol=0.1)
    np.testing.assert_allclose(means[:, 0], expected_x(forgetting_factor, learning_decay),
                               atol=0.15)
    final = START + [STEP * (N_CHUNKS - 1), 0.0]
    lag = np.linalg.norm(means - final, axis=1)
    if forgetting_factor < 1.0:
        assert lag.max() < 0.5
    elif learning_decay == 1.0:
        assert lag.min() > 2.0


# -- 6. the covariance floor, degenerate data, bad input ---------------------------------


def assert_positive_definite(model):
    covariances = full_covariances(model)
    assert np.all(np.isfinite(covariances))
    assert np.all(np.linalg.eigvalsh(covariances) > 0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_constant_feature_warns_and_gets_the_floor(covariance_type):
    X, _ = make_blobs(600, 3, centers=2, random_state=0)
    X[:, 1] = 5.0
    reg = 1e-6
    with pytest.warns(UserWarning, match="constant"):
        model = GaussianMixture(2, covariance_type=covariance_type, reg_covar=reg,
                                random_state=0).fit(X)
    assert_positive_definite(model)
    assert np.all(np.isfinite(model.precisions_cholesky_))
    assert np.all(np.isfinite(model.score_samples(X)))
    if covariance_type == "diag":
        np.testing.assert_allclose(model.covariances_[:, 1], reg, rtol=1e-6)
    elif covariance_type == "full":
        np.testing.assert_allclose(model.covariances_[:, 1, 1], reg, rtol=1e-6)


def duplicated_points():
    """20 rows, 2 distinct points, for 3 components."""
    return np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fewer_distinct_points_than_components_warns_without_nan(covariance_type):
    X = duplicated_points()
    with pytest.warns(UserWarning, match="fewer distinct points than components"):
        model = GaussianMixture(3, covariance_type=covariance_type,
                                random_state=0).fit(X)
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_",
                 "precisions_"]:
        assert not np.isnan(getattr(model, name)).any(), name
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.all(np.isfinite(model.predict_proba(X)))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fewer_distinct_points_than_components_keeps_covariances_positive(
        covariance_type):
    """The class promises positive definite covariances; a component left without
    rows keeps "those of its initialisation", which must be a covariance too, and
    ``sample`` must work (its weight is 0: it draws no rows)."""
    X = duplicated_points()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = GaussianMixture(3, covariance_type=covariance_type,
                                random_state=0).fit(X)
    assert_positive_definite(model)
    rows, labels = model.sample(50)
    assert rows.shape == (50, 2) and np.all(np.isfinite(rows))


def test_fewer_rows_than_components_raise():
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(3).fit(np.ones((2, 2)))


def test_nan_input_raises():
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(X)


def test_sparse_input_raises():
    X = sp.csr_matrix(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises((TypeError, ValueError), match="[Ss]parse"):
        GaussianMixture(2).fit(X)


# -- 7. sampling -----------------------------------------------------------------------


def test_sample_follows_the_fitted_mixture(fitted):
    """Each component's rows have its mean and covariance, and the label frequencies
    are the weights, within 5 standard errors."""
    model, _ = fitted
    n = 20_000
    rows, labels = model.sample(n)
    k, d = model.means_.shape
    assert rows.shape == (n, d) and labels.shape == (n,)
    assert np.all(np.diff(labels) >= 0)  # grouped by component
    frequency = np.bincount(labels, minlength=k) / n
    np.testing.assert_array_less(np.abs(frequency - model.weights_),
                                 5 * np.sqrt(model.weights_ * (1 - model.weights_) / n))
    for c, cov in enumerate(full_covariances(model)):
        part = rows[labels == c]
        m = len(part)
        mean_error = np.abs(part.mean(axis=0) - model.means_[c])
        np.testing.assert_array_less(mean_error, 5 * np.sqrt(np.diag(cov) / m))
        # Var of a sample covariance entry: (S_ii S_jj + S_ij^2) / m
        cov_error = np.abs(np.cov(part, rowvar=False) - cov)
        cov_sd = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / m)
        np.testing.assert_array_less(cov_error, 5 * cov_sd)


def test_sample_rejects_a_bad_count(fitted):
    model, _ = fitted
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)


# -- 8. information criteria -------------------------------------------------------------


def test_bic_and_aic_formulas(fitted):
    model, X = fitted
    n = X.shape[0]
    p = n_parameters(model.covariance_type, *model.means_.shape)
    log_likelihood = model.score_samples(X).sum()
    assert model.bic(X) == pytest.approx(-2 * log_likelihood + p * math.log(n), rel=1e-12)
    assert model.aic(X) == pytest.approx(-2 * log_likelihood + 2 * p, rel=1e-12)
    assert p == as_sklearn(model)._n_parameters()


# -- 9. stepwise EM mechanics ------------------------------------------------------------


def test_every_epoch_runs_without_tol(overlapping):
    n, batch, epochs = len(overlapping), 128, 7
    model = GaussianMixture(3, batch_size=batch, tol=None, max_iter=epochs,
                            random_state=0).fit(overlapping)
    assert model.n_iter_ == epochs
    assert model.t_ == epochs * math.ceil(n / batch)
    losses = [row["train_loss"] for row in model.history_]
    assert len(losses) == epochs and np.all(np.isfinite(losses))
    # the epoch's mean negative log-likelihood, under parameters that have settled
    assert losses[-1] == pytest.approx(-model.score(overlapping), rel=2e-3)
    assert losses[-1] < losses[0]


def test_partial_fit_counts_steps_and_warm_start_continues(overlapping):
    X = overlapping
    model = GaussianMixture(3, batch_size=64, random_state=0)
    model.partial_fit(X[:250])
    assert model.t_ == math.ceil(250 / 64)
    model.partial_fit(X[250:])
    assert model.t_ == math.ceil(250 / 64) + math.ceil(350 / 64)
    assert len(model.history_) == 2

    warm = GaussianMixture(3, batch_size=64, tol=None, max_iter=3, warm_start=True,
                           random_state=0).fit(X)
    steps = warm.t_
    warm.set_params(max_iter=2).fit(X)
    assert warm.t_ == steps + 2 * math.ceil(len(X) / 64)
    assert len(warm.history_) == 5 and warm.n_iter_ == 2
    cold = clone(warm).set_params(warm_start=False).fit(X)
    assert cold.t_ == 2 * math.ceil(len(X) / 64)
    warm_losses = [row["train_loss"] for row in warm.history_]
    cold_losses = [row["train_loss"] for row in cold.history_]
    # a fresh fit repeats the first fit's epochs; the warm one went on from its end
    assert cold_losses == warm_losses[:2]
    assert warm_losses[3] < warm_losses[2] < cold_losses[0]


@pytest.mark.parametrize("change", [{"covariance_type": "diag"}, {"n_components": 2}])
def test_partial_fit_rejects_a_changed_model(overlapping, change):
    model = GaussianMixture(3, batch_size=64, random_state=0).partial_fit(overlapping)
    means, steps = model.means_.copy(), model.t_
    with pytest.raises(ValueError, match=next(iter(change))):
        model.set_params(**change).partial_fit(overlapping)
    np.testing.assert_array_equal(model.means_, means)
    assert model.t_ == steps


# -- 10. sample weights ---------------------------------------------------------------


def test_weights_shift_the_mixture_weights(separated):
    """Blobs this far apart get hard responsibilities: each component's weight is its
    blob's share of the total sample weight and its mean the blob's weighted mean."""
    X, y, _ = separated
    rng = np.random.default_rng(0)
    sample_weight = np.where(rng.random(len(X)) < 0.5, 2.0, 1.0)
    sample_weight[y == 0] *= 3.0
    model = GaussianMixture(3, batch_size=256, random_state=0).fit(
        X, sample_weight=sample_weight)
    shares = np.array([sample_weight[y == c].sum() for c in range(3)]) / sample_weight.sum()
    means = np.array([np.average(X[y == c], axis=0, weights=sample_weight[y == c])
                      for c in range(3)])
    labels = model.predict(means)
    assert sorted(labels) == [0, 1, 2]
    np.testing.assert_allclose(model.weights_[labels], shares, atol=0.01)
    assert model.weights_[labels[0]] > 0.5  # 3 of the 5 (weighted) parts
    np.testing.assert_allclose(model.means_[labels], means, atol=0.05)


def test_all_zero_weights_raise(overlapping):
    with pytest.raises(ValueError):
        GaussianMixture(2).fit(overlapping, sample_weight=np.zeros(len(overlapping)))


# -- 11. float32 -----------------------------------------------------------------------


def test_float32_input_gives_float64_parameters(overlapping):
    """Measured score gap 1e-9 relative."""
    X = overlapping
    m64 = GaussianMixture(3, random_state=0).fit(X)
    m32 = GaussianMixture(3, random_state=0).fit(X.astype(np.float32))
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_",
                 "precisions_"]:
        assert getattr(m32, name).dtype == np.float64, name
    assert m32.score(X) == pytest.approx(m64.score(X), rel=1e-6)
    assert m32.score(X.astype(np.float32)) == pytest.approx(m64.score(X), rel=1e-6)


# -- 12. clone, pickle, pipeline --------------------------------------------------------


def test_clone_pickle_and_pipeline(fitted):
    model, X = fitted
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.score_samples(X), model.score_samples(X))
    refit = clone(model).fit(X)  # same settings and seed: the same fit
    np.testing.assert_array_equal(refit.score_samples(X), model.score_samples(X))
    pipe = make_pipeline(StandardScaler(), GaussianMixture(2, random_state=0))
    labels = pipe.fit(X).predict(X)
    assert labels.shape == (len(X),) and set(labels) == {0, 1}
    scaled = StandardScaler().fit_transform(X)
    np.testing.assert_array_equal(labels, pipe[-1].predict(scaled))


# -- found in review ------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_large_offset_changes_nothing(covariance_type):
    """Statistics are taken relative to the data's mean: E[xx] - mu mu^T from raw
    moments left covariances indefinite at an offset of 3e7."""
    X, _ = make_blobs(2000, 2, centers=2, cluster_std=[1.0, 0.5], random_state=0)
    scores = []
    for offset in (0.0, 1e8):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=0)
        model.fit(X + offset)
        assert_positive_definite(model)
        scores.append(model.score(X + offset))
        model.sample(5)
    np.testing.assert_allclose(scores[1], scores[0], rtol=1e-6)


def test_a_warm_start_on_other_features_is_refused():
    X, _ = make_blobs(300, 3, centers=2, random_state=0)
    model = GaussianMixture(2, covariance_type="diag", warm_start=True, random_state=0)
    model.fit(X)
    with pytest.raises(ValueError, match="2 features; the fitted mixture has 3"):
        model.fit(X[:, :2])


def test_edits_to_the_parameters_take_effect():
    X, _ = make_blobs(300, 2, centers=2, random_state=0)
    model = GaussianMixture(2, random_state=0).fit(X)
    before = model.predict(X)
    model.means_[:] = model.means_[::-1].copy()
    model.precisions_cholesky_[:] = model.precisions_cholesky_[::-1].copy()
    model.weights_[:] = model.weights_[::-1].copy()
    np.testing.assert_array_equal(model.predict(X), 1 - before)


def test_sample_follows_the_fitted_covariance_type():
    X, _ = make_blobs(300, 2, centers=2, random_state=0)
    model = GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)
    model.set_params(covariance_type="full")
    assert model.sample(4)[0].shape == (4, 2)


def test_a_restored_epoch_brings_back_its_running_statistics():
    """EarlyStopping(restore_best) style restores return the whole model of that
    epoch, so training goes on from it."""
    from sklearn_train.callbacks import Callback

    class KeepFirst(Callback):
        def on_epoch_end(self, run):
            if run.epoch == 1:
                self.saved = run.snapshot()

        def on_train_end(self, run):
            run.restore(self.saved, 1)

    X, _ = make_blobs(600, 2, centers=2, random_state=0)
    first = GaussianMixture(2, max_iter=1, tol=None, random_state=0).fit(X)
    model = GaussianMixture(2, max_iter=3, tol=None, random_state=0,
                            callbacks=[KeepFirst()]).fit(X)
    for key in ("stat_n", "stat_x", "stat_xx", "means"):
        np.testing.assert_array_equal(model._state[key], first._state[key])
