"""Scaling out: Hydra's joblib and submitit launchers, the Optuna sweeper, GridSearchCV on Dask."""
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from src import layout
from src.cores import available_cores, cores_per_job
from src.modes.core_shares import share_cores
from src.modes.objective import failed_objective
from src.preflight import check_command_line
from src.run import run

SWEEP = ["data=digits", "train.epochs=1", "train.verbose=0", "device=cpu"]
BASIC = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def ok_summary(sweep_dir, n_rows):
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert len(summary) == n_rows and (summary["status"] == "ok").all(), summary
    assert (sweep_dir / "hiplot.html").read_text().rstrip().endswith("</html>")
    return summary


def job_metrics(sweep_dir):
    return [json.loads(p.read_text()) for p in sorted(sweep_dir.glob("[0-9]*/metrics.json"))]


@pytest.mark.parametrize("launcher, cores, share", [
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}, 16, 8),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 2}, 2, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -1}, 16, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": -4}, 16, 1),
    ({"_target_": "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", "n_jobs": 3}, 2, 1),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher", "cpus_per_task": 4}, 64, 4),
    ({"_target_": "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher", "cpus_per_task": None},
     8, None),
    ({"_target_": BASIC}, 8, None),
])
def test_each_job_gets_its_share_of_the_cores(launcher, cores, share):
    assert cores_per_job(launcher, cores) == share


def test_the_share_fills_only_unset_thread_settings(make_cfg):
    cfg = make_cfg(["mode=grid", "cv.n_jobs=auto"])
    share_cores(cfg, 3)
    assert cfg.train.threads == 3 and cfg.cv.n_jobs == 3
    cfg = make_cfg(["train.threads=2", "mode=grid", "cv.n_jobs=1"])
    share_cores(cfg, 3)
    assert cfg.train.threads == 2 and cfg.cv.n_jobs == 1


def test_one_plan_decides_threads_and_parallel_fits(monkeypatch):
    from src import cores
    from src.cores import CorePlan, plan_cores

    monkeypatch.setattr(cores, "available_cores", lambda: 8)
    assert plan_cores() == CorePlan(cores=8, n_jobs=1, threads=None)  # one fit: torch's default
    assert plan_cores(n_jobs="auto") == CorePlan(cores=8, n_jobs=8, threads=1)
    assert plan_cores(n_jobs=3) == CorePlan(cores=8, n_jobs=3, threads=2)
    assert plan_cores(threads=2, n_jobs="auto") == CorePlan(cores=2, n_jobs=8, threads=1)
    assert plan_cores(n_jobs="auto", share=4) == CorePlan(cores=4, n_jobs=4, threads=1)
    assert plan_cores(share=4) == CorePlan(cores=4, n_jobs=1, threads=4)
    assert plan_cores(n_jobs="auto", device="cuda") == CorePlan(cores=8, n_jobs=1, threads=None)
    assert CorePlan(cores=8, n_jobs=3, threads=2).split(2) == (2, 4)  # fewer stacks than workers: more threads


