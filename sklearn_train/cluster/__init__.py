"""Clustering and mixture models trained by the shared driver: KMeans (mini-batch
k-means) and GaussianMixture (online EM)."""

from ._kmeans import KMeans
from ._mixture import GaussianMixture

__all__ = ["GaussianMixture", "KMeans"]
