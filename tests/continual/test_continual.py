"""Continual learning: the exact Fisher, the anchored penalty, replay, the forgetting
monitor, and EWC / replay against naive fine-tuning and joint training on split and
permuted digits."""

import copy
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_train import LinearClassifier, LinearRegressor, MLPClassifier, MLPRegressor
from sklearn_train.continual import ContinualLearner, ForgettingMonitor
from sklearn_train.continual._fisher import diagonal_fisher, parameter_vector
from sklearn_train.continual._monitor import backward_transfer
from sklearn_train.continual._replay import ClassBalancedReservoir


def blobs(n=120, n_features=5, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    centres = rng.normal(scale=2.0, size=(n_classes, n_features))
    return centres[y] + rng.normal(size=(n, n_features)), y


# -- the exact diagonal Fisher ---------------------------------------------------------

def per_sample_gradient(model, x, y):
    """Row ``(x, y)``'s loss gradient: one plain-SGD step of rate 1 on it alone, no
    penalty (``params_after = params - grad``), through the compiled kernel."""
    step = copy.deepcopy(model).set_params(optimizer="sgd", learning_rate="constant",
                                           eta0=1.0, alpha=0.0, batch_size=1)
    before = parameter_vector(step)
    step.partial_fit(x, y)
    return before - parameter_vector(step)


FISHER_MODELS = [
    LinearClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None),  # softmax
    LinearClassifier(loss="hinge", random_state=0, max_iter=5, tol=None),  # margins
    LinearRegressor(random_state=0, max_iter=5, tol=None),
    MLPClassifier(hidden_layer_sizes=(7, 4), activation="tanh", random_state=0,
                  max_iter=5, tol=None),
    MLPClassifier(hidden_layer_sizes=(6,), activation="relu", random_state=0, max_iter=5,
                  tol=None),
    MLPRegressor(hidden_layer_sizes=(6,), activation="logistic", random_state=0,
                 max_iter=5, tol=None),
]


@pytest.mark.parametrize("model", FISHER_MODELS, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("sparse", [False, True])
def test_fisher_equals_the_mean_of_squared_per_sample_gradients(model, sparse):
    X, y = blobs(n=40)
    if type(model).__name__.endswith("Regressor"):
        y = X @ np.arange(1.0, 6.0) + 0.3 * np.random.default_rng(1).normal(size=40)
    if isinstance(model, LinearClassifier) and model.loss == "hinge":
        y = (y == 1).astype(int)  # a binary margin loss too
    X = sp.csr_matrix(X) if sparse else X
    fitted = model.fit(X, y)
    fisher = diagonal_fisher(fitted, X, y)
    loop = np.mean([per_sample_gradient(fitted, X[i:i + 1], y[i:i + 1]) ** 2
                    for i in range(X.shape[0])], axis=0)
    assert fisher.shape == parameter_vector(fitted).shape
    assert np.count_nonzero(loop) > loop.size // 2
    np.testing.assert_allclose(fisher, loop, rtol=1e-8, atol=1e-12 * loop.max())


def test_fisher_is_not_the_squared_batch_mean_gradient():
    X, y = blobs(n=40)
    model = LinearClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None).fit(X, y)
    grads = np.array([per_sample_gradient(model, X[i:i + 1], y[i:i + 1])
                      for i in range(40)])
    # the squared mean (Avalanche's) is far below the mean square near an optimum
    assert np.sum(grads.mean(axis=0) ** 2) < 0.5 * np.sum(diagonal_fisher(model, X, y))


