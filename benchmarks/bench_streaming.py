"""Benchmark: the cost of one ``partial_fit`` call along a stream, ours against peers.

Online use (streams, bandits) calls ``partial_fit`` once per row, so the bookkeeping
of a call must not grow with the number of calls before it. Each stream is 20,000
one-row calls on ``make_classification`` (or ``make_regression``) data with 20
features; a call's time is taken around it with ``perf_counter``. Reported: the
median time of calls 51-150 ("call 100") and 19,901-20,000 ("call 20,000"), their
ratio (1.0: flat), and the ratio of ours to the peer's at each point. A batched
stream (100 rows a call, 200 calls) is reported too.

Peers, in the same process, alternating with ours, each stream repeated and the
medians taken over the repeats: scikit-learn's ``SGDClassifier``, ``SGDRegressor``,
``MLPClassifier`` and ``MiniBatchKMeans`` (their ``partial_fit``). BLAS runs on one
thread for every library (threadpoolctl), the size of one-row products.

Run from the repository root: ``python benchmarks/bench_streaming.py [--quick]``.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.neural_network import MLPClassifier as SklearnMLP
from threadpoolctl import threadpool_limits

from sklearn_train import KMeans, LinearClassifier, LinearRegressor, MLPClassifier

try:  # shared helpers of the linear benchmark
    from bench_linear import machine, table
except ImportError:  # run from elsewhere
    from benchmarks.bench_linear import machine, table

EARLY = slice(50, 150)  # "call 100"


def stream_times(make, X, y, rows_per_call, first_kwargs):
    """Seconds of each partial_fit call of one stream over all of ``X``."""
    model = make()
    times = []
    for call, start in enumerate(range(0, X.shape[0], rows_per_call)):
        stop = start + rows_per_call
        kwargs = first_kwargs if call == 0 else {}
        started = time.perf_counter()
        if y is None:
            model.partial_fit(X[start:stop], **kwargs)
        else:
            model.partial_fit(X[start:stop], y[start:stop], **kwargs)
        times.append(time.perf_counter() - started)
    return np.array(times)


def compare(title, models, X, y, first_kwargs, repeats, rows_per_call):
    """Alternate the models' streams ``repeats`` times; one table."""
    for make in models.values():  # compile and warm up outside the timings
        stream_times(make, X[:2000], y if y is None else y[:2000], rows_per_call,
                     first_kwargs)
    early = {name: [] for name in models}
    late = {name: [] for name in models}
    for _ in range(repeats):
        for name, make in models.items():
            times = stream_times(make, X, y, rows_per_call, first_kwargs)
            n_late = max(1, min(100, times.shape[0] // 10))
            early[name].append(np.median(times[EARLY] if times.shape[0] > 150
                                         else times[1:n_late + 1]))
            late[name].append(np.median(times[-n_late:]))
    peer = list(models)[-1]
    peer_early = statistics.median(early[peer])
    peer_late = statistics.median(late[peer])
    rows = []
    for name in models:
        e, l_ = statistics.median(early[name]), statistics.median(late[name])
        rows.append([name, f"{e * 1e6:.1f}", f"{l_ * 1e6:.1f}", f"{l_ / e:.2f}",
                     f"{e / peer_early:.2f}", f"{l_ / peer_late:.2f}"])
    n_calls = -(-X.shape[0] // rows_per_call)
    last = "last 10% of calls" if n_calls < 1000 else f"call {n_calls:,}"
    first = "call 100" if n_calls > 150 else "first 10% of calls"
    print(f"\n### {title}: {n_calls:,} calls of {rows_per_call} row(s), median of "
          f"{repeats} streams\n")
    print(table(["model", f"us / call at {first}", f"us / call at {last}",
                 "late / early", f"ratio to {peer} (early)", "ratio (late)"], rows))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 calls, 1 repeat")
    args = parser.parse_args()
    n_rows, repeats = (5_000, 1) if args.quick else (20_000, 3)
    warnings.simplefilter("ignore")
    print(f"Machine: {machine()}")
    X, y = make_classification(n_rows, 20, random_state=0)
    Xr, yr = make_regression(n_rows, 20, noise=1.0, random_state=0)
    classes = {"classes": np.unique(y)}
    with threadpool_limits(1):
        compare("Binary classification, one row a call", {
            "ours LinearClassifier": lambda: LinearClassifier(random_state=0),
            "SGDClassifier": lambda: SGDClassifier(random_state=0),
        }, X, y, classes, repeats, 1)
        compare("Binary classification, 100 rows a call", {
            "ours LinearClassifier": lambda: LinearClassifier(random_state=0),
            "SGDClassifier": lambda: SGDClassifier(random_state=0),
        }, X, y, classes, repeats, 100)
        compare("Regression, one row a call", {
            "ours LinearRegressor": lambda: LinearRegressor(random_state=0),
            "SGDRegressor": lambda: SGDRegressor(random_state=0),
        }, Xr, yr / 100, {}, repeats, 1)
        compare("Network (one hidden layer of 32), one row a call", {
            "ours MLPClassifier": lambda: MLPClassifier((32,), random_state=0),
            "scikit-learn MLPClassifier": lambda: SklearnMLP((32,), random_state=0),
        }, X, y, classes, repeats, 1)
        compare("k-means (8 clusters), 100 rows a call", {
            "ours KMeans": lambda: KMeans(8, random_state=0),
            "MiniBatchKMeans": lambda: MiniBatchKMeans(8, random_state=0, n_init=1),
        }, X, None, {}, repeats, 100)


if __name__ == "__main__":
    main()