@pytest.mark.slow
def test_joblib_launcher_runs_two_jobs_and_summarises(cli, tmp_path):
    done = cli(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "activation=relu,tanh", *SWEEP,
                f"hydra.sweep.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    summary = ok_summary(tmp_path, 2)
    assert sorted(summary["activation"]) == ["relu", "tanh"]
    assert [m["threads"] for m in job_metrics(tmp_path)] == [max(1, available_cores() // 2)] * 2


@pytest.mark.slow
def test_submitit_local_launcher_runs_two_jobs_and_summarises(cli, tmp_path):
    done = cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.cpus_per_task=1", "activation=relu,tanh",
                *SWEEP, f"hydra.sweep.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    summary = ok_summary(tmp_path, 2)
    assert sorted(summary["activation"]) == ["relu", "tanh"]
    assert [m["threads"] for m in job_metrics(tmp_path)] == [1, 1]


def test_slurm_launcher_settings_compose():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.conftest import CONF_DIR

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True,
                      overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.gpus_per_node=1"])
    GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.timeout_min, launcher.cpus_per_task) == ("gpu", 1, 120, 4)
    assert cores_per_job(launcher, 128) == 4
    check_command_line(["-m", "hydra/launcher=slurm", "activation=relu,tanh"])


@pytest.mark.slow
def test_optuna_sweeper_searches_activation_and_lr(cli, tmp_path):
    done = cli(["-m", "hydra/sweeper=activation_lr", "hydra.sweeper.n_trials=2", *SWEEP, f"hydra.sweep.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"summary_md: {tmp_path}" in done.stdout + done.stderr  # the sweep's callback ran to its last line
    # the sweep dir is known as one (the Optuna sweeper leaves no multirun.yaml of its own), and its
    # trials, one activation at one lr each, are no studies for a comparison across them
    assert layout.kind_of(tmp_path) == "sweep" and not (tmp_path / "compare.md").exists()
    summary = ok_summary(tmp_path, 2)
    assert {"activation", "optimizer.lr", "valid_accuracy"} <= set(summary.columns)
    assert ((summary["optimizer.lr"] >= 0.001) & (summary["optimizer.lr"] <= 0.3)).all()
    best = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(summary["valid_accuracy"].max())
    for job in ("0", "1"):
        status = json.loads((tmp_path / job / "status.json").read_text())
        metrics = json.loads((tmp_path / job / "metrics.json").read_text())
        assert status["objective"] == pytest.approx(metrics["valid_accuracy"])


def test_a_sweep_summary_that_cannot_be_made_ends_with_one_line_not_a_warning(tmp_path, capsys):
    """Hydra turns an exception in a callback into a warning and exits 0; the summary's callback
    ends the sweep with the one line and status 2 instead, and writes nothing."""
    from omegaconf import OmegaConf

    from src.callbacks import SweepSummary

    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    SweepSummary().on_multirun_start(config)  # marks the dir as a sweep's, as a sweeper without a marker leaves it
    assert layout.kind_of(tmp_path) == "sweep"
    with pytest.raises(SystemExit) as ended:
        SweepSummary().on_multirun_end(config)
    err = capsys.readouterr().err
    assert ended.value.code == 2 and err == f"error: {tmp_path}: no job of the sweep has results to summarize\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [layout.MULTIRUN]


@pytest.mark.parametrize("sweeper, expected", [
    ({"direction": "maximize"}, -math.inf),
    ({"direction": "minimize"}, math.inf),
    ({"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"}, math.nan),
    (None, math.nan),
])
def test_a_failed_job_returns_what_optuna_accepts(sweeper, expected):
    value = failed_objective(sweeper)
    assert value == expected or (math.isnan(expected) and math.isnan(value))


def test_the_optuna_enum_direction_is_understood():
    from hydra_plugins.hydra_optuna_sweeper.config import Direction

    assert failed_objective({"direction": Direction.maximize}) == -math.inf


# GridSearchCV on Dask: the same folds as the local backend.
DASK_GRID = ["mode=grid", "train.epochs=1", "cv.refit=false", "grid.activation=[relu,tanh]"]


@pytest.fixture(scope="module")
def local_folds(tmp_path_factory):
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("local")
    run(compose_config(DASK_GRID + ["train.threads=1", "cv.n_jobs=1"]), out)
    return pd.read_csv(out / "folds.csv")


def assert_same_folds(out, local):
    folds = pd.read_csv(out / "folds.csv")
    assert (folds["status"] == "ok").all() and len(folds) == len(local) == 6
    pd.testing.assert_frame_equal(folds[["label", "fold"]], local[["label", "fold"]])
    np.testing.assert_allclose(folds["test_accuracy"], local["test_accuracy"], atol=1e-6)


@pytest.mark.slow
def test_dask_backend_gives_the_local_folds(make_cfg, tmp_path, local_folds):
    run(make_cfg(DASK_GRID + ["search.backend=dask", "cv.n_jobs=2"]), tmp_path)
    assert_same_folds(tmp_path, local_folds)


@pytest.mark.slow
def test_dask_backend_on_a_running_scheduler(make_cfg, tmp_path, local_folds):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        run(make_cfg(DASK_GRID + ["search.backend=dask", "cv.n_jobs=2",
                                  f"search.scheduler={cluster.scheduler_address}"]), tmp_path)
    assert_same_folds(tmp_path, local_folds)
