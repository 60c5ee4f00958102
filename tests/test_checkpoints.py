"""Checkpoints: a stack or fit killed mid-training goes on from its last checkpoint and ends as if never stopped."""
import logging
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from src import layout
from src.errors import Interrupted
from src.run import run
from src.training import checkpoints as ck
from src.training.net import SaveCheckpoint, make_net
from src.training.settings import NetSettings
from tests.conftest import FAST, ROOT, compose_config, run_cli

# digits, 30 epochs of small batches: long enough to kill between two checkpoints; one thread, one stack at a time
LONG = [*FAST, "mode=grid", "train.epochs=30", "train.batch_size=32", "cv.refit=false", "cv.n_jobs=1",
        "train.threads=1", "train.checkpoint_every=1", "grid.activation=[relu,rrelu]", "model.dropout=0.2"]
STUDIES = {"fixed": [], "tuned": ["protocol=tuned", "tune.lr=[0.01,0.1]"],
           "halving": ["search.halving=true", "search.min_epochs=3", "search.eta=3"],
           # fit by fit (a schedule acts per fit), killed on the epoch the rate steps down
           "scheduled": ["train.lr_scheduler={policy:StepLR,step_size:5,gamma:0.5}"]}
TIMING = ["fit_time_mean", "step_cost"]  # wall-clock columns: they differ from run to run


def _written(folder, epoch, what="x"):
    saved = ck.Checkpoints(folder, "stack", every=1, what=what)
    for e in range(1, epoch + 1):
        saved.epoch_end(e, lambda e=e: {"weights": torch.full((3,), float(e)), "history": [{"epoch": e}]})
    return saved


def test_only_the_last_two_are_kept_and_a_damaged_one_is_set_aside_for_the_one_before(tmp_path, caplog):
    _written(tmp_path, 3)
    assert layout.checkpoint_epochs(tmp_path, "stack") == [3, 2]
    newest = layout.checkpoint_path(tmp_path, "stack", 3)
    newest.write_bytes(newest.read_bytes()[:40])  # cut short, as a full disk or a copy cut off would leave it
    with caplog.at_level(logging.INFO):
        state = ck.Checkpoints(tmp_path, "stack", every=1, what="relu, tanh").load()
    assert state["epoch"] == 2 and torch.equal(state["weights"], torch.full((3,), 2.0))
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("damaged: ") and "goes on from the checkpoint before it" in line for line in lines)
    assert "checkpoint: relu, tanh goes on from epoch 3 (saved after epoch 2)" in lines
    assert list((layout.checkpoints_dir(tmp_path) / layout.DAMAGED).iterdir())  # set aside, never deleted
    layout.checkpoint_path(tmp_path, "stack", 2).write_bytes(b"")
    assert ck.Checkpoints(tmp_path, "stack", every=1, what="x").load() is None  # none whole: from scratch


def test_an_interrupt_writes_the_last_epoch_of_what_is_training_and_says_from_where_it_goes_on(tmp_path):
    ck.SAVED.clear()
    saved = _written(tmp_path, 3)
    saved.every = 5  # epoch 3 is in memory only
    with pytest.raises(KeyboardInterrupt), ck.running(saved):
        raise KeyboardInterrupt
    assert layout.checkpoint_epochs(tmp_path, "stack")[0] == 3
    assert ck.saved_line(ck.save_running()) == "x from epoch 4"
    ck.SAVED.clear()


# What a fit's checkpoint must bring back: early stopping's counters, each schedule's state (skorch
# rebuilds a scheduler with ``last_epoch``, and torch's constructor steps StepLR and MultiStepLR once
# more on the restored rate), and the random ops' generator (dropout, RReLU).
RESUMED = {
    "early stopping": dict(early_stopping=3),
    "StepLR, dropout": dict(lr_scheduler={"policy": "StepLR", "step_size": 3, "gamma": 0.5}, dropout=0.3),
    "MultiStepLR, rrelu": dict(lr_scheduler={"policy": "MultiStepLR", "milestones": [3, 5], "gamma": 0.5},
                               activation="rrelu"),
    "ReduceLROnPlateau": dict(lr_scheduler={"policy": "ReduceLROnPlateau", "patience": 1, "factor": 0.5,
                                            "threshold": 0.5, "monitor": "valid_loss"}),  # most epochs count as bad
    "CosineAnnealingLR": dict(lr_scheduler={"policy": "CosineAnnealingLR", "T_max": 6}),
    # fit by fit (a CNN), with batch norm's running statistics and the head's dropout
    "CNN, batch norm, dropout": dict(model="cnn", hidden=[16], dropout=0.3,
                                     module_kwargs={"image_shape": [1, 8, 8], "channels": [4, 8], "norm": "batch"}),
}


