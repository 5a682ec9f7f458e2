"""Thread counts around parallel kernels (plain Python, no kernels).

A kernel with ``prange`` runs on Numba's thread pool; a BLAS call inside it (``np.dot``)
would start BLAS threads of its own in every Numba thread. On two cores that
oversubscription made scikit-learn's TSNE, openTSNE and umap-learn 3-5x slower
(see the design notes), so ``kernel_threads`` sets both at once: ``n`` Numba threads
and at most ``cores // n`` BLAS/OpenMP threads each, restored on the way out. With
one thread it touches neither: the serial twins of the parallel kernels run
(``_jit.TwinKernel``), and Numba's pool is never started.

Examples
--------
>>> from sklearn_train._core._jit import kernel_thread_count
>>> with kernel_threads(1) as n:
...     n == kernel_thread_count() == 1
True
>>> kernel_thread_count()
1
"""

from contextlib import contextmanager
from numbers import Integral

import numba
from joblib import cpu_count
from threadpoolctl import threadpool_limits

from ._jit import thread_count


def effective_n_jobs(n_jobs=None):
    """The number of threads ``n_jobs`` asks for, resolved as scikit-learn does.

    ``None`` means 1, ``-1`` all cores, and another negative value ``cores + 1 +
    n_jobs`` (``-2``: all but one), at least 1; ``0`` is an error. The result never
    exceeds Numba's thread pool (``numba.config.NUMBA_NUM_THREADS``).

    >>> effective_n_jobs(None)
    1
    """
    if n_jobs is None:
        n = 1
    elif not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool):
        raise TypeError(f"n_jobs must be an integer or None, got {n_jobs!r}.")
    elif n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number "
                         "or -1 for all cores.")
    elif n_jobs < 0:
        n = max(1, cpu_count() + 1 + int(n_jobs))
    else:
        n = int(n_jobs)
    return min(n, numba.config.NUMBA_NUM_THREADS)


@contextmanager
def kernel_threads(n_jobs=None):
    """Run the body with ``effective_n_jobs(n_jobs)`` Numba threads and BLAS/OpenMP
    capped so that the two together do not exceed the cores; yields that count.

    Both are restored when the body ends, also by an exception. Numba's thread count
    is per calling thread; the BLAS/OpenMP limit (``threadpoolctl``) is process-wide,
    so concurrent callers from several threads share the last limit set (and two
    overlapping calls can leave it lowered). With one thread neither is touched:
    the twin kernels then run serially (``_jit.TwinKernel``).
    """
    n = effective_n_jobs(n_jobs)
    if n == 1:
        # the serial twins run (_jit.TwinKernel): Numba's pool is not touched (not
        # even started: GNU OpenMP's is not fork-safe), and nothing runs in parallel
        # that BLAS could oversubscribe
        with thread_count(1):
            yield 1
        return
    inner = max(1, cpu_count() // n)  # BLAS/OpenMP threads per Numba thread
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpool_limits(limits=inner), thread_count(n):
            yield n
    finally:
        numba.set_num_threads(previous)
