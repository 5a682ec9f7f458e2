"""The one decorator every compiled function of the core uses.

``cache=True`` writes machine code next to the sources, so only the first process on
a machine pays compile time; ``nogil=True`` lets joblib threads run kernels at once.
The fast-math flags allow re-association (SIMD reductions) and fused multiply-adds
but not ``nnan``/``ninf``: kernels must still see a NaN or an infinity to stop a
diverging run.
"""

from numba import njit

FASTMATH = frozenset({"reassoc", "contract", "nsz", "arcp"})


def kernel(function=None, *, inline="never"):
    """``numba.njit`` with the core's settings; ``inline="always"`` for tiny helpers."""

    def decorate(f):
        return njit(cache=True, nogil=True, fastmath=set(FASTMATH), inline=inline)(f)

    return decorate if function is None else decorate(function)
