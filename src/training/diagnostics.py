"""What the hidden layers do while a network trains: dead units, saturation, gradient norms.

Every epoch the `Diagnostics` callback runs one forward and one backward pass over a fixed
*probe batch* (the same training rows every epoch, drawn once per fit with a private
generator: 256 rows, fewer for small training splits, see `probe_count`) and records, per
hidden layer ``k`` (an activation module of the network's ``hidden``, counted from 1: a CNN's blocks, then
its head):

- ``layerk_dead``: the fraction of units whose output is exactly zero for every probe row;
- ``layerk_saturated``: for bounded activations only, the fraction of outputs within 1% of
  the output range from either bound;
- ``layerk_mean``, ``layerk_std``: mean and standard deviation of all its outputs;
- ``layerk_grad_norm``: the L2 norm of the loss gradient with respect to the Linear layer
  (or convolution) feeding it (weight and bias), and ``output_grad_norm`` for the output layer.

The probe pass runs in eval mode (dropout off) and with `torch.autograd.grad`, so it draws
no random numbers and leaves ``.grad`` alone: training follows exactly the path it would
follow without the callback. The gradients are therefore those of the probe batch at the
end of the epoch, not of the last training batch. The callback keeps the seconds each probe
took in its ``seconds_`` list (not in the history, which stays reproducible), to compare
with the epochs' ``dur``.
"""
import time

import numpy as np
import torch
from skorch.callbacks import Callback, PrintLog
from torch import nn

from ..data.rows import resolve
from ..model import activations
from ..model.cnn import PerChannel
from ..model.mlp import uncompiled
from ..model.norm import is_norm
from ..columns import STATS
from .loader import dataset_arrays

PROBE_SIZE = 256
PROBE_FRACTION = 32  # the probe is at most 1/32 of the training split ...
MIN_PROBE = 32       # ... but never fewer than 32 rows
SATURATION_TOLERANCE = 0.01
def layer_pairs(module):
    """The ``(Linear or convolution, activation)`` pairs of a network's hidden layers (``module.hidden``), in order.

    The activation is the first layer after it that is not a norm (`src.model.norm`); in a CNN's
    block, the activation inside `src.model.cnn.PerChannel` (its outputs are the block's, channels last).
    """
    layers = list(module.hidden)
    pairs = []
    for i, layer in enumerate(layers):
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            act = next(after for after in layers[i + 1:] if not is_norm(after))
            pairs.append((layer, act.activation if isinstance(act, PerChannel) else act))
    return pairs


def bounds_of(activation):
    """Lower and upper output bound of an activation module, or None when it is unbounded.

    The registry's bounds are used, unless the module carries its own (Hardtanh's
    ``min_val`` and ``max_val``).
    """
    bounds = next((e.bounds for e in activations.REGISTRY.values() if type(activation) is e.factory), None)
    if hasattr(activation, "min_val") and hasattr(activation, "max_val"):
        bounds = (float(activation.min_val), float(activation.max_val))
    return bounds


def measure(module, X, y, loss_fn):
    """Measure the diagnostics of ``module`` on one batch.

    Parameters
    ----------
    module : src.model.mlp.MLP or src.model.cnn.CNN
    X : torch.Tensor
        The probe rows, on the module's device.
    y : torch.Tensor
        Their labels.
    loss_fn : callable
        ``loss_fn(logits, y)`` -> scalar loss.

    Returns
    -------
    dict
        Column name -> float (see the module docstring).
    """
    pairs = layer_pairs(module)
    linears = [linear for linear, _ in pairs] + [module.output]
    outputs = {}
    hooks = [act.register_forward_hook(lambda mod, inp, out, k=k: outputs.__setitem__(k, out.detach()))
             for k, (_, act) in enumerate(pairs, start=1)]
    was_training = module.training
    module.eval()
    try:
        with torch.enable_grad():
            loss = loss_fn(module(X), y)
            params = [p for linear in linears for p in (linear.weight, linear.bias) if p is not None]
            grads = torch.autograd.grad(loss, params, allow_unused=True)
    finally:
        for hook in hooks:
            hook.remove()
        module.train(was_training)

    grad_of = {id(p): g for p, g in zip(params, grads)}
    found = {}
    for k, (linear, act) in enumerate(pairs, start=1):
        out = outputs[k].reshape(len(X), -1).float()
        found[f"layer{k}_dead"] = (out == 0).all(dim=0).float().mean()
        bounds = bounds_of(act)
        if bounds is not None:
            low, high = bounds
            margin = SATURATION_TOLERANCE * (high - low)
            found[f"layer{k}_saturated"] = ((out <= low + margin) | (out >= high - margin)).float().mean()
        found[f"layer{k}_mean"], found[f"layer{k}_std"] = out.mean(), out.std()
        found[f"layer{k}_grad_norm"] = _grad_norm(linear, grad_of)
    found["output_grad_norm"] = _grad_norm(module.output, grad_of)
    numbers = torch.stack([v.detach().float() for v in found.values()]).tolist()  # one device sync
    return dict(zip(found, numbers))


