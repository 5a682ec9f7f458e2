"""Embedding models: t-SNE and UMAP trained by one edge-pass kernel.

Each module answers one question: ``_neighbors`` (which points are near),
``_affinities`` (how strongly they attract), ``_init`` (where the embedding starts),
``_problem`` (the blocks of edge passes the driver runs); ``_tsne`` and ``_umap``
compose them.
"""

from ._tsne import TSNE
from ._umap import UMAP

__all__ = ["TSNE", "UMAP"]
