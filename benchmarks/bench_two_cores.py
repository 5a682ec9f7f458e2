"""Benchmark: how much faster two processes train than one on this machine, no dask.

The ceiling of ``bench_distributed.py``'s speed-up from 1 to 2 workers: each of two
processes trains the same model on its own half of the rows (1,000,000 x 50 float32,
as one partition of that benchmark), started together; against one process training
both halves one after the other. Their ratio is what the two cores give two
independent epoch kernels (shared memory bus and caches, the host's scheduling of
the virtual CPUs), before any dask round.

Threads: ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``NUMBA_NUM_THREADS`` are 1 in every process (set before NumPy is imported).

Run: ``python benchmarks/bench_two_cores.py [--rows 1000000] [--repeats 3]``.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _model(kind):
    from sklearn_train import LinearClassifier, MLPClassifier

    if kind == "linear":
        return LinearClassifier(random_state=0, max_iter=3, tol=None)
    return MLPClassifier((64,), random_state=0, max_iter=2, tol=None)


def _rows(n_rows, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 50)).astype(np.float32)
    return X, (X[:, :10].sum(axis=1) + rng.normal(size=n_rows) > 0).astype(np.int64)


def _train(kind, n_rows, seed, start, results):
    X, y = _rows(n_rows, seed)
    _model(kind).set_params(max_iter=1).fit(X[:2000], y[:2000])  # compiled / loaded
    start.wait()
    began = time.perf_counter()
    _model(kind).fit(X, y)
    results.put(time.perf_counter() - began)


def _run(kind, n_rows, n_processes):
    """Seconds until every one of ``n_processes`` processes trained its rows."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(n_processes), context.Queue()
    processes = [context.Process(target=_train, args=(kind, n_rows, seed, start, results))
                 for seed in range(n_processes)]
    for process in processes:
        process.start()
    times = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| model | one process, one half | two processes at once, one half each | "
          "speed-up of two halves (2 x alone / together) |")
    print("|---|---|---|---|")
    for kind in ("linear", "mlp"):
        alone, together = [], []
        for _ in range(args.repeats):  # alternating
            alone.append(_run(kind, args.rows, 1))
            together.append(_run(kind, args.rows, 2))
        alone, together = np.median(alone), np.median(together)
        print(f"| {kind} | {alone:.2f} s | {together:.2f} s | "
              f"{2 * alone / together:.2f}x |")


if __name__ == "__main__":
    main()
