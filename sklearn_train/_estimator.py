"""The training flow every estimator of ours shares: ``TrainedEstimator``.

A family (linear models, networks, clustering, ...) subclasses it, with the mixins
it needs (``_gradient.GradientMixin`` for models trained by the core's optimizers,
``_supervised.SupervisedMixin`` for models with targets, a validation set and
``scoring``), and fills in the hooks below. Everything else is here and the same for
all: parameter checks on every call, input validation, starting or continuing a
training state, callbacks (ours and scikit-learn's), the driver call, ``history_``
and its best epoch, and leaving the estimator as it was when a call fails.

One ``fit`` / ``partial_fit`` call is ``_train``, which reads top to bottom:

1. ``_prepare_data``: validate the input into one ``TrainingData`` (``_data``);
2. ``_begin``: a fresh training state or a working copy of the fitted one, and the
   run's progress;
3. ``_make_problem``: the compiled problem over this call's data (``_training``);
4. ``_run_epochs``: the driver's epochs, with the callbacks;
5. ``_commit``: fitted attributes, history, state.

Hooks (``data`` is the call's ``TrainingData``, ``state`` a dict of arrays). "base"
means ``TrainedEstimator`` has a default, "mixins" that ``GradientMixin`` /
``SupervisedMixin`` or a target mixin of ``_targets`` fill it in:

================================ ============== ========================================
hook                             defined by     what it gives
================================ ============== ========================================
``_initial_state(data, init)``   family         a fresh state (``init``: fit's starting
                                                point arguments, e.g. ``coef_init``)
``_continue_state(data, init)``  family         a working copy of ``self._state``,
                                                checked against the data
``_make_problem(data, state)``   family         the problem the driver trains
``_fitted_attributes(state)``    family         the public fitted attributes (copies)
``_finish_fit(problem, data)``   base, family   attributes computed once training
                                                ends (k-means refinement, labels)
``_state_dtype()``               base, family   dtype the fitted state computes in
                                                (None: any input dtype)
``_input_dtypes()``              base           dtypes a continuing call takes as they
                                                are
``_validate_fit_data(...)``      base, mixins   validated ``(X, y, sample_weight)``
``_prepare_data(...)``           base, mixins   the ``TrainingData`` (targets and the
                                                validation split: SupervisedMixin)
``_encode_targets``,             mixins         encoded targets and class weights, the
``_score_outputs``,                             score of raw outputs, the labels a
``_stratify``,                                  split is stratified by, whether a first
``_needs_classes``                              partial_fit needs ``classes``
``_validation_set``,             mixins, family the held-out data, and its form for
``_validation_problem``                         the problem (Autoencoder,
                                                MLPClassifier adapt them)
``_begin_progress(...)``         base, mixins   starting rate, optimizer switch
``_resolve_eta0``,               mixins, family the starting rate and what it depends
``_eta0_param``                                 on (linear models: ``eta0="auto"``)
``_schedule(progress)``          base, mixins,  the learning-rate fields of Settings
                                 family         (clustering: ``_schedule_power``)
``_monitors_validation()``       base, mixins   stop on the validation loss
``_check_settings()``            base, mixins   checks across parameters
``_max_epochs(problem)``         base, family   driver epochs of a fit (``max_iter``;
                                                embeddings: blocks of passes)
``_divergence_note(data)``       base, mixins   what in the data may have made a run
                                                diverge (a huge regression target)
``_warm_start_gap()``            base, mixins   why a warm-started fit would not go on
                                                as one longer fit (the halving search
                                                of ``model_selection`` asks)
``_relative_tol``,               class flags    see ``Settings`` (k-means: a scale-free
``_check_growth``                               tol, no growth check)
================================ ============== ========================================
"""

import copy
import operator
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._callback_tasks import CallbackSupportMixin, EpochTasks, callbacks_listen
from ._callback_tasks import with_callbacks
from ._data import TrainingData, plain_rows, plain_weights
from ._training import DivergenceError, Settings, TrainingState, mark_best, new_progress
from ._training import train
from .callbacks import Callback

