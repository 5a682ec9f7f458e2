"""Benchmark: our KMeans and GaussianMixture against scikit-learn's, in one process.

KMeans: ``make_blobs(200_000, 50, centers=50)``, against ``MiniBatchKMeans`` (the
peer: mini-batch k-means) and full ``KMeans`` (Lloyd), every library at its
defaults except the number of clusters and the seed. Each repeat uses a new seed,
the same for all three; fit time medians, inertia medians and worst cases.

GaussianMixture: ``make_blobs(200_000, 20, centers=10)``, 150,000 rows to fit and
50,000 held out, against scikit-learn's batch-EM ``GaussianMixture`` at its defaults
(k-means initialisation, tol 1e-3), for each covariance type: fit time and the
held-out mean log-likelihood.

Timings alternate ours and the peers; nothing else should run meanwhile (BLAS
threads of both libraries are disturbed by any other load on a small machine).

Run from the repository root: ``python benchmarks/bench_cluster.py [--quick]``.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture as SklearnMixture

from sklearn_train import GaussianMixture, KMeans

try:  # shared helpers of the linear benchmark
    from bench_linear import machine, table
except ImportError:  # run from elsewhere
    from benchmarks.bench_linear import machine, table


def timed(make, X):
    started = time.perf_counter()
    model = make().fit(X)
    return time.perf_counter() - started, model


def kmeans_section(n_rows, repeats, dtype):
    X, _ = make_blobs(n_rows, 50, centers=50, random_state=0)
    X = X.astype(dtype)
    KMeans(50, random_state=0, max_iter=1).fit(X[:2000])  # compile outside the timings
    models = {
        "ours KMeans": lambda seed: KMeans(50, random_state=seed),
        "scikit-learn MiniBatchKMeans": lambda seed: MiniBatchKMeans(50, random_state=seed),
        "scikit-learn KMeans (Lloyd)": lambda seed: SklearnKMeans(50, random_state=seed),
    }
    times = {name: [] for name in models}
    inertia = {name: [] for name in models}
    for seed in range(repeats):
        for name, make in models.items():
            seconds, model = timed(lambda: make(seed), X)
            times[name].append(seconds)
            inertia[name].append(float(model.inertia_))
    peer = statistics.median(times["scikit-learn MiniBatchKMeans"])
    rows = []
    for name in models:
        median = statistics.median(times[name])
        rows.append([name, f"{median:.3f}", f"{median / peer:.2f}",
                     f"{statistics.median(inertia[name]):.6g}",
                     f"{max(inertia[name]):.6g}"])
    no_worse = sum(ours <= mb * (1 + 1e-9) for ours, mb in zip(
        inertia["ours KMeans"], inertia["scikit-learn MiniBatchKMeans"]))
    print(f"\n### KMeans: make_blobs({n_rows}, 50, centers=50), {np.dtype(dtype).name}, "
          f"50 clusters, median of {repeats} seeds\n")
    print(table(["model", "fit s", "ratio to MiniBatchKMeans", "inertia (median)",
                 "inertia (worst seed)"], rows))
    print(f"\nOur inertia no worse than MiniBatchKMeans's in {no_worse} of {repeats} seeds.")


def mixture_section(n_rows, repeats):
    X, _ = make_blobs(n_rows, 20, centers=10, random_state=0)
    split = n_rows * 3 // 4
    train, held_out = X[:split], X[split:]
    for kind in ("full", "diag", "spherical"):  # compile outside the timings
        GaussianMixture(10, covariance_type=kind, max_iter=1, tol=None).fit(train[:3000])
    rows = []
    for kind in ("full", "diag", "spherical"):
        models = {
            "ours": lambda seed: GaussianMixture(10, covariance_type=kind,
                                                 random_state=seed),
            "scikit-learn": lambda seed: SklearnMixture(10, covariance_type=kind,
                                                        random_state=seed),
        }
        times = {name: [] for name in models}
        scores = {name: [] for name in models}
        epochs = []
        for seed in range(repeats):
            for name, make in models.items():
                seconds, model = timed(lambda: make(seed), train)
                times[name].append(seconds)
                scores[name].append(model.score(held_out))
                if name == "ours":
                    epochs.append(model.n_iter_)
        peer_time = statistics.median(times["scikit-learn"])
        peer_score = statistics.mean(scores["scikit-learn"])
        for name in models:
            median = statistics.median(times[name])
            score = statistics.mean(scores[name])
            gap = 100 * (peer_score - score) / abs(peer_score)
            rows.append([kind, name, f"{median:.3f}", f"{median / peer_time:.2f}",
                         f"{score:.5f}", f"{gap:.4f}",
                         f"{statistics.median(epochs)}" if name == "ours" else ""])
    print(f"\n### GaussianMixture: make_blobs({n_rows}, 20, centers=10), 10 components, "
          f"{split} rows fitted, {n_rows - split} held out, median of {repeats} seeds\n")
    print(table(["covariance", "model", "fit s", "ratio to scikit-learn",
                 "held-out log-likelihood (mean)", "gap to scikit-learn, %",
                 "our epochs"], rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less data, 2 repeats")
    args = parser.parse_args()
    n_rows, repeats = (40_000, 2) if args.quick else (200_000, 5)
    warnings.simplefilter("ignore")  # convergence notices of the peers
    print(f"Machine: {machine()}")
    kmeans_section(n_rows, repeats, np.float64)
    kmeans_section(n_rows, repeats, np.float32)
    mixture_section(n_rows, 3 if not args.quick else 2)


if __name__ == "__main__":
    main()
