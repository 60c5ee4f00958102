"""From a composed Hydra config to checked settings objects and plain keyword arguments (and one-line errors)."""
import importlib
import json

import hydra
import torch
from omegaconf import OmegaConf

from .config import schema
from .config.grid import check_grid, describe
from .cores import plan_cores
from .errors import UserError
from .data.datasets import image_shape
from .model import activations
from .model.networks import NETWORKS, NO_NORM
from .modes.search_settings import SearchSettings
from .training.settings import Compute, NetSettings, Network, Optimization, Training

_CHECKED = set()  # the configs (as resolved YAML) this process has checked

ALLOWED_TARGETS = ("torch.optim.", "torch.nn.", "src.")


def check_target(target):
    """Refuse a ``_target_`` outside torch.optim, torch.nn and this project's modules.

    Returns
    -------
    object
        What the target names (a class or function).
    """
    if not isinstance(target, str) or not target.startswith(ALLOWED_TARGETS):
        raise UserError(f"refusing to build {target!r} from a config: _target_ must start with "
                        f"one of {', '.join(ALLOWED_TARGETS)}")
    module, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise UserError(f"_target_ {target!r} does not exist") from None


def _targets(node):
    """Every ``_target_`` value in a plain container, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "_target_":
                yield value
            else:
                yield from _targets(value)
    elif isinstance(node, list):
        for value in node:
            yield from _targets(value)


def optimizer_settings(opt_cfg):
    """Turn the optimizer config into skorch's ``(optimizer, lr, optimizer_kwargs)``.

    The config is built with `hydra.utils.instantiate` as a partial (after its ``_target_``
    passed `check_target`); the bound keywords become ``optimizer__*`` parameters so that
    a grid can sweep them like any other skorch parameter. Their ranges are the schema's.
    """
    target = opt_cfg.get("_target_")
    cls = check_target(target)
    if not (target.startswith("torch.optim.") and isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise UserError(f"optimizer._target_ must be a torch.optim optimizer class, got {target!r}")
    partial = hydra.utils.instantiate(opt_cfg)
    kwargs = dict(partial.keywords)
    lr = kwargs.pop("lr")
    return partial.func, lr, kwargs


def data_args(cfg):
    """Plain keyword arguments for `src.data.datasets.load`."""
    return dict(name=cfg.data.name, root=cfg.data.root, subset=cfg.data.subset, standardize=cfg.data.standardize,
                seed=cfg.seed, download=cfg.data.download)


def net_args(cfg, device, threads):
    """The settings of `src.training.net.make_net` (everything but the data's shape), built once."""
    optimizer, lr, optimizer_kwargs = optimizer_settings(cfg.optimizer)
    train = cfg.train
    return NetSettings(
        network=Network(model=cfg.model.name, hidden=list(cfg.model.hidden),
                        activation=activations.label(to_plain(cfg.activation)), dropout=cfg.model.dropout,
                        init=cfg.model.init, layer=cfg.model.layer, module_kwargs=module_args(cfg)),
        optimization=Optimization(optimizer=optimizer, lr=lr, optimizer_kwargs=optimizer_kwargs,
                                  lr_scheduler=to_plain(train.lr_scheduler)),
        training=Training(epochs=train.epochs, batch_size=train.batch_size, valid_fraction=train.valid_fraction,
                          early_stopping=train.early_stopping, seed=cfg.seed, split_seeds=cfg.cv.split_seeds,
                          checkpoint_every=train.checkpoint_every, verbose=train.verbose),
        compute=Compute(device=device, threads=threads, compile=train.compile,
                        matmul_precision=train.matmul_precision),
    )


# model keys that `src.training.settings.Network` holds by name (``name`` as its ``model``); the others are the
# network's own (its ``module_kwargs``)
NET_MODEL_KEYS = ("name", "hidden", "dropout", "init", "layer")


def module_args(cfg):
    """The network's own arguments (`make_net`'s ``module_kwargs``).

    The model keys that `Network` does not hold by name (a CNN's channels, kernel size and
    pooling; the norm), and the data set's image shape for a network that reads images. A norm
    of ``none`` is the networks' default and is left out, so that a fit without one keeps the
    record key it had before norms existed (a killed study resumes).
    """
    found = {k: v for k, v in to_plain(cfg.model).items()
             if k not in NET_MODEL_KEYS and not (k == "norm" and v == NO_NORM)}
    if NETWORKS[cfg.model.name].image:
        found["image_shape"] = list(image_shape(cfg.data.name))
    return found


def check_network(cfg):
    """Refuse, before any data are loaded, a network that cannot read the data set's images: a CNN whose
    blocks pool them below one pixel (`src.model.cnn.feature_shape`)."""
    if NETWORKS[cfg.model.name].image:
        from .model.cnn import feature_shape

        feature_shape(image_shape(cfg.data.name), list(cfg.model.channels), cfg.model.pool)


def grid_of(cfg):
    """The grid a config compares (`src.config.grid.describe`), described once; None in single mode."""
    if cfg.mode != "grid":
        return None
    return describe(to_plain(cfg.grid), to_plain(cfg.tune) if cfg.protocol == "tuned" else {})


def grid_args(cfg, cores, grid):
    """Keyword arguments of `src.modes.grid.run_grid` (its ``search`` settings), given the job's plan of cores
    and its grid."""
    return {"search": SearchSettings(
        grid=grid, folds=cfg.cv.folds, repeats=cfg.cv.repeats, inits=cfg.cv.inits, refit=cfg.cv.refit,
        cores=cores, batched=cfg.cv.batched, backend=cfg.search.backend, scheduler=cfg.search.scheduler,
        claim=to_plain(cfg.claim), alpha=cfg.stats.alpha, margin=cfg.stats.margin,
        halving=dict(eta=cfg.search.eta, min_epochs=cfg.search.min_epochs) if cfg.search.halving else None)}


MODE_ARGS = {"single": lambda cfg, cores, grid: {}, "grid": grid_args}


def validate(cfg):
    """Check everything that can be checked before any data is loaded or file written.

    The schema (`src.config.schema.check`) checks every key's range or choices; then every
    ``_target_`` must pass `check_target`, and in grid mode the grid must suit the network.
    A config is checked once per process: the job that the preflight (`src.preflight`) checked
    before Hydra started only turns it into arguments. The job's grid and its plan of cores
    (`src.cores.plan_cores`) are made here, once, and passed down.

    Returns
    -------
    (src.training.settings.NetSettings, dict, dict)
        The settings of `src.training.net.make_net`, keyword arguments of `src.data.datasets.load` and of
        the mode's function.
    """
    checked = _identity(cfg)
    first = checked is None or checked not in _CHECKED  # else the preflight checked it in this process
    if first:
        schema.check(cfg)
        for key in cfg:
            if key != "hydra":
                for target in _targets(_without_activations(key, to_plain(cfg[key]))):
                    check_target(target)
    grid = grid_of(cfg)
    if first:
        check_activations(cfg, grid)
        check_network(cfg)
        if grid is not None:
            check_grid(grid.params, optimizer_settings(cfg.optimizer)[0], cfg.model.name)
        _CHECKED.add(checked)
    from .training.net import resolve_device

    device = resolve_device(cfg.device)
    cores = plan_cores(cfg.train.threads, cfg.cv.n_jobs if grid is not None else 1, device=device)
    return net_args(cfg, device, cores.threads), data_args(cfg), MODE_ARGS[cfg.mode](cfg, cores, grid)


def _identity(cfg):
    """The config's keys but ``hydra``, resolved, as one string; None when they do not resolve."""
    try:
        return json.dumps({key: to_plain(cfg[key]) for key in cfg if key != "hydra"}, sort_keys=True, default=str)
    except Exception:  # an interpolation that only resolves inside a job: the config is checked every time
        return None


def _without_activations(key, node):
    """A config node without its activation specs, whose ``_target_`` names the user's own class."""
    if key == "activation":
        return None
    if key == "grid" and isinstance(node, dict):
        return {k: v for k, v in node.items() if k != "activation"}
    return node


def check_activations(cfg, grid=None):
    """Check the contract of every user's activation (given by import path) that the config trains:
    ``activation``, and the ``grid``'s (a `src.config.grid.Grid`).

    See `src.model.contract.check`: one line naming the activation and what failed.
    """
    from .model import contract

    for spec in [to_plain(cfg.activation), *(grid.activations if grid else [])]:
        if activations.imported(spec):
            contract.check(spec)


def to_plain(node):
    """Convert an OmegaConf node to plain Python containers; leave other values alone."""
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node
