"""The MLP: hidden layers from config, a fresh activation per layer, init per activation."""
import math

import torch
from torch import nn

from ..errors import choices_error
from . import activations


def lecun_normal_(weight, slope=0.0):
    """LeCun normal init: N(0, 1 / fan_in), as self-normalising networks require."""
    fan_in = weight.shape[1]
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


def uncompiled(module):
    """The module itself, or the one inside when ``torch.compile`` wrapped it."""
    return getattr(module, "_orig_mod", module)


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
        Dropout probability after each activation; SELU networks get AlphaDropout.
    init : str (default="auto")
        Weight init: a key of `INITS`, or ``auto`` for the activation's recipe.
    """

    def __init__(self, n_features=784, n_classes=10, hidden=(128, 64), activation="relu", dropout=0.0, init="auto"):
        super().__init__()
        name, _ = activations.parse(activation)
        entry = activations.entry(activation)
        self.init_scheme = resolve_init(init, activation)
        dropout_cls = nn.AlphaDropout if name == "selu" else nn.Dropout
        layers, width = [], n_features
        for size in hidden:
            layers += [nn.Linear(width, size), activations.build(activation, width=size)]
            if dropout > 0:
                layers.append(dropout_cls(dropout))
            width = size * entry.width_factor
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width, n_classes)
        self._initialise(INITS[self.init_scheme], activations.negative_slope(activation))

    def _initialise(self, init_fn, slope):
        if init_fn is None:
            return
        for layer in self.modules():
            if isinstance(layer, nn.Linear):
                init_fn(layer.weight, slope)
                nn.init.zeros_(layer.bias)

    def forward(self, X):
        return self.output(self.hidden(X))
