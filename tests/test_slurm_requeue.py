"""A Slurm job requeued while it writes (``scontrol requeue``) takes over its own lock and resumes."""
import subprocess
import sys
import time

import pytest

from src import layout
from src.study_lock import read_holder
from tests.conftest import ROOT
from tests.test_slurm import SLURM, _job_id

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_a_requeued_job_takes_over_its_lock_and_keeps_its_fits(slurm, tmp_path):
    args = [*SLURM, "mode=grid", "grid.activation=[relu,tanh]", "cv.repeats=1", "cv.refit=false", "cv.batched=false",
            "cv.n_jobs=1", "train.epochs=150", f"hydra.sweep.dir={tmp_path}"]
    env = dict(slurm, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job_dir, fits = tmp_path / "0", layout.fits_dir(tmp_path / "0")
    try:
        deadline = time.monotonic() + 240
        job = _job_id(job_dir, deadline)
        while not layout.record_keys(fits):
            assert proc.poll() is None and time.monotonic() < deadline, "no fit was recorded"
            time.sleep(0.2)
        first = read_holder(job_dir)
        subprocess.run(["scontrol", "requeue", job], env=slurm, check=True)
        kept = {key: layout.record_path(fits, key).stat().st_mtime_ns for key in layout.record_keys(fits)}
        # Slurm holds a requeued job back for its credential's lifetime (about 2 minutes): release it now
        for _ in range(100):
            if subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=slurm,
                              capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.2)
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out + err)[-3000:]
    logs = "".join(p.read_text() for p in (tmp_path / ".submitit").glob("*/*_log.*"))
    took = [line for line in logs.splitlines() if "lock: took over" in line]
    assert len(took) == 1 and f"pid {first['pid']} " in took[0], logs[-3000:]
    assert f"Slurm job {first['slurm_job']}, since requeued" in took[0] or "its process is gone" in took[0]
    assert all(layout.record_path(fits, key).stat().st_mtime_ns == mtime for key, mtime in kept.items())
    assert len(layout.record_keys(fits)) == 6 and read_holder(job_dir) is None
