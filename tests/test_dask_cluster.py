"""GridSearchCV on a Dask cluster of separate processes: ``dask scheduler`` and two ``dask worker``.

The fits run in the worker processes (``cv.batched=false``: every fit is one Dask task), so
these tests see what a user of ``search.scheduler=tcp://HOST:PORT`` gets: the threads
backend's results, the training rows sent once, a lost worker's fits run again elsewhere.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from src.data.datasets import load
from src.errors import UserError
from src.layout import read_records, record_keys
from src.modes.backends import dask_client, joblib_backend
from src.run import run
from tests.clusters import DaskCluster, alive
from tests.conftest import DATA_ROOT, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

GRID = ["mode=grid", "data=digits", "train.epochs=2", "train.verbose=0", "device=cpu", "cv.refit=false",
        "cv.batched=false", "cv.n_jobs=2", "cv.repeats=1", "grid.activation=[relu,tanh]"]


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A running Dask cluster (scheduler and two workers) for this module; stopped at its end."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"), n_workers=2)
    with cluster:
        yield cluster
    assert [pid for pid in cluster.pids() if alive(pid)] == []


def scores(out_dir):
    """The per-fit scores of a grid, one row per (candidate, fold), in that order."""
    folds = pd.read_csv(out_dir / "folds.csv").sort_values(["label", "fold"]).reset_index(drop=True)
    return folds[["label", "fold", "status", "test_accuracy", "test_log_loss"]]


@pytest.fixture(scope="module")
def threads_scores(tmp_path_factory):
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("threads")
    run(compose_config(GRID + ["search.backend=threads"], shrink=False), out)
    return scores(out)


def test_the_grid_on_dask_equals_the_threads_backend_and_sends_the_rows_once(dask_cluster, threads_scores,
                                                                             tmp_path):
    from tests.conftest import compose_config

    before = len(dask_cluster.sent())
    run(compose_config(GRID + ["search.backend=dask", f"search.scheduler={dask_cluster.address}"], shrink=False),
        tmp_path)
    got = scores(tmp_path)
    assert len(got) == 6 and (got["status"] == "ok").all()
    pd.testing.assert_frame_equal(got[["label", "fold"]], threads_scores[["label", "fold"]])
    # The same fits on the same CPU, in other processes: torch may pick other kernels there, so
    # scores may differ by float32 rounding over a fit, which the portable suite bounds by 1e-5
    # (relative) on the loss; an accuracy may then move by at most one test image of a fold.
    np.testing.assert_allclose(got["test_log_loss"], threads_scores["test_log_loss"], rtol=1e-5)
    n_test = len(load("digits", root=str(DATA_ROOT)).y_train) // 3
    np.testing.assert_allclose(got["test_accuracy"], threads_scores["test_accuracy"], atol=1.01 / n_test)
    rows = load("digits", root=str(DATA_ROOT)).X_train.nbytes
    sent = dask_cluster.sent()[before:]
    assert [key for key, nbytes in sent if nbytes >= rows] and len([1 for _, n in sent if n >= rows]) == 1, sent


def test_stacks_trained_on_dask_workers_get_the_rows_sent_once(dask_cluster, tmp_path):
    """Two stacks (one per momentum) train in the workers, from the rows every worker holds."""
    from tests.conftest import compose_config

    before = len(dask_cluster.sent())
    grid = [arg for arg in GRID if arg != "cv.batched=false"]
    run(compose_config(grid + ["cv.batched=true", "+grid.momentum=[0.9,0.95]", "search.backend=dask",
                               f"search.scheduler={dask_cluster.address}"], shrink=False), tmp_path)
    records = read_records(tmp_path / "fits")
    assert len(records) == 12 and all(r.get("batched") == 6 for r in records)  # 2 stacks of 2 x 3
    got = scores(tmp_path)
    assert len(got) == 12 and (got["status"] == "ok").all()
    rows = load("digits", root=str(DATA_ROOT)).X_train.nbytes
    assert len([1 for _, n in dask_cluster.sent()[before:] if n >= rows]) == 1


def test_the_rows_sent_to_every_worker_stay_there_until_the_grid_ends(dask_cluster):
    """Dask's memory manager drops the copies of a key that no waiting task needs: with it
    running, rows scattered to both workers are left on one a few seconds after the last
    task that read them, and a worker dying then loses them for good."""
    import dask
    import joblib
    from dask.distributed import default_client

    rows = np.arange(100_000, dtype=np.int64)
    interval = dask.utils.parse_timedelta(dask.config.get("distributed.scheduler.active-memory-manager.interval"))
    with joblib_backend("dask", dask_cluster.address, scatter=[rows]):
        client = default_client()
        assert not client.amm.running()
        sums = joblib.Parallel(n_jobs=2)(joblib.delayed(np.sum)(rows) for _ in range(4))
        time.sleep(3 * interval)  # the memory manager would have run three times by now
        held = {key: workers for key, workers in client.who_has().items() if key.startswith("ndarray-")}
    assert sums == [rows.sum()] * 4
    assert len(held) == 1 and len(next(iter(held.values()))) == 2, held
    with dask_client(dask_cluster.address) as after:
        assert after.amm.running()  # the cluster's memory manager runs again after the grid


def test_a_worker_killed_mid_grid_loses_and_duplicates_no_fit(dask_cluster, tmp_path):
    grid = [arg for arg in GRID if not arg.startswith(("train.epochs", "grid.activation"))]
    args = [*grid, "train.epochs=6", "grid.activation=[relu,tanh]", "+grid.momentum=[0.9,0.95]", "search.backend=dask",
            f"search.scheduler={dask_cluster.address}", f"hydra.run.dir={tmp_path}"]
    env = dict(os.environ, HYDRA_FULL_ERROR="0", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-m", "src.run", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not record_keys(tmp_path / "fits") and proc.poll() is None:
            assert time.monotonic() < deadline, "no fit finished in time"
            time.sleep(0.05)
        victim = dask_cluster.workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = len(record_keys(tmp_path / "fits"))
        out, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dask_cluster.add_worker("w-replacement")  # the next test gets two workers again
    assert proc.returncode == 0, out[-3000:]
    assert killed_at < 12, "the grid had finished before the worker was killed"
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert len(folds) == 12 and (folds["status"] == "ok").all()
    assert not folds.duplicated(["label", "fold"]).any()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 4 and summary["accuracy_mean"].notna().all()
    records = read_records(tmp_path / "fits")
    assert len(records) == 12 and all(r["status"] == "ok" for r in records)


def test_an_unreachable_scheduler_is_one_line_and_exit_2_within_seconds(cli, tmp_path):
    tic = time.monotonic()
    done = cli([*GRID, "search.backend=dask", "search.scheduler=tcp://127.0.0.1:9", f"hydra.run.dir={tmp_path / 'run'}"])
    took = time.monotonic() - tic
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: search.scheduler='tcp://127.0.0.1:9': no Dask scheduler"), \
        done.stderr
    assert took < 30, took  # Python and torch start (~10 s on a busy machine), then 5 s for the scheduler
    assert not (tmp_path / "run").exists()


def test_a_malformed_scheduler_address_names_the_form_it_needs():
    with pytest.raises(UserError, match="'not-an-address' is not a Dask scheduler address .* tcp://HOST:PORT"):
        dask_client("not-an-address")
