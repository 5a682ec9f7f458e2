"""Hostile input: one catalogue of bad data and bad settings, run over every estimator.

The catalogue is data. ``ESTIMATORS`` lists every public estimator once, with small,
fast settings, what it can do (``capabilities``) and the parameter values it must
refuse. ``TRAINING_CASES`` lists bad calls to ``fit`` / ``partial_fit`` and
``INFERENCE_CASES`` bad calls to ``predict``, ``transform``, ``score``, ... Each case
says which capabilities it needs and which phases it runs in, and expects one of:

* a clear error: a ``ValueError`` or ``TypeError`` (scikit-learn's
  ``InvalidParameterError`` and ``NotFittedError`` are ValueErrors) whose message
  matches the case's regular expression, i.e. names the problem; or
* where the case allows it, success: a sane fitted model (finite fitted arrays, the
  precision it was trained in, finite outputs of the right length).

``DivergenceError`` is accepted only where a case says training may diverge (huge
values), and then its message must say what to try. After a failed call the
estimator must be as it was: a fitted one compares equal attribute by attribute
(``vars``, deeply: arrays, history rows), an unfitted one is still unfitted.

The phases of a training case: ``fit`` and ``first_partial_fit`` on a fresh estimator;
``later_partial_fit`` after one good ``partial_fit``; ``refit`` after one good ``fit``.
The partial_fit phases run only for estimators with the ``partial_fit`` capability
(``INCREMENTAL``; the embeddings have none).
Parameter cases are ``set_params(<bad value>)`` before the call of each phase
(scikit-learn validates parameters on every call, so must we).

A new family adds its estimators to ``ESTIMATORS`` (an ``EstimatorSpec`` each: a
factory with quick settings, a task, capabilities and ``bad_params``) and gets every
case. A new bad input is one more entry in ``TRAINING_CASES`` or ``INFERENCE_CASES``.

The last section, ``RELIABILITY_REPORT_CASES``, holds the cases of the reliability
report (numeric edge cases and error messages found by hand): one-off reproductions
on particular estimators, checked with the same rules.
"""

import math
import numbers
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from sklearn_train import (
    Autoencoder,
    DivergenceError,
    GaussianMixture,
    KMeans,
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
    TSNE,
    UMAP,
)
from sklearn_train.callbacks import Checkpoint

pytestmark = [
    # three epochs do not converge, and a column-vector y warns: neither is the point
    pytest.mark.filterwarnings("ignore", category=ConvergenceWarning),
    pytest.mark.filterwarnings("ignore", category=DataConversionWarning),
]

# == the data ===========================================================================

N_ROWS, N_FEATURES = 48, 4
CLASSES = np.array([0, 1])


