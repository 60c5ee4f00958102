"""The stacked model: C candidates x F folds = K members, trained as one.

Member ``m = c * F + f`` is candidate c on fold f. The candidates of a fold share its
mini-batches, so the first layer is one wide product per fold; later layers are batched
products over all members; each candidate applies its own activation (and dropout) to its
slice. Weights are stacked as ``(in, out)`` matrices, the layout whose gradient the batched
product writes without a transposed copy.
"""
import torch

from ..model.randomness import Seeded


def linear_layers(module):
    """The module's Linear layers, in order."""
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def hidden_segments(module):
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


class MemberRandom:
    """A layer that draws random numbers (`src.model.randomness.Seeded`) at one position of a candidate.

    Each fold's member applies its own layer, drawing from its own fit's generator, to its rows
    of the candidate's slice ``(F, batch, width)``: the draws a fold's member makes are the
    ones its fit makes alone on the same rows, whatever trains beside it.

    Parameters
    ----------
    members : list of torch.nn.Module
        The layer of each fold's member, in fold order.
    """

    def __init__(self, members):
        self.members = members
        self.rows = None  # each fold's real rows in this step (`Stack.real_rows`); None: every row

    def __call__(self, h):
        if self.rows is None or not self.members[0].training:
            return torch.stack([layer(h[f]) for f, layer in enumerate(self.members)])
        # a fold's padding rows draw nothing, so that its member draws what its fit would
        out = h.clone()
        for f, (layer, n) in enumerate(zip(self.members, self.rows)):
            out[f, :n] = layer(h[f, :n])
        return out


def has_params(layer):
    """Whether a layer holds parameters (a learnable activation)."""
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
# each member keeps its own random stream.
RANDOM = (torch.nn.Dropout, torch.nn.AlphaDropout, torch.nn.RReLU, MemberRandom)


def _share_key(layers):
    """What lets candidates apply their layers at one position as one call: the same layers,
    without parameters and without randomness (None: the candidate's own call)."""
    if any(isinstance(layer, (MemberParams, *RANDOM)) or has_params(layer) for layer in layers):
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
        layers = [linear_layers(m) for m in modules]
        first = [[layers[c * self.F + f][0] for c in range(self.C)] for f in range(self.F)]
        weights = [torch.stack([torch.cat([lin.weight.detach().t() for lin in row], 1) for row in first])]
        biases = [torch.stack([torch.cat([lin.bias.detach() for lin in row]) for row in first]).unsqueeze(1)]
        for i in range(1, len(layers[0])):
            weights.append(torch.stack([member[i].weight.detach().t() for member in layers]))
            biases.append(torch.stack([member[i].bias.detach() for member in layers]).unsqueeze(1))
        self.weights = [w.to(device).contiguous().requires_grad_() for w in weights]
        self.biases = [b.to(device).contiguous().requires_grad_() for b in biases]
        self.segments = [hidden_segments(modules[c * self.F]) for c in range(self.C)]
        self.learnable = []  # (candidate, MemberParams)
        for c, segments in enumerate(self.segments):
            members = [hidden_segments(modules[c * self.F + f]) for f in range(self.F)]
            for i, layers in enumerate(segments):
                for j, layer in enumerate(layers):
                    if has_params(layer):
                        layers[j] = MemberParams([member[i][j] for member in members], device)
                        self.learnable.append((c, layers[j]))
                    elif isinstance(layer, Seeded):
                        layers[j] = MemberRandom([member[i][j] for member in members])
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
        for module in self.modules:  # every member's: each applies its own random layers
            module.train(mode)

    def __call__(self, x):
        return _forward(self.weights, self.biases, self.runs, x, self.C)

    def real_rows(self, counts):
        """Tell the random layers each fold's real rows in the next step (``counts``, ``(F,)``; None: all)."""
        rows = None if counts is None else [int(n) for n in counts.tolist()]
        for segments in self.segments:
            for layers in segments:
                for layer in layers:
                    if isinstance(layer, MemberRandom):
                        layer.rows = rows

    def member_module(self, m):
        """Member ``m``'s own module, holding its current weights (on the CPU side it was built on)."""
        c, f = divmod(m, self.F)
        module = self.modules[m]
        with torch.no_grad():
            for i, layer in enumerate(linear_layers(module)):
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

