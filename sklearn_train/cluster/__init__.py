"""Clustering trained by the shared driver: KMeans (mini-batch k-means)."""

from ._kmeans import KMeans

__all__ = ["KMeans"]
