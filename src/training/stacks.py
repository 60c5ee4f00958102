"""Batched fits: train the fold models of one or more candidates as one stacked model.

Candidates of a grid that differ only in their activation, init or dropout (same layer
sizes, optimizer settings, batch size, epochs and seed) are trained together with all their
folds: C candidates x F folds = K *members*. Every member keeps its own weights, its own
training rows, its own validation split and its own batch order; only the arithmetic is
shared:

- the candidates of one fold see the same mini-batches (a fit's batch order and validation
  split follow its seed, which they share), so the first layer is one wide product per fold,
  against the C candidates' first-layer weights side by side;
- the later layers are batched matrix products (``torch.baddbmm``) over all K members;
- each candidate's activation (and dropout) is applied to its own slice of the stack; an
  activation with parameters (PReLU, learnable Swish, StarReLU, xIELU, Snake, PAU) gets a
  member axis: its parameters are stacked over the folds and broadcast against the folds' rows
  in one call (or applied fold by fold with ``torch.func.vmap``; see `MemberParams`), so that
  every member trains its own.

Each member starts exactly as the plain path would (same seed, same initial weights, same
permutation stream), and the loss is the sum of the members' mean losses, so every member
gets the gradient it would get alone. Weights are stacked as ``(in, out)`` matrices, the
layout whose gradient the batched product writes without a transposed copy.

The trained members are written as ordinary fit records (`src.training.fit_records`), keyed as the
plain fits would be. GridSearchCV then runs as usual: each of its fits finds its record and
loads the weights instead of training, and it scores the folds itself.
"""
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, LRScheduler
from torch.nn import functional as F

from ..cores import SERIAL
from ..data.rows import resolve
from ..params import candidate_label
from ..words import counted
from . import diagnostics, fit_records
from .loader import as_tensor
from .net import SEEDING_LOCK, Diverged, shuffle_generator, with_fused

log = logging.getLogger(__name__)

# Parameters in which candidates of one stack may differ: they change a member's start, its
# activations or the size of its steps (`MemberRates`), not the shapes or the schedule of the
# arithmetic.
FREE_IN_STACK = ("module__activation", "module__init", "module__dropout", "lr")


def stackable(net):
    """Whether a (configured, unfitted) net can be trained in a stack.

    Early stopping or LR schedules act per fit: such candidates take the plain path.
    """
    return not any(isinstance(cb, (EarlyStopping, LRScheduler)) for _, cb in (net.callbacks or []))