# -- the anchored penalty -----------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: LinearClassifier(loss="log_loss", optimizer="sgd", learning_rate="constant",
                             eta0=0.3, alpha=0.0, batch_size=8, random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(5,), optimizer="sgd",
                          learning_rate="constant", eta0=0.3, alpha=0.0, batch_size=8,
                          random_state=0),
], ids=["linear", "mlp"])
@pytest.mark.parametrize("sparse", [False, True])
def test_without_a_data_gradient_parameters_decay_towards_the_anchor(make, sparse):
    """Rows of weight 1e-200 carry no loss gradient to speak of (0 is refused): each
    SGD step is ``p - a <- (1 - lr * s) (p - a)``, per parameter (a sparse input
    takes sweep steps, not lazy ones)."""
    X, y = blobs(n=40)
    model = make().partial_fit(X, y, classes=[0, 1, 2])
    start = parameter_vector(model)
    rng = np.random.default_rng(3)
    anchor = start + rng.normal(size=start.shape)
    strength = rng.uniform(0.0, 2.0, size=start.shape)
    model._anchor_penalty = np.stack([anchor, strength])
    Xs = sp.csr_matrix(X) if sparse else X
    model.partial_fit(Xs, y, sample_weight=np.full(40, 1e-200))  # 40 / 8 = 5 steps
    expected = anchor + (1.0 - 0.3 * strength) ** 5 * (start - anchor)
    np.testing.assert_allclose(parameter_vector(model), expected, rtol=1e-12, atol=1e-12)


