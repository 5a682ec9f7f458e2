"""What every model trained by the core's optimizers shares: ``GradientMixin``.

The optimizer and schedule parameters and their checks, the optimizer's
hyper-parameters, the starting rate (``eta0``, resolved again when ``set_params``
changes it between ``partial_fit`` calls) and a fresh optimizer when the update rule
changes on a continued run (another rule's moments mean something else).
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._core.optimizers import ADAM, ADAGRAD, ADAMW, MOMENTUM, NESTEROV, RMSPROP, SGD
from ._core.optimizers import default_hyper
from ._core.schedules import EPOCH_SCHEDULES, SCHEDULES
from ._problems import reset_optimizer

OPTIMIZERS = {
    "sgd": SGD,
    "momentum": MOMENTUM,
    "nesterov": NESTEROV,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "adam": ADAM,
    "adamw": ADAMW,
}

# Numerical floor added to root-mean-square denominators (AdaGrad, RMSProp, Adam).
EPSILON = 1e-8

GRADIENT_PARAMETERS = {
    "optimizer": [StrOptions(set(OPTIMIZERS))],
    "learning_rate": [StrOptions(set(SCHEDULES))],
    "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "power_t": [Interval(Real, None, None, closed="neither")],
    "lr_decay": [Interval(Real, 0, 1, closed="right")],
    "warmup": [Interval(Real, 0, None, closed="left")],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "shuffle": ["boolean"],
}


class GradientMixin:
    """Optimizer parameters and rate bookkeeping (mixed into a TrainedEstimator
    whose state holds ``moments`` and the counters of ``_core.codes``)."""

    def _check_settings(self):
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "learning_rate='optimal' needs alpha > 0: its rate is 1 / (alpha * t)."
            )
        super()._check_settings()

    def _hyper(self):
        """The optimizer hyper-parameters (``optimizers.H_*``)."""
        return default_hyper(self.momentum, self.beta_1, self.beta_2, EPSILON)

    def _resolve_eta0(self, data):
        """The starting learning rate for this call's data."""
        return float(self.eta0)

    def _eta0_param(self):
        """What the starting rate is resolved from: a change resolves it again."""
        return self.eta0

    def _fresh_optimizer(self, state):
        """Start the optimizer over: zero moments, and a bias correction (Adam) that
        counts from the next step."""
        reset_optimizer(state)

    # -- drift reactions (sklearn_train.drift.DriftAdaptive), between calls ----------

    def _restart_optimizer(self):
        """Keep the parameters; start the optimizer and the step schedule over: zero
        moments, the rate of an ``invscaling``/``optimal`` schedule back at its first
        step, the ``adaptive`` rate back at ``eta0``."""
        reset_optimizer(self._state)
        self._progress["step_origin"] = int(self.t_)
        self._progress["eta"] = self._progress["eta0"]

    def _scale_rate(self, factor):
        """Multiply every scheduled rate of the coming calls by ``factor``."""
        self._progress["lr_scale"] = self._progress["lr_scale"] * factor

    def _begin_progress(self, progress, state, data, continuing):
        if continuing and progress["optimizer"] != self.optimizer:
            self._fresh_optimizer(state)
        progress["optimizer"] = self.optimizer
        if (not (data.incremental and continuing)
                or progress["eta0_param"] != self._eta0_param()):
            # (a partial_fit keeps the run's rate unless set_params changed eta0)
            progress["eta0"] = progress["eta"] = self._resolve_eta0(data)
            progress["eta0_param"] = self._eta0_param()
        super()._begin_progress(progress, state, data, continuing)

    def _warm_start_gap(self):
        # (_begin_progress: every fit, also a warm-started one, starts the epoch
        # count of the schedule and the adaptive rate over)
        if self.learning_rate in EPOCH_SCHEDULES:
            return (f"the {self.learning_rate!r} schedule starts over with every fit; "
                    "use a schedule of steps ('invscaling', 'constant', 'optimal')")
        if self.warmup > 0:
            return "the warm-up starts over with every fit; set warmup=0"
        if self.learning_rate == "adaptive" and self.tol is not None:
            return "the adaptive rate goes back to eta0 with every fit; set tol=None"
        return super()._warm_start_gap()

    def _schedule(self, progress):
        return {"learning_rate": self.learning_rate, "eta0": float(progress["eta0"]),
                "alpha": float(self.alpha), "power_t": float(self.power_t),
                "lr_decay": float(self.lr_decay), "warmup": float(self.warmup)}