def _linears(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def stack_key(net):
    """Candidates with equal keys can share one stack: the same settings but for `FREE_IN_STACK`
    and the same layer shapes."""
    params = {k: v for k, v in fit_records.fit_params(net).items() if k not in FREE_IN_STACK}
    shapes = [list(layer.weight.shape) for layer in _linears(net.module(**net.get_params_for("module")))]
    return json.dumps([params, shapes], sort_keys=True)


def _split_rows(net, y, train_idx):
    """A fold's fit and validation rows (positions in ``train_idx``), as the net's train split makes them."""
    yk = y[train_idx]
    if net.train_split is None:
        return np.arange(len(yk)), np.array([], dtype=int)
    tr, va = net.train_split(net.get_dataset(np.zeros((len(yk), 1), dtype=np.float32), yk), yk)
    return np.asarray(tr.indices), np.asarray(va.indices)


def fold_rows(net, y, train_indices):
    """Each fold's ``(fit rows, validation rows)`` from `_split_rows`.

    The same for every candidate of a grid (the train split is not a grid parameter), so a
    grid computes them once.
    """
    y = np.asarray(y)
    return [_split_rows(net, y, idx) for idx in train_indices]


def same_batch_count(net, y, train_indices, rows=None):
    """Whether every fold takes the same number of mini-batches per epoch.

    A fold that ran out of rows before the others would still be moved by the optimizer's
    momentum (or Adam's state) on the steps it sits out, unlike a fold trained alone; such
    candidates take the plain path. ``rows`` are the folds' `fold_rows` when known.
    """
    rows = fold_rows(net, y, train_indices) if rows is None else rows
    return len({-(-len(fit) // net.batch_size) for fit, _ in rows}) == 1


def _fold_setup(net, train_idx, fingerprint, rows):
    """What the plain path would do for one fold: its rows and its batch-order stream."""
    fit_rows, valid_rows = rows
    train_idx = torch.as_tensor(np.asarray(train_idx), dtype=torch.long)
    return dict(n_train=len(train_idx), data=fingerprint, fit=train_idx[torch.as_tensor(fit_rows, dtype=torch.long)],
                valid=train_idx[torch.as_tensor(valid_rows, dtype=torch.long)],
                generator=shuffle_generator(net.seed))


def _build(net):
    """The net's module with the weights the plain path would start from."""
    with SEEDING_LOCK:
        torch.manual_seed(net.seed)
        return net.module(**net.get_params_for("module"))


def _segments(module):
    """The layers after each hidden Linear of an `MLP` (activation, dropout), one list per Linear."""
    segments = []
    for layer in module.hidden.children():
        if isinstance(layer, torch.nn.Linear):
            segments.append([])
        else:
            segments[-1].append(layer)
    return segments


# How a member axis can be put in front of an activation's parameters so that its own forward,
# given them in place of its parameters, applies each fold's to that fold's rows (``(F, batch,
# width)``) in one call: a scalar or per-unit parameter before a row axis; a coefficient vector
# read along its last axis (``a[..., k]``) before a row and a unit axis.
BROADCAST_LAYOUTS = (lambda p: p.view(p.shape[0], 1, *p.shape[1:]),
                     lambda p: p.view(p.shape[0], 1, 1, *p.shape[1:]))


class MemberParams:
    """An activation with parameters at one position of a candidate, with a member axis.

    Its parameters are the F fold members' own, stacked (``(F, *shape)``). It is applied to
    the candidate's slice ``(F, batch, width)`` in one call of the module's own forward with
    the stacked parameters broadcast against the rows, when one of `BROADCAST_LAYOUTS` gives
    what ``torch.func.vmap`` over the folds gives (checked at the first call, on a few rows and
    parameters made different fold by fold); otherwise fold by fold with ``vmap``, which is
    several times slower.

    Parameters
    ----------
    members : list of torch.nn.Module
        The activation module of each fold's member, in fold order.
    """

    def __init__(self, members, device):
        self.module, self.members = members[0], members
        self.names = [name for name, _ in members[0].named_parameters()]
        self.params = {name: torch.stack([dict(m.named_parameters())[name].detach() for m in members])
                       .to(device).contiguous().requires_grad_() for name in self.names}
        self._vmapped = torch.func.vmap(lambda params, h: torch.func.functional_call(self.module, params, (h,)))
        self._call = None

    def _broadcast(self, layout):
        return lambda params, h: torch.func.functional_call(
            self.module, {name: layout(p) for name, p in params.items()}, (h,))

    def _choose(self, h):
        """The fastest call that gives vmap's result on a few of ``h``'s rows."""
        generator = torch.Generator(device=h.device).manual_seed(0)  # the training's own streams stay untouched
        with torch.no_grad():
            params = {name: p + 0.1 * torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
                      for name, p in self.params.items()}
            rows = h[:, :8].detach()
            expected = self._vmapped(params, rows)
            for layout in BROADCAST_LAYOUTS:
                call = self._broadcast(layout)
                try:
                    got = call(params, rows)
                except RuntimeError:
                    continue
                if got.shape == expected.shape and torch.allclose(got, expected, rtol=1e-5, atol=1e-6,
                                                                  equal_nan=True):
                    return call
        return self._vmapped

    def __call__(self, h):
        if self._call is None:
            self._call = self._choose(h)
        return self._call(self.params, h)

    def copy_to_members(self):
        """Write each fold's parameters back into its member's module."""
        with torch.no_grad():
            for f, member in enumerate(self.members):
                for name, value in member.named_parameters():
                    value.copy_(self.params[name][f])


def _has_params(layer):
    return any(p.numel() for p in layer.parameters())


def _apply(layers, h):
    for layer in layers:
        h = layer(h)
    return h


def _per_fold(x, weight, bias):
    """``bias + x @ weight`` fold by fold: on the CPU, separate products are 10 to 30% faster
    than one batched product at these shapes."""
    out = x.new_empty(x.shape[0], x.shape[1], weight.shape[2])
    for f in range(x.shape[0]):
        torch.addmm(bias[f], x[f], weight[f], out=out[f])
    return out


class _FirstLayer(torch.autograd.Function):
    """`_per_fold` for inputs that need no gradient.

    The weight gradient is also taken fold by fold with ``torch.mm`` (about a quarter faster
    on the CPU than one batched product with a transposed operand), and no input gradient is
    computed.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x)
        return _per_fold(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad_weight = grad.new_empty(x.shape[0], x.shape[2], grad.shape[2])
        for f in range(x.shape[0]):
            torch.mm(x[f].t(), grad[f], out=grad_weight[f])
        return None, grad_weight, grad.sum(1, keepdim=True)


# Layers that draw random numbers in training: candidates never share a call of them, so that
# each keeps its own random stream.
RANDOM = (torch.nn.Dropout, torch.nn.AlphaDropout, torch.nn.RReLU)


def _share_key(layers):
    """What lets candidates apply their layers at one position as one call: the same layers,
    without parameters and without randomness (None: the candidate's own call)."""
    if any(isinstance(layer, (MemberParams, *RANDOM)) or _has_params(layer) for layer in layers):
        return None
    return repr(layers)


def _runs(segments, i):
    """The candidates' calls at hidden position ``i``: ``(first, stop, layers)`` for each run of
    adjacent candidates whose layers there are the same (`_share_key`)."""
    runs = []
    for c, layers in enumerate(segments):
        key = _share_key(layers[i])
        if runs and key is not None and runs[-1][3] == key:
            runs[-1][1] = c + 1
        else:
            runs.append([c, c + 1, layers[i], key])
    return [(first, stop, layers) for first, stop, layers, _ in runs]


def _forward(weights, biases, runs, x, C):
    """Logits of every member, ``(C * F, classes, batch)``, for the folds' inputs ``x`` ``(F, batch, in)``.

    ``runs`` are each hidden position's calls (`_runs`): candidates with the same activation
    apply it in one call over their rows. Classes come before rows: the softmax over 10 classes
    then runs along a middle dimension, which the CPU kernels vectorize over the rows (about
    ten times faster than along a last dimension of 10, for the price of one small transposed
    copy).
    """
    h = _FirstLayer.apply(x, weights[0], biases[0])  # (F, batch, C * width): the candidates side by side
    F, batch = h.shape[0], h.shape[1]
    if C > 1:  # (C * F, batch, width): member m = c * F + f holds candidate c's columns of fold f (one copy)
        h = h.view(F, batch, C, -1).permute(2, 0, 1, 3).reshape(C * F, batch, -1)
    for i in range(1, len(weights)):
        outs = [_apply(layers, h[first * F:stop * F]) for first, stop, layers in runs[i - 1]]
        h = torch.baddbmm(biases[i], torch.cat(outs) if len(outs) > 1 else outs[0], weights[i])
    return h.transpose(1, 2).contiguous()


class Stack:
    """The weights of K = C x F members, stacked; member ``m = c * F + f`` is candidate c on fold f."""

    def __init__(self, modules, n_folds, device):
        self.modules, self.F, self.C = modules, n_folds, len(modules) // n_folds
        layers = [_linears(m) for m in modules]
        first = [[layers[c * self.F + f][0] for c in range(self.C)] for f in range(self.F)]
        weights = [torch.stack([torch.cat([lin.weight.detach().t() for lin in row], 1) for row in first])]
        biases = [torch.stack([torch.cat([lin.bias.detach() for lin in row]) for row in first]).unsqueeze(1)]
        for i in range(1, len(layers[0])):
            weights.append(torch.stack([member[i].weight.detach().t() for member in layers]))
            biases.append(torch.stack([member[i].bias.detach() for member in layers]).unsqueeze(1))
        self.weights = [w.to(device).contiguous().requires_grad_() for w in weights]
        self.biases = [b.to(device).contiguous().requires_grad_() for b in biases]
        self.segments = [_segments(modules[c * self.F]) for c in range(self.C)]
        self.learnable = []  # (candidate, MemberParams)
        for c, segments in enumerate(self.segments):
            members = [_segments(modules[c * self.F + f]) for f in range(self.F)]
            for i, layers in enumerate(segments):
                for j, layer in enumerate(layers):
                    if _has_params(layer):
                        layers[j] = MemberParams([member[i][j] for member in members], device)
                        self.learnable.append((c, layers[j]))
        self.runs = [_runs(self.segments, i) for i in range(len(self.weights) - 1)]

    def parameters(self):
        """The stacked weights and biases, layer by layer, then the activations' stacked parameters."""
        own = [p for _, act in self.learnable for p in act.params.values()]
        return [p for pair in zip(self.weights, self.biases) for p in pair] + own

    def candidates_of_parameters(self):
        """For each of `parameters`: None for a weight or bias (all candidates), else its candidate."""
        return ([None] * (2 * len(self.weights))
                + [c for c, act in self.learnable for _ in act.params])

    def train(self, mode=True):
        for c in range(self.C):
            self.modules[c * self.F].train(mode)

    def __call__(self, x):
        return _forward(self.weights, self.biases, self.runs, x, self.C)

    def member_module(self, m):
        """Member ``m``'s own module, holding its current weights (on the CPU side it was built on)."""
        c, f = divmod(m, self.F)
        module = self.modules[m]
        with torch.no_grad():
            for i, layer in enumerate(_linears(module)):
                if i == 0:
                    width = layer.weight.shape[0]
                    weight = self.weights[0][f][:, c * width:(c + 1) * width]
                    bias = self.biases[0][f, 0, c * width:(c + 1) * width]
                else:
                    weight, bias = self.weights[i][m], self.biases[i][m, 0]
                layer.weight.copy_(weight.t())
                layer.bias.copy_(bias)
        for cand, act in self.learnable:
            if cand == c:
                act.copy_to_members()
        return module


# Optimizers whose step, from a state that is itself linear in the gradients, is linear in the
# gradient, with the settings under which it is: scaling a member's loss by s then scales its step
# by s, as a rate s times the reference would (SGD with momentum, dampening or Nesterov; not with
# weight decay, which adds a term that the loss does not scale).
LINEAR_IN_GRADIENT = {torch.optim.SGD: lambda settings: not settings.get("weight_decay")}


class MemberRates:
    """Each candidate's own learning rate in one stack.

    For an optimizer in `LINEAR_IN_GRADIENT`, each candidate's loss is scaled by its rate over
    the reference (``loss_scale``, applied by the training loop), which costs nothing.
    Otherwise:

    The optimizer steps every member at the reference rate; the step of a candidate whose
    rate differs is then rescaled: ``p = before + s * (after - before)`` with ``s`` its rate
    over the reference. Every optimizer of the project (SGD with momentum, Nesterov or weight
    decay, Adam, AdamW, RMSprop) moves a parameter by an amount proportional to its rate, from
    a state (momentum, moment estimates) that does not depend on the rate, so this is the step
    at the member's own rate, up to float32 rounding. A member at the reference rate is left
    exactly as the optimizer moved it (``s = 1``).

    Parameters
    ----------
    stack : Stack
    rates : list of float
        Each candidate's learning rate.
    reference : float
        The rate the optimizer is built with.
    """

    def __init__(self, stack, rates, reference, optimizer=None, settings=None):
        scales = torch.tensor([rate / reference for rate in rates], dtype=stack.weights[0].dtype)
        self.loss_scale = None
        self.active = bool((scales != 1).any())
        if self.active and LINEAR_IN_GRADIENT.get(optimizer, lambda _: False)(settings or {}):
            # scale each candidate's loss instead: no pass over the parameters at all
            self.loss_scale, self.active = scales.view(-1, 1).to(stack.weights[0].device), False
        if not self.active:
            return
        device = stack.weights[0].device
        width = stack.weights[0].shape[2] // stack.C
        columns = (1 - scales).repeat_interleave(width).view(1, 1, -1).to(device)  # candidate c's columns
        members = (1 - scales).repeat_interleave(stack.F).view(-1, 1, 1).to(device)  # member m = c * F + f
        self.params = stack.parameters()
        owners = stack.candidates_of_parameters()
        self.weights = [columns if i < 2 else members if owner is None else
                        (1 - scales[owner]).to(device).view([1] * p.dim())
                        for i, (p, owner) in enumerate(zip(self.params, owners))]
        self.before = [torch.empty_like(p) for p in self.params]

    def snapshot(self):
        """Remember the parameters before the optimizer's step."""
        if self.active:
            with torch.no_grad():
                torch._foreach_copy_(self.before, self.params)

    def rescale(self):
        """Scale each member's step by its rate over the reference."""
        if self.active:
            with torch.no_grad():
                # p + (1 - s) (before - p) = before + s (p - before)
                torch._foreach_lerp_(self.params, self.before, self.weights)


@dataclass
class MemberState:
    """One member of a stack between two calls of `train_stacked`: everything it needs to train on.

    Attributes
    ----------
    params : list of Tensor
        Its slices of `Stack.parameters` (`member_pieces`).
    optimizer : dict
        The optimizer's state of those parameters: name -> list of slices (as ``params``), or
        the one value that every member shares (Adam's step count), or None.
    history : list of dict
        Its epochs so far (its epoch count is their number).
    seconds : float
        Its share of the training time so far.
    """

    params: list
    optimizer: dict
    history: list
    seconds: float


def member_pieces(tensors, C, F, owners=None):
    """Each member's own slices of tensors laid out as `Stack.parameters` (the parameters, or optimizer
    state of the same shapes): the first layer's weight and bias (positions 0 and 1) by candidate column
    block and fold, the later layers' by member, then the slices of its own candidate's activation
    parameters (``owners``: `Stack.candidates_of_parameters`; by fold). Member ``m = c * F + f`` gets a
    list of views that keep every dimension (size 1 where the stack is)."""
    owners = [None] * len(tensors) if owners is None else owners
    width = tensors[0].shape[2] // C
    pieces = []
    for m in range(C * F):
        c, f = divmod(m, F)
        pieces.append([t[f:f + 1, ..., c * width:(c + 1) * width] if i < 2 else t[m:m + 1] if owner is None
                       else t[f:f + 1] for i, (t, owner) in enumerate(zip(tensors, owners))
                       if owner is None or owner == c])
    return pieces


def joined(pieces, F, shared):
    """The inverse of `member_pieces`: the members' slices (``C' x F`` of them, ``m = c * F + f``) as
    stacked tensors; the first ``shared`` positions are the layers' weights and biases, any after them
    a candidate's own activation parameters."""
    C = len(pieces) // F
    layers = [torch.cat([torch.cat([pieces[c * F + f][i] for c in range(C)], dim=-1) for f in range(F)]) if i < 2
              else torch.cat([member[i] for member in pieces]) for i in range(shared)]
    own = [torch.cat([pieces[c * F + f][i] for f in range(F)])
           for c in range(C) for i in range(shared, len(pieces[c * F]))]
    return layers + own


def member_states(stack, optimizer, histories, seconds, scales=None):
    """Every member's `MemberState` (copies on the CPU), in member order.

    ``scales`` are the candidates' loss scales (`MemberRates.loss_scale`), or None: with them, the
    optimizer's state of shaped tensors (SGD's momentum, a sum of scaled gradients) is divided by
    the member's scale, so that a state is the member's own whatever stack it trained in, and
    `restore` can scale it for the next stack's reference rate.
    """
    params = stack.parameters()
    owners = stack.candidates_of_parameters()
    pieces = member_pieces([p.detach() for p in params], stack.C, stack.F, owners)
    names = dict.fromkeys(name for p in params for name in optimizer.state.get(p, {}))
    state = {}
    for name in names:
        values = [optimizer.state[p][name] for p in params]
        shaped = all(torch.is_tensor(v) and v.shape == p.shape for v, p in zip(values, params))
        state[name] = member_pieces(values, stack.C, stack.F, owners) if shaped else values[0]
    scales = [1.0] * stack.C if scales is None else scales
    return [MemberState(params=[t.cpu().clone() for t in pieces[m]],
                        optimizer={name: [t.cpu() / scales[m // stack.F] for t in value[m]] if isinstance(value, list)
                                   else (value.cpu().clone() if torch.is_tensor(value) else value)
                                   for name, value in state.items()},
                        history=[dict(row) for row in histories[m]], seconds=seconds[m]) for m in range(len(pieces))]


def restore(stack, optimizer, states, scales=None):
    """Load members' `MemberState` into a fresh stack and its optimizer (the members in stack order);
    ``scales`` as for `member_states`, the new stack's."""
    params = stack.parameters()
    device, shared = params[0].device, 2 * len(stack.weights)
    scales = [1.0] * stack.C if scales is None else scales
    with torch.no_grad():
        for p, value in zip(params, joined([s.params for s in states], stack.F, shared)):
            p.copy_(value)
    for name, value in states[0].optimizer.items():
        if isinstance(value, list):
            stacked = joined([[t * scales[m // stack.F] for t in s.optimizer[name]] for m, s in enumerate(states)],
                             stack.F, shared)
            for p, tensor in zip(params, stacked):
                optimizer.state[p][name] = tensor.to(device)
        else:
            for p in params:
                optimizer.state[p][name] = value.clone().to(device) if torch.is_tensor(value) else value


def load_member(module, pieces):
    """Copy a member's parameter slices (`member_pieces`) into its own module; return the module."""
    linears = _linears(module)
    own = [p for segment in _segments(module) for layer in segment if _has_params(layer)
           for _, p in layer.named_parameters()]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            layer.weight.copy_(pieces[2 * i][0].t())
            layer.bias.copy_(pieces[2 * i + 1][0, 0])
        for p, piece in zip(own, pieces[2 * len(linears):], strict=True):
            p.copy_(piece[0])
    return module


def _pad(rows_list, size):
    """Stack per-fold index tensors, padding short ones by repeating their first row (masked)."""
    out = torch.zeros(len(rows_list), size, dtype=torch.long)
    mask = torch.zeros(len(rows_list), size)
    for k, rows in enumerate(rows_list):
        n = len(rows)
        if n:
            out[k, :n] = rows
            out[k, n:] = rows[0]
            mask[k, :n] = 1
    return out, mask


def _batches(X, Y, rows, batch_size, device, reuse=True):
    """Yield ``(x, y, mask, counts)`` per step: every fold's next mini-batch of ``rows``, stacked.

    Folds with fewer rows are padded; ``mask`` marks their real rows (None when no fold
    is padded) and ``counts`` is each fold's number of real rows in the step. With ``reuse``
    every ``x`` is gathered into the same buffer, valid until the next step.
    """
    longest = max(len(r) for r in rows)
    idx_all, mask_all = _pad(rows, longest)
    padded = any(len(r) < longest for r in rows)
    idx_all, mask_all = idx_all.to(device), mask_all.to(device)
    buffer = X.new_empty(len(rows) * min(batch_size, longest), X.shape[1]) if reuse else None  # no fresh pages per step
    for start in range(0, longest, batch_size):
        idx = idx_all[:, start:start + batch_size]
        mask = mask_all[:, start:start + batch_size] if padded else None
        counts = mask.sum(1) if padded else torch.full((len(rows),), float(idx.shape[1]), device=device)
        xb = torch.index_select(X, 0, idx.reshape(-1), out=None if buffer is None else buffer[:idx.numel()])
        yield xb.view(*idx.shape, -1), Y[idx], mask, counts


def _member_losses(logits, yb, mask, C):
    """Each member's cross-entropy summed over its real batch rows.

    ``logits`` is ``(C * F, classes, batch)`` (`_forward`); ``yb`` and ``mask`` are ``(F, batch)``,
    shared by the C candidates (broadcast, not copied).
    """
    K, classes, batch = logits.shape
    log_p = torch.log_softmax(logits, 1).view(C, K // C, classes, batch)
    target = yb.view(1, yb.shape[0], 1, batch).expand(C, yb.shape[0], 1, batch)
    per_row = -log_p.gather(2, target).squeeze(2)
    if mask is not None:
        per_row = per_row * mask
    return per_row.sum(-1).view(K)


def _evaluate(stack, batches, sizes):
    """Mean loss and accuracy of each member on its fold's validation ``batches`` (``sizes`` rows per fold)."""
    K = stack.C * stack.F
    loss_sum = torch.zeros(K, device=sizes.device)
    correct = torch.zeros(K, device=sizes.device)
    stack.train(False)
    with torch.no_grad():
        for xb, yb, mask, _ in batches:
            logits = stack(xb)
            loss_sum += _member_losses(logits, yb, mask, stack.C)
            # max(1).indices: argmax over a middle dimension is about 15 times slower on the CPU
            right = (logits.max(1).indices.view(stack.C, *yb.shape) == yb).float()
            correct += (right if mask is None else right * mask).sum(-1).view(K)
    n = sizes.clamp(min=1).repeat(stack.C)
    return (loss_sum / n).tolist(), (correct / n).tolist()


def _progress(labels, epoch, epochs, train_loss, valid_acc, F_, seconds):
    accs = np.asarray(valid_acc, dtype=float).reshape(len(labels), F_).mean(1)
    valid = ""
    if np.isfinite(accs).all():
        shown = (", ".join(f"{label} {acc:.4f}" for label, acc in zip(labels, accs)) if len(labels) <= 4 else
                 f"{labels[int(np.argmax(accs))]} {accs.max():.4f} best, {labels[int(np.argmin(accs))]} "
                 f"{accs.min():.4f} worst")
        valid = f", valid acc {shown}"
    name = labels[0] if len(labels) == 1 else f"{len(labels)} candidates"
    log.info(f"  {name}: epoch {epoch}/{epochs}, train loss {np.nanmean(train_loss):.4f}{valid}, {seconds:.1f}s")


def train_stacked(nets, X, y, train_indices, record_dir, labels=None, fingerprints=None, rows=None, start=None,
                  until=None):
    """Train the fold models of one or more candidates together and write their fit records.

    Parameters
    ----------
    nets : list of src.training.net.Net
        The candidates (clones of the base net with their parameters set), all with the same
        `stack_key`; a single net is taken as a list of one.
    X, y : ndarray
        The whole training set given to GridSearchCV (``X`` may be a `src.data.rows.Rows`).
    train_indices : list of ndarray
        Each fold's training rows (from the CV splitter).
    record_dir : str
        Where the records go.
    labels : list of str, optional
        The candidates' names in the progress line printed after every epoch (none when None).
    fingerprints : list of str, optional
        The folds' `src.training.fit_records.data_fingerprint` values (computed when None).
    rows : list, optional
        The folds' `fold_rows` (computed when None).
    start : list of MemberState, optional
        Each member's state (member ``m = c * F + f``) after the epochs in its history: training
        goes on from there, the folds' batch orders drawn as they would have been.
    until : int, optional
        Stop after this epoch (default: the nets' ``max_epochs``); before ``max_epochs``, no
        record is written and the members' states are returned.

    Returns
    -------
    list of str, or list of MemberState
        The record keys written, candidate by candidate, fold by fold; or, when stopped before
        ``max_epochs``, every member's `MemberState` in the same order.
    """
    nets = [nets] if not isinstance(nets, (list, tuple)) else list(nets)
    net = nets[0]
    if net.threads:
        torch.set_num_threads(int(net.threads))
    torch.set_float32_matmul_precision(net.matmul_precision)
    device = torch.device(net.device)
    y = np.asarray(y)
    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    rows = fold_rows(net, y, train_indices) if rows is None else rows
    folds = [_fold_setup(net, idx, fp, r) for idx, fp, r in zip(train_indices, fingerprints, rows)]
    F_, C = len(folds), len(nets)
    K = C * F_
    modules = [_build(cand).to(device) for cand in nets for _ in folds]
    stack = Stack(modules, F_, device)
    settings = with_fused(net.optimizer, {"lr": net.lr, **net.get_params_for("optimizer")})
    optimizer = net.optimizer(stack.parameters(), **settings)
    rates = MemberRates(stack, [cand.lr for cand in nets], net.lr, net.optimizer, settings)
    # a candidate's loss scale, by which its optimizer state is scaled too (`member_states`)
    scales = None if rates.loss_scale is None else rates.loss_scale.view(-1).tolist()
    base, index = resolve(X)  # a `Rows` of every row is its matrix itself: no copy
    X_all = as_tensor(np.asarray(base if index is None else X, dtype=np.float32), device)
    Y_all = torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)
    probes = []
    callback = next((cb for _, cb in (net.callbacks or []) if isinstance(cb, diagnostics.Diagnostics)), None)
    for fold in folds if callback is not None else []:  # the rows the plain path's callback would pick
        chosen = diagnostics.probe_rows(len(fold["fit"]), callback.probe_size, callback.seed)
        rows = fold["fit"][torch.as_tensor(chosen)].to(device)
        probes.append((X_all[rows], Y_all[rows]))
    histories = [[] for _ in range(K)] if start is None else [[dict(row) for row in m.history] for m in start]
    first = len(histories[0]) + 1
    if start is not None:
        restore(stack, optimizer, start, scales)
        for fold in folds:  # the batch orders of the epochs already trained
            for _ in range(first - 1):
                torch.randperm(len(fold["fit"]), generator=fold["generator"])
    last = net.max_epochs if until is None else until
    sizes = torch.tensor([len(f["fit"]) for f in folds] * C, dtype=torch.float32, device=device)
    # the validation rows never change: gathered once, not every epoch
    valid_rows = [f["valid"] for f in folds]
    valid_sizes = torch.tensor([len(r) for r in valid_rows], dtype=torch.float32, device=device)
    eval_batch = net.get_params_for("iterator_valid").get("batch_size", net.batch_size)
    valid_batches = (list(_batches(X_all, Y_all, valid_rows, eval_batch, device, reuse=False))
                     if len(valid_rows[0]) else [])
    start_all = time.perf_counter()
    for epoch in range(first, last + 1):
        tic = time.perf_counter()
        orders = [f["fit"][torch.randperm(len(f["fit"]), generator=f["generator"])] for f in folds]
        loss_sum = torch.zeros(K, device=device)
        stack.train(True)
        for xb, yb, mask, counts in _batches(X_all, Y_all, orders, net.batch_size, device):
            optimizer.zero_grad()
            summed = _member_losses(stack(xb), yb, mask, C)
            objective = summed.view(C, F_) / counts.clamp(min=1)
            (objective if rates.loss_scale is None else objective * rates.loss_scale).sum().backward()
            rates.snapshot()
            optimizer.step()
            rates.rescale()
            loss_sum += summed.detach()
        train_loss = (loss_sum / sizes).tolist()
        valid_loss, valid_acc = (_evaluate(stack, valid_batches, valid_sizes) if valid_batches
                                 else ([np.nan] * K, [np.nan] * K))
        dur = time.perf_counter() - tic
        measured = ([diagnostics.measure(stack.member_module(m), *probes[m % F_], F.cross_entropy) for m in range(K)]
                    if probes else [{}] * K)
        for m in range(K):
            histories[m].append({"epoch": epoch, "train_loss": train_loss[m], "valid_loss": valid_loss[m],
                                 "valid_acc": valid_acc[m], "dur": dur / K, "lr": nets[m // F_].lr,
                                 **measured[m]})
        if labels is not None:
            _progress(labels, epoch, net.max_epochs, train_loss, valid_acc, F_, dur)
        if not np.isfinite(train_loss).any():
            break  # every member diverged: nothing left to learn
    seconds = [(time.perf_counter() - start_all) / K + (0.0 if start is None else start[m].seconds)
               for m in range(K)]
    if last < net.max_epochs:
        return member_states(stack, optimizer, histories, seconds, scales)
    return [write_record(record_dir, nets[m // F_], folds[m % F_]["data"], folds[m % F_]["n_train"],
                         stack.member_module(m).cpu(), histories[m], seconds[m], K) for m in range(K)]


def write_record(record_dir, cand, data, n_train, module, history, seconds, batched, halted_at=None):
    """Write a stacked member's fit record (and weights), as the plain path would; return its key.

    ``halted_at`` (epochs) marks a member that successive halving stopped at a rung (see
    `src.training.halving`); its history ends there.
    """
    key = fit_records.fit_key(cand, None, None, data)
    bad = [i for i, h in enumerate(history) if not np.isfinite(h["train_loss"])]
    if bad:  # as the plain path records it: stopped at the first epoch whose loss is not finite
        history = history[:bad[0] + 1]
    record = {"params": fit_records.fit_params(cand), "n_train": int(n_train), "data": data,
              "fit_seconds": seconds, "history": history, "batched": batched,
              "status": "diverged" if bad else "ok"}
    if halted_at is not None:
        record["halted_at"] = int(halted_at)
    if bad:
        record["error"] = str(Diverged.at(history[-1]["train_loss"], len(history)))
    fit_records.save(record_dir, key, record, module=None if bad else module)
    return key


def stack_candidates(net, param_grid, y, train_indices, rows):
    """The candidates of a grid that can be stacked, as ``(net, label)`` in grid order, and how many cannot."""
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    stacked, plain = [], 0
    for candidate in ParameterGrid(param_grid):
        cand = clone(net).set_params(**candidate)
        if stackable(cand) and same_batch_count(cand, y, train_indices, rows):
            stacked.append((cand, candidate_label(candidate)))
        else:
            plain += 1
    return stacked, plain


def pretrain(net, param_grid, X, y, train_indices, record_dir, cores=SERIAL, fingerprints=None):
    """Train every stackable candidate of a grid in stacks.

    Candidates whose fold records all exist are skipped; the others are grouped by
    `stack_key` and each group is trained as one stack with `train_stacked`, up to
    ``cores.n_jobs`` stacks at a time, sharing ``cores.cores`` threads. ``fingerprints`` are the folds'
    `src.training.fit_records.data_fingerprint` values when the caller has them (else computed here).

    Returns
    -------
    int
        How many candidates could not be stacked (GridSearchCV trains those fold by fold).
    """
    from joblib import Parallel, delayed

    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    rows = fold_rows(net, y, train_indices)
    stacked, plain = stack_candidates(net, param_grid, y, train_indices, rows)
    groups = {}
    for cand, label in stacked:
        if not all(fit_records.load(record_dir, fit_records.fit_key(cand, None, None, fingerprint))
                   for fingerprint in fingerprints):
            groups.setdefault(stack_key(cand), []).append((cand, label))
    for group in groups.values():  # the same activations side by side: they share their calls (`_runs`)
        group.sort(key=lambda item: str(item[0].module__activation))
    if groups:
        workers, threads = cores.split(len(groups))
        n = sum(len(group) for group in groups.values())
        log.info(f"grid: training {counted(n, 'candidate')} x {counted(len(train_indices), 'fold')} in "
                 f"{counted(len(groups), 'stack')}, {workers} at a time with {counted(threads, 'thread')} each")
        Parallel(n_jobs=workers)(
            delayed(train_stacked)([cand.set_params(threads=threads) for cand, _ in group], X, y, train_indices,
                                   record_dir, [label for _, label in group], fingerprints, rows)
            for group in groups.values())
    return plain
