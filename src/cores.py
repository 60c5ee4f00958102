"""The cores a process may run on, and one plan of how a job shares them among its fits."""
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
        The cores a launcher gave this job (`src.modes.jobs.cores_per_job`); None: every
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
