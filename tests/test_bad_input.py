"""Bad input ends in one line on stderr, a non-zero exit, no traceback and no half-written results.

The first cases run the real command line; the rest call `src.preflight.check_command_line`
(what ``python -m src.run`` runs before Hydra starts) or `src.run.run` in-process.
"""
import json
import math
import subprocess
import sys

import pytest

from src.errors import UserError
from src.modes.jobs import run_job
from src.preflight import check_command_line
from src.run import run
from tests.conftest import DATA_ROOT, MNIST_READY, ROOT

FAST = ["data=digits", "train.epochs=1", "train.verbose=0", "device=cpu"]
GRID = ["mode=grid", "cv.n_jobs=1", *FAST]
RESULTS = ("metrics.json", "summary.csv", "history.csv", "cv_results.csv", "folds.csv", "search.json", "status.json")


def assert_one_line_error(done, *needles):
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stdout[-2000:]
    assert len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith("error: ") and "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def assert_nothing_written(path):
    """The run dir is gone, or holds no result file (and no temporary file)."""
    if path.exists():
        names = [p.name for p in path.rglob("*") if p.is_file()]
        assert not [n for n in names if n in RESULTS or n.startswith(".tmp-")], names


def corrupt_mnist(root, how):
    """A copy of the MNIST root whose test labels are truncated or have one label changed."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for src in (DATA_ROOT / "MNIST" / "raw").iterdir():
        (raw / src.name).symlink_to(src)
    name = "t10k-labels-idx1-ubyte"
    data = bytearray((DATA_ROOT / "MNIST" / "raw" / name).read_bytes())
    (raw / name).unlink()
    if how == "truncated":
        data = data[:5000]
    else:
        data[100] = (data[100] + 1) % 10
    (raw / name).write_bytes(bytes(data))
    return root


needs_mnist = pytest.mark.skipif(not MNIST_READY, reason="MNIST is not under data/ (run `make data`)")

CLI_CASES = {
    "unknown activation": (["activation=nope", *FAST], ["'nope'", "selu"]),
    "unknown launcher": (["hydra/launcher=nope", *FAST], ["launcher/nope", "joblib", "submitit_local"]),
    "unknown experiment": (["experiment=nope"], ["experiment/nope", "quick"]),
    "a bad value in a sweep": (["-m", "train.epochs=1,0", *FAST[:1]], ["train.epochs", "0"]),
    "folds above the smallest class count": ([*GRID, "cv.folds=500"], ["cv.folds=500", "smallest class"]),
    "a subset too small for the folds": ([*GRID, "data.subset=60"], ["data.subset"]),
    "a grid parameter the network does not accept": ([*GRID, "+grid.nonsense=[1]"], ["'nonsense'"]),
    "a _target_ outside the allow-list": (["optimizer._target_=os.system", *FAST], ["os.system", "torch.optim."]),
    "an interval sweep without Optuna": (["-m", "optimizer.lr=interval(0.001,0.1)", *FAST], ["hydra/sweeper=optuna"]),
}


# Each case starts a process: the first is the fast suite's smoke test of the one-line error
# through `python -m src.run`; the preflight's own cases below check the others in-process.
@pytest.mark.parametrize("name", [name if i == 0 else pytest.param(name, marks=pytest.mark.slow)
                                  for i, name in enumerate(CLI_CASES)])
def test_bad_command_lines(cli, tmp_path, name):
    args, needles = CLI_CASES[name]
    out = tmp_path / "out"
    done = cli([*args, f"hydra.run.dir={out}", f"hydra.sweep.dir={out}"])
    assert_one_line_error(done, *needles)
    assert_nothing_written(out)


@needs_mnist
@pytest.mark.parametrize("how, needle", [("truncated", "truncated"),
                                         pytest.param("changed", "checksum", marks=pytest.mark.slow)])
def test_corrupt_data_files(cli, tmp_path, how, needle):
    root = corrupt_mnist(tmp_path / "data", how)
    out = tmp_path / "out"
    done = cli(["data=mnist", f"data.root={root}", "data.download=false", "train.epochs=1", f"hydra.run.dir={out}"])
    assert_one_line_error(done, needle, "t10k-labels-idx1-ubyte", "make data")
    assert_nothing_written(out)


@pytest.mark.slow
def test_an_output_dir_that_cannot_be_created(cli, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    done = cli([*FAST, f"hydra.run.dir={blocker}/run"])
    assert_one_line_error(done, "hydra.run.dir", "is a file")
    assert blocker.read_text() == "not a folder\n"


def test_report_on_a_dir_without_results(cli, tmp_path):
    done = cli([str(tmp_path)], module="src.report")
    assert_one_line_error(done, "holds no results")
    assert list(tmp_path.iterdir()) == []


TUNED = ["mode=grid", "protocol=tuned"]
HALVED = ["mode=grid", "search.halving=true"]
PREFLIGHT_CASES = {
    "unknown optimizer": (["optimizer=nope"], "adam, adamw, rmsprop, sgd"),
    "unknown dataset": (["data=nope"], "digits, fashion_mnist, mnist"),
    "unknown grid": (["mode=grid", "grid=nope"], "notebook"),
    "unknown sweeper": (["-m", "hydra/sweeper=nope"], "activation_lr"),
    "unknown mode": (["mode=nope"], "grid, single"),
    "unknown device": (["device=tpu"], "auto, cpu, cuda"),
    "unknown init": (["model.init=nope"], "kaiming_normal"),
    "unknown search backend": (["mode=grid", "search.backend=nope"], "dask, local"),
    "misspelt key": (["trian.epochs=2"], "trian"),
    "unreadable override": (["model.hidden=[1,2"], "cannot read the command line"),
    "zero learning rate": (["optimizer.lr=0"], "optimizer.lr must be > 0"),
    "negative learning rate": (["optimizer.lr=-0.1"], "optimizer.lr must be > 0"),
    "negative momentum": (["optimizer.momentum=-1"], "optimizer.momentum"),
    "zero epochs": (["train.epochs=0"], "train.epochs"),
    "negative batch size": (["train.batch_size=-5"], "train.batch_size"),
    "no hidden layer": (["model.hidden=[]"], "model.hidden"),
    "negative hidden size": (["model.hidden=[128,-1]"], "model.hidden"),
    "dropout of 1": (["model.dropout=1.0"], "model.dropout"),
    "negative dropout": (["model.dropout=-0.1"], "model.dropout"),
    "validation fraction above 1": (["train.valid_fraction=1.5"], "train.valid_fraction"),
    "unknown matmul precision": (["train.matmul_precision=fast"], "highest, medium"),
    "a single fold": (["mode=grid", "cv.folds=1"], "cv.folds"),
    "no parallel fits": (["mode=grid", "cv.n_jobs=0"], "cv.n_jobs"),
    "an empty subset": (["data.subset=0"], "data.subset"),
    "unknown activation in a grid": (["mode=grid", "grid.activation=[relu,nope]"], "nope"),
    "an activation listed twice": (["mode=grid", "grid.activation=[relu,tanh,relu]"],
                                   "grid.activation lists relu twice"),
    "a learning rate listed twice": (["mode=grid", "+grid.lr=[0.01,0.1,0.01]"], "grid.lr lists 0.01 twice"),
    "hidden sizes listed twice": (["mode=grid", "+grid.hidden=[[64],[64]]"], "grid.hidden lists [64] twice"),
    "a grid key added without +": (["mode=grid", "grid.lr=[0.01,0.1]"], "add it with a leading +, e.g. '+grid.lr="),
    "unknown activation in an Optuna choice": (["-m", "hydra/sweeper=activation_lr", "activation=choice(relu,nope)"],
                                               "nope"),
    "unknown activation in the sweeper's params": (
        ["-m", "hydra/sweeper=activation_lr", "hydra.sweeper.params.activation='choice(tanh,nope)'"], "nope"),
    "log interval from zero": (["-m", "hydra/sweeper=activation_lr", "optimizer.lr=tag(log,interval(0,0.1))"],
                               "lower bound > 0"),
    "interval beyond the valid range": (["-m", "hydra/sweeper=activation_lr", "model.dropout=interval(0.1,1.5)"],
                                        "model.dropout"),
    "a _target_ that runs a program": (["optimizer._target_=subprocess.Popen"], "refusing"),
    "tuned study: empty list": ([*TUNED, "tune.lr=[]"], "tune.lr must be a non-empty list"),
    "tuned study: nothing to choose": ([*TUNED, "tune.lr=[0.01]"], "tune.lr=[0.01] leaves nothing to choose"),
    "tuned study: non-numeric lr": ([*TUNED, "tune.lr=[fast]"], "positive number"),
    "tuned study: non-positive lr": ([*TUNED, "tune.lr=[0,0.1]"], "positive number"),
    "tuned study: a rate listed twice": ([*TUNED, "tune.lr=[0.1,0.01,0.1]"], "tune.lr lists 0.1 twice"),
    "tuned study: unknown name": ([*TUNED, "+tune.speed=[1,2]"], "'speed'"),
    "tuned study: the activation": ([*TUNED, "+tune.activation=[relu,tanh]"], "what a tuned study compares"),
    "tuned study: in grid and tune": ([*TUNED, "+grid.lr=[0.01,0.1]"], "both under grid and under tune"),
    "tuned study: single mode": ([*TUNED, "mode=single"], "needs mode=grid"),
    "tuned study: no validation split": ([*TUNED, "train.valid_fraction=0"], "train.valid_fraction must be above 0"),
    "halving: eta below 2": ([*HALVED, "search.eta=1"], "search.eta must be an integer >= 2"),
    "halving: first rung at the budget": ([*HALVED, "search.min_epochs=25"],
                                          "search.min_epochs=25 must be below train.epochs=25"),
    "halving: early stopping": ([*HALVED, "train.early_stopping=3"], "cannot honour train.early_stopping"),
    "halving: lr schedule": ([*HALVED, "train.lr_scheduler={policy: StepLR, step_size: 5}"],
                             "cannot honour train.lr_scheduler"),
    "halving: fit by fit": ([*HALVED, "cv.batched=false"], "needs cv.batched=true"),
    "halving: dask": ([*HALVED, "search.backend=dask"], "cannot run its stacks on Dask"),
    "halving: single mode": ([*HALVED, "mode=single"], "needs mode=grid"),
    "halving: epochs swept": ([*HALVED, "+grid.epochs=[5,10]"], "epochs cannot also be a grid or tune setting"),
    "negative margin": (["mode=grid", "stats.margin=-0.5"], "stats.margin must be in [0, 100], got -0.5"),
    "margin not a number": (["mode=grid", "stats.margin=nan"], "stats.margin must be in [0, 100], got nan"),
    "margin above 100 points": (["mode=grid", "stats.margin=101"], "stats.margin must be in [0, 100], got 101"),
    "margin a word": (["stats.margin=half"], "stats.margin must be a number, got 'half'"),
}


@pytest.mark.parametrize("name", list(PREFLIGHT_CASES))
def test_bad_overrides_are_refused_before_hydra_starts(name):
    args, needle = PREFLIGHT_CASES[name]
    with pytest.raises(UserError) as info:
        check_command_line(args)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_sweep_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "a-file").write_text("")
    with pytest.raises(UserError, match="is a file"):
        check_command_line(["-m", "activation=relu,tanh", f"hydra.sweep.dir={tmp_path}/a-file/sweep"])


@pytest.mark.parametrize("overrides, needle", [
    ([*GRID[:1], "data.subset=20", "cv.folds=3"], "smallest class count (2)"),
    (["data.standardize=nope"], "data.standardize"),
])
def test_bad_input_found_when_the_data_are_loaded(make_cfg, tmp_path, overrides, needle):
    with pytest.raises(UserError) as info:
        run(make_cfg(overrides), tmp_path)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_diverged_single_run_exits_with_one_line_and_says_so(make_cfg, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    with pytest.raises(SystemExit) as info:
        run_job(run, make_cfg(["optimizer.lr=1000000.0", "train.epochs=3"]), out)
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: diverged")
    assert json.loads((out / "status.json").read_text())["status"] == "diverged"
    assert not (out / "metrics.json").exists()


def test_a_diverged_sweep_job_is_recorded_and_returns_a_number(make_cfg, tmp_path):
    out = tmp_path / "0"
    (out / ".hydra").mkdir(parents=True)
    (out / ".hydra" / "overrides.yaml").write_text("[]\n")
    objective = run_job(run, make_cfg(["optimizer.lr=1000000.0", "train.epochs=3"]), out, sweep_dir=tmp_path,
                        sweeper={"direction": "maximize"})
    assert objective == -math.inf
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "diverged" and "loss" in status["error"]


@pytest.mark.slow
@pytest.mark.parametrize("override", ["train.epochs=abc", "train.epochz=3", "data=nope"])
def test_a_bad_command_line_is_refused_before_torch_is_imported(override):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "src.run", override], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert len(errors) == 1 and "torch" not in imported and "sklearn" not in imported


@pytest.mark.parametrize("overrides, needle", [([*TUNED, "tune.lr=[0,1]"], "positive number"),
                                               ([*HALVED, "search.min_epochs=30"], "must be below train.epochs")])
def test_a_bad_tuned_or_halving_study_is_refused_before_torch_is_imported(overrides, needle):
    code = ("import sys\nfrom src.preflight import check_command_line\nfrom src.errors import UserError\n"
            f"try:\n    check_command_line({overrides!r})\nexcept UserError as exc:\n    print(exc)\n"
            "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "False" and needle in lines[0], done.stdout + done.stderr