@pytest.mark.parametrize("settings", list(RESUMED))
def test_a_fit_trained_fit_by_fit_goes_on_from_its_checkpoint_as_if_never_stopped(settings, tmp_path, monkeypatch,
                                                                                   one_thread):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = (X / 16).astype(np.float32), y.astype(np.int64)

    def fit(folder):
        net = make_net(64, 10, NetSettings.of(epochs=6, batch_size=64, verbose=0, checkpoint_every=2, lr=0.1,
                                              **RESUMED[settings]))
        return net.set_params(record_dir=str(folder)).fit(X, y)

    whole = fit(tmp_path / "whole")
    keep = SaveCheckpoint.on_epoch_end

    def stopped(self, net, **kwargs):
        keep(self, net, **kwargs)
        if len(net.history) == 3:
            raise KeyboardInterrupt  # Ctrl-C after epoch 3: a checkpoint of it, though only every 2 are due
    monkeypatch.setattr(SaveCheckpoint, "on_epoch_end", stopped)
    with pytest.raises(Interrupted):
        fit(tmp_path / "resumed")
    monkeypatch.setattr(SaveCheckpoint, "on_epoch_end", keep)
    assert layout.checkpoint_epochs(tmp_path / "resumed", whole.checkpoints_.name) == [3, 2]
    resumed = fit(tmp_path / "resumed")
    assert [row["epoch"] for row in resumed.history] == list(range(1, 7))
    for name, value in whole.module_.state_dict().items():
        assert torch.equal(value, resumed.module_.state_dict()[name]), name
    assert resumed.history[:, "valid_loss"] == whole.history[:, "valid_loss"]
    assert resumed.history[:, "lr"] == whole.history[:, "lr"]
    assert not layout.checkpoints_dir(tmp_path / "resumed").exists()  # gone with the record written
    ck.SAVED.clear()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The dir of a study of `STUDIES` run without a stop (in this process): each one run once for
    the module, when a test first asks for it."""
    root = tmp_path_factory.mktemp("uninterrupted")

    def study_dir(name):
        if not (root / name).exists():
            run(compose_config([*LONG, *STUDIES[name]], shrink=False), root / name)
        return root / name
    return study_dir


def _kill_after_a_checkpoint(args, run_dir, epoch, timeout=300):
    """Start ``python -m src.run args`` and SIGKILL it once a checkpoint of ``epoch`` exists."""
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder, deadline = layout.checkpoints_dir(layout.fits_dir(run_dir)), time.monotonic() + timeout
    while not list(folder.glob(f"*.e{epoch}.pt")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("study", [name if name == "fixed" else pytest.param(name, marks=pytest.mark.long)
                                   for name in STUDIES])  # make test: the fixed protocol; make test-all: all four
def test_a_study_killed_after_a_checkpoint_resumes_to_the_summary_of_an_uninterrupted_run(study, uninterrupted,
                                                                                         tmp_path):
    reference = uninterrupted(study)
    args = [*LONG, *STUDIES[study], f"data.root={ROOT / 'data'}", f"hydra.run.dir={tmp_path}"]
    _kill_after_a_checkpoint(args, tmp_path, epoch=5)
    assert not (tmp_path / layout.SUMMARY).exists()  # killed mid-training
    assert list(layout.checkpoints_dir(layout.fits_dir(tmp_path)).glob("*.pt"))
    done = run_cli(args)
    assert done.returncode == 0, done.stderr[-3000:]
    said = [line for line in done.stdout.splitlines() if line.startswith("checkpoint: ")]
    assert said and all(" goes on from epoch " in line for line in said), done.stdout[-3000:]
    ours = pd.read_csv(tmp_path / layout.SUMMARY).drop(columns=TIMING)
    theirs = pd.read_csv(reference / layout.SUMMARY).drop(columns=TIMING)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)  # the same machine and kernels: bit for bit
    assert not layout.checkpoints_dir(layout.fits_dir(tmp_path)).exists()
