"""``_core.threads``: n_jobs resolved as scikit-learn does; Numba's threads and the BLAS
limit set inside ``kernel_threads`` and restored after it, also after an exception."""

import numba
import pytest
from threadpoolctl import threadpool_info

from sklearn_train._core import threads
from sklearn_train._core._jit import kernel_thread_count


def blas_threads():
    return sorted({lib["num_threads"] for lib in threadpool_info()
                   if lib["user_api"] == "blas"})


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(threads, "cpu_count", lambda: 8)
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 6)


@pytest.mark.parametrize("n_jobs, expected", [(None, 1), (1, 1), (3, 3), (-1, 6), (-3, 6),
                                              (-4, 5), (-8, 1), (-20, 1), (100, 6)])
def test_n_jobs_resolved_as_scikit_learn_and_capped_at_numba(eight_cores, n_jobs, expected):
    # 8 cores, a Numba pool of 6: -1 is all cores (capped at 6), -4 is 8 + 1 - 4
    assert threads.effective_n_jobs(n_jobs) == expected


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_bad_n_jobs_is_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        threads.effective_n_jobs(bad)


def test_values_inside_and_restored_after():
    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library")
    n_all = threads.effective_n_jobs(-1)
    before_numba, before_blas = numba.get_num_threads(), blas_threads()
    with threads.kernel_threads(-1) as n:
        assert n == n_all == numba.get_num_threads() == kernel_thread_count()
        # n Numba threads times the BLAS threads each never exceed the cores
        assert blas_threads() == [max(1, threads.cpu_count() // n)]
    assert numba.get_num_threads() == before_numba
    assert blas_threads() == before_blas
    with threads.kernel_threads(None) as n:
        # one thread: the serial twins run, Numba's pool and BLAS are left alone
        assert n == 1 == kernel_thread_count()
        assert numba.get_num_threads() == before_numba and blas_threads() == before_blas
    assert numba.get_num_threads() == before_numba


def test_restored_after_an_exception():
    if not blas_threads():
        pytest.skip("threadpoolctl finds no BLAS library")
    numba.set_num_threads(1)  # a value other than the one set inside
    before_blas = blas_threads()
    try:
        with pytest.raises(RuntimeError, match="inside"):
            with threads.kernel_threads(-1) as n:
                assert numba.get_num_threads() == n
                assert blas_threads() == [max(1, threads.cpu_count() // n)]
                raise RuntimeError("inside")
        assert numba.get_num_threads() == 1
        assert blas_threads() == before_blas
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
