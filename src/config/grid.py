"""A grid's description: the candidates' parameters, checked against the network, and their aliases.

The registries (activations, the MLP) are imported when a grid is described, the way the
schema names its registries (`src.config.schema.registry`): this module imports only base modules.
"""
import importlib
import inspect
from dataclasses import dataclass, field

from ..errors import UserError
from ..params import GRID_KEYS, friendly


@dataclass(frozen=True)
class Grid:
    """What a grid search compares, described once from the config (`describe`).

    Attributes
    ----------
    config : dict
        The ``grid`` config as written (``activation: all`` included).
    tune : dict
        A tuned study's ``tune`` settings; empty for the fixed protocol.
    activations : list
        The activation specs the grid lists, ``all`` expanded to every registered activation.
    params : dict
        The scikit-learn ``param_grid`` of ``config`` and ``tune`` (skorch parameter names).
    aliases : dict
        Trained label -> the names listed under it (see `src.model.activations.distinct`).
    """

    config: dict
    tune: dict = field(default_factory=dict)
    activations: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    aliases: dict = field(default_factory=dict)

    @property
    def tuned(self):
        """The tuned settings' skorch parameter names."""
        return tuple(GRID_KEYS.get(k, k) for k in self.tune)

    @property
    def nuisance(self):
        """The tuned settings' short names (`src.params.friendly`)."""
        return [friendly(k) for k in self.tuned]


def _listed(values):
    return list(values) if isinstance(values, (list, tuple)) else [values]


def describe(grid, tune=None):
    """Describe a grid config: friendly keys to skorch names, ``activation: all`` expanded once.

    Parameters
    ----------
    grid : mapping
        E.g. ``{"activation": ["relu", "tanh"], "lr": [0.01, 0.1]}``. Keys are the names in
        `GRID_KEYS` or skorch parameter names (``optimizer__nesterov``); ``activation: all``
        means every registered activation.
    tune : mapping, optional
        A tuned study's settings, keyed as ``grid``.

    Returns
    -------
    Grid
    """
    if not grid:
        raise UserError("the grid is empty; give at least one parameter, e.g. grid.activation=[relu,tanh]")
    registry = importlib.import_module("src.model.activations")
    merged = {**grid, **(tune or {})}
    listed = merged.get("activation", [])
    specs = registry.available() if listed == "all" else _listed(listed)
    kept, aliases = registry.distinct(specs) if "activation" in merged else ([], {})
    params = {GRID_KEYS.get(key, key): kept if key == "activation" else _listed(values)
              for key, values in merged.items()}
    return Grid(config=dict(grid), tune=dict(tune or {}), activations=specs, params=params, aliases=aliases)


def check_grid(params, optimizer, model="mlp"):
    """Raise `UserError` for a grid parameter that the network ``model`` (a key of
    `src.model.networks.NETWORKS`) does not accept, or a layer kind it does not build."""
    networks = importlib.import_module("src.model.networks")
    module_args = set(inspect.signature(networks.module_class(model)).parameters)
    if "module__layer" in params and "layer" not in module_args:
        raise UserError(f"grid layer: model={model} has no layer kind to sweep (its layers are "
                        f"{', '.join(networks.NETWORKS[model].layers)}; gated layers are the MLP's, model=mlp)")
    for kind in params.get("module__layer", []):
        if kind not in networks.NETWORKS[model].layers:
            raise UserError(f"grid layer {kind!r}: gated layers are the MLP's (model=mlp); model={model} builds "
                            f"{', '.join(networks.NETWORKS[model].layers)}")
    optimizer_args = set(inspect.signature(optimizer).parameters)
    accepted = set(GRID_KEYS.values()) | {"lr", "batch_size", "max_epochs", "seed"}
    for key in params:
        prefix, _, name = key.partition("__")
        ok = (key in accepted or (prefix == "module" and name in module_args)
              or (prefix == "optimizer" and name in optimizer_args))
        if not ok:
            raise UserError(f"grid parameter {key!r} is not accepted by the network; use one of: "
                            f"{', '.join(sorted(GRID_KEYS))}, module__<network argument> or optimizer__<argument>")
    for size in params.get("module__hidden", []):
        if not size or any(int(s) <= 0 for s in (size if isinstance(size, (list, tuple)) else [size])):
            raise UserError(f"grid hidden sizes must be non-empty lists of positive ints, got {size!r}")
