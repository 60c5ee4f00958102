"""Resuming a sweep in its folder: finished configs are found by hash and never retrained."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from src.files import TMP_PREFIX, write_csv, write_json
from src.layout import STASH as STASH_DIR
from src.layout import job_dirs, record_keys
from src.modes.config_hash import config_hash
from src.modes.job_dirs import claim
from src.modes.jobs import run_job
from src.reporting.compute.sweep import sweep_frame
from src.reporting.read.study import load
from tests.conftest import ROOT

SWEEP = ["data=digits", "train.verbose=0", "device=cpu"]


def test_the_hash_ignores_how_fast_a_job_runs(make_cfg):
    base = config_hash(make_cfg())
    assert config_hash(make_cfg(["train.threads=1", "cv.n_jobs=2", "search.backend=dask", "train.verbose=1"])) == base
    assert config_hash(make_cfg(["optimizer.lr=0.01"])) == base  # the default, given explicitly
    assert config_hash(make_cfg(["activation=tanh"])) != base
    assert config_hash(make_cfg(["seed=1"])) != base


def fake_job(sweep, num, key, activation, status="ok", files=("metrics.json", "history.csv")):
    """A job folder of a single run as Hydra and `run_job` leave it."""
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"activation={activation}"]))
    for name in files:
        if name.endswith(".csv"):
            write_csv(job / name, pd.DataFrame({"epoch": [1, 2], "train_loss": [1.0, 0.5]}))
        else:
            write_json(job / name, {"activation": activation, "test_accuracy": 0.5, "status": "ok"})
    if status:
        write_json(job / "status.json", {"status": status, "config_hash": key, "objective": 0.5})
    return job


def test_a_job_keeps_its_own_finished_results(tmp_path):
    job = fake_job(tmp_path, 0, "aaa", "relu")
    before = (job / "metrics.json").stat().st_mtime_ns
    status, source = claim(job, tmp_path, "aaa")
    assert status["objective"] == 0.5 and source == job
    assert (job / "metrics.json").stat().st_mtime_ns == before


def test_renumbered_jobs_swap_their_results_through_the_stash(tmp_path):
    first, second = fake_job(tmp_path, 0, "aaa", "relu"), fake_job(tmp_path, 1, "bbb", "tanh")
    status, source = claim(first, tmp_path, "bbb")  # job 0 is now tanh: taken from job 1
    assert status["config_hash"] == "bbb" and source == second
    assert json.loads((first / "metrics.json").read_text())["activation"] == "tanh"
    assert (tmp_path / STASH_DIR / "aaa" / "metrics.json").exists()  # relu set aside, not lost
    status, source = claim(second, tmp_path, "aaa")  # job 1 is now relu: taken from the stash
    assert source == tmp_path / STASH_DIR / "aaa"
    assert json.loads((second / "metrics.json").read_text())["activation"] == "relu"
    assert not (tmp_path / STASH_DIR / "aaa").exists()


def test_unfinished_results_are_dropped_but_fit_records_kept(tmp_path):
    job = fake_job(tmp_path, 0, "aaa", "relu", status=None, files=("history.csv",))
    (job / "fits").mkdir()
    write_json(job / "fits" / "k.json", {"status": "ok"})
    (job / f"{TMP_PREFIX}x.json").write_text("{")
    failed = fake_job(tmp_path, 1, "aaa", "relu", status="failed")
    assert claim(job, tmp_path, "aaa") == (None, None)
    assert sorted(p.name for p in job.iterdir()) == [".hydra", "fits"]
    assert claim(failed, tmp_path, "aaa") == (None, None)  # a failed job runs again
    assert not (failed / "status.json").exists()


def test_a_folder_finished_twice_is_summarised_once(tmp_path):
    fake_job(tmp_path, 0, "aaa", "relu")
    fake_job(tmp_path, 1, "bbb", "tanh")
    fake_job(tmp_path, 2, "aaa", "relu")
    fake_job(tmp_path, 3, None, "selu", status="failed")
    assert [d.name for d in job_dirs(tmp_path)] == ["0", "1", "3"]
    assert sweep_frame(load(tmp_path, "sweep"))["status"].tolist() == ["ok", "ok", "failed"]


def test_run_job_skips_a_finished_config_and_returns_its_objective(make_cfg, tmp_path):
    cfg = make_cfg(["train.epochs=1"])
    job = tmp_path / "0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("[]\n")
    calls = []

    def task(cfg, out_dir):
        calls.append(out_dir)
        write_json(out_dir / "metrics.json", {"activation": "relu", "test_accuracy": 0.9})
        write_csv(out_dir / "history.csv", pd.DataFrame({"epoch": [1]}))
        return 0.75

    assert run_job(task, cfg, job, sweep_dir=tmp_path) == 0.75
    assert run_job(task, cfg, job, sweep_dir=tmp_path) == 0.75
    assert len(calls) == 1
    assert json.loads((job / "status.json").read_text())["config_hash"] == config_hash(cfg)


def mtimes(sweep_dir):
    return {p.parent.name: p.stat().st_mtime_ns for p in sweep_dir.glob("[0-9]*/metrics.json")}


@pytest.mark.slow
def test_rerun_with_renumbered_and_new_jobs_trains_only_the_new_one(cli, tmp_path):
    first = cli(["-m", "activation=relu,tanh", "train.epochs=1", *SWEEP, f"hydra.sweep.dir={tmp_path}"])
    assert first.returncode == 0, first.stderr[-2000:]
    before = mtimes(tmp_path)
    again = cli(["-m", "activation=tanh,relu,selu", "train.epochs=1", *SWEEP, f"hydra.sweep.dir={tmp_path}"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("skipped:") == 2
    after = mtimes(tmp_path)
    assert after["0"] == before["1"] and after["1"] == before["0"]  # the same files, not retrained
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["activation"]) == ["relu", "selu", "tanh"] and (summary["status"] == "ok").all()
    assert (summary["activation"] == summary["label"]).all()  # each folder's results match its overrides


def intact(path):
    """Whether a result file is complete: JSON parses, CSV reads, HTML is closed, PNG ends."""
    checks = {
        ".json": lambda p: isinstance(json.loads(p.read_text()), (dict, list)),
        # a CSV cut off mid-row still parses: a whole one ends with its last line's newline
        ".csv": lambda p: p.read_bytes().endswith(b"\n") and not pd.read_csv(p).empty,
        ".html": lambda p: p.read_text().rstrip().endswith("</html>"),
        ".png": lambda p: p.read_bytes().endswith(b"IEND\xaeB`\x82"),
        ".yaml": lambda p: yaml.safe_load(p.read_text()) is not None,
        ".log": lambda p: True,  # Hydra's job log, appended line by line (and empty when nothing was logged)
        ".lock": lambda p: True,  # a lock left by the kill (src.study_lock): judged by its own rules
    }
    return checks.get(path.suffix, lambda p: p.stat().st_size > 0)(path)


@pytest.mark.slow
def test_a_killed_sweep_leaves_whole_files_and_resumes_without_retraining(cli, tmp_path):
    args = ["-m", "activation=relu,tanh,selu,elu", "train.epochs=6", *SWEEP, f"hydra.sweep.dir={tmp_path}"]
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (tmp_path / "0" / "status.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (tmp_path / "0" / "metrics.json").exists() and not (tmp_path / "summary.csv").exists()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith(TMP_PREFIX)]
    assert [p for p in files if not intact(p)] == []
    finished = {k: v for k, v in mtimes(tmp_path).items() if (tmp_path / k / "status.json").exists()}
    assert "0" in finished

    done = cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["activation"]) == ["elu", "relu", "selu", "tanh"] and (summary["status"] == "ok").all()
    assert {k: v for k, v in mtimes(tmp_path).items() if k in finished} == finished
    assert done.stdout.count("skipped:") == len(finished)
    assert list(tmp_path.rglob(f"{TMP_PREFIX}*")) == []
    assert all(intact(p) for p in tmp_path.rglob("*") if p.is_file())


def interrupt_after_first_record(args, run_dir, timeout=300):
    """Start ``python -m src.run args``, press Ctrl-C (SIGINT) once a fit record exists; return (rc, stderr)."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    while not record_keys(run_dir / "fits") and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_in_a_grid_keeps_only_finished_fits_and_says_how_to_go_on(cli, tmp_path, jobs):
    # fit by fit: skorch ends a fit quietly on Ctrl-C; that fit must not be recorded, or scored, as finished
    args = ["mode=grid", "grid=notebook", "train.epochs=40", "cv.batched=false", f"cv.n_jobs={jobs}", *SWEEP,
            f"hydra.run.dir={tmp_path}"]
    code, err = interrupt_after_first_record(args, tmp_path)
    assert code == 130, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("interrupted: ") and "Traceback" not in err, err[-3000:]
    assert f"hydra.run.dir={tmp_path} goes on from them" in err
    kept = [json.loads(p.read_text()) for p in (tmp_path / "fits").glob("*.json")]
    assert kept and all(len(record["history"]) == 40 for record in kept)
    assert not (tmp_path / "summary.csv").exists()
    done = cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert len(folds) == 27 and (folds["epochs"] == 40).all()


@pytest.mark.slow
def test_ctrl_c_in_a_sweep_of_worker_processes_ends_in_lines_not_tracebacks(tmp_path):
    args = ["-m", "hydra/launcher=joblib", "activation=relu,tanh,selu", "data=digits", "train.epochs=400",
            "device=cpu", f"hydra.sweep.dir={tmp_path}"]
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300

    def training():
        logs = [tmp_path / str(job) / "run.log" for job in range(3)]
        return any(log.exists() and "train_loss" in log.read_text() for log in logs)

    while not training() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted: "), err[-3000:]
    assert f"hydra.sweep.dir={tmp_path} goes on from them" in err
