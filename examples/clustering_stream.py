"""Cluster data that arrives in chunks, and follow a distribution that drifts.

1. KMeans on scikit-learn's digits (standardised): a full fit, then the same model
   learned chunk by chunk with ``partial_fit``; both scored by the adjusted Rand index
   against the digit labels and by their inertia.
2. A GaussianMixture following a stream whose two clusters move a little with every
   chunk: with ``forgetting_factor=0.9`` it keeps up, with the default running
   average (``forgetting_factor=1``) it lags behind.

Run: ``python examples/clustering_stream.py`` (a few seconds).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from sklearn_train import GaussianMixture, KMeans


def digits_by_chunks():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    full = KMeans(n_clusters=10, n_init=5, batch_size=256, refine=5, random_state=0)
    full.fit(X)
    print(f"KMeans.fit on digits: ARI {adjusted_rand_score(y, full.labels_):.3f}, "
          f"inertia {full.inertia_:.0f}, {full.n_iter_} epochs")

    stream = KMeans(n_clusters=10, batch_size=256, random_state=0)
    order = np.random.default_rng(0).permutation(X.shape[0])
    for chunk in np.array_split(order, 6):
        stream.partial_fit(X[chunk])
    labels = stream.predict(X)
    print(f"KMeans.partial_fit, 6 chunks: ARI {adjusted_rand_score(y, labels):.3f}, "
          f"inertia {-stream.score(X):.0f}, {stream.t_} mini-batch steps")


def drifting_stream(n_chunks=40, rows=500, step=0.25, seed=0):
    """Two Gaussian clusters, 6 apart, moving ``step`` to the right per chunk."""
    rng = np.random.default_rng(seed)
    start = np.array([[0.0, 0.0], [0.0, 6.0]])
    for i in range(n_chunks):
        centres = start + [step * i, 0.0]
        which = rng.integers(0, 2, rows)
        yield centres, centres[which] + rng.normal(size=(rows, 2))


def follow_a_drift():
    models = {
        "forgetting_factor=0.9": GaussianMixture(2, batch_size=100, forgetting_factor=0.9,
                                                 random_state=0),
        "no forgetting": GaussianMixture(2, batch_size=100, random_state=0),
    }
    for centres, chunk in drifting_stream():
        for model in models.values():
            model.partial_fit(chunk)
    print(f"\nDrifting stream: true centres now at x = {centres[0, 0]:.2f}")
    for name, model in models.items():
        means = model.means_[np.argsort(model.means_[:, 1])]
        lag = np.linalg.norm(means - centres, axis=1).max()
        print(f"GaussianMixture, {name}: means at x = {np.round(means[:, 0], 2)}, "
              f"lagging {lag:.2f} behind")


if __name__ == "__main__":
    digits_by_chunks()
    follow_a_drift()
