"""ForgettingMonitor: how well a continual learner still does on every task."""

import copy

import numpy as np


class ForgettingMonitor:
    """After every task, score the learner on each task's held-out set.

    A task callback of ``ContinualLearner`` (``callbacks=[ForgettingMonitor(...)]``;
    its hook ``on_task_end(learner)`` runs after each task is learned and
    consolidated). The learner keeps a copy of it in ``callbacks_``, which records:

    Parameters
    ----------
    eval_sets : list of (X, y)
        The held-out set of task ``j`` at position ``j``, in the order the tasks are
        learned. Scored with ``learner.score``: accuracy for a classifier, R² for a
        regressor. Shared, not copied, by the copies the learner makes.

    Attributes
    ----------
    accuracy_matrix_ : ndarray of shape (n_tasks_learned, n_eval_sets)
        ``R[i, j]``: the score on task ``j`` after learning task ``i`` (columns of
        tasks not learned yet show how much of them comes for free).
    average_accuracy_ : float
        The mean score over the tasks learned so far after the last one:
        ``mean(R[T-1, :T])``.
    backward_transfer_ : float
        ``mean over j < T-1 of R[T-1, j] - R[j, j]``: how learning later tasks
        changed the earlier ones (negative: forgetting); NaN after one task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.continual import ContinualLearner, ForgettingMonitor
    >>> X = np.random.default_rng(0).normal(size=(400, 2))
    >>> tasks = [(X[:200], X[:200, 0] > 0), (X[200:], X[200:, 0] + X[200:, 1] > 0)]
    >>> for ewc in (0.0, 10.0):
    ...     learner = ContinualLearner(
    ...         LinearClassifier(batch_size=10, random_state=0), ewc=ewc,
    ...         random_state=0, callbacks=[ForgettingMonitor(tasks)])
    ...     for X_task, y_task in tasks:
    ...         learner = learner.fit_task(X_task, y_task)
    ...     monitor = learner.callbacks_[0]
    ...     print(monitor.accuracy_matrix_, round(monitor.backward_transfer_, 3))
    [[0.945 0.795]
     [0.855 0.9  ]] -0.09
    [[0.945 0.795]
     [0.925 0.835]] -0.02

    With EWC the first task's accuracy drops 2 points instead of 9, at some cost
    on the second.
    """

    def __init__(self, eval_sets):
        self.eval_sets = eval_sets

    def on_task_end(self, learner):
        """Score ``learner`` on every held-out set; append the row."""
        row = np.array([learner.score(X, y) for X, y in self.eval_sets])
        rows = getattr(self, "accuracy_matrix_", np.empty((0, row.shape[0])))
        self.accuracy_matrix_ = np.vstack([rows, row])

    @property
    def average_accuracy_(self):
        R = self.accuracy_matrix_
        T = min(R.shape[0], R.shape[1])
        return float(np.mean(R[R.shape[0] - 1, :T]))

    @property
    def backward_transfer_(self):
        return backward_transfer(self.accuracy_matrix_)

    def __deepcopy__(self, memo):
        twin = copy.copy(self)  # the held-out sets are shared
        if hasattr(self, "accuracy_matrix_"):
            twin.accuracy_matrix_ = self.accuracy_matrix_.copy()
        return twin

    def __repr__(self):
        return f"ForgettingMonitor(eval_sets=<{len(self.eval_sets)} sets>)"


def backward_transfer(R):
    """``mean over j < T-1 of R[T-1, j] - R[j, j]`` of an accuracy matrix whose last
    row is after task ``T-1`` (tasks without a held-out set are skipped); NaN
    after one task."""
    R = np.asarray(R, dtype=np.float64)
    n = min(R.shape[1], R.shape[0] - 1)
    if n < 1:
        return float("nan")
    return float(np.mean(R[-1, :n] - np.diagonal(R)[:n]))
