"""The lock of a study dir: one process writes in a run, grid or sweep job folder at a time.

The lock is a file (`src.layout.STUDY_LOCK`) made whole beside the folder's results and linked
into place (``link`` fails when the name exists, also on NFS; no advisory file locks). It names its
holder: host, pid, start time, the machine's boot id and the pid namespace (which tell whether
its pid can be judged here), command and, in a Slurm job, the job id and attempt. Its holder
touches it every few seconds (a heartbeat thread), and a holder that finds its lock gone or
another's writes nothing more in the folder (`LockLost`). A lock judged gone is broken under a
claim named after it, so that of several starters exactly one takes the folder. A sweep's jobs
claim finished results under the same kind of lock (`src.layout.CLAIM_LOCK`). Who may take a
lock over, and the lines a refused, skipped or stopped run prints: docs/clusters.md#two-writers.
"""
import hashlib
import json
import logging
import os
import secrets
import shlex
import socket
import stat
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from . import files, layout
from .errors import UserError

log = logging.getLogger(__name__)

STALE_AFTER = 600  # seconds without a heartbeat after which a holder whose pid cannot be judged here is gone
TAKE_OVER = "lock.take_over=true"
BEAT_S = (1.0, 30.0)  # the heartbeat comes every stale_after / 6 seconds, within these bounds
HELD = set()  # the locks this process holds (released by `release_all` on a hard exit)
BREAK = ".break-"  # a claim to break a lock judged gone: the lock's name, this, and the lock's identity
TRIES = 100  # attempts to take a lock while other starters break or release it ...
RETRY_S = 0.05  # ... this long apart
SAY_WAIT_S = 10  # a sweep job waiting this long for another's claim says so in one line


