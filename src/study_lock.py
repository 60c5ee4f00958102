"""The lock of a study dir: one process writes in a run, grid or sweep job folder at a time.

The lock is a file (`src.layout.STUDY_LOCK`) made whole beside the folder's results and linked
into place (``link`` fails when the name exists, also on NFS; no ``flock``). It names its
holder: host, pid, start time, command and, in a Slurm job, the job id and attempt. Its
holder touches it every few seconds (a heartbeat thread). Who may take a lock over, and the
lines a refused or skipped run prints: docs/clusters.md#two-writers.
"""
import json
import logging
import os
import secrets
import shlex
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from . import layout
from .errors import UserError

log = logging.getLogger(__name__)

STALE_AFTER = 600  # seconds without a heartbeat after which a holder on another host counts as gone
TAKE_OVER = "lock.take_over=true"
HELD = set()  # the locks this process holds (released by `release_all` on a hard exit)


def _stat(pid):
    """The fields of ``/proc/PID/stat`` after the command's name (state first), or None where unknown."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _process_start(pid, fields=None):
    """When process ``pid`` started (clock ticks since boot, from /proc), or None where unknown."""
    try:
        return int((fields or _stat(pid))[19])
    except (TypeError, IndexError, ValueError):
        return None


def _alive(pid, started):
    """Whether process ``pid`` runs, and is the one that started at ``started`` (not a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    fields = _stat(pid)
    if fields and fields[0] == "Z":
        return False  # killed, not yet reaped
    return started is None or _process_start(pid, fields) in (None, started)


def this_process():
    """The holder's record of this process: host, pid, start time, command, Slurm job and attempt."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
            "started": time.time(), "command": shlex.join([Path(sys.executable).name, *sys.argv]),
            "slurm_job": os.environ.get("SLURM_JOB_ID"), "attempt": int(os.environ.get("SLURM_RESTART_COUNT") or 0),
            "token": secrets.token_hex(8)}


def _holder_at(path):
    """The holder a lock file names, with its ``heartbeat`` (the file's time); None when there is no file."""
    try:
        heartbeat, text = path.stat().st_mtime, path.read_text()
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        holder = {}
    return {**(holder if isinstance(holder, dict) else {}), "heartbeat": heartbeat}


def read_holder(folder):
    """The holder of ``folder``'s lock with its ``heartbeat`` (the file's time), or None when it is free."""
    return _holder_at(Path(folder) / layout.STUDY_LOCK)


def why_stale(holder, stale_after, me=None):
    """Why the holder of a lock is gone (a phrase), or None while it may still write.

    Gone: an earlier attempt of this Slurm job (requeued), a pid that no longer runs on this
    host, or a heartbeat older than ``stale_after`` seconds on another host.
    """
    me = me or this_process()
    if holder.get("slurm_job") and holder["slurm_job"] == me["slurm_job"] and holder.get("attempt", 0) < me["attempt"]:
        return f"it was attempt {holder.get('attempt', 0)} of Slurm job {holder['slurm_job']}, since requeued"
    if holder.get("host") == me["host"] and isinstance(holder.get("pid"), int):
        return None if _alive(holder["pid"], holder.get("pid_start")) else "its process is gone"
    age = time.time() - holder["heartbeat"]
    return f"its heartbeat is {age:.0f} s old (lock.stale_after={stale_after})" if age > stale_after else None


def describe(holder):
    """The holder in words: ``pid 12 on node1 since 2026-01-02 10:00:00 (heartbeat 3 s ago, python -m ...)``."""
    started = holder.get("started")
    since = datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "an unknown time"
    age = time.time() - holder["heartbeat"]
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} since {since} (heartbeat {age:.0f} s ago, "
            f"{holder.get('command', 'command unknown')})")


class Held(UserError):
    """A study dir that another live process holds: the one line of a refused run.

    Parameters
    ----------
    folder : Path
    holder : dict
        The holder (`read_holder`).
    """

    def __init__(self, folder, holder):
        self.folder, self.holder = Path(folder), holder
        super().__init__(f"{folder} is being written by another run: {describe(holder)}; wait for it to end "
                         f"(the same command then goes on from its files), or, if that run is gone, take the dir "
                         f"over with {TAKE_OVER}")

    def skipped(self):
        """The line of a sweep job skipped because another run holds its folder."""
        return f"skipped: {self.folder} is being written by {describe(self.holder)}; that run trains this job"


def _link(path, holder):
    """Create the lock file ``path`` holding ``holder``, whole, unless it exists; whether it was created."""
    tmp = path.with_name(f"{layout.TMP_PREFIX}{path.name}.{holder['token']}")
    tmp.write_text(json.dumps(holder))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _break(path, holder):
    """Remove the lock of ``holder`` (judged gone); a newer lock moved aside by a race is put back."""
    aside = path.with_name(f"{layout.TMP_PREFIX}{path.name}.{secrets.token_hex(8)}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    try:
        if (_holder_at(aside) or {}).get("token") != holder.get("token"):
            os.link(aside, path)  # another taker's fresh lock: back in place
    except FileExistsError:
        pass
    finally:
        aside.unlink(missing_ok=True)


class StudyLock:
    """The lock of one study dir, taken with `acquire` and released at the end of a ``with`` block.

    Parameters
    ----------
    folder : str or Path
        The run, grid or job folder.
    take_over : bool (default=False)
        Take the lock over even from a live holder (``lock.take_over``).
    stale_after : float (default=STALE_AFTER)
        Seconds without a heartbeat after which a holder on another host is gone (``lock.stale_after``).
    """

    def __init__(self, folder, take_over=False, stale_after=STALE_AFTER):
        self.folder, self.take_over, self.stale_after = Path(folder), take_over, stale_after
        self.path = self.folder / layout.STUDY_LOCK
        self.me, self._stop = this_process(), threading.Event()

    def check(self):
        """Raise `Held` when a live holder has the folder and ``take_over`` is off; change nothing."""
        holder = read_holder(self.folder)
        if holder is not None and not self.take_over and why_stale(holder, self.stale_after, self.me) is None:
            raise Held(self.folder, holder)

    def acquire(self):
        """Take the lock (a gone holder's, or any with ``take_over``, with one line saying so); return self.

        Raises
        ------
        Held
            A live holder has the folder.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            if _link(self.path, self.me):
                HELD.add(self)
                threading.Thread(target=self._beat, daemon=True, name="study-lock").start()
                return self
            holder = read_holder(self.folder)
            if holder is None:
                continue  # released meanwhile
            why = TAKE_OVER if self.take_over else why_stale(holder, self.stale_after, self.me)
            if why is None:
                raise Held(self.folder, holder)
            log.info(f"lock: took over {self.folder} from {describe(holder)}: {why}")
            _break(self.path, holder)
        raise Held(self.folder, read_holder(self.folder) or {"heartbeat": time.time()})

    def _ours(self):
        return (read_holder(self.folder) or {}).get("token") == self.me["token"]

    def _beat(self):
        """Touch the lock every few seconds while it is ours (the heartbeat)."""
        while not self._stop.wait(max(1.0, min(30.0, self.stale_after / 6))):
            try:
                if not self._ours():
                    log.warning(f"lock: {self.folder} was taken over by {describe(read_holder(self.folder))}")
                    return
                os.utime(self.path)
            except (OSError, TypeError, KeyError):
                return  # the folder was removed (a run that left no results)

    def release(self):
        """Stop the heartbeat and remove the lock, if it is still ours."""
        self._stop.set()
        HELD.discard(self)
        if self._ours():
            self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def release_all():
    """Release every lock this process holds (before ``os._exit``, which runs no ``finally``)."""
    for lock in list(HELD):
        lock.release()


def live_holder(folder, stale_after=STALE_AFTER):
    """The holder of ``folder`` while it may still write there (`why_stale`), else None."""
    holder = read_holder(folder)
    return holder if holder is not None and why_stale(holder, stale_after) is None else None
