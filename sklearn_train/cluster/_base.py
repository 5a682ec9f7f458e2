"""What the clustering estimators share: unsupervised fitting through the driver."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._estimator import TrainedEstimator


class BaseCluster(TrainedEstimator):
    """Base of the clustering models (not public).

    A clustering model runs on the shared driver (epochs, ``history_``, stopping on
    a plateau of the training loss, callbacks, ``partial_fit``) with an update rule
    of its own: it uses the generic training flow only, with no optimizer, targets
    or validation set. ``_schedule_power`` sets the decay of the step sizes its
    kernel reads (none by default).
    """

    _parameter_constraints = {
        **TrainedEstimator._parameter_constraints,
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
    }

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
        return self._fit_common(X, None, incremental=False, sample_weight=sample_weight)

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
        return self._fit_common(X, None, incremental=True, sample_weight=sample_weight)

    def _schedule_power(self):
        return None

    def _schedule(self, progress):
        power = self._schedule_power()
        return {"learning_rate": "constant" if power is None else "invscaling",
                "eta0": 1.0, "alpha": 0.0,
                "power_t": 0.5 if power is None else float(power),
                "lr_decay": 1.0, "warmup": 0.0}

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
