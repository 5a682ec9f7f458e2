"""What the clustering estimators share: unsupervised fitting through the driver."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._estimator import TrainedEstimator
from .._targets import NoTargets
from .._training import Settings


class BaseCluster(NoTargets, TrainedEstimator):
    """Base of the clustering models (not public).

    A clustering model runs on the shared driver (epochs, ``history_``, stopping on
    a plateau of the training loss, callbacks, ``partial_fit``) but brings its own
    update rule, so the driver's optimizer settings are fixed here rather than
    exposed as parameters.
    """

    _parameter_constraints = {
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    # Driver settings a clustering model does not expose (class attributes, not
    # parameters). No held-out loss: the stopping rule watches the training loss.
    optimizer = "sgd"
    warm_start = False
    early_stopping = False
    scoring = None
    _schedule = "constant"  # the step-size schedule handed to the kernel
    _relative_tol = False  # see Settings.relative_tol

    def fit(self, X, y=None, sample_weight=None):
        """Initialise (unless warm-starting), train by epochs of mini-batch steps until
        the stopping rule or ``max_iter``, then finish (see the class docstring).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : object
        """
        self._validate_params()
        return self._fit_common(X, None, sample_weight=sample_weight, classes=None,
                                incremental=False)

    def partial_fit(self, X, y=None, sample_weight=None):
        """One epoch of mini-batch steps over ``X``, continuing the model (the first
        call also initialises it from ``X``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self : object
        """
        if not hasattr(self, "_state"):
            self._validate_params()
        return self._fit_common(X, None, sample_weight=sample_weight, classes=None,
                                incremental=True)

    def _schedule_power(self):
        return 0.5

    def _check_settings(self):
        pass

    def _resolve_eta0(self, X, rows):
        return 1.0

    def _eta0_param(self):
        return 1.0

    def _settings(self, max_iter, eta0):
        return Settings(
            learning_rate=self._schedule, eta0=1.0, alpha=0.0,
            power_t=float(self._schedule_power()), lr_decay=1.0, warmup=0.0,
            max_iter=int(max_iter), tol=None if self.tol is None else float(self.tol),
            n_iter_no_change=int(self.n_iter_no_change), early_stopping=False,
            shuffle=True, verbose=int(self.verbose), relative_tol=self._relative_tol,
        )

    def _loss_code(self):
        return 0

    def _score_outputs(self, Z, y, sample_weight):
        raise NotImplementedError  # no validation data

    def _check_enough_rows(self, X, n_wanted, what):
        if X.shape[0] < n_wanted:
            raise ValueError(f"n_samples={X.shape[0]} should be >= {what}={n_wanted}.")

    @staticmethod
    def _check_weights(sample_weight):
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight is zero for every row: nothing to fit.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accept_sparse is not False
        return tags
