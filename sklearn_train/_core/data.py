"""One row-access interface over dense and CSR matrices, for compiled kernels.

Kernels take ``X`` either as a C-contiguous 2-D array or as a ``CSR`` named tuple and
call ``n_cols``, ``row_span``, ``row_dot``, ``row_axpy``, ``mark_row``,
``prefetch_row`` and ``is_sparse``. Each is a Numba overload that picks its dense or sparse body at
compile time, so one kernel source compiles to one variant per layout and dtype with
no runtime dispatch.

Python helpers here turn validated input into kernel arguments without copying X.
"""

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from llvmlite import ir
import llvmlite
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from ._jit import FASTMATH, kernel

CSR = namedtuple("CSR", ["data", "indices", "indptr", "n_cols"])

# Overloads compile as functions of their own, without the caller's flags: they need
# the core's fast-math settings to vectorise the row reductions. The two used per row
# are inlined into the kernels (see _jit.quiet_inlining): 10-20% faster epochs.
_JIT_OPTIONS = {"fastmath": set(FASTMATH), "nogil": True, "error_model": "numpy"}

# Bytes per cache line: the stride of the software prefetch over a row.
_CACHE_LINE = 64
_PREFETCH_NAME = (
    "llvm.prefetch.p0i8"
    if getattr(llvmlite, "ir_layer_typed_pointers_enabled", False)
    else "llvm.prefetch.p0"
)


class _WriteableAlias:
    """Presents a read-only array's memory to NumPy as writeable (see below); keeps
    the array alive while the alias lives."""

    def __init__(self, array):
        interface = dict(array.__array_interface__)
        interface["data"] = (interface["data"][0], False)
        self.__array_interface__ = interface
        self.owner = array


def writeable_alias(array):
    """``array`` itself, or, when it is read-only, an alias of its memory that
    Numba types as a writeable array.

    Numba compiles a separate variant of a kernel for read-only arrays (a
    read-only memmap, a pickle loaded by joblib with ``mmap_mode``), and each
    variant of an epoch kernel costs 10-20 s to compile: the suite paid about
    100 s for them. Kernels never write into their inputs (``X``, targets,
    weights) nor into the state of a call that only reads it (prediction), so
    they can read the same memory through a writeable alias, without a copy.
    Only pass through this what the kernel is known not to write.
    """
    if array.flags.writeable:
        return array
    return np.asarray(_WriteableAlias(array))


def as_kernel_matrix(X):
    """Return ``X`` as the kernels take it: a C-contiguous array or a ``CSR`` tuple.

    The float data is never copied. CSR column indices become uint32 (a view of
    scipy's int32 indices; a copy when it stored int64) and row pointers int32 unless
    there are 2**31 or more entries, so one compiled variant serves scipy's usual index
    types, and indexing by an unsigned column needs no negative-index check.
    Read-only input is read through a writeable alias (``writeable_alias``).
    """
    if sp.issparse(X):
        X = X.tocsr()
        if X.shape[1] > np.iinfo(np.uint32).max:
            raise ValueError(f"X has {X.shape[1]} columns; at most 2**32 - 1 are supported.")
        indices = X.indices.astype(np.int32, copy=False).view(np.uint32)
        pointer_type = np.int32 if X.nnz <= np.iinfo(np.int32).max else np.int64
        return CSR(
            writeable_alias(np.ascontiguousarray(X.data)),
            writeable_alias(np.ascontiguousarray(indices)),
            writeable_alias(np.ascontiguousarray(X.indptr.astype(pointer_type, copy=False))),
            X.shape[1],
        )
    return writeable_alias(np.ascontiguousarray(X))


