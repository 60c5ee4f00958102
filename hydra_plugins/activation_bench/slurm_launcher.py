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
import os
import signal
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


def _seconds(text):
    """Seconds in one of Slurm's durations (``[D-][HH:]MM:SS``); None for ``UNLIMITED`` or nothing."""
    if not text or not text[0].isdigit():
        return None
    days, _, clock = text.rpartition("-")
    total = 0
    for part in clock.split(":"):
        total = total * 60 + int(part)
    return total + int(days or 0) * 86400


def slurm_ending(job_id):
    """How a job ended, by ``scontrol show job`` (no accounting needed, while the controller
    remembers the job).

    Returns
    -------
    dict or None
        ``signal``: the number of the signal that ended the job (from ``ExitCode``: a signal,
        or a shell's exit status 128 + the signal of its step), None when it exited;
        ``run_s`` and ``limit_s``: its run time and time limit in seconds (None if unlimited).
        None when ``scontrol`` does not know the job.
    """
    done = subprocess.run(["scontrol", "show", "job", "--oneliner", str(job_id)], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    fields = dict(item.split("=", 1) for item in done.stdout.split() if "=" in item)
    code, _, by_signal = fields.get("ExitCode", "0:0").partition(":")
    code, by_signal = int(code or 0), int(by_signal or 0)
    return {"signal": by_signal or (code - 128 if code > 128 else None),
            "run_s": _seconds(fields.get("RunTime")), "limit_s": _seconds(fields.get("TimeLimit"))}


def warning_signal():
    """The signal that Slurm sends a job ``signal_delay_s`` before its time limit (and on
    preemption): submitit's, ``USR2`` unless ``SUBMITIT_PREEMPT_SIGNAL`` names another."""
    return getattr(signal, "SIG" + os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2").upper().removeprefix("SIG"))


def _timed_out(text):
    """Whether a job's error is submitit's: it caught the time-limit warning and could not requeue."""
    return "UncompletedJobError" in text or "Job not requeued because: timed-out" in text


def warned(ending, signal_delay_s):
    """``(status, what)`` of a job that Slurm's warning signal ended before it could catch it;
    None for any other ending.

    The warning comes ``signal_delay_s`` before the time limit (up to a minute earlier: Slurm
    checks its timers about once a minute), or on preemption, and it ends a process that has
    not yet installed submitit's handler (one still starting Python, say).

    Parameters
    ----------
    ending : dict or None
        `slurm_ending`'s word on the job.
    signal_delay_s : int
        ``hydra.launcher.signal_delay_s``.
    """
    if not ending or ending["signal"] != warning_signal():
        return None
    name = signal.Signals(warning_signal()).name
    run_s, limit_s = ending["run_s"], ending["limit_s"]
    if limit_s is None or run_s is None or run_s + signal_delay_s + 60 >= limit_s:
        return ("timeout", ENDINGS["TIMEOUT"][1] + f": Slurm's warning, signal {name}, ended it before it could "
                                                   "record a result")
    return ("killed", f"preempted: signal {name} ended it before it could record a result")


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

    def checkpoint(self, *args, **kwargs):
        """Called in a job that Slurm warned of its time limit or preempted: save the stacks and fits
        training in it (`src.training.checkpoints.save_running`) and requeue it, so that it goes on
        from them. None (no requeue: the job records ``timeout``) when it trained but keeps nothing
        to go on from (a single run, or ``train.checkpoint_every=0``)."""
        from src.training import checkpoints

        if not checkpoints.save_running() and not checkpoints.worth_requeueing():
            return None
        return super().checkpoint(*args, **kwargs)

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
        """The job's own return (its result file); a job that raised is recorded as failed, or as
        timed out when submitit's time-limit handler raised before the project's own guard ran."""
        try:
            returned = job.results()[0]
        except Exception as exc:  # submitit's FailedJobError: the job raised outside the project's guard
            lines = [line for line in str(exc).splitlines() if line.strip() and not line.startswith("-")]
            error = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else repr(exc))
            if _timed_out(str(exc)):
                return self._record(overrides, num, "timeout", self._time_limit_error(job, error.strip()))
            return self._record(overrides, num, "failed", f"the Slurm job {job.job_id} raised: {error.strip()}")
        if returned.status == JobStatus.FAILED and _timed_out(repr(returned._return_value)):
            return self._record(overrides, num, "timeout", self._time_limit_error(job, str(returned._return_value)))
        return returned

    def _time_limit_error(self, job, said):
        what = ENDINGS["TIMEOUT"][1].format(timeout_min=self.params.get("timeout_min"))
        return f"the Slurm job {job.job_id} was {what} ({said}); log: {job.paths.stderr}"

    def _ended(self, job, overrides, num, slurm_state):
        """Record a job that ended without a result, by what Slurm and its log say."""
        status, what = ENDINGS.get(slurm_state, ENDINGS["FAILED"])
        if slurm_state == "FAILED":
            status, what = self._warned(job) or (status, what)
        what = what.format(timeout_min=self.params.get("timeout_min"), mem_gb=self.params.get("mem_gb"))
        said = _slurm_says(job)
        error = (f"the Slurm job {job.job_id} was {what}" + (f" ({said})" if said else f" ({slurm_state or 'not listed'})")
                 + f"; log: {job.paths.stderr}")
        return self._record(overrides, num, status, error)

    def _warned(self, job):
        return warned(slurm_ending(job.job_id), int(self.params.get("signal_delay_s") or 0))

    def _record(self, overrides, num, status, error):
        """Write the job's ``status.json`` (and Hydra's overrides, for a job that never started)."""
        from src.modes.objective import failed_objective

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
