"""The edge epochs the driver runs for an embedding: ``TSNEProblem``, ``UMAPProblem``.

A driver epoch is a block of passes of the edge kernel (``_core.embedding``): 50
gradient passes of t-SNE, 10 epochs of UMAP, so that ``history_`` has a row per
block with the loss measured on its last pass, and the Python work between kernel
calls stays negligible. The parameters are the embedding itself. The same problems
place new points against a frozen reference embedding (``transform``): the graph's
rows are then the new points and only they move.
"""

import numba
import numpy as np

from .._core import embedding as kernels
from .._core.threads import kernel_threads
from .._problems import StateProblem
from .._training import DivergenceError

# t-SNE passes per driver epoch (history row); UMAP epochs per row
TSNE_BLOCK = 50
UMAP_BLOCK = 10
# UMAP's points updated together from the same positions (see _core.embedding): a
# constant, not a function of the thread count, so that any count gives one result
UMAP_CHUNK = 256
# coordinates beyond this mean a run diverged (their squares overflow)
_MAX_COORDINATE = 1e100


def graph_arrays(graph, keys):
    """The kernel's ``(indptr, indices, weights, keys)`` of a CSR graph."""
    return (graph.indptr.astype(np.int64), graph.indices.astype(np.int64),
            np.ascontiguousarray(graph.data, dtype=np.float64), keys)


