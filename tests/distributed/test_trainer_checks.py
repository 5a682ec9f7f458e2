"""scikit-learn's estimator checks on ``DistributedTrainer`` (fits on the session's
cluster, made the current client for them).

The only expected failures are those scikit-learn marks for SGDClassifier and
SGDRegressor: per-sample SGD makes a sample weight of 2 differ from a repeated row.
The inner estimators have a fixed ``random_state``: the trainer has none of its own
for ``set_random_state`` to set, and a search sets ``estimator__random_state``.
"""

import pytest
import scipy.sparse  # noqa: F401  (the checks build sparse inputs)
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_train import LinearClassifier
from sklearn_train.distributed import DistributedTrainer

pytest.importorskip("distributed")

EXPECTED_FAILURES = {
    name: "sample_weight is not equivalent to removing/repeating samples (marked the "
          "same for scikit-learn's SGD estimators)."
    for name in ("check_sample_weight_equivalence_on_dense_data",
                 "check_sample_weight_equivalence_on_sparse_data")
}


@pytest.fixture(autouse=True)
def _current(client):
    with client.as_current():
        yield


@parametrize_with_checks(
    # (one inner estimator: the trainer's own code is the same for every one, and
    # the checks of a regressor would add half a minute of cluster rounds)
    [DistributedTrainer(LinearClassifier(max_iter=2, random_state=0))],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES)
def test_sklearn_compatible(estimator, check):
    check(estimator)
