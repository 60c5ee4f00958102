"""Check a command line before Hydra runs it, for what composing one config cannot see.

The schema (`src.config.schema`) types and checks every key of one composed config. What is
left for here: a sweep's values (each value of each sweep override, those of a sweeper
config's ``hydra.sweeper.params`` too, an interval by its bounds) are composed and validated
one by one before any job starts; an interval sweep needs a sweeper that can sample it; the
output folder must be creatable, and a single run's not held by another live run
(`src.study_lock`); and Hydra's several-line reports (an unknown group option,
a grammar error) become one line, with the group's options.
"""
import os
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf, open_dict

from .config import schema
from .errors import UserError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
FLAGS_WITH_VALUE = {"-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir",
                    "--experimental-rerun", "-p", "--package"}
SKIP_FLAGS = {"-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--version", "--shell-completion",
              "-sc", "--resolve", "--run", "-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir"}
MULTIRUN_FLAGS = {"-m", "--multirun"}


def overrides_of(argv):
    """Return the override arguments of a command line, or None when flags ask for something else."""
    overrides, skip_next = [], False
    for arg in argv:
        if skip_next:
            skip_next = False
            continue
        if arg in SKIP_FLAGS:
            return None
        if arg in FLAGS_WITH_VALUE:
            skip_next = True
        elif not arg.startswith("-"):
            overrides.append(arg)
    return overrides


def _first_line(exc):
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause).strip():
        reason = str(cause).strip().splitlines()[0]
        if reason not in first:
            first = f"{first.rstrip('.')}: {reason}"
    return first


def _options_hint(loader, exc):
    text = str(exc)
    marker = "Could not find '"
    if marker not in text:
        return ""
    group = text.split(marker, 1)[1].split("'", 1)[0].rsplit("/", 1)[0]
    options = loader.get_group_options(group)
    return f"; choose one of: {', '.join(sorted(options))}" if options else ""


def _interval_values(override):
    """Values that stand for an interval sweep (float bounds): its start and a hair below its end."""
    interval = override.value()
    start, end = interval.start, interval.end
    if "log" in interval.tags and not start > 0:
        raise UserError(f"{override.get_key_element()}: a log-scale interval needs a lower bound > 0, got {start}")
    return [start, end - (end - start) * 1e-9]


def _sweep_values(override):
    """The values of a sweep override to check, or None for a sweep that cannot be enumerated."""
    if override.is_interval_sweep():
        return _interval_values(override)
    try:
        return list(override.sweep_string_iterator())
    except Exception:  # other non-enumerable sweeps: left to the sweeper
        return None


def _variants(parsed):
    """The override lists to compose: the fixed overrides, then each value of each sweep."""
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    variants = [fixed]
    for override in parsed:
        if override.is_sweep_override() and not override.is_hydra_override():
            values = _sweep_values(override)
            variants += [fixed + [f"{override.get_key_element()}={value}"] for value in values or []]
    return variants


def _parse(overrides, where):
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:  # Hydra's grammar errors
        raise UserError(f"cannot read {where}: {_first_line(exc)}") from None


def _sweeper_params(cfg, given):
    """``hydra.sweeper.params`` of a composed config as overrides (those not on the command line)."""
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    keys = {o.get_key_element() for o in given}
    return [f"{key}={value}" for key, value in params.items() if key not in keys]


def _writable_dir(path, key):
    """Raise `UserError` unless the folder ``path`` exists or can be created and written."""
    path = Path(path).absolute()
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir():
        raise UserError(f"{key}={path} cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{key}={path} cannot be created: {existing} is not writable")


def _check_sweeper(cfg, parsed):
    sweeper = str(OmegaConf.select(cfg, "hydra.sweeper._target_", default=""))
    intervals = [o.get_key_element() for o in parsed if o.is_sweep_override() and o.is_interval_sweep()]
    if intervals and sweeper.endswith("BasicSweeper"):
        raise UserError(f"{intervals[0]}: interval sweeps need hydra/sweeper=optuna; the basic sweeper "
                        f"takes lists, range() and choice()")


def _compose(overrides, config_name, loader):
    try:
        return compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    except Exception as exc:
        cause = exc
        while cause is not None:  # a key or type that the schema refused, worded by the schema
            explained = schema.explain(cause)
            if explained is not None:
                raise explained from None
            cause = cause.__cause__ or cause.__context__
        raise UserError(f"{_first_line(exc)}{_options_hint(loader, exc)}") from None


def compose_config(overrides, config_name="config", keep_hydra=False):
    """Compose the real config with ``overrides`` (its schema checks types and keys), or raise one line.

    Parameters
    ----------
    overrides : list of str
    config_name : str
        The primary config.
    keep_hydra : bool (default=False)
        Keep the ``hydra`` node (its run dir and job logging).

    Returns
    -------
    DictConfig
        The composed config, without the ``hydra`` node unless ``keep_hydra``.
    """
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = _compose(list(overrides), config_name, GlobalHydra.instance().config_loader())
    finally:
        GlobalHydra.instance().clear()
    if not keep_hydra:
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def check_command_line(argv, config_name="config"):
    """Raise `UserError` with one line if any value of any override does not compose.

    Besides the command line's own overrides, the values of ``hydra.sweeper.params`` (a
    sweeper config's search space) are checked, interval sweeps by their bounds, and the
    output folder (``hydra.sweep.dir`` with ``-m``, else ``hydra.run.dir``) must be creatable;
    a single run's folder must not be held by another live run (`src.study_lock.Held`).

    Parameters
    ----------
    argv : list of str
        The arguments after the program name.
    config_name : str
        The primary config.
    """
    overrides = overrides_of(argv)
    if overrides is None:
        return
    multirun = bool(MULTIRUN_FLAGS & set(argv))
    parsed = _parse(overrides, "the command line")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            loader = GlobalHydra.instance().config_loader()
            base = _compose(_variants(parsed)[0], config_name, loader)
            multirun = multirun or str(OmegaConf.select(base, "hydra.mode", default="")).endswith("MULTIRUN")
            out_key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
            _writable_dir(OmegaConf.select(base, out_key), out_key)
            params = _parse(_sweeper_params(base, parsed), "hydra.sweeper.params") if multirun else []
            _check_sweeper(base, list(parsed) + list(params))
            variants = _variants(list(parsed) + list(params))
            # the first is ``base`` itself when no sweeper adds params
            configs = [base if i == 0 and not params else _compose(v, config_name, loader)
                       for i, v in enumerate(variants)]
            for cfg in configs:  # every value composes: its types and keys are right, without torch
                schema.check(cfg, registries=False)
            from .validate import validate  # the registries (activations, optimizers) need torch

            for cfg in configs:
                validate(cfg)
            if not multirun:  # a run dir that another live run writes in (a sweep's jobs are checked one by one)
                from .study_lock import StudyLock

                StudyLock(OmegaConf.select(base, out_key), base.lock.take_over, base.lock.stale_after).check()
    finally:
        GlobalHydra.instance().clear()
