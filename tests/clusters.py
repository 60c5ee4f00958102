"""Real clusters on this machine for the tests: a one-node Slurm cluster and a Dask cluster.

`slurm_cluster` runs ``scripts/slurm-cluster.sh`` (munge, slurmctld, slurmd as root, files in
a temp dir); `dask_cluster` starts ``dask scheduler`` and ``dask worker`` processes on the
loopback interface. Both stop every process they started, by pid, also when a test fails.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLURM_SCRIPT = ROOT / "scripts" / "slurm-cluster.sh"
DASK = Path(sys.executable).parent / "dask"
PRELOAD = Path(__file__).resolve().parent / "dask_preload.py"


def _pids(folder):
    files = [folder / "slurmctld.pid", folder / "slurmd.pid", folder / "munge" / "munged.pid"]
    return {f.name: int(f.read_text()) for f in files if f.exists() and f.read_text().strip()}


def alive(pid):
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


@contextlib.contextmanager
def slurm_cluster(folder):
    """A running one-node Slurm cluster with its files in ``folder``; yields its environment.

    Yields
    ------
    dict
        ``os.environ`` with ``SLURM_CONF`` pointing at the cluster, and ``pids`` (the
        daemons') under the key ``"_pids"`` removed: use `daemon_pids`.
    """
    folder = Path(folder)
    started = subprocess.run(["bash", str(SLURM_SCRIPT), "start", str(folder)], capture_output=True, text=True,
                             timeout=120)
    try:
        if started.returncode != 0:
            raise RuntimeError(f"the Slurm cluster did not start: {started.stderr.strip()}")
        yield dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"))
    finally:
        pids = _pids(folder)
        subprocess.run(["bash", str(SLURM_SCRIPT), "stop", str(folder)], capture_output=True, text=True, timeout=120)
        for pid in pids.values():  # the script stops them; make sure, by pid
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def daemon_pids(folder):
    """``{pid file name: pid}`` of the Slurm daemons running from ``folder``."""
    return _pids(Path(folder))


def _stop(proc, wait_s=10):
    """End a process we started: SIGTERM, then SIGKILL after ``wait_s`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class DaskCluster:
    """``dask scheduler`` and ``n_workers`` single-threaded ``dask worker`` processes on 127.0.0.1.

    The scheduler loads `PRELOAD`, which records every piece of data sent to the workers.
    Workers run without a nanny, so killing one's process kills the worker (nothing restarts it).
    """

    def __init__(self, folder, n_workers=2):
        self.folder = Path(folder)
        self.n_workers = n_workers
        self.scheduler = None
        self.workers = []
        self.address = None

    def _spawn(self, args, log):
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
        with open(self.folder / log, "w") as out:
            return subprocess.Popen([str(DASK), *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def start(self, timeout_s=60):
        """Start the scheduler, then the workers; return once every worker has joined."""
        from dask.distributed import Client

        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "scheduler.json"
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(info), "--preload", str(PRELOAD)], "scheduler.log")
        deadline = time.monotonic() + timeout_s
        while not info.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dask scheduler did not start: {(self.folder / 'scheduler.log').read_text()}")
            time.sleep(0.1)
        self.address = json.loads(info.read_text())["address"]
        for i in range(self.n_workers):
            self.add_worker(f"w{i}")
        with Client(self.address, timeout=timeout_s) as client:
            client.wait_for_workers(self.n_workers, timeout=timeout_s)
        return self

    def add_worker(self, name):
        self.workers.append(self._spawn(["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                         "--host", "127.0.0.1", "--name", name], f"worker-{name}.log"))

    def sent(self):
        """Every piece of data sent to the workers so far: ``[(key, nbytes), ...]`` (see `PRELOAD`)."""
        from dask.distributed import Client

        with Client(self.address, timeout=10) as client:
            return [tuple(item) for item in client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.sent_data)]

    def pids(self):
        return [proc.pid for proc in [self.scheduler, *self.workers] if proc is not None]

    def stop(self):
        """End the workers, then the scheduler (every process this cluster started)."""
        for proc in self.workers:
            _stop(proc)
        if self.scheduler is not None:
            _stop(self.scheduler)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
