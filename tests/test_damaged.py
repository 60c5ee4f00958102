"""Damaged results: named in one line, set aside (never deleted) and redone; a full disk is one line."""
import errno
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from src import layout
from src.callbacks import damaged_in_run
from src.errors import Damaged, WriteFailed
from src.files import FAILED_WRITES, TMP_PREFIX, write_csv, write_json, write_text
from src.modes.jobs import run_job
from src.training import fit_records
from tests.tools import require

GRID = ["mode=grid", "data=digits", "train.epochs=2", "train.verbose=0", "device=cpu", "cv.repeats=1",
        "grid.activation=[relu,tanh]"]
SWEEP = ["-m", "activation=relu,tanh", "data=digits", "train.epochs=2", "train.verbose=0", "device=cpu"]
SCORES = ["test_accuracy", "test_log_loss"]
# float32 rounding over a short fit: a stack of other members sums in another order
RTOL, ATOL = 1e-5, 1e-6


def truncate(path):
    """Cut a file short, mid-line (a table cut at a line's end is a whole, shorter table)."""
    data = path.read_bytes()[:min(100, path.stat().st_size // 2)]
    path.write_bytes(data[:-1] if data.endswith(b"\n") else data)


def empty(path):
    path.write_bytes(b"")


def wrong_json(path):
    path.write_text("[1, 2, 3]\n")


def missing(path):
    path.unlink()


DAMAGE = {"truncated": truncate, "empty": empty, "wrong JSON": wrong_json, "missing": missing}
SAID = {"truncated": ("cut short", "not whole torch weights"), "empty": ("empty",),
        "wrong JSON": ("holds a JSON list",), "missing": ("missing",)}


@pytest.fixture
def whole_files(tmp_path):
    """One whole file of each kind that results are read back from."""
    linear = torch.nn.Linear(3, 2)
    buffer = tmp_path / "w.pt"
    torch.save(linear.state_dict(), buffer)
    return {"json": write_json(tmp_path / "metrics.json", {"activation": "relu", "test_accuracy": 0.5}),
            "csv": write_csv(tmp_path / "history.csv", pd.DataFrame({"epoch": range(1, 40), "loss": 1.0})),
            "pt": buffer}


@pytest.mark.parametrize("kind", ["json", "csv", "pt"])
@pytest.mark.parametrize("how", list(DAMAGE))
def test_read_whole_names_each_kind_of_damage(whole_files, kind, how):
    path = whole_files[kind]
    assert layout.read_whole(path) is not None
    if how == "wrong JSON" and kind != "json":
        path.write_text("[1, 2, 3]\n" if kind == "pt" else "a,b\n")  # a list where weights belong; no rows
    else:
        DAMAGE[how](path)
    with pytest.raises(Damaged) as caught:
        layout.read_whole(path)
    assert caught.value.path == str(path) and str(caught.value).startswith(f"{path}: ")
    assert caught.value.what


def test_a_json_lacking_its_keys_is_damaged(tmp_path):
    write_json(tmp_path / "metrics.json", {"activation": "relu"})
    with pytest.raises(Damaged, match="lacks the key test_accuracy"):
        layout.read_whole(tmp_path / "metrics.json")


def test_a_full_disk_raises_one_error_and_leaves_no_file(tmp_path, monkeypatch):
    def no_space(self, data, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", no_space)
    before = list(FAILED_WRITES)
    try:
        with pytest.raises(WriteFailed, match="could not write .*summary.csv: No space left on device"):
            write_text(tmp_path / "summary.csv", "a\n1\n")
    finally:
        FAILED_WRITES[:] = before
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_ends_a_run_with_one_line_and_status_1(make_cfg, tmp_path, monkeypatch, capsys):
    real = Path.write_bytes
    before = list(FAILED_WRITES)

    def full(self, data):
        if self.suffix == ".pt":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    def task(cfg, out_dir):
        monkeypatch.setattr(Path, "write_bytes", full)
        fit_records.save(out_dir / "fits", "k1", {"status": "ok", "history": []}, module=torch.nn.Linear(2, 2))

    try:
        with pytest.raises(SystemExit) as ended:
            run_job(task, make_cfg(), tmp_path)
    finally:
        FAILED_WRITES[:] = before
    assert ended.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "k1.pt: No space left on device" in lines[0] and "continues" in lines[0]
    assert list((tmp_path / "fits").iterdir()) == []


def test_a_damaged_record_is_set_aside_and_not_loaded(tmp_path, capsys):
    fit_records.save(tmp_path, "k1", {"status": "ok", "history": []}, module=torch.nn.Linear(2, 2))
    fit_records.save(tmp_path, "k2", {"status": "ok", "history": []}, module=torch.nn.Linear(2, 2))
    truncate(tmp_path / "k1.pt")
    assert fit_records.set_aside_damaged(tmp_path) == 1
    assert fit_records.load(tmp_path, "k1") is None and fit_records.load(tmp_path, "k2") is not None
    assert sorted(p.name for p in (tmp_path / "damaged").iterdir()) == ["k1.json", "k1.pt"]
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"damaged: {tmp_path / 'k1.pt'}: not whole torch weights")


def test_the_temporary_file_of_a_killed_write_is_no_record(tmp_path, capsys):
    fit_records.save(tmp_path, "k1", {"status": "ok", "history": []}, module=torch.nn.Linear(2, 2))
    shutil.copy(tmp_path / "k1.json", tmp_path / f"{TMP_PREFIX}x1.json")  # killed between writing and renaming
    assert [r["key"] for r in layout.read_records(tmp_path)] == layout.record_keys(tmp_path) == ["k1"]
    assert fit_records.set_aside_damaged(tmp_path) == 0 and capsys.readouterr().out == ""
    assert layout.record_keys(tmp_path / "missing") == []


def folds(out_dir):
    return pd.read_csv(Path(out_dir) / layout.FOLDS).sort_values(["label", "split"]).reset_index(drop=True)


def assert_same_scores(a, b):
    assert list(a["label"]) == list(b["label"]) and (b["status"] == "ok").all()
    np.testing.assert_allclose(a[SCORES].to_numpy(float), b[SCORES].to_numpy(float), rtol=RTOL, atol=ATOL)


def _ran(args, out_key, out):
    """``out`` after ``python -m src.run args`` wrote into it (the run must succeed)."""
    from tests.conftest import run_cli

    done = run_cli([*args, f"{out_key}={out}"])
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    """An undamaged grid (relu, 3 folds) on digits."""
    return _ran(GRID, "hydra.run.dir", tmp_path_factory.mktemp("grid") / "run")


def record_file(grid, suffix):
    key = json.loads((grid / layout.SEARCH).read_text())["fit_keys"]["tanh"][1]
    return layout.fits_dir(grid) / f"{key}.{suffix}"


@pytest.mark.slow
@pytest.mark.parametrize("how,suffix", [("truncated", "pt"), ("empty", "json"), ("wrong JSON", "json"),
                                        ("missing", "pt")])
def test_a_grid_resumes_over_a_damaged_fit_record(cli, grid_dir, tmp_path, how, suffix):
    grid = tmp_path / "run"
    shutil.copytree(grid_dir, grid)
    damaged = record_file(grid, suffix)
    DAMAGE[how](damaged)
    done = cli([*GRID, f"hydra.run.dir={grid}"])
    assert done.returncode == 0, done.stderr[-2000:]
    notes = [line for line in done.stdout.splitlines() if line.startswith("damaged: ")]
    shown = record_file(grid, "pt" if how == "missing" else suffix)
    assert len(notes) == 2 and notes[0].startswith(f"damaged: {shown}: ")
    assert any(word in notes[0] for word in SAID[how])
    assert notes[1] == f"damaged: 1 damaged result set aside in {grid / 'fits' / 'damaged'} and computed again"
    assert "Traceback" not in done.stderr
    kept = grid / "fits" / "damaged" / damaged.name
    assert kept.exists() != (how == "missing")  # kept aside, as it was
    assert record_file(grid, "pt").exists() and layout.record_damage(grid / "fits", record_file(grid, "pt").stem) == []
    assert_same_scores(folds(grid_dir), folds(grid))


@pytest.mark.slow
def test_report_names_a_damaged_file_and_writes_nothing(cli, grid_dir, tmp_path):
    grid = tmp_path / "run"
    shutil.copytree(grid_dir, grid)
    truncate(grid / layout.CV_RESULTS)
    before = {p.name: p.stat().st_mtime_ns for p in grid.iterdir() if p.is_file()}
    done = cli([str(grid)], module="src.report")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"error: {grid / layout.CV_RESULTS}: cut short")
    assert {p.name: p.stat().st_mtime_ns for p in grid.iterdir() if p.is_file()} == before
    assert list(grid.glob(".tmp-*")) == []


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """An undamaged sweep of two single runs on digits."""
    return _ran(SWEEP, "hydra.sweep.dir", tmp_path_factory.mktemp("sweep") / "sweep")


def job_scores(sweep):
    summary = pd.read_csv(sweep / layout.SUMMARY).sort_values("activation")
    return summary[["activation", "status", "test_accuracy", "test_loss"]].reset_index(drop=True)


@pytest.mark.slow
@pytest.mark.parametrize("damages", [{"0": ("metrics.json", "empty"), "1": ("history.csv", "truncated")},
                                     {"0": ("metrics.json", "wrong JSON"), "1": ("history.csv", "missing")}])
def test_a_sweep_reruns_a_job_whose_results_are_damaged(cli, sweep_dir, tmp_path, damages):
    sweep = tmp_path / "sweep"
    shutil.copytree(sweep_dir, sweep)
    for job, (name, how) in damages.items():
        DAMAGE[how](sweep / job / name)
    done = cli([*SWEEP, f"hydra.sweep.dir={sweep}"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "skipped:" not in done.stdout and "Traceback" not in done.stderr
    for job, (name, how) in damages.items():
        said = [line for line in done.stdout.splitlines() if line.startswith(f"damaged: {sweep / job / name}: ")]
        assert len(said) == 1 and any(word in said[0] for word in SAID[how]), done.stdout
        assert f"damaged: 1 damaged result set aside in {sweep / job / 'damaged'} and computed again" in done.stdout
        assert (sweep / job / "damaged" / name).exists() != (how == "missing")
        assert (sweep / job / "damaged" / layout.STATUS).exists()
        assert layout.results_damage(sweep / job) == []
    # the sweep's own last lines add them up
    assert "damaged: 2 damaged results set aside in 2 jobs of this sweep (0, 1) and computed again" in done.stdout
    assert damaged_in_run(sweep, None) == {"0": 1, "1": 1} and damaged_in_run(sweep, time.time() + 60) == {}
    after = job_scores(sweep)
    assert (after["status"] == "ok").all()
    before = job_scores(sweep_dir)
    np.testing.assert_allclose(after[["test_accuracy", "test_loss"]], before[["test_accuracy", "test_loss"]],
                               rtol=RTOL, atol=ATOL)


@pytest.fixture
def small_disk(tmp_path, pytestconfig):
    """A 600 KB tmpfs (as root); skipped without root or where it cannot be mounted."""
    require("root", pytestconfig)
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(where)], capture_output=True,
                             text=True)
    if mounted.returncode:
        pytest.skip(f"a small tmpfs could not be mounted: {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", str(where)], check=True)


