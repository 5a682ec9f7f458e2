"""Where an embedding starts: PCA, random, spectral, a user's array, new points.

Every initialisation returns a float64 C-contiguous (n, n_components) array and is
deterministic for a given integer ``seed``.
"""

import warnings

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse import linalg as splinalg

# spectral layouts are scaled so that the largest coordinate is this (umap-learn's)
SPECTRAL_EXTENT = 10.0
# below this many points a component's eigenvectors come from a dense solver
_DENSE_EIGEN = 256
# eigsh's relative tolerance on the eigenpairs
_EIGEN_TOLERANCE = 1e-6


def pca_init(X, n_components, seed, scale):
    """The first principal components of ``X``, scaled as t-SNE wants them.

    scikit-learn's ``PCA`` (its default solver for dense ``X``; ARPACK, with
    implicit centring, for sparse ``X``, which is never densified), then each
    column's sign fixed so that the largest loading of its component is positive
    (``svd_flip`` on the components: the same signs whatever solver ran), then the
    whole scaled so that the first column has standard deviation ``scale``
    (scikit-learn's TSNE uses 1e-4).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n, n_features)
    n_components : int
    seed : int
        Seeds the randomised and ARPACK solvers.
    scale : float
        Standard deviation of the first column.

    Returns
    -------
    embedding : ndarray of shape (n, n_components), float64
        Falls back to ``random_init`` with a warning when the first column is
        constant (then there is no spread to scale).

    Raises
    ------
    ValueError
        When ``X`` has fewer rows or columns than ``n_components``.
    """
    from sklearn.decomposition import PCA

    if n_components > min(X.shape):
        raise ValueError(
            f"init='pca' takes n_components={n_components} principal components of "
            f"data of shape {X.shape}, which has at most {min(X.shape)}: use "
            f"init='random' (or a smaller n_components).")
    pca = PCA(n_components=n_components, random_state=seed)
    pca.set_output(transform="default")
    embedding = np.asarray(pca.fit_transform(X), dtype=np.float64)
    components = pca.components_
    signs = np.sign(components[np.arange(len(components)),
                               np.argmax(np.abs(components), axis=1)])
    embedding *= np.where(signs == 0, 1.0, signs)
    # rounded to float32 (as scikit-learn's TSNE does): BLAS sums in an order that
    # depends on its thread count, and the passes would amplify those last bits into
    # a different layout; rounded, the start is the same whatever BLAS ran on
    embedding = embedding.astype(np.float32).astype(np.float64)
    spread = np.std(embedding[:, 0])
    if not (spread > 0 and np.isfinite(spread)):
        warnings.warn("PCA initialisation: the first component has no spread; "
                      "starting from a random layout instead.", RuntimeWarning,
                      stacklevel=2)
        return random_init(X.shape[0], n_components, seed, scale)
    return np.ascontiguousarray(embedding * (scale / spread))


def random_init(n_rows, n_components, seed, scale):
    """Independent normal coordinates of mean 0 and standard deviation ``scale``.

    Parameters
    ----------
    n_rows, n_components : int
    seed : int
    scale : float

    Returns
    -------
    embedding : ndarray of shape (n_rows, n_components), float64
    """
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, scale, size=(n_rows, n_components))


def check_init_array(init, n_rows, n_components):
    """A user's initial embedding, checked and copied.

    Parameters
    ----------
    init : array-like of shape (n_rows, n_components)
    n_rows, n_components : int
        The shape it must have.

    Returns
    -------
    embedding : ndarray of shape (n_rows, n_components), float64
        A C-contiguous copy (training moves it; the user's array stays as given).

    Raises
    ------
    ValueError
        When ``init`` is not numeric, has another shape, or holds NaN or infinity.
    """
    try:
        array = np.array(init, dtype=np.float64, order="C", copy=True)
    except (TypeError, ValueError) as error:
        raise ValueError(f"init must be a numeric array; {error}") from None
    if array.shape != (n_rows, n_components):
        raise ValueError(
            f"init has shape {array.shape}; it must be (n_samples, n_components) = "
            f"({n_rows}, {n_components}).")
    if not np.all(np.isfinite(array)):
        raise ValueError("init contains NaN or infinity.")
    return array


