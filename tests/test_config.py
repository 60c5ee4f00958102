"""Every config group option composes and instantiates; the override checks speak in one line."""
from pathlib import Path

import pytest
import torch
import yaml
from hydra.utils import instantiate

from src import validate as config
from src.errors import UserError
from src.preflight import check_command_line

CONF = Path(__file__).resolve().parent.parent / "conf"


def options(group):
    folder = CONF.parent / "experiments" if group == "experiment" else CONF / group  # experiments/ is the group
    return sorted(p.stem for p in folder.glob("*.yaml"))


@pytest.mark.parametrize("name", options("optimizer"))
def test_every_optimizer_instantiates(make_cfg, name):
    cfg = make_cfg([f"optimizer={name}"])
    partial = instantiate(cfg.optimizer)
    opt = partial([torch.nn.Parameter(torch.zeros(2))])
    assert isinstance(opt, torch.optim.Optimizer)
    func, lr, kwargs = config.optimizer_settings(cfg.optimizer)
    assert func is type(opt) and lr == cfg.optimizer.lr and "lr" not in kwargs


@pytest.mark.parametrize("name", options("data"))
def test_every_dataset_config_composes(make_cfg, name):
    cfg = make_cfg([f"data={name}"])
    assert config.data_args(cfg)["name"] == name


@pytest.mark.parametrize("name", options("grid"))
def test_every_grid_composes_and_validates(make_cfg, name):
    cfg = make_cfg(["mode=grid", f"grid={name}"])
    search = config.validate(cfg)[2]["search"]
    grid = yaml.safe_load((CONF / "grid" / f"{name}.yaml").read_text())
    assert search.grid.config == {k: v for k, v in grid.items() if not k.startswith("#")}
    assert (search.folds, search.repeats) == (cfg.cv.folds, cfg.cv.repeats)


@pytest.mark.parametrize("name", options("experiment"))
def test_every_experiment_composes_and_validates(make_cfg, name):
    cfg = make_cfg([f"experiment={name}"], shrink=False)
    config.validate(cfg)


def test_default_config_is_the_origin_notebook_setup(make_cfg):
    cfg = make_cfg(shrink=False)
    net, data_kwargs, _ = config.validate(cfg)
    assert net.network.hidden == [128, 64] and net.training.epochs == 25 and net.training.batch_size == 128
    assert net.optimization.optimizer is torch.optim.SGD and net.optimization.lr == 0.01
    assert net.optimization.optimizer_kwargs == {"momentum": 0.95}
    assert data_kwargs["name"] == "mnist" and data_kwargs["standardize"] == "global"


@pytest.mark.parametrize("target", ["os.system", "subprocess.Popen", "builtins.eval"])
def test_targets_outside_the_allow_list_are_refused(make_cfg, target):
    from omegaconf import open_dict

    cfg = make_cfg()
    with open_dict(cfg):
        cfg.optimizer._target_ = target
    with pytest.raises(UserError, match="refusing to build"):
        config.validate(cfg)


@pytest.mark.parametrize("target", ["src.files.write_text", "torch.optim.lr_scheduler.StepLR"])
def test_an_optimizer_must_be_a_torch_optim_optimizer(make_cfg, target):
    from omegaconf import open_dict

    cfg = make_cfg()
    with open_dict(cfg):  # allowed modules, but not optimizers
        cfg.optimizer._target_ = target
    with pytest.raises(UserError, match="torch.optim optimizer class"):
        config.validate(cfg)


@pytest.mark.parametrize("args, needle", [
    (["optimizer=nope"], "adam, adamw, rmsprop, sgd"),
    (["data=nope"], "digits, fashion_mnist, mnist"),
    (["trian.epochs=2"], "trian"),
    (["-m", "activation=relu,nope"], "nope"),
])
def test_command_line_checks_give_one_line(args, needle):
    with pytest.raises(UserError) as info:
        check_command_line(args)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_good_sweep_passes_the_checks():
    check_command_line(["-m", "activation=relu,tanh,selu", "data=digits"])


def test_the_statistics_defaults_live_in_the_config_and_nowhere_else(make_cfg):
    """`src.defaults.ALPHA` and `MARGIN` read a study that names no level or margin: they are the config's."""
    from src.defaults import ALPHA, MARGIN

    cfg = make_cfg()
    assert (cfg.stats.alpha, cfg.stats.margin) == (ALPHA, MARGIN)
