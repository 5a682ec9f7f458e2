"""t-distributed Stochastic Neighbor Embedding on the edge-pass kernel: ``TSNE``."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._core import embedding as kernels
from ._affinities import tsne_affinities, tsne_transform_affinities
from ._base import BaseEmbedding
from ._init import check_init_array, neighbour_median_init, pca_init, random_init
from ._problem import TSNEProblem, graph_arrays, row_keys

# Passes of early exaggeration and their momentum, then the final momentum
# (scikit-learn's and openTSNE's values)
EXAGGERATION_PASSES = 250
MOMENTUM = 0.5
FINAL_MOMENTUM = 0.8
# Negative samples per point and pass: the repulsion off the graph (the far pairs)
# is estimated from them; the near pairs along the graph are exact. Each sample
# stands for n / m points, so larger data needs more for the same noise:
# one per 500 points, between 10 and 50. Measured (trustworthiness@10, 1000 passes):
# digits with 10 within 0.003 of scikit-learn's Barnes-Hut; 20,000 points of the
# benchmark's latent manifold 0.984 with 10, 0.989 with 40 (openTSNE 0.994); 70,000
# 0.986 with 40 (openTSNE 0.9925), in 33 s (openTSNE 89 s, two threads each).
MIN_NEGATIVES = 10
MAX_NEGATIVES = 50
POINTS_PER_NEGATIVE = 500
# Initial embedding scale (scikit-learn's: std 1e-4 of the first column)
INIT_SCALE = 1e-4
# transform: openTSNE's defaults for placing new points (TSNEEmbedding.transform):
# perplexity 5 over 25 neighbours, 250 passes at exaggeration 1.5, learning rate
# 0.1, momentum 0.8, gradient norm at most 0.25 per point
TRANSFORM_PERPLEXITY = 5.0
TRANSFORM_NEIGHBORS = 25
TRANSFORM_PASSES = 250
TRANSFORM_EXAGGERATION = 1.5
TRANSFORM_LEARNING_RATE = 0.1
TRANSFORM_MAX_GRAD = 0.25
TRANSFORM_NEGATIVES = 25


class TSNE(BaseEmbedding):
    """t-SNE: an embedding that keeps each point's nearest neighbours near.

    Perplexity-calibrated Gaussian affinities over each point's ``3 * perplexity``
    nearest neighbours (symmetrised, as scikit-learn's and openTSNE's), a Cauchy
    kernel in the embedding, and KL(P || Q) minimised by full-batch gradient
    passes with momentum and gains, early exaggeration first. The repulsion is
    exact along the graph's edges and estimated elsewhere from ``m`` uniform
    negative samples per point and pass (one per 500 points, between 10 and 50),
    with the normaliser estimated likewise: a pass costs O(edges + m n) instead of
    O(n log n) (Barnes-Hut) or O(n^2) (exact).

    ``transform`` places new points against the fitted embedding (which stays
    fixed), as openTSNE's ``TSNEEmbedding.transform``: affinities at perplexity 5
    to their 25 nearest training points, a start at the median of those, then 250
    passes in which only the new points move.

    Parameters
    ----------
    n_components : int, default=2
        Dimension of the embedding.
    perplexity : float, default=30.0
        Effective number of neighbours each point's affinities spread over; must
        be less than the number of samples.
    early_exaggeration : float, default=12.0
        Factor on the affinities during the first 250 passes, which lets clusters
        form and separate.
    learning_rate : float or "auto", default="auto"
        Step size of the gradient passes; "auto" is ``max(n / early_exaggeration /
        4, 50)`` (Belkina et al. 2019, scikit-learn's default).
    max_iter : int, default=1000
        Gradient passes in all, the 250 exaggerated ones included (scikit-learn's
        default). The sampled repulsion makes each pass noisier than an exact one:
        on 20,000 points 1500 passes gained 0.003 of trustworthiness over 1000.
    init : {"pca", "random"} or ndarray of shape (n_samples, n_components), \
default="pca"
        Start of the embedding: principal components scaled to a standard
        deviation of 1e-4 (keeps the global layout of the data), Gaussian noise of
        that scale, or the array given.
    metric : {"euclidean", "cosine", "precomputed"}, default="euclidean"
        Distance of the neighbour search. Euclidean distances are squared before
        the Gaussian (as scikit-learn does); "precomputed" takes a square distance
        matrix (dense, or sparse with each row's candidate neighbours), used as
        given.
    n_pca_components : int, "auto" or None, default="auto"
        Reduce the input to this many principal components (TruncatedSVD for sparse
        input) before the neighbour search; "auto" reduces input of more than 100
        features to 50, None never reduces.
    neighbors : {"auto", "exact", "approximate"}, default="auto"
        Neighbour search: exact (blocked BLAS) up to
        ``_neighbors.EXACT_MAX_ROWS`` rows for "auto", approximate (NN-descent)
        above.
    random_state : int, RandomState instance or None, default=None
        Seeds the neighbour search, the initialisation and the negative samples.
    n_jobs : int or None, default=None
        Threads of the neighbour search and the passes (None: 1, -1: all cores).
        The embedding is the same for any count.
    verbose : int, default=0
        Progress bar over the blocks of passes when >= 1.
    callbacks : list of sklearn_train.callbacks.Callback, default=None
        Called after each block of 50 passes (``history_`` row); they see the
        embedding as ``run.parameters["embedding"]``.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedding of the training data (float64).
    kl_divergence_ : float
        KL(P || Q) at the start of the last pass (measured there, on the way; the
        normaliser estimated from the samples).
    learning_rate_ : float
        The learning rate used.
    n_iter_ : int
        Gradient passes run.
    history_ : list of dict
        One row per block of 50 passes: ``epoch`` (block), ``train_loss`` (the KL
        divergence, against the true affinities also while they are exaggerated),
        ``exaggeration``, ``passes`` (run so far), ``learning_rate``, ``seconds``,
        ``best``.
    best_epoch_ : int
        The block with the lowest KL divergence.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has feature names that are all strings.

    See Also
    --------
    UMAP : a fuzzy-graph embedding on the same kernel; faster per pass.
    sklearn.manifold.TSNE : Barnes-Hut t-SNE, without ``transform``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train.manifold import TSNE
    >>> X, y = load_digits(return_X_y=True)
    >>> tsne = TSNE(random_state=0).fit(X[:500])
    >>> tsne.embedding_.shape
    (500, 2)
    >>> tsne.transform(X[500:510]).shape
    (10, 2)
    """

    _parameter_constraints = {
        **BaseEmbedding._parameter_constraints,
        "perplexity": [Interval(Real, 0, None, closed="neither")],
        "early_exaggeration": [Interval(Real, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, EXAGGERATION_PASSES, None, closed="left")],
        "init": [StrOptions({"pca", "random"}), np.ndarray],
    }

    def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0,
                 learning_rate="auto", max_iter=1000, init="pca", metric="euclidean",
                 n_pca_components="auto", neighbors="auto", random_state=None,
                 n_jobs=None, verbose=0, callbacks=None):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.init = init
        self.metric = metric
        self.n_pca_components = n_pca_components
        self.neighbors = neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callbacks = callbacks

    def _n_graph_neighbors(self, n):
        if self.perplexity >= n:
            raise ValueError(
                f"perplexity ({self.perplexity}) must be less than n_samples ({n}).")
        return min(n - 1, int(3.0 * self.perplexity + 1))

    def _sq(self, distances):
        return distances**2 if self.metric == "euclidean" else distances

    def _graph(self, indices, distances, n):
        return tsne_affinities(indices, self._sq(distances), self.perplexity)

    def _learning_rate(self, n):
        if self.learning_rate == "auto":
            return max(n / self.early_exaggeration / 4.0, 50.0)
        return float(self.learning_rate)

    def _initial_embedding(self, data):
        n = data.X.shape[0]
        if isinstance(self.init, np.ndarray):
            return check_init_array(self.init, n, self.n_components)
        if self.init == "pca":
            return pca_init(self._pca_source(data), self.n_components, self._seed, INIT_SCALE)
        return random_init(n, self.n_components, self._seed, INIT_SCALE)

    @staticmethod
    def _new_state(embedding):
        return {"embedding": embedding, "update": np.zeros_like(embedding),
                "gains": np.ones_like(embedding), "passes": np.zeros(1, dtype=np.int64)}

    def _make_problem(self, data, state):
        n = data.X.shape[0]
        graph = graph_arrays(data.extra["graph"], np.arange(n, dtype=np.uint64))
        negatives = min(MAX_NEGATIVES, max(MIN_NEGATIVES, n // POINTS_PER_NEGATIVE))
        settings = kernels.settings(negatives, self._seed)
        phases = (float(self.early_exaggeration), EXAGGERATION_PASSES, MOMENTUM,
                  FINAL_MOMENTUM)
        return TSNEProblem(graph, state, self.max_iter, settings, phases,
                           n_jobs=self.n_jobs)

    def _finish_fit(self, problem, data):
        final = super()._finish_fit(problem, data)
        final["kl_divergence_"] = problem.last_loss
        final["learning_rate_"] = self._learning_rate(data.X.shape[0])
        return final

    # -- transform ------------------------------------------------------------------------

    def _n_query_neighbors(self):
        return min(TRANSFORM_NEIGHBORS, self.embedding_.shape[0])

    def _transform_problem(self, indices, distances):
        n_ref = self.embedding_.shape[0]
        P = tsne_transform_affinities(indices, self._sq(distances), n_ref,
                                      TRANSFORM_PERPLEXITY)
        start = neighbour_median_init(indices, self.embedding_)
        graph = graph_arrays(P, row_keys(indices))
        settings = kernels.settings(TRANSFORM_NEGATIVES, self._seed, transform=True)
        settings[1][kernels.F_MAX_GRAD] = TRANSFORM_MAX_GRAD
        phases = (TRANSFORM_EXAGGERATION, TRANSFORM_PASSES, FINAL_MOMENTUM, FINAL_MOMENTUM)
        problem = TSNEProblem(graph, self._new_state(start), TRANSFORM_PASSES, settings,
                              phases, reference=self.embedding_, n_jobs=self.n_jobs)
        problem.learning_rate = TRANSFORM_LEARNING_RATE
        return problem