def _boot_id():
    """This machine's boot id (Linux), or None where it cannot be read."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _pid_ns():
    """The inode of this process's pid namespace (Linux), or None where it cannot be read."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


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
    """The holder's record of this process: host, pid, start time, boot id, pid namespace, command, Slurm job
    and attempt, and a token of its own."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "pid_start": _process_start(os.getpid()),
            "boot_id": _boot_id(), "pid_ns": _pid_ns(), "started": time.time(),
            "command": shlex.join([Path(sys.executable).name, *sys.argv]),
            "slurm_job": os.environ.get("SLURM_JOB_ID"), "attempt": int(os.environ.get("SLURM_RESTART_COUNT") or 0),
            "token": secrets.token_hex(8)}


def _same_pids(holder, me):
    """Whether ``holder``'s pid means the same process here: the same boot of the same machine, the same pid
    namespace (a host name does not tell: containers and cloned machines share theirs)."""
    return (me["boot_id"] is not None and me["pid_ns"] is not None
            and (holder.get("boot_id"), holder.get("pid_ns")) == (me["boot_id"], me["pid_ns"]))


def _identity(st, data):
    """A digest of one state of a lock file: its inode, time and content (a heartbeat changes it)."""
    key = f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:".encode() + data
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def _holder_at(path, strict=False):
    """The holder a lock file names, with its ``heartbeat`` (the file's time) and ``identity``; None when
    there is no file.

    A lock that names no holder (not a file, not JSON, unreadable) comes back as ``damaged``: what is
    wrong with it. With ``strict``, a file that cannot be read now raises its `OSError` instead.
    """
    path, st = Path(path), None
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return {"heartbeat": st.st_mtime, "identity": _identity(st, b""), "damaged": "it is not a file"}
        with open(path, "rb") as fh:
            st, data = os.fstat(fh.fileno()), fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if strict:
            raise
        return {"heartbeat": st.st_mtime if st else time.time(), "identity": _identity(st, b"") if st else "unread",
                "damaged": f"it cannot be read ({exc.strerror or exc})"}
    found = {"heartbeat": st.st_mtime, "identity": _identity(st, data)}
    try:
        holder = json.loads(data)
    except ValueError:
        return {**found, "damaged": "it is not JSON"}
    if not isinstance(holder, dict) or not isinstance(holder.get("token"), str):
        return {**found, "damaged": "it names no holder"}
    return {**holder, **found}


def read_holder(folder):
    """The holder of ``folder``'s lock with its ``heartbeat`` (the file's time), or None when it is free."""
    return _holder_at(Path(folder) / layout.STUDY_LOCK)


def why_stale(holder, stale_after, me=None):
    """Why the holder of a lock is gone (a phrase), or None while it may still write.

    Gone: an earlier attempt of this Slurm job (requeued); a pid that no longer runs, judged
    only where the holder's boot id and pid namespace are this process's; otherwise, and for a
    damaged lock, a heartbeat older than ``stale_after`` seconds.
    """
    me = me or this_process()
    if holder.get("slurm_job") and holder["slurm_job"] == me["slurm_job"] and holder.get("attempt", 0) < me["attempt"]:
        return f"it was attempt {holder.get('attempt', 0)} of Slurm job {holder['slurm_job']}, since requeued"
    if _same_pids(holder, me) and isinstance(holder.get("pid"), int):
        return None if _alive(holder["pid"], holder.get("pid_start")) else "its process is gone"
    age = time.time() - holder["heartbeat"]
    return f"its heartbeat is {age:.0f} s old (lock.stale_after={stale_after})" if age > stale_after else None


def describe(holder, me=None):
    """The holder in words: ``pid 12 on node1 since 2026-01-02 10:00:00 (heartbeat 3 s ago, python -m ...)``.

    A holder on another machine or in another pid namespace under this host's name says so; a
    damaged lock is ``an unknown run (its lock is damaged: ...)``.
    """
    age = time.time() - holder["heartbeat"]
    if "damaged" in holder:
        return f"an unknown run (its lock is damaged: {holder['damaged']}; {age:.0f} s old)"
    me = me or this_process()
    started = holder.get("started")
    since = datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S") if started else "an unknown time"
    twin = (" (another machine or pid namespace of that name)"
            if holder.get("host") == me["host"] and not _same_pids(holder, me) else "")
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}{twin} since {since} (heartbeat {age:.0f} s "
            f"ago, {holder.get('command', 'command unknown')})")


class Held(UserError):
    """A study dir that another live process holds, or whose fresh lock is damaged: the one line of a refused run.

    Parameters
    ----------
    path : Path
        The lock file.
    holder : dict
        The holder (`read_holder`).
    stale_after : float (default=STALE_AFTER)
        ``lock.stale_after``, which a damaged lock's line names.
    """

    def __init__(self, path, holder, stale_after=STALE_AFTER):
        self.path, self.folder, self.holder, self.stale_after = Path(path), Path(path).parent, holder, stale_after
        if "damaged" in holder:
            age = time.time() - holder["heartbeat"]
            line = (f"{path} is damaged ({holder['damaged']}) and {age:.0f} s old, so no run can be told to hold "
                    f"{self.folder}: if none writes there, delete it or take the dir over with {TAKE_OVER} (once "
                    f"lock.stale_after={stale_after} s old it is set aside and taken over by itself)")
        else:
            line = (f"{self.folder} is being written by another run: {describe(holder)}; wait for it to end (the "
                    f"same command then goes on from its files), or, if that run is gone, take the dir over with "
                    f"{TAKE_OVER}")
        super().__init__(line)

    def skipped(self):
        """The line of a sweep job skipped because another run holds its folder."""
        if "damaged" in self.holder:
            return (f"skipped: {self.path} is damaged ({self.holder['damaged']}); the same sweep started again once "
                    f"it is lock.stale_after={self.stale_after} s old sets it aside and runs this job")
        return f"skipped: {self.folder} is being written by {describe(self.holder)}; that run trains this job"


class LockLost(BaseException):
    """A study dir taken over by another process while this one held it: this one writes nothing more there.

    Raised by the next write into the folder (`src.files.atomic_path`). Not an ``Exception``: nothing
    that records a failed fit catches it; the job ends with its one line (`src.modes.job_failures.stops_if_lost`).

    Parameters
    ----------
    folder : Path
    why : str
        To whom it went: ``taken over by pid 12 on node2 ...``, ``its lock was removed``.
    """

    def __init__(self, folder, why):
        super().__init__(f"lost {folder}: {why}")
        self.folder, self.why = Path(folder), why

    def __reduce__(self):
        return type(self), (self.folder, self.why)


def _link(path, holder):
    """Create the lock file ``path`` holding ``holder``, whole, unless it exists; whether it was created."""
    tmp = path.with_name(f"{path.name}.new-{holder['token']}")
    tmp.write_text(json.dumps(holder))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _drop(path, me):
    """Remove the lock file ``path`` if it names ``me``."""
    if (_holder_at(path) or {}).get("token") == me["token"]:
        path.unlink(missing_ok=True)


def _remove(path, holder):
    """Remove a lock judged gone: a damaged one is set aside in ``damaged/`` beside it (`src.files.set_aside`)."""
    if "damaged" not in holder:
        path.unlink(missing_ok=True)
        return
    files.set_aside([path], layout.damaged_dir(path.parent))
    if path.is_symlink():  # a link to nowhere, which set_aside passes over
        path.unlink(missing_ok=True)


def _take(path, me, gone, stale_after, depth=0):
    """Link ``me`` at ``path``; a holder that ``gone(holder)`` finds gone is first broken.

    A lock is broken only under a claim to break that very state of it (``<lock>.break-<identity>``,
    taken the same way, one level deeper), and only while it still is in that state: of several
    starters that judge one lock gone, one breaks it, and the others find the new holder's lock. A
    claim is judged like a lock (`why_stale` after ``stale_after`` seconds).

    Returns
    -------
    (bool, dict or None, str or None)
        Whether ``me`` holds ``path`` now; the holder it broke (held) or the holder that has it (not
        held; None when it could not be told); why the broken holder was gone.
    """
    broken = why = None
    for _ in range(TRIES):
        if _link(path, me):
            return True, broken, why
        holder = _holder_at(path)
        if holder is None:
            continue  # released meanwhile
        if holder.get("token") == me["token"]:
            return True, broken, why  # linked after all (NFS v3 may answer a retried link with EEXIST)
        reason = gone(holder)
        if reason is None:
            return False, holder, None
        claim = path.with_name(f"{path.name}{BREAK}{holder['identity']}")
        claimed = depth < 3 and _take(claim, me, lambda h: why_stale(h, stale_after, me), stale_after, depth + 1)[0]
        if not claimed:
            time.sleep(RETRY_S)  # another starter breaks it
            continue
        try:
            if (_holder_at(path) or {}).get("identity") == holder["identity"]:  # not beaten, released or taken since
                _remove(path, holder)
                broken, why = holder, reason
        finally:
            _drop(claim, me)
    return False, _holder_at(path), None


class StudyLock:
    """The lock of one study dir, taken with `acquire` and released at the end of a ``with`` block.

    While held, every write into the folder (`src.files.atomic_path`) first confirms that the lock is
    still this process's (`confirm`); the heartbeat thread checks it too.

    Parameters
    ----------
    folder : str or Path
        The run, grid or job folder (or a sweep's, for its claim lock).
    take_over : bool (default=False)
        Take the lock over even from a live holder (``lock.take_over``).
    stale_after : float (default=STALE_AFTER)
        Seconds without a heartbeat after which a holder whose pid cannot be judged here is gone
        (``lock.stale_after``).
    name : str (default=src.layout.STUDY_LOCK)
        The lock file's name in the folder.
    """

    def __init__(self, folder, take_over=False, stale_after=STALE_AFTER, name=layout.STUDY_LOCK):
        self.folder, self.take_over, self.stale_after = Path(folder), take_over, stale_after
        self.path = self.folder / name
        self.me, self._stop = this_process(), threading.Event()
        self.lost = None  # once another process has the folder: to whom it went (`LockLost`)

    def _gone(self, holder):
        return TAKE_OVER if self.take_over else why_stale(holder, self.stale_after, self.me)

    def check(self):
        """Raise `Held` when a live holder has the folder (or its fresh lock is damaged) and ``take_over`` is
        off; change nothing."""
        holder = _holder_at(self.path)
        if holder is not None and self._gone(holder) is None:
            raise Held(self.path, holder, self.stale_after)

    def acquire(self):
        """Take the lock (a gone holder's, or any with ``take_over``, with one line saying so); return self.

        Raises
        ------
        Held
            A live holder has the folder, or its lock is damaged and fresh.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        held, holder, why = _take(self.path, self.me, self._gone, self.stale_after)
        if not held:
            raise Held(self.path, holder or {"heartbeat": time.time(), "damaged": "another run was taking it over"},
                       self.stale_after)
        where = self.folder if self.path.name == layout.STUDY_LOCK else self.path  # a sweep's claim lock: the file
        if holder is not None and "damaged" in holder:
            log.info(f"lock: took over {where} from a damaged lock ({holder['damaged']}), set aside in "
                     f"{layout.damaged_dir(self.folder)}: {why}")
        elif holder is not None:
            log.info(f"lock: took over {where} from {describe(holder, self.me)}: {why}")
        HELD.add(self)
        files.GUARDS[str(self.path.absolute())] = (str(self.folder.absolute()), self.confirm)
        threading.Thread(target=self._beat, daemon=True, name="study-lock").start()
        return self

    def wait(self):
        """Take the lock, waiting while another live process holds it (a sweep job's claim); return self.

        A lock whose holder stops beating is taken once it is gone (`why_stale`); a wait longer than
        `SAY_WAIT_S` is said in one line.
        """
        start, said = time.monotonic(), False
        while True:
            try:
                return self.acquire()
            except Held as exc:
                if not said and time.monotonic() - start > SAY_WAIT_S:
                    log.info(f"waiting: {self.path} is held by {describe(exc.holder, self.me)}")
                    said = True
                time.sleep(RETRY_S * 4)

    def _lose(self, holder):
        """Mark the folder lost to ``holder`` (None: its lock is gone) and stop logging into it."""
        if self.lost is not None or self._stop.is_set():
            return  # released meanwhile: its own end, not a loss
        self.lost = ("its lock was removed" if holder is None else
                     f"its lock was replaced by a damaged one ({holder['damaged']})" if "damaged" in holder else
                     f"taken over by {describe(holder, self.me)}")
        root, folder = logging.getLogger(), str(self.folder.absolute()) + os.sep
        for handler in list(root.handlers):  # Hydra's job log in the folder
            if getattr(handler, "baseFilename", "").startswith(folder):
                root.removeHandler(handler)

    def confirm(self):
        """Raise `LockLost` when this process no longer holds its folder (the heartbeat found so, or the lock
        file says so now).

        Returns
        -------
        bool
            Whether the lock file was read and is ours; False when it cannot be read at this moment
            (it then counts as held, and the heartbeat leaves it untouched).
        """
        if self.lost is None:
            try:
                holder = _holder_at(self.path, strict=True)
            except OSError:
                return False
            if holder is None or holder.get("token") != self.me["token"]:
                self._lose(holder)
        if self.lost is not None:
            raise LockLost(self.folder, self.lost)
        return True

    def _beat(self):
        """Touch the lock every few seconds while it is ours (the heartbeat); once it is not, mark it lost."""
        while not self._stop.wait(min(max(self.stale_after / 6, BEAT_S[0]), BEAT_S[1])):
            try:
                if self.confirm():
                    os.utime(self.path)
            except LockLost:
                return
            except OSError:
                continue  # cannot be touched now (NFS): the next beat reads it again

    def release(self):
        """Stop the heartbeat and the checks of writes, and remove the lock if it is still ours."""
        self._stop.set()
        HELD.discard(self)
        files.GUARDS.pop(str(self.path.absolute()), None)
        if self.lost is None:
            _drop(self.path, self.me)

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
