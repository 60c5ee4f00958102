"""The rules between config keys, checked after each key passed its own (`src.config.schema.check`).

Each rule is a function of the composed config that raises `src.errors.UserError` with one line; none
needs a registry that imports torch.
"""
import importlib

from ..errors import UserError


def check_across(cfg):
    """Rules between keys, checked after each key passed its own (no registry needed): those of `ACROSS`."""
    for rule in ACROSS:
        rule(cfg)


def _tuned_rules(cfg):
    """``protocol=tuned`` needs grid mode, a validation split to choose on, and settings to tune
    that the grid does not also sweep."""
    if cfg.protocol != "tuned":
        return
    if cfg.mode != "grid":
        raise UserError("protocol=tuned compares activations by cross-validation: it needs mode=grid")
    if not cfg.train.valid_fraction:
        raise UserError("protocol=tuned chooses each setting on the fits' validation split: "
                        "train.valid_fraction must be above 0")
    if not cfg.tune:
        raise UserError("protocol=tuned needs at least one setting to tune, e.g. tune.lr=[0.003,0.01,0.03,0.1]")
    if all(len(values) == 1 for values in cfg.tune.values()):
        given = ", ".join(f"tune.{name}={list(values)}" for name, values in cfg.tune.items())
        raise UserError(f"protocol=tuned chooses among two or more values of a tune setting; {given} leaves nothing "
                        f"to choose: list more values, or run protocol=fixed at that setting")
    both = sorted(set(cfg.tune) & set(cfg.grid))
    if both:
        raise UserError(f"{both[0]} is listed both under grid and under tune; a tuned study compares the grid's "
                        f"activations and tunes the tune settings for each")


def _stacked_network(cfg):
    """Whether every candidate's network trains in stacks (`src.model.networks.stacks`): the configured one, and
    no norm swept by the grid."""
    networks = importlib.import_module("src.model.networks")  # no torch
    swept = {"norm", "module__norm"} & (set(cfg.grid) | set(cfg.tune if cfg.protocol == "tuned" else ()))
    return networks.stacks(cfg.model.name, cfg.model.norm) and not swept


# what successive halving needs, each with the one line that refuses its absence
HALVING_NEEDS = (
    (lambda cfg: cfg.mode == "grid", "search.halving=true stops the losing candidates of a grid early: it needs mode=grid"),
    (lambda cfg: cfg.cv.batched, "search.halving=true trains the survivors on inside stacked training: it needs "
                                 "cv.batched=true"),
    (_stacked_network, "search.halving=true stops the losing candidates inside stacked training, which only the MLP "
                       "without a norm has (model={cfg.model.name} model.norm={cfg.model.norm}, or a norm in the grid, "
                       "trains fit by fit): set search.halving=false, or use model=mlp model.norm=none"),
    (lambda cfg: cfg.search.backend != "dask", "search.halving=true ranks every candidate at each rung in this "
                                               "process and cannot run its stacks on Dask; use search.backend=threads "
                                               "or local"),
    (lambda cfg: cfg.train.valid_fraction, "search.halving=true ranks the candidates on their validation rows: "
                                           "train.valid_fraction must be above 0"),
    (lambda cfg: cfg.search.min_epochs < cfg.train.epochs,
     "search.min_epochs={cfg.search.min_epochs} must be below train.epochs={cfg.train.epochs}: the first rung "
     "comes before the full budget"),
    (lambda cfg: cfg.train.early_stopping is None, "search.halving=true cannot honour train.early_stopping: a fit "
                                                   "stopped early would be ranked at epochs it never trained; set "
                                                   "train.early_stopping=null"),
    (lambda cfg: cfg.train.lr_scheduler is None, "search.halving=true cannot honour train.lr_scheduler: stacked "
                                                 "training has no per-fit schedule; set train.lr_scheduler=null"),
    (lambda cfg: cfg.cv.inits == 1, "search.halving=true ranks each candidate on its splits at one seed each: "
                                    "it needs cv.inits=1"),
    (lambda cfg: not {"epochs", "max_epochs"} & (set(cfg.grid) | set(cfg.tune if cfg.protocol == "tuned" else ())),
     "search.halving=true spends epochs as its resource: epochs cannot also be a grid or tune setting"),
)


def _halving_rules(cfg):
    """``search.halving=true`` needs what `HALVING_NEEDS` lists."""
    if not cfg.search.halving:
        return
    for test, message in HALVING_NEEDS:
        if not test(cfg):
            raise UserError(message.format(cfg=cfg))


def _model_rules(cfg):
    """The layer kind is one the network builds (gated layers are the MLP's)."""
    networks = importlib.import_module("src.model.networks").NETWORKS  # no torch
    network = networks.get(cfg.model.name)
    if network is not None and cfg.model.layer not in network.layers:
        built = " or ".join(f"model.layer={kind}" for kind in network.layers)
        raise UserError(f"model.layer={cfg.model.layer}: gated layers are the MLP's (model=mlp); "
                        f"model={cfg.model.name} builds {built}")


ACROSS = (_tuned_rules, _halving_rules, _model_rules)
