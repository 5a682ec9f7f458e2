"""Benchmark: our MLPClassifier against scikit-learn's, side by side in one process.

Same architecture, optimizer (Adam, rate 0.001), batch size, number of epochs and
shuffling; no L2 penalty on either side (scikit-learn divides its ``alpha`` by the
batch size, ours does not, so ``alpha=0`` is the one setting meaning the same).
Each fit runs exactly ``epochs`` epochs (tolerance stops off). Timings alternate
ours and the peer, in float64 and float32 (both keep float32 input in float32), and
report medians; each repeat uses a new seed, the same for all, and accuracies on a
held-out quarter are averaged over them.

Also measured: the floating-point work of an epoch and the machine's matrix-multiply
speed on the same shapes (NumPy's BLAS), to say how close to the BLAS speed we run.

Run from the repository root: ``python benchmarks/bench_mlp.py [--quick]``.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

from sklearn_train import MLPClassifier

try:  # shared helpers of the linear benchmark
    from bench_linear import machine, table
except ImportError:  # run from elsewhere
    from benchmarks.bench_linear import machine, table


def seconds(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ours(hidden, batch_size, epochs):
    return MLPClassifier(hidden, batch_size=batch_size, max_iter=epochs, tol=None, alpha=0.0,
                         eta0=0.001, random_state=0)


def peer(hidden, batch_size, epochs):
    return SklearnMLP(hidden, batch_size=batch_size, max_iter=epochs, tol=0.0,
                      n_iter_no_change=epochs + 1, alpha=0.0, learning_rate_init=0.001,
                      random_state=0)


def epoch_flops(n_rows, sizes):
    """Multiply-adds x 2 of one epoch: forward, weight gradients, and the gradient
    passed down (not below the first layer)."""
    flops = 0
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        products = 3 if layer > 0 else 2
        flops += products * 2 * n_rows * n_in * n_out
    return flops


def gemm_speed(rows, sizes, dtype, repeats=200):
    """GFLOP/s of NumPy's BLAS on the forward products of one mini-batch."""
    rng = np.random.default_rng(0)
    A = [rng.random((rows, n_in)).astype(dtype) for n_in in sizes[:-1]]
    W = [rng.random((n_in, n_out)).astype(dtype) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    work = sum(2 * rows * a.shape[1] * w.shape[1] for a, w in zip(A, W))

    def run():
        for a, w in zip(A, W):
            a @ w

    run()
    best = min(seconds(lambda: [run() for _ in range(repeats)]) for _ in range(3))
    return work * repeats / best / 1e9


def compare(name, X, y, hidden, batch_sizes, epochs, repeats):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    X32, X_test32 = X_train.astype(np.float32), X_test.astype(np.float32)
    n_classes = np.unique(y).shape[0]
    sizes = [X.shape[1], *hidden, n_classes]
    rows = []
    for batch_size in batch_sizes:
        models = {
            "scikit-learn (float64)": (peer(hidden, batch_size, epochs), X_train, X_test),
            "scikit-learn (float32)": (peer(hidden, batch_size, epochs), X32, X_test32),
            "ours (float64)": (ours(hidden, batch_size, epochs), X_train, X_test),
            "ours (float32)": (ours(hidden, batch_size, epochs), X32, X_test32),
        }
        for model, X_fit, _ in models.values():  # compile and warm up
            model.set_params(max_iter=1).fit(X_fit[:2000], y_train[:2000])
            model.set_params(max_iter=epochs)
        times = {label: [] for label in models}
        accuracy = {label: [] for label in models}
        for repeat in range(repeats):
            # a new seed each repeat (same for everyone): accuracy is a mean over
            # initialisations, not one draw
            for label, (model, X_fit, X_eval) in models.items():
                model.set_params(random_state=repeat)
                times[label].append(seconds(lambda: model.fit(X_fit, y_train)))
                accuracy[label].append(model.score(X_eval, y_test))
        flops = epoch_flops(X_train.shape[0], sizes) * epochs
        for label in models:
            median = statistics.median(times[label])
            dtype = label.split("(")[1].rstrip(")")
            reference = statistics.median(times[f"scikit-learn ({dtype})"])
            float64 = statistics.median(times[label.replace("float32", "float64")])
            rows.append([batch_size, label, f"{median:.2f}", f"{median / reference:.2f}",
                         f"{float64 / median:.2f}",
                         f"{np.mean(accuracy[label]):.4f} ± {np.std(accuracy[label]):.4f}",
                         f"{flops / median / 1e9:.1f}"])
    gflops64 = gemm_speed(batch_sizes[0], sizes, np.float64)
    gflops32 = gemm_speed(batch_sizes[0], sizes, np.float32)
    title = (f"{name}: hidden layers {hidden}, Adam, {epochs} epochs, "
             f"{X_train.shape[0]} training rows, median of {repeats}")
    body = table(["batch", "model", "fit s", "ratio to scikit-learn (same dtype)",
                  "speed-up over its float64", f"test accuracy (mean ± sd, {repeats} seeds)",
                  "GFLOP/s achieved"], rows)
    body += (f"\n\nWork per epoch: {epoch_flops(X_train.shape[0], sizes) / 1e9:.2f} GFLOP. "
             f"NumPy's BLAS on the forward products of one batch of "
             f"{batch_sizes[0]}: {gflops64:.1f} GFLOP/s (float64), {gflops32:.1f} GFLOP/s "
             "(float32).")
    return title, body


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="less data, 2 repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 4
    n_rows = 12_000 if args.quick else 60_000
    print(f"Machine: {machine()}\n")
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = make_classification(n_rows, 100, n_informative=40, n_classes=10, random_state=0)
    title, body = compare(f"make_classification({n_rows}, 100, n_informative=40, "
                          "n_classes=10)", X, y, (128,), (200, 32), 10, repeats)
    print(f"### {title}\n\n{body}\n", flush=True)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    title, body = compare("digits (standardised)", X, y, (128, 64), (200, 32), 30,
                          repeats)
    print(f"### {title}\n\n{body}\n", flush=True)


if __name__ == "__main__":
    main()
