"""The one decorator every compiled function of the core uses.

``cache=True`` writes machine code next to the sources, so only the first process on
a machine pays compile time; ``nogil=True`` lets joblib threads run kernels at once.
The fast-math flags allow re-association (SIMD reductions) and fused multiply-adds
but not ``nnan``/``ninf``: kernels must still see a NaN or an infinity to stop a
diverging run.

Numba decides whether a cached kernel is still valid from the time stamp of the file
that defines it, not of the files whose functions it inlined: after an edit to, say,
``data.py``, the kernels of ``linear.py`` would keep running the old row access. So
on import, cache files older than the newest core source are removed. In an
installed package the sources do not change and nothing is removed.
"""

import os

from numba import njit

FASTMATH = frozenset({"reassoc", "contract", "nsz", "arcp"})


def kernel(function=None, *, inline="never"):
    """``numba.njit`` with the core's settings; ``inline="always"`` for tiny helpers."""

    def decorate(f):
        return njit(cache=True, nogil=True, fastmath=set(FASTMATH), inline=inline)(f)

    return decorate if function is None else decorate(function)


def _discard_stale_cache(folder=os.path.dirname(__file__)):
    """Remove cached machine code older than the newest source of the core."""
    try:
        sources = [entry.stat().st_mtime for entry in os.scandir(folder)
                   if entry.name.endswith(".py")]
        cache = os.path.join(folder, "__pycache__")
        for entry in os.scandir(cache):
            if entry.name.endswith((".nbi", ".nbc")) and entry.stat().st_mtime < max(sources):
                os.remove(entry.path)
    except OSError:  # no cache yet, or a read-only installation: nothing to do
        pass


_discard_stale_cache()
