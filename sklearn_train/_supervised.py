"""What every model with targets and a validation set shares: ``SupervisedMixin``.

Validation of ``X`` with ``y``, the encoded targets and class weights (from the
target mixins of ``_targets``), the validation data (held out under
``early_stopping``, or ``X_val`` / ``y_val`` given to ``fit`` and ``partial_fit``) and
its score (``scoring``, or the estimator's own score of raw outputs).
"""

from numbers import Real

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._data import _all_finite, plain_rows, split_validation

SUPERVISED_PARAMETERS = {
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "scoring": [str, callable, None],
}


class SupervisedMixin:
    """Targets, validation data and scoring (mixed into a TrainedEstimator with a
    target mixin: ``_encode_targets``, ``_score_outputs``, ``_stratify``)."""

    _is_regressor = False
    _multi_output = False  # 2-D targets allowed (regressors, multilabel classifiers)

    def _monitors_validation(self):
        return bool(self.early_stopping)

    def _stratify(self, y):
        return None

    def _warm_start_gap(self):
        if self.early_stopping:
            return ("early_stopping=True restores the best epoch at the end of every "
                    "fit, so the next fit goes on from there, not from the last epoch")
        return super()._warm_start_gap()

    # -- input ----------------------------------------------------------------------------

    def _validate_fit_data(self, X, y, sample_weight, reset):
        if reset or not (plain_rows(self, X, self._input_dtypes())
                         and self._plain_targets(y, X.shape[0])):
            X, y = validate_data(
                self, X, y, reset=reset, accept_sparse=self._accept_sparse,
                dtype=[np.float64, np.float32], order="C",
                multi_output=self._is_regressor or self._multi_output,
                y_numeric=self._is_regressor,
            )
        return X, y, self._row_weights(sample_weight, X)

    def _plain_targets(self, y, n_rows):
        """Whether ``y`` is what scikit-learn's target validation would return: a
        numeric (or, for a classifier, string) ndarray of ``n_rows``, finite."""
        if type(y) is not np.ndarray or y.shape[0] != n_rows:
            return False
        if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 0
                                and (self._is_regressor or self._multi_output))):
            return False
        kinds = "biuf" if self._is_regressor else "biufU"
        return y.dtype.kind in kinds and (y.dtype.kind != "f" or _all_finite(y))

    def _needs_classes(self, y):
        return False

    def _prepare_data(self, X, y, sample_weight, incremental, continuing, classes=None,
                      X_val=None, y_val=None, sample_weight_val=None):
        if incremental and not continuing and classes is None and self._needs_classes(y):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        data = super()._prepare_data(X, y, sample_weight, incremental, continuing)
        Y, factor = self._encode_targets(data.y, classes, first_call=not continuing,
                                         weights_from_y="stream" if incremental else True)
        data.Y = Y
        if factor is not None:
            data.sample_weight = data.sample_weight * factor
        if not incremental or X_val is not None or y_val is not None:
            data.rows, data.validation = self._validation_set(
                data, X_val, y_val, sample_weight_val, classes)
        return data

    def _validation_set(self, data, X_val, y_val, sample_weight_val, classes):
        """Held-out data as ``(rows, (X_val, y_val, Y_val, weight_val))``;
        rows=None: train on all rows."""
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError("Pass both X_val and y_val, or neither.")
            X_val, y_val = validate_data(
                self, X_val, y_val, reset=False, accept_sparse=self._accept_sparse,
                dtype=data.X.dtype, order="C",
                multi_output=self._is_regressor or self._multi_output,
                y_numeric=self._is_regressor,
            )
            weight_val = np.ascontiguousarray(
                _check_sample_weight(sample_weight_val, X_val, dtype=np.float64))
            if np.any(weight_val < 0):
                raise ValueError("Negative values in data passed to `sample_weight_val`.")
            Y_val, factor = self._encode_targets(y_val, classes, first_call=False)
            if factor is not None:
                weight_val = weight_val * factor
            return None, (X_val, y_val, Y_val, weight_val)
        if not self.early_stopping:
            return None, None
        train_rows, val_rows = split_validation(
            data.X.shape[0], self.validation_fraction, self._stratify(data.y), self._seed
        )
        y = data.y
        # sample_weight already carries the class weights: do not apply them again
        Y_val, _ = self._encode_targets(y[val_rows], classes, first_call=False)
        return train_rows, (data.X[val_rows], y[val_rows], Y_val,
                            data.sample_weight[val_rows])

    def _validation_problem(self, data):
        """``(X_val, Y_val, weight_val, score)`` for the problem (None without
        validation data): ``score(Z)`` of raw validation outputs, by ``scoring`` on
        a fitted copy at the present parameters when it is set."""
        if data.validation is None:
            return None
        X_val, y_val, Y_val, weight_val = data.validation
        if self.scoring is None:
            def score(Z):
                return self._score_outputs(Z, y_val, weight_val)
        else:
            scorer = check_scoring(self, self.scoring)
            # only weighted data passes weights: a plain scorer(est, X, y) works too
            weights = {} if np.all(weight_val == 1.0) else {"sample_weight": weight_val}
            current_model = data.current_model

            def score(Z):
                return scorer(current_model(), X_val, y_val, **weights)

        return (X_val, np.ascontiguousarray(Y_val), np.ascontiguousarray(weight_val), score)

