"""Normalisation layers by name (``model.norm``): one sits between each hidden Linear or convolution and its activation.

``batch`` normalises each unit (or channel) over the mini-batch, with running statistics for
evaluation (Ioffe and Szegedy 2015); ``layer`` normalises each row over its units (Ba et al. 2016),
and each image over its channels and positions (``GroupNorm`` with one group, the layer norm of a
feature map). Both learn a scale and a shift per unit or channel, initialised to 1 and 0.
"""
from dataclasses import dataclass
from typing import Callable, Optional

from torch import nn

from .networks import NO_NORM


@dataclass(frozen=True)
class Norm:
    """How one normalisation is built after a dense and after a convolutional layer.

    Attributes
    ----------
    dense : callable, optional
        ``dense(width)`` builds it for a Linear layer's ``(batch, width)`` outputs; None: no layer.
    conv : callable, optional
        ``conv(channels)`` builds it for a convolution's ``(batch, channels, height, width)`` outputs.
    """

    dense: Optional[Callable] = None
    conv: Optional[Callable] = None


NORMS = {
    NO_NORM: Norm(),  # no layer, the default: a network without one has the parameters (and fit keys) it always had
    "batch": Norm(nn.BatchNorm1d, nn.BatchNorm2d),
    "layer": Norm(nn.LayerNorm, lambda channels: nn.GroupNorm(1, channels)),
}


def dense(norm, width):
    """The layers (none, or one) that ``norm`` puts after a Linear layer of ``width`` outputs."""
    build = NORMS[norm].dense
    return [] if build is None else [build(width)]


def conv(norm, channels):
    """The layers (none, or one) that ``norm`` puts after a convolution of ``channels`` outputs."""
    build = NORMS[norm].conv
    return [] if build is None else [build(channels)]


def is_norm(layer):
    """Whether ``layer`` is one of the normalisation layers of `NORMS`."""
    return isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm))
