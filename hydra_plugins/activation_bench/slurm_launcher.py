"""The Slurm launcher of this project (``hydra/launcher=slurm``, ``conf/hydra/launcher/slurm.yaml``).

Hydra accepts launchers only from the ``hydra_plugins`` package. `SlurmLauncher` is Hydra's
submitit Slurm launcher, except for how it waits for its jobs. submitit asks ``sacct`` whether a job that left no result has ended; on a cluster without
Slurm accounting (no slurmdbd) every call fails with a "Bypassing sacct error ... status may
be inaccurate" warning, and a job that died (cancelled, timed out, out of memory) is never
seen to end: the sweep waits forever. This launcher waits on the result files and asks
``squeue`` (which needs no accounting) about the jobs without one. A job that ended without a
result gets a ``status.json`` saying so (``killed``, ``timeout`` or ``failed``, with Slurm's
state and the job's log), the sweep goes on to its summary, and running the same command
again resumes it (`src.modes.jobs`).
"""
import logging
import subprocess
import time
from pathlib import Path

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from omegaconf import OmegaConf, open_dict

from src import layout
from src.files import write_json

log = logging.getLogger(__name__)

# Slurm's state of a job that ended without a result -> (the job's status, what happened).
ENDINGS = {
    "CANCELLED": ("killed", "cancelled (scancel)"),
    "TIMEOUT": ("timeout", "stopped at its time limit (hydra.launcher.timeout_min={timeout_min})"),
    "OUT_OF_MEMORY": ("killed", "killed for using more memory than it asked for (hydra.launcher.mem_gb={mem_gb})"),
    "NODE_FAIL": ("killed", "lost with its node"),
    "BOOT_FAIL": ("killed", "lost: its node failed to boot"),
    "DEADLINE": ("killed", "cancelled at its deadline"),
    "PREEMPTED": ("killed", "preempted and not requeued"),
    "FAILED": ("failed", "ended with an error before it could record one"),
    "COMPLETED": ("failed", "ended without a result"),
    None: ("killed", "gone from Slurm's queue without a result"),
}
# States of a job that has not ended (a preempted or timed-out job that submitit requeues
# passes through PREEMPTED / REQUEUED on its way back to PENDING).
RUNNING = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
           "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "PREEMPTED", "STOPPED", "RESV_DEL_HOLD"}
RESULT_GRACE_S = 10  # how long a result file may lag behind the end of its job (network file systems)


