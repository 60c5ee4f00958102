"""How a job ends when it fails: the failure's status, exit code and one line, a lost lock, an interrupt."""
import contextlib
import logging
import os
import sys
import traceback
from pathlib import Path

from submitit.core.utils import UncompletedJobError as SlurmTimeLimit

from .. import layout
from ..errors import Interrupted, UserError, WriteFailed
from ..files import first_failed_write, write_json
from ..study_lock import LockLost, release_all
from ..training.checkpoints import save_running, saved_line
from ..training.net import Diverged
from ..words import counted
from .job_dirs import remove_if_no_results

log = logging.getLogger(__name__)


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Exception type -> (status, exit code of a single run, error text); first match wins. submitit
# raises `SlurmTimeLimit` in a Slurm job when Slurm signals that its time limit is near
# (``hydra.launcher.signal_delay_s`` before it) and the job may not be requeued.
FAILURES = {
    UserError: ("failed", 2, _one_line),
    WriteFailed: ("failed", 1, _one_line),
    Diverged: ("diverged", 1, lambda exc: f"diverged: {_one_line(exc)}"),
    SlurmTimeLimit: ("timeout", 1, lambda exc: f"timeout: stopped at its Slurm time limit "
                                                f"(hydra.launcher.timeout_min; submitit: {_one_line(exc)})"),
    Exception: ("failed", 1, lambda exc: f"{type(exc).__name__}: {_one_line(exc)}"),
}


def failure(exc):
    """``(status, exit code, one-line error)`` of an exception that ended a job."""
    kind = next(k for k in FAILURES if isinstance(exc, k))
    status, code, text = FAILURES[kind]
    return status, code, text(exc)


@contextlib.contextmanager
def guard(out_dir, multirun, raise_errors=False):
    """Run a job's body; turn failures into one line (single runs) or a status file (sweeps).

    In a single run, a `UserError` prints ``error: <message>``, removes the run dir when it
    holds no results and exits with status 2; a failed write (`src.errors.WriteFailed`, also
    one caught on the way, as scikit-learn catches a failed fit) prints its line and exits
    with status 1; a diverged fit (`src.training.net.Diverged`) prints
    its line, leaves ``status.json`` saying ``diverged`` and exits with status 1; any other
    exception is a bug and raises. Ctrl-C ends any run with the line of `interrupted`, status 130.
    In a multirun every failure writes ``status.json``
    (``failed`` or ``diverged``, with the error) and the job ends quietly, so that the other
    jobs go on and the sweep's summary lists it (the sweep then exits non-zero, see
    `src.callbacks.SweepSummary`). With ``raise_errors`` (a run from Python, `src.api`) a single run
    cleans up the same way, then raises the error (Ctrl-C too) instead of ending the process.
    """
    out_dir = Path(out_dir)
    try:
        yield
        if first_failed_write() is not None:  # a write failed where it was caught (a fit in GridSearchCV)
            raise first_failed_write()
    except (KeyboardInterrupt, Interrupted):
        if raise_errors:
            raise
        interrupted(out_dir, multirun)
    except Exception as exc:
        exc = first_failed_write() or exc  # what followed a failed write is its consequence
        status, code, error = failure(exc)
        expected = isinstance(exc, (UserError, Diverged, SlurmTimeLimit, WriteFailed))
        if not multirun and not expected:
            raise
        if multirun and not expected:
            traceback.print_exc()
        if not raise_errors:
            print(f"error: {error}", file=sys.stderr)
        try:
            if multirun or status == "diverged":
                write_json(out_dir / layout.STATUS, {"status": status, "error": error})
            else:
                remove_if_no_results(out_dir)
        except WriteFailed:
            pass  # the disk is still full: the error above has been said, and the job has no status
        if raise_errors:
            raise exc
        if not multirun:
            sys.exit(code)


@contextlib.contextmanager
def stops_if_lost(multirun, raise_errors=False):
    """End a job whose folder another process took over (`src.study_lock.LockLost`) with one line.

    Nothing more is written there: a single run exits at once with status 2 (fits still running in
    worker threads are dropped, as in `interrupted`); a sweep's job ends, its status left to the run
    that holds the folder. With ``raise_errors`` (`src.api`) the error is raised instead.
    """
    try:
        yield
    except LockLost as exc:
        if raise_errors:
            raise
        line = f"{exc}; this job wrote nothing more there"
        if multirun:
            log.info(line)
            return
        release_all()
        print(f"error: {line}", file=sys.stderr, flush=True)
        logging.shutdown()
        sys.stdout.flush()
        os._exit(2)


def interrupted(out_dir=None, multirun=False):
    """End a run stopped by Ctrl-C with one line that says what is kept and how to go on; status 130.

    A grid keeps every finished fit's record (each written whole, `src.files.atomic_path`) and a
    checkpoint of each stack or fit still training (`src.training.checkpoints.save_running`), so
    the same command in the same dir goes on from them; a sweep keeps its finished jobs. The
    process ends at once (``os._exit``): fits still running in worker threads are dropped,
    which waiting for them, or letting the interpreter tear them down mid-kernel, would not.
    Without ``out_dir`` (Ctrl-C outside a job: a launcher waiting for its worker processes,
    whose jobs say their own lines) the line names no folder.
    """
    n = len(layout.record_keys(layout.fits_dir(out_dir))) if out_dir is not None else 0
    saved = saved_line(save_running())  # the stacks and fits still training: checkpoints of their last epoch
    saved = f" and from the checkpoints saved: {saved}" if saved else ""
    if out_dir is None:
        line = "interrupted: finished results are kept; the same command in the same output dir goes on from them"
    elif multirun:
        line = (f"interrupted: the sweep's finished jobs are kept; the same command with "
                f"hydra.sweep.dir={out_dir.parent} goes on from them{saved}")
    elif n or saved:
        line = (f"interrupted: {counted(n, 'finished fit')} kept in {layout.fits_dir(out_dir)}; the same command "
                f"with hydra.run.dir={out_dir} goes on from them{saved}")
    else:
        remove_if_no_results(out_dir)
        line = "interrupted: nothing was kept"
    release_all()  # only once the checkpoints are written: no other run takes the dir over before
    print(line, file=sys.stderr, flush=True)
    logging.shutdown()
    sys.stdout.flush()
    os._exit(130)
