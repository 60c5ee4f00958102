"""One job of a run or a sweep (`run_job`): its lock, its share of the cores (`core_shares`), resuming
finished work (`job_dirs`), failures (`job_failures`) and what an Optuna sweep is told (`objective`).

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
import logging
import math
from pathlib import Path

from .. import layout
from ..cores import available_cores, cores_per_job
from ..errors import refuse
from ..files import FAILED_WRITES, SET_ASIDE, write_json
from ..study_lock import Held, StudyLock
from .config_hash import config_hash
from .core_shares import share_cores
from .job_dirs import claim, redone_line
from .job_failures import guard, stops_if_lost
from .objective import failed_objective

log = logging.getLogger(__name__)


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
