"""The study-dir lock on a cluster: who may judge a holder's pid, damaged locks, a lost lock, breaking a stale one."""
import errno
import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time

import pytest

from src import files, layout, study_lock
from src.modes.job_dirs import claim
from src.modes.jobs import run_job
from src.study_lock import Held, LockLost, StudyLock, read_holder
from tests.conftest import ROOT
from tests.test_two_writers import age, gone_pid, plant

HOUR = 3600


@pytest.fixture
def quick_beat(monkeypatch):
    """A heartbeat every 0.05 s."""
    monkeypatch.setattr(study_lock, "BEAT_S", (0.05, 0.05))


def took_over(caplog):
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("lock: took over")]


# -- whose pid can be judged here --------------------------------------------------------------------------------


@pytest.mark.parametrize("twin", [{"boot_id": "another-boot"}, {"pid_ns": 1}])
def test_a_holder_of_this_host_name_on_another_machine_or_namespace_holds_while_it_beats(tmp_path, caplog, twin):
    # a clone or container named like this host: its pid means nothing here, even one that is not running
    plant(tmp_path, pid=gone_pid(), age_s=60, **twin)
    with pytest.raises(Held) as refused:
        StudyLock(tmp_path).acquire()
    line = str(refused.value)
    assert "\n" not in line and "(another machine or pid namespace of that name)" in line
    age(tmp_path / layout.STUDY_LOCK, 700)
    with caplog.at_level(logging.INFO), StudyLock(tmp_path).acquire():
        pass
    assert len(took_over(caplog)) == 1 and "its heartbeat is 700 s old" in took_over(caplog)[0]


def test_where_boot_id_and_pid_namespace_cannot_be_read_only_the_heartbeat_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(study_lock, "_boot_id", lambda: None)
    monkeypatch.setattr(study_lock, "_pid_ns", lambda: None)
    plant(tmp_path, pid=gone_pid(), boot_id=None, pid_ns=None, age_s=60)  # its pid has ended, its heartbeat is fresh
    with pytest.raises(Held):
        StudyLock(tmp_path).acquire()
    age(tmp_path / layout.STUDY_LOCK, 700)
    with StudyLock(tmp_path).acquire():
        assert read_holder(tmp_path)["pid"] == os.getpid()


# -- a damaged lock ----------------------------------------------------------------------------------------------


def damage(folder, kind):
    path = folder / layout.STUDY_LOCK
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "it is not a file":
        path.mkdir()
        (path / "inside").write_text("x")
    else:
        path.write_text({"it is not JSON": '{"host": "node1", "pi', "it names no holder": "[1, 2]"}[kind])
    return path


@pytest.mark.parametrize("kind", ["it is not JSON", "it names no holder", "it is not a file"])
def test_a_fresh_damaged_lock_is_refused_in_one_line_that_names_it_and_the_remedy(tmp_path, kind):
    path = damage(tmp_path, kind)
    for attempt in (StudyLock(tmp_path).check, StudyLock(tmp_path).acquire):
        with pytest.raises(Held) as refused:
            attempt()
        line = str(refused.value)
        assert "\n" not in line and line.startswith(f"{path} is damaged ({kind})")
        assert "delete it or take the dir over with lock.take_over=true" in line and "lock.stale_after=600" in line
    assert refused.value.skipped().startswith(f"skipped: {path} is damaged ({kind})")
    with StudyLock(tmp_path, take_over=True).acquire():
        assert read_holder(tmp_path)["pid"] == os.getpid()


@pytest.mark.parametrize("kind", ["it is not JSON", "it is not a file"])
def test_a_stale_damaged_lock_is_set_aside_and_taken_over_with_one_line(tmp_path, caplog, kind):
    path = damage(tmp_path, kind)
    age(path, 2 * HOUR)
    with caplog.at_level(logging.INFO), StudyLock(tmp_path).acquire():
        assert read_holder(tmp_path)["pid"] == os.getpid()
    lines = took_over(caplog)
    assert len(lines) == 1 and f"from a damaged lock ({kind}), set aside in {layout.damaged_dir(tmp_path)}" in lines[0]
    assert "its heartbeat is 7200 s old" in lines[0]
    kept = layout.damaged_dir(tmp_path) / layout.STUDY_LOCK
    assert kept.is_dir() if kind == "it is not a file" else kept.read_text().startswith('{"host": "node1"')


def test_a_lock_that_cannot_be_read_is_damaged(tmp_path, monkeypatch):
    path = plant(tmp_path)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(study_lock, "open", refused, raising=False)
    with pytest.raises(Held, match=r"is damaged \(it cannot be read \(Permission denied\)\)"):
        StudyLock(tmp_path).acquire()
    age(path, 2 * HOUR)
    with StudyLock(tmp_path).acquire():
        pass
    assert (layout.damaged_dir(tmp_path) / layout.STUDY_LOCK).exists()


# -- a lock lost while held --------------------------------------------------------------------------------------


def test_a_heartbeat_survives_a_moment_it_cannot_read_the_lock(tmp_path, monkeypatch, quick_beat):
    failing, read = {"n": 3}, study_lock._holder_at

    def flaky(path, strict=False):
        if strict and failing["n"]:
            failing["n"] -= 1
            raise OSError(errno.ESTALE, "Stale file handle")
        return read(path, strict)

    monkeypatch.setattr(study_lock, "_holder_at", flaky)
    with StudyLock(tmp_path, stale_after=10).acquire() as lock:
        age(lock.path, 60)
        deadline = time.monotonic() + 10
        while time.time() - read_holder(tmp_path)["heartbeat"] > 5:  # beating again after three failed reads
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert failing["n"] == 0 and lock.lost is None
        files.write_json(tmp_path / "still-ours.json", {})


