"""Where compiled kernels are cached (``_core/_cache.py``), in fresh processes.

Each test works on a copy of the package in a temporary directory and imports it in
a child process. A directory that cannot be written is played by a path below a
regular file (``mkdir`` fails there for every user, root included), or, where an
existing directory must stay readable but not writable, by the immutable attribute
(root) or by removing its write permission (other users).
"""

import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import pytest

import sklearn_train
from sklearn_train._core import _cache

# Imports the package, runs one small kernel and reports the cache's statistics.
_CHILD = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numba
    import sklearn_train
    from sklearn_train._core import _jit
    from sklearn_train._core.data import permutation
    order = permutation(5, 1)
print(json.dumps({
    "package": sklearn_train.__file__, "caching": _jit.CACHING,
    "misses": sum(permutation.stats.cache_misses.values()),
    "hits": sum(permutation.stats.cache_hits.values()),
    "warnings": [str(w.message) for w in caught if "sklearn_train" in str(w.message)],
}))
"""

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def copy_package(tmp_path):
    """A copy of the package's sources (no caches) under ``tmp_path / "site"``."""
    site = tmp_path / "site"
    shutil.copytree(os.path.dirname(sklearn_train.__file__), site / "sklearn_train",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return site


def unwritable(tmp_path, name):
    """A path no one can create: it lies below a regular file."""
    blocker = tmp_path / f"{name}-is-a-file"
    blocker.write_text("")
    return blocker / name


@pytest.fixture
def freeze(request):
    """``freeze(folder)``: its entries stay readable, nothing can be added or removed."""
    frozen = []

    def make(folder):
        if AS_ROOT:
            done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make a directory read-only for root here: "
                            f"{done.stderr.decode().strip()}")
        else:
            os.chmod(folder, 0o555)
        frozen.append(folder)

    yield make
    for folder in frozen:
        if AS_ROOT:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            os.chmod(folder, 0o755)


def run_child(site, tmp_path, **env_changes):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(site), HOME=str(tmp_path / "home"))
    env.update({key: str(value) for key, value in env_changes.items()})
    cwd = tmp_path / "cwd"  # not the repository: its own package would be imported
    cwd.mkdir(exist_ok=True)
    result = subprocess.run([sys.executable, "-c", _CHILD], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["package"].startswith(str(site)), report["package"]
    return report


def test_a_read_only_install_without_a_writable_home_caches_in_the_temp_dir(tmp_path):
    """Neither the package's folder, nor the home directory, nor NUMBA_CACHE_DIR can
    be written: import and kernels work, with one warning, and the next process
    loads the kernels from the temporary directory."""
    site = copy_package(tmp_path)
    (site / "sklearn_train" / "_core" / "__pycache__").write_text("")  # no folder
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(HOME=unwritable(tmp_path, "home"),
               NUMBA_CACHE_DIR=unwritable(tmp_path, "numba-cache"), TMPDIR=temp)
    first = run_child(site, tmp_path, **env)
    assert first["caching"] and first["misses"] == 1
    assert len(first["warnings"]) == 1 and str(temp) in first["warnings"][0]
    second = run_child(site, tmp_path, **env)
    assert second["misses"] == 0 and second["hits"] == 1


def test_a_cache_shipped_next_to_read_only_sources_is_used(tmp_path, freeze):
    """Kernels compiled into the package's own __pycache__ (an image built with
    them) are copied to the user's cache instead of compiling again."""
    site = copy_package(tmp_path)
    assert run_child(site, tmp_path)["misses"] == 1
    freeze(site / "sklearn_train" / "_core" / "__pycache__")
    reused = run_child(site, tmp_path, HOME=tmp_path / "other-home")
    assert reused["misses"] == 0 and reused["hits"] == 1
    assert reused["warnings"] == []


def test_sources_dated_in_the_future_keep_their_cache(tmp_path):
    """Clock skew: file times ahead of the clock must not wipe a valid cache at
    every import (the cache is judged by a digest of the sources' contents)."""
    site = copy_package(tmp_path)
    future = time.time() + 10 * 24 * 3600
    for folder, _, files in os.walk(site):
        for name in files:
            os.utime(os.path.join(folder, name), (future, future))
    assert run_child(site, tmp_path)["misses"] == 1
    assert run_child(site, tmp_path)["misses"] == 0


def test_an_edited_core_source_discards_every_cached_kernel(tmp_path):
    """A kernel inlines functions of other files: an edit to any core source (here
    one without kernels of its own) makes every cached kernel stale."""
    site = copy_package(tmp_path)
    assert run_child(site, tmp_path)["misses"] == 1
    assert run_child(site, tmp_path)["misses"] == 0
    with open(site / "sklearn_train" / "_core" / "schedules.py", "a") as file:
        file.write("\n# edited\n")
    assert run_child(site, tmp_path)["misses"] == 1


def test_nowhere_to_write_turns_caching_off_with_one_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "_numba_location", lambda folder: None)
    monkeypatch.setattr(_cache, "_writable", lambda path: False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _cache.prepare(os.path.dirname(_cache.__file__)) is False
    assert len(caught) == 1 and "compiled in every process" in str(caught[0].message)


def test_the_stamp_is_a_digest_of_the_contents(tmp_path):
    folder = tmp_path / "core"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n")
    first = _cache.sources_digest(folder)
    os.utime(folder / "a.py", (0, 0))
    assert _cache.sources_digest(folder) == first
    (folder / "a.py").write_text("x = 2\n")
    assert _cache.sources_digest(folder) != first


def test_a_zipped_package_imports_and_runs_its_kernels(tmp_path):
    """Sources inside a zip archive cannot be listed as files: numba's own zip
    locator caches their kernels."""
    site = copy_package(tmp_path)
    archive = shutil.make_archive(str(tmp_path / "package"), "zip", root_dir=site)
    report = run_child(archive, tmp_path)
    assert report["package"].startswith(archive)
    assert report["caching"] and report["misses"] + report["hits"] == 1


def test_the_stamp_can_be_read_by_other_users(tmp_path):
    site = copy_package(tmp_path)
    run_child(site, tmp_path)
    stamp = site / "sklearn_train" / "_core" / "__pycache__" / _cache.SOURCES_STAMP
    assert stamp.stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_the_temporary_fallback_is_private_to_its_user(tmp_path):
    """Cached kernels are pickles: a directory others can write to is refused."""
    made = _cache._private_directory(str(tmp_path))
    assert made is not None and os.stat(made).st_mode & 0o777 == 0o700
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / f"sklearn_train-numba-{os.getuid()}").mkdir(mode=0o777)
    os.chmod(planted / f"sklearn_train-numba-{os.getuid()}", 0o777)
    assert _cache._private_directory(str(planted)) is None
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(made, linked / f"sklearn_train-numba-{os.getuid()}")
    assert _cache._private_directory(str(linked)) is None