def _grad_norm(linear, grad_of):
    """L2 norm of the gradients of a Linear layer's weight and bias (NaN when it has none)."""
    squares = [grad_of[id(p)].pow(2).sum() for p in (linear.weight, linear.bias)
               if p is not None and grad_of.get(id(p)) is not None]
    return torch.stack(squares).sum().sqrt() if squares else torch.tensor(float("nan"), device=linear.weight.device)


def _rows(array, rows, device, dtype=None):
    if isinstance(array, torch.Tensor):
        out = array[torch.as_tensor(rows)]
    else:
        base, index = resolve(array)  # the rows of a `Rows` view are picked from its matrix
        out = torch.from_numpy(np.ascontiguousarray(np.asarray(base)[rows if index is None else index[rows]]))
    return out.to(device=device, dtype=dtype) if dtype is not None else out.to(device)


def probe_count(n, size=PROBE_SIZE):
    """Rows in the probe batch of a training split of ``n`` rows.

    ``size``, but at most 1/32 of the split (and at least 32 rows, or all of a tinier split),
    so that the probe's forward and backward pass stay within a few percent of an epoch.
    """
    return int(min(size, max(MIN_PROBE, n // PROBE_FRACTION), n))


def probe_rows(n, size=PROBE_SIZE, seed=0):
    """Row numbers of the probe batch among ``range(n)``, drawn with a private generator."""
    generator = torch.Generator().manual_seed(int(seed))
    return np.sort(torch.randperm(int(n), generator=generator)[:probe_count(n, size)].numpy())


class Diagnostics(Callback):
    """Record the hidden layers' diagnostics in the history at the end of every epoch.

    Parameters
    ----------
    probe_size : int (default=256)
        Training rows in the probe batch (fewer for small training splits, see `probe_count`).
    seed : int (default=0)
        Seed of the private generator that picks the probe rows.
    """

    def __init__(self, probe_size=PROBE_SIZE, seed=0):
        self.probe_size = probe_size
        self.seed = seed

    def initialize(self):
        self.probe_ = None
        self.seconds_ = []
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.probe_ = None
        self.seconds_ = []
        self._fallback = (X, y)
        n_layers = len(layer_pairs(uncompiled(net.module_)))
        hidden = {f"layer{k}_{stat}" for k in range(1, n_layers + 1) for stat in STATS}
        for _, callback in net.callbacks_:  # keep the printed log to the usual columns
            if isinstance(callback, PrintLog):
                callback.keys_ignored_ |= hidden | {"output_grad_norm"}

    def _probe(self, net, dataset_train):
        if dataset_train is not None:
            X, y, indices = dataset_arrays(dataset_train)
        else:
            (X, y), indices = self._fallback, None
        n = len(indices) if indices is not None else len(X)
        rows = probe_rows(n, self.probe_size, self.seed)
        if indices is not None:
            rows = np.asarray(indices)[rows]
        return _rows(X, rows, net.device, torch.float32), _rows(y, rows, net.device, torch.long)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        start = time.perf_counter()
        if self.probe_ is None:
            self.probe_ = self._probe(net, dataset_train)
        X, y = self.probe_
        # the module itself: compiled code would skip the forward hooks
        values = measure(uncompiled(net.module_), X, y,
                         lambda logits, target: net.get_loss(logits, target, X=X, training=False))
        for name, value in values.items():
            net.history.record(name, value)
        self.seconds_.append(time.perf_counter() - start)