@intrinsic
def prefetch(typingctx, array, offset):
    """Hint the CPU to fetch ``array.flat[offset]`` into cache; never faults."""
    signature = types.void(array, offset)

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        byte_ptr = builder.bitcast(builder.gep(data, [args[1]]), ir.IntType(8).as_pointer())
        int32 = ir.IntType(32)
        fn_type = ir.FunctionType(ir.VoidType(), [byte_ptr.type, int32, int32, int32])
        fn = cgutils.get_or_insert_function(builder.module, fn_type, _PREFETCH_NAME)
        # read access, high temporal locality, data cache
        builder.call(fn, [byte_ptr, int32(0), int32(3), int32(1)])
        return context.get_dummy_value()

    return signature, codegen


def _is_dense(X):
    return isinstance(X, types.Array)


def _zero_of(numba_dtype):
    return np.dtype(numba_dtype.name).type(0)


# A row is addressed by its *span* ``(a, b)``: ``(i, 0)`` for row ``i`` of a dense
# matrix, ``(indptr[i], indptr[i + 1])`` for CSR. Kernels look spans up once per block
# of rows (``row_span``), so the hot loops never wait on a random ``indptr`` read.


def n_cols(X):
    """Number of columns of a dense or CSR kernel matrix."""


def row_span(X, i):
    """The span ``(a, b)`` that addresses row ``i``."""


def row_dot(X, a, b, w, offset):
    """Sum over the row with span ``(a, b)`` of ``X[., j] * w[offset + j]``."""


def row_axpy(X, a, b, coef, g, offset):
    """``g[offset + j] += coef * X[., j]`` over the stored entries of a row."""


def mark_row(X, a, b, marked, active, n_active):
    """Append a row's unmarked column indices to ``active``; return the new count."""


def prefetch_row(X, a, b):
    """Ask for a row to be brought into cache ahead of its use."""


def is_sparse(X):
    """Whether a kernel matrix is CSR (a compile-time constant of each variant)."""


@overload(is_sparse, jit_options=_JIT_OPTIONS, inline="always")
def _is_sparse(X):
    if _is_dense(X):
        return lambda X: False
    return lambda X: True


@overload(n_cols, jit_options=_JIT_OPTIONS)
def _n_cols(X):
    if _is_dense(X):
        return lambda X: X.shape[1]
    return lambda X: X.n_cols


@overload(row_span, jit_options=_JIT_OPTIONS)
def _row_span(X, i):
    if _is_dense(X):
        return lambda X, i: (np.int64(i), np.int64(0))
    return lambda X, i: (np.int64(X.indptr[i]), np.int64(X.indptr[i + 1]))


@overload(row_dot, jit_options=_JIT_OPTIONS, inline="always")
def _row_dot(X, a, b, w, offset):
    # Accumulate in X's own precision so float32 rows keep float32 SIMD width.
    if _is_dense(X):
        zero = _zero_of(X.dtype)

        def dense(X, a, b, w, offset):
            # Unsigned indices: a signed one like offset + j could be negative as far
            # as Numba knows, and its wraparound branch per element stops the loop
            # from vectorising (4x slower). (A view w[offset:] would also do, at the
            # price of reference counting per call.)
            base = np.uint64(offset)
            total = zero
            for j in range(X.shape[1]):
                total += X[a, j] * w[base + np.uint64(j)]
            return total

        return dense
    zero = _zero_of(X[0].dtype)

    def sparse(X, a, b, w, offset):
        base = np.uint64(offset)  # with uint32 columns: unsigned, no wraparound branch
        total = zero
        for q in range(a, b):
            total += X.data[q] * w[base + X.indices[q]]
        return total

    return sparse


@overload(row_axpy, jit_options=_JIT_OPTIONS, inline="always")
def _row_axpy(X, a, b, coef, g, offset):
    if _is_dense(X):
        cast = X.dtype

        def dense(X, a, b, coef, g, offset):
            base = np.uint64(offset)
            scaled = cast(coef)
            for j in range(X.shape[1]):
                g[base + np.uint64(j)] += scaled * X[a, j]

        return dense
    cast = X[0].dtype

    def sparse(X, a, b, coef, g, offset):
        base = np.uint64(offset)
        scaled = cast(coef)
        for q in range(a, b):
            g[base + X.indices[q]] += scaled * X.data[q]

    return sparse


