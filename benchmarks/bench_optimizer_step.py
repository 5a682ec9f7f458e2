"""Benchmark: one optimizer step over a network's parameter vector, per rule and dtype.

The update of ``optimizers.apply`` runs once per mini-batch over every parameter
(14,218 for the 100-128-10 network of ``bench_mlp.py``); this times 1406 steps (one
epoch at batch size 32) of each rule through ``mlp._step`` in one compiled loop.

Run from the repository root: ``python benchmarks/bench_optimizer_step.py``.
"""

import statistics
import time

import numpy as np
from numba import njit

from sklearn_train._core import mlp
from sklearn_train._core.optimizers import ADAM, SGD, N_STEP, begin_step, default_hyper
from sklearn_train.neural_network._problem import build_layout

STEPS = 1406


@njit
def steps(n, params, grad, moments, hyper, step, layout, optimizer):
    for i in range(n):
        begin_step(optimizer, 0.001, i + 1.0, hyper, step)
        mlp._step(params, grad, moments, hyper, step, layout, optimizer, 0.0)


def main(repeats=7):
    layout, n_params = build_layout([100, 128, 10], mlp.RELU)
    print(f"| dtype | rule | ms per {STEPS} steps ({n_params} parameters), median of "
          f"{repeats} |\n|---|---|---|")
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        params = rng.random(n_params).astype(dtype)
        grad = rng.random(n_params).astype(dtype)
        moments = rng.random((2, n_params)).astype(dtype)
        hyper, step = default_hyper(), np.zeros(N_STEP)
        for name, rule in (("adam", ADAM), ("sgd", SGD)):
            steps(1, params, grad, moments, hyper, step, layout, rule)  # compile
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                steps(STEPS, params, grad, moments, hyper, step, layout, rule)
                times.append(time.perf_counter() - started)
            print(f"| {dtype.__name__} | {name} | {statistics.median(times) * 1e3:.1f} |")


if __name__ == "__main__":
    main()
