"""Sweeps through ``hydra/launcher=slurm`` on a real one-node Slurm cluster (the ``slurm`` fixture).

The cluster has no accounting (``sacct`` fails), as a small or new cluster often has: the
launcher must still see every job end, and record the ones Slurm ended (cancelled, timed out).
"""
import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from tests.clusters import alive, daemon_pids, slurm_cluster
from tests.conftest import ROOT
from tests.tools import require

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

SLURM = ["-m", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
         "data=digits", "train.verbose=0", "device=cpu"]


def sweep(args, env, timeout=300):
    """Run ``python -m src.run args`` in the cluster's environment; the CompletedProcess."""
    env = dict(env, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def no_sacct_noise(done):
    output = done.stdout + done.stderr
    assert "Bypassing sacct" not in output and "accounting storage is disabled" not in output, output[-2000:]


def test_a_sweep_runs_through_sbatch_and_is_summarised(slurm, tmp_path):
    done = sweep([*SLURM, "train.epochs=1", "activation=relu,tanh", f"hydra.sweep.dir={tmp_path}"], slurm)
    assert done.returncode == 0, done.stderr[-3000:]
    no_sacct_noise(done)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["activation"]) == ["relu", "tanh"] and (summary["status"] == "ok").all()
    assert (tmp_path / "hiplot.html").read_text().rstrip().endswith("</html>")
    assert len(list((tmp_path / ".submitit").glob("*/*_submission.sh"))) >= 1  # it went through sbatch
    for job in ("0", "1"):
        assert json.loads((tmp_path / job / "metrics.json").read_text())["threads"] == 1


def test_a_grid_job_uses_the_cores_slurm_gave_it(slurm, tmp_path):
    assert len(os.sched_getaffinity(0)) >= 2  # the machine has more than the job is given
    done = sweep([*SLURM, "mode=grid", "train.epochs=1", "grid.activation=[relu,tanh]", "cv.refit=false", "cv.repeats=1",
                  "cv.n_jobs=auto", f"hydra.sweep.dir={tmp_path}"], slurm)
    assert done.returncode == 0, done.stderr[-3000:]
    search = json.loads((tmp_path / "0" / "search.json").read_text())
    assert (search["n_jobs"], search["threads"]) == (1, 1)
    assert len(pd.read_csv(tmp_path / "summary.csv")) == 2


def _job_id(job_dir, deadline):
    """The Slurm job id of a sweep job, once it has started (Hydra's record of it)."""
    hydra_yaml = job_dir / ".hydra" / "hydra.yaml"
    while True:  # Hydra writes the file in place: it may be read half-written, then read again
        try:
            return str(yaml.safe_load(hydra_yaml.read_text())["hydra"]["job"]["id"])
        except (FileNotFoundError, yaml.YAMLError, TypeError, KeyError):
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.1)


def test_a_cancelled_job_is_recorded_and_the_rerun_trains_only_it(slurm, tmp_path):
    # scancel sends SIGTERM, which submitit lets pass, and SIGKILL KillWait (5 s) later: the
    # victim must still be training then (1000 epochs: about 14 s on one core here)
    args = [*SLURM, "train.epochs=1000", "activation=relu,tanh", f"hydra.sweep.dir={tmp_path}"]
    env = dict(slurm, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        victim = _job_id(tmp_path / "1", time.monotonic() + 120)
        subprocess.run(["scancel", victim], env=slurm, check=True)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err[-3000:]  # the sweep says that a job failed
    no_sacct_noise(subprocess.CompletedProcess(args, 1, out, err))
    status = json.loads((tmp_path / "1" / "status.json").read_text())
    assert status["status"] == "killed" and "cancelled" in status["error"] and victim in status["error"]
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("activation")
    assert summary.loc["relu", "status"] == "ok" and summary.loc["tanh", "status"] == "killed"
    finished = (tmp_path / "0" / "metrics.json").stat().st_mtime_ns

    again = sweep(args, slurm)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "0" / "metrics.json").stat().st_mtime_ns == finished  # not trained again
    skipped = [p for p in (tmp_path / ".submitit").glob("*/*_log.out") if "skipped:" in p.read_text()]
    assert len(skipped) == 1
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["activation"]) == ["relu", "tanh"] and (summary["status"] == "ok").all()


