"""Data-parallel and federated training on dask.distributed.

``fit_distributed(estimator, X, y, client=...)`` trains one of our estimators over
rows held by dask workers by averaging what the workers learn, with the driver
(schedules, ``history_``, callbacks, early stopping) on the client;
``DistributedTrainer`` wraps it as a meta-estimator (``Pipeline``, ``clone``);
``ServerOptimizer`` is a server-side optimizer over the averaged update (FedAdam,
FedAdagrad). Needs the ``dask`` extra: ``pip install "sklearn-train[dask]"``.
"""

from ._aggregate import ServerOptimizer
from ._fit import fit_distributed
from ._trainer import DistributedTrainer

__all__ = ["DistributedTrainer", "ServerOptimizer", "fit_distributed"]
