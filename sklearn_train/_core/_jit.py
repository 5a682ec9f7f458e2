"""The one decorator every compiled function of the core uses.

``cache=True`` writes machine code next to the sources, so only the first process on
a machine pays compile time; ``nogil=True`` lets joblib threads run kernels at once.
The fast-math flags allow re-association (SIMD reductions) and fused multiply-adds
but not ``nnan``/``ninf``: kernels must still see a NaN or an infinity to stop a
diverging run. Nor ``arcp``: it let a division by a loop invariant become a
multiplication by its reciprocal in the vectorised loop but not in the scalar one
that runs when arrays lie too close in memory, so the same fit gave results one ulp
apart depending on where numpy had put the arrays. ``error_model="numpy"`` makes a
division by zero give an infinity or NaN (IEEE) instead of a Python-style check per
division, which raised from inside a kernel and kept every loop with a division from
vectorising (Adam's update ran 4x slower).

Where the kernels are cached, and when a cached kernel is stale, is ``_cache``'s
business: it runs once here, before any kernel is decorated.
"""

import os
import threading
import types as types_module
import warnings
from contextlib import contextmanager

from numba import njit, types
from numba.core.errors import NumbaIRAssumptionWarning
from numba.extending import intrinsic, overload

from . import _cache

FASTMATH = frozenset({"reassoc", "contract", "nsz"})


# whether kernels are cached on disk (see _cache; off only where nothing is writable)
CACHING = _cache.prepare(os.path.dirname(__file__))


def kernel(function=None, *, inline="never", parallel=False):
    """``numba.njit`` with the core's settings; ``inline="always"`` for tiny helpers,
    ``parallel=True`` for kernels with ``prange``: they are compiled twice (see
    ``TwinKernel``), and run inside ``threads.kernel_threads``."""

    def decorate(f):
        if parallel:
            return TwinKernel(f)
        return _njit(f, inline, False)

    return decorate if function is None else decorate(function)


def _njit(f, inline="never", parallel=False):
    return njit(cache=CACHING, nogil=True, fastmath=set(FASTMATH), error_model="numpy",
                inline=inline, parallel=parallel)(f)


class TwinKernel:
    """A kernel with ``prange`` loops, compiled parallel and serial.

    The serial twin (``prange`` is ``range`` there) runs when the calling thread
    asked for one thread (``threads.kernel_threads``: the default ``n_jobs=None``),
    so a default fit never starts Numba's thread pool: the GNU OpenMP pool is not
    fork-safe (a ``multiprocessing`` fork pool hung after any fit), and the
    workqueue pool aborts when two Python threads use it at once. Both twins compute
    the same numbers (the kernels are written so that the thread count never
    changes a result), so which one ran does not show. The twin is a copy of the
    function under another name, so that the two have their own on-disk caches.
    """

    def __init__(self, f):
        self.parallel = _njit(f, parallel=True)
        twin = types_module.FunctionType(f.__code__, f.__globals__, f.__name__ + "_serial",
                                         f.__defaults__, f.__closure__)
        twin.__qualname__ = f.__qualname__ + "_serial"
        twin.__doc__ = f.__doc__
        self.serial = _njit(twin)
        self.py_func = f
        self.__doc__ = f.__doc__
        self.__name__ = f.__name__
        self.__wrapped__ = f

    def __call__(self, *args):
        kernel = self.parallel if kernel_thread_count() > 1 else self.serial
        return kernel(*args)


_threads = threading.local()


def kernel_thread_count():
    """The Numba threads the calling thread's kernels run on (1 outside
    ``threads.kernel_threads``)."""
    return getattr(_threads, "count", 1)


@contextmanager
def thread_count(n):
    """Run twin kernels of the calling thread on ``n`` threads (see ``threads``)."""
    previous = kernel_thread_count()
    _threads.count = n
    try:
        yield n
    finally:
        _threads.count = previous


@intrinsic
def sqrt(typingctx, x):
    """Square root as LLVM's ``llvm.sqrt`` intrinsic, which loops can vectorise.

    Numba compiles ``math.sqrt`` to a call of libm's ``sqrt``, which may set errno, so
    a loop around it stays scalar (Adam's update over 14k parameters ran at 4.3 ns a
    parameter). The intrinsic gives the same results, NaN for negative input
    included, and no errno.
    """
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        function = builder.module.declare_intrinsic("llvm.sqrt", [args[0].type])
        return builder.call(function, args)

    return x(x), codegen


@intrinsic
def float_bits(typingctx, x):
    """The bits of a float64 as an int64 (LLVM ``bitcast``: no memory round trip)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, x):
    """The float64 whose bits are the int64 ``x`` (the inverse of ``float_bits``)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return types.float64(types.int64), codegen


def like(array, value):
    """``value`` in ``array``'s dtype (in compiled code).

    A float64 scalar (a literal, a rate read from a float64 array) in a loop over a
    float32 array widens every element to float64 and halves the SIMD width.
    """


@overload(like, inline="always")
def _like(array, value):
    cast = array.dtype
    return lambda array, value: cast(value)


_QUIET = ("ignore", None, NumbaIRAssumptionWarning, None, 0)  # a warnings filter entry
_quiet_lock = threading.Lock()
_quiet_users = 0


@contextmanager
def quiet_inlining():
    """Silence Numba's pedantic IR self-check while kernels compile.

    The row-access overloads of ``data`` are inlined into the epoch kernels (10-20%
    faster than calls); Numba's inliner then reports a variable of the inlined CSR
    loop as "not in scope", a warning its own text calls an internal pedantic check.
    The compiled code is correct: the tests compare every layout and optimizer
    against NumPy references. Wrap kernel calls that may compile in this.

    Thread-safe: kernels release the GIL and run in joblib or dask threads, where
    ``warnings.catch_warnings`` (which saves and restores the whole filter list)
    would undo other threads' filters. Here the first caller puts one "ignore" entry
    first in the filters, so it also wins over a user's ``-W error``, and the last
    caller takes it out; nothing else in the list is touched.
    """
    global _quiet_users
    with _quiet_lock:
        if _quiet_users == 0:
            warnings.filters.insert(0, _QUIET)
            _filters_changed()
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                if _QUIET in warnings.filters:
                    warnings.filters.remove(_QUIET)
                _filters_changed()


def _filters_changed():
    # the C side of warnings caches decisions per filter-list version
    getattr(warnings, "_filters_mutated", lambda: None)()
