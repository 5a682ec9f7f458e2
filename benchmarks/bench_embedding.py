"""Benchmark: our TSNE and UMAP against scikit-learn's TSNE, openTSNE and umap-learn.

Data sets (``--datasets``):

- ``digits``: ``load_digits`` (1,797 x 64, 10 classes);
- ``blobs20k``: ``make_blobs(20_000, 50, centers=20, cluster_std=3, random_state=0)``;
- ``manifold70k``: 70,000 x 100 points on a 5-dimensional latent manifold, from
  ``manifold_data`` below (seeded): 10 clusters, equally many points each, with
  centres drawn from N(0, 3²) in the 5-dimensional latent space and points from N(0, 1)
  around them; a fixed random linear map ``A`` (5 x 100, entries N(0, 1/5)) takes the
  latent points to ``H = Z A``, then ``X = H + 0.5 sin(H) + noise`` (elementwise, so a
  smooth, one-to-one distortion of the linear image; noise N(0, 0.05²)). Labels are
  the clusters.

Every library runs at the same thread count (``--threads``, default 1): the BLAS and
OpenMP variables are set before any library is imported, threadpoolctl caps the
loaded thread pools, ``numba.set_num_threads`` fixes Numba's (ours and umap-learn),
and each estimator gets ``n_jobs=threads``. umap-learn runs serially whenever it is
given a ``random_state``, so at more than one thread it gets none.

Comparable settings: t-SNE with perplexity 30, early exaggeration 12 for 250
iterations, each library's default number of iterations in all (scikit-learn and
ours ``max_iter=1000``; openTSNE ``early_exaggeration_iter=250, n_iter=500``: its
exact FFT gradients converge in fewer), PCA initialisation, ``learning_rate="auto"``
(each library's own rule). UMAP with
``n_neighbors=15, min_dist=0.1`` and each library's default number of epochs.

Sections:

- warm-up: each library fits once on 500 rows of the first data set, and transforms
  50 of them, before anything is timed, so that compilation (Numba: ours, umap-learn)
  is not in the timings; the warm-up times are reported on their own;
- fit: ``--repeats`` runs alternating between the libraries (ours, peer, ours,
  peer...), seed = repeat number for all; medians of wall time and CPU time
  (``time.process_time``, all threads), trustworthiness@10 and 10-NN accuracy
  (5-fold ``cross_val_score`` of ``KNeighborsClassifier(10)`` on the embedding), both
  on one random 5,000-point subsample, the same for every library, for sets over 5,000
  rows; and the ratio ours / this library;
- transform: fit on 90% of the rows, embed the other 10% (ours ``transform``, openTSNE
  ``TSNEEmbedding.transform`` at its defaults, umap-learn ``transform``; scikit-learn's
  TSNE has none), ``--repeats`` alternating transforms of the one fitted model; the
  accuracy of a ``KNeighborsClassifier(10)`` fitted on the training embedding at
  classifying the new points;
- ``--fresh``: import + first fit on digits in a new process (this script with
  ``--child``), for ours and umap-learn, after one untimed run that warms the on-disk
  caches; ``--cold`` adds ours with an empty kernel cache: the package sources are
  copied without their ``__pycache__`` to a temporary directory imported first, and
  ``NUMBA_CACHE_DIR`` points to a new empty directory (with NUMBA_CACHE_DIR alone, our
  cache module would copy the kernels compiled next to the sources into it; see
  ``sklearn_train/_core/_cache.py``). One cold run each: it takes a minute or so.

The script imports the ``sklearn_train`` of the tree it sits in (not an installed
one). Its output is markdown for RESULTS.md: the machine, the exact command, tables.
The runs are BLAS-heavy (PCA initialisation, neighbour search): run the command with
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` unset (see DESIGN.md), for example
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_embedding.py``;
the script says whether they are set. Nothing else should run meanwhile.

``--quick`` shrinks the data sets (600, 1,500 and 2,000 rows) and runs once: a smoke
test of the script, not a measurement.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ("digits", "blobs20k", "manifold70k")
QUICK_ROWS = {"digits": 600, "blobs20k": 1500, "manifold70k": 2000}
METHODS = ("tsne", "umap")
EVAL_ROWS = 5000  # trustworthiness and 10-NN accuracy on at most this many points
WARMUP_ROWS = 500
TSNE_SETTINGS = dict(perplexity=30, early_exaggeration=12, learning_rate="auto")
UMAP_SETTINGS = dict(n_neighbors=15, min_dist=0.1)
# (not NUMBA_NUM_THREADS: numba refuses a change of it once its pool is up, and
# numba.set_num_threads does the same job)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# The libraries: how to make, fit and (where there is one) transform each. -----------

def ours_tsne(seed, threads):
    from sklearn_train.manifold import TSNE
    return TSNE(**TSNE_SETTINGS, max_iter=1000, init="pca", random_state=seed,
                n_jobs=threads)


def ours_umap(seed, threads):
    from sklearn_train.manifold import UMAP
    return UMAP(**UMAP_SETTINGS, random_state=seed, n_jobs=threads)


def sklearn_tsne(seed, threads):
    from sklearn.manifold import TSNE
    return TSNE(**TSNE_SETTINGS, max_iter=1000, init="pca", random_state=seed,
                n_jobs=threads)


def opentsne(seed, threads):
    import openTSNE
    return openTSNE.TSNE(**TSNE_SETTINGS, early_exaggeration_iter=250, n_iter=500,
                         initialization="pca", n_jobs=threads, random_state=seed)


def umap_learn(seed, threads):
    import umap
    return umap.UMAP(**UMAP_SETTINGS, n_jobs=threads,
                     random_state=seed if threads == 1 else None)


class Library:
    """One library's estimator for one method; ``fit`` returns (fitted, embedding)."""

    def __init__(self, name, method, make, module, transforms=True):
        self.name, self.method, self.make = name, method, make
        self.module, self.transforms = module, transforms

    def missing(self):
        """None when the library can be used, else why not."""
        try:
            self.make(0, 1)
        except ImportError as error:
            return f"{self.name} is not available ({error})"
        return None

    def fit(self, X, seed, threads):
        import numpy as np
        model = self.make(seed, threads)
        if self.module == "openTSNE":
            model = model.fit(X)  # a TSNEEmbedding: the array and its transform
            return model, np.asarray(model)
        return model, np.asarray(model.fit_transform(X))

    @staticmethod
    def transform(model, X):
        import numpy as np
        return np.asarray(model.transform(X))


