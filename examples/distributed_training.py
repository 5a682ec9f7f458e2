"""Train on a dask cluster: data generated on the workers, models averaged per epoch.

Starts a ``LocalCluster`` of two worker processes on 127.0.0.1, draws 200,000 rows
of a classification problem partition by partition *on the workers* (the rows never
pass through this process), trains a ``LinearClassifier`` and an ``MLPClassifier``
with ``fit_distributed``, and prints their history and held-out accuracy (the
linear model is a baseline: the concept is not linear). Then the
same data as 4 federated clients, two sampled per round, with FedProx's proximal
term. Every fitted model is an ordinary estimator: it predicts here, without dask.

Run: ``python examples/distributed_training.py`` (under a minute on 2 cores, once the kernels are compiled).
"""

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from sklearn_train import LinearClassifier, MLPClassifier
from sklearn_train.distributed import fit_distributed

N_FEATURES = 20
ROWS_PER_PARTITION = 50_000
CONCEPT = np.random.default_rng(0).normal(size=(N_FEATURES, N_FEATURES))


def draw_rows(n_rows, seed):
    """Rows of one fixed concept (the same for every partition): the class is the
    sign of a product of two projections, which no linear model separates."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES)).astype(np.float32)
    projections = X @ CONCEPT[:, :2]
    score = projections[:, 0] * projections[:, 1] + 2.0 * rng.normal(size=n_rows)
    return X, (score > 0).astype(np.int64)


def on_workers(n_partitions):
    """A dask array of rows drawn on the workers, one chunk per partition."""
    blocks = [dask.delayed(draw_rows)(ROWS_PER_PARTITION, (1, p))
              for p in range(n_partitions)]
    X = da.concatenate([da.from_delayed(block[0], (ROWS_PER_PARTITION, N_FEATURES),
                                        np.float32) for block in blocks])
    y = da.concatenate([da.from_delayed(block[1], (ROWS_PER_PARTITION,), np.int64)
                        for block in blocks])
    return X, y


def main():
    X_test, y_test = draw_rows(50_000, 2)
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        X, y = on_workers(4)
        X, y = X.persist(), y.persist()  # drawn once, held by the workers
        for model in (LinearClassifier(random_state=0, max_iter=10),
                      MLPClassifier((32,), random_state=0, max_iter=20, tol=None)):
            fit_distributed(model, X, y, client=client)
            print(f"{type(model).__name__}: {model.n_iter_} epochs, "
                  f"{np.median([row['seconds'] for row in model.history_]):.2f} s per "
                  f"epoch, train loss {model.history_[-1]['train_loss']:.4f}, "
                  f"test accuracy {model.score(X_test, y_test):.4f}")
        federated = fit_distributed(
            MLPClassifier((32,), random_state=0, max_iter=20, tol=None), X, y,
            client=client, federated=True, client_fraction=0.5, mu=0.01)
        print(f"federated, 2 of 4 clients per round, mu=0.01: test accuracy "
              f"{federated.score(X_test, y_test):.4f}")
    # the models outlive the cluster: plain NumPy state
    print("predictions without dask:", federated.predict(X_test[:10]))


if __name__ == "__main__":
    main()
