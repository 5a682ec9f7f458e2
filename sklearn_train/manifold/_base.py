"""What TSNE and UMAP share: ``BaseEmbedding``.

A fit validates the input, reduces wide input by PCA (``n_pca_components``), finds
each point's nearest neighbours (``_neighbors``), turns them into affinities
(``_affinities``; the family's ``_graph``), starts the embedding (``_init``; the
family's ``_initial_embedding``) and lets the shared driver run blocks of edge
passes (``_problem``). ``transform`` finds the new points' neighbours among the
training points and runs the same passes with only the new points moving, through
the same driver, without touching the fitted estimator.
"""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._data import TrainingData
from .._estimator import TrainedEstimator
from .._training import Settings, new_progress, train
from . import _neighbors

# "auto" PCA: input wider than this is reduced to _AUTO_PCA columns before the
# neighbour search (exact search costs n^2 * d; 50 components keep the neighbours
# of typical wide data, as in openTSNE's and umap-learn's own advice)
_AUTO_PCA_ABOVE = 100
_AUTO_PCA = 50
# cosine distances below this are 0 (the rounding of 1 - cos for parallel rows)
_COSINE_ROUNDING = 1e-12
# squared CSR distances below this times |q|^2 + |x|^2 are 0 (a few ulps of the
# expansion's sum: a row's distance to itself)
_EXPANSION_ROUNDING = 1e-14


