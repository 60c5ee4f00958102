"""The schema of the configuration: every key's type, and its range or choices.

The dataclasses are Hydra structured configs, stored in Hydra's ConfigStore when this module
is imported. ``conf/config.yaml`` lists ``base_config`` first in its defaults and each
optimizer option lists its own dataclass (``/base_optimizer_<name>@_here_``), so that
composing a config refuses an unknown key or a value of the wrong type. A field's range or
choices sit beside it, as ``check=`` in its metadata; `check` applies them all, in this one
place, before any data are loaded. Registries that need torch (activations, inits, ...) are
imported only when a value is checked.
"""
import importlib
import inspect
import json
import typing
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from ..errors import UserError, choices_error
from .checks import Each, OneOf, Parses, Range, Rule, registry, setting
from .rules import check_across


_datasets = registry("src.data.datasets", "LOADERS")
_standardizers = registry("src.data.datasets", "STANDARDIZERS")
_inits = registry("src.model.mlp", "INITS", extra=("auto",))
_layers = registry("src.model.mlp", "LAYERS")
_networks = registry("src.model.networks", "NETWORKS")
_norms = registry("src.model.norm", "NORMS")
_matmul_precisions = registry("src.training.net", "MATMUL_PRECISIONS")
_backends = registry("src.modes.backends", "JOBLIB_BACKENDS")


def _activation(spec):
    importlib.import_module("src.model.activations").label(spec)


def _lr_scheduler(settings):
    """Null, or a scheduler's ``policy`` (a name skorch resolves) and keywords it or skorch accepts.

    Typed ``Any`` in the schema: OmegaConf cannot merge a mapping into a typed mapping that is null.
    """
    if settings is None:
        return
    if not isinstance(settings, dict):
        raise UserError(f"train.lr_scheduler must be null or a mapping such as {{policy: StepLR, step_size: 10}}, "
                        f"got {settings!r}")
    from skorch.callbacks import lr_scheduler

    policies = {name: cls for name, cls in vars(lr_scheduler).items()  # the names skorch resolves
                if isinstance(cls, type) and hasattr(cls, "step") and not name.startswith("_") and name != "Optimizer"}
    settings = dict(settings)
    policy = settings.pop("policy", None)
    if policy not in policies:
        raise choices_error("train.lr_scheduler.policy", policy, policies)
    accepted = (set(inspect.signature(policies[policy]).parameters)
                | set(inspect.signature(lr_scheduler.LRScheduler).parameters)) - {"optimizer", "policy", "kwargs"}
    unknown = sorted(set(settings) - accepted)
    if unknown:
        raise UserError(f"train.lr_scheduler.{unknown[0]} is not accepted by {policy}; use one of: "
                        f"{', '.join(sorted(accepted))}")


def _listed_once(dotted, values):
    """Refuse a list of values to try that holds one value twice (it would be two identical candidates)."""
    seen = set()
    for value in values if isinstance(values, (list, tuple)) else ():
        same = json.dumps(value, sort_keys=True, default=str)
        if same in seen:
            shown = value if isinstance(value, str) else same
            raise UserError(f"{dotted} lists {shown} twice; list each value once")
        seen.add(same)


def _grid(key, value):
    """``grid.*``: each list of values to try holds every value once (the rest is checked with the network)."""
    value = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    for name, values in (value or {}).items():
        _listed_once(f"{key}.{name}", values)


def _tune(key, value):
    """``tune.*``: each nuisance setting a non-empty list; rates positive numbers; never the activation."""
    from ..params import GRID_KEYS

    value = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    for name, values in (value or {}).items():
        dotted = f"{key}.{name}"
        if name in ("activation", "module__activation"):
            raise UserError(f"{dotted}: the activation is what a tuned study compares, not a setting to tune; "
                            f"list the activations under grid.activation")
        if name not in GRID_KEYS and not name.startswith(("module__", "optimizer__")):
            raise choices_error("tune key", name, [*GRID_KEYS, "module__<MLP argument>", "optimizer__<argument>"])
        if not isinstance(values, (list, tuple)) or not values:
            raise UserError(f"{dotted} must be a non-empty list of values to try, e.g. {dotted}=[0.01,0.1], "
                            f"got {values!r}")
        _listed_once(dotted, values)
        if name in ("lr", "weight_decay", "momentum") and not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and (v > 0 or name != "lr" and v == 0)
                for v in values):
            raise UserError(f"every value in {dotted} must be a {'positive' if name == 'lr' else 'non-negative'} "
                            f"number, got {values!r}")


MODES = ("single", "grid")
PROTOCOLS = ("fixed", "tuned")
DEVICES = ("auto", "cpu", "cuda")
POSITIVE = Range(low=1, integer=True)

# ---------------------------------------------------------------------------------------------
# The schema. Defaults live in the YAML files (MISSING here), so there is one place for them.


@dataclass
class DataConfig:
    """``conf/data/*``: which dataset, where its files are, and how it is prepared."""

    name: str = setting(check=OneOf(_datasets))
    root: str = setting()
    download: bool = setting()
    subset: Optional[int] = setting(check=POSITIVE)
    standardize: str = setting(check=OneOf(_standardizers))


