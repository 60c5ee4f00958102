"""One job of a run or a sweep: its lock, its share of the cores, resuming finished work, failures.

A job of a multirun sweep ends with ``status.json`` in its folder: ``ok`` with the hash of
its config (`config_hash`) and its objective, or ``failed`` / ``diverged`` / ``timeout`` with
the error (the Slurm launcher writes ``killed`` or ``timeout`` for a job that Slurm ended).
Re-running a sweep into the same ``hydra.sweep.dir`` skips every job whose config already
finished there: its own folder's results are kept, or those of another job folder (or of
the sweep's stash, see `claim`) are brought in, and the stored objective is returned
without training. A job whose status says ``ok`` but whose results no longer read back whole
(`src.layout.results_damage`) runs again: each damaged file is named in one line and moved to
the job's ``damaged/`` folder (a fit record to ``fits/damaged/``), never deleted.
"""
import contextlib
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import traceback
from pathlib import Path

from omegaconf import OmegaConf, open_dict
from submitit.core.utils import UncompletedJobError as SlurmTimeLimit

from .. import layout
from ..cores import available_cores, cores_per_job, plan_cores
from ..errors import Interrupted, UserError, WriteFailed, refuse
from ..files import FAILED_WRITES, SET_ASIDE, TMP_PREFIX, first_failed_write, set_aside, write_json
from ..study_lock import STALE_AFTER, Held, LockLost, StudyLock, release_all
from ..training import fit_records
from ..training.checkpoints import save_running, saved_line
from ..training.net import Diverged
from ..words import counted

log = logging.getLogger(__name__)

KEEP = (layout.HYDRA, layout.DAMAGED, layout.STUDY_LOCK)  # a job folder's entries that are never results
# Settings that decide how fast a job runs, not what it computes: left out of the hash, so
# that a sweep resumed with another launcher or thread count still finds its results.
EXECUTION_KEYS = ("train.threads", "train.verbose", "cv.n_jobs", "search.backend", "search.scheduler",
                  "data.download", "lock", "train.checkpoint_every")
FAILED_OBJECTIVE = {"maximize": -math.inf, "minimize": math.inf}  # what Optuna is told for a failed job


def share_cores(cfg, cores):
    """Fit a job into its share of the cores, unless its config already says how.

    The job's settings become those that `src.cores.plan_cores` plans on ``cores``: a null
    ``train.threads`` becomes ``cores``, and in grid mode ``cv.n_jobs: auto`` becomes
    ``cores`` parallel fits. The config, tracked as the job's, then says how the job ran.
    """
    if not cores:
        return
    plan = plan_cores(cfg.train.threads, cfg.cv.n_jobs if cfg.mode == "grid" else 1, share=cores)
    with open_dict(cfg):
        cfg.train.threads = plan.cores
        if cfg.mode == "grid":
            cfg.cv.n_jobs = plan.n_jobs


def config_hash(cfg):
    """A short digest of a job's composed config: what it computes, not where or how fast.

    The ``hydra`` node (output paths, launcher) and `EXECUTION_KEYS` are left out.
    """
    plain = OmegaConf.to_container(cfg, resolve=True)
    plain.pop("hydra", None)
    for dotted in EXECUTION_KEYS:
        *parents, leaf = dotted.split(".")
        node = plain
        for parent in parents:
            node = node.get(parent) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def _says_ok(job_dir, key):
    status = layout.read_status(job_dir)
    return status if status and not layout.failed(status) and status.get("config_hash") == key else None


def finished(job_dir, key):
    """The status of ``job_dir`` if it finished ``ok`` for the config hash ``key`` and its
    results read back whole (`src.layout.results_damage`), else None."""
    status = _says_ok(job_dir, key)
    return status if status and not layout.results_damage(job_dir) else None


def set_aside_damage(job_dir, key):
    """Set aside the damaged results of a job whose status says it finished ``key``.

    Each damaged file gets one line and moves to the job's ``damaged/`` folder (a fit record,
    with its weights, to ``fits/damaged/``); the status goes too, so that the job runs again.

    Returns
    -------
    int
        How many damaged files were set aside (0: the job is whole, or did not finish ``key``).
    """
    job_dir = Path(job_dir)
    found = layout.results_damage(job_dir) if _says_ok(job_dir, key) else []
    for damaged in found:
        path = Path(damaged.path)
        if path.parent == layout.fits_dir(job_dir):
            fit_records.set_aside_record(path.parent, path.stem, damaged)
            continue
        set_aside([path], layout.damaged_dir(job_dir), damaged)
        log.info(f"damaged: {damaged}; set aside in {layout.damaged_dir(job_dir)}, the job runs again")
    if found:
        set_aside([job_dir / layout.STATUS], layout.damaged_dir(job_dir))
    return len(found)


