"""Shared fixtures: the real Hydra config, composed and shrunk for fast tests."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import open_dict

import src.config  # noqa: F401  (stores the config schema in Hydra's ConfigStore)

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"
DATA_ROOT = ROOT / "data"
MNIST_READY = (DATA_ROOT / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()

def pytest_addoption(parser):
    parser.addoption("--require-tools", action="store_true",
                     help="fail, instead of skipping, the tests whose system tool (Chromium, Slurm, TeX Live, root) "
                          "is missing (make test-all)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """``@pytest.mark.needs("chromium", ...)``: skip (or fail) a test whose tool is missing (`tests.tools`)."""
    from tests.tools import require

    for mark in item.iter_markers("needs"):
        for name in mark.args:
            require(name, item.config)


@pytest.fixture(scope="session", autouse=True)
def plot_cache(tmp_path_factory):
    """Activation plots drawn by the tests are kept in the session's temp dir, apart from the user's
    cache (`src.reporting.write.figures.plot_cache`); subprocesses inherit it."""
    old = os.environ.get("ACTIVATION_BENCH_CACHE")
    os.environ["ACTIVATION_BENCH_CACHE"] = str(tmp_path_factory.mktemp("activation-plots"))
    yield
    if old is None:
        os.environ.pop("ACTIVATION_BENCH_CACHE", None)
    else:
        os.environ["ACTIVATION_BENCH_CACHE"] = old


FAST = ["data=digits", "train.epochs=2", "train.verbose=0", "device=cpu", "cv.repeats=1"]


def compose_config(overrides=(), shrink=True):
    """Compose the real config with ``overrides`` (after the fast defaults when ``shrink``)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=(FAST if shrink else []) + list(overrides))
    with open_dict(cfg):
        cfg.data.root = str(DATA_ROOT)
    return cfg


@pytest.fixture
def make_cfg():
    """Return a function composing the shrunk config with extra overrides."""
    return compose_config


def run_cli(args, cwd=ROOT, timeout=600, module="src.run"):
    """Run ``python -m <module> args`` and return the CompletedProcess (text output)."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def one_thread():
    """Run small tensors on one torch thread (much faster on a busy 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cli():
    """Return `run_cli`."""
    return run_cli


@pytest.fixture(scope="session")
def slurm(tmp_path_factory, pytestconfig):
    """A one-node Slurm cluster for the session (`tests.clusters.slurm_cluster`): the environment
    (``SLURM_CONF``) in which ``sbatch`` and ``hydra/launcher=slurm`` reach it. Its daemons are
    stopped at the end of the session, also after failures. Skipped without Slurm or root."""
    from tests.clusters import slurm_cluster
    from tests.tools import require

    require("slurm", pytestconfig)
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as env:
        yield env


@pytest.fixture(autouse=True)
def log_to_console():
    """Show the project's log as the console shows it (`src.logs.to_console`), so that a test can
    read progress lines from captured output as a user reads them from the terminal."""
    from src.logs import to_console

    to_console()


def api_study(tmp_path_factory, name, *overrides):
    """A small grid run through `src.api.run` (digits, 2 epochs, 3 splits) into a fresh dir."""
    from src import api

    return api.run(*FAST, f"data.root={DATA_ROOT}", "mode=grid", *overrides,
                   out_dir=tmp_path_factory.mktemp(name) / "study")


@pytest.fixture(scope="session")
def grid_study(tmp_path_factory):
    """One small fixed-protocol grid for the session, run from Python (`src.api.run`)."""
    return api_study(tmp_path_factory, "grid")


@pytest.fixture(scope="session")
def tuned_study(tmp_path_factory):
    """One small tuned grid (two learning rates) for the session, run from Python."""
    return api_study(tmp_path_factory, "tuned", "protocol=tuned", "tune.lr=[0.01,0.1]")
