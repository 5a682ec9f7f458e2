"""Package-level promises: importing compiles nothing, compiled code is cached on disk,
the public names are exported, and the compiled shuffle is a uniform permutation."""

import json
import os
import subprocess
import sys

import numpy as np
from scipy import stats

import sklearn_train
from sklearn_train._core.data import permutation

# Lists every Numba dispatcher of the core with how many signatures it has compiled
# (or loaded) and its cache statistics.
_PROBE = """
import importlib, json, pkgutil, sys
import numba
import sklearn_train
import sklearn_train._core as core
{body}
found = {{}}
for info in pkgutil.iter_modules(core.__path__):
    module = importlib.import_module("sklearn_train._core." + info.name)
    for name, obj in vars(module).items():
        if isinstance(obj, numba.core.registry.CPUDispatcher):
            found[module.__name__ + "." + name] = {{
                "signatures": len(obj.signatures),
                "misses": sum(obj.stats.cache_misses.values()),
            }}
print(json.dumps(found))
"""

_FIT = """
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3)); y = (X[:, 0] > 0).astype(int)
sklearn_train.LinearClassifier(max_iter=2, tol=None).fit(X, y)
"""


def _probe(body=""):
    out = subprocess.run([sys.executable, "-c", _PROBE.format(body=body)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_import_compiles_nothing():
    dispatchers = _probe()
    # every kernel module of the core is looked at
    for kernel in ("linear.linear_epoch", "mlp.mlp_epoch", "cluster.kmeans_epoch",
                   "mixture.gmm_epoch", "losses.loss_grad", "optimizers.apply",
                   "penalties.l1_clip", "data.permutation"):
        assert "sklearn_train._core." + kernel in dispatchers
    compiled = {name: d["signatures"] for name, d in dispatchers.items() if d["signatures"]}
    assert compiled == {}


def test_second_process_loads_kernels_from_the_disk_cache():
    _probe(_FIT)  # compiles if needed, writes the cache
    dispatchers = _probe(_FIT)
    assert dispatchers["sklearn_train._core.linear.linear_epoch"]["signatures"] == 1
    misses = {name: d["misses"] for name, d in dispatchers.items() if d["misses"]}
    assert misses == {}, f"compiled again instead of loading from the cache: {misses}"


def test_public_names():
    assert set(sklearn_train.__all__) >= {"LinearClassifier", "LinearRegressor",
                                         "DivergenceError"}
    assert isinstance(sklearn_train.__version__, str)


def test_permutation_is_a_uniform_shuffle():
    n, draws = 6, 12_000
    first = np.array([permutation(n, seed)[0] for seed in range(draws)])
    assert all(sorted(permutation(n, s)) == list(range(n)) for s in range(50))
    # where element positions land is uniform: chi-square at the 0.1% level
    counts = np.bincount(first, minlength=n)
    assert stats.chisquare(counts).pvalue > 1e-3
    # different seeds give different orders; the same seed the same order
    assert not np.array_equal(permutation(1000, 1), permutation(1000, 2))
    np.testing.assert_array_equal(permutation(1000, 7), permutation(1000, 7))


def test_kernels_compile_under_warnings_as_errors(tmp_path):
    """Numba's inliner warns while the CSR kernels compile; a user running with
    ``-W error`` must not see it (a fresh cache directory forces the compile)."""
    script = (
        "import numpy as np, scipy.sparse as sp\n"
        "from sklearn_train import LinearClassifier\n"
        "X = sp.random(40, 5, density=0.5, format='csr', random_state=0)\n"
        "y = np.arange(40) % 2\n"
        "LinearClassifier(max_iter=1, tol=None).fit(X, y)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
