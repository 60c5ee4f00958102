"""A Slurm job with a time limit shorter than its study: warned, it saves its checkpoints and requeues itself,
and the study completes across several allocations (the ``slurm`` fixture's one-node cluster)."""
import pandas as pd
import pytest

from tests.test_slurm import SLURM, no_sacct_noise, sweep

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_a_grid_longer_than_its_time_limit_completes_across_allocations(slurm, tmp_path):
    # Slurm's shortest limit is a minute, and its warning (signal_delay_s, 120 s, ahead) comes at its
    # first check, within a minute of the start: each allocation trains for less than a minute, the
    # grid for longer. A warning that finds the job still starting requeues it too: nothing is lost.
    done = sweep([*SLURM, "hydra.launcher.timeout_min=1", "hydra.launcher.max_num_timeout=30", "mode=grid",
                  "grid.activation=[relu,tanh]", "cv.repeats=1", "cv.refit=false", "train.batch_size=32",
                  "train.epochs=1500", "train.checkpoint_every=20", f"hydra.sweep.dir={tmp_path}"], slurm, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    no_sacct_noise(done)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert (summary["status"] == "ok").all() and len(summary) == 1
    log = (tmp_path / "0" / "run.log").read_text()  # every allocation's lines, one after another
    assert "checkpoint: relu, tanh goes on from epoch" in log, log[-3000:]
