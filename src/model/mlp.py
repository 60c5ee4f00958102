"""The MLP: hidden layers from config, a fresh activation per layer, init per activation, an optional norm.

A hidden layer is a Linear followed by its activation (``layer="linear"``), or a gated linear
unit (``layer="glu"``): one Linear of twice the width whose halves ``a`` and ``b`` give
``activation(a) * b``; with SiLU that is SwiGLU, with GELU GeGLU (Shazeer 2020). The gated
network's hidden widths are scaled down so that its parameter count matches the plain one's.
"""
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from ..errors import choices_error
from . import activations, randomness
from . import norm as norms
from .networks import NO_NORM


def lecun_normal_(weight, slope=0.0):
    """LeCun normal init: N(0, 1 / fan_in), as self-normalising networks require.

    ``fan_in`` is the inputs of one output unit: a Linear's input width, a convolution's input
    channels times its kernel's area.
    """
    fan_in = weight[0].numel()
    with torch.no_grad():
        return weight.normal_(0.0, 1.0 / math.sqrt(fan_in))


# Scheme -> function(weight, slope) filling a Linear weight in place; ``slope`` is the
# activation's negative-side slope (`src.model.activations.negative_slope`), which sets the He gain
# sqrt(2 / (1 + slope**2)); the other schemes do not depend on it.
INITS = {
    "default": None,
    "kaiming_normal": lambda w, slope: nn.init.kaiming_normal_(w, a=slope, nonlinearity="leaky_relu"),
    "kaiming_uniform": lambda w, slope: nn.init.kaiming_uniform_(w, a=slope, nonlinearity="leaky_relu"),
    "xavier_normal": lambda w, slope: nn.init.xavier_normal_(w),
    "xavier_uniform": lambda w, slope: nn.init.xavier_uniform_(w),
    "lecun_normal": lecun_normal_,
    "orthogonal": lambda w, slope: nn.init.orthogonal_(w),
}


class Gated(nn.Module):
    """``activation(a) * b`` for the two halves ``[a, b]`` of its input's last axis.

    Parameters
    ----------
    activation : torch.nn.Module
        Applied to the first half (the gate).
    """

    def __init__(self, activation):
        super().__init__()
        self.activation = activation

    def forward(self, x):
        a, b = x.chunk(2, dim=-1)
        return self.activation(a) * b


@dataclass(frozen=True)
class Layer:
    """A kind of hidden layer.

    Attributes
    ----------
    widen : int
        Outputs of its Linear per unit of the layer (2 for a gated layer: gate and value).
    wrap : callable, optional
        Wraps the activation module (`Gated`); None applies it as it is.
    """

    widen: int = 1
    wrap: Optional[Callable] = None


LAYERS = {"linear": Layer(), "glu": Layer(widen=2, wrap=Gated)}


def count_params(n_features, n_classes, hidden, widen=1, width_factor=1):
    """The number of weights and biases of an MLP with these hidden widths.

    Parameters
    ----------
    n_features, n_classes : int
    hidden : sequence of int
        Hidden widths (units after each layer's activation).
    widen : int (default=1)
        `Layer.widen`.
    width_factor : int (default=1)
        Outputs of the activation per unit (2 for CReLU).

    Returns
    -------
    int
    """
    total, width = 0, n_features
    for size in hidden:
        total += (width + 1) * size * widen
        width = size * width_factor
    return total + (width + 1) * n_classes


def matched_widths(n_features, n_classes, hidden, widen, width_factor=1):
    """Hidden widths, all scaled by one factor, whose parameter count is closest to the plain MLP's.

    Parameters
    ----------
    n_features, n_classes : int
    hidden : sequence of int
        The plain MLP's widths.
    widen, width_factor : int
        See `count_params`.

    Returns
    -------
    list of int
        ``hidden`` itself when ``widen`` is 1.
    """
    hidden = [int(h) for h in hidden]
    if widen == 1:
        return hidden
    target = count_params(n_features, n_classes, hidden, 1, width_factor)
    scales = np.linspace(0.05, 1.0, 1901)
    candidates = [[max(1, int(round(s * h))) for h in hidden] for s in scales]
    errors = [abs(count_params(n_features, n_classes, c, widen, width_factor) - target) for c in candidates]
    return candidates[int(np.argmin(errors))]


