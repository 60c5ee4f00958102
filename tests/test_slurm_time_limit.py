"""A Slurm job with a time limit shorter than its study: warned, it saves its checkpoints and requeues itself,
and the study completes across several allocations (the ``slurm`` fixture's one-node cluster)."""
import pandas as pd
import pytest

from tests.test_slurm import SLURM, no_sacct_noise, sweep

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def test_a_grid_longer_than_its_time_limit_completes_across_allocations(slurm, tmp_path):
    # A 3-minute limit, warned 60 s ahead: Slurm's timers send the warning up to a minute early, so
    # between 60 and 120 s after the start, when the job is past its start-up (a warning that came
    # before submitit's handler would end the process, see test_slurm). The grid trains for about
    # 3 minutes on a 2-core AMD EPYC, so the warning falls inside its training there.
    done = sweep([*SLURM, "hydra.launcher.timeout_min=3", "hydra.launcher.signal_delay_s=60", "mode=grid",
                  "grid.activation=[relu,tanh]", "cv.repeats=1", "cv.refit=false", "train.batch_size=16",
                  "train.epochs=2500", "train.checkpoint_every=50", f"hydra.sweep.dir={tmp_path}"], slurm, timeout=2400)
    assert done.returncode == 0, done.stderr[-3000:]
    no_sacct_noise(done)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert (summary["status"] == "ok").all() and len(summary) == 2  # the job's grid: one row per candidate
    log = (tmp_path / "0" / "run.log").read_text()  # every allocation's lines, one after another
    allocations = log.split("Requeued job")
    assert len(allocations) >= 2, log[-3000:]  # the study needed more than one allocation
    # where the warning came while the stack trained, the next allocation went on from its checkpoint
    # (on a machine fast enough to finish training before the warning, the next one loads the fits)
    if "epoch 2500/2500" not in allocations[0]:
        assert "checkpoint: relu, tanh goes on from epoch" in log, log[-3000:]