def test_anchored_least_squares_reaches_its_closed_form_minimiser():
    """Full-batch gradient descent on mean 0.5 (x w + b - y)^2 + 0.5 sum s (theta -
    a)^2 converges to ``(Z'Z / n + S) theta = Z'y / n + S a`` (Z = [X, 1])."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.7 + 0.1 * rng.normal(size=60)
    anchor = np.array([0.3, 0.3, 0.3, -1.0])
    strength = np.array([0.5, 2.0, 0.0, 1.0])
    model = LinearRegressor(optimizer="sgd", learning_rate="constant", eta0=0.1, alpha=0.0,
                            batch_size=60, max_iter=3000, tol=None, random_state=0)
    model._anchor_penalty = np.stack([anchor, strength])
    model.fit(X, y)
    Z = np.hstack([X, np.ones((60, 1))])
    closed = np.linalg.solve(Z.T @ Z / 60 + np.diag(strength),
                             Z.T @ y / 60 + strength * anchor)
    np.testing.assert_allclose(parameter_vector(model), closed, rtol=1e-9, atol=1e-10)
    free = np.linalg.lstsq(Z, y, rcond=None)[0]
    assert np.abs(free - closed).max() > 0.3  # (the penalty matters here)


def test_a_wrongly_shaped_anchor_is_refused():
    X, y = blobs()
    model = LinearClassifier(random_state=0).fit(X, y)
    model._anchor_penalty = np.zeros((2, 3))
    with pytest.raises(ValueError, match="anchored penalty has shape"):
        model.partial_fit(X, y)


# -- the reservoir ----------------------------------------------------------------------

def test_the_reservoir_shares_its_rows_equally_between_classes():
    reservoir = ClassBalancedReservoir(60, np.random.default_rng(0))
    X = np.arange(400, dtype=float).reshape(200, 2)
    reservoir.add(X[:100], np.repeat([0, 1], 50), classify=True)
    assert len(reservoir) == 60
    reservoir.add(X[100:], np.repeat([2, 3], 50), classify=True)
    X_s, y_s = reservoir.sample()
    np.testing.assert_array_equal(np.bincount(y_s), [15, 15, 15, 15])
    rows = X_s[:, 0].astype(int) // 2  # each stored row is the offered row of its label
    np.testing.assert_array_equal(rows // 50, y_s)


def test_each_offered_row_is_kept_with_equal_probability():
    kept = np.zeros(100)
    trials = 1000
    for seed in range(trials):
        reservoir = ClassBalancedReservoir(10, np.random.default_rng(seed))
        X = np.arange(100, dtype=float)[:, None]
        for start in range(0, 100, 20):  # five tasks of one class
            reservoir.add(X[start:start + 20], np.zeros(20, dtype=int), classify=True)
        kept[reservoir.sample()[0][:, 0].astype(int)] += 1
    # each row is kept with probability 10 / 100: the first task's rows as the last's
    frequency = kept / trials
    assert abs(frequency[:20].mean() - 0.1) < 0.01 and abs(frequency[80:].mean() - 0.1) < 0.01
    assert np.abs(frequency - 0.1).max() < 0.045  # (binomial sd 0.0095 per row)


# -- the monitor ----------------------------------------------------------------------

def test_backward_transfer_and_average_accuracy_follow_their_definitions():
    R = np.array([[0.9, 0.1, 0.0], [0.6, 0.8, 0.2], [0.5, 0.7, 0.95]])
    assert backward_transfer(R) == pytest.approx(((0.5 - 0.9) + (0.7 - 0.8)) / 2)
    assert backward_transfer(R[:1]) != backward_transfer(R[:1])  # NaN
    monitor = ForgettingMonitor([None] * 3)
    monitor.accuracy_matrix_ = R[:2]
    assert monitor.average_accuracy_ == pytest.approx((0.6 + 0.8) / 2)
    assert monitor.backward_transfer_ == pytest.approx(0.6 - 0.9)


# -- split and permuted digits ------------------------------------------------------------

def digits_tasks(kind):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(0).permutation(y.shape[0])
    X, y = X[order], y[order]
    train = np.arange(y.shape[0]) < int(0.7 * y.shape[0])
    if kind == "split":  # class-incremental: digits 0-1, 2-3, ..., 8-9
        masks = [(y // 2) == task for task in range(5)]
        return ([(X[m & train], y[m & train]) for m in masks],
                [(X[m & ~train], y[m & ~train]) for m in masks])
    # permuted: all ten digits, each task with its own fixed pixel permutation
    pixels = [np.arange(64)] + [np.random.default_rng(10 + t).permutation(64)
                                for t in range(3)]
    return ([(X[train][:, p], y[train]) for p in pixels],
            [(X[~train][:, p], y[~train]) for p in pixels])


EPOCHS = 5


def run_tasks(kind, **params):
    train, test = digits_tasks(kind)
    learner = ContinualLearner(
        MLPClassifier(hidden_layer_sizes=(64,), batch_size=16, random_state=0),
        classes=range(10), epochs=EPOCHS, random_state=0,
        callbacks=[ForgettingMonitor(test)], **params)
    for X, y in train:
        learner.fit_task(X, y)
    monitor = learner.callbacks_[0]
    return monitor.average_accuracy_, monitor.backward_transfer_, learner


def joint_accuracy(kind):
    train, test = digits_tasks(kind)
    joint = ContinualLearner(
        MLPClassifier(hidden_layer_sizes=(64,), batch_size=16, random_state=0),
        classes=range(10), epochs=EPOCHS).fit(np.concatenate([X for X, _ in train]),
                                              np.concatenate([y for _, y in train]))
    return np.mean([joint.score(X, y) for X, y in test])


@pytest.fixture(scope="module")
def split_results():
    return {"naive": run_tasks("split"), "ewc": run_tasks("split", ewc=30.0),
            "replay": run_tasks("split", replay=200), "joint": joint_accuracy("split")}


@pytest.fixture(scope="module")
def permuted_results():
    return {"naive": run_tasks("permuted"), "ewc": run_tasks("permuted", ewc=30.0),
            "replay": run_tasks("permuted", replay=200),
            "joint": joint_accuracy("permuted")}


def test_split_digits_replay_remembers_naive_forgets(split_results):
    # measured: naive ACC 0.176 BWT -0.986; replay(200 rows) ACC 0.859 BWT -0.147;
    # joint ACC 0.932
    naive_acc, naive_bwt, _ = split_results["naive"]
    replay_acc, replay_bwt, _ = split_results["replay"]
    assert naive_bwt < -0.9  # class-incremental fine-tuning forgets nearly everything
    assert replay_acc >= naive_acc + 0.6
    assert replay_bwt >= naive_bwt + 0.7
    assert split_results["joint"] >= replay_acc + 0.03  # joint stays the upper bound


def test_split_digits_ewc_alone_does_not_solve_class_incremental(split_results):
    # measured: ewc=30 ACC 0.178 BWT -0.988 (naive 0.176 / -0.986). EWC protects
    # weights, not the output layer's bias towards the newest classes: the known
    # failure of regularisation in class-incremental learning (van de Ven et al.).
    naive_acc, _, _ = split_results["naive"]
    ewc_acc, ewc_bwt, _ = split_results["ewc"]
    assert abs(ewc_acc - naive_acc) < 0.1 and ewc_bwt < -0.8


def test_permuted_digits_ewc_and_replay_forget_less_than_naive(permuted_results):
    # measured: naive ACC 0.588 BWT -0.451; ewc=30 ACC 0.736 BWT -0.173;
    # replay ACC 0.826 BWT -0.126; joint 0.904
    naive_acc, naive_bwt, _ = permuted_results["naive"]
    ewc_acc, ewc_bwt, _ = permuted_results["ewc"]
    replay_acc, replay_bwt, _ = permuted_results["replay"]
    assert ewc_bwt >= naive_bwt + 0.2
    assert ewc_acc >= naive_acc + 0.1
    assert replay_acc >= naive_acc + 0.15 and replay_bwt >= naive_bwt + 0.2
    assert permuted_results["joint"] >= max(ewc_acc, replay_acc) + 0.03


def test_permuted_digits_linear_ewc_trades_plasticity_for_memory():
    # measured (LinearClassifier, batch 16, 5 epochs a task): naive ACC 0.673 BWT
    # -0.214; ewc=10 ACC 0.596 BWT -0.111; replay ACC 0.725 BWT -0.126; joint 0.824
    train, test = digits_tasks("permuted")
    results = {}
    for name, params in [("naive", {}), ("ewc", {"ewc": 10.0}), ("replay", {"replay": 200})]:
        learner = ContinualLearner(LinearClassifier(batch_size=16, random_state=0),
                                   classes=range(10), random_state=0,
                                   callbacks=[ForgettingMonitor(test)], **params)
        for X, y in train:
            learner.fit_task(X, y)
        monitor = learner.callbacks_[0]
        results[name] = monitor.average_accuracy_, monitor.backward_transfer_
    assert results["ewc"][1] >= results["naive"][1] + 0.08
    assert results["ewc"][0] <= results["naive"][0]  # a linear model has little room
    assert results["replay"][0] >= results["naive"][0] + 0.03
    assert results["replay"][1] >= results["naive"][1] + 0.05


def test_the_fisher_accumulates_over_tasks_and_the_anchor_follows():
    X, y = blobs(n=120)
    seen = []

    class Keep:
        def on_task_end(self, learner):
            seen.append(copy.deepcopy(learner.estimator_))

    learner = ContinualLearner(LinearClassifier(random_state=0), ewc=2.0, epochs=2,
                               random_state=0, callbacks=[Keep()])
    learner.fit_task(X[:60], y[:60]).fit_task(X[60:], y[60:])
    expected = (diagonal_fisher(seen[0], X[:60], y[:60])
                + diagonal_fisher(seen[1], X[60:], y[60:]))
    np.testing.assert_allclose(learner.fisher_, expected, rtol=1e-12)
    np.testing.assert_array_equal(learner.anchor_, parameter_vector(seen[1]))
    # fit starts over: one task, its Fisher alone, fresh callbacks
    learner.fit(X[60:], y[60:])
    assert learner.n_tasks_ == 1 and len(seen) == 3
    np.testing.assert_allclose(learner.fisher_, diagonal_fisher(seen[2], X[60:], y[60:]))


def test_partial_fit_is_fit_task_and_a_seed_makes_runs_equal():
    X, y = blobs(n=120)
    a = ContinualLearner(MLPClassifier(hidden_layer_sizes=(4,)), ewc=1.0, replay=30,
                         epochs=2, random_state=3)
    b = clone(a)
    a.fit_task(X[:60], y[:60]).fit_task(X[60:], y[60:])
    b.partial_fit(X[:60], y[:60]).partial_fit(X[60:], y[60:])
    np.testing.assert_array_equal(parameter_vector(a.estimator_),
                                  parameter_vector(b.estimator_))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_the_monitor_records_the_learner_after_each_task(permuted_results):
    _, _, learner = permuted_results["ewc"]
    monitor = learner.callbacks_[0]
    assert monitor.accuracy_matrix_.shape == (4, 4) and learner.n_tasks_ == 4
    np.testing.assert_allclose(monitor.accuracy_matrix_[-1],
                               [learner.score(X, y) for X, y in monitor.eval_sets])
    assert learner.fisher_.shape == learner.anchor_.shape
    np.testing.assert_allclose(learner.anchor_, parameter_vector(learner.estimator_))


# -- the estimator contract -----------------------------------------------------------

@pytest.mark.parametrize("params, error, message", [
    ({"ewc": -1.0}, ValueError, "ewc"),
    ({"replay": -1}, ValueError, "replay"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"callbacks": [object()]}, TypeError, "on_task_end"),
])
def test_bad_parameters_fail_clearly(params, error, message):
    X, y = blobs()
    with pytest.raises(error, match=message):
        ContinualLearner(LinearClassifier(), **params).fit_task(X, y)


def test_ewc_needs_one_of_our_models_replay_does_not():
    X, y = blobs()
    with pytest.raises(TypeError, match="LinearClassifier"):
        ContinualLearner(SGDClassifier(), ewc=1.0).fit_task(X, y)
    learner = ContinualLearner(SGDClassifier(random_state=0), replay=30, random_state=0)
    learner.fit_task(X[:60], y[:60]).fit_task(X[60:], y[60:])
    assert learner.score(X, y) > 0.8


def test_a_one_class_first_task_needs_classes():
    X, y = blobs()
    with pytest.raises(ValueError, match="classes="):
        ContinualLearner(LinearClassifier()).fit_task(X[y == 0], y[y == 0])
    learner = ContinualLearner(LinearClassifier(), classes=[0, 1, 2]).fit_task(
        X[y == 0], y[y == 0])
    np.testing.assert_array_equal(learner.classes_, [0, 1, 2])


def test_a_failed_task_leaves_the_learner_as_it_was():
    X, y = blobs()
    learner = ContinualLearner(LinearClassifier(random_state=0), ewc=1.0, replay=30,
                               random_state=0, callbacks=[ForgettingMonitor([(X, y)])])
    learner.fit_task(X[:60], y[:60])
    before = pickle.dumps(learner)
    bad = X[60:].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        learner.fit_task(bad, y[60:])
    with pytest.raises(ValueError, match="features"):
        learner.fit_task(X[60:, :3], y[60:])
    with pytest.raises(ValueError, match="sample_weight|samples"):
        learner.fit_task(X[60:], y[60:], sample_weight=np.ones(5))
    assert pickle.dumps(learner) == before
    learner.fit_task(X[60:], y[60:])
    assert learner.n_tasks_ == 2 and learner.callbacks_[0].accuracy_matrix_.shape == (2, 1)


def expected_failures(learner):
    """The sample-weight equivalence checks, which scikit-learn marks for its SGD
    estimators (and passes for its MLPs only with full-batch L-BFGS)."""
    reason = ("sample_weight is not equivalent to removing/repeating samples in "
              "mini-batch training (marked the same for scikit-learn's SGD estimators).")
    return {check: reason for check in ("check_sample_weight_equivalence_on_dense_data",
                                        "check_sample_weight_equivalence_on_sparse_data")}


@parametrize_with_checks(
    [ContinualLearner(LinearClassifier(), epochs=2),
     ContinualLearner(LinearRegressor(), ewc=1.0, replay=20, epochs=2),
     ContinualLearner(MLPClassifier(hidden_layer_sizes=(5,), eta0=0.01, batch_size=16),
                      ewc=1.0, replay=20, epochs=10)],
    expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
