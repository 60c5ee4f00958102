"""The GPU path: ``device=auto`` picks CUDA, the data goes to the GPU once and stays there, and
the stacked grid, a plain grid and a single run train there and score as on the CPU.

Skipped on a machine without a CUDA device (``pytest -m cuda`` runs only these).
"""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits

from src.run import run
from src.training.loader import as_tensor
from src.training.net import make_net, resolve_device
from src.training.settings import NetSettings

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")]

GRID = ["mode=grid", "cv.n_jobs=1", "train.epochs=4", "cv.refit=false", "grid.activation=[relu,tanh,elu]"]


def _digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y.astype(np.int64)


def test_auto_picks_the_gpu():
    assert resolve_device("auto") == "cuda"


def test_a_matrix_goes_to_the_gpu_once_and_its_batches_are_gathered_there():
    X, y = _digits()
    first, again = as_tensor(X, "cuda"), as_tensor(X, "cuda")
    assert first.device.type == "cuda" and first.data_ptr() == again.data_ptr()
    assert as_tensor(X.copy(), "cuda").data_ptr() != first.data_ptr()  # another matrix, another copy
    np.testing.assert_array_equal(first.cpu().numpy(), X)

    net = make_net(64, 10, NetSettings.of(epochs=2, verbose=0, device="cuda"))
    net.fit(X, y)
    assert {p.device.type for p in net.module_.parameters()} == {"cuda"}
    loader = net.get_iterator(net.get_dataset(X, y), training=True)
    assert loader.X.data_ptr() == first.data_ptr()  # the fit's batches come from the one copy
    batches = list(loader)
    assert len(batches) == len(loader) > 1
    assert all(xb.device.type == yb.device.type == "cuda" for xb, yb in batches)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as prof:
        list(net.get_iterator(net.get_dataset(X, y), training=True))
        torch.cuda.synchronize()
    host_to_device = [e for e in prof.events() if "HtoD" in e.name]
    # an epoch sends its shuffled order (a few kB) and nothing else: no batch crosses the bus
    assert len(host_to_device) <= 2, [e.name for e in host_to_device]


def test_the_stacked_grid_trains_on_the_gpu_and_agrees_with_the_cpu(make_cfg, tmp_path):
    folds = {}
    for device in ("cpu", "cuda"):
        run(make_cfg(GRID + ["cv.batched=true", f"device={device}", "train.threads=1"]), tmp_path / device)
        folds[device] = pd.read_csv(tmp_path / device / "folds.csv").sort_values(["label", "split"])
        assert json.loads((tmp_path / device / "search.json").read_text())["device"] == device
        records = [json.loads(p.read_text()) for p in (tmp_path / device / "fits").glob("*.json")]
        assert len(records) == 9 and all(r.get("batched") == 9 for r in records)  # one stack of 3 x 3
    # the same fold models up to the two devices' float32 arithmetic (4 epochs of SGD)
    np.testing.assert_allclose(folds["cuda"]["test_accuracy"], folds["cpu"]["test_accuracy"], atol=0.01)
    np.testing.assert_allclose(folds["cuda"]["test_log_loss"], folds["cpu"]["test_log_loss"], rtol=0.01)


def test_a_plain_grid_and_a_single_run_on_auto_record_the_gpu(cli, tmp_path):
    grid = cli(["data=digits", "device=auto", "train.verbose=0", "cv.repeats=1", "cv.batched=false",
                "train.epochs=3", f"hydra.run.dir={tmp_path}/grid", *GRID[:1], *GRID[4:]])
    assert grid.returncode == 0, grid.stderr
    assert json.loads((tmp_path / "grid" / "search.json").read_text())["device"] == "cuda"
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv")
    assert len(summary) == 3 and (summary["accuracy_mean"] > 0.6).all(), summary  # 3 epochs; chance is 0.1
    single = cli(["data=digits", "device=auto", "train.epochs=3", f"hydra.run.dir={tmp_path}/single"])
    assert single.returncode == 0, single.stderr
    metrics = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert metrics["device"] == "cuda" and metrics["test_accuracy"] > 0.8