def _results(job_dir):
    """The entries of a job folder that are results (not Hydra's files, logs or the lock's), status last."""
    entries = [p for p in Path(job_dir).iterdir()
               if p.name not in KEEP and p.suffix != ".log" and not p.name.startswith(layout.STUDY_LOCK)]
    return sorted(entries, key=lambda p: (p.name == layout.STATUS, p.name))


def _move(src_dir, dst_dir):
    """Move every result of ``src_dir`` into ``dst_dir`` (renames; ``status.json`` last)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for entry in _results(src_dir):
        target = dst_dir / entry.name
        if entry.is_dir() and target.is_dir():
            _move(entry, target)
            shutil.rmtree(entry, ignore_errors=True)
        elif not entry.name.startswith(TMP_PREFIX):
            os.replace(entry, target)


def _link(src_dir, dst_dir):
    """Bring every result of ``src_dir`` into ``dst_dir`` as hard links (else copies), atomically."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for entry in _results(src_dir):
        target = dst_dir / entry.name
        if entry.is_dir():
            _link(entry, target)
        elif not entry.name.startswith(TMP_PREFIX):
            tmp = dst_dir / f"{TMP_PREFIX}{entry.name}"
            tmp.unlink(missing_ok=True)
            try:
                os.link(entry, tmp)
            except OSError:  # another file system, or no hard links there
                shutil.copy2(entry, tmp)
            os.replace(tmp, target)


def _set_aside(job_dir, sweep_dir):
    """Empty a job folder of results before it computes (or receives) another config's.

    Its ``status.json`` goes first, so that no other job takes these results from now on.
    Finished results of another config move to ``<sweep>/.stash/<its hash>/``, where a later
    job of that config finds them; unfinished ones are dropped, except the per-fit records
    in ``fits/``, which are keyed by their parameters and let a killed grid resume.
    """
    status = layout.read_status(job_dir)
    (job_dir / layout.STATUS).unlink(missing_ok=True)
    if status and not layout.failed(status) and status.get("config_hash"):
        stash = Path(sweep_dir) / layout.STASH / status["config_hash"]
        if not stash.exists():
            _move(job_dir, stash)
            write_json(stash / layout.STATUS, status)
    for entry in _results(job_dir):
        if entry.is_dir() and entry.name != layout.FITS:
            shutil.rmtree(entry, ignore_errors=True)
        elif not entry.is_dir():
            entry.unlink(missing_ok=True)


def _other_job_dirs(sweep_dir, job_dir):
    return [d for d in layout.all_job_dirs(sweep_dir) if d.resolve() != Path(job_dir).resolve()]


def claim(job_dir, sweep_dir, key, stale_after=STALE_AFTER):
    """Find finished results of the config ``key`` for the job folder ``job_dir``.

    Looked for, in order: the job's own folder, the sweep's stash, the other job folders of
    the sweep; results that do not read back whole are passed over (the job's own are set
    aside, `set_aside_damage`). Found elsewhere, the results are moved (stash) or linked (another job) into
    ``job_dir``. Not found, ``job_dir`` is emptied of another config's results (`_set_aside`)
    and the job trains. All of it happens under the sweep's claim lock (`src.layout.CLAIM_LOCK`): the
    lock of a run (`src.study_lock.StudyLock`) on its own file, waited for while another job claims, and
    taken over once its holder is gone (after ``stale_after`` seconds without a heartbeat elsewhere).

    Returns
    -------
    (dict, Path) or (None, None)
        The status (with ``objective``) and where the results came from.
    """
    job_dir, sweep_dir = Path(job_dir), Path(sweep_dir)
    with StudyLock(sweep_dir, stale_after=stale_after, name=layout.CLAIM_LOCK).wait():
        status = finished(job_dir, key)
        if status:
            return status, job_dir
        set_aside_damage(job_dir, key)
        _set_aside(job_dir, sweep_dir)
        stash = sweep_dir / layout.STASH / key
        status = finished(stash, key)
        if status:
            _move(stash, job_dir)
            shutil.rmtree(stash, ignore_errors=True)
            return status, stash
        for other in _other_job_dirs(sweep_dir, job_dir):
            status = finished(other, key)
            if status:
                _link(other, job_dir)
                return status, other
    return None, None