def _good_data():
    X, y = make_classification(N_ROWS, N_FEATURES, n_informative=3, n_redundant=0,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    noise = np.random.default_rng(0).normal(scale=0.1, size=N_ROWS)
    return X, y, X @ np.array([1.5, -2.0, 0.5, 1.0]) + noise


X_GOOD, Y_CLASSES, Y_REGRESSION = _good_data()


def with_value(array, value, index=(3, 2)):
    """A copy of ``array`` (1-D or 2-D) with one entry replaced by ``value``."""
    array = np.array(array, dtype=np.result_type(array, type(value)))
    array[index[: array.ndim]] = value
    return array


def words(shape):
    """An array of words that are not numbers."""
    return np.array(["red", "green", "blue"])[np.arange(math.prod(shape)) % 3].reshape(shape)


# == the estimators =====================================================================

CLASSIFIER, REGRESSOR, UNSUPERVISED = "classifier", "regressor", "unsupervised"

GRADIENT_BAD_PARAMS = (
    ("alpha", -5.0, "alpha"),
    ("optimizer", "bogus", "optimizer"),
    ("learning_rate", "bogus", "learning_rate"),
    ("batch_size", 0, "batch_size"),
    ("max_iter", 0, "max_iter"),
    ("eta0", -1.0, "eta0"),
    ("momentum", 1.5, "momentum"),
    ("tol", "bogus", "tol"),
    ("n_iter_no_change", 0, "n_iter_no_change"),
    ("validation_fraction", 1.5, "validation_fraction"),
)
LINEAR_BAD_PARAMS = (
    ("penalty", "bogus", "penalty"),
    ("l1_ratio", 2.0, "l1_ratio"),
    ("loss", "bogus", "loss"),
)
REGRESSION_LOSS_BAD_PARAMS = (
    ("epsilon", -1.0, "epsilon"),
    ("quantile", 1.5, "quantile"),
    ("power", 0.5, "power"),
)
NETWORK_BAD_PARAMS = (
    ("activation", "bogus", "activation"),
    ("dropout", 1.5, "dropout"),
    ("hidden_layer_sizes", (0,), "hidden_layer_sizes"),
)
CLUSTER_BAD_PARAMS = (
    ("batch_size", 0, "batch_size"),
    ("max_iter", 0, "max_iter"),
    ("tol", -1.0, "tol"),
    ("n_iter_no_change", 0, "n_iter_no_change"),
)


@dataclass(frozen=True)
class EstimatorSpec:
    """One public estimator as the catalogue runs it."""

    name: str
    make: Callable[[], Any]  # a fresh estimator with quick settings
    task: str
    capabilities: frozenset
    bad_params: tuple  # (parameter, bad value, regex its error must match)

    @property
    def supervised(self):
        return self.task != UNSUPERVISED

    def runs(self, phase):
        """Whether the estimator has the phase's call (embeddings have no partial_fit)."""
        return phase not in PARTIAL_CALLS or INCREMENTAL in self.capabilities

    def good_y(self):
        return {CLASSIFIER: Y_CLASSES, REGRESSOR: Y_REGRESSION}.get(self.task)


def _capabilities(*names):
    return frozenset(names)


QUICK = dict(max_iter=3, tol=None, random_state=0)
INCREMENTAL = "partial_fit"
SUPERVISED_GRADIENT = ("supervised", "validation_set", "sample_weight", INCREMENTAL)
EMBEDDING_BAD_PARAMS = (
    ("n_components", 0, "n_components"),
    ("learning_rate", -1.0, "learning_rate"),
    ("init", "bogus", "init"),
    ("metric", "bogus", "metric"),
    ("n_pca_components", 0, "n_pca_components"),
    ("neighbors", "bogus", "neighbors"),
    ("n_jobs", 0, "n_jobs"),
    ("callbacks", "bogus", "callbacks"),
)

ESTIMATORS = [
    EstimatorSpec(
        "LinearClassifier", lambda: LinearClassifier(batch_size=16, **QUICK), CLASSIFIER,
        _capabilities(*SUPERVISED_GRADIENT, "classifier", "class_weight"),
        GRADIENT_BAD_PARAMS + LINEAR_BAD_PARAMS + (("class_weight", "bogus", "class_weight"),),
    ),
    EstimatorSpec(
        "LinearRegressor", lambda: LinearRegressor(batch_size=16, **QUICK), REGRESSOR,
        _capabilities(*SUPERVISED_GRADIENT, "regressor"),
        GRADIENT_BAD_PARAMS + LINEAR_BAD_PARAMS + REGRESSION_LOSS_BAD_PARAMS,
    ),
    EstimatorSpec(
        "MLPClassifier", lambda: MLPClassifier((8,), batch_size=16, **QUICK), CLASSIFIER,
        _capabilities(*SUPERVISED_GRADIENT, "classifier", "class_weight"),
        GRADIENT_BAD_PARAMS + NETWORK_BAD_PARAMS + (("loss", "bogus", "loss"),),
    ),
    EstimatorSpec(
        "MLPRegressor", lambda: MLPRegressor((8,), batch_size=16, **QUICK), REGRESSOR,
        _capabilities(*SUPERVISED_GRADIENT, "regressor"),
        GRADIENT_BAD_PARAMS + NETWORK_BAD_PARAMS + REGRESSION_LOSS_BAD_PARAMS
        + (("loss", "bogus", "loss"),),
    ),
    EstimatorSpec(
        "Autoencoder",
        lambda: Autoencoder(2, hidden_layer_sizes=(8,), batch_size=16, **QUICK),
        UNSUPERVISED, _capabilities("validation_set", "sample_weight", INCREMENTAL),
        GRADIENT_BAD_PARAMS + NETWORK_BAD_PARAMS
        + (("n_components", 0, "n_components"), ("noise", -1.0, "noise")),
    ),
    EstimatorSpec(
        "KMeans", lambda: KMeans(3, batch_size=16, **QUICK), UNSUPERVISED,
        _capabilities("sample_weight", INCREMENTAL),
        CLUSTER_BAD_PARAMS + (
            ("n_clusters", 0, "n_clusters"),
            ("init", "bogus", "init"),
            ("n_init", 0, "n_init"),
            ("reassignment_ratio", 2.0, "reassignment_ratio"),
        ),
    ),
    EstimatorSpec(
        "GaussianMixture", lambda: GaussianMixture(2, batch_size=16, **QUICK), UNSUPERVISED,
        _capabilities("sample_weight", INCREMENTAL),
        CLUSTER_BAD_PARAMS + (
            ("n_components", 0, "n_components"),
            ("covariance_type", "bogus", "covariance_type"),
            ("reg_covar", -1.0, "reg_covar"),
            ("forgetting_factor", 0.0, "forgetting_factor"),
            ("learning_decay", 2.0, "learning_decay"),
        ),
    ),
    # embeddings: fit and transform only (no partial_fit, no sample_weight); the
    # neighbourhoods are small enough for N_ROWS rows
    EstimatorSpec(
        "TSNE", lambda: TSNE(perplexity=5, max_iter=250, random_state=0), UNSUPERVISED,
        _capabilities(),
        EMBEDDING_BAD_PARAMS + (
            ("perplexity", 0, "perplexity"),
            ("early_exaggeration", 0.5, "early_exaggeration"),
            ("max_iter", 10, "max_iter"),
        ),
    ),
    EstimatorSpec(
        "UMAP", lambda: UMAP(n_neighbors=5, n_epochs=20, random_state=0), UNSUPERVISED,
        _capabilities(),
        EMBEDDING_BAD_PARAMS + (
            ("n_neighbors", 1, "n_neighbors"),
            ("min_dist", -1.0, "min_dist"),
            ("min_dist", 2.0, "min_dist"),  # more than spread
            ("spread", 0, "spread"),
            ("negative_sample_rate", -1, "negative_sample_rate"),
            ("n_epochs", 0, "n_epochs"),
        ),
    ),
]

# == expectations =======================================================================


@dataclass(frozen=True)
class Expectation:
    """What a call may do: fail with a message matching ``match``, or succeed."""

    match: str | None  # regex (case-insensitive) the error message must contain
    may_succeed: bool = False
    may_diverge: bool = False  # a DivergenceError is an acceptable answer
    errors: tuple = (ValueError, TypeError)
    max_message_length: int | None = None
    forbidden_in_message: tuple = ()


def refused(match, **options):
    return Expectation(match, **options)


def refused_or_trains(match, **options):
    return Expectation(match, may_succeed=True, **options)


TRAINS = Expectation(None, may_succeed=True)

# Messages that name the problem
NAN = r"NaN"
INFINITY = r"infinity|infinite"
NEGATIVE = r"negative|non-negative|>= ?0"
HUGE = r"too large|overflow|finite|infinity|scale"
DIVERGENCE_ADVICE = r"try|scale|smaller|lower|reduce|StandardScaler"

# == the checks =========================================================================


class Opaque:
    """Stands for a value that cannot be compared: only its type is."""

    def __init__(self, value):
        self.type = type(value)

    def __eq__(self, other):
        return isinstance(other, Opaque) and other.type is self.type

    def __repr__(self):
        return f"<{self.type.__name__}>"


def frozen(value):
    """A deep, comparable copy of an attribute value."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if sp.issparse(value):
        return frozen(value.toarray())
    if isinstance(value, dict):
        return {key: frozen(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(frozen(item) for item in value)
    if value is None or isinstance(value, (numbers.Number, str, bytes, np.generic)):
        return value
    return Opaque(value)


def snapshot(estimator):
    return {key: frozen(value) for key, value in vars(estimator).items()}


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.dtype == b.dtype and a.shape == b.shape and _arrays_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[key], b[key]) for key in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def _arrays_equal(a, b):
    try:
        return np.array_equal(a, b, equal_nan=True)
    except TypeError:  # equal_nan needs a numeric dtype
        return np.array_equal(a, b)


def changed_attributes(before, after):
    return sorted(key for key in before.keys() | after.keys()
                  if key not in before or key not in after or not same(before[key], after[key]))


def is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def assert_clear_error(error, expect):
    message = str(error)
    where = f"{type(error).__name__}: {message[:500]}"
    assert expect.match is not None, f"expected success, got {where}"
    assert isinstance(error, expect.errors), f"not a {expect.errors} but {where}"
    if isinstance(error, DivergenceError):
        assert expect.may_diverge, f"a DivergenceError where none is acceptable: {where}"
        assert re.search(DIVERGENCE_ADVICE, message, re.I), f"no advice in {where}"
    assert re.search(expect.match, message, re.I), f"message does not match {expect.match!r}: {where}"
    if expect.max_message_length is not None:
        assert len(message) <= expect.max_message_length, f"message too long ({len(message)}): {where}"
    for text in expect.forbidden_in_message:
        assert text not in message, f"message contains {text!r}: {where}"


def assert_state_kept(estimator, before, was_fitted):
    """After a failed call: a fitted estimator unchanged, an unfitted one unfitted."""
    changed = changed_attributes(before, snapshot(estimator))
    if was_fitted:
        assert not changed, f"a failed call changed the fitted estimator: {changed}"
    else:
        assert not changed or not is_fitted(estimator), (
            f"a failed first call left a fitted-looking estimator; changed: {changed}")


def fitted_arrays(attributes):
    """``{name: array}`` of the public fitted attributes (of ``vars(estimator)`` or a
    snapshot of it) holding float arrays; ``coefs_[0]`` for lists of arrays."""
    return dict(_fitted_arrays(attributes))


def _fitted_arrays(attributes):
    for name, value in attributes.items():
        if name.startswith("_") or not name.endswith("_") or name == "history_":
            continue
        items = value if isinstance(value, (list, tuple)) else [value]
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray) and item.dtype.kind == "f":
                yield (name if item is value else f"{name}[{i}]"), item


OUTPUT_METHODS = ("predict", "predict_proba", "decision_function", "transform", "score_samples")


def assert_sane_outputs(output, n_rows, what):
    output = np.asarray(output)
    assert output.shape[:1] == (n_rows,), f"{what}: shape {output.shape}, {n_rows} rows"
    if output.dtype.kind in "fc":
        assert np.all(np.isfinite(output)), f"{what}: non-finite outputs"


def assert_sane_model(estimator, continued_from=None):
    """Finite fitted arrays, finite outputs; a continued model (``continued_from``:
    its snapshot before the call) keeps the precision it was trained in."""
    assert is_fitted(estimator), "the call succeeded but the estimator is not fitted"
    previous = fitted_arrays(continued_from or {})
    for name, array in fitted_arrays(vars(estimator)).items():
        assert np.all(np.isfinite(array)), f"{name} is not finite: {array}"
        if name in previous:
            assert array.dtype == previous[name].dtype, (
                f"{name} changed dtype from {previous[name].dtype} to {array.dtype}")
    for method in OUTPUT_METHODS:
        if hasattr(estimator, method):
            assert_sane_outputs(getattr(estimator, method)(X_GOOD), N_ROWS, method)


@dataclass
class Attempt:
    """One call under test on one estimator, and what it may do."""

    estimator: Any
    action: Callable[[], Any]
    expect: Expectation
    # (result, snapshot before the call); by default: assert_sane_model
    check_success: Callable[[Any, dict], None] | None = None


def run_attempt(attempt):
    estimator, expect = attempt.estimator, attempt.expect
    was_fitted = is_fitted(estimator)
    before = snapshot(estimator)
    try:
        result = attempt.action()
    except Exception as error:  # noqa: BLE001  (the type is what we check)
        assert_clear_error(error, expect)
        assert_state_kept(estimator, before, was_fitted)
        return
    assert expect.may_succeed, f"accepted; expected an error matching {expect.match!r}"
    check = attempt.check_success or (lambda result, before: assert_sane_model(estimator))
    check(result, before)


# == calling the estimators =============================================================

DEFAULT = object()  # "the good data of this estimator"


@dataclass(frozen=True)
class Call:
    """The arguments of a training call. ``X`` and ``y`` are arrays, ``DEFAULT`` (the
    estimator's good data) or functions of the good data; so are ``kwargs`` values,
    where ``DEFAULT`` and functions stand for (a function of) the good y."""

    X: Any = DEFAULT
    y: Any = DEFAULT
    kwargs: dict = field(default_factory=dict)

    def resolve(self, spec):
        X = _resolve(self.X, X_GOOD)
        y = _resolve(self.y, spec.good_y()) if spec.supervised else None
        kwargs = {key: _resolve(value, spec.good_y()) for key, value in self.kwargs.items()}
        if not spec.supervised:
            kwargs.pop("y_val", None)
        return X, y, kwargs


def _resolve(value, good):
    if value is DEFAULT:
        return good
    if callable(value):
        return value(good)
    return value


def fit(spec, estimator, X, y, **kwargs):
    if not spec.supervised:
        return estimator.fit(X, **kwargs)
    return estimator.fit(X, y, **kwargs)


def partial_fit(spec, estimator, X, y, first, **kwargs):
    if spec.task == CLASSIFIER and first:
        kwargs.setdefault("classes", CLASSES)
    if not spec.supervised:
        return estimator.partial_fit(X, **kwargs)
    return estimator.partial_fit(X, y, **kwargs)


FIT, FIRST_PARTIAL_FIT, LATER_PARTIAL_FIT, REFIT = (
    "fit", "first_partial_fit", "later_partial_fit", "refit")
ALL_PHASES = (FIT, FIRST_PARTIAL_FIT, LATER_PARTIAL_FIT, REFIT)
FIRST_CALLS = (FIT, FIRST_PARTIAL_FIT)
PARTIAL_CALLS = (FIRST_PARTIAL_FIT, LATER_PARTIAL_FIT)
FIT_CALLS = (FIT, REFIT)


def estimator_in_phase(spec, phase):
    """A fresh estimator, or one fitted on good data, as the phase starts from."""
    estimator = spec.make()
    if phase == LATER_PARTIAL_FIT:
        partial_fit(spec, estimator, X_GOOD, spec.good_y(), first=True)
    elif phase == REFIT:
        fit(spec, estimator, X_GOOD, spec.good_y())
    return estimator


def call_in_phase(spec, estimator, phase, X, y, kwargs):
    if phase in FIT_CALLS:
        return fit(spec, estimator, X, y, **kwargs)
    return partial_fit(spec, estimator, X, y, first=phase == FIRST_PARTIAL_FIT, **kwargs)


# == the training catalogue =============================================================


@dataclass(frozen=True)
class TrainingCase:
    id: str
    call: Call
    expect: Expectation
    phases: tuple = ALL_PHASES
    needs: frozenset = frozenset()  # capabilities the estimator must have
    params: dict = field(default_factory=dict)  # set_params just before the call

    def applies_to(self, spec):
        return self.needs <= spec.capabilities


def case(id, expect, *, X=DEFAULT, y=DEFAULT, phases=ALL_PHASES, needs=(), params=None,
         **kwargs):
    return TrainingCase(id, Call(X, y, kwargs), expect, phases, frozenset(needs), params or {})


SUPERVISED, CLASSIFIES, REGRESSES = ("supervised",), ("classifier",), ("regressor",)
WEIGHTED, VALIDATED = ("sample_weight",), ("validation_set",)

TRAINING_CASES = [
    # -- non-finite and huge values ---------------------------------------------------
    case("X-NaN", refused(NAN), X=with_value(X_GOOD, np.nan)),
    case("X-+inf", refused(INFINITY), X=with_value(X_GOOD, np.inf)),
    case("X--inf", refused(INFINITY), X=with_value(X_GOOD, -np.inf)),
    case("X-1e300-entry", refused_or_trains(HUGE, may_diverge=True),
         X=with_value(X_GOOD, 1e300)),
    case("X-all-scaled-by-1e200", refused_or_trains(HUGE, may_diverge=True),
         X=X_GOOD * 1e200),
    case("y-NaN", refused(NAN), y=lambda y: with_value(y, np.nan), needs=SUPERVISED),
    case("y-+inf", refused(INFINITY), y=lambda y: with_value(y, np.inf), needs=SUPERVISED),
    case("y--inf", refused(INFINITY), y=lambda y: with_value(y, -np.inf), needs=SUPERVISED),
    case("y-1e308", refused_or_trains(HUGE, may_diverge=True),
         y=lambda y: with_value(y, 1e308), needs=REGRESSES),
    case("sample_weight-NaN", refused(NAN), needs=WEIGHTED,
         sample_weight=with_value(np.ones(N_ROWS), np.nan)),
    case("sample_weight-+inf", refused(INFINITY), needs=WEIGHTED,
         sample_weight=with_value(np.ones(N_ROWS), np.inf)),
    case("sample_weight--inf", refused(f"{INFINITY}|{NEGATIVE}"), needs=WEIGHTED,
         sample_weight=with_value(np.ones(N_ROWS), -np.inf)),
    case("sample_weight-negative", refused(NEGATIVE), needs=WEIGHTED,
         sample_weight=with_value(np.ones(N_ROWS), -1.0)),
    case("sample_weight-1e300", refused_or_trains(HUGE, may_diverge=True), needs=WEIGHTED,
         sample_weight=with_value(np.ones(N_ROWS), 1e300)),
    case("sample_weight-all-zero", refused_or_trains(r"sample_weight|weight|zero"),
         needs=WEIGHTED, sample_weight=np.zeros(N_ROWS)),
    # -- shapes ------------------------------------------------------------------------
    case("X-0-rows", refused(r"0 sample"), X=X_GOOD[:0], y=lambda y: y[:0]),
    case("X-1-row", refused_or_trains(r"sample|class|n_clusters|n_components"),
         X=X_GOOD[:1], y=lambda y: y[:1]),
    case("X-0-features", refused(r"0 feature"), X=X_GOOD[:, :0]),
    case("X-1-D", refused(r"2D|2-D|dim|reshape"), X=X_GOOD[:, 0]),
    case("X-3-D", refused(r"3-dimensional|dim|2D"), X=X_GOOD.reshape(N_ROWS, 2, 2)),
    case("X-ragged-list", refused(r"inhomogeneous|sequence|shape"),
         X=[list(row) for row in X_GOOD[:-1]] + [list(X_GOOD[-1, :2])]),
    case("y-wrong-length", refused(r"inconsistent numbers of samples|length|shape"),
         y=lambda y: y[:-1], needs=SUPERVISED),
    case("sample_weight-wrong-length", refused(r"sample_weight|shape|length|inconsistent"),
         needs=WEIGHTED, sample_weight=np.ones(N_ROWS - 1)),
    case("sample_weight-2-D", refused(r"1D|1-D|dim|shape"), needs=WEIGHTED,
         sample_weight=np.ones((N_ROWS, 2))),
    # -- types -------------------------------------------------------------------------
    case("X-list-of-lists", TRAINS, X=X_GOOD.tolist()),
    case("X-int", TRAINS, X=np.round(X_GOOD * 3).astype(np.int64)),
    case("X-bool", TRAINS, X=X_GOOD > 0),
    case("X-float32", TRAINS, X=X_GOOD.astype(np.float32)),
    case("X-Fortran-order", TRAINS, X=np.asfortranarray(X_GOOD)),
    case("X-strided-view", TRAINS, X=np.repeat(X_GOOD, 2, axis=1)[:, ::2]),
    case("X-CSR", refused_or_trains(r"sparse|dense"), X=sp.csr_matrix(X_GOOD)),
    case("X-object-numbers", TRAINS, X=X_GOOD.astype(object)),
    case("X-object-words", refused(r"could not convert|string"),
         X=words(X_GOOD.shape).astype(object)),
    case("X-str-words", refused(r"could not convert|string"), X=words(X_GOOD.shape)),
    case("X-str-numbers", refused_or_trains(r"string|dtype|could not convert"),
         X=X_GOOD.astype(str)),
    case("X-complex", refused(r"complex"), X=X_GOOD + 1j),
    # -- targets -----------------------------------------------------------------------
    case("y-one-class", refused(r"class"), y=np.zeros(N_ROWS, int), phases=FIT_CALLS,
         needs=CLASSIFIES),
    case("y-one-class-chunk-of-known-classes", TRAINS, y=np.zeros(N_ROWS, int),
         phases=PARTIAL_CALLS, needs=CLASSIFIES),
    case("y-label-not-in-classes", refused(r"class|label"), y=lambda y: with_value(y, 7),
         phases=PARTIAL_CALLS, needs=CLASSIFIES),
    case("y-continuous-for-classifier", refused(r"continuous|label type|class"),
         y=Y_REGRESSION, needs=CLASSIFIES),
    case("y-2-D-two-label-columns",
         # (partial_fit was given classes=[0, 1]: "labels not among classes" is right too)
         refused(r"multilabel|indicator|multi-?output|1d|1-D|column|2-D|2d|shape|label"),
         y=lambda y: np.c_[y + 1, y + 3], needs=CLASSIFIES),
    case("y-words-for-regressor", refused(r"could not convert|string|numeric"),
         y=words((N_ROWS,)), needs=REGRESSES),
    case("classes-missing-on-first-partial_fit", refused(r"classes"),
         phases=(FIRST_PARTIAL_FIT,), needs=CLASSIFIES, classes=None),
    case("classes-changed-on-later-partial_fit", refused(r"classes"),
         phases=(LATER_PARTIAL_FIT,), needs=CLASSIFIES, classes=np.array([0, 1, 2])),
    # -- between partial_fit calls ------------------------------------------------------
    case("X-fewer-features-than-first-call", refused(r"features"), X=X_GOOD[:, :3],
         phases=(LATER_PARTIAL_FIT,)),
    case("X-more-features-than-first-call", refused(r"features"),
         X=np.c_[X_GOOD, X_GOOD[:, 0]], phases=(LATER_PARTIAL_FIT,)),
    case("y-2-D-after-1-D", refused(r"dim|shape|output|target|1d|2d"),
         y=lambda y: np.c_[y, y], phases=(LATER_PARTIAL_FIT,), needs=REGRESSES),
    # -- validation sets ---------------------------------------------------------------
    case("X_val-NaN", refused(NAN), needs=VALIDATED, X_val=with_value(X_GOOD, np.nan),
         y_val=DEFAULT),
    case("X_val-wrong-features", refused(r"features"), needs=VALIDATED,
         X_val=X_GOOD[:, :3], y_val=DEFAULT),
    case("X_val-without-y_val", refused(r"y_val"), needs=("supervised", "validation_set"),
         X_val=X_GOOD),
    case("y_val-wrong-length", refused(r"inconsistent numbers of samples|length|shape"),
         needs=("supervised", "validation_set"), X_val=X_GOOD, y_val=lambda y: y[:-1]),
]


def parameter_cases(spec):
    return [case(f"param-{name}={value!r}", refused(match), params={name: value})
            for name, value, match in spec.bad_params]


def training_catalogue():
    for spec in ESTIMATORS:
        for training_case in TRAINING_CASES + parameter_cases(spec):
            if training_case.applies_to(spec):
                for phase in filter(spec.runs, training_case.phases):
                    yield pytest.param(spec, training_case, phase,
                                       id=f"{spec.name}-{phase}-{training_case.id}")


@pytest.mark.parametrize("spec, training_case, phase", list(training_catalogue()))
def test_training_call_refuses_clearly_or_trains(spec, training_case, phase):
    estimator = estimator_in_phase(spec, phase)
    estimator.set_params(**training_case.params)
    X, y, kwargs = training_case.call.resolve(spec)

    def check_trained(result, before):
        # a fresh fit may train in another precision; a continued model keeps its own
        assert_sane_model(estimator, before if phase == LATER_PARTIAL_FIT else None)

    run_attempt(Attempt(estimator, lambda: call_in_phase(spec, estimator, phase, X, y, kwargs),
                        training_case.expect, check_trained))


# == the inference catalogue ============================================================

INFERENCE_METHODS = ("predict", "predict_proba", "decision_function", "transform",
                     "inverse_transform", "score_samples", "score")


@dataclass(frozen=True)
class InferenceCase:
    id: str
    X: Any  # a function of the good input of the method (its width differs)
    expect: Expectation
    fitted: bool = True
    y: Any = DEFAULT  # for score of a supervised estimator: a function of the good y
    methods: tuple = INFERENCE_METHODS


INFERENCE_CASES = [
    InferenceCase("unfitted", lambda X: X, refused(r"fit", errors=(NotFittedError,)),
                  fitted=False),
    InferenceCase("wrong-number-of-features", lambda X: X[:, :-1],
                  refused(r"features|components|shape")),
    InferenceCase("NaN", lambda X: with_value(X, np.nan, (3, 1)), refused(NAN)),
    InferenceCase("+inf", lambda X: with_value(X, np.inf, (3, 1)), refused(INFINITY)),
    InferenceCase("3-D", lambda X: X[:, None, :], refused(r"3-dimensional|dim|2D|shape")),
    InferenceCase("complex", lambda X: X + 1j, refused(r"complex")),
    InferenceCase("words", lambda X: words(X.shape), refused(r"could not convert|string")),
    InferenceCase("0-rows", lambda X: X[:0], refused_or_trains(r"0 sample")),
    InferenceCase("float32", lambda X: X.astype(np.float32), TRAINS),
    InferenceCase("y-wrong-length", lambda X: X,
                  refused(r"inconsistent numbers of samples|length|shape"),
                  y=lambda y: y[:-1], methods=("score",)),
]


def good_input(spec, method):
    if method == "inverse_transform":
        return X_GOOD[:, : spec.make().n_components]
    return X_GOOD


def inference_call(spec, estimator, method, X, y):
    if method == "score" and spec.supervised:
        return estimator.score(X, y)
    return getattr(estimator, method)(X)


def inference_catalogue():
    for spec in ESTIMATORS:
        methods = [m for m in INFERENCE_METHODS if hasattr(spec.make(), m)]
        for inference_case in INFERENCE_CASES:
            for method in methods:
                if method in inference_case.methods and (
                        inference_case.y is DEFAULT or spec.supervised):
                    yield pytest.param(spec, method, inference_case,
                                       id=f"{spec.name}-{method}-{inference_case.id}")


@pytest.mark.parametrize("spec, method, inference_case", list(inference_catalogue()))
def test_inference_call_refuses_clearly_or_answers(spec, method, inference_case):
    estimator = spec.make()
    if inference_case.fitted:
        fit(spec, estimator, X_GOOD, spec.good_y())
    X = inference_case.X(good_input(spec, method))
    y = _resolve(inference_case.y, spec.good_y())

    def check_output(output, before):
        if method != "score":
            assert_sane_outputs(output, len(X), method)
        else:
            assert np.isfinite(output), f"score is {output}"

    run_attempt(Attempt(estimator, lambda: inference_call(spec, estimator, method, X, y),
                        inference_case.expect, check_output))


# == reliability report: numeric edge cases and error messages ==========================
#
# Reproductions from the reliability report, on the estimators named there. They run
# through the same checks (a clear error, or sane training; state kept on failure).

RELIABILITY_REPORT_CASES = []


def reliability_case(id):
    def register(build):
        RELIABILITY_REPORT_CASES.append(pytest.param(build, id=id))
        return build
    return register


@reliability_case("LinearRegressor-huber-average-early_stopping-float-max-target")
def _huber_average_with_a_float_max_target(tmp_path):
    X, y = np.zeros((12, 4)), np.r_[np.zeros(11), np.finfo(float).max]
    estimator = LinearRegressor(loss="huber", average=True, early_stopping=True,
                                batch_size=3, random_state=0)
    return Attempt(estimator, lambda: estimator.fit(X, y),
                   refused_or_trains(HUGE, may_diverge=True))


CLASSIFIERS_WITH_CLASS_WEIGHT = {"LinearClassifier": LinearClassifier,
                                 "MLPClassifier": MLPClassifier}


def _class_weight_attempt(Classifier, class_weight, expect):
    estimator = Classifier(class_weight=class_weight, **QUICK)
    return Attempt(estimator, lambda: estimator.fit(X_GOOD, Y_CLASSES), expect)


for _name, _Classifier in CLASSIFIERS_WITH_CLASS_WEIGHT.items():
    reliability_case(f"{_name}-negative-class_weight")(
        lambda tmp_path, Classifier=_Classifier: _class_weight_attempt(
            Classifier, {0: -1.0, 1: 1.0},
            refused(rf"(?s)(?=.*class_weight)(?=.*({NEGATIVE}|positive))")))
    reliability_case(f"{_name}-NaN-class_weight")(
        lambda tmp_path, Classifier=_Classifier: _class_weight_attempt(
            Classifier, {0: np.nan, 1: 1.0}, refused(r"(?s)(?=.*class_weight)(?=.*(NaN|finite))")))


@reliability_case("KMeans-reassignment_ratio-1-on-duplicate-rows")
def _kmeans_full_reassignment_on_duplicate_rows(tmp_path):
    distinct, _ = make_blobs(6, 4, centers=6, random_state=0)
    X = np.repeat(distinct, 10, axis=0)  # 60 rows, 6 distinct
    estimator = KMeans(5, reassignment_ratio=1.0, batch_size=8, random_state=0)
    return Attempt(estimator, lambda: estimator.fit(X), refused_or_trains(r"distinct|duplicate"))


def _checkpoint_attempt(tmp_path, file_name):
    """A Checkpoint whose path has braces that are not history columns: a clear
    error naming the callback and the path, or a file of exactly that name."""
    estimator = LinearClassifier(**QUICK)

    def action():
        checkpoint = Checkpoint(str(tmp_path / file_name), monitor="train_loss")
        estimator.set_params(callbacks=[checkpoint])
        return estimator.fit(X_GOOD, Y_CLASSES)

    def check_success(result, before):
        assert_sane_model(estimator)
        assert (tmp_path / file_name).exists(), f"no file {file_name}: {os.listdir(tmp_path)}"

    expect = refused_or_trains(rf"(?s)(?=.*Checkpoint)(?=.*{re.escape(file_name)})")
    return Attempt(estimator, action, expect, check_success)


reliability_case("Checkpoint-positional-field-in-path")(
    lambda tmp_path: _checkpoint_attempt(tmp_path, "run{1}.joblib"))
reliability_case("Checkpoint-unknown-field-in-path")(
    lambda tmp_path: _checkpoint_attempt(tmp_path, "model_{date}.joblib"))


@reliability_case("LinearRegressor-eta0-auto-float32-feature-of-1e30")
def _auto_rate_underflows_in_float32(tmp_path):
    X = X_GOOD.astype(np.float32)
    X[0, 0] = 1e30
    estimator = LinearRegressor(**QUICK)
    return Attempt(estimator, lambda: estimator.fit(X, Y_REGRESSION),
                   refused(r"(?s)(?=.*eta0)(?=.*scale)(?=.*float32)"))


@reliability_case("LinearRegressor-eta0-auto-float64-features-near-1e160")
def _auto_rate_underflows_in_float64(tmp_path):
    estimator = LinearRegressor(**QUICK)
    return Attempt(estimator, lambda: estimator.fit(X_GOOD * 1e160, Y_REGRESSION),
                   refused(r"(?s)(?=.*eta0)(?=.*scale)"))


@reliability_case("LinearRegressor-huge-target-divergence-names-the-target")
def _huge_target_advice(tmp_path):
    estimator = LinearRegressor(**QUICK)
    return Attempt(estimator, lambda: estimator.fit(X_GOOD, Y_REGRESSION * 1e200),
                   refused(r"(?s)(?=.*target reaches)(?=.*TransformedTargetRegressor)",
                           may_diverge=True))


@reliability_case("MLPClassifier-init-array-short-message")
def _mlp_init_given_an_array(tmp_path):
    estimator = MLPClassifier(init=np.zeros((3, 3)), **QUICK)
    return Attempt(estimator, lambda: estimator.fit(X_GOOD, Y_CLASSES),
                   refused(r"init", max_message_length=300,
                           forbidden_in_message=("[[", "array(")))


@pytest.mark.parametrize("build", RELIABILITY_REPORT_CASES)
def test_reliability_report_case(build, tmp_path):
    run_attempt(build(tmp_path))
