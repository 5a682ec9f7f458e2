"""One row-access interface over dense and CSR matrices, for compiled kernels.

Kernels take ``X`` either as a C-contiguous 2-D array or as a ``CSR`` named tuple and
call ``n_cols``, ``row_dot``, ``row_axpy``, ``mark_row`` and ``prefetch_row``. Each is a
Numba overload that picks its dense or sparse body at compile time, so one kernel
source compiles to one variant per layout and dtype with no runtime dispatch.

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

CSR = namedtuple("CSR", ["data", "indices", "indptr", "n_cols"])

# Bytes per cache line: the stride of the software prefetch over a row.
_CACHE_LINE = 64
_PREFETCH_NAME = (
    "llvm.prefetch.p0i8"
    if getattr(llvmlite, "ir_layer_typed_pointers_enabled", False)
    else "llvm.prefetch.p0"
)


def as_kernel_matrix(X):
    """Return ``X`` as the kernels take it: a C-contiguous array or a ``CSR`` tuple.

    The float data is never copied. CSR index arrays are turned into int32 when they
    fit, so that one compiled variant serves scipy's int32 and int64 indexing.
    """
    if sp.issparse(X):
        X = X.tocsr()
        indices, indptr = X.indices, X.indptr
        if indices.dtype != np.int32 and X.nnz < np.iinfo(np.int32).max:
            indices = indices.astype(np.int32)
            indptr = indptr.astype(np.int32)
        return CSR(
            np.ascontiguousarray(X.data),
            np.ascontiguousarray(indices),
            np.ascontiguousarray(indptr),
            X.shape[1],
        )
    return np.ascontiguousarray(X)


@intrinsic
def _prefetch(typingctx, array, offset):
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


def n_cols(X):
    """Number of columns of a dense or CSR kernel matrix."""


def row_dot(X, i, w, offset):
    """Sum over row ``i`` of ``X[i, j] * w[offset + j]`` in X's precision."""


def row_axpy(X, i, a, g, offset):
    """``g[offset + j] += a * X[i, j]`` over the stored entries of row ``i``."""


def mark_row(X, i, marked, active, n_active):
    """Append row ``i``'s unmarked column indices to ``active``; return the new count."""


def prefetch_row(X, i):
    """Ask for row ``i`` to be brought into cache ahead of its use."""


@overload(n_cols, inline="always")
def _n_cols(X):
    if _is_dense(X):
        return lambda X: X.shape[1]
    return lambda X: X.n_cols


@overload(row_dot, inline="always")
def _row_dot(X, i, w, offset):
    # Accumulate in X's own precision so float32 rows keep float32 SIMD width.
    if _is_dense(X):
        zero = _zero_of(X.dtype)

        def dense(X, i, w, offset):
            row = X[i]
            total = zero
            for j in range(row.shape[0]):
                total += row[j] * w[offset + j]
            return total

        return dense
    zero = _zero_of(X[0].dtype)

    def sparse(X, i, w, offset):
        total = zero
        for q in range(X.indptr[i], X.indptr[i + 1]):
            total += X.data[q] * w[offset + X.indices[q]]
        return total

    return sparse


@overload(row_axpy, inline="always")
def _row_axpy(X, i, a, g, offset):
    if _is_dense(X):
        cast = X.dtype

        def dense(X, i, a, g, offset):
            row = X[i]
            scaled = cast(a)
            for j in range(row.shape[0]):
                g[offset + j] += scaled * row[j]

        return dense
    cast = X[0].dtype

    def sparse(X, i, a, g, offset):
        scaled = cast(a)
        for q in range(X.indptr[i], X.indptr[i + 1]):
            g[offset + X.indices[q]] += scaled * X.data[q]

    return sparse


@overload(mark_row, inline="always")
def _mark_row(X, i, marked, active, n_active):
    if _is_dense(X):
        return lambda X, i, marked, active, n_active: n_active

    def sparse(X, i, marked, active, n_active):
        for q in range(X.indptr[i], X.indptr[i + 1]):
            j = X.indices[q]
            if not marked[j]:
                marked[j] = True
                active[n_active] = j
                n_active += 1
        return n_active

    return sparse


@overload(prefetch_row, inline="always")
def _prefetch_row(X, i):
    if _is_dense(X):
        stride = _CACHE_LINE * 8 // X.dtype.bitwidth

        def dense(X, i):
            n = X.shape[1]
            for j in range(0, n, stride):
                _prefetch(X, i * n + j)

        return dense
    stride = _CACHE_LINE * 8 // X[0].dtype.bitwidth

    def sparse(X, i):
        start = X.indptr[i]
        for q in range(start, X.indptr[i + 1], stride):
            _prefetch(X.data, q)
            _prefetch(X.indices, q)

    return sparse
