"""Uniform Manifold Approximation and Projection on the edge-pass kernel: ``UMAP``."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .._core import embedding as kernels
from ._affinities import fit_ab, fuzzy_union, membership_strengths
from ._affinities import umap_transform_weights
from ._base import BaseEmbedding
from ._init import check_init_array, neighbour_mean_init, pca_init, random_init
from ._init import spectral_init
from ._problem import UMAP_CHUNK, UMAPProblem, graph_arrays, row_keys

# umap-learn's epochs: 500 up to 10,000 rows, 200 above; a transform runs a third of
# the fit's (100 / 30 by default)
SMALL_DATA = 10_000
# size of the box [0, 10] the initial embedding is scaled into, and the noise added
# to a spectral start (umap-learn's values)
INIT_BOX = 10.0
INIT_NOISE = 1e-4


class UMAP(BaseEmbedding):
    """UMAP: an embedding of the fuzzy union of the points' neighbourhoods.

    Each point's ``n_neighbors`` nearest neighbours (itself counted, as in
    umap-learn) get fuzzy memberships from a smooth kNN distance, the directed
    memberships are united (``a + b - ab``), and the embedding minimises the fuzzy
    cross-entropy to the output kernel ``1 / (1 + a d^(2b))``, whose ``a, b`` are
    fitted to ``min_dist`` and ``spread``, by umap-learn's stochastic epochs: each
    edge sampled in proportion to its weight, ``negative_sample_rate`` random points
    pushed away per sample, a learning rate decaying linearly to 0.

    Unlike umap-learn, a fixed ``random_state`` does not turn threads off: points
    are updated in fixed chunks from the positions the previous chunks left, with
    random draws addressed by (seed, epoch, point), so any ``n_jobs`` gives the same
    embedding. ``transform`` places new points against the fitted embedding (which
    stays fixed), as umap-learn's: memberships to their nearest training points, a
    start at their weighted mean, a third of the fit's epochs with only the new
    points moving.

    Parameters
    ----------
    n_neighbors : int, default=15
        Size of each point's neighbourhood, the point itself included (umap-learn's
        convention): larger keeps more global structure, smaller more local detail.
    min_dist : float, default=0.1
        Smallest distance between points in the embedding (of the output kernel);
        at most ``spread``.
    spread : float, default=1.0
        Scale of the embedded points' spacing.
    n_components : int, default=2
        Dimension of the embedding.
    n_epochs : int or None, default=None
        Epochs of training; None is 500 up to 10,000 samples and 200 above.
    negative_sample_rate : int, default=5
        Negative samples per edge sample.
    learning_rate : float, default=1.0
        Initial learning rate, decayed linearly to 0 over the epochs.
    init : {"spectral", "pca", "random"} or ndarray of shape (n_samples, \
n_components), default="spectral"
        Start of the embedding: eigenvectors of the graph's Laplacian (components of
        a disconnected graph laid out apart), principal components, uniform noise,
        or the array given; each is then scaled into the box [0, 10] per
        coordinate, as umap-learn does.
    metric : {"euclidean", "cosine", "precomputed"}, default="euclidean"
        Distance of the neighbour search; "precomputed" takes a square distance
        matrix (dense, or sparse with each row's candidate neighbours).
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
        Threads of the neighbour search and the epochs (None: 1, -1: all cores).
        The embedding is the same for any count.
    verbose : int, default=0
        Progress bar over the blocks of epochs when >= 1.
    callbacks : list of sklearn_train.callbacks.Callback, default=None
        Called after each block of 10 epochs (``history_`` row); they see the
        embedding as ``run.parameters["embedding"]``.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
        The embedding of the training data (float64).
    graph_ : scipy.sparse.csr_array of shape (n_samples, n_samples)
        The fuzzy union of the neighbourhoods (before edges too weak to be sampled
        in ``n_epochs`` are dropped for training).
    a_, b_ : float
        The output kernel's parameters.
    n_iter_ : int
        Epochs run.
    history_ : list of dict
        One row per block of 10 epochs: ``epoch`` (block), ``train_loss`` (the mean
        cross-entropy of the last epoch's edge and negative samples, per edge
        sample), ``passes`` (epochs so far), ``learning_rate`` (of the block's last
        epoch, after the linear decay),
        ``seconds``, ``best``.
    best_epoch_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when ``X`` has feature names that are all strings.

    See Also
    --------
    TSNE : t-SNE on the same kernel.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_train.manifold import UMAP
    >>> X, y = load_digits(return_X_y=True)
    >>> umap = UMAP(random_state=0).fit(X[:500])
    >>> umap.embedding_.shape
    (500, 2)
    >>> umap.transform(X[500:510]).shape
    (10, 2)
    """

    _parameter_constraints = {
        **BaseEmbedding._parameter_constraints,
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "min_dist": [Interval(Real, 0, None, closed="left")],
        "spread": [Interval(Real, 0, None, closed="neither")],
        "n_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "negative_sample_rate": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "init": [StrOptions({"spectral", "pca", "random"}), np.ndarray],
    }

    def __init__(self, n_neighbors=15, min_dist=0.1, spread=1.0, n_components=2, *,
                 n_epochs=None, negative_sample_rate=5, learning_rate=1.0,
                 init="spectral", metric="euclidean", n_pca_components="auto",
                 neighbors="auto", random_state=None, n_jobs=None, verbose=0,
                 callbacks=None):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.n_components = n_components
        self.n_epochs = n_epochs
        self.negative_sample_rate = negative_sample_rate
        self.learning_rate = learning_rate
        self.init = init
        self.metric = metric
        self.n_pca_components = n_pca_components
        self.neighbors = neighbors
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.callbacks = callbacks

    def _check_settings(self):
        if self.min_dist > self.spread:
            raise ValueError(f"min_dist ({self.min_dist}) must not exceed spread "
                             f"({self.spread}).")
        super()._check_settings()

    def _n_graph_neighbors(self, n):
        if self.n_neighbors > n:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is more than n_samples={n}: each point's "
                f"neighbourhood is all {n} points.", UserWarning, stacklevel=5)
        return min(self.n_neighbors, n) - 1  # the point itself is not in the graph

    def _epochs(self, n):
        if self.n_epochs is not None:
            return int(self.n_epochs)
        return 500 if n <= SMALL_DATA else 200

    def _graph(self, indices, distances, n):
        weights, _, _ = membership_strengths(distances, indices.shape[1] + 1)
        return fuzzy_union(indices, weights, n)

    def _learning_rate(self, n):
        return float(self.learning_rate)

    def _initial_embedding(self, data):
        n = data.X.shape[0]
        d = self.n_components
        rng = check_random_state(self._seed)
        if isinstance(self.init, np.ndarray):
            start = check_init_array(self.init, n, d)
        elif self.init == "spectral":
            source = None if self.metric == "precomputed" else self._pca_source(data)
            start = spectral_init(data.extra["graph"], d, self._seed, data=source)
            start += rng.normal(scale=INIT_NOISE, size=start.shape)
        elif self.init == "pca":
            start = pca_init(self._pca_source(data), d, self._seed, 1.0)
        else:
            start = random_init(n, d, self._seed, 1.0)
        return _into_box(start)

    @staticmethod
    def _new_state(embedding):
        return {"embedding": embedding, "passes": np.zeros(1, dtype=np.int64)}

    def _training_graph(self, graph, n_epochs, keys, top=None):
        """The kernel's graph: weights over ``top`` (default: the largest) as samples
        per epoch, edges too weak to be sampled once in ``n_epochs`` dropped
        (umap-learn's rule)."""
        graph = graph.copy()
        if graph.nnz:
            top = graph.data.max() if top is None else top
            graph.data[graph.data < top / n_epochs] = 0.0
            graph.eliminate_zeros()
            graph.data /= top
        return graph_arrays(graph, keys)

    def _kernel_settings(self, transform=False):
        ints, floats = kernels.settings(self.negative_sample_rate, self._seed,
                                        transform=transform, chunk=UMAP_CHUNK)
        floats[kernels.F_A], floats[kernels.F_B] = fit_ab(float(self.spread),
                                                          float(self.min_dist))
        return ints, floats

    def _make_problem(self, data, state):
        n = data.X.shape[0]
        n_epochs = self._epochs(n)
        graph = self._training_graph(data.extra["graph"], n_epochs,
                                     np.arange(n, dtype=np.uint64))
        return UMAPProblem(graph, state, n_epochs, self._kernel_settings(),
                           n_jobs=self.n_jobs)

    def _finish_fit(self, problem, data):
        final = super()._finish_fit(problem, data)
        a, b = fit_ab(float(self.spread), float(self.min_dist))
        final.update(graph_=data.extra["graph"], a_=a, b_=b)
        return final

    # -- transform ------------------------------------------------------------------------

    def _n_query_neighbors(self):
        return min(self.n_neighbors, self.embedding_.shape[0])

    def _transform_problem(self, indices, distances):
        n_ref = self.embedding_.shape[0]
        if self.n_epochs is None:
            n_epochs = 100 if n_ref <= SMALL_DATA else 30
        else:
            n_epochs = max(1, int(self.n_epochs) // 3)
        graph, weights = umap_transform_weights(indices, distances, n_ref,
                                                n_neighbors=self.n_neighbors,
                                                return_weights=True)
        start = neighbour_mean_init(indices, weights, self.embedding_)
        # memberships are at most 1: over 1, not the batch's largest (as umap-learn),
        # each new point's edges do not depend on the other new points
        problem = UMAPProblem(self._training_graph(graph, n_epochs, row_keys(indices), 1.0),
                              self._new_state(start), n_epochs,
                              self._kernel_settings(transform=True),
                              reference=self.embedding_, n_jobs=self.n_jobs)
        # umap-learn's transform starts at a quarter of the fit's rate
        problem.learning_rate = float(self.learning_rate) / 4.0
        return problem


def _into_box(start):
    """Scale each coordinate into [0, INIT_BOX], as umap-learn does for every start."""
    low = start.min(axis=0)
    span = start.max(axis=0) - low
    span[span == 0] = 1.0
    return np.ascontiguousarray(INIT_BOX * (start - low) / span)
