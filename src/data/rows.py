"""Rows of a data matrix, selected without copying them out.

GridSearchCV hands every fit ``X[train]`` and scores it on ``X[test]``; on MNIST those are
copies of 125 and 62 MB, made again for every candidate (about 0.1 s each, and the memory
of one more copy per fit running at once). Given a `Rows`, scikit-learn's indexing returns
another `Rows`, and the net gathers its mini-batches straight from the shared matrix
(`src.training.net.TensorLoader`). Whatever asks for the rows as an array (``np.asarray``) gets them
copied out, so code that knows nothing of `Rows` still works.
"""
import numpy as np


class Rows:
    """Rows ``index`` of the array ``base`` (all of them when None), in that order.

    Parameters
    ----------
    base : ndarray
        The whole matrix (a memory map is fine: it is only read).
    index : array of int, optional
    """

    def __init__(self, base, index=None):
        self.base = base
        self.whole = index is None  # every row, in order: the matrix itself
        self.index = np.arange(len(base)) if index is None else np.asarray(index)
        if self.index.dtype.kind not in "iu":
            raise TypeError(f"row indices must be integers, not {self.index.dtype}")

    @property
    def shape(self):
        return (len(self.index),) + tuple(self.base.shape[1:])

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def ndim(self):
        return self.base.ndim

    def __len__(self):
        return len(self.index)

    def __getitem__(self, key):
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]  # scikit-learn selects rows as X[key, ...]
        if isinstance(key, tuple):
            return np.asarray(self)[key]
        if isinstance(key, (int, np.integer)):
            return self.base[self.index[key]]
        return Rows(self.base, self.index[np.asarray(key) if isinstance(key, list) else key])

    def __array__(self, dtype=None, copy=None):
        out = np.asarray(self.base)[self.index]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __sizeof__(self):
        # the matrix counts: Dask's joblib backend scatters an argument once only when it looks large
        return object.__sizeof__(self) + self.base.nbytes + self.index.nbytes

    def __repr__(self):
        return f"Rows({len(self.index)} of {len(self.base)})"


def resolve(X):
    """``(matrix, row indices)`` behind ``X``: a `Rows`' base and index (None when it is every row
    of its base, in order), or ``X`` itself and None."""
    return (X.base, None if X.whole else X.index) if isinstance(X, Rows) else (X, None)
