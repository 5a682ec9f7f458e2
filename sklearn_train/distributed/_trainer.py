"""``DistributedTrainer``: ``fit_distributed`` as a meta-estimator."""

from sklearn.base import BaseEstimator, MetaEstimatorMixin, _clone_parametrized, clone

from .._delegate import DelegatingMixin
from ._fit import fit_distributed


class DistributedTrainer(DelegatingMixin, MetaEstimatorMixin, BaseEstimator):
    """Train a clone of ``estimator`` with ``fit_distributed``; predict with it.

    Usable wherever an estimator is: in a ``Pipeline`` (the steps before it run
    where the data is; pass it dask collections to keep the rows on the workers),
    with ``clone`` and ``GridSearchCV``.

    Parameters
    ----------
    estimator : estimator of ours
        See ``fit_distributed`` for the families it trains.
    client : distributed.Client or None, default=None
        None: the current client when ``fit`` runs. Clones share the client.
    sync, aggregate, n_partitions, federated, mu, client_fraction
        As in ``fit_distributed``.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone: an ordinary fitted estimator (predicts without dask).
    n_features_in_, classes_
        The fitted clone's.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_train import LinearRegressor
    >>> from sklearn_train.distributed import DistributedTrainer
    >>> X, y = load_diabetes(return_X_y=True)
    >>> with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, \\
    ...         Client(cluster):
    ...     model = make_pipeline(StandardScaler(), DistributedTrainer(
    ...         LinearRegressor(random_state=0))).fit(X, y)
    >>> round(model.score(X, y), 1)
    0.5
    """

    def __init__(self, estimator, *, client=None, sync="epoch", aggregate="mean",
                 n_partitions=None, federated=False, mu=0.0, client_fraction=1.0):
        self.estimator = estimator
        self.client = client
        self.sync = sync
        self.aggregate = aggregate
        self.n_partitions = n_partitions
        self.federated = federated
        self.mu = mu
        self.client_fraction = client_fraction

    def __getstate__(self):
        # a client is a live connection: a pickled trainer leaves it out (None: the
        # current client when it is fitted again)
        state = dict(self.__dict__)
        state["client"] = None
        return state

    def __sklearn_clone__(self):
        # a client is a connection, not a parameter value: clones share it
        client, self.client = self.client, None
        try:
            twin = _clone_parametrized(self)
        finally:
            self.client = client
        twin.client = client
        return twin

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit a clone of ``estimator`` on the cluster.

        Parameters
        ----------
        X, y, sample_weight
            As in ``fit_distributed`` (dask collections or in-memory data).
        **fit_params
            ``X_val``, ``y_val``: validation data scored on the client.

        Returns
        -------
        self : DistributedTrainer
        """
        unknown = set(fit_params) - {"X_val", "y_val"}
        if unknown:
            raise TypeError(f"Unexpected fit parameters {sorted(unknown)}: "
                            "DistributedTrainer.fit takes X_val and y_val.")
        estimator = clone(self.estimator)
        fit_distributed(estimator, X, y, client=self.client, sync=self.sync,
                        aggregate=self.aggregate, sample_weight=sample_weight,
                        n_partitions=self.n_partitions, federated=self.federated,
                        mu=self.mu, client_fraction=self.client_fraction, **fit_params)
        self.estimator_ = estimator
        self.n_features_in_ = estimator.n_features_in_
        for name in ("feature_names_in_", "classes_"):  # (none of an earlier fit's)
            if hasattr(estimator, name):
                setattr(self, name, getattr(estimator, name))
            else:
                self.__dict__.pop(name, None)
        return self
