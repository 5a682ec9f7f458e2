"""Embedding models: t-SNE and UMAP trained by one edge-epoch kernel.

Each module answers one question: ``_neighbors`` (which points are near),
``_affinities`` (how strongly they attract), ``_init`` (where the embedding starts),
``_problem`` (the edge epochs the driver runs); ``_tsne`` and ``_umap`` compose them.
"""