LIBRARIES = {
    "tsne": [Library("ours TSNE", "tsne", ours_tsne, "sklearn_train.manifold"),
             Library("scikit-learn TSNE", "tsne", sklearn_tsne, "sklearn",
                     transforms=False),
             Library("openTSNE", "tsne", opentsne, "openTSNE")],
    "umap": [Library("ours UMAP", "umap", ours_umap, "sklearn_train.manifold"),
             Library("umap-learn", "umap", umap_learn, "umap")],
}


# Data. --------------------------------------------------------------------------------

def manifold_data(n_rows, n_features=100, n_latent=5, n_clusters=10, seed=0):
    """Points on a smooth ``n_latent``-dimensional manifold in ``n_features``
    dimensions, in ``n_clusters`` clusters (see the module docstring)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_rows) % n_clusters)
    centres = rng.normal(scale=3.0, size=(n_clusters, n_latent))
    latent = centres[labels] + rng.normal(size=(n_rows, n_latent))
    linear = latent @ rng.normal(scale=1 / np.sqrt(n_latent), size=(n_latent, n_features))
    X = linear + 0.5 * np.sin(linear) + rng.normal(scale=0.05, size=linear.shape)
    return X, labels


def load(name, quick):
    import numpy as np
    from sklearn.datasets import load_digits, make_blobs
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = X.astype(np.float64)
    elif name == "blobs20k":
        X, y = make_blobs(QUICK_ROWS[name] if quick else 20_000, 50, centers=20,
                          cluster_std=3, random_state=0)
    else:
        X, y = manifold_data(QUICK_ROWS[name] if quick else 70_000)
    if quick and len(X) > QUICK_ROWS[name]:
        keep = np.random.default_rng(0).choice(len(X), QUICK_ROWS[name], replace=False)
        X, y = X[np.sort(keep)], y[np.sort(keep)]
    return X, y


def eval_rows(n_rows):
    """The rows the quality measures use: all, or one fixed random subsample."""
    import numpy as np
    if n_rows <= EVAL_ROWS:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(0).choice(n_rows, EVAL_ROWS, replace=False))


# Measurements. ------------------------------------------------------------------------

def timed(run):
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def quality(X, y, embedding, rows):
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    trust = trustworthiness(X[rows], embedding[rows], n_neighbors=10)
    accuracy = cross_val_score(KNeighborsClassifier(10), embedding[rows], y[rows], cv=5)
    return trust, accuracy.mean()


def median(values):
    return statistics.median(values) if values else float("nan")


def ratio(ours, this):
    return f"{ours / this:.2f}" if ours == ours and this == this else "n/a"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def warm_up(libraries, X, threads):
    import numpy as np
    rows = np.random.default_rng(1).choice(len(X), min(WARMUP_ROWS, len(X)),
                                           replace=False)
    out = []
    for library in libraries:
        seconds, _, (model, _) = timed(lambda: library.fit(X[rows], 0, threads))
        placed = "no transform"
        if library.transforms:
            placed = f"{timed(lambda: library.transform(model, X[rows[:50]]))[0]:.2f}"
        out.append([library.name, f"{seconds:.2f}", placed])
    print(f"\n#### Warm-up: first fit in this process on {len(rows)} rows, then a first "
          "transform of 50 (compilation included)\n")
    print(table(["library", "fit wall s", "transform wall s"], out))


def fit_section(method, libraries, name, X, y, repeats, threads):
    rows = eval_rows(len(X))
    runs = {library.name: {"wall": [], "cpu": [], "trust": [], "accuracy": []}
            for library in libraries}
    for seed in range(repeats):
        for library in libraries:  # alternating: ours, peers, ours, peers...
            wall, cpu, (_, embedding) = timed(lambda: library.fit(X, seed, threads))
            trust, accuracy = quality(X, y, embedding, rows)
            for key, value in zip(runs[library.name], (wall, cpu, trust, accuracy)):
                runs[library.name][key].append(value)
    ours = median(runs[libraries[0].name]["wall"])
    out = []
    for library in libraries:
        run = runs[library.name]
        wall, cpu = median(run["wall"]), median(run["cpu"])
        out.append([library.name, f"{wall:.2f}", f"{cpu:.2f}", f"{cpu / wall:.2f}",
                    ratio(ours, wall), f"{median(run['trust']):.4f}",
                    f"{median(run['accuracy']):.4f}"])
    measured = "all rows" if len(rows) == len(X) else f"the same {len(rows)} random rows"
    print(f"\n#### {method_title(method)} fit, {name} ({X.shape[0]:,} x {X.shape[1]}), "
          f"{threads} thread(s), median of {repeats}; quality on {measured}\n")
    print(table(["library", "wall s", "CPU s", "CPU / wall",
                 f"{libraries[0].name} / this (wall)", "trustworthiness@10",
                 "10-NN accuracy (5-fold)"], out))


def transform_section(method, libraries, name, X, y, repeats, threads):
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier
    libraries = [library for library in libraries if library.transforms]
    order = np.random.default_rng(2).permutation(len(X))
    split = len(X) * 9 // 10
    train, new = np.sort(order[:split]), np.sort(order[split:])
    fitted, fit_seconds = {}, {}
    for library in libraries:
        fit_seconds[library.name], _, fitted[library.name] = timed(
            lambda: library.fit(X[train], 0, threads))
    times = {library.name: [] for library in libraries}
    accuracy = {library.name: [] for library in libraries}
    for _ in range(repeats):
        for library in libraries:
            model, embedding = fitted[library.name]
            wall, _, placed = timed(lambda: library.transform(model, X[new]))
            times[library.name].append(wall)
            knn = KNeighborsClassifier(10).fit(embedding, y[train])
            accuracy[library.name].append(knn.score(placed, y[new]))
    ours = median(times[libraries[0].name])
    out = [[library.name, f"{fit_seconds[library.name]:.2f}",
            f"{median(times[library.name]):.3f}", ratio(ours, median(times[library.name])),
            f"{median(accuracy[library.name]):.4f}"] for library in libraries]
    print(f"\n#### {method_title(method)} transform, {name}: fit on {len(train):,} rows, "
          f"transform {len(new):,}, {threads} thread(s), median of {repeats}\n")
    print(table(["library", "fit s (once)", "transform wall s",
                 f"{libraries[0].name} / this (transform)",
                 "10-NN accuracy of the new points"], out))


def method_title(method):
    return {"tsne": "t-SNE", "umap": "UMAP"}[method]


# Fresh processes. ---------------------------------------------------------------------

def child(library_key, threads):
    """In a new process: import the library, fit digits once; print the times."""
    started = time.perf_counter()
    library = {"ours-tsne": LIBRARIES["tsne"][0], "ours-umap": LIBRARIES["umap"][0],
               "umap-learn": LIBRARIES["umap"][1]}[library_key]
    __import__(library.module)
    imported = time.perf_counter()
    from sklearn.datasets import load_digits
    X, _ = load_digits(return_X_y=True)
    fix_threads(threads)
    loaded = time.perf_counter()
    library.fit(X, 0, threads)
    done = time.perf_counter()
    source = sys.modules[library.module].__file__
    print(json.dumps({"import": imported - started, "fit": done - loaded,
                      "source": source}))


def run_child(library_key, threads, source=None, env=None):
    command = [sys.executable, str(Path(__file__).resolve()), "--child", library_key,
               "--threads", str(threads)]
    if source is not None:
        command += ["--source", str(source)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{library_key} child failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def fresh_section(methods, repeats, threads, cold, available):
    keys = [key for key, method, name in (("ours-tsne", "tsne", "ours TSNE"),
                                          ("ours-umap", "umap", "ours UMAP"),
                                          ("umap-learn", "umap", "umap-learn"))
            if method in methods and name in available]
    out = []
    for key in keys:
        run_child(key, threads)  # warms the on-disk caches; not timed
    results = {key: [] for key in keys}
    for _ in range(repeats):
        for key in keys:
            results[key].append(run_child(key, threads))
    for key in keys:
        out.append([key, "warm"] + [f"{median([r[part] for r in results[key]]):.2f}"
                                    for part in ("import", "fit", "wall")])
    if cold:
        for key in (key for key in keys if key.startswith("ours")):
            result = cold_run(key, threads)
            out.append([key, "empty cache, 1 run"] + [
                f"{result[part]:.2f}" for part in ("import", "fit", "wall")])
    print(f"\n#### Fresh process: import + first fit on digits (1,797 x 64), "
          f"{threads} thread(s), warm caches: median of {repeats}\n")
    print(table(["library", "caches", "import s", "first fit s",
                 "process wall s (with interpreter start)"], out))


def cold_run(key, threads):
    """One child with our sources copied without their cache, and an empty
    NUMBA_CACHE_DIR."""
    import sklearn_train
    package = Path(sklearn_train.__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="bench-embedding-cold-") as temporary:
        source = Path(temporary, "src")
        shutil.copytree(package, source / "sklearn_train",
                        ignore=shutil.ignore_patterns("__pycache__"))
        result = run_child(key, threads, source=source,
                           env={"NUMBA_CACHE_DIR": str(Path(temporary, "numba"))})
    if not result["source"].startswith(str(source)):
        raise RuntimeError(f"the cold run imported {result['source']}, not the copy")
    return result


# Set-up and report. -------------------------------------------------------------------

def fix_threads(threads):
    import numba
    from threadpoolctl import threadpool_limits
    numba.set_num_threads(threads)
    return threadpool_limits(limits=threads)


def machine():
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba
    import numpy as np
    import sklearn
    versions = [f"Python {platform.python_version()}", f"numpy {np.__version__}",
                f"scikit-learn {sklearn.__version__}", f"numba {numba.__version__}"]
    for module, label in (("openTSNE", "openTSNE"), ("umap", "umap-learn")):
        try:
            versions.append(f"{label} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{label} not installed")
    return f"{model}, {os.cpu_count()} cores; " + ", ".join(versions)


def tree_line():
    import sklearn_train
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always",
                                 "--dirty"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    return f"sklearn_train from {Path(sklearn_train.__file__).parent} (commit {commit})"


def blas_line():
    found = {name: os.environ.get(name) for name in ("OPENBLAS_CORETYPE",
                                                     "OPENBLAS_L2_SIZE")}
    if not any(value is not None for value in found.values()):
        return "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: unset."
    shown = ", ".join(f"{name}={value}" for name, value in found.items()
                      if value is not None)
    return (f"**{shown} set**: BLAS runs slower; measure with "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...`.")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--methods", default="tsne,umap", help="tsne, umap or both")
    parser.add_argument("--peers", default=None,
                        help="comma-separated peers to run (default all): "
                             "scikit-learn TSNE, openTSNE, umap-learn")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs per library (default 3; 1 with --quick)")
    parser.add_argument("--no-transform", action="store_true",
                        help="skip the transform section")
    parser.add_argument("--fresh", action="store_true",
                        help="also time import + first fit in fresh processes")
    parser.add_argument("--cold", action="store_true",
                        help="with --fresh: also ours with an empty kernel cache")
    parser.add_argument("--quick", action="store_true", help="small data: a smoke test")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    args.methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    for name in args.datasets:
        if name not in DATASETS:
            parser.error(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    for name in args.methods:
        if name not in METHODS:
            parser.error(f"unknown method {name!r}; choose from tsne, umap")
    if args.peers is not None:
        args.peers = {name.strip() for name in args.peers.split(",")}
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    return args


def main():
    args = parse_args()
    for name in THREAD_VARIABLES:  # before any library starts its thread pools
        os.environ[name] = str(args.threads)
    sys.path.insert(0, args.source or str(ROOT))  # this tree's sklearn_train
    warnings.filterwarnings("ignore", module="(umap|openTSNE|sklearn|pynndescent)")
    if args.child:
        return child(args.child, args.threads)

    import numpy as np  # noqa: F401  (imported before the thread limits are set)
    libraries, available = {}, set()
    for method in args.methods:
        for library in LIBRARIES[method]:
            is_ours = library.module.startswith("sklearn_train")
            if not is_ours and args.peers is not None and library.name not in args.peers:
                continue
            reason = library.missing()
            if reason is not None:
                print(f"> Skipped: {reason}." + (
                    " Our rows and ratios are left out; the peers still run."
                    if is_ours else ""))
                continue
            libraries.setdefault(method, []).append(library)
            available.add(library.name)
    limits = fix_threads(args.threads)  # after the imports: caps every loaded pool

    print(f"Machine: {machine()}")
    print(f"\n{tree_line()}")
    print(f"\nCommand: `{shlex.join(['python', *sys.argv])}`")
    print(f"\n{blas_line()}")
    print(f"\nThreads: {args.threads} for every library "
          f"({', '.join(THREAD_VARIABLES)}, threadpoolctl, numba.set_num_threads, n_jobs)")
    data = {name: load(name, args.quick) for name in args.datasets}
    first = data[args.datasets[0]][0]
    for method in args.methods:
        chosen = libraries.get(method, [])
        if not chosen:
            continue
        if not chosen[0].module.startswith("sklearn_train"):  # no ours: name the ratios after
            print(f"\n> {method_title(method)}: ratios are to {chosen[0].name}.")
        print(f"\n### {method_title(method)}")
        warm_up(chosen, first, args.threads)
        for name, (X, y) in data.items():
            fit_section(method, chosen, name, X, y, args.repeats, args.threads)
        if not args.no_transform and sum(lib.transforms for lib in chosen) >= 1:
            for name, (X, y) in data.items():
                transform_section(method, chosen, name, X, y, args.repeats,
                                  args.threads)
    if args.fresh:
        fresh_section(args.methods, args.repeats, args.threads, args.cold, available)
    limits.restore_original_limits()


if __name__ == "__main__":
    main()
