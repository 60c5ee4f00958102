"""A stack's members one by one: their slices of the stacked parameters and optimizer state.

Between two rungs of successive halving each member's `MemberState` is taken out of its stack
(`member_states`) and put into the next one (`restore`), which may hold other candidates.
"""
from dataclasses import dataclass

import torch

from .stack import has_params, hidden_segments, linear_layers


@dataclass
class MemberState:
    """One member of a stack between two stretches of training (`src.training.loop`): all it needs to go on.

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
    random : Tensor, optional
        The state of its random-op generator (`src.model.randomness.fit_generator`); None: as seeded.
    """

    params: list
    optimizer: dict
    history: list
    seconds: float
    random: object = None


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


def member_states(stack, optimizer, histories, seconds, scales=None, generators=None):
    """Every member's `MemberState` (copies on the CPU), in member order.

    ``scales`` are the candidates' loss scales (`src.training.member_rates.MemberRates.scales`), or None: with them, the
    optimizer's state of shaped tensors (SGD's momentum, a sum of scaled gradients) is divided by
    the member's scale, so that a state is the member's own whatever stack it trained in, and
    `restore` can scale it for the next stack's reference rate. ``generators`` are the members'
    random-op generators, whose states the members keep (None: none kept).
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
                        history=[dict(row) for row in histories[m]], seconds=seconds[m],
                        random=None if generators is None else generators[m].get_state().clone())
            for m in range(len(pieces))]


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
    linears = linear_layers(module)
    own = [p for segment in hidden_segments(module) for layer in segment if has_params(layer)
           for _, p in layer.named_parameters()]
    with torch.no_grad():
        for i, layer in enumerate(linears):
            layer.weight.copy_(pieces[2 * i][0].t())
            layer.bias.copy_(pieces[2 * i + 1][0, 0])
        for p, piece in zip(own, pieces[2 * len(linears):], strict=True):
            p.copy_(piece[0])
    return module
