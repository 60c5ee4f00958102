"""The settings of a network and its training, as four typed objects built once from the validated config.

`src.validate.net_args` builds a `NetSettings` from the composed config; `src.training.net.make_net`,
the search's plan and the step cost read it. Each part holds one kind of setting: what the network is
(`Network`), how it is optimised (`Optimization`), how a fit runs (`Training`) and where its arithmetic
runs (`Compute`). Every field name is unique across the parts, so that `NetSettings.of` and
`NetSettings.replace` take them by name, wherever they live.
"""
import dataclasses
import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import UserError
from ..model import networks


@dataclass(frozen=True)
class Network:
    """What the network is.

    Parameters
    ----------
    model : str (default="mlp")
        A key of `src.model.networks.NETWORKS`.
    hidden : sequence of int (default=(128, 64))
        Hidden widths (a CNN's dense head).
    activation : str or mapping (default="relu")
        An activation's name, label or spec (`src.model.activations`).
    dropout : float (default=0.0)
    init : str (default="auto")
        A key of the init schemes (`src.model.mlp`); ``auto`` picks the activation's recipe.
    layer : str (default="linear")
        ``linear`` or ``glu`` (gated hidden layers, the MLP's).
    module_kwargs : dict
        The network's other arguments: a CNN's channels, kernel size, pooling and image shape; a norm
        (``none`` is left out, so that a fit without one keeps its record key).
    """

    model: str = "mlp"
    hidden: Any = (128, 64)
    activation: Any = "relu"
    dropout: float = 0.0
    init: str = "auto"
    layer: str = "linear"
    module_kwargs: dict = field(default_factory=dict)

    def module_args(self, n_features, n_classes):
        """The network's constructor arguments (skorch's ``module__*`` parameters): those of the data's shape and
        the settings every network may take that its module takes, then its own (``module_kwargs``).

        A network that reads a row as an image (a CNN) takes its image shape instead of its width, and
        the two must agree: else a `src.errors.UserError` in one line.
        """
        module = networks.module_class(self.model)
        shape = self.module_kwargs.get("image_shape")
        if shape is not None and math.prod(shape) != n_features:
            raise UserError(f"the {self.model} reads rows of {n_features} features as "
                            f"{'x'.join(map(str, shape))} images, which hold {math.prod(shape)}")
        args = {"n_features": n_features, "n_classes": n_classes, "hidden": list(self.hidden),
                "activation": self.activation, "dropout": self.dropout, "init": self.init, "layer": self.layer}
        takes = inspect.signature(module).parameters
        return {**{name: value for name, value in args.items() if name in takes}, **self.module_kwargs}


@dataclass(frozen=True)
class Optimization:
    """How the network is optimised.

    Parameters
    ----------
    optimizer : type (default=torch.optim.SGD)
        A ``torch.optim`` class.
    lr : float (default=0.01)
    optimizer_kwargs : dict
        Its other arguments (skorch's ``optimizer__*`` parameters, so that a grid can sweep them).
    lr_scheduler : mapping, optional
        ``{"policy": "StepLR", **kwargs}`` for skorch's `LRScheduler`; None: a constant rate.
    """

    optimizer: type = torch.optim.SGD
    lr: float = 0.01
    optimizer_kwargs: dict = field(default_factory=dict)
    lr_scheduler: Any = None


@dataclass(frozen=True)
class Training:
    """How a fit runs.

    Parameters
    ----------
    epochs, batch_size : int (default=25, 128)
    valid_fraction : float (default=0.2)
        Size of the stratified validation split; 0 trains on everything.
    early_stopping : int, optional
        Patience on the validation loss.
    seed : int (default=0)
        The study's seed; also the validation split's.
    split_seeds : bool (default=True)
        Each split's fits train from their own seed (`src.training.net.Net`); False: from ``seed``.
    checkpoint_every : int (default=0)
        Epochs between a fit's checkpoints (not part of its key); 0 writes none.
    verbose : int (default=1)
        1 logs a line per epoch; 0 is silent.
    """

    epochs: int = 25
    batch_size: int = 128
    valid_fraction: float = 0.2
    early_stopping: Any = None
    seed: int = 0
    split_seeds: bool = True
    checkpoint_every: int = 0
    verbose: int = 1


@dataclass(frozen=True)
class Compute:
    """Where a fit's arithmetic runs.

    Parameters
    ----------
    device : {"cpu", "cuda"} (default="cpu")
    threads : int, optional
        ``torch.set_num_threads`` for each fit; None leaves torch's setting alone.
    compile : bool (default=False)
        Compile the module with ``torch.compile`` (skorch's ``compile`` option).
    matmul_precision : {"highest", "high", "medium"} (default="highest")
        ``torch.set_float32_matmul_precision`` for each fit; part of every fit's record key.
    """

    device: str = "cpu"
    threads: Any = None
    compile: bool = False
    matmul_precision: str = "highest"


PARTS = {"network": Network, "optimization": Optimization, "training": Training, "compute": Compute}
# field name -> the part that holds it
OWNER = {f.name: part for part, cls in PARTS.items() for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class NetSettings:
    """Everything `src.training.net.make_net` needs but the data's shape: one object of each part."""

    network: Network = field(default_factory=Network)
    optimization: Optimization = field(default_factory=Optimization)
    training: Training = field(default_factory=Training)
    compute: Compute = field(default_factory=Compute)

    @classmethod
    def of(cls, **values):
        """The defaults with ``values`` (field names of any part) in place of theirs."""
        return cls().replace(**values)

    def replace(self, **values):
        """A copy with ``values`` (field names of any part) in place of these; an unknown name is a TypeError."""
        unknown = sorted(set(values) - set(OWNER))
        if unknown:
            raise TypeError(f"unknown net settings {unknown}; known: {', '.join(sorted(OWNER))}")
        changed = {}
        for name, value in values.items():
            changed.setdefault(OWNER[name], {})[name] = value
        return dataclasses.replace(self, **{part: dataclasses.replace(getattr(self, part), **new)
                                            for part, new in changed.items()})
