"""One round on the workers, and what happens when a worker is lost.

``WorkerPool`` holds the partitions' training contexts (futures living in the
workers' memory) and how a round may use them:

* **data-parallel** (default): tasks go where their partition is, but dask may run
  them elsewhere. A worker lost mid-round loses its partitions; dask computes them
  again from their source (the task that made them) on another worker and the
  round goes on with every partition, so no average is ever partial.
* **federated**: a partition never leaves the worker holding it (tasks are pinned
  there). When that worker is lost, its partitions are gone: the round is run
  again without them, and the history row says so (``workers_lost``).

``client_fraction`` < 1 samples the partitions (the federated *clients*) of each
round from ``(seed, epoch, round)``.
"""

import numpy as np

from ._worker import run_round

# How often (seconds) a federated round checks that its workers are alive.
_POLL = 0.5


class WorkerPool:
    """The training contexts of the partitions and the rules of a round."""

    def __init__(self, client, contexts, owners, federated, client_fraction, seed):
        self.client = client
        self.contexts = list(contexts)
        self.owners = list(owners)
        self.federated = bool(federated)
        self.client_fraction = float(client_fraction)
        self.seed = int(seed)
        self.alive = list(range(len(self.contexts)))  # partitions still held
        self.single = len(self.contexts) == 1

    def chosen(self, epoch, round_index):
        """The partitions of this round, in partition order."""
        if self.client_fraction >= 1.0:
            return list(self.alive)
        n = max(1, int(round(self.client_fraction * len(self.alive))))
        rng = np.random.default_rng([self.seed, epoch, round_index])
        return sorted(rng.choice(self.alive, size=n, replace=False).tolist())

    def submit(self, index, state, epoch, rates, steps):
        # The task goes to the worker holding the partition (a federated one may run
        # nowhere else; a data-parallel one may, once that worker is gone).
        options = {"pure": False, "retries": 0 if self.federated else 2,
                   "workers": [self.owners[index]],
                   "allow_other_workers": not self.federated}
        if steps is not None:
            # (first, last, offset): only this round's rates travel, from step offset
            offset = steps[0] if rates.shape[0] > 1 else 0
            if rates.shape[0] > 1:
                rates = rates[steps[0]:steps[1]]
            steps = (steps[0], steps[1], offset)
        return self.client.submit(run_round, self.contexts[index], state, epoch, rates,
                                  steps, **options)


def run_round_on_workers(pool, state, epoch, rates, steps, round_index):
    """``[(state, result), ...]`` of the round's partitions in partition order, and
    a note naming partitions lost with their worker (federated), else None."""
    notes = []
    while True:
        chosen = pool.chosen(epoch, round_index)
        if not chosen:
            raise RuntimeError("Every worker holding a partition was lost: the "
                               "federated fit cannot go on.")
        futures = [pool.submit(index, state, epoch, rates, steps) for index in chosen]
        if not pool.federated:
            return pool.client.gather(futures), None
        lost = _wait_or_lost(pool, futures, chosen)
        if not lost:
            return pool.client.gather(futures), ("; ".join(notes) or None)
        for future in futures:
            future.cancel()
        for index in lost:
            pool.alive.remove(index)
        notes.append(f"partitions {sorted(lost)} lost with their worker in epoch "
                     f"{epoch + 1}, round {round_index + 1}: the round was run again "
                     "without them")


def _wait_or_lost(pool, futures, chosen):
    """Wait for a federated round; the partitions whose worker left before their
    task finished (empty when all finished)."""
    from distributed import wait

    while True:
        try:
            wait(futures, timeout=_POLL)
        except TimeoutError:
            pass
        errors = [future for future in futures if future.status == "error"]
        if errors:
            errors[0].result()  # raises the worker's error (a diverging run, ...)
        pending = [index for index, future in zip(chosen, futures)
                   if future.status != "finished"]
        if not pending:
            return []
        workers = worker_addresses(pool.client)
        lost = [index for index in pending if pool.owners[index] not in workers]
        if lost:
            return lost


def worker_addresses(client):
    """The addresses of the workers connected now (all of them: recent versions of
    distributed list only a few by default)."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # an older distributed
        info = client.scheduler_info()
    return set(info["workers"])
