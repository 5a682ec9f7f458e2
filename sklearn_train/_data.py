"""The data of one training call, as every family's hooks receive it.

``TrainingData`` holds the validated input, the encoded targets, the row weights,
the held-out rows and validation set, and a slot for what a family derives from the
data (a neighbour graph, ...). ``split_validation`` draws the held-out rows.
``plain_rows`` is the quick check of a continuing ``partial_fit`` chunk: one row a
call must not pay scikit-learn's full input validation (about 0.1 ms) when the chunk
is already what that validation would return.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split


@dataclass
class TrainingData:
    """One call's validated data (see the module docstring).

    Attributes
    ----------
    X : ndarray or sparse matrix
        Input, all rows (``rows`` selects the training rows).
    y : array-like or None
        Targets as validated, for scorers and scikit-learn's callbacks.
    Y : ndarray of shape (n_samples, n_outputs) or None
        Encoded targets (float64); None for a model without targets.
    sample_weight : ndarray of shape (n_samples,)
        Row weights, class weights folded in.
    rows : ndarray of int or None
        Training rows (the rest is held out for validation); None for all.
    validation : tuple or None
        ``(X_val, y_val, Y_val, sample_weight_val)``.
    incremental : bool
        True in ``partial_fit``.
    extra : dict
        Family slot: what a family derives from the data for its problem.
    current_model : callable
        A fitted copy of the estimator at the present parameters, for scorers (set
        by the training flow once the call's problem exists).
    """

    X: object
    y: object = None
    Y: np.ndarray = None
    sample_weight: np.ndarray = None
    rows: np.ndarray = None
    validation: tuple = None
    incremental: bool = False
    extra: dict = field(default_factory=dict)
    current_model: object = None

    @property
    def n_outputs(self):
        return 0 if self.Y is None else self.Y.shape[1]

    @property
    def n_train(self):
        """Training rows (all rows but the held-out ones)."""
        return self.X.shape[0] if self.rows is None else self.rows.shape[0]

    def train_part(self, values):
        """``values`` (of one entry per row) restricted to the training rows."""
        return values if self.rows is None else values[self.rows]


def split_validation(n_samples, fraction, stratify, seed):
    """Sorted indices of a train / validation split of ``n_samples`` rows.

    Stratified by the labels ``stratify`` (None for regression). The validation set
    gets at least one row per class so that small data sets still split; when the
    classes are too small to stratify, the split falls back to a plain random one
    with a warning.
    """
    n_classes = 1 if stratify is None else np.unique(stratify).shape[0]
    n_val = max(int(np.ceil(fraction * n_samples)), n_classes)
    if n_samples - n_val < 1:
        raise ValueError(
            f"Cannot hold out a validation set (validation_fraction={fraction}) from "
            f"{n_samples} sample(s): early stopping needs more data, or pass X_val "
            "and y_val to fit."
        )
    indices = np.arange(n_samples)
    try:
        train, val = train_test_split(
            indices, test_size=n_val, stratify=stratify, random_state=seed
        )
    except ValueError as exc:
        warnings.warn(
            f"The validation split for early stopping is not stratified: {exc}",
            UserWarning,
        )
        train, val = train_test_split(indices, test_size=n_val, random_state=seed)
    return np.sort(train), np.sort(val)


def _all_finite(values):
    """Whether every entry is finite (a finite sum says so at the cost of a sum)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(values.sum())) or bool(np.isfinite(values).all())


def plain_rows(estimator, X, dtypes):
    """Whether ``X`` is exactly what ``validate_data(estimator, X, reset=False)``
    would return: a C-contiguous 2-D ndarray of one of ``dtypes`` with the fitted
    number of features and rows, all finite, for an estimator that saw no feature
    names. Anything else takes scikit-learn's full validation (and its messages)."""
    return (type(X) is np.ndarray and X.ndim == 2 and X.dtype in dtypes
            and X.flags.c_contiguous and X.shape[0] > 0
            and X.shape[1] == getattr(estimator, "n_features_in_", -1)
            and not hasattr(estimator, "feature_names_in_") and _all_finite(X))


def plain_weights(sample_weight, n_rows):
    """Whether ``sample_weight`` needs no conversion: None, or a float64 vector of
    ``n_rows`` finite, non-negative values, not all zero (else
    ``_check_sample_weight`` runs, and says what is wrong)."""
    if sample_weight is None:
        return True
    return (type(sample_weight) is np.ndarray and sample_weight.dtype == np.float64
            and sample_weight.shape == (n_rows,) and sample_weight.flags.c_contiguous
            and _all_finite(sample_weight) and not (sample_weight < 0).any()
            and sample_weight.any())
