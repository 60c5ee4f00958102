"""The cores a process may run on, a launcher's share of them per job, and one plan of how a job shares them
among its fits."""
import os
from dataclasses import dataclass
from typing import Optional


def available_cores():
    """The cores this process may run on: its CPU affinity, at most the cores of its Slurm task.

    A Slurm cluster that does not bind tasks to cores (``TaskPlugin=task/none``) leaves a job
    the affinity of the whole node; ``SLURM_CPUS_PER_TASK`` still says what it was given.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    given = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return min(cores, int(given)) if given.isdigit() and int(given) > 0 else cores


@dataclass(frozen=True)
class CorePlan:
    """How a job runs its fits on its cores (`plan_cores`).

    Attributes
    ----------
    cores : int
        The cores the job's fits share; a fit alone (the refit, loading recorded fits) gets them all.
    n_jobs : int
        Fits (or stacks of fits) at once.
    threads : int or None
        Torch threads of each fit when ``n_jobs`` run at once (None: torch's default).
    """

    cores: int
    n_jobs: int
    threads: Optional[int]

    def split(self, tasks):
        """``(workers, threads)`` for ``tasks`` parallel tasks: at most ``n_jobs`` at once, sharing the cores."""
        workers = max(1, min(self.n_jobs, tasks))
        return workers, max(1, self.cores // workers)


def plan_cores(threads=None, n_jobs=1, share=None, device="cpu"):
    """The one decision of a job's threads and parallel fits (see docs/clusters.md).

    Parameters
    ----------
    threads : int, optional
        ``train.threads``: the cores a job's fits share, and each fit's torch threads when
        they run one at a time. None: the job's share of the cores.
    n_jobs : int or "auto"
        ``cv.n_jobs``: fits at once; ``auto`` is one per core of the job's share.
    share : int, optional
        The cores a launcher gave this job (`cores_per_job`); None: every
        available core (`available_cores`), with torch's default threads for a lone fit.
    device : str
        ``cuda`` runs one fit at a time: several would only contend for the GPU.

    Returns
    -------
    CorePlan
    """
    available = share or available_cores()
    n_jobs = 1 if device == "cuda" else available if n_jobs == "auto" else int(n_jobs)
    cores = threads or available
    return CorePlan(cores=int(cores), n_jobs=n_jobs,
                    threads=max(1, cores // n_jobs) if n_jobs > 1 else (threads or share))


SERIAL = CorePlan(cores=1, n_jobs=1, threads=1)  # one fit at a time on one core


def _joblib_share(launcher, cores):
    n_jobs = launcher.get("n_jobs") or 1
    at_once = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib's -1: one per core
    return max(1, cores // at_once)


def _submitit_share(launcher, cores):
    return launcher.get("cpus_per_task") or None


# Launcher class name -> the cores one of its jobs may use (None: leave torch's default).
CORE_SHARES = {
    "JoblibLauncher": _joblib_share,
    "LocalLauncher": _submitit_share,
    "SlurmLauncher": _submitit_share,
}


def cores_per_job(launcher, cores):
    """The cores one job may use so that the jobs a launcher runs at once fit on ``cores``.

    Parameters
    ----------
    launcher : mapping
        The launcher's settings (``hydra.launcher``), with its ``_target_``.
    cores : int
        Cores of the machine (or allocation).

    Returns
    -------
    int or None
        ``cores // hydra.launcher.n_jobs`` for the joblib launcher (``-1``: one job per
        core); ``hydra.launcher.cpus_per_task`` for submitit (local or Slurm) when set; None
        for any other launcher, or when submitit's ``cpus_per_task`` is null.
    """
    name = str(launcher.get("_target_", "")).rpartition(".")[2]
    share = CORE_SHARES.get(name)
    return share(launcher, cores) if share else None
