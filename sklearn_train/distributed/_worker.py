"""What runs on the workers, one partition at a time.

``inspect_partition`` validates a partition's rows once and keeps them in the
worker's memory (a ``Partition``) with their share of the global statistics;
``local_start`` is a local fit's start over one partition (a fit of one partition
is the local fit exactly); ``make_context`` binds the partition to the estimator's
own training problem, which ``run_round`` then trains for one round from the state
the client sends: one compiled epoch, or ``sync`` mini-batch steps of it.

Every function copies the estimator it receives: a worker may hand the same
deserialised object to several tasks.
"""

import copy
import warnings

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from .._data import TrainingData
from ..cluster._problem import KMeansProblem, centred
from .._training import new_progress


class Partition:
    """One partition's validated rows, kept in a worker's memory."""

    def __init__(self, X, y, sample_weight, summary):
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.summary = summary


def inspect_partition(template, family, block):
    """Validate a partition as ``fit`` would; return it with its summary."""
    X, y, sample_weight = block
    n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_rows == 0:
        return Partition(None, None, None, {"n_rows": 0})
    est = copy.copy(template)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # (a partition may have no weight at all: the client checks the total)
        X, y, _ = est._validate_fit_data(X, y, None, reset=True)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(_check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True,
                allow_all_zero_weights=True))
        else:
            sample_weight = np.ones(X.shape[0])
    summary = {
        "warnings": [(warning.category, str(warning.message)) for warning in caught],
        "n_rows": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "feature_names": getattr(est, "feature_names_in_", None),
        "dtype": X.dtype,
        "weight": float(sample_weight.sum()),
    }
    summary.update(family.inspect(est, X, y, sample_weight))
    return Partition(X, y, sample_weight, summary)


def summary_of(partition):
    return partition.summary


def partition_data(est, partition):
    """The partition as one call's ``TrainingData``, its targets encoded with the
    global classes and class weights that ``est`` carries."""
    data = TrainingData(X=partition.X, y=partition.y,
                        sample_weight=partition.sample_weight)
    if hasattr(est, "_encode_targets"):
        Y, factor = est._encode_targets(partition.y, None, first_call=False)
        data.Y = Y
        if factor is not None:
            data.sample_weight = data.sample_weight * factor
    return data


def local_start(template, partition, init):
    """The start of a local ``fit`` over this one partition: its state, progress,
    and the attributes the fit's data preparation sets (classes_, ...)."""
    est = copy.copy(template)
    before = set(est.__dict__)
    data = est._prepare_data(partition.X, partition.y, partition.sample_weight,
                             incremental=False, continuing=False)
    state = est._initial_state(data, init)
    progress = new_progress()
    est._begin_progress(progress, state, data, False)
    learned = {key: value for key, value in est.__dict__.items()
               if key not in before or key in ("_class_weights", "_class_weight_source")}
    return state, progress, learned


def seeding_candidates(template, family, partition):
    """A clustering family's seeding candidates from this partition."""
    est = copy.copy(template)
    return family.candidates(est, partition_data(est, partition))


def start_statistics(template, partition, centres, origin):
    from ._clustering import start_statistics as statistics

    est = copy.copy(template)
    return statistics(est, partition_data(est, partition), centres, origin)


class Context:
    """A partition bound to the estimator's training problem on a worker;
    ``proximal``: its optimizer pulls towards the round's starting parameters."""

    def __init__(self, est, problem, data, proximal=False):
        self.est = est
        self.problem = problem
        self.data = data
        self.proximal = proximal


def make_context(template, partition, state, index, mu=0.0):
    """The estimator's problem over this partition; ``index`` its partition number
    (None when it is the only one: the row order of a local fit); ``mu`` > 0 adds
    FedProx's proximal term ``mu / 2 * |w - w_round|^2`` to its steps."""
    est = copy.copy(template)
    data = partition_data(est, partition)
    state = {key: value.copy() for key, value in state.items()}
    problem = est._make_problem(data, state)
    problem.partition = index
    if index is not None:
        _partition_streams(problem, index)
    if mu > 0:
        from .._core import linear, mlp
        from .._core.optimizers import H_PROX
        from ..linear_model._problem import LinearProblem

        first = linear.N_FLOATS if isinstance(problem, LinearProblem) else mlp.N_FLOATS
        problem.floats[first + H_PROX] = mu
        moments = state["moments"]
        # the optimizer's anchor row (optimizers.apply), set every round
        state["moments"] = np.zeros((3, moments.shape[1]), dtype=moments.dtype)
    return Context(est, problem, data, proximal=mu > 0)