def uncompiled(module):
    """The module itself, or the one inside when ``torch.compile`` wrapped it."""
    return getattr(module, "_orig_mod", module)


def dense_layers(width, sizes, activation, dropout, norm, widen=1, wrap=None):
    """Hidden dense layers of ``sizes`` after ``width`` inputs, and the width they leave: each a Linear (of
    ``size * widen`` outputs), its norm (`src.model.norm.dense`), a fresh activation (wrapped by ``wrap``: a gated
    layer's) and, with ``dropout``, dropout (alpha dropout for selu). The MLP's layers and the CNN's head."""
    name, _ = activations.parse(activation)
    width_factor = activations.entry(activation).width_factor
    dropout_cls = randomness.AlphaDropout if name == "selu" else randomness.Dropout
    layers = []
    for size in sizes:
        act = activations.build(activation, width=size)
        layers += [nn.Linear(width, size * widen), *norms.dense(norm, size * widen), act if wrap is None else wrap(act)]
        if dropout > 0:
            layers.append(dropout_cls(dropout))
        width = size * width_factor
    return layers, width


def initialise(module, scheme, activation):
    """Fill the weights of every Linear and convolution of ``module`` by ``scheme`` and zero their biases.

    Parameters
    ----------
    module : torch.nn.Module
    scheme : str
        A key of `INITS` (``default`` leaves PyTorch's own init).
    activation : str or mapping
        The activation spec, whose negative-side slope sets the He gain.
    """
    init_fn = INITS[scheme]
    if init_fn is None:
        return
    slope = activations.negative_slope(activation)
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            init_fn(layer.weight, slope)
            nn.init.zeros_(layer.bias)


def resolve_init(init, activation):
    """Return the init scheme name: ``init`` itself, or the activation's recipe for ``"auto"``."""
    if init == "auto":
        return activations.entry(activation).init
    if init not in INITS:
        raise choices_error("model.init", init, list(INITS) + ["auto"])
    return init


class MLP(nn.Module):
    """A fully connected classifier: Linear -> activation (-> dropout) per hidden layer.

    Parameters
    ----------
    n_features : int
        Input width (784 for MNIST).
    n_classes : int
        Number of output logits.
    hidden : sequence of int (default=(128, 64))
        Hidden layer widths.
    activation : str or mapping (default="relu")
        Activation spec; a fresh module is built for every layer, so learnable parameters
        (PReLU's slope, Swish's beta) are never shared between layers.
    dropout : float (default=0.0)
        Dropout probability after each activation; SELU networks get AlphaDropout. Both draw
        their masks from the fit's own generator (`src.model.randomness`).
    init : str (default="auto")
        Weight init: a key of `INITS`, or ``auto`` for the activation's recipe.
    layer : str (default="linear")
        A key of `LAYERS`: ``glu`` makes every hidden layer a gated linear unit, with the
        widths of `matched_widths`.
    norm : str (default="none")
        A key of `src.model.norm.NORMS`: the normalisation between each hidden Linear and its
        activation (over the Linear's outputs: both halves of a gated layer).
    """

    def __init__(self, n_features=784, n_classes=10, hidden=(128, 64), activation="relu", dropout=0.0, init="auto",
                 layer="linear", norm=NO_NORM):
        super().__init__()
        entry = activations.entry(activation)
        kind = LAYERS[layer]
        self.init_scheme = resolve_init(init, activation)
        widths = matched_widths(n_features, n_classes, hidden, kind.widen, entry.width_factor)
        layers, width = dense_layers(n_features, widths, activation, dropout, norm, kind.widen, kind.wrap)
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, n_classes)
        initialise(self, self.init_scheme, activation)

    def forward(self, X):
        return self.output(self.hidden(X))
