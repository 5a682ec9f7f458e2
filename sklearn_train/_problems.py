"""Base classes of the problems the driver trains (see ``_training``).

``StateProblem`` keeps the whole training state in ``self.state``, a dict of arrays,
which gives ``save``, ``load``, ``merge`` and ``parameters`` for free. ``RowProblem``
adds what every model trained by mini-batches over rows shares: the epoch's length
and its row order, drawn from ``(seed, epoch)`` so that epoch ``e`` visits the rows
in the same order whether it runs inside one ``fit`` or as the ``e``-th
``partial_fit`` call, and from ``(seed, epoch, partition)`` for one partition of a
data-parallel fit.
"""

import numpy as np

from ._core.codes import C_MOMENT_STEPS
from ._core.data import permutation

# Length-0 per-step loss output: the kernels then record nothing.
NO_STEP_LOSSES = np.empty(0)
# The anchored penalty switched off (see GradientProblem.set_anchor).
NO_ANCHOR = np.empty((2, 0))


class StateProblem:
    """A problem whose whole training state is ``self.state``, a dict of arrays.

    ``parameter_keys`` names the entries that are the model's parameters (what
    ``parameters()`` hands to callbacks); ``merge`` averages every floating-point
    entry (families with counts or statistics that combine otherwise override it).
    """

    parameter_keys = ("params",)
    record_steps = False

    def save(self):
        return {key: value.copy() for key, value in self.state.items()}

    def load(self, saved):
        for key, value in saved.items():
            self.state[key][...] = value

    def merge(self, states, weights):
        """Make the ``weights``-weighted mean of the saved ``states`` the state.

        Integer entries (layer tables) must agree and are kept as they are.
        """
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(states),) or not weights.sum() > 0:
            raise ValueError("merge needs one non-negative weight per state, not all 0.")
        shares = weights / weights.sum()
        for key, value in self.state.items():
            if np.issubdtype(value.dtype, np.floating):
                value[...] = sum(share * state[key] for share, state in zip(shares, states))
            elif any(not np.array_equal(state[key], value) for state in states):
                raise ValueError(f"Cannot merge states whose {key!r} differ.")

    def parameters(self):
        return {key: self.state[key] for key in self.parameter_keys}

    def snapshot(self):
        return {key: self.state[key].copy() for key in self.parameter_keys}

    def restore(self, snapshot):
        for key, value in snapshot.items():
            self.state[key][...] = value


def epoch_order(n_rows, shuffle, seed, epoch, partition=None):
    """Row order of one epoch: a permutation drawn from ``(seed, epoch)``, or 0..n-1.

    ``partition`` (a worker's share of the rows in a data-parallel fit) gives each
    partition its own stream; None is the order of a local fit.
    """
    if not shuffle:
        return np.arange(n_rows, dtype=np.int64)
    # seed < 2**31 and epoch < 2**32: the pair packs into one distinct 63-bit seed
    key = (seed << 32) | (epoch & 0xFFFFFFFF)
    if partition is not None:
        # a multiplier of the golden ratio spreads partitions over the 63 bits
        key = (key ^ ((partition + 1) * 0x9E3779B97F4A7C15)) & 0x7FFFFFFFFFFFFFFF
    return permutation(n_rows, key)


class RowProblem(StateProblem):
    """A problem trained by mini-batches of ``batch_size`` rows.

    Parameters
    ----------
    n_rows : int
        Training rows (``rows`` selects them from the data when given).
    batch_size : int
        Rows per optimizer step (at most ``n_rows``: kernels size buffers by it).
    seed : int
        Seed of the row order (with the epoch number).
    shuffle : bool
        Visit rows in a new order every epoch, else in order.
    rows : ndarray of int, optional
        The training rows among the data's (the rest is held out); None for all.

    A subclass implements ``run_rows(plan)``, one compiled epoch over
    ``plan = (order, rates, step_losses)``, returning its history columns.
    """

    def __init__(self, n_rows, batch_size, seed, shuffle=True, rows=None):
        self.n_rows = int(n_rows)
        self.batch_size = max(1, min(int(batch_size), self.n_rows))
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.rows = rows
        self.partition = None

    def n_steps(self):
        return -(-self.n_rows // self.batch_size)

    def epoch_order(self, epoch):
        order = epoch_order(self.n_rows, self.shuffle, self.seed, epoch, self.partition)
        return order if self.rows is None else self.rows[order]

    def run_epoch(self, epoch, rates):
        step_losses = np.empty(self.n_steps()) if self.record_steps else NO_STEP_LOSSES
        result = self.run_rows((self.epoch_order(epoch), rates, step_losses))
        if self.record_steps:
            result["step_losses"] = step_losses
        return result

    def run_steps(self, epoch, rates, first, last):
        """Steps ``first`` to ``last`` (exclusive) of epoch ``epoch``: the part of an
        epoch one round of a data-parallel fit runs (``sync`` mini-batches), with
        the rates of those steps. Returns the history columns, ``"n_rows"`` the
        rows visited (0 once the epoch's steps are done) and ``"row_weight"``
        their total sample weight."""
        order = self.epoch_order(epoch)[first * self.batch_size:last * self.batch_size]
        if order.shape[0] == 0:
            return {"n_rows": 0}
        if rates.shape[0] > 1:
            rates = rates[first:last]
        step_losses = (np.empty(-(-order.shape[0] // self.batch_size))
                       if self.record_steps else NO_STEP_LOSSES)
        result = self.run_rows((order, rates, step_losses))
        result["n_rows"] = int(order.shape[0])
        weights = getattr(self, "sample_weight", None)
        if weights is not None:  # the weight of the rows visited
            result["row_weight"] = float(weights[order].sum())
        return result

    def run_rows(self, plan):
        raise NotImplementedError


class GradientProblem(RowProblem):
    """A row problem trained by one of the core's optimizers: ``state`` holds its
    ``moments`` and the ``counters`` every gradient kernel keeps (``_core.codes``)."""

    anchor = NO_ANCHOR

    def reset_optimizer(self):
        reset_optimizer(self.state)

    def set_anchor(self, anchor):
        """Train with the anchored penalty ``strength * (params - anchor)`` added to
        the gradient of every parameter (elastic weight consolidation:
        ``sklearn_train.continual``); ``anchor = [anchor, strength]``, shape ``(2,
        n_params)``; None: off."""
        if anchor is None:
            self.anchor = NO_ANCHOR
            return
        n_params = self.state["params"].shape[0]
        anchor = np.ascontiguousarray(anchor, dtype=np.float64)
        if anchor.shape != (2, n_params):
            raise ValueError(f"The anchored penalty has shape {anchor.shape}; this model "
                             f"has {n_params} parameters: expected (2, {n_params}).")
        self.anchor = anchor


def reset_optimizer(state):
    """Zero the optimizer's moments; its bias correction counts from the next step."""
    state["moments"][...] = 0.0
    state["counters"][C_MOMENT_STEPS] = 0.0
