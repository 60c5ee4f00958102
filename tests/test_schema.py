"""The schema types every key: a wrong type, a value out of range or an unknown key, anywhere, is one line.

The walks go through the schema's dataclasses (`src.config.schema`), every optimizer option's
included, and call `check_command_line` (what ``python -m src.run`` runs before Hydra starts);
one smoke test runs the real command line.
"""
import typing
from dataclasses import fields, is_dataclass

import pytest
from omegaconf import OmegaConf

from src.config import schema
from src.errors import UserError
from src.preflight import check_command_line
from tests.conftest import compose_config

# A value of the wrong type for each declared type (``Any`` keys are checked by their rule).
WRONG = {int: "abc", float: "abc", bool: "maybe", str: "[1,2]", list: "abc", dict: "abc", typing.Any: "[1]"}


def _base(annotation):
    """The type a wrong value is chosen for: ``Optional[X]`` is X, ``List[int]`` is list."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Union:
        return _base(args[0])
    return typing.get_origin(annotation) or annotation


# Optional groups (null by default), and the override that adds each.
ADDED = {"tracking": "+tracking=mlflow"}


def leaves(node=schema.Config, prefix="", options=()):
    """``(dotted key, field, overrides selecting its group option)`` for every key of the schema."""
    for spec in fields(node):
        if spec.type is schema.OptimizerConfig:
            for name, option in schema.OPTIMIZERS.items():
                yield from leaves(option, "optimizer.", (f"optimizer={name}",))
        elif spec.name in ADDED:
            yield from leaves(_base(spec.type), f"{prefix}{spec.name}.", (*options, ADDED[spec.name]))
        elif is_dataclass(spec.type):
            yield from leaves(spec.type, f"{prefix}{spec.name}.", options)
        else:
            yield f"{prefix}{spec.name}", spec, options


LEAVES = {" ".join([*options, key]): (key, spec, options) for key, spec, options in leaves()}


def refused(args):
    """The one-line message with which the command line ``args`` is refused."""
    with pytest.raises(UserError) as info:
        check_command_line(["device=cpu", *args])
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_walk_reaches_every_key_of_every_config_file():
    """Every key of the default config and of each optimizer option is a leaf of the walk."""
    cfg = OmegaConf.to_container(compose_config(shrink=False))
    found = {".".join(k for k in (section, key) if k)
             for section, value in cfg.items() if section not in ("grid", "tune", "optimizer", *ADDED)
             for key in (value if isinstance(value, dict) else [""])}
    for section, option in ADDED.items():
        found |= {f"{section}.{key}" for key in OmegaConf.to_container(compose_config([option])[section])}
    for name in schema.OPTIMIZERS:
        found |= {f"optimizer.{key}" for key in OmegaConf.to_container(compose_config([f"optimizer={name}"]).optimizer)}
    assert found | {"grid", "tune"} == {key for key, _, _ in LEAVES.values()}


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_a_wrong_type_for_any_key_names_the_key(name):
    key, spec, options = LEAVES[name]
    if key == "grid":  # `grid=X` on the command line selects a grid config, so merge a value instead
        with pytest.raises(Exception) as info:
            OmegaConf.merge(compose_config(), {"grid": 5})
        message = str(schema.explain(info.value))
        bad = "5"
    else:
        bad = WRONG[_base(spec.type)]
        message = refused([*options, f"{key}={bad}"])
    assert key in message and bad.replace(" ", "") in message.replace(" ", ""), message


# A value outside a rule that is neither a range nor a set of choices.
OUTSIDE = {"cv.n_jobs": "0", "activation": "nope", "optimizer._partial_": "false", "train.lr_scheduler": "{policy:nope}",
           "tune": "{lr:[-1]}", "grid": "{activation:[relu,relu]}"}


def _outside(key, check):
    """A value that ``check`` refuses, as written on the command line."""
    if isinstance(check, schema.Range):
        return str(check.low if check.low_open else check.low - 1)
    if isinstance(check, schema.OneOf):
        return "nope"
    if isinstance(check, schema.Each):
        return "[1,-1]"
    return OUTSIDE[key]


CHECKED = {name: leaf for name, leaf in LEAVES.items() if "check" in leaf[1].metadata}


@pytest.mark.parametrize("name", sorted(CHECKED))
def test_a_value_outside_any_range_or_choice_names_the_key(name):
    key, spec, options = CHECKED[name]
    bad = _outside(key, spec.metadata["check"])
    message = refused([*options, f"{key}={bad}"])
    value = bad.strip("[]{}").split(",")[-1].split(":")[-1]  # -1 of [1,-1], nope of {policy:nope}
    assert key in message and value.lower() in message.lower(), message


@pytest.mark.parametrize("key", ["foo", "data.foo", "model.foo", "train.foo", "cv.foo", "search.foo",
                                 "optimizer.nesterov"])
def test_an_unknown_key_is_refused_even_when_appended(key):
    for args in ([f"{key}=1"], [f"+{key}=1"]):
        message = refused(args)
        assert message.startswith(f"unknown key '{key}'; choose one of:"), message


def test_a_wrong_type_or_unknown_key_in_an_experiment_file_names_the_key(tmp_path):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "typo.yaml").write_text("# @package _global_\ntrain:\n  epochs: many\n")
    (tmp_path / "experiment" / "extra.yaml").write_text("# @package _global_\ntrain:\n  epoch: 3\n")
    search_path = f"hydra.searchpath=[file://{tmp_path}]"
    assert refused([search_path, "experiment=typo"]) == "train.epochs must be an integer, got 'many'"
    assert refused([search_path, "experiment=extra"]).startswith("unknown key 'train.epoch'; choose one of:")


def test_the_command_line_refuses_a_wrong_type_in_one_line_before_any_work(cli, tmp_path):
    out = tmp_path / "out"
    done = cli(["train.batch_size=big", "data.root=/nonexistent", f"hydra.run.dir={out}"])
    assert done.returncode == 2
    assert done.stderr.strip() == "error: train.batch_size must be an integer, got 'big'"
    assert "Traceback" not in done.stderr and not out.exists()
