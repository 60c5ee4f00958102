"""Two writers in one study dir: the lock, its holder, its heartbeat, taking a gone holder's over."""
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from src import layout
from src.config import schema
from src.errors import UserError
from src.study_lock import Held, StudyLock, read_holder, this_process
from tests.conftest import DATA_ROOT, FAST, ROOT, run_cli

GRID = [*FAST, f"data.root={DATA_ROOT}", "mode=grid", "grid.activation=[relu,tanh]", "cv.refit=false",
        "cv.batched=false"]


def gone_pid():
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def plant(folder, age_s=0, name=layout.STUDY_LOCK, **holder):
    """A lock file in ``folder`` naming ``holder`` (by default this process, on this machine), its heartbeat
    ``age_s`` seconds old."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    me = this_process()
    path.write_text(json.dumps({"host": me["host"], "pid": os.getpid(), "boot_id": me["boot_id"],
                                "pid_ns": me["pid_ns"], "started": time.time(), "command": "python -m src.run",
                                "token": "t", **holder}))
    age(path, age_s)
    return path


def age(path, seconds):
    """Set the time of ``path`` (the lock's heartbeat) ``seconds`` back."""
    os.utime(path, (time.time() - seconds, time.time() - seconds), follow_symlinks=False)


def test_the_lock_names_its_holder_beats_and_goes_at_the_end(tmp_path):
    with StudyLock(tmp_path, stale_after=10).acquire():
        holder = read_holder(tmp_path)
        assert (holder["host"], holder["pid"]) == (socket.gethostname(), os.getpid())
        assert holder["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        assert holder["pid_ns"] == os.stat("/proc/self/ns/pid").st_ino
        assert holder["started"] <= time.time() and "pytest" in holder["command"]
        os.utime(tmp_path / layout.STUDY_LOCK, (0, 0))
        time.sleep(2.5)  # the heartbeat comes every stale_after / 6 s, at least every second
        assert time.time() - read_holder(tmp_path)["heartbeat"] < 5
    assert read_holder(tmp_path) is None


def test_a_live_holder_refuses_a_second_writer_with_one_line(tmp_path):
    with StudyLock(tmp_path).acquire():
        with pytest.raises(Held) as refused:
            StudyLock(tmp_path).acquire()
        with pytest.raises(Held):
            StudyLock(tmp_path).check()
    line = str(refused.value)
    assert "\n" not in line and f"pid {os.getpid()} on {socket.gethostname()}" in line
    assert "wait for it to end" in line and "lock.take_over=true" in line
    assert "skipped:" in refused.value.skipped() and "that run trains this job" in refused.value.skipped()


@pytest.mark.parametrize("holder, why", [
    ({"pid": None}, "its process is gone"),  # this machine and pid namespace, a pid that has ended
    ({"host": "elsewhere", "boot_id": "b", "age_s": 700}, "its heartbeat is 700 s old (lock.stale_after=600)"),
])
def test_a_gone_holder_is_taken_over_with_one_line(tmp_path, caplog, holder, why):
    plant(tmp_path, **{**holder, "pid": holder.get("pid") or gone_pid()})
    with caplog.at_level(logging.INFO), StudyLock(tmp_path).acquire():
        assert read_holder(tmp_path)["pid"] == os.getpid()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("lock: took over")]
    assert len(lines) == 1 and why in lines[0] and str(tmp_path) in lines[0]


def test_a_fresh_holder_on_another_host_holds_until_taken_over(tmp_path, caplog):
    plant(tmp_path, host="elsewhere", boot_id="b", age_s=60)
    with pytest.raises(Held, match="on elsewhere"):
        StudyLock(tmp_path).acquire()
    with caplog.at_level(logging.INFO), StudyLock(tmp_path, take_over=True).acquire():
        assert read_holder(tmp_path)["host"] == socket.gethostname()
    assert "lock.take_over=true" in caplog.text


def test_a_requeued_slurm_job_takes_over_its_earlier_attempt(tmp_path, monkeypatch, caplog):
    plant(tmp_path, host="node7", slurm_job="41_0", attempt=0)  # its heartbeat is fresh
    monkeypatch.setenv("SLURM_JOB_ID", "41_0")
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    with caplog.at_level(logging.INFO), StudyLock(tmp_path).acquire():
        pass
    assert "attempt 0 of Slurm job 41_0, since requeued" in caplog.text
    plant(tmp_path, host="node7", slurm_job="99", attempt=0)  # another job's lock holds
    with pytest.raises(Held):
        StudyLock(tmp_path).acquire()


def test_run_from_python_into_a_held_dir_is_refused_and_writes_nothing(tmp_path):
    from src import api

    with StudyLock(tmp_path).acquire(), pytest.raises(Held, match="is being written by another run"):
        api.run(*FAST, f"data.root={DATA_ROOT}", out_dir=tmp_path)
    assert not layout.config_file(tmp_path).exists()


def test_the_lock_keys_are_checked_by_the_schema(make_cfg):
    schema.check(make_cfg(["lock.stale_after=60", "lock.take_over=true"]))
    with pytest.raises(UserError, match=r"lock.stale_after must be in \[10, 86400\], got 5"):
        schema.check(make_cfg(["lock.stale_after=5"]))


def test_a_softmax_by_import_path_is_refused_in_one_line(tmp_path):
    done = run_cli([*FAST, "activation=torch.nn:Softmax", f"hydra.run.dir={tmp_path / 'run'}"])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith("error: activation 'torch.nn:Softmax': it is not elementwise")
    assert not (tmp_path / "run").exists()


def start(args):
    """``python -m src.run args`` started in the background (text output)."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    return subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_a_record(proc, folder, timeout=300):
    """Wait until ``proc``, still running, has written a fit record in ``folder``."""
    deadline = time.monotonic() + timeout
    while not layout.record_keys(layout.fits_dir(folder)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()[-2000:]
        time.sleep(0.2)


def finish(procs, timeout=600):
    """``[(returncode, stdout, stderr)]`` of processes started by `start`, killed if they overrun."""
    try:
        return [(p, *p.communicate(timeout=timeout)) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.slow
def test_two_grids_started_at_once_in_one_dir_train_once(tmp_path):
    # worker processes (search.backend=local) write the fit records under the grid's lock
    args = [*GRID, "search.backend=local", "cv.n_jobs=2", f"hydra.run.dir={tmp_path}"]
    done = finish([start(args), start(args)])
    codes = sorted(p.returncode for p, _, _ in done)
    assert codes == [0, 2], [err[-2000:] for _, _, err in done]
    _, _, refused = next(d for d in done if d[0].returncode == 2)
    assert refused.count("\n") == 1 and "is being written by another run: pid" in refused
    assert "lock.take_over=true" in refused
    winner = next(p for p, _, _ in done if p.returncode == 0)
    assert f"pid {winner.pid} " in refused
    assert len(layout.record_keys(layout.fits_dir(tmp_path))) == 6  # 2 activations x 3 folds, each once
    assert (tmp_path / layout.SUMMARY).exists() and read_holder(tmp_path) is None


@pytest.mark.slow
def test_a_sweep_started_twice_in_one_dir_trains_every_job_once(tmp_path):
    args = ["-m", *GRID, "grid.activation=[relu]", "cv.folds=2", "seed=0,1,2,3", f"hydra.sweep.dir={tmp_path}"]
    done = finish([start(args), start(args)])
    assert [p.returncode for p, _, _ in done] == [0, 0], [err[-2000:] for _, _, err in done]
    jobs = [tmp_path / str(n) for n in range(4)]
    for job in jobs:
        trained_by = [out + err for _, out, err in done if not any(
            f"skipped: {job} {why}" in out + err for why in ("is being written by", "already holds"))]
        assert len(trained_by) == 1, job  # one sweep trained it, the other skipped it
        status = job / layout.STATUS
        assert json.loads(status.read_text())["status"] == "ok"
        records = [layout.record_path(layout.fits_dir(job), key) for key in layout.record_keys(layout.fits_dir(job))]
        assert len(records) == 2 and all(r.stat().st_mtime_ns <= status.stat().st_mtime_ns for r in records)
    held = sum((out + err).count("is being written by") for _, out, err in done)
    assert held >= 1  # the second sweep met a job that the first held
    assert all(read_holder(job) is None for job in jobs)


@pytest.mark.slow
def test_after_kill_9_the_next_run_takes_over_and_resumes(tmp_path):
    args = [*GRID, "train.epochs=40", "cv.n_jobs=1", f"hydra.run.dir={tmp_path}"]
    first = start(args)
    try:
        wait_for_a_record(first, tmp_path)
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        finish([first])
    kept = {key: layout.record_path(layout.fits_dir(tmp_path), key).stat().st_mtime_ns
            for key in layout.record_keys(layout.fits_dir(tmp_path))}
    assert read_holder(tmp_path)["pid"] == first.pid  # left behind
    done = run_cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    took = [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("lock: took over")]
    assert len(took) == 1 and f"pid {first.pid} " in took[0] and took[0].endswith("its process is gone")
    assert all(layout.record_path(layout.fits_dir(tmp_path), key).stat().st_mtime_ns == mtime
               for key, mtime in kept.items())  # resumed: not trained again
    assert len(layout.record_keys(layout.fits_dir(tmp_path))) == 6 and read_holder(tmp_path) is None


def test_a_twin_machines_fresh_lock_refuses_a_run_in_one_line(tmp_path):
    # this host's name, a pid that is not running here, but another machine's boot: its heartbeat decides
    plant(tmp_path, pid=gone_pid(), boot_id="another-machine", age_s=30)
    done = run_cli([*FAST, f"data.root={DATA_ROOT}", "train.epochs=1", f"hydra.run.dir={tmp_path}"])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith(f"error: {tmp_path} is being written by another run: pid ")
    assert f"on {socket.gethostname()} (another machine or pid namespace of that name)" in done.stderr
    assert read_holder(tmp_path)["boot_id"] == "another-machine" and not (tmp_path / layout.HYDRA).exists()


def test_a_damaged_lock_refuses_a_run_while_fresh_and_is_set_aside_once_stale(tmp_path):
    path = tmp_path / layout.STUDY_LOCK
    tmp_path.mkdir(exist_ok=True)
    path.write_text('{"host": "node1", "pid": 12')
    args = [*FAST, f"data.root={DATA_ROOT}", "train.epochs=1", f"hydra.run.dir={tmp_path}"]
    done = run_cli(args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert done.stderr.startswith(f"error: {path} is damaged (it is not JSON)")
    assert "delete it or take the dir over with lock.take_over=true" in done.stderr
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    done = run_cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    took = [line for line in (done.stdout + done.stderr).splitlines() if "lock: took over" in line]
    assert len(took) == 1 and "from a damaged lock (it is not JSON), set aside in" in took[0], took
    assert (layout.damaged_dir(tmp_path) / layout.STUDY_LOCK).read_text() == '{"host": "node1", "pid": 12'
    assert (tmp_path / layout.METRICS).exists() and read_holder(tmp_path) is None


def written(folder):
    """``{file: (mtime_ns, size)}`` under ``folder``, the lock and the job's log left out."""
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")
            if p.is_file() and p.name != layout.STUDY_LOCK and p.suffix != ".log"}


@pytest.mark.slow
def test_a_grid_whose_dir_is_taken_over_stops_in_one_line_and_writes_nothing_more(tmp_path):
    args = [*GRID, "train.epochs=40", "cv.n_jobs=1", "train.checkpoint_every=2", f"hydra.run.dir={tmp_path}"]
    run = start(args)
    try:
        wait_for_a_record(run, tmp_path)
        other = plant(tmp_path / "elsewhere", host="node2", pid=77, boot_id="b", token="theirs")
        os.replace(other, tmp_path / layout.STUDY_LOCK)  # another host judged it gone and took it over
        before = written(tmp_path)
        (_, out, err), = finish([run])
    finally:
        finish([run])
    assert run.returncode == 2 and err.count("\n") == 1, err[-2000:]
    assert err.startswith(f"error: lost {tmp_path}: taken over by pid 77 on node2 since ")
    assert err.rstrip().endswith("this job wrote nothing more there")
    assert written(tmp_path) == before and read_holder(tmp_path)["token"] == "theirs"
