"""Check a command line against the real config before Hydra runs it.

Hydra reports a bad override (an unknown group option, a misspelt key, a grammar error) in
several lines with a hint about stack traces. Here every value of every override, sweep
values included, is composed once, and the first problem is reported in one line.
"""
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser

from .config import validate
from .errors import UserError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
FLAGS_WITH_VALUE = {"-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir",
                    "--experimental-rerun", "-p", "--package"}
SKIP_FLAGS = {"-h", "--help", "--hydra-help", "--info", "-i", "--cfg", "-c", "--version", "--shell-completion",
              "-sc", "--resolve", "--run", "-cn", "--config-name", "-cp", "--config-path", "-cd", "--config-dir"}


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


def check_command_line(argv, config_name="config"):
    """Raise `UserError` with one line if any value of any override does not compose.

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
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as exc:  # Hydra's grammar errors
        raise UserError(f"cannot read the command line: {_first_line(exc)}") from None
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    variants = [fixed]
    for override in parsed:
        if override.is_sweep_override() and not override.is_hydra_override():
            try:
                values = list(override.sweep_string_iterator())
            except Exception:  # interval or other non-enumerable sweeps (Optuna): leave to the sweeper
                continue
            variants += [fixed + [f"{override.get_key_element()}={value}"] for value in values]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        for variant in variants:
            try:
                cfg = compose(config_name=config_name, overrides=variant, return_hydra_config=True)
            except Exception as exc:
                raise UserError(f"{_first_line(exc)}{_options_hint(loader, exc)}") from None
            validate(cfg)
    GlobalHydra.instance().clear()
