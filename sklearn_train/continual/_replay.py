"""A class-balanced reservoir of earlier tasks' rows (experience replay)."""

import numpy as np
import scipy.sparse as sp


class ClassBalancedReservoir:
    """At most ``capacity`` rows, shared equally by the classes seen so far.

    Each class keeps a uniform sample of all the rows of it ever offered
    (reservoir sampling, Vitter's algorithm R, per class); when a new class
    arrives the others give up slots, keeping a uniform subsample of theirs. A
    regressor's rows form one "class". Plain NumPy arrays only: it pickles.

    Parameters
    ----------
    capacity : int
    rng : numpy.random.Generator
    """

    def __init__(self, capacity, rng):
        self.capacity = int(capacity)
        self.rng = rng
        self.rows = {}  # label -> stored rows (an X of that class's rows)
        self.targets = {}  # label -> their targets
        self.seen = {}  # label -> rows of that class offered so far

    def __len__(self):
        return sum(_n_rows(X) for X in self.rows.values())

    def add(self, X, y, classify):
        """Offer the rows of ``(X, y)`` (``classify``: balance by the labels of y)."""
        y = np.asarray(y)
        labels = y if classify else np.zeros(y.shape[0], dtype=np.int64)
        keys = [key.item() if hasattr(key, "item") else key for key in np.unique(labels)]
        for key in keys:
            if key not in self.rows:
                self.rows[key] = X[:0]
                self.targets[key] = y[:0]
                self.seen[key] = 0
        share = self.capacity // max(1, len(self.rows))
        for key in list(self.rows):
            self._shrink(key, share)
        for key in keys:
            self._offer(key, np.flatnonzero(labels == key), X, y, share)

    def _shrink(self, key, share):
        n = _n_rows(self.rows[key])
        if n > share:
            keep = np.sort(self.rng.choice(n, size=share, replace=False))
            self.rows[key] = self.rows[key][keep]
            self.targets[key] = self.targets[key][keep]

    def _offer(self, key, index, X, y, share):
        stored, targets = self.rows[key], self.targets[key]
        seen = self.seen[key]
        free = max(0, share - _n_rows(stored))
        take, rest = index[:free], index[free:]
        if take.shape[0]:
            stored = _stack(stored, X[take])
            targets = np.concatenate([targets, y[take]])
        # algorithm R: the t-th row offered (1-based) replaces a random slot with
        # probability share / t
        t = seen + take.shape[0] + 1 + np.arange(rest.shape[0])
        slots = (self.rng.random(rest.shape[0]) * t).astype(np.int64)
        accepted = slots < share
        if accepted.any():
            source = np.full(_n_rows(stored), -1)  # the new row each slot now holds
            for slot, row in zip(slots[accepted], rest[accepted]):  # in order: later wins
                source[slot] = row
            kept, replaced = source < 0, source[source >= 0]
            stored = _stack(stored[kept], X[replaced])  # (no item assignment: CSR too)
            targets = np.concatenate([targets[kept], y[replaced]])
        self.rows[key], self.targets[key] = stored, targets
        self.seen[key] = seen + index.shape[0]

    def sample(self):
        """``(X, y)`` of every stored row, or None when empty."""
        if not len(self):
            return None
        keys = [key for key in self.rows if _n_rows(self.rows[key])]
        return (_stack(*(self.rows[key] for key in keys)),
                np.concatenate([self.targets[key] for key in keys]))


def _n_rows(X):
    return X.shape[0]


def _stack(*parts):
    if sp.issparse(parts[0]):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts)