def _remove_if_no_results(out_dir):
    """Delete a run dir that holds nothing but Hydra's config copy and log."""
    if out_dir.is_dir() and not _results(out_dir):
        shutil.rmtree(out_dir, ignore_errors=True)


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
                _remove_if_no_results(out_dir)
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
        _remove_if_no_results(out_dir)
        line = "interrupted: nothing was kept"
    release_all()  # only once the checkpoints are written: no other run takes the dir over before
    print(line, file=sys.stderr, flush=True)
    logging.shutdown()
    sys.stdout.flush()
    os._exit(130)


def failed_objective(sweeper):
    """What a failed job returns: the worst value of an Optuna sweep's direction, else NaN.

    Optuna is then told a value for every trial (its sampler steers away from settings
    that diverge, and the study has a best trial even when every job failed).
    """
    direction = sweeper.get("direction") if sweeper is not None else None
    name = getattr(direction, "name", direction)
    return FAILED_OBJECTIVE.get(str(name), math.nan) if isinstance(name, str) else math.nan


def redone_line(set_aside):
    """The closing line of a job that found damaged results: how many, and where they are now.

    Parameters
    ----------
    set_aside : list of (src.errors.Damaged, Path)
        Each damaged result and the folder it was set aside in (`src.files.SET_ASIDE`).
    """
    folders = ", ".join(sorted({str(folder) for _, folder in set_aside}))
    n = len(set_aside)
    return f"damaged: {counted(n, 'damaged result')} set aside in {folders} and computed again"


def run_job(task, cfg, out_dir, sweep_dir=None, launcher=None, sweeper=None, raise_errors=False):
    """Run ``task(cfg, out_dir)`` as a single run or one job of a sweep; return its objective.

    The job first takes ``out_dir``'s lock (`src.study_lock`): held by another live run, a
    single run ends with the one line of `src.study_lock.Held` (status 2), a sweep's job is
    skipped with a line and returns NaN. A folder taken over while the job writes ends it with
    the line of `stops_if_lost`.

    Parameters
    ----------
    task : callable
        ``task(cfg, out_dir) -> float``, the job's work (`src.run.run`).
    cfg : DictConfig
        The job's composed config (without the ``hydra`` node).
    out_dir : Path
        The job's folder.
    sweep_dir : Path, optional
        The sweep's root in a multirun; None for a single run. Given, the job first looks
        for finished results of its config (`claim`) and writes ``status.json`` at the end.
    launcher, sweeper : mapping, optional
        ``hydra.launcher`` (its jobs share the cores, `cores_per_job`) and ``hydra.sweeper``
        (the value a failed job returns, `failed_objective`).
    raise_errors : bool (default=False)
        Raise a single run's error after cleaning up, instead of ending the process (`guard`).

    Returns
    -------
    float
        The task's objective; for a failed job of a sweep, `failed_objective`.
    """
    out_dir = Path(out_dir)
    try:  # before anything is read or written in the folder: one writer at a time
        lock = StudyLock(out_dir, cfg.lock.take_over, cfg.lock.stale_after).acquire()
    except Held as exc:
        if sweep_dir is not None:
            log.info(exc.skipped())
            return math.nan
        raise exc if raise_errors else SystemExit(refuse(exc))
    with lock, stops_if_lost(sweep_dir is not None, raise_errors):
        key = config_hash(cfg)
        SET_ASIDE.clear()  # this job's own (a launcher may run several jobs in one process)
        FAILED_WRITES.clear()
        if sweep_dir is not None:
            status, source = claim(out_dir, sweep_dir, key, cfg.lock.stale_after)
            if status is not None:
                where = "" if source == out_dir else f" (taken from {source})"
                log.info(f"skipped: {out_dir} already holds the results of this config{where}")
                objective = status.get("objective")
                return math.nan if objective is None else objective
        if launcher is not None:
            share_cores(cfg, cores_per_job(launcher, available_cores()))
        with guard(out_dir, multirun=sweep_dir is not None, raise_errors=raise_errors):
            objective = task(cfg, out_dir)
            objective = math.nan if objective is None else float(objective)
            if sweep_dir is not None:
                write_json(out_dir / layout.STATUS, {"status": "ok", "config_hash": key, "objective": objective,
                                                     "damaged": len(SET_ASIDE)})
            if SET_ASIDE:
                log.info(redone_line(SET_ASIDE))
            return objective
        return failed_objective(sweeper)
    return math.nan  # its folder was lost to another run (`stops_if_lost`)
