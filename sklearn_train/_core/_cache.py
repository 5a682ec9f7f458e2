"""Where the core's compiled kernels are cached, and when a cache is stale.

Numba caches a kernel next to its source (``__pycache__``), else in a user-wide
directory, else in ``NUMBA_CACHE_DIR`` when set, and refuses to decorate a kernel at
all when none of these can be written (a read-only container with no writable home).
``prepare`` runs once, before any kernel is decorated, and makes three promises:

* **Import and fit work everywhere.** When numba would find no writable location, the
  cache moves to a per-user directory under the system's temporary directory (made
  by this user, writable by no one else: cached kernels are pickles), or, if there is
  none, caching is switched off; either way with one warning. Sources imported from
  a zip archive are left to numba's own zip locator.
* **A cache shipped with read-only sources is used.** When the sources' own
  ``__pycache__`` holds kernels compiled from these very sources but cannot be
  written, they are copied to the location numba writes to, instead of compiling
  again (about 40 s). Each file is copied aside and renamed into place, the index
  files after their data, and the stamp last, so a process starting meanwhile sees
  either no cache or a whole one.
* **Stale kernels are removed, and only those.** Numba judges a cached kernel by the
  file that defines it, not by the files whose functions it inlined: after an edit
  to ``data.py`` the kernels of ``linear.py`` would keep running the old row access.
  So every cache location holds a digest of all the core's sources
  (``SOURCES_STAMP``); where it differs from the sources', the cached kernels are
  removed. A digest of the contents, not file times, so clocks that disagree
  (images built elsewhere) do not wipe a valid cache at every import.
"""

import hashlib
import os
import shutil
import stat
import tempfile
import warnings

from numba.core import caching, config

SOURCES_STAMP = "sklearn_train-sources.sha256"
_DATA, _INDEX = ".nbc", ".nbi"


def prepare(folder):
    """Choose the cache location of the kernels defined in ``folder``; return
    whether caching is on (see the module docstring)."""
    try:
        digest = sources_digest(folder)
    except OSError:  # sources in a zip archive: numba's zip locator takes over
        return True
    location = _numba_location(folder)
    if location is None:
        location = _fallback_location(folder)
        if location is None:
            warnings.warn(
                "sklearn_train: no writable location for Numba's cache (the package "
                "directory, the user cache, NUMBA_CACHE_DIR and the temporary "
                "directory are all read-only): kernels are compiled in every process. "
                "Set NUMBA_CACHE_DIR to a writable directory to keep them.",
                RuntimeWarning, stacklevel=3)
            return False
    shipped = os.path.join(folder, "__pycache__")
    if (os.path.abspath(shipped) != os.path.abspath(location)
            and _read_stamp(shipped) == digest and _read_stamp(location) != digest):
        _copy_shipped(shipped, location, digest)
    elif _read_stamp(location) != digest:
        _discard_stale(location, digest)
    return True


def sources_digest(folder):
    """SHA-256 over the names and contents of the core's Python sources."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            digest.update(name.encode())
            with open(os.path.join(folder, name), "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()


def _numba_location(folder):
    """The directory numba will cache kernels of ``folder`` in, or None when it
    would find no writable one (it asks its locators in order, as here)."""
    anchor = os.path.join(folder, "_cache.py")
    try:
        locators = caching.CacheImpl._locator_classes
    except AttributeError:  # another numba: trust its own choice
        return os.path.join(folder, "__pycache__")
    for locator_class in locators:
        locator = locator_class.from_function(prepare, anchor)
        if locator is not None:
            return locator.get_cache_path()
    return None


def _fallback_location(folder):
    """A directory of this user's under the temporary directory, made numba's cache
    directory; None when there is none to be had."""
    root = _private_directory(tempfile.gettempdir())
    if root is None:
        return None
    config.CACHE_DIR = root
    location = _numba_location(folder)
    warnings.warn(
        f"sklearn_train: the package directory and the user cache cannot be written; "
        f"compiled kernels are cached in {root}. Set NUMBA_CACHE_DIR to choose another "
        "directory.", RuntimeWarning, stacklevel=4)
    return location


def _private_directory(parent):
    """``parent/sklearn_train-numba-<user>``, made by this user and writable by no
    one else, or None. (Kernels are loaded from pickles: a directory someone else
    could write to would let them run code here.)"""
    if not hasattr(os, "getuid"):  # Windows: the temporary directory is the user's
        path = os.path.join(parent, "sklearn_train-numba")
        return path if _writable(path) else None
    path = os.path.join(parent, f"sklearn_train-numba-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        return None
    return path if _writable(path) else None


def _writable(path):
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _read_stamp(location):
    try:
        with open(os.path.join(location, SOURCES_STAMP)) as file:
            return file.read().strip()
    except OSError:
        return None


def _copy_shipped(shipped, location, digest):
    """Copy kernels compiled from these sources next to them into ``location``:
    data files, then index files, then the stamp, each renamed into place."""
    try:
        _remove_kernels(location)
        names = sorted(os.listdir(shipped), key=lambda name: name.endswith(_INDEX))
        for name in names:
            if name.endswith((_DATA, _INDEX)):
                handle, temporary = tempfile.mkstemp(dir=location, suffix=".part")
                os.close(handle)
                shutil.copyfile(os.path.join(shipped, name), temporary)
                os.chmod(temporary, 0o644)
                os.replace(temporary, os.path.join(location, name))
        _write_stamp(location, digest)
    except OSError:
        pass  # the kernels compile instead


def _discard_stale(location, digest):
    """Remove cached kernels compiled from other sources; stamp the location."""
    try:
        _remove_kernels(location)
        _write_stamp(location, digest)
    except OSError:  # another process got there first, or a read-only location
        pass


def _remove_kernels(location):
    for entry in os.scandir(location):
        if entry.name.endswith((_DATA, _INDEX)):
            os.remove(entry.path)


def _write_stamp(location, digest):
    # written aside, then renamed: a process reading it sees all of it or none;
    # readable by all, as the kernel files are (another user may ship this cache)
    handle, temporary = tempfile.mkstemp(dir=location, suffix=".part")
    with os.fdopen(handle, "w") as file:
        file.write(digest)
    os.chmod(temporary, 0o644)
    os.replace(temporary, os.path.join(location, SOURCES_STAMP))
