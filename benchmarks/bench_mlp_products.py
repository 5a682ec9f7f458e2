"""Where a float64 MLP epoch at batch size 200 goes, and whether hand-written loops
beat BLAS on the narrow (10-wide) output layer.

Times, per epoch of 225 batches of 200 rows (the bench_mlp.py shapes: 100 inputs, 128
hidden units, 10 classes), each matrix product of the forward and backward pass as
``np.dot`` with an ``out`` buffer inside a compiled loop, and next to each product of
the output layer a hand-written loop over contiguous rows of the transposed weights.

Run from the repository root: ``python benchmarks/bench_mlp_products.py``.
"""

import statistics
import time

import numpy as np

from sklearn_train._core._jit import kernel

BATCH, N_IN, N_HIDDEN, N_OUT, BATCHES = 200, 100, 128, 10, 225


@kernel
def forward_blas(H, W, Z, scratch, reps):
    for _ in range(reps):
        np.dot(H, W, Z)


@kernel
def forward_loops(H, W, Z, scratch, reps):
    n_in, n_out = W.shape
    for _ in range(reps):
        for j in range(n_in):  # W^T: rows of W's columns, contiguous
            for k in range(n_out):
                scratch[k, j] = W[j, k]
        for r in range(H.shape[0]):
            for k in range(n_out):
                total = 0.0
                for j in range(n_in):
                    total += H[r, j] * scratch[k, j]
                Z[r, k] = total


@kernel
def backward_blas(D, W, D_below, scratch, reps):
    for _ in range(reps):
        np.dot(D, W.T, D_below)


@kernel
def backward_loops(D, W, D_below, scratch, reps):
    n_in, n_out = W.shape
    for _ in range(reps):
        for j in range(n_in):
            for k in range(n_out):
                scratch[k, j] = W[j, k]
        for r in range(D.shape[0]):
            D_below[r, :] = 0.0
            for k in range(n_out):
                d = D[r, k]
                for j in range(n_in):
                    D_below[r, j] += d * scratch[k, j]


@kernel
def gradient_blas(H, D, G, scratch, reps):
    for _ in range(reps):
        np.dot(H.T, D, G)


@kernel
def gradient_loops(H, D, G, scratch, reps):
    n_in, n_out = H.shape[1], D.shape[1]
    for _ in range(reps):
        scratch[:] = 0.0
        for r in range(H.shape[0]):
            for k in range(n_out):
                d = D[r, k]
                for j in range(n_in):
                    scratch[k, j] += d * H[r, j]
        for j in range(n_in):
            for k in range(n_out):
                G[j, k] = scratch[k, j]


def epoch_ms(function, args, repeats=7):
    function(*args, 1)  # compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(*args, BATCHES)
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def main():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, N_IN))
    W1 = rng.standard_normal((N_IN, N_HIDDEN))
    H = rng.standard_normal((BATCH, N_HIDDEN))
    W2 = rng.standard_normal((N_HIDDEN, N_OUT))
    D1 = rng.standard_normal((BATCH, N_HIDDEN))
    D2 = rng.standard_normal((BATCH, N_OUT))
    scratch = np.empty((N_OUT, N_HIDDEN))
    print("| product | shape | BLAS ms/epoch | loops ms/epoch |")
    print("|---|---|---|---|")
    print(f"| forward, hidden layer | {BATCH}x{N_IN} @ {N_IN}x{N_HIDDEN} | "
          f"{epoch_ms(forward_blas, (X, W1, np.empty((BATCH, N_HIDDEN)), scratch)):.1f} | |")
    print(f"| gradient, hidden layer | {N_IN}x{BATCH} @ {BATCH}x{N_HIDDEN} | "
          f"{epoch_ms(gradient_blas, (X, D1, np.empty((N_IN, N_HIDDEN)), scratch)):.1f} | |")
    cases = [
        ("forward, output layer", f"{BATCH}x{N_HIDDEN} @ {N_HIDDEN}x{N_OUT}",
         forward_blas, forward_loops, (H, W2, np.empty((BATCH, N_OUT)), scratch)),
        ("delta passed down", f"{BATCH}x{N_OUT} @ {N_OUT}x{N_HIDDEN}",
         backward_blas, backward_loops, (D2, W2, np.empty((BATCH, N_HIDDEN)), scratch)),
        ("gradient, output layer", f"{N_HIDDEN}x{BATCH} @ {BATCH}x{N_OUT}",
         gradient_blas, gradient_loops, (H, D2, np.empty((N_HIDDEN, N_OUT)), scratch)),
    ]
    for name, shape, blas, loops, args in cases:
        blas(*args, 1)
        expected = args[2].copy()
        loops(*args, 1)
        assert np.allclose(expected, args[2]), name
        print(f"| {name} | {shape} | {epoch_ms(blas, args):.1f} | {epoch_ms(loops, args):.1f} |")


if __name__ == "__main__":
    main()
