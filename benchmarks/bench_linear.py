"""Linear models side by side with scikit-learn, in one process, on this machine.

Each comparison alternates ours and the peer over several repeats and reports medians
and the ratio ours / peer (below 1: we are faster). Run from the repository root:

    python benchmarks/bench_linear.py            # prints Markdown tables
    python benchmarks/bench_linear.py --quick    # smaller data, for a smoke run

Nothing else should run on the machine meanwhile: with 2 cores, a second job halves
the memory bandwidth these kernels live on.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    LogisticRegression,
    QuantileRegressor,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.metrics import mean_pinball_loss
from sklearn.model_selection import train_test_split

import numba
from sklearn_train import LinearClassifier, LinearRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)


# -- timing helpers ----------------------------------------------------------------

def seconds(fn):
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def alternate(contenders, repeats):
    """Time each callable ``repeats`` times, interleaved; return the medians."""
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            times[name].append(seconds(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def fit_epochs(model, X, y, epochs):
    """A fitting callable: ``epochs`` full passes, the tolerance stop switched off."""
    return lambda: model.set_params(max_iter=epochs, tol=None).fit(X, y)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(value):
    return f"{value * 1e3:.1f}"


# -- data ----------------------------------------------------------------------------

def text_like(n_rows, n_cols, nnz_per_row, seed=0):
    """A CSR matrix with Zipf-distributed column frequencies, like bag-of-words data,
    and labels from a sparse linear rule with 5% label noise."""
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, n_cols + 1) ** 1.1
    columns = rng.choice(n_cols, size=n_rows * nnz_per_row, p=frequency / frequency.sum())
    rows = np.repeat(np.arange(n_rows), nnz_per_row)
    X = sp.csr_matrix((rng.random(rows.shape[0]), (rows, columns)), shape=(n_rows, n_cols))
    X.sum_duplicates()
    weights = rng.normal(size=n_cols) * (rng.random(n_cols) < 0.2)
    margin = X @ weights
    y = (margin > np.median(margin)).astype(int)
    flip = rng.random(n_rows) < 0.05
    y[flip] = 1 - y[flip]
    return X, y


# -- benchmarks ----------------------------------------------------------------------

def dense_binary(size, repeats):
    """Time per epoch, binary log loss, against SGDClassifier and the memory floor."""
    n = 200_000 // size
    X, y = make_classification(n, 100, n_informative=30, random_state=0)
    X_train, y_train = X[: n * 3 // 4], y[: n * 3 // 4]
    epochs = 5
    contenders = {
        "SGDClassifier (per sample)": fit_epochs(
            SGDClassifier(loss="log_loss", random_state=0), X_train, y_train, epochs),
        "ours sgd, batch 1": fit_epochs(
            LinearClassifier(optimizer="sgd", batch_size=1, random_state=0),
            X_train, y_train, epochs),
        "ours sgd, batch 32": fit_epochs(
            LinearClassifier(optimizer="sgd", batch_size=32, random_state=0),
            X_train, y_train, epochs),
        "ours default (adam, batch 32)": fit_epochs(
            LinearClassifier(random_state=0), X_train, y_train, epochs),
    }
    for fn in contenders.values():  # compile and warm up outside the timing
        fn()
    medians = alternate(contenders, repeats)
    floor = statistics.median(seconds(lambda: X_train.sum(axis=0)) for _ in range(repeats))
    peer = medians["SGDClassifier (per sample)"] / epochs
    rows = []
    for name, total in medians.items():
        per_epoch = total / epochs
        rows.append([name, ms(per_epoch), f"{per_epoch / peer:.2f}", f"{per_epoch / floor:.1f}"])
    rows.append(["stream X once (X.sum(axis=0))", ms(floor), "", "1.0"])
    title = (f"Dense binary log loss, make_classification({n}, 100, n_informative=30), "
             f"{X_train.shape[0]} training rows: time per epoch ({epochs} epochs, "
             f"median of {repeats})")
    return title, table(["model", "ms / epoch", "ratio to SGDClassifier",
                         "times the memory floor"], rows)


def time_to_lbfgs_accuracy(size, repeats):
    """Epochs and time until test accuracy is within 0.3 points of lbfgs."""
    n = 200_000 // size
    X, y = make_classification(n, 100, n_informative=30, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.75, random_state=0)
    reference = LogisticRegression(max_iter=1000)
    lbfgs_time = statistics.median(seconds(lambda: reference.fit(X_train, y_train))
                                   for _ in range(repeats))
    target = reference.score(X_test, y_test) - 0.003

    def epochs_needed(make, limit):
        """Epoch count after which the test accuracy first reaches the target.

        Counted with one partial_fit per epoch (the same schedule and state as fit);
        the time is then measured on a fresh fit with that many epochs.
        """
        model = make()
        for epochs in range(1, limit + 1):
            if epochs == 1 and hasattr(model, "classes_") is False:
                model.partial_fit(X_train, y_train, classes=np.unique(y_train))
            else:
                model.partial_fit(X_train, y_train)
            if model.score(X_test, y_test) >= target:
                return epochs
        return None

    rows = [["LogisticRegression (lbfgs)", "", ms(lbfgs_time), f"{target + 0.003:.4f}", "1.00"]]
    makers = {
        "ours default (adam, batch 32)": lambda: LinearClassifier(random_state=0),
        "ours adam, batch 256": lambda: LinearClassifier(batch_size=256, random_state=0),
        "ours sgd, batch 32, eta0=0.5": lambda: LinearClassifier(
            optimizer="sgd", eta0=0.5, random_state=0),
        "SGDClassifier (log_loss)": lambda: SGDClassifier(loss="log_loss", random_state=0),
    }
    for name, make in makers.items():
        epochs = epochs_needed(make, 100)
        if epochs is None:
            rows.append([name, "> 100", "", "", ""])
            continue
        model = make()
        fit_time = statistics.median(
            seconds(fit_epochs(model, X_train, y_train, epochs)) for _ in range(repeats))
        rows.append([name, epochs, ms(fit_time), f"{model.score(X_test, y_test):.4f}",
                     f"{fit_time / lbfgs_time:.2f}"])
    title = (f"Time to reach test accuracy within 0.3 points of lbfgs "
             f"({X_train.shape[0]} training rows x 100, median of {repeats})")
    return title, table(["model", "epochs", "fit ms", "test accuracy",
                         "ratio to lbfgs time"], rows)


def softmax_ten_classes(size, repeats):
    """10-class softmax against one-vs-rest SGDClassifier, same epochs."""
    n = 60_000 // size
    X, y = make_classification(n, 100, n_informative=40, n_classes=10, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.8, random_state=0)
    epochs = 10
    ours = LinearClassifier(random_state=0)
    peer = SGDClassifier(loss="log_loss", random_state=0)
    contenders = {
        "SGDClassifier (one-vs-rest)": fit_epochs(peer, X_train, y_train, epochs),
        "ours softmax, default (adam, batch 32)": fit_epochs(ours, X_train, y_train,
                                                             epochs),
    }
    for fn in contenders.values():
        fn()
    medians = alternate(contenders, repeats)
    accuracy = {"SGDClassifier (one-vs-rest)": peer.score(X_test, y_test),
                "ours softmax, default (adam, batch 32)": ours.score(X_test, y_test)}
    base = medians["SGDClassifier (one-vs-rest)"]
    rows = [[name, ms(t), f"{t / base:.2f}", f"{accuracy[name]:.4f}"]
            for name, t in medians.items()]
    title = (f"10-class log loss, make_classification({n}, 100, n_informative=40, "
             f"n_classes=10), {epochs} epochs, median of {repeats}")
    return title, table(["model", "fit ms", "ratio", "test accuracy"], rows)


def sparse_text(size, repeats):
    """Per-epoch time on sparse text-like data against SGDClassifier."""
    n, d = 100_000 // size, 50_000 // size
    X, y = text_like(n, d, 50)
    epochs = 5
    contenders = {
        "SGDClassifier (per sample)": fit_epochs(
            SGDClassifier(loss="log_loss", random_state=0), X, y, epochs),
        "ours sgd, batch 1": fit_epochs(
            LinearClassifier(optimizer="sgd", batch_size=1, random_state=0), X, y, epochs),
        "ours sgd, batch 32": fit_epochs(
            LinearClassifier(optimizer="sgd", random_state=0), X, y, epochs),
        "ours adam, batch 256 (dense steps)": fit_epochs(
            LinearClassifier(batch_size=256, random_state=0), X, y, epochs),
    }
    for fn in contenders.values():
        fn()
    medians = alternate(contenders, repeats)
    peer = medians["SGDClassifier (per sample)"]
    rows = [[name, ms(t / epochs), f"{t / peer:.2f}"] for name, t in medians.items()]
    title = (f"Sparse CSR {n} x {d}, {X.nnz / n:.0f} non-zeros per row "
             f"({X.nnz / (n * d):.2%} dense), log loss: time per epoch, median of {repeats}")
    return title, table(["model", "ms / epoch", "ratio to SGDClassifier"], rows)


def regression(size, repeats):
    """Squared error against SGDRegressor; quantile against QuantileRegressor."""
    n = 200_000 // size
    X, y = make_regression(n, 100, n_informative=30, noise=10, random_state=0)
    epochs = 5
    ours = LinearRegressor(random_state=0)
    peer = SGDRegressor(random_state=0)
    contenders = {"SGDRegressor (per sample)": fit_epochs(peer, X, y, epochs),
                  "ours sgd, batch 32 (default)": fit_epochs(ours, X, y, epochs)}
    for fn in contenders.values():
        fn()
    medians = alternate(contenders, repeats)
    base = medians["SGDRegressor (per sample)"]
    r2 = {"SGDRegressor (per sample)": peer.score(X, y),
          "ours sgd, batch 32 (default)": ours.score(X, y)}
    rows = [[name, ms(t / epochs), f"{t / base:.2f}", f"{r2[name]:.4f}"]
            for name, t in medians.items()]
    squared = table(["model", "ms / epoch", "ratio", "train R^2"], rows)

    # The linear program of QuantileRegressor grows quickly with n (38 s at 20k rows
    # here), so this comparison uses 10k rows. The pinball loss has bounded gradients,
    # so Adam's eta0 is set near 1% of the target's spread (std(y) is about 180).
    nq = 10_000 // size
    Xq, yq = make_regression(nq, 20, n_informative=10, noise=20, random_state=1)
    exact = QuantileRegressor(quantile=0.9, alpha=0.0, solver="highs")
    quantile = LinearRegressor(loss="quantile", quantile=0.9, penalty=None,
                               optimizer="adam", learning_rate="cosine", eta0=2.0,
                               batch_size=256, max_iter=50, tol=None, random_state=0)
    ours_name = "ours quantile, adam eta0=2 cosine, batch 256, 50 epochs"
    contenders = {"QuantileRegressor (highs)": lambda: exact.fit(Xq, yq),
                  ours_name: lambda: quantile.fit(Xq, yq)}
    quantile.fit(Xq, yq)
    medians = alternate(contenders, max(1, repeats // 2))
    loss = {"QuantileRegressor (highs)": mean_pinball_loss(yq, exact.predict(Xq), alpha=0.9),
            ours_name: mean_pinball_loss(yq, quantile.predict(Xq), alpha=0.9)}
    base = medians["QuantileRegressor (highs)"]
    rows = [[name, ms(t), f"{t / base:.3f}", f"{loss[name]:.4f}"] for name, t in medians.items()]
    quant = table(["model", "fit ms", "ratio", "pinball loss (q=0.9)"], rows)
    title = (f"Regression: squared error on make_regression({n}, 100), {epochs} epochs, "
             f"median of {repeats}; quantile 0.9 on make_regression({nq}, 20), median of "
             f"{max(1, repeats // 2)}")
    return title, squared + "\n\n" + quant


def startup(repeats):
    """Import time and first fit in a fresh process (kernels already cached on disk)."""
    probe = (
        "import time; t0 = time.perf_counter(); import {module}; "
        "t1 = time.perf_counter(); {fit} print(t1 - t0, time.perf_counter() - t1)"
    )
    fit = ("from sklearn.datasets import load_breast_cancer; "
           "X, y = load_breast_cancer(return_X_y=True); "
           "t1 = time.perf_counter(); "
           "sklearn_train.LinearClassifier(max_iter=5, tol=None).fit(X / X.max(0), y);")

    def run(module, body):
        out = subprocess.run([sys.executable, "-c", probe.format(module=module, fit=body)],
                             capture_output=True, text=True, check=True).stdout.split()
        return float(out[0]), float(out[1])

    run("sklearn_train", fit)  # make sure the cache is warm
    ours = [run("sklearn_train", fit) for _ in range(repeats)]
    sk = [run("sklearn.linear_model", "") for _ in range(repeats)]
    rows = [
        ["import sklearn_train", ms(statistics.median(t[0] for t in ours))],
        ["import sklearn.linear_model (for scale)", ms(statistics.median(t[0] for t in sk))],
        ["first LinearClassifier fit, fresh process, warm cache (breast cancer, 5 epochs)",
         ms(statistics.median(t[1] for t in ours))],
    ]
    return f"Start-up, fresh processes, median of {repeats}", table(["what", "ms"], rows)


def machine():
    model = platform.processor()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
            f"numba {numba.__version__}")


SECTIONS = {
    "dense": dense_binary,
    "lbfgs": time_to_lbfgs_accuracy,
    "softmax": softmax_ten_classes,
    "sparse": sparse_text,
    "regression": regression,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="data 10x smaller, 2 repeats")
    parser.add_argument("--only", nargs="*", choices=[*SECTIONS, "startup"],
                        help="run only these sections")
    args = parser.parse_args()
    size, repeats = (10, 2) if args.quick else (1, 5)
    chosen = args.only or [*SECTIONS, "startup"]
    print(f"Machine: {machine()}\n")
    for name in chosen:
        title, body = startup(repeats) if name == "startup" else SECTIONS[name](size, repeats)
        print(f"### {title}\n\n{body}\n", flush=True)


if __name__ == "__main__":
    main()
