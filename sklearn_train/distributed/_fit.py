"""``fit_distributed``: train one of our estimators over rows held by dask workers.

The flow mirrors a local ``fit`` (``TrainedEstimator._train``), step for step:

1. parameters checked, a seed drawn; the rows split into partitions, each
   validated on its worker (``_worker.inspect_partition``) with its share of the
   global statistics;
2. the start: with one partition exactly the local fit's (computed on its
   worker); with several, the global statistics (``classes_``, class weights,
   ``eta0="auto"``, the data's origin, the clustering seeding) are combined once
   and the start is made from them (``_families``);
3. every partition bound to the estimator's own training problem on its worker
   (``_worker.make_context``);
4. the driver's epochs on the client, each one or more rounds on the workers
   (``DistributedProblem``);
5. the fitted attributes, as a local fit stores them: the result is an ordinary
   fitted estimator that pickles, predicts without dask and continues locally
   with ``partial_fit``.

A call that fails leaves the estimator as it was.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._data import TrainingData
from .._estimator import _check_finite
from .._targets import ClassifierTargets, InputTargets, RegressorTargets
from .._training import new_progress
from ._aggregate import server_optimizer
from ._families import family_of
from ._partitions import partition_blocks
from ._problem import DistributedProblem
from ._rounds import WorkerPool
from . import _worker as worker


def fit_distributed(estimator, X, y=None, *, client=None, sync="epoch",
                    aggregate="mean", X_val=None, y_val=None, sample_weight=None,
                    n_partitions=None, federated=False, mu=0.0, client_fraction=1.0):
    """Fit ``estimator`` data-parallel on a dask cluster, by averaging what the
    workers learn.

    Every round sends the current state to the workers; each trains on its own
    partition with our compiled epoch (or ``sync`` mini-batch steps of it) and the
    client combines the results, weighted by the rows each worker visited. The
    driver (schedules, ``history_``, callbacks, early stopping on ``X_val``) runs
    on the client as in a local fit.

    Parameters
    ----------
    estimator : estimator of ours
        ``LinearClassifier``, ``LinearRegressor``, ``MLPClassifier``,
        ``MLPRegressor``, ``Autoencoder``, ``KMeans`` or ``GaussianMixture``;
        fitted in place (and returned). Its ``max_iter`` counts epochs.
    X : dask array, dask DataFrame, or array-like / sparse matrix / DataFrame
        Training rows. A dask collection's row chunks are the partitions;
        in-memory data is cut into ``n_partitions``.
    y : same kinds as X, optional
        Targets, split along the same rows (a dask Series for a dask DataFrame).
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    sync : "epoch" or int, default="epoch"
        Combine after every worker has run a whole epoch over its rows, or after
        every ``sync`` mini-batch steps of it (more rounds, closer to one long run).
    aggregate : {"mean", "adagrad", "fedavg", "fedadagrad", "fedadam"} or \
