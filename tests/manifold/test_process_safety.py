"""A default fit (``n_jobs=None``) must leave the process safe to fork: Numba's GNU
OpenMP thread pool is not fork-safe, so one-thread runs use the serial twins of the
parallel kernels and never start it."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import multiprocessing

    import numba
    from sklearn.datasets import load_digits

    from sklearn_train import TSNE, UMAP

    X = load_digits().data[:300]

    def embed(seed):
        return float(UMAP(n_epochs=20, random_state=seed).fit_transform(X).sum())

    TSNE(max_iter=250, random_state=0).fit(X)
    UMAP(n_epochs=20, random_state=0).fit(X).transform(X[:5] + 0.5)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        children = pool.map_async(embed, [0, 1]).get(timeout=120)
    assert children == [embed(0), embed(1)], children
    print("forked fine")
""")


def test_a_fork_pool_works_after_default_fits():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "forked fine" in result.stdout