# Attributes scikit-learn's callback protocol keeps on an estimator during a fit: not
# part of a fitted copy, and not rolled back when a fit fails (its teardown needs them).
_CALLBACK_RUNTIME = ("_callback_fit_ctx", "_skl_callbacks_to_teardown",
                     "_parent_callback_ctx")

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

# The layout of the fitted training state (``_state``, ``_progress``); a model from
# another layout predicts, but is not continued (partial_fit, warm_start).
STATE_VERSION = 2


_PARAMETER_NAMES = {}


def _parameter_names(cls):
    """scikit-learn's ``cls._get_param_names()``, looked up once per class: it
    inspects ``__init__``'s signature, 0.3 ms for our estimators, at every
    ``get_params`` (``clone``, parameter validation, repr)."""
    names = _PARAMETER_NAMES.get(cls)
    if names is None:
        names = _PARAMETER_NAMES[cls] = tuple(BaseEstimator._get_param_names.__func__(cls))
    return names


class CachedParameterNames:
    """Mixin (before ``BaseEstimator``): the parameter names from
    ``_parameter_names``, so that ``clone``, ``get_params`` and the parameter checks
    of a stream's many calls do not inspect ``__init__`` each time."""

    @classmethod
    def _get_param_names(cls):
        return list(_parameter_names(cls))


