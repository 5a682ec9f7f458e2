"""sklearn_train: scikit-learn estimators trained by one Numba gradient core.

Importing the package compiles nothing; each kernel compiles on first use and is
cached on disk, so later processes start at once.
"""

from ._training import DivergenceError
from .cluster import GaussianMixture, KMeans
from .linear_model import LinearClassifier, LinearRegressor
from ._lr_find import LRFinderResult, lr_find
from .manifold import TSNE, UMAP
from .model_selection import ContinuedHalvingSearchCV
from .neural_network import Autoencoder, MLPClassifier, MLPRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "Autoencoder",
    "ContinuedHalvingSearchCV",
    "DivergenceError",
    "GaussianMixture",
    "KMeans",
    "LinearClassifier",
    "LinearRegressor",
    "LRFinderResult",
    "MLPClassifier",
    "MLPRegressor",
    "TSNE",
    "UMAP",
    "__version__",
    "lr_find",
]