def spectral_init(graph, n_components, seed, data=None):
    """UMAP's spectral layout: eigenvectors of the graph's normalised Laplacian.

    For a connected graph, the eigenvectors 1..n_components (0 is the trivial one)
    of ``L = I - D^-1/2 W D^-1/2``, computed as the leading eigenvectors of
    ``D^-1/2 W D^-1/2`` (ARPACK, start vector drawn from ``seed``; a dense solver
    below a few hundred points), each column's sign fixed so that its largest
    entry is positive.

    A graph of several connected components is laid out in pieces (umap-learn's
    multi-component layout, simplified): each component gets a centre and a ball
    of radius 0.45 times the distance to the nearest other centre, so that no two
    balls meet; its own spectral layout (random for components too small for one)
    is centred and scaled into its ball. The centres are the principal
    coordinates of the components' means in ``data`` when it is given (similar
    components end near each other; centres the projection put too close together
    are pushed apart first), else evenly spaced on a circle (a line for one
    dimension).

    Either way the result is scaled so that its largest absolute coordinate is 10.
    When ARPACK does not converge, a warning is given and the layout is uniform
    random in [-10, 10].

    Parameters
    ----------
    graph : sparse matrix of shape (n, n)
        Symmetric non-negative weights (``fuzzy_union``).
    n_components : int
    seed : int
    data : {ndarray, sparse matrix} of shape (n, n_features), default=None
        The points, used only to place the components of a disconnected graph.

    Returns
    -------
    embedding : ndarray of shape (n, n_components), float64
    """
    graph = sparse.csr_array(graph, dtype=np.float64)
    n = graph.shape[0]
    rng = np.random.default_rng(seed)
    n_parts, labels = csgraph.connected_components(graph, directed=False)
    try:
        if n_parts == 1:
            embedding = _component_layout(graph, n_components, rng)
        else:
            embedding = _multi_component_layout(graph, labels, n_parts, n_components,
                                                rng, data)
    except (splinalg.ArpackNoConvergence, splinalg.ArpackError) as error:
        warnings.warn(f"Spectral initialisation failed ({error}); starting from a "
                      "random layout instead.", RuntimeWarning, stacklevel=2)
        return rng.uniform(-SPECTRAL_EXTENT, SPECTRAL_EXTENT, size=(n, n_components))
    extent = np.abs(embedding).max()
    if extent > 0:
        embedding *= SPECTRAL_EXTENT / extent
    return np.ascontiguousarray(embedding)


def _component_layout(graph, n_components, rng):
    """Spectral layout of one connected graph, columns of unit norm; random
    coordinates for a graph too small to have that many non-trivial eigenvectors."""
    n = graph.shape[0]
    if n <= n_components + 1:
        return rng.uniform(-1.0, 1.0, size=(n, n_components))
    degrees = np.asarray(graph.sum(axis=1)).ravel()
    scaling = sparse.dia_array((1.0 / np.sqrt(degrees), 0), shape=(n, n))
    normalised = (scaling @ graph @ scaling).tocsr()
    k = n_components + 1
    if n <= _DENSE_EIGEN:
        values, vectors = np.linalg.eigh(normalised.toarray())
    else:
        values, vectors = splinalg.eigsh(
            normalised, k=k, which="LA", tol=_EIGEN_TOLERANCE,
            v0=rng.uniform(-1.0, 1.0, size=n), maxiter=5 * n,
            ncv=min(n, max(2 * k + 1, int(np.sqrt(n)))))
    # the largest eigenvalues of D^-1/2 W D^-1/2 are the smallest of L; skip the
    # first (eigenvalue 1, vector D^1/2 1)
    order = np.argsort(values)[::-1][1:k]
    vectors = vectors[:, order]
    peaks = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(n_components)]
    return vectors * np.where(peaks < 0, -1.0, 1.0)


def _multi_component_layout(graph, labels, n_parts, n_components, rng, data):
    centres = _component_centres(labels, n_parts, n_components, data, rng)
    gaps = _gaps(centres)
    radii = 0.45 * gaps.min(axis=1)
    embedding = np.empty((graph.shape[0], n_components))
    for part in range(n_parts):
        members = np.flatnonzero(labels == part)
        if len(members) == 1:
            embedding[members] = centres[part]
            continue
        piece = _component_layout(graph[members][:, members], n_components, rng)
        piece -= piece.mean(axis=0)
        reach = np.sqrt((piece ** 2).sum(axis=1)).max()
        if reach > 0:
            piece *= radii[part] / reach
        embedding[members] = centres[part] + piece
    return embedding


