"""From a composed Hydra config to checked, plain arguments (and one-line errors)."""
import importlib

import hydra
import torch
from omegaconf import OmegaConf

from .errors import UserError, choices_error
from .model import activations
from .model.mlp import INITS
from .training.net import MATMUL_PRECISIONS

ALLOWED_TARGETS = ("torch.optim.", "torch.nn.", "src.")
MODES = ("single", "grid")


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
    if OmegaConf.is_dict(node):
        for key, value in node.items_ex(resolve=False):
            if key == "_target_":
                yield value
            else:
                yield from _targets(value)
    elif OmegaConf.is_list(node):
        for value in node:
            yield from _targets(value)


def optimizer_settings(opt_cfg):
    """Turn the optimizer config into skorch's ``(optimizer, lr, optimizer_kwargs)``.

    The config is built with `hydra.utils.instantiate` as a partial (after its ``_target_``
    passed `check_target`); the bound keywords become ``optimizer__*`` parameters so that
    a grid can sweep them like any other skorch parameter.
    """
    target = opt_cfg.get("_target_")
    cls = check_target(target)
    if not (target.startswith("torch.optim.") and isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise UserError(f"optimizer._target_ must be a torch.optim optimizer class, got {target!r}")
    partial = hydra.utils.instantiate(opt_cfg)
    kwargs = dict(partial.keywords)
    lr = kwargs.pop("lr", None)
    if lr is None or not lr > 0:
        raise UserError(f"optimizer.lr must be > 0, got {lr}")
    for key in ("momentum", "weight_decay"):
        if key in kwargs and not kwargs[key] >= 0:
            raise UserError(f"optimizer.{key} must be >= 0, got {kwargs[key]}")
    return partial.func, lr, kwargs


def _positive_int(value, key):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UserError(f"{key} must be a positive integer, got {value!r}")
    return value


def check_hidden(hidden):
    """Return hidden sizes as a list of positive ints, or raise `UserError`."""
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = [hidden]
    hidden = list(hidden) if hidden is not None else []
    if not hidden:
        raise UserError("model.hidden must list at least one layer size, e.g. model.hidden=[128,64]")
    for size in hidden:
        _positive_int(size, "every size in model.hidden")
    return hidden


def check_dropout(dropout):
    """Raise `UserError` unless ``0 <= dropout < 1``."""
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise UserError(f"model.dropout must be in [0, 1), got {dropout!r}")
    return float(dropout)


def n_jobs(value):
    """Resolve ``cv.n_jobs``: ``auto`` is one process per core, else a positive int."""
    if value == "auto":
        from .modes.jobs import available_cores

        return available_cores()
    return _positive_int(value, "cv.n_jobs")


def data_args(cfg):
    """Plain keyword arguments for `src.data.datasets.load`."""
    from .data.datasets import LOADERS, STANDARDIZERS

    subset = cfg.data.subset
    if subset is not None:
        _positive_int(subset, "data.subset")
    if cfg.data.name not in LOADERS:
        raise choices_error("dataset", cfg.data.name, LOADERS)
    if cfg.data.standardize not in STANDARDIZERS:
        raise choices_error("data.standardize", cfg.data.standardize, STANDARDIZERS)
    return dict(name=cfg.data.name, root=cfg.data.root, subset=subset, standardize=cfg.data.standardize,
                seed=cfg.seed, download=cfg.data.download)


def net_args(cfg, device):
    """Plain keyword arguments for `src.training.net.make_net` (everything but the data's shape)."""
    optimizer, lr, optimizer_kwargs = optimizer_settings(cfg.optimizer)
    train = cfg.train
    valid_fraction = train.valid_fraction
    if not 0 <= valid_fraction < 1:
        raise UserError(f"train.valid_fraction must be in [0, 1), got {valid_fraction}")
    if cfg.model.init != "auto" and cfg.model.init not in INITS:
        raise choices_error("model.init", cfg.model.init, list(INITS) + ["auto"])
    if train.matmul_precision not in MATMUL_PRECISIONS:
        raise choices_error("train.matmul_precision", train.matmul_precision, MATMUL_PRECISIONS)
    return dict(
        hidden=check_hidden(cfg.model.hidden),
        activation=activations.label(to_plain(cfg.activation)),
        dropout=check_dropout(cfg.model.dropout),
        init=cfg.model.init,
        optimizer=optimizer,
        lr=lr,
        optimizer_kwargs=optimizer_kwargs,
        epochs=_positive_int(train.epochs, "train.epochs"),
        batch_size=_positive_int(train.batch_size, "train.batch_size"),
        valid_fraction=valid_fraction,
        seed=cfg.seed,
        device=device,
        threads=train.threads,
        early_stopping=train.early_stopping,
        lr_scheduler=to_plain(train.lr_scheduler),
        compile=bool(train.compile),
        matmul_precision=train.matmul_precision,
        verbose=train.verbose,
    )


def mode_args(cfg):
    """Keyword arguments specific to the configured mode."""
    return MODE_ARGS[cfg.mode](cfg)


def grid_args(cfg):
    """Keyword arguments of `src.modes.grid.run_grid`, checked."""
    from .modes.grid import JOBLIB_BACKENDS, check_grid, make_cv, param_grid

    grid = to_plain(cfg.grid)
    params = param_grid(grid)
    check_grid(params, optimizer_settings(cfg.optimizer)[0])
    make_cv(cfg.cv.folds, cfg.cv.repeats, cfg.seed)
    if cfg.search.backend not in JOBLIB_BACKENDS:
        raise choices_error("search.backend", cfg.search.backend, JOBLIB_BACKENDS)
    return dict(grid=grid, folds=cfg.cv.folds, repeats=cfg.cv.repeats, refit=bool(cfg.cv.refit),
                n_jobs=n_jobs(cfg.cv.n_jobs), batched=bool(cfg.cv.batched), backend=cfg.search.backend,
                scheduler=cfg.search.scheduler, claim=to_plain(cfg.get("claim")))


MODE_ARGS = {"single": lambda cfg: {}, "grid": grid_args}


def validate(cfg):
    """Check everything that can be checked before any data is loaded or file written.

    Returns
    -------
    (dict, dict, dict)
        Keyword arguments for `src.training.net.make_net`, `src.data.datasets.load` and the mode's function.
    """
    if cfg.mode not in MODES:
        raise choices_error("mode", cfg.mode, MODES)
    for key in cfg:
        if key != "hydra":
            for target in _targets(cfg[key]):
                check_target(target)
    from .training.net import resolve_device

    return net_args(cfg, resolve_device(cfg.device)), data_args(cfg), mode_args(cfg)


def to_plain(node):
    """Convert an OmegaConf node to plain Python containers; leave other values alone."""
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node