def test_a_job_over_its_time_limit_is_reported_as_timed_out(slurm, tmp_path):
    # Slurm's shortest limit is a minute; submitit asks Slurm for a warning signal_delay_s (120 s)
    # before it, which then comes within Slurm's timer resolution (up to a minute) of the start,
    # and the job stops as it would 2 minutes before a longer limit. Where the warning lands
    # varies: in the project's guard, in Hydra's or submitit's code before it, or in a process
    # still starting (which it ends); each is recorded as a timeout.
    done = sweep([*SLURM, "train.epochs=5000", "hydra.launcher.timeout_min=1", f"hydra.sweep.dir={tmp_path}"], slurm)
    assert done.returncode == 1, done.stderr[-3000:]
    no_sacct_noise(done)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["status"].tolist() == ["timeout"] and "time limit" in summary["error"][0]


def _wait_state(job_id, wanted, env, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%T", f"--jobs={job_id}"], env=env,
                               capture_output=True, text=True).stdout.strip()
        if state in wanted:
            return state
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} is {state!r}, not one of {wanted}")


def test_a_job_ended_by_the_time_limit_warning_is_told_from_a_failure(slurm, monkeypatch, tmp_path):
    """The launcher's reading of ``scontrol``: a job that the warning signal ended (before
    submitit could catch it) is a timeout near its limit, a preemption otherwise; an exit
    with an error is neither."""
    import signal

    from hydra_plugins.activation_bench.slurm_launcher import slurm_ending, warned

    monkeypatch.setenv("SLURM_CONF", slurm["SLURM_CONF"])

    def submit(*args):
        return subprocess.run(["sbatch", "--parsable", "--time=1", f"--output={tmp_path}/slurm-%j.out", *args],
                              env=slurm, capture_output=True, text=True, check=True).stdout.strip()

    warned_job, failing_job = submit("--wrap", "srun sleep 100"), submit("--wrap", "exit 3")
    _wait_state(warned_job, {"RUNNING"}, slurm)
    time.sleep(1)  # the step (srun sleep) has started
    subprocess.run(["scancel", "--signal=USR2", warned_job], env=slurm, check=True)
    _wait_state(warned_job, {"FAILED"}, slurm)
    _wait_state(failing_job, {"FAILED"}, slurm)
    ending = slurm_ending(warned_job)
    assert ending["signal"] == signal.SIGUSR2 and ending["limit_s"] == 60 and ending["run_s"] < 60, ending
    assert warned(ending, 120)[0] == "timeout"  # within signal_delay_s (and a minute) of its limit
    assert warned({**ending, "limit_s": 3600}, 120)[0] == "killed"  # far from it: a preemption
    failing = slurm_ending(failing_job)
    assert failing["signal"] is None and warned(failing, 120) is None, failing
    assert slurm_ending("999999") is None


def test_submitit_s_time_limit_error_is_read_as_a_timeout():
    from hydra_plugins.activation_bench.slurm_launcher import _timed_out

    raised = ("Job (task=0) failed during processing with trace:\n----------------------\nTraceback (most recent call "
              "last):\n  ...\nsubmitit.core.utils.UncompletedJobError: Job not requeued because: timed-out too many "
              "times.\n")
    assert _timed_out(raised)
    assert not _timed_out("Job (task=0) failed during processing with trace:\nValueError: bad input")


def test_the_cluster_script_stops_every_daemon_it_started_also_after_a_failure(tmp_path_factory, pytestconfig):
    require("slurm", pytestconfig)
    folder = tmp_path_factory.mktemp("slurm-stop")
    pids = {}
    with pytest.raises(RuntimeError, match="a failing test"):
        with slurm_cluster(folder) as env:
            pids = daemon_pids(folder)
            assert subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True,
                                  text=True).stdout.split() == ["idle"]
            raise RuntimeError("a failing test")
    assert sorted(pids) == ["munged.pid", "slurmctld.pid", "slurmd.pid"]
    assert [name for name, pid in pids.items() if alive(pid)] == []