def _gaps(points):
    """Pairwise distances, infinite on the diagonal."""
    gaps = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    return gaps


def _component_centres(labels, n_parts, n_components, data, rng):
    """One point per component, all distinct (see ``spectral_init``)."""
    if data is None:
        centres = np.zeros((n_parts, n_components))
        if n_components == 1:
            centres[:, 0] = np.arange(n_parts, dtype=np.float64)
        else:
            angles = 2.0 * np.pi * np.arange(n_parts) / n_parts
            centres[:, 0] = np.cos(angles)
            centres[:, 1] = np.sin(angles)
        return centres
    counts = np.bincount(labels, minlength=n_parts).astype(np.float64)
    membership = sparse.csr_array(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))),
        shape=(n_parts, len(labels)))
    means = membership @ data
    means = np.asarray(means.toarray() if sparse.issparse(means) else means,
                       dtype=np.float64) / counts[:, None]
    means -= means.mean(axis=0)
    # principal coordinates of the means (exact SVD: one row per component)
    u, s, _ = np.linalg.svd(means, full_matrices=False)
    centres = np.zeros((n_parts, n_components))
    width = min(n_components, len(s))
    centres[:, :width] = u[:, :width] * s[:width]
    return _spread(centres, rng)


def _spread(centres, rng, steps=200):
    """Push apart centres that a projection put too close together.

    Means far apart in the data can project onto nearly the same point, and
    the slot of a component is set by its nearest neighbour's distance: such a pair
    would be squeezed to nothing. Pairs closer than half the spacing that m points
    would have if evenly spread over the centres' extent are moved apart, each by
    half the shortfall, a few hundred relaxation sweeps at the most; far pairs do
    not move, so the arrangement of the projection is kept.
    """
    m, dim = centres.shape
    extent = np.sqrt((centres ** 2).sum(axis=1)).max()
    if not extent > 0:
        extent = 1.0
    # coinciding centres get a small deterministic nudge, or no direction separates them
    centres = centres + rng.normal(0.0, 1e-6 * extent, size=centres.shape)
    spacing = 0.5 * 2.0 * extent / m ** (1.0 / dim)
    for _ in range(steps):
        difference = centres[:, None, :] - centres[None, :, :]
        gaps = _gaps(centres)
        shortfall = np.clip(spacing - gaps, 0.0, None)
        if shortfall.max() <= 1e-3 * spacing:
            break
        # each of the pair moves half the shortfall, away from the other
        push = (0.5 * shortfall / gaps)[:, :, None]
        centres = centres + (difference * push).sum(axis=1)
    return centres


def neighbour_mean_init(indices, weights, embedding):
    """Start new points at the weighted mean of their neighbours' positions.

    umap-learn's transform start: weights normalised per row; a new point with a
    neighbour of weight 1 (it coincides with that training point) starts exactly
    there; one whose weights are all zero starts at the plain mean of its
    neighbours (umap-learn gives NaN).

    Parameters
    ----------
    indices : array-like of shape (m, k), int
        Neighbours of the new points in the reference embedding.
    weights : array-like of shape (m, k)
        Their non-negative weights (``umap_transform_weights`` at those columns).
    embedding : ndarray of shape (n_reference, n_components)

    Returns
    -------
    positions : ndarray of shape (m, n_components), float64
    """
    indices = np.asarray(indices)
    weights = np.asarray(weights, dtype=np.float64)
    reference = np.asarray(embedding, dtype=np.float64)
    totals = weights.sum(axis=1, keepdims=True)
    share = np.where(totals > 0, weights / np.where(totals > 0, totals, 1.0),
                     1.0 / weights.shape[1])
    positions = np.einsum("ij,ijc->ic", share, reference[indices])
    exact = weights >= 1.0
    rows = np.flatnonzero(exact.any(axis=1))
    positions[rows] = reference[indices[rows, np.argmax(exact[rows], axis=1)]]
    return np.ascontiguousarray(positions)


def neighbour_median_init(indices, embedding):
    """Start new points at the coordinate-wise median of their neighbours'
    positions (openTSNE's default for ``prepare_partial``).

    Parameters
    ----------
    indices : array-like of shape (m, k), int
    embedding : ndarray of shape (n_reference, n_components)

    Returns
    -------
    positions : ndarray of shape (m, n_components), float64
    """
    reference = np.asarray(embedding, dtype=np.float64)
    return np.ascontiguousarray(np.median(reference[np.asarray(indices)], axis=1))