@pytest.mark.slow
@pytest.mark.needs("root")
def test_a_full_disk_is_one_line_and_a_rerun_with_space_completes(cli, grid_dir, small_disk):
    args = [*GRID[:-1], f"hydra.run.dir={small_disk / 'run'}"]  # the notebook's 3 activations: 9 fits, 650 KB
    full = cli(args)
    assert full.returncode == 1
    errors = full.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in full.stderr, full.stderr[-2000:]
    assert "No space left on device" in errors[0] and "continues from the finished fits" in errors[0]
    written = [p for p in (small_disk / "run" / "fits").iterdir()]
    assert list((small_disk / "run").rglob(".tmp-*")) == [] and written
    assert all(layout.read_whole(p) is not None for p in written)
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    done = cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = folds(small_disk / "run")
    assert_same_scores(folds(grid_dir), scores[scores["label"] != "leaky_relu"].reset_index(drop=True))


@pytest.mark.slow
@pytest.mark.needs("root")
def test_a_full_disk_in_a_worker_process_is_one_line_not_a_failed_fit(cli, small_disk):
    """Fits in worker processes (no stack): the records they cannot write end the run with one
    line, as in one process, instead of reaching the summary as failed fits."""
    args = [*GRID[:-1], "cv.batched=false", "search.backend=local", "cv.refit=false",
            f"hydra.run.dir={small_disk / 'run'}"]
    full = cli(args)
    assert full.returncode == 1
    errors = full.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in full.stderr, full.stderr[-2000:]
    assert f"could not write {small_disk / 'run' / 'fits'}" in errors[0] and "continues from the finished fits" in errors[0]
    assert not (small_disk / "run" / layout.SUMMARY).exists()
    written = [p for p in (small_disk / "run" / "fits").iterdir()]
    assert written and all(layout.read_whole(p) is not None for p in written)
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    done = cli(args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert folds(small_disk / "run")["test_accuracy"].notna().all()


@pytest.mark.slow
@pytest.mark.cluster
def test_a_grid_on_dask_resumes_over_damaged_fit_records(cli, tmp_path):
    args = [*GRID, "search.backend=dask", "cv.n_jobs=2", "cv.batched=false", "cv.refit=false",
            f"hydra.run.dir={tmp_path / 'run'}"]
    first = cli(args)
    assert first.returncode == 0, first.stderr[-2000:]
    before = folds(tmp_path / "run")
    truncate(record_file(tmp_path / "run", "pt"))
    empty(layout.fits_dir(tmp_path / "run") / f"{before['fit'].iloc[0]}.json")
    again = cli(args)
    assert again.returncode == 0, again.stderr[-2000:]
    notes = [line for line in again.stdout.splitlines() if line.startswith("damaged: ")]
    assert len(notes) == 3 and notes[-1].startswith("damaged: 2 damaged results set aside"), again.stdout
    assert len(list((tmp_path / "run" / "fits" / "damaged").iterdir())) == 4
    after = folds(tmp_path / "run")
    assert list(after["label"]) == list(before["label"]) and (after["status"] == "ok").all()
    # retrained in a worker process: the loss agrees to float32 rounding, an accuracy to one test image
    np.testing.assert_allclose(after["test_log_loss"], before["test_log_loss"], rtol=RTOL)
    np.testing.assert_allclose(after["test_accuracy"], before["test_accuracy"], atol=1.01 / after["n_test"].min())