ServerOptimizer, default="mean"
        How the workers' parameters combine. "mean": every state entry's weighted
        mean. "adagrad": each parameter weighted also by the worker's squared-
        gradient statistic (Vowpal Wabbit's AllReduce averaging; needs an adaptive
        optimizer). The others, or a ``ServerOptimizer``: a server optimizer over
        the averaged update (Reddi et al. 2021); "fedavg" is the plain mean.
        Clustering models combine by their own rules and take "mean" only.
    X_val, y_val : array-like, optional
        Validation data, scored on the client after every epoch (needed for
        ``early_stopping=True``; an Autoencoder takes ``X_val`` alone).
    sample_weight : same kinds as y, optional
    n_partitions : int, optional
        Partitions of in-memory X; default one per worker.
    federated : bool, default=False
        Keep every partition on the worker that holds it: no task may run
        elsewhere, only states and counts travel. A lost worker's partitions are
        dropped and the round run again without them (``history_`` column
        ``workers_lost``); without ``federated``, dask computes them again from
        their source on another worker.
    mu : float, default=0.0
        FedProx's proximal strength (Li et al. 2020): every local step also pulls
        the parameters towards the round's global ones by the gradient of
        ``mu / 2 * |w - w_round|^2``, so that workers whose data differ drift
        apart less. Gradient families only; plain SGD then sweeps every weight
        each step (no lazy sparse steps).
    client_fraction : float in (0, 1], default=1.0
        Share of the partitions (clients) sampled for each round, from the
        estimator's seed, the epoch and the round.

    Returns
    -------
    estimator : the fitted estimator
        ``history_`` rows gain ``rounds`` (and ``workers_lost`` when it happened).
        The fit always starts afresh (``warm_start`` is not used); continue the
        result locally with ``partial_fit``.

    Notes
    -----
    Deterministic: partitions combine in their order and each one's row order comes
    from (seed, epoch, partition), so the same call gives the same parameters. With
    one partition the result is the local ``fit`` bit for bit.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import scale
    >>> from sklearn_train import LinearClassifier
    >>> from sklearn_train.distributed import fit_distributed
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, \\
    ...         Client(cluster) as client:
    ...     clf = fit_distributed(LinearClassifier(random_state=0), scale(X), y,
    ...                           client=client)
    >>> round(clf.score(scale(X), y), 2) > 0.95
    True
    """
    client = _client(client)
    family = family_of(estimator)
    _check_options(estimator, family, sync, aggregate, client_fraction, n_partitions,
                   mu, federated)
    before = dict(estimator.__dict__)
    history = before.get("history_")
    n_rows = None if history is None else len(history)
    try:
        return _fit(estimator, family, client, X, y, sample_weight, X_val, y_val,
                    dict(sync=sync, aggregate=aggregate, n_partitions=n_partitions,
                         federated=federated, mu=float(mu),
                         client_fraction=client_fraction))
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(before)
        if history is not None:
            del history[n_rows:]
        raise


def _client(client):
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise ValueError("fit_distributed needs a dask client: pass client=, or create "
                         "one first (distributed.Client(...)).") from None


def _check_options(estimator, family, sync, aggregate, client_fraction, n_partitions,
                   mu, federated):
    if not (sync == "epoch" or (isinstance(sync, Integral) and not isinstance(sync, bool)
                                and sync >= 1)):
        raise ValueError(f"sync must be 'epoch' or a positive number of mini-batch "
                         f"steps; got {sync!r}.")
    if not (isinstance(client_fraction, Real) and not isinstance(client_fraction, bool)
            and 0 < client_fraction <= 1):
        raise ValueError(f"client_fraction must be in (0, 1]; got {client_fraction!r}.")
    if not isinstance(federated, (bool, np.bool_)):
        raise ValueError(f"federated must be True or False; got {federated!r}.")
    if (estimator.__dict__.get("warm_start") and hasattr(estimator, "_state")):
        raise ValueError(
            "warm_start=True: fit_distributed always trains from a fresh start, it does "
            "not continue a fitted model. Set warm_start=False, or continue the fitted "
            "model locally with partial_fit.")
    if n_partitions is not None and not (isinstance(n_partitions, Integral)
                                         and n_partitions >= 1):
        raise ValueError(f"n_partitions must be a positive integer; got "
                         f"{n_partitions!r}.")
    if not (isinstance(mu, Real) and not isinstance(mu, bool) and np.isfinite(mu)
            and mu >= 0):
        raise ValueError(f"mu must be a non-negative number; got {mu!r}.")
    if mu > 0 and not family.uses_optimizer:
        raise ValueError(f"mu (FedProx's proximal term) applies to models trained by "
                         f"an optimizer, not {type(estimator).__name__}.")
    server = server_optimizer(aggregate)  # (checks the name)
    if not family.uses_optimizer and aggregate != "mean":
        raise ValueError(f"{type(estimator).__name__} combines by its own rule (see "
                         f"fit_distributed); aggregate must be 'mean', not {aggregate!r}.")
    if aggregate == "adagrad" and estimator.optimizer in ("sgd", "momentum", "nesterov"):
        raise ValueError(
            "aggregate='adagrad' weighs each parameter by the squared gradients the "
            "optimizer accumulates: use optimizer='adagrad', 'rmsprop', 'adam' or "
            f"'adamw' (not {estimator.optimizer!r}), or aggregate='mean'.")
    if server is not None and getattr(estimator, "average", False):
        raise ValueError("A server optimizer moves the raw parameters, not the running "
                         "average: use average=False, or aggregate='mean'.")


def _fit(est, family, client, X, y, sample_weight, X_val, y_val, options):
    est._check_params()
    est._check_settings()
    if est._monitors_validation() and X_val is None:
        raise ValueError("early_stopping=True in fit_distributed needs X_val and y_val "
                         "(the validation set is scored on the client).")
    # a fit from scratch, whatever was fitted before (warm_start is not used): no
    # attribute of an earlier fit outlives it (a federated KMeans has no labels_)
    parameters = set(type(est)._get_param_names())
    for key in [key for key in est.__dict__ if key not in parameters]:
        del est.__dict__[key]
    est._seed = int(check_random_state(est.random_state).randint(np.iinfo(np.int32).max))
    template = _worker_template(est)
    parts, summaries = _inspect(client, template, family, X, y, sample_weight,
                                options["n_partitions"])
    state, progress, stand_in = _start(client, template, family, parts, summaries)
    est.__dict__.update({key: value for key, value in template.__dict__.items()
                         if key not in parameters})  # classes_, n_features_in_, ...
    owners = [_owner(client, part) for part in parts]
    contexts = [_submit(client, options, owner, worker.make_context, template, part,
                        state, None if len(parts) == 1 else index, options["mu"])
                for index, (part, owner) in enumerate(zip(parts, owners))]
    steps = client.gather([_submit(client, options, owner, _steps_of, context)
                           for context, owner in zip(contexts, owners)])
    shadow_data = _shadow_data(est, summaries, X_val, y_val)
    pool = WorkerPool(client, contexts, owners, options["federated"],
                      options["client_fraction"], est._seed)
    live = {}
    shadow_data.current_model = lambda: est._copy_at(live["problem"], live["run"], False)
    shadow = est._make_problem(shadow_data, state)
    problem = live["problem"] = DistributedProblem(
        shadow, pool, family, steps, options["sync"], options["aggregate"],
        server_optimizer(options["aggregate"]))
    problem.divergence_note = lambda: None
    run, _ = est._run_epochs(problem, progress, shadow_data, False, live)
    final = _finish(est, family, problem, shadow_data, options)
    attributes = est._fitted_attributes(problem.state)
    _check_finite(attributes)
    attributes.update(est._training_attributes(problem, problem.state, run._progress,
                                               run.history, run))
    attributes.update(final)
    est.__dict__.update(attributes)
    return est


def _worker_template(est):
    """An unfitted copy of ``est`` with its seed, as the workers receive it: no
    validation split there (the client validates)."""
    template = clone(est)
    template._seed = est._seed
    if "early_stopping" in template.__dict__:
        template.early_stopping = False
    template.callbacks = None
    template.verbose = 0
    return template


def _submit(client, options, owner, function, *args):
    restrict = {}
    if options["federated"]:
        restrict = {"workers": [owner], "allow_other_workers": False}
    return client.submit(function, *args, pure=False, **restrict)


def _owner(client, future):
    holders = client.who_has([future]).get(future.key, ())
    return sorted(holders)[0] if holders else None


def _steps_of(context):
    return context.problem.n_steps()


def _inspect(client, template, family, X, y, sample_weight, n_partitions):
    """The validated partitions (futures) and their summaries, empty ones dropped."""
    blocks = partition_blocks(client, X, y, sample_weight, n_partitions)
    parts = [client.submit(worker.inspect_partition, template, family, block,
                           pure=False) for block in blocks]
    summaries = client.gather([client.submit(worker.summary_of, part) for part in parts])
    _warn_once([warning for summary in summaries
                for warning in summary.get("warnings", ())])
    kept = [index for index, summary in enumerate(summaries) if summary["n_rows"] > 0]
    if not kept:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    if not sum(summaries[index]["weight"] for index in kept) > 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    parts = [parts[index] for index in kept]
    summaries = [summaries[index] for index in kept]
    for key, what in (("n_features", "numbers of features"), ("dtype", "dtypes")):
        values = {summary[key] for summary in summaries}
        if len(values) > 1:
            raise ValueError(f"The partitions of X have different {what}: {values}.")
    names = [summary["feature_names"] for summary in summaries]
    if any((a is None) != (b is None) or (a is not None and list(a) != list(b))
           for a, b in zip(names, names[1:])):
        raise ValueError("The partitions of X have different feature names.")
    return parts, summaries


def _warn_once(caught):
    """The warnings the partitions' validation raised on the workers, each once."""
    for category, message in dict.fromkeys(caught):
        warnings.warn(message, category, stacklevel=4)


