"""scikit-learn's callback protocol (``sklearn.callback``, scikit-learn >= 1.9).

An estimator of ours takes scikit-learn's callbacks (``ProgressBar``,
``ScoringMonitor``, or any ``FitCallback``) through ``set_callbacks``, like
scikit-learn's own estimators, also when it sits in a ``Pipeline`` or a
``GridSearchCV`` that propagates them. A training call is one fit task with one
subtask per epoch; each epoch's end hands the callbacks a fitted copy of the
estimator at that epoch's parameters. With an older scikit-learn the mixin is empty
and nothing here runs.
"""

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    HAVE_SKLEARN_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9
    HAVE_SKLEARN_CALLBACKS = False

    class CallbackSupportMixin:
        """Placeholder: this scikit-learn has no callback protocol."""

    def with_callbacks(method):
        return method


def callbacks_listen(estimator):
    """Whether any scikit-learn callback can hear this call (set, or propagated)."""
    return HAVE_SKLEARN_CALLBACKS and (
        getattr(estimator, "_skl_callbacks", None) or hasattr(estimator, "_parent_callback_ctx")
    )


class EpochTasks:
    """Reports one training call to scikit-learn's callbacks, epoch by epoch.

    Parameters
    ----------
    estimator : estimator
    X, y : training data of the call (callables are evaluated once, when a
        callback asks for them)
    metadata : dict or None
        ``{"sample_weight": ...}`` when given.
    n_epochs : int
        Most epochs the call may run.
    fitted_attributes : callable
        Returns the fitted attributes of the present parameters
        (``{"coef_": ..., "intercept_": ...}``).
    """

    def __init__(self, estimator, X, y, metadata, n_epochs, fitted_attributes):
        self.estimator = estimator
        self.data = {"X": _once(X), "y": _once(y), "metadata": metadata}
        self.fitted_attributes = fitted_attributes
        self.context = estimator._init_callback_context(max_subtasks=n_epochs)
        self.context.call_on_fit_task_begin(estimator=estimator, **self.data)
        self.epoch = None

    def begin_epoch(self):
        self.epoch = self.context.subcontext(task_name="epoch")
        self.epoch.call_on_fit_task_begin(estimator=self.estimator, **self.data)

    def end_epoch(self):
        """End the epoch's task; True when a callback asks to stop."""
        return self.epoch.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes=self.fitted_attributes,
            **self.data,
        )

    def end(self):
        self.context.call_on_fit_task_end(
            estimator=self.estimator, reconstruction_attributes=self.fitted_attributes,
            **self.data,
        )


def _once(value):
    """A callable computing ``value()`` on first use only (or ``value`` itself)."""
    if not callable(value):
        return value
    cache = []

    def get():
        if not cache:
            cache.append(value())
        return cache[0]

    return get