@overload(mark_row, jit_options=_JIT_OPTIONS)
def _mark_row(X, a, b, marked, active, n_active):
    if _is_dense(X):
        return lambda X, a, b, marked, active, n_active: n_active

    def sparse(X, a, b, marked, active, n_active):
        for q in range(a, b):
            j = X.indices[q]
            if not marked[j]:
                marked[j] = True
                active[n_active] = j
                n_active += 1
        return n_active

    return sparse


@overload(prefetch_row, jit_options=_JIT_OPTIONS)
def _prefetch_row(X, a, b):
    if _is_dense(X):
        stride = _CACHE_LINE * 8 // X.dtype.bitwidth

        def dense(X, a, b):
            n = X.shape[1]
            for j in range(0, n, stride):
                prefetch(X, a * n + j)

        return dense
    stride = _CACHE_LINE * 8 // X[0].dtype.bitwidth

    def sparse(X, a, b):
        for q in range(a, b, stride):
            prefetch(X.data, q)
            prefetch(X.indices, q)

    return sparse


_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_MUL2 = np.uint64(0x94D049BB133111EB)
_INV_2_53 = 1.0 / 9007199254740992.0
# Rows to prefetch ahead while gathering shuffled rows.
_AHEAD = 4


@kernel(inline="always")
def mix(z):
    """SplitMix64's finaliser: a well-mixed 64-bit value from ``z``."""
    z = (z ^ (z >> np.uint64(30))) * _SPLITMIX_MUL1
    z = (z ^ (z >> np.uint64(27))) * _SPLITMIX_MUL2
    return z ^ (z >> np.uint64(31))


@kernel
def uniform(state, index):
    """The ``index``-th draw in [0, 1) of the counter-based stream ``state``.

    Draws are addressed by index, so any of them can be recomputed (or skipped)
    without walking the stream.
    """
    return float(mix(state + np.uint64(index + 1) * _SPLITMIX_GAMMA) >> np.uint64(11)) * _INV_2_53


@kernel
def permutation(n, seed):
    """A uniformly shuffled ``arange(n)`` (Fisher-Yates) from a 64-bit ``seed``.

    The generator is SplitMix64, kept local to the call: no global random state is
    read or changed, and the same seed gives the same order on every platform. It is
    about three times faster than ``numpy.random.Generator.permutation``, which
    matters when an epoch itself takes a few milliseconds.
    """
    order = np.arange(n)
    state = np.uint64(seed)
    for i in range(n - 1, 0, -1):
        state += _SPLITMIX_GAMMA
        # top 53 bits as a float in [0, 1): bias below 2**-53 per draw
        j = int((mix(state) >> np.uint64(11)) * _INV_2_53 * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


@kernel(inline="always")
def record_step_loss(step_losses, b, loss_sum, weight_sum):
    """Store step ``b``'s weighted mean loss in ``step_losses`` (NaN without weight).

    ``step_losses`` has length 0 (record nothing) or one entry per optimizer step of
    the epoch; steps beyond its length are not recorded.
    """
    if b < step_losses.shape[0]:
        step_losses[b] = loss_sum / weight_sum if weight_sum > 0.0 else np.nan


@kernel
def gather_rows(X, order, start, stop, buffer):
    """Rows ``order[start:stop]`` of ``X`` (dense or CSR) as a dense C-contiguous
    ``(rows, n_cols)`` view of ``buffer``."""
    n_features = n_cols(X)
    nb = stop - start
    used = nb * n_features
    buffer[:used] = 0.0
    for r in range(nb):
        if r + _AHEAD < nb:  # shuffled rows: ask for the coming ones early
            ahead, ahead_end = row_span(X, order[start + r + _AHEAD])
            prefetch_row(X, ahead, ahead_end)
        a, b = row_span(X, order[start + r])
        row_axpy(X, a, b, 1.0, buffer, r * n_features)
    return buffer[:used].reshape(nb, n_features)