def _start(client, template, family, parts, summaries):
    """The starting state and progress, and the stand-in data (see ``_families``);
    ``template`` receives the global attributes."""
    first = summaries[0]
    template.n_features_in_ = first["n_features"]
    if first["feature_names"] is not None:
        template.feature_names_in_ = first["feature_names"]
    X_like = np.empty((0, first["n_features"]), dtype=first["dtype"])
    if len(parts) == 1:  # exactly the local fit's start, made on the worker
        state, progress, learned = client.submit(worker.local_start, template,
                                                 parts[0], {}, pure=False).result()
        template.__dict__.update(learned)
        return state, progress, TrainingData(X=X_like)
    family.set_globals(template, summaries)
    if family.needs_start_pass:
        stand_in = TrainingData(X=X_like)
        found = client.gather([client.submit(worker.seeding_candidates, template,
                                             family, part, pure=False) for part in parts])
        started = family.start(template, summaries, found, X_like.dtype)
        if isinstance(started, tuple):  # the mixture: statistics of its seeding
            centres, origin = started
            statistics = client.gather([client.submit(
                worker.start_statistics, template, part, centres, origin, pure=False)
                for part in parts])
            weights = np.array([summary["weight"] for summary in summaries])
            started = family.finish_start(template, centres, origin, summaries,
                                          statistics, weights / weights.sum())
        state = started
    else:
        stand_in = family.stand_in(template, summaries, X_like)
        state = family.start(template, summaries, stand_in, {})
    progress = new_progress()
    template._begin_progress(progress, state, stand_in, False)
    return state, progress, stand_in