def slurm_states(job_ids):
    """Slurm's state of each job still known to the controller, by ``squeue`` (no accounting needed).

    Parameters
    ----------
    job_ids : iterable of str
        submitit's job ids (``123`` or, for an array's task, ``123_4``).

    Returns
    -------
    dict or None
        ``{job id: state}`` (e.g. ``RUNNING``, ``CANCELLED``, ``TIMEOUT``); a job missing from
        it has left the controller's memory (ended a while ago). None when ``squeue`` failed.
    """
    ids = sorted({str(job_id).split("_")[0] for job_id in job_ids})
    done = subprocess.run(["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T", f"--jobs={','.join(ids)}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return {} if "Invalid job id" in done.stderr else None
    return dict(line.split("|", 1) for line in done.stdout.split() if "|" in line)


def _slurm_says(job):
    """Slurm's word on why it stopped a job, from the job's error log (``*** JOB 12 ON node CANCELLED AT ...``)."""
    try:
        lines = Path(job.paths.stderr).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    said = [line.partition("***")[2].rpartition("***")[0].strip() for line in lines if line.count("***") >= 2]
    return next((text for text in said if text.startswith("JOB")), said[-1] if said else "")


class SlurmLauncher(submitit_launcher.SlurmLauncher):
    """Hydra's submitit Slurm launcher that knows when a job died, with or without ``sacct``.

    Settings: those of Hydra's ``submitit_slurm`` launcher (``conf/hydra/launcher/slurm.yaml``).
    """

    poll_s = 1.0  # how often the result files are looked for; ``squeue`` is asked less often

    def launch(self, job_overrides, initial_job_idx):
        """Submit one Slurm job per sweep job (an array) and wait until each has a result or has ended."""
        import submitit

        params = dict(self.params)
        executor = submitit.AutoExecutor(cluster=self._EXECUTOR, folder=params.pop("submitit_folder"),
                                         slurm_max_num_timeout=params.pop("max_num_timeout"))
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{k if k in shared else f"{self._EXECUTOR}_{k}": v for k, v in params.items()})
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info(f"Submitit '{self._EXECUTOR}' sweep output dir : {sweep_dir}")
        numbers = [initial_job_idx + i for i in range(len(job_overrides))]
        for num, overrides in zip(numbers, job_overrides):
            log.info(f"\t#{num} : {' '.join(filter_overrides(overrides))}")
        state = Singleton.get_state()
        jobs = executor.map_array(self, [list(o) for o in job_overrides], ["hydra.sweep.dir"] * len(numbers),
                                  numbers, [f"job_id_for_{num}" for num in numbers], [state] * len(numbers))
        return self._wait(jobs, job_overrides, numbers)

    def _wait(self, jobs, job_overrides, numbers):
        """The return of every job, in order, once each has a result file or has ended without one."""
        returns, ended_at, start, last_ask = {}, {}, time.monotonic(), float("-inf")
        while len(returns) < len(jobs):
            waiting = [i for i in range(len(jobs)) if i not in returns]
            for i in waiting:
                if jobs[i].paths.result_pickle.exists():
                    returns[i] = self._result(jobs[i], job_overrides[i], numbers[i])
            waiting = [i for i in waiting if i not in returns]
            now = time.monotonic()
            if waiting and now - last_ask >= min(30.0, max(2.0, (now - start) / 8)):
                states, last_ask = slurm_states(jobs[i].job_id for i in waiting), now
                for i in waiting if states is not None else ():
                    slurm_state = states.get(jobs[i].job_id)
                    if slurm_state not in RUNNING:
                        ended_at.setdefault(i, (now, slurm_state))
            for i, (when, slurm_state) in list(ended_at.items()):
                if i not in returns and now - when >= RESULT_GRACE_S and not jobs[i].paths.result_pickle.exists():
                    returns[i] = self._ended(jobs[i], job_overrides[i], numbers[i], slurm_state)
            if len(returns) < len(jobs):
                time.sleep(self.poll_s)
        return [returns[i] for i in range(len(jobs))]

    def _result(self, job, overrides, num):
        """The job's own return (its result file); a job that raised is recorded as failed."""
        try:
            return job.results()[0]
        except Exception as exc:  # submitit's FailedJobError: the job raised outside the project's guard
            lines = [line for line in str(exc).splitlines() if line.strip() and not line.startswith("-")]
            error = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else repr(exc))
            return self._record(overrides, num, "failed", f"the Slurm job {job.job_id} raised: {error.strip()}")

    def _ended(self, job, overrides, num, slurm_state):
        """Record a job that ended without a result, by what Slurm and its log say."""
        status, what = ENDINGS.get(slurm_state, ENDINGS["FAILED"])
        what = what.format(timeout_min=self.params.get("timeout_min"), mem_gb=self.params.get("mem_gb"))
        said = _slurm_says(job)
        error = (f"the Slurm job {job.job_id} was {what}" + (f" ({said})" if said else f" ({slurm_state or 'not listed'})")
                 + f"; log: {job.paths.stderr}")
        return self._record(overrides, num, status, error)

    def _record(self, overrides, num, status, error):
        """Write the job's ``status.json`` (and Hydra's overrides, for a job that never started)."""
        from src.modes.jobs import failed_objective  # torch, loaded by the jobs anyway

        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(sweep_config.hydra.job):
            sweep_config.hydra.job.num = num
        job_dir = Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
        if not layout.overrides_file(job_dir).exists():
            layout.overrides_file(job_dir).parent.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(sweep_config.hydra.overrides.task, layout.overrides_file(job_dir))
        previous = layout.read_status(job_dir) or {}
        if previous.get("status") == "ok":  # it finished, then died on its way out
            return JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED,
                             _return_value=previous.get("objective"), working_dir=str(job_dir))
        if previous.get("status") not in (None, "ok"):
            status, error = previous["status"], previous.get("error", error)  # the job's own word
        write_json(job_dir / layout.STATUS, {"status": status, "error": error})
        print(f"error: job {num} ({' '.join(filter_overrides(overrides))}): {status}: {error}", flush=True)
        return JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED,
                         _return_value=failed_objective(self.config.hydra.get("sweeper")), working_dir=str(job_dir))