@pytest.mark.parametrize("how, why", [
    ("removed", "its lock was removed"),
    ("taken", "taken over by pid 1 on elsewhere since"),
    ("damaged", "its lock was replaced by a damaged one (it is not JSON)"),
])
def test_a_lost_lock_is_noticed_and_nothing_more_is_written(tmp_path, quick_beat, how, why):
    with StudyLock(tmp_path).acquire() as lock:
        (tmp_path / "old.json").write_text("{")
        if how == "removed":
            lock.path.unlink()
        elif how == "taken":
            other = plant(tmp_path / "other", host="elsewhere", pid=1, boot_id="b", token="theirs")
            os.replace(other, lock.path)
        else:
            lock.path.write_text("{")
        deadline = time.monotonic() + 10
        while lock.lost is None:  # the heartbeat notices
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert why in lock.lost
        with pytest.raises(LockLost, match=re.escape(f"lost {tmp_path}: {why}")):
            files.write_json(tmp_path / "more.json", {})
        with pytest.raises(LockLost):
            files.set_aside([tmp_path / "old.json"], layout.damaged_dir(tmp_path))
    assert not (tmp_path / "more.json").exists() and not layout.damaged_dir(tmp_path).exists()
    assert how == "removed" or lock.path.exists()  # the new holder's lock is left alone


def test_a_write_notices_a_lost_lock_before_the_heartbeat_does(tmp_path):
    with StudyLock(tmp_path, stale_after=600).acquire() as lock:  # the next beat in 30 s
        lock.path.write_text(json.dumps({"host": "elsewhere", "pid": 1, "token": "theirs"}))
        with pytest.raises(LockLost, match="taken over by pid 1 on elsewhere"):
            files.write_json(tmp_path / "more.json", {})
        files.write_json(tmp_path.parent / f"{tmp_path.name}-elsewhere.json", {})  # other folders: written
    assert not (tmp_path / "more.json").exists()


def take_over_and_write(cfg, out_dir):
    """A job whose folder another run takes over before it writes its result."""
    other = plant(out_dir / "other", host="elsewhere", pid=1, boot_id="b", token="theirs")
    os.replace(other, out_dir / layout.STUDY_LOCK)
    files.write_json(out_dir / "result.json", {"objective": 1.0})
    return 1.0


def test_a_run_that_loses_its_dir_stops_and_a_sweep_leaves_that_job_to_the_new_holder(tmp_path, make_cfg, caplog):
    cfg = make_cfg([])
    with pytest.raises(LockLost, match="taken over by pid 1 on elsewhere"):
        run_job(take_over_and_write, cfg, tmp_path / "run", raise_errors=True)
    with caplog.at_level(logging.INFO):
        objective = run_job(take_over_and_write, cfg, tmp_path / "sweep" / "0", sweep_dir=tmp_path / "sweep")
    assert math.isnan(objective)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("lost ")]
    assert len(lines) == 1 and lines[0].endswith("this job wrote nothing more there")
    for job in (tmp_path / "run", tmp_path / "sweep" / "0"):
        assert not (job / "result.json").exists() and not (job / layout.STATUS).exists()
        assert read_holder(job)["token"] == "theirs"


# -- breaking a stale lock ---------------------------------------------------------------------------------------


STARTER = """
import sys, time
from src.study_lock import Held, StudyLock
folder, at = sys.argv[1], float(sys.argv[2])
time.sleep(max(0.0, at - time.time() - 0.02))
while time.time() < at:
    pass
try:
    with StudyLock(folder).acquire():
        print("won", flush=True)
        time.sleep(1)
except Held as exc:
    print("refused:", exc, flush=True)
"""


def test_three_starters_on_a_stale_lock_one_takes_it_and_two_are_refused(tmp_path):
    plant(tmp_path, host="elsewhere", boot_id="b", age_s=700)
    at = time.time() + 1.5  # after every interpreter has started
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, str(tmp_path), str(at)], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    said = sorted(out.strip().split(":")[0] for out, _ in outs)
    assert said == ["refused", "refused", "won"], outs
    assert all("is being written by another run: pid" in out for out, _ in outs if out.startswith("refused"))
    assert read_holder(tmp_path) is None and not list(tmp_path.glob(f"{layout.STUDY_LOCK}.*"))


def test_many_starters_on_stale_locks_never_hold_one_together(tmp_path):
    for round_ in range(20):
        folder = tmp_path / str(round_)
        plant(folder, host="elsewhere", boot_id="b", age_s=700)
        barrier, holders = threading.Barrier(6), []

        def start(folder=folder, barrier=barrier, holders=holders):
            barrier.wait()
            try:
                holders.append(StudyLock(folder).acquire())
            except Held:
                pass

        threads = [threading.Thread(target=start) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(holders) == 1 and read_holder(folder)["token"] == holders[0].me["token"]
        holders[0].release()


# -- the sweep's claims ------------------------------------------------------------------------------------------


def test_a_claim_waits_for_another_jobs_claim_and_takes_a_gone_ones(tmp_path):
    sweep, job = tmp_path / "sweep", tmp_path / "sweep" / "0"
    job.mkdir(parents=True)
    plant(sweep, name=layout.CLAIM_LOCK, pid=gone_pid())  # a job killed while it claimed
    assert claim(job, sweep, "k") == (None, None)
    assert not (sweep / layout.CLAIM_LOCK).exists()
    held = StudyLock(sweep, name=layout.CLAIM_LOCK).acquire()
    threading.Timer(0.5, held.release).start()
    tic = time.monotonic()
    assert claim(job, sweep, "k") == (None, None)
    assert time.monotonic() - tic >= 0.4