def _shadow_data(est, summaries, X_val, y_val):
    """The client's data: no training rows (they stay on the workers), the
    validation set."""
    X = np.empty((0, summaries[0]["n_features"]), dtype=summaries[0]["dtype"])
    y = Y = None
    if isinstance(est, InputTargets):
        y, Y, y_val = X, np.empty((0, 0)), X_val
    elif isinstance(est, ClassifierTargets):
        Y, _ = est._encode_targets(est.classes_[:1], None, first_call=False)
        y, Y = est.classes_[:0], np.ascontiguousarray(Y[:0])
    elif isinstance(est, RegressorTargets):
        y, Y = np.empty(0), np.empty((0, summaries[0]["n_outputs"]))
    data = TrainingData(X=X, y=y, Y=Y, sample_weight=np.empty(0))
    if X_val is not None or y_val is not None:
        data.rows, data.validation = est._validation_set(data, X_val, y_val, None, None)
    return data


def _finish(est, family, problem, data, options):
    """The attributes a fit computes once training ends (k-means labels and
    inertia, the mixture's warnings)."""
    from ..cluster import KMeans

    if not isinstance(est, KMeans):
        return est._finish_fit(problem.shadow, data)
    pool, client = problem.pool, problem.pool.client
    contexts = [pool.contexts[index] for index in pool.alive]
    owners = [pool.owners[index] for index in pool.alive]
    if pool.single:
        final, state = client.submit(worker.local_finish, contexts[0], problem.state,
                                     pure=False).result()
        problem.shadow.load(state)
        return final
    centres = problem.state["centers"]
    for _ in range(est.refine):  # Lloyd iterations: sums of the rows of each centre
        parts = client.gather([_submit(client, options, owner, worker.finish_kmeans,
                                       context, problem.state, True)
                               for context, owner in zip(contexts, owners)])
        sums = sum(part[0] for part in parts)
        weights = sum(part[1] for part in parts)
        moved = weights > 0
        centres[moved] = (sums[moved] / weights[moved, None]).astype(centres.dtype)
    parts = client.gather([_submit(client, options, owner, worker.finish_kmeans, context,
                                   problem.state, False)
                           for context, owner in zip(contexts, owners)])
    final = {"inertia_": float(sum(inertia for _, inertia in parts))}
    if not options["federated"]:  # (a federated fit keeps per-row results on the workers)
        final["labels_"] = np.concatenate([labels for labels, _ in parts])
    return final