class TrainedEstimator(CachedParameterNames, CallbackSupportMixin, BaseEstimator):
    """Base class of every estimator trained by the shared driver (not public)."""

    _parameter_constraints = {
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, None, None, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    _accept_sparse = "csr"
    _relative_tol = False  # see Settings.relative_tol
    _check_growth = True  # see Settings.check_growth

    # -- hooks (see the module docstring) -----------------------------------------------

    def _initial_state(self, data, init):
        raise NotImplementedError

    def _continue_state(self, data, init):
        raise NotImplementedError

    def _make_problem(self, data, state):
        raise NotImplementedError

    def _fitted_attributes(self, state):
        raise NotImplementedError

    def _finish_fit(self, problem, data):
        return {}

    def _state_dtype(self):
        return self._state["params"].dtype

    def _check_settings(self):
        pass

    def _max_epochs(self, problem):
        """Driver epochs of a fit: ``max_iter`` (embeddings count blocks of passes)."""
        return self.max_iter

    def _warm_start_gap(self):
        """Why a fit with ``warm_start=True`` would not go on exactly as one longer
        fit would (a sentence), or None when it would. A search that continues
        candidates across rungs (``model_selection``) refuses such settings."""
        return None

    def _monitors_validation(self):
        return False

    def _divergence_note(self, data):
        """What in this call's data may have made training diverge (or None); asked
        only when it diverges."""
        return None

    def _schedule(self, progress):
        """The learning-rate fields of ``Settings``: a constant rate by default."""
        return {"learning_rate": "constant", "eta0": float(progress["eta0"]),
                "alpha": 0.0, "power_t": 0.5, "lr_decay": 1.0, "warmup": 0.0}

    def _begin_progress(self, progress, state, data, continuing):
        """Set the run's rates in ``progress`` for this call."""
        if progress["eta0"] is None:  # a model without a learning rate
            progress["eta0"] = progress["eta"] = 1.0
        if not data.incremental:
            # epoch-based schedules (cosine, exponential, warm-up, adaptive) and the
            # callbacks' rate factor start over with every fit, also a warm-started
            # one; step counts carry on
            progress["schedule_start"] = progress["epoch"]
            progress["eta"] = progress["eta0"]
            progress["lr_scale"] = 1.0

    # -- input ----------------------------------------------------------------------------

    def _validate_fit_data(self, X, y, sample_weight, reset):
        """Validated ``(X, y, sample_weight)`` of a model without targets."""
        if reset or not plain_rows(self, X, self._input_dtypes()):
            X = validate_data(self, X, reset=reset, accept_sparse=self._accept_sparse,
                              dtype=[np.float64, np.float32], order="C")
        return X, y, self._row_weights(sample_weight, X)

    def _input_dtypes(self):
        """The dtypes a continuing call takes as they are (others are converted)."""
        dtype = self._state_dtype()
        return _FLOAT_DTYPES if dtype is None else (dtype,)

    @staticmethod
    def _row_weights(sample_weight, X):
        n_rows = X.shape[0]
        if sample_weight is None:
            return np.ones(n_rows)
        if plain_weights(sample_weight, n_rows):
            return sample_weight
        return np.ascontiguousarray(_check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True))

    def _prepare_data(self, X, y, sample_weight, incremental, continuing):
        """The call's ``TrainingData``: validated input and row weights."""
        X, y, sample_weight = self._validate_fit_data(
            X, y, sample_weight, reset=not (incremental and continuing))
        if X.shape[0] == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        model_dtype = self._state_dtype() if continuing else None
        if model_dtype is not None and X.dtype != model_dtype:
            # the model keeps the precision it was trained in: this call's data is
            # converted to it (a float32 chunk must not downcast a float64 model)
            X = X.astype(model_dtype)
        return TrainingData(X=X, y=y, sample_weight=sample_weight, incremental=incremental)

    # -- parameters ----------------------------------------------------------------------

    def _check_params(self):
        """scikit-learn's parameter validation, on every call.

        Skipped when every parameter is the very object that passed it on the last
        call (a stream of one-row partial_fit calls would spend 0.1 ms a call on it).
        The constraints check values and types, which an object keeps. The values
        that passed are held in ``_checked_params`` (so their identities cannot be
        reused), which pickles and copies leave out.
        """
        check_params_once(self)

    def __getstate__(self):
        state = dict(super().__getstate__())  # (a copy: object's is __dict__ itself)
        state.pop("_checked_params", None)
        return state

    def __copy__(self):
        """A shallow copy with its own history (the history grows in place), its own
        progress, and parameters to be checked again."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__getstate__())
        if "history_" in twin.__dict__:
            twin.history_ = [dict(row) for row in self.history_]
            twin._progress = dict(self._progress)
        return twin

    def _continues(self, incremental):
        """Whether this call goes on from the fitted state (partial_fit, warm_start)."""
        if not hasattr(self, "_state"):
            return False
        continues = incremental or ("warm_start" in self._parameter_constraints
                                    and bool(self.warm_start))
        if continues and self.__dict__.get("_state_version") != STATE_VERSION:
            raise ValueError(
                f"This {type(self).__name__} was fitted by an older sklearn_train, whose "
                "training state this version cannot continue: fit it again (it still "
                "predicts).")
        return continues

    def _settings(self, progress):
        return Settings(
            **self._schedule(progress),
            max_iter=int(self.max_iter),
            tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change),
            early_stopping=self._monitors_validation(),
            verbose=int(self.verbose),
            relative_tol=self._relative_tol,
            check_growth=self._check_growth,
        )

    # -- the training call ----------------------------------------------------------------

    def _fit_common(self, X, y, **kwargs):
        """Train as ``_train`` does; a call that fails leaves the estimator as it was."""
        if callbacks_listen(self):
            return self._train_with_sklearn_callbacks(X, y, **kwargs)
        return self._guarded_train(X, y, **kwargs)

    @with_callbacks
    def _train_with_sklearn_callbacks(self, X, y, **kwargs):
        return self._guarded_train(X, y, **kwargs)

    def _guarded_train(self, X, y, **kwargs):
        """``_train``, undone when it fails.

        Validation sets ``n_features_in_`` and ``classes_`` before training starts,
        so an error (bad targets, a diverging run) would otherwise leave a
        half-updated estimator. The history is appended to in place, so a failed
        call takes its rows out again.
        """
        before = dict(self.__dict__)
        history = before.get("history_")
        n_rows = None if history is None else len(history)
        try:
            return self._train(X, y, **kwargs)
        except BaseException:
            runtime = {key: self.__dict__[key] for key in _CALLBACK_RUNTIME
                       if key in self.__dict__}
            self.__dict__.clear()
            self.__dict__.update(before)
            self.__dict__.update(runtime)
            if history is not None:
                del history[n_rows:]
            raise

    def _train(self, X, y, *, incremental, sample_weight=None, init=None, **fit_data):
        """Validate, start or continue the state, train, store fitted attributes."""
        live = {}  # the call's problem and run, once they exist (for model copies)
        problem, progress, data, continuing = self._start_call(
            X, y, incremental, sample_weight, init, live, **fit_data)
        run, tasks = self._run_epochs(problem, progress, data, continuing, live)
        self._commit(problem, run, data, tasks)
        return self

    def _start_call(self, X, y, incremental, sample_weight=None, init=None, live=None,
                    *, continuing=None, **fit_data):
        """Steps 1-3 of ``_train``: checked parameters, the call's data, its state and
        progress, and the problem over them; returns ``(problem, progress, data,
        continuing)``. ``lr_find`` drives the problem step by step. ``live``
        receives the problem (and, from ``_run_epochs``, the run) that model copies
        for scorers are made from; ``continuing`` None decides as ``fit`` does."""
        self._check_params()
        self._check_settings()
        if continuing is None:
            continuing = self._continues(incremental)
        if not continuing:
            self._seed = int(check_random_state(self.random_state).randint(
                np.iinfo(np.int32).max))
        data = self._prepare_data(X, y, sample_weight, incremental, continuing,
                                  **fit_data)
        state, progress = self._begin(data, continuing, init or {})
        live = {} if live is None else live
        data.current_model = lambda: self._copy_at(live["problem"], live["run"], False)
        problem = live["problem"] = self._make_problem(data, state)
        if "_anchor_penalty" in self.__dict__:  # (set by continual.ContinualLearner)
            problem.set_anchor(self._anchor_penalty)
        problem.divergence_note = lambda: self._divergence_note(data)
        return problem, progress, data, continuing

    def _begin(self, data, continuing, init):
        """The working state and progress of this call."""
        if continuing:
            state = self._continue_state(data, init)
            progress = dict(self._progress)
        else:
            state = self._initial_state(data, init)
            progress = new_progress()
        self._begin_progress(progress, state, data, continuing)
        return state, progress

    def _run_epochs(self, problem, progress, data, continuing, live):
        """Train this call's epochs; returns the ``TrainingState`` and scikit-learn's
        callback tasks (None when none listens)."""
        incremental = data.incremental
        history = self.history_ if continuing else []
        callbacks = self._callbacks_for(continuing and incremental)
        run = live["run"] = TrainingState(self, problem, progress, history,
                                          lambda: self._copy_at(problem, run),
                                          incremental)
        run._callbacks = callbacks
        max_epochs = 1 if incremental else self._max_epochs(problem)
        tasks = None
        if callbacks_listen(self):
            metadata = (None if np.all(data.sample_weight == 1.0)
                        else {"sample_weight": data.train_part(data.sample_weight)})
            tasks = EpochTasks(self, _rows_of(data.X, data.rows),
                               _rows_of(data.y, data.rows), metadata, max_epochs,
                               lambda: self._fitted_attributes(problem.state))
        train(problem, self._settings(progress), progress, max_epochs,
              stop=not incremental, run=run, callbacks=callbacks, tasks=tasks)
        return run, tasks

    def _commit(self, problem, run, data, tasks):
        """Store the fitted attributes: the working state itself (no copy), the
        history with its best row marked."""
        final = self._finish_fit(problem, data)
        attributes = self._fitted_attributes(problem.state)
        _check_finite(attributes)
        if tasks is not None:
            tasks.end()
        attributes.update(self._training_attributes(problem, problem.state,
                                                    run._progress, run.history, run))
        attributes.update(final)
        self.__dict__.update(attributes)

    def _training_attributes(self, problem, state, progress, history, run):
        return {
            "_state": state,
            "_state_version": STATE_VERSION,
            "_progress": progress,
            "history_": history,
            "best_epoch_": mark_best(history, progress, run.restored_epoch, run.n_epochs),
            "n_iter_": run.n_epochs,
            "t_": problem.steps_done(),
            "callbacks_": run._callbacks,
        }

    def _copy_at(self, problem, run, full=True):
        """A fitted copy of the estimator at the problem's present parameters; with
        ``full`` also its training state and history (callbacks, checkpoints), else
        only what predicts (scorers)."""
        # (not copy.copy: a light copy only predicts, and shares the history)
        model = type(self).__new__(type(self))
        model.__dict__.update(self.__dict__)
        for key in (*_CALLBACK_RUNTIME, "_checked_params"):
            model.__dict__.pop(key, None)
        model.__dict__.update(self._fitted_attributes(problem.state))
        if full:
            history = [dict(row) for row in run.history]
            model.__dict__.update(self._training_attributes(
                problem, problem.save(), dict(run._progress), history, run))
        return model

    def _callbacks_for(self, continuing):
        """Deep copies of ``callbacks`` for a new run; a run of partial_fit keeps its own."""
        if continuing and hasattr(self, "callbacks_"):
            # copies, committed with the other fitted attributes only if the call
            # succeeds (a failed call leaves the callbacks as they were)
            return copy.deepcopy(self.callbacks_) if self.callbacks_ else []
        if not self.callbacks:
            return []
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks must be sklearn_train.callbacks.Callback instances; got "
                    f"{callback!r}. scikit-learn's own callbacks (sklearn.callback) go "
                    "through set_callbacks(...)."
                )
        return copy.deepcopy(list(self.callbacks))


_PARAMETER_GETTERS = {}


def check_params_once(estimator):
    """``estimator._validate_params()`` unless every parameter is the very object
    that passed it on the last call (see ``TrainedEstimator._check_params``)."""
    values = parameter_values(estimator)
    checked = estimator.__dict__.get("_checked_params")
    if checked is not None and same_objects(values, checked):
        return
    estimator._validate_params()
    estimator._checked_params = values


def parameter_values(estimator):
    """The tuple of ``estimator``'s parameter values, read at C speed (a one-row
    call reads them every time: a Python loop over the names cost microseconds)."""
    getter = _PARAMETER_GETTERS.get(type(estimator))
    if getter is None:
        names = _parameter_names(type(estimator))
        if not names:
            def getter(_):
                return ()
        else:
            read = operator.attrgetter(*names)
            getter = read if len(names) > 1 else (lambda obj: (read(obj),))
        _PARAMETER_GETTERS[type(estimator)] = getter
    return getter(estimator)


def same_objects(values, previous):
    """Whether two tuples hold the very same objects, position by position."""
    return len(values) == len(previous) and all(map(operator.is_, values, previous))



def _check_finite(attributes):
    """The promise behind every fit: no NaN or infinite fitted parameter, whatever
    path training took (the call then fails and leaves the estimator as it was)."""
    for name, value in attributes.items():
        arrays = value if isinstance(value, list) else [value]
        for array in arrays:
            if (isinstance(array, np.ndarray) and array.dtype.kind == "f"
                    and not np.isfinite(array).all()):
                raise DivergenceError(
                    f"Training diverged: {name} became infinite or NaN. Scale the "
                    "features and the target, or lower eta0.")


def _rows_of(data, rows):
    """``data`` itself, or a callable slicing the training rows out when asked."""
    if rows is None:
        return data
    return lambda: data[rows]
