"""The cores a process may run on."""
import os


def available_cores():
    """The cores this process may run on: its CPU affinity, at most the cores of its Slurm task.

    A Slurm cluster that does not bind tasks to cores (``TaskPlugin=task/none``) leaves a job
    the affinity of the whole node; ``SLURM_CPUS_PER_TASK`` still says what it was given.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    given = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return min(cores, int(given)) if given.isdigit() and int(given) > 0 else cores