class BaseEmbedding(ClassNamePrefixFeaturesOutMixin, TransformerMixin, TrainedEstimator):
    """Base of the embedding models (not public); see the module docstring.

    A family fills in ``_n_graph_neighbors(n)``, ``_graph(indices, distances, n)``,
    ``_initial_embedding(data)``, ``_new_state(embedding)``, ``_make_problem`` and
    ``_transform_problem(indices, distances, keys)``.
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine", "precomputed"})],
        "n_pca_components": [Interval(Integral, 1, None, closed="left"),
                             StrOptions({"auto"}), None],
        "neighbors": [StrOptions({"auto", "exact", "approximate"})],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }
    _check_growth = False  # the loss of an exaggerated phase may rise after it

    def fit(self, X, y=None):
        """Embed ``X``: neighbours, affinities, then blocks of edge passes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; with ``metric="precomputed"`` a square matrix of
            distances (dense, or sparse with each row's candidate neighbours
            stored).
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        return self._fit_common(X, None, incremental=False)

    def fit_transform(self, X, y=None):
        """Fit, and return the training embedding (a copy of ``embedding_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components)
        """
        return self.fit(X).embedding_.copy()

    def transform(self, X):
        """Place new points in the fitted embedding (the training points stay put).

        Each new point is pulled towards its nearest training points and pushed
        away from others, as in the fit; new points do not interact, so each
        point's place depends on its own neighbours only (not on the other rows of
        ``X``). A point that coincides with a training point (distance 0 in the
        space of the neighbour search) takes that point's place: the training data
        itself gives ``embedding_`` back.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_queries, n_features)
            New points; with ``metric="precomputed"``, their distances to the
            training points, of shape (n_queries, n_samples_fit).

        Returns
        -------
        embedding : ndarray of shape (n_queries, n_components)
        """
        check_is_fitted(self, "embedding_")
        X = self._validate_input(X, reset=False)
        if self.metric == "precomputed":
            if X.shape[1] != self.embedding_.shape[0]:
                raise ValueError(
                    f"With metric='precomputed', transform takes the distances of new "
                    f"points to the {self.embedding_.shape[0]} training points; got "
                    f"{X.shape[1]} columns.")
            queries = X
            indices, distances = _neighbors.precomputed_neighbors(
                queries, self._n_query_neighbors(), square=False)
        else:
            queries = self._reduce(X)
            indices, distances = _finite_search(lambda: _neighbors.query_neighbors(
                self._fit_X, queries, self._n_query_neighbors(), self.metric,
                n_jobs=self.n_jobs))
        # a new point that coincides with a training point (distance 0 where the
        # neighbours are searched) takes its place: transform(X_train) is embedding_
        # and every row's place depends on that row alone
        embedding = self.embedding_[indices[:, 0]]
        moving = np.flatnonzero(~self._coincident(queries, indices, distances))
        if moving.size:
            problem = self._transform_problem(indices[moving], distances[moving])
            settings = self._driver_settings(problem)
            progress = new_progress(problem.learning_rate)
            train(problem, settings, progress, problem.n_epochs())
            embedding[moving] = problem.state["embedding"]
        return embedding

    def _coincident(self, queries, indices, distances):
        """Whether each new point is its nearest training point, to rounding."""
        nearest = distances[:, 0]
        if self.metric == "cosine":  # 1 - cos of parallel rows, rounded: a few ulps
            return nearest <= _COSINE_ROUNDING
        if self.metric == "euclidean" and sparse.issparse(queries):
            # CSR distances are by expansion, |q|^2 + |x|^2 - 2 q.x: a row's distance
            # to itself is the square root of that sum's rounding, not 0
            norm_sum = (_neighbors._squared_norms(queries)
                        + _neighbors._squared_norms(self._fit_X[indices[:, 0]]))
            return nearest**2 <= _EXPANSION_ROUNDING * norm_sum
        return nearest == 0.0

    def _check_settings(self):
        if self.metric == "precomputed" and isinstance(self.init, str) and self.init == "pca":
            others = sorted(self._parameter_constraints["init"][0].options - {"pca"})
            raise ValueError(
                'The parameter init="pca" cannot be used with metric="precomputed" (there '
                'are no features to take components of); use init='
                + ", ".join(f'"{name}"' for name in others) + " or an array.")

    # -- input --------------------------------------------------------------------------

    def _validate_input(self, X, reset):
        X = validate_data(self, X, reset=reset, accept_sparse="csr",
                          dtype=[np.float64, np.float32], order="C",
                          ensure_min_samples=2 if reset else 1)
        if self.metric == "precomputed":
            data = X.data if sparse.issparse(X) else X
            if np.any(data < 0):
                raise ValueError("A precomputed distance matrix must be non-negative.")
            if reset and X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"metric='precomputed' needs a square distance matrix; got shape "
                    f"{X.shape}.")
        return X

    def _validate_fit_data(self, X, y, sample_weight, reset):
        return self._validate_input(X, reset), None, None

    def _prepare_data(self, X, y, sample_weight, incremental, continuing):
        X, _, _ = self._validate_fit_data(X, None, None, reset=True)
        n = X.shape[0]
        k = self._n_graph_neighbors(n)
        reducer = None
        if self.metric == "precomputed":
            reduced = None
            indices, distances = _neighbors.precomputed_neighbors(X, k)
        else:
            reducer = self._make_reducer(X)
            reduced = X if reducer is None else reducer.fit_transform(X)
            if reducer is not None:
                reduced = np.ascontiguousarray(reduced, dtype=X.dtype)
            indices, distances = _finite_search(lambda: _neighbors.nearest_neighbors(
                reduced, k, self.metric, self.neighbors, seed=self._seed,
                n_jobs=self.n_jobs))
        graph = self._graph(indices, distances, n)
        extra = {"reduced": reduced, "reducer": reducer, "indices": indices,
                 "distances": distances, "graph": graph}
        return TrainingData(X=X, sample_weight=np.ones(n), extra=extra)

    def _make_reducer(self, X):
        """The PCA (TruncatedSVD for sparse input) applied before the search, or None."""
        # (imported here: scikit-learn 1.9's decomposition imports sklearn.callback,
        # which the package must not need at import time; _init does the same)
        from sklearn.decomposition import PCA, TruncatedSVD

        wanted = self.n_pca_components
        if wanted == "auto":
            wanted = _AUTO_PCA if X.shape[1] > _AUTO_PCA_ABOVE else None
        if wanted is None or wanted >= X.shape[1] or wanted >= X.shape[0]:
            return None
        if sparse.issparse(X):
            return TruncatedSVD(wanted, random_state=self._seed)
        return PCA(wanted, svd_solver="randomized", random_state=self._seed)

    def _reduce(self, X):
        """New points in the space of the fit's neighbour search: reduced, or in the
        fit's layout (the search takes both sides dense or both sparse, and a model
        fitted on CSR rows places dense ones, and the other way round)."""
        if self._reducer is not None:
            return np.ascontiguousarray(self._reducer.transform(X), dtype=X.dtype)
        if sparse.issparse(self._fit_X) and not sparse.issparse(X):
            return sparse.csr_matrix(X)
        if sparse.issparse(X) and not sparse.issparse(self._fit_X):
            return np.ascontiguousarray(X.toarray())
        return X

    def _pca_source(self, data):
        """What PCA initialisation reads: the reduced data when there is one."""
        reduced = data.extra["reduced"]
        return data.X if reduced is None else reduced

    # -- training -----------------------------------------------------------------------

    def _initial_state(self, data, init):
        return self._new_state(self._initial_embedding(data))

    def _state_dtype(self):
        return None

    def _fitted_attributes(self, state):
        return {"embedding_": state["embedding"].copy()}

    def _begin_progress(self, progress, state, data, continuing):
        progress["eta0"] = progress["eta"] = self._learning_rate(data.X.shape[0])

    def _max_epochs(self, problem):
        return problem.n_epochs()

    def _settings(self, progress):
        return Settings(learning_rate="constant", eta0=float(progress["eta0"]), alpha=0.0,
                        power_t=0.5, lr_decay=1.0, warmup=0.0, max_iter=1, tol=None,
                        n_iter_no_change=1, early_stopping=False,
                        verbose=int(self.verbose), check_growth=False)

    def _driver_settings(self, problem):
        return self._settings({"eta0": problem.learning_rate})

    def _finish_fit(self, problem, data):
        return {
            "_fit_X": data.extra["reduced"],
            "_reducer": data.extra["reducer"],
            "n_iter_": problem.passes_done,
        }

    @property
    def _n_features_out(self):
        return self.embedding_.shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _finite_search(search):
    """``search()``'s ``(indices, distances)``; distances that overflowed (finite
    entries beyond ~1e154 square to infinity) are refused with a message that names
    the cause, instead of overflow warnings and an error about infinite distances
    the user never gave."""
    with np.errstate(over="ignore", invalid="ignore"):
        indices, distances = search()
    if not np.all(np.isfinite(distances)):
        raise ValueError(
            "The distances between rows overflow float64 (entries beyond about 1e154 "
            "square to infinity): scale the data first, for example with "
            "StandardScaler.")
    return indices, distances
