"""Rows split into partitions held by dask workers: ``partition_blocks``.

A partition is a tuple ``(X, y, sample_weight)`` of NumPy (or SciPy CSR, or pandas)
blocks computed on a worker. Each is a dask future whose task remembers how it was
made (slices of the client's arrays, or the chunks of a dask collection), so a
partition lost with its worker is computed again from its source.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples


def _dask_kinds():
    """The dask collection types, imported only when used (an optional extra)."""
    import dask.array as da
    import dask.dataframe as dd

    return da.Array, (dd.DataFrame, dd.Series)


def _row_chunks(X):
    """Row boundaries of a dask array's chunks."""
    return np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)


def _blocks_of_array(X, bounds):
    """The row blocks of dask array ``X`` along ``bounds`` (one column chunk)."""
    if X.ndim == 2:
        X = X.rechunk({0: tuple(np.diff(bounds)), 1: -1})
    else:
        X = X.rechunk({0: tuple(np.diff(bounds))})
    return list(X.to_delayed().ravel())


def _split_local(values, bounds):
    """Row slices of an in-memory array, DataFrame or sparse matrix."""
    if values is None:
        return [None] * (len(bounds) - 1)
    if hasattr(values, "iloc"):
        return [values.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    if sp.issparse(values):
        values = values.tocsr()
    else:
        values = np.asarray(values) if not hasattr(values, "shape") else values
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _assemble(X, y, sample_weight):
    """One partition: its blocks as the estimator's validation takes them."""
    return X, y, sample_weight


def partition_blocks(client, X, y=None, sample_weight=None, n_partitions=None):
    """Futures of the partitions ``(X, y, sample_weight)`` of the training rows.

    Parameters
    ----------
    client : distributed.Client
    X : dask array, dask DataFrame, or array-like / sparse matrix / DataFrame
        A dask collection keeps its row chunks (partitions); in-memory data is
        cut into ``n_partitions`` contiguous blocks of (nearly) equal size.
    y, sample_weight : same kinds, optional
        Split along the same rows as ``X``.
    n_partitions : int, optional
        Partitions of in-memory data; default: one per worker.

    Returns
    -------
    list of distributed.Future
    """
    import dask

    array_type, frame_types = _dask_kinds()
    if isinstance(X, frame_types):
        X_blocks = list(X.to_delayed())
        pieces = [_frame_blocks(values, len(X_blocks), frame_types, array_type)
                  for values in (y, sample_weight)]
    elif isinstance(X, array_type):
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D dask array; got {X.ndim} dimension(s).")
        bounds = _row_chunks(X)
        X_blocks = _blocks_of_array(X, bounds)
        pieces = [_aligned_blocks(values, bounds, array_type) for values in
                  (y, sample_weight)]
    else:
        X, y, sample_weight = (_as_rows(values) for values in (X, y, sample_weight))
        n_rows = X.shape[0]
        for values in (y, sample_weight):
            if values is not None:
                _check_rows(n_rows, _num_samples(values))
        if n_partitions is None:
            n_partitions = max(1, len(client.scheduler_info()["workers"]))
        n_partitions = int(max(1, min(n_partitions, n_rows)))
        bounds = np.linspace(0, n_rows, n_partitions + 1).round().astype(np.int64)
        if sp.issparse(X):
            X = X.tocsr()
        X_blocks = _split_local(X, bounds)
        pieces = [_split_local(values, bounds) for values in (y, sample_weight)]
    tasks = [dask.delayed(_assemble, pure=True)(x, y_block, w_block)
             for x, y_block, w_block in zip(X_blocks, *pieces)]
    return client.compute(tasks)


def _check_rows(n_rows, n_values):
    if n_values != n_rows:
        raise ValueError(f"X has {n_rows} rows but y or sample_weight has {n_values}.")


def _as_rows(values):
    """In-memory data with a ``shape`` (array-likes without one become arrays)."""
    if values is None or hasattr(values, "shape"):
        return values
    return np.asarray(values)


def _aligned_blocks(values, bounds, array_type):
    if values is None:
        return [None] * (len(bounds) - 1)
    if isinstance(values, array_type):
        _check_rows(bounds[-1], values.shape[0])
        return _blocks_of_array(values, bounds)
    _check_rows(bounds[-1], len(values))
    return _split_local(values, bounds)


def _frame_blocks(values, n_blocks, frame_types, array_type):
    if values is None:
        return [None] * n_blocks
    if isinstance(values, frame_types):
        blocks = list(values.to_delayed())
    elif isinstance(values, array_type):
        blocks = list(values.to_delayed().ravel())
    else:
        raise TypeError("With a dask DataFrame X, pass y and sample_weight as dask "
                        "Series (or DataFrames) of the same partitions.")
    if len(blocks) != n_blocks:
        raise ValueError(f"X has {n_blocks} partitions but y or sample_weight has "
                         f"{len(blocks)}: repartition them alike.")
    return blocks
