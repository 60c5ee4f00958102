"""The networks by name (``model=NAME``): one dict, read without importing torch.

The config's schema reads it before torch is imported (the halving rule asks whether a network
trains in stacks), so each network names its module by import path, imported when it is built.
"""
import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Network:
    """A network and what the rest of the project needs to know about it.

    Attributes
    ----------
    module : str
        ``module:Class``, the ``torch.nn.Module`` that skorch builds.
    stacks : bool
        Whether its candidates can train in stacks (`src.training.stack` stacks Linear layers
        only); the others train fit by fit.
    image : bool
        Whether it reads a row as an image: it is given the data set's image shape.
    layers : tuple of str
        The ``model.layer`` kinds it builds (`src.model.mlp.LAYERS`).
    words : callable
        Its architecture (a `record`) in words, for the reports' method text.
    """

    module: str
    stacks: bool
    image: bool
    layers: tuple
    words: Callable


NO_NORM = "none"  # ``model.norm``'s value for no normalisation layer (`src.model.norm.NORMS`)
NORM_WORDS = {"batch": "batch norm", "layer": "layer norm"}


def _listed(numbers):
    """``128``, ``128 and 64``, ``128, 64, 32``."""
    return (" and " if len(numbers) < 3 else ", ").join(map(str, numbers))


def _units(widths):
    return f"{_listed(widths)} units"


def _mlp_words(record):
    gated = " (gated linear units)" if record.get("layer") == "glu" else ""
    return f"an MLP (hidden layers of {_units(record.get('hidden', []))}{gated})"


def _cnn_words(record):
    channels, kernel, pool = record.get("channels", []), record.get("kernel_size"), record.get("pool")
    pooling = f", {pool}x{pool} max pooling" if pool and pool > 1 else ""
    return (f"a CNN ({len(channels)} convolution blocks of {_listed(channels)} channels, "
            f"{kernel}x{kernel} kernels{pooling}; a dense head of {_units(record.get('hidden', []))})")


NETWORKS = {
    "mlp": Network("src.model.mlp:MLP", stacks=True, image=False, layers=("linear", "glu"), words=_mlp_words),
    "cnn": Network("src.model.cnn:CNN", stacks=False, image=True, layers=("linear",), words=_cnn_words),
}


def module_class(name):
    """The module class of the network ``name``."""
    path, _, attr = NETWORKS[name].module.partition(":")
    return getattr(importlib.import_module(path), attr)


def name_of(module):
    """The name of a network's module class or instance (None for a module that is no network of `NETWORKS`)."""
    module = module if isinstance(module, type) else type(module)
    path = f"{module.__module__}:{module.__qualname__}"
    return next((name for name, network in NETWORKS.items() if network.module == path), None)


def stacks(name, norm=NO_NORM):
    """Whether candidates of the network ``name`` with ``norm`` can train in stacks: a network that stacks,
    without a normalisation layer (a stack has no place for one: its members train on their own rows in one
    product, and a norm would need each member's statistics over its own rows)."""
    return name in NETWORKS and NETWORKS[name].stacks and norm == NO_NORM


# a network's arguments that make its architecture (its `record`)
ARCHITECTURE = ("hidden", "layer", "norm", "channels", "kernel_size", "pool")


def record(module, params):
    """A network's name and architecture as plain data (what ``search.json`` keeps of it).

    Parameters
    ----------
    module : type
        The network's module class.
    params : dict
        Its arguments (a skorch net's ``get_params_for("module")``).

    Returns
    -------
    dict
        ``name`` and the arguments of `ARCHITECTURE` it was given.
    """
    found = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items() if k in ARCHITECTURE}
    return {"name": name_of(module), **found}


def describe(record):
    """A network's `record` in words, e.g. ``an MLP (hidden layers of 128 and 64 units)``, with its norm;
    empty for no record (a study written before networks were recorded)."""
    network = NETWORKS.get((record or {}).get("name"))
    if network is None:
        return ""
    norm = record.get("norm", NO_NORM)
    return network.words(record) + (f" with {NORM_WORDS.get(norm, norm)} before each activation"
                                    if norm != NO_NORM else "")