def row_keys(indices):
    """A random-stream key per row from its neighbour indices.

    A new point's random draws then depend on its neighbours only, not on its
    position in the batch: ``transform`` of a subset, or of reordered rows, gives
    each point the same place.
    """
    k = indices.shape[1]
    multipliers = (np.arange(1, k + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
                   | np.uint64(1))
    with np.errstate(over="ignore"):
        return np.bitwise_xor.reduce(indices.astype(np.uint64) * multipliers, axis=1)


def _parts(n):
    """Parts the t-SNE kernel splits the points into, a row of marks (scratch)
    each: as many as the threads Numba can have, fewer for small data. (The parts
    share only scratch, so their number changes no result.)"""
    return max(1, min(numba.config.NUMBA_NUM_THREADS, n // 64))


def _blocks(passes, block):
    return -(-max(passes, 0) // block)


class EmbeddingProblem(StateProblem):
    """What the two methods share: the pass count, the phases, the thread count.

    ``state`` holds ``embedding`` (n, d) float64 and ``passes`` (the passes run,
    an int64 array of one); ``reference`` is the frozen embedding new points are
    placed against, or None in a fit (the embedding is its own reference).
    """

    parameter_keys = ("embedding",)
    block = 1
    last_loss = None  # the loss measured by the last block
    divergence_advice = "Try a smaller learning_rate."

    def __init__(self, graph, state, total_passes, settings, reference=None, n_jobs=None):
        self.graph = graph
        self.state = state
        self.total_passes = int(total_passes)
        self.ints, self.floats = settings
        self.reference = reference
        self.n_jobs = n_jobs

    @property
    def transform(self):
        return self.reference is not None

    @property
    def passes_done(self):
        return int(self.state["passes"][0])

    def phase_end(self):
        """The pass at which the present phase ends (a block never spans two)."""
        return self.total_passes

    def n_steps(self):
        done = self.passes_done
        return max(1, min(self.block, self.phase_end() - done, self.total_passes - done))

    def steps_done(self):
        return self.passes_done

    def n_epochs(self):
        """Driver epochs (blocks) of the whole run."""
        return _blocks(self.total_passes, self.block)

    def validate(self):
        return {}

    def _rates(self, rates):
        n = self.n_steps()
        rates = np.asarray(rates, dtype=np.float64)
        if rates.shape[0] != n:
            rates = np.full(n, rates[0])
        return np.ascontiguousarray(rates)

    def run_epoch(self, epoch, rates):
        rates = self._rates(rates)
        self.ints[kernels.I_FIRST_PASS] = self.passes_done
        self.prepare_block()
        with kernel_threads(self.n_jobs):
            result = self.run_passes(rates)
        # a loss can stay finite while points fly off (UMAP clips each move, and
        # the clip turns a NaN difference of two infinities into a finite move): a
        # fit would only find them among the fitted attributes, without this
        # advice, and a transform would return them. Beyond _MAX_COORDINATE the
        # squared distances overflow and the passes compute nothing meaningful.
        if not np.all(np.abs(self.state["embedding"]) < _MAX_COORDINATE):
            raise DivergenceError(
                f"the embedding grew beyond {_MAX_COORDINATE:g} (or became infinite or "
                "NaN).")
        self.state["passes"][0] += rates.shape[0]
        result["passes"] = self.passes_done
        return result


class TSNEProblem(EmbeddingProblem):
    """t-SNE's passes: ``exaggeration`` and ``momentum`` until ``exaggeration_end``,
    then 1 and ``final_momentum``; ``state`` also holds ``update`` and ``gains``."""

    block = TSNE_BLOCK
    divergence_advice = ("Try a smaller learning_rate (learning_rate='auto' scales it "
                         "to the data), or init='pca'.")

    def __init__(self, graph, state, total_passes, settings, phases, reference=None,
                 n_jobs=None):
        super().__init__(graph, state, total_passes, settings, reference, n_jobs)
        self.exaggeration, self.exaggeration_end, self.momentum, self.final_momentum = phases
        p = graph[2]
        # sum p log p over the graph, for KL(P || Q); rows of a transform sum to 1
        positive = p[p > 0]
        self.entropy_term = float(np.sum(positive * np.log(positive)))
        n = state["embedding"].shape[0]
        n_ref = n if reference is None else reference.shape[0]
        like = state["embedding"]
        self.scratch = (np.zeros_like(like), np.zeros_like(like), np.zeros_like(like),
                        np.zeros(n), np.zeros(n),
                        np.zeros((_parts(n), n_ref), dtype=np.uint8))

    def phase_end(self):
        done = self.passes_done
        return self.exaggeration_end if done < self.exaggeration_end else self.total_passes

    def n_epochs(self):
        early = min(self.exaggeration_end, self.total_passes)
        return _blocks(early, self.block) + _blocks(self.total_passes - early, self.block)

    def prepare_block(self):
        if self.passes_done == self.exaggeration_end and not self.transform:
            # a new phase starts afresh, as scikit-learn's optimiser (its momentum
            # and gains were built on the exaggerated gradient)
            self.state["update"][...] = 0.0
            self.state["gains"][...] = 1.0
        early = self.passes_done < self.exaggeration_end
        self.floats[kernels.F_EXAGGERATION] = self.exaggeration if early else 1.0
        self.floats[kernels.F_MOMENTUM] = self.momentum if early else self.final_momentum

    def run_passes(self, rates):
        state = self.state
        Y = state["embedding"]
        reference = Y if self.reference is None else self.reference
        arrays = (Y, reference, state["update"], state["gains"])
        status = kernels.tsne_passes(self.graph, (rates,), arrays, self.scratch,
                                     self.ints, self.floats)
        if status != kernels.OK:
            raise DivergenceError("the embedding's normaliser became infinite or NaN.")
        z, kl = self.scratch[3], self.scratch[4]
        if self.transform:  # each new point's own KL(P_i || Q_i), averaged
            loss = (self.entropy_term + kl.sum() + np.log(z).sum()) / Y.shape[0]
        else:
            loss = self.entropy_term + kl.sum() + np.log(z.sum())
        if not np.isfinite(loss):
            raise DivergenceError("the KL divergence became infinite or NaN.")
        self.last_loss = float(loss)
        return {"train_loss": float(loss),
                "exaggeration": float(self.floats[kernels.F_EXAGGERATION])}


class UMAPProblem(EmbeddingProblem):
    """UMAP's epochs: the rate decays linearly to 0 over the run, as umap-learn's."""

    block = UMAP_BLOCK

    def __init__(self, graph, state, total_passes, settings, reference=None, n_jobs=None):
        super().__init__(graph, state, total_passes, settings, reference, n_jobs)
        d = state["embedding"].shape[1]
        self.buffers = (np.zeros((UMAP_CHUNK, d)), np.zeros((UMAP_CHUNK, d)))

    def prepare_block(self):
        pass

    def _rates(self, rates):
        rates = super()._rates(rates)
        passes = self.passes_done + np.arange(rates.shape[0])
        return rates * (1.0 - passes / self.total_passes)

    def run_passes(self, rates):
        Y = self.state["embedding"]
        reference = Y if self.reference is None else self.reference
        arrays = (Y, reference) + self.buffers
        status, loss, samples = kernels.umap_passes(self.graph, (rates,), arrays,
                                                    self.ints, self.floats)
        if status != kernels.OK:
            raise DivergenceError("the cross-entropy became infinite or NaN.")
        # the rate of the block's last epoch, after the decay (the driver's column
        # would show the undecayed base rate)
        row = {"learning_rate": float(rates[-1])}
        if samples > 0:
            row["train_loss"] = self.last_loss = float(loss / samples)
        return row