@dataclass
class OptimizerConfig:
    """``conf/optimizer/*``: a torch.optim class, built as a partial (the parameters come later)."""

    _target_: str = setting()
    _partial_: bool = setting(check=Rule(lambda value: value is True, "true (the network's parameters are bound later)"))
    lr: float = setting(check=Range(low=0, low_open=True))


@dataclass
class AdamConfig(OptimizerConfig):
    """``optimizer=adam``."""


@dataclass
class AdamWConfig(OptimizerConfig):
    """``optimizer=adamw``."""

    weight_decay: float = setting(check=Range(low=0))


@dataclass
class RMSpropConfig(OptimizerConfig):
    """``optimizer=rmsprop``."""


@dataclass
class SGDConfig(OptimizerConfig):
    """``optimizer=sgd``."""

    momentum: float = setting(check=Range(low=0))


@dataclass
class ModelConfig:
    """``conf/model/*``: the network (``name``), its dense hidden layers, dropout, weight init and norm."""

    name: str = setting(check=OneOf(_networks))
    hidden: List[int] = setting(check=Each(POSITIVE, "model.hidden must list at least one layer size, "
                                                 "e.g. model.hidden=[128,64]", items="size"))
    dropout: float = setting(check=Range(low=0, high=1, high_open=True))
    init: str = setting(check=OneOf(_inits))
    layer: str = setting(check=OneOf(_layers))
    norm: str = setting(check=OneOf(_norms))


@dataclass
class MLPConfig(ModelConfig):
    """``model=mlp``: the fully connected network (``hidden`` are its layers)."""


@dataclass
class CNNConfig(ModelConfig):
    """``model=cnn``: convolution blocks, then a dense head (``hidden`` are the head's widths)."""

    channels: List[int] = setting(check=Each(Range(low=1, high=1024, integer=True), "model.channels must list at "
                                             "least one block's channels, e.g. model.channels=[16,32]",
                                             items="channel count"))
    kernel_size: int = setting(check=Range(low=1, high=11, integer=True))
    pool: int = setting(check=Range(low=1, high=4, integer=True))


@dataclass
class TrainConfig:
    """``train.*``: how each network is trained."""

    epochs: int = setting(check=POSITIVE)
    batch_size: int = setting(check=POSITIVE)
    valid_fraction: float = setting(check=Range(low=0, high=1, high_open=True))
    early_stopping: Optional[int] = setting(check=POSITIVE)
    lr_scheduler: Any = setting(check=Parses(_lr_scheduler))  # null or a mapping (see `_lr_scheduler`)
    threads: Optional[int] = setting(check=POSITIVE)
    compile: bool = setting()
    matmul_precision: str = setting(check=OneOf(_matmul_precisions))
    checkpoint_every: int = setting(check=Range(low=0, integer=True))
    verbose: int = setting(check=Range(low=0, integer=True))


@dataclass
class CVConfig:
    """``cv.*``: the cross-validation of grid mode."""

    folds: int = setting(check=Range(low=2, integer=True))
    repeats: int = setting(check=POSITIVE)
    refit: bool = setting()
    n_jobs: Any = setting(check=Rule(lambda value: value == "auto" or POSITIVE.allows(value),
                                 "'auto' or a positive integer"))
    batched: bool = setting()
    inits: int = setting(check=POSITIVE)
    split_seeds: bool = setting()


@dataclass
class SearchConfig:
    """``search.*``: where grid mode's fits run, and whether losing candidates stop early (successive halving)."""

    backend: str = setting(check=OneOf(_backends))
    scheduler: Optional[str] = setting()
    halving: bool = setting()
    eta: int = setting(check=Range(low=2, integer=True))
    min_epochs: int = setting(check=POSITIVE)


@dataclass
class StatsConfig:
    """``stats.*``: the significance level of the comparisons (intervals cover ``1 - alpha``), and the
    margin of equivalence in accuracy points (docs/statistics.md#equivalence)."""

    alpha: float = setting(check=Range(low=0, high=0.5, low_open=True, high_open=True))
    margin: float = setting(check=Range(low=0, high=100))


@dataclass
class TrackingConfig:
    """``+tracking=NAME`` (``conf/tracking/*``): where finished runs are logged besides their own files."""

    name: str = setting(check=OneOf(("mlflow",)))
    dir: Optional[str] = setting()
    experiment: str = setting()


@dataclass
class LockConfig:
    """``lock.*``: a study dir held by its writer (docs/clusters.md#two-writers)."""

    take_over: bool = setting()
    stale_after: int = setting(check=Range(low=10, high=86400, integer=True))


def _tracking(key, value):
    """Null (no tracking), or a `TrackingConfig` whose fields pass their checks."""
    if value is not None:
        _check_node(value, TrackingConfig, key + ".")


