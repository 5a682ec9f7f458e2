"""The driver's problem for a data-parallel fit: ``DistributedProblem``.

The driver (``_training.train``) runs on the client exactly as for a local fit:
schedules, ``history_``, callbacks, early stopping. Everything but the epoch is the
estimator's own problem over the validation data (the *shadow*): it holds the
combined state, validates, takes snapshots and restores them. An epoch is one or
more rounds: the state goes to the workers, each trains its partitions' rows
(``_worker.run_round``), and the family combines the results in partition order,
weighted by the (sample weight of the) rows each worker visited.
"""

import numpy as np

from ._rounds import run_round_on_workers


class DistributedProblem:
    """See the module docstring.

    Parameters
    ----------
    shadow : problem
        The estimator's own problem over the validation data (or none): it holds
        the state the driver sees.
    pool : _rounds.WorkerPool
        The partitions' training contexts on the workers.
    family : _families.GradientFamily or similar
    steps : list of int
        Optimizer steps of one epoch on each partition.
    sync : "epoch" or int
        Steps per round.
    aggregate : str
    server : ServerOptimizer or None
    """

    def __init__(self, shadow, pool, family, steps, sync, aggregate, server):
        self.shadow = shadow
        self.state = shadow.state
        self.pool = pool
        self.family = family
        self.steps = steps
        self.sync = sync
        self.aggregate = aggregate
        self.server = server
        self.server_state = (None if server is None else
                             server.new_state(self.state["params"].shape[0],
                                              self.state["params"].dtype))
        self.record_steps = False
        self.divergence_advice = getattr(shadow, "divergence_advice", None)
        self.rounds_done = 0

    # -- the driver's interface ----------------------------------------------------------

    def n_steps(self):
        # the rounds of an epoch run in parallel: its length is the longest worker's
        return max(self.steps)

    def steps_done(self):
        return self.shadow.steps_done()

    def run_epoch(self, epoch, rates):
        n_rounds = 1 if self.sync == "epoch" else -(-self.n_steps() // self.sync)
        loss, shares_seen, extra, notes = 0.0, 0.0, {}, []
        for round_index in range(n_rounds):
            steps = None if self.sync == "epoch" else (
                round_index * self.sync, (round_index + 1) * self.sync)
            before = self.save()
            results, note = run_round_on_workers(self.pool, self.state, epoch, rates,
                                                 steps, round_index)
            if note:
                notes.append(note)
            results = [(state, result) for state, result in results
                       if result["n_rows"] > 0]
            if not results:
                continue
            rows = np.array([result["n_rows"] for _, result in results], dtype=float)
            # each worker counts by the weight of the rows it visited (rows themselves
            # when a round's rows have no weight at all)
            weights = np.array([result.get("row_weight", n) for n, (_, result) in
                                zip(rows, results)], dtype=float)
            if not weights.sum() > 0:
                weights = rows
            shares = weights / weights.sum()
            self._combine([state for state, _ in results], shares, before)
            self.rounds_done += 1
            # the epoch's loss: each round's rows-weighted mean, weighted by its rows
            round_loss = sum(share * result.get("train_loss", np.nan)
                             for share, (_, result) in zip(shares, results))
            loss += weights.sum() * round_loss if n_rounds > 1 else round_loss
            shares_seen += weights.sum()
            for _, result in results:
                for key, value in result.items():
                    if key not in ("train_loss", "n_rows", "row_weight", "learning_rate"):
                        extra[key] = extra.get(key, 0) + value
        row = {"train_loss": loss / shares_seen if n_rounds > 1 else loss,
               "rounds": n_rounds, **extra}
        if notes:
            row["workers_lost"] = "; ".join(notes)
        return row

    def _combine(self, states, shares, before):
        if len(states) == 1:
            # one worker's state is the state (bit for bit: a weighted mean over one
            # state could round)
            self.shadow.load(states[0])
        else:
            self.family.merge(self.shadow, states, shares, before, self.aggregate)
        if self.server is not None:
            self.server.step(self.state["params"], before["params"], self.server_state)

    def validate(self):
        return self.shadow.validate()

    def snapshot(self):
        return self.shadow.snapshot()

    def restore(self, snapshot):
        self.shadow.restore(snapshot)

    def save(self):
        saved = self.shadow.save()
        if self.server_state is not None:
            saved.update({key: value.copy() for key, value in self.server_state.items()})
        return saved

    def load(self, saved):
        saved = dict(saved)
        if self.server_state is not None:
            for key in self.server_state:
                self.server_state[key][...] = saved.pop(key)
        self.shadow.load(saved)

    def parameters(self):
        return self.shadow.parameters()

    def reset_optimizer(self):
        self.shadow.reset_optimizer()
