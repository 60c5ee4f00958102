"""Mini-batches sliced from whole tensors: the loader skorch iterates, and the arrays behind a dataset."""
import math
import warnings
import weakref

import numpy as np
import torch

from ..data.rows import resolve

# A matrix's copy on each accelerator, kept while the matrix lives: every fit of a grid gathers
# its batches from the one copy instead of sending the whole matrix to the device again.
_ON_DEVICE = {}


def as_tensor(array, device):
    """``array`` as a tensor on ``device``, sharing its memory where it can (a read-only memory
    map included: it is only read).

    On the CPU the tensor is the array's own memory. On another device the copy is made once
    per array and process, and handed out again while the array lives.
    """
    if isinstance(array, torch.Tensor):
        return array.to(device)
    array = np.asarray(array)
    if torch.device(device).type == "cpu":
        return _from_numpy(array)
    key = (id(array), str(device))
    held = _ON_DEVICE.get(key)
    if held is not None and held[0]() is array:
        return held[1]
    tensor = _from_numpy(array).to(device)
    try:
        ref = weakref.ref(array, lambda _, key=key: _ON_DEVICE.pop(key, None))
    except TypeError:  # a view of a foreign buffer that takes no weak reference: not kept
        return tensor
    _ON_DEVICE[key] = (ref, tensor)
    return tensor


def _from_numpy(array):
    with warnings.catch_warnings():  # a read-only array (joblib's memory maps) is only read here: no copy
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def dataset_arrays(dataset):
    """Return ``(X, y, indices)`` behind a skorch Dataset or a Subset of one.

    ``indices`` (a tensor, or None for all rows) are positions in ``X`` and ``y``; ``X`` may be
    a `src.data.rows.Rows`.
    """
    indices = None
    while isinstance(dataset, torch.utils.data.Subset):
        sub = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        indices = sub if indices is None else sub[indices]
        dataset = dataset.dataset
    return dataset.X, dataset.y, indices


class TensorLoader:
    """Yield mini-batches by slicing whole tensors, never one ``__getitem__`` per sample.

    skorch builds one per epoch through ``iterator_train`` / ``iterator_valid``. The arrays
    behind the dataset are turned into tensors once and cached on the dataset object, on the
    target device, so that a GPU run keeps its data on the GPU.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset
    batch_size : int
    shuffle : bool (default=False)
        Draw a fresh permutation each epoch.
    device : str (default="cpu")
    generator : torch.Generator, optional
        The fit's own generator for the permutations (so that fits running side by side in
        threads do not share one random stream); torch's global one when None.
    """

    def __init__(self, dataset, batch_size, shuffle=False, device="cpu", generator=None):
        self.dataset, self.batch_size, self.shuffle, self.device = dataset, batch_size, shuffle, device
        self.generator = generator
        X, y, self.indices = dataset_arrays(dataset)
        X, x_rows = resolve(X)  # the rows of a shared matrix are gathered from it, never copied out
        base = self.dataset
        while isinstance(base, torch.utils.data.Subset):
            base = base.dataset
        cache = getattr(base, "_tensor_cache", None)
        if cache is None or cache[0] != device:
            y_tensor = None if y is None else as_tensor(y, device).long()
            cache = (device, as_tensor(X, device), y_tensor)
            base._tensor_cache = cache
        _, self.X, self.y = cache
        self.x_rows = None if x_rows is None else torch.as_tensor(x_rows, dtype=torch.long, device=device)
        self.n = (len(self.indices) if self.indices is not None else
                  len(self.x_rows) if self.x_rows is not None else len(self.X))

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        if self.indices is not None:
            order = self.indices if order is None else self.indices[order]
        if order is not None:
            order = order.to(self.device)
        # rows of X in batch order (None: X's own order)
        x_order = order if self.x_rows is None else self.x_rows if order is None else self.x_rows[order]
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            # index_select is about twice as fast as X[idx] for rows of a matrix
            Xb = self.X[start:stop] if x_order is None else self.X.index_select(0, x_order[start:stop])
            if self.y is None:
                yb = torch.zeros(len(Xb))
            else:
                yb = self.y[start:stop] if order is None else self.y.index_select(0, order[start:stop])
            yield Xb, yb