def _partition_streams(problem, index):
    """Random streams of the partition's own: dropout masks (networks) and
    reassignment draws (k-means) from (seed, partition), not the seed alone, so
    workers do not draw the same masks (the row order already has its own)."""
    from .._core import mlp
    from ..neural_network._problem import MLPProblem

    mixed = (problem.seed * 1_000_003 + (index + 1) * 0x9E3779B1) % (2**31 - 1)
    if isinstance(problem, MLPProblem):
        problem.ints[mlp.I_SEED] = mixed
    elif isinstance(problem, KMeansProblem):  # its reassignment stream
        problem.seed = mixed


def run_round(context, state, epoch, rates, steps):
    """Train one round from ``state``: the whole epoch ``epoch`` (``steps`` None)
    or its steps ``steps = (first, last, offset)``, ``rates`` starting at step
    ``offset``. Returns the new state and the
    round's history columns with ``n_rows``, the rows visited."""
    problem = context.problem
    if context.proximal:
        moments = problem.state["moments"]
        problem.load({key: value for key, value in state.items() if key != "moments"})
        moments[:2] = state["moments"]
        moments[2] = state["params"]  # the anchor: the round's global parameters
    else:
        problem.load(state)
    if steps is None:
        result = problem.run_epoch(epoch, rates)
        result["n_rows"] = problem.n_rows
        weights = problem.sample_weight  # (a worker's problem trains all its rows)
        result["row_weight"] = float(weights.sum())
    else:
        # (first, last, offset): ``rates`` starts at step ``offset`` of the epoch
        first, last, offset = steps
        if rates.shape[0] > 1:
            rates = np.concatenate([np.empty(offset), rates])
        result = problem.run_steps(epoch, rates, first, last)
    saved = problem.save()
    if context.proximal:
        saved["moments"] = saved["moments"][:2]
    return saved, result


def finish_kmeans(context, state, refine_centres):
    """Labels and inertia of the partition's rows (``full_pass``) at ``state``; with
    ``refine_centres``, instead the weighted sums of the rows nearest each centre
    (one Lloyd iteration's share)."""
    problem = context.problem
    problem.load(state)
    labels, _, inertia = problem.full_pass()
    if not refine_centres:
        return labels, inertia
    k, d = problem.state["centers"].shape
    rows = centred(context.data.X, problem.state["origin"])  # as the centres are
    weights = problem.sample_weight
    sums = np.zeros((k, d))
    for cluster in np.unique(labels):
        mask = labels == cluster
        sums[cluster] = np.asarray(weights[mask] @ rows[mask]).ravel()
    return sums, np.bincount(labels, weights, minlength=k)


def local_finish(context, state):
    """The estimator's own end of ``fit`` over the only partition (exactly as a
    local fit ends)."""
    context.problem.load(state)
    final = context.est._finish_fit(context.problem, context.data)
    return final, context.problem.save()


def _register_sizes():
    """Tell dask what a partition and a context weigh (their rows): it would take
    them for tiny objects and think moving one to another worker costs nothing."""
    try:
        from dask.sizeof import sizeof
    except ImportError:  # (dask is an optional extra)
        return

    @sizeof.register(Partition)
    def _partition_size(partition):
        return int(sum(sizeof(part) for part in (partition.X, partition.y,
                                                 partition.sample_weight)
                       if part is not None))

    @sizeof.register(Context)
    def _context_size(context):
        data = context.data
        return int(sum(sizeof(part) for part in (data.X, data.Y, data.sample_weight)
                       if part is not None))


_register_sizes()