@dataclass
class Config:
    """``conf/config.yaml``: the primary config (its ``hydra`` node stays Hydra's)."""

    data: DataConfig = setting(factory=DataConfig)
    optimizer: OptimizerConfig = setting()
    grid: Dict[str, Any] = setting(factory=dict, check=_grid)
    mode: str = setting(check=OneOf(MODES))
    claim: Optional[List[str]] = setting()
    protocol: str = setting(check=OneOf(PROTOCOLS))
    tune: Dict[str, Any] = setting(factory=dict, check=_tune)
    activation: Any = setting(check=Parses(_activation))
    seed: int = setting(check=Range(low=0, high=2 ** 32 - 1, integer=True))
    device: str = setting(check=OneOf(DEVICES))
    model: ModelConfig = setting()
    train: TrainConfig = setting(factory=TrainConfig)
    cv: CVConfig = setting(factory=CVConfig)
    search: SearchConfig = setting(factory=SearchConfig)
    stats: StatsConfig = setting(factory=StatsConfig)
    lock: LockConfig = setting(factory=LockConfig)
    tracking: Optional[TrackingConfig] = setting(default=None, check=_tracking)


OPTIMIZERS = {"adam": AdamConfig, "adamw": AdamWConfig, "rmsprop": RMSpropConfig, "sgd": SGDConfig}
MODELS = {"mlp": MLPConfig, "cnn": CNNConfig}  # conf/model/NAME.yaml -> its keys


def check(cfg, registries=True):
    """Raise a one-line `UserError` for the first key that its schema refuses.

    Walks the composed config with the schema: a key the schema does not declare (added with
    ``+``), a key without a value, and a value outside its field's ``check`` are refused.
    OmegaConf has already refused a value of the wrong type while composing.

    Parameters
    ----------
    cfg : DictConfig
        The composed config (its ``hydra`` node is left to Hydra).
    registries : bool (default=True)
        Also check values against the registries (activations, inits, backends, ...), which
        import torch; False checks everything else first, before torch is imported.
    """
    _check_node(cfg, Config, "", registries)
    check_across(cfg)


def _check_node(node, schema, prefix, registries=True):
    actual = OmegaConf.get_type(node)
    if is_dataclass(actual) and issubclass(actual, schema):
        schema = actual  # an optimizer option's own dataclass
    declared = {f.name: f for f in fields(schema)}
    for name in node:
        if name not in declared and not (name == "hydra" and not prefix):
            raise choices_error("key", f"{prefix}{name}", [prefix + n for n in declared])
    for name, spec in declared.items():
        dotted = prefix + name
        if OmegaConf.is_missing(node, name):
            raise UserError(f"{dotted} has no value; set it, e.g. {dotted}=...")
        value = node[name]
        if is_dataclass(spec.type):
            _check_node(value, spec.type, dotted + ".", registries)
        elif "check" in spec.metadata and (registries or not getattr(spec.metadata["check"], "imports", False)):
            spec.metadata["check"](dotted, value)


TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string", Any: "any value"}


def type_words(annotation):
    """A field's type in words, e.g. ``null or a list of integers``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return f"null or {type_words(inner[0])}"
    if origin in (list, List):
        return f"a list of {type_words(args[0]).removeprefix('an ').removeprefix('a ')}s" if args else "a list"
    if origin in (dict, Dict) or annotation in (dict, Dict):
        return "a mapping of key: value"
    if is_dataclass(annotation):
        return f"a mapping of {', '.join(f.name for f in fields(annotation))}"
    return TYPE_WORDS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def explain(error):
    """Word an OmegaConf error met while composing (wrong type, unknown key) as one line.

    Parameters
    ----------
    error : Exception
        What Hydra's compose raised, or its ``__cause__``.

    Returns
    -------
    UserError or None
        None when ``error`` is not about a key of the schema.
    """
    dotted, node_type = getattr(error, "full_key", None), getattr(error, "object_type", None)
    name = getattr(error, "key", None)
    if not dotted:
        return None
    if isinstance(error, (ConfigKeyError, ConfigAttributeError)):  # a key the schema does not declare
        parent = dotted.rpartition(".")[0]
        if not is_dataclass(node_type):  # a mapping such as grid or tune: its keys are the user's to add
            return UserError(f"unknown key '{dotted}': {parent} has no such key yet; add it with a leading +, "
                             f"e.g. '+{dotted}=[...]'")
        allowed = [f.name for f in fields(node_type)]
        return choices_error("key", dotted, [f"{parent}.{n}" if parent else n for n in allowed])
    if is_dataclass(node_type) and name in {f.name for f in fields(node_type)}:
        annotation = typing.get_type_hints(node_type)[name]
    elif typing.get_args(getattr(error, "ref_type", None)):
        annotation = typing.get_args(error.ref_type)[-1]  # an item of a typed list or mapping
    else:
        return None
    return UserError(f"{dotted} must be {type_words(annotation)}, got {error.value!r}")


def register():
    """Store the schema in Hydra's ConfigStore: ``base_config``, ``base_optimizer_<name>`` and ``base_model_<name>``.

    They are stored outside every config group, so that no group lists them as an option.
    """
    store = ConfigStore.instance()
    store.store(name="base_config", node=Config)
    for name, node in OPTIMIZERS.items():
        store.store(name=f"base_optimizer_{name}", node=node)
    for name, node in MODELS.items():
        store.store(name=f"base_model_{name}", node=node)


register()
