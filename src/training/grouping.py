"""Which candidates of a grid train together in one stack, and the folds' rows they share."""
import json

import numpy as np
from skorch.callbacks import EarlyStopping, LRScheduler

from ..model import networks
from ..params import candidate_label
from . import fit_records
from .stack import linear_layers

# Parameters in which candidates of one stack may differ: they change a member's start, its
# activations or the size of its steps (`src.training.member_rates`), not the shapes or the
# schedule of the arithmetic.
FREE_IN_STACK = ("module__activation", "module__init", "module__dropout", "lr")


def stackable(net):
    """Whether a (configured, unfitted) net can be trained in a stack.

    A stack holds MLPs without a norm (`src.model.networks.stacks`): a CNN, or a network with a
    norm, takes the plain path, as do candidates with early stopping or an LR schedule, which act per fit.
    """
    network = networks.name_of(net.module)
    norm = net.get_params_for("module").get("norm", networks.NO_NORM)
    return networks.stacks(network, norm) and not any(
        isinstance(cb, (EarlyStopping, LRScheduler)) for _, cb in (net.callbacks or []))


def stack_key(net):
    """Candidates with equal keys can share one stack: the same settings but for `FREE_IN_STACK`
    and the same layer shapes."""
    params = {k: v for k, v in fit_records.fit_params(net).items() if k not in FREE_IN_STACK}
    shapes = [list(layer.weight.shape) for layer in linear_layers(net.module(**net.get_params_for("module")))]
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

