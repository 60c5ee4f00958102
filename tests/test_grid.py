"""Grid mode end to end on digits: GridSearchCV, the tables, HiPlot pages, failures, resume."""
import json
import logging
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from src.report import rebuild
from src.run import run

GRID = ["mode=grid", "cv.n_jobs=1", "train.epochs=2"]


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("grid")
    best = run(compose_config(GRID + ["grid=notebook"]), out)
    return out, best


def test_grid_writes_every_table(grid_dir):
    out, best = grid_dir
    cv = pd.read_csv(out / "cv_results.csv")
    assert sorted(cv["label"]) == ["leaky_relu", "relu", "tanh"]
    assert {"mean_test_accuracy", "mean_test_balanced_accuracy", "mean_test_log_loss", "rank_test_accuracy"} <= set(cv)
    folds = pd.read_csv(out / "folds.csv")
    assert len(folds) == 9 and set(folds["fold"]) == {0, 1, 2}
    assert (folds["fit_time"] > 0).all() and (folds["status"] == "ok").all() and (folds["epochs"] == 2).all()
    assert (folds["n_train"] + folds["n_test"] == 1347).all()
    assert (folds["test_log_loss"] > 0).all()
    # folds agree with GridSearchCV's own per-split scores
    relu = cv.set_index("label").loc["relu"]
    np.testing.assert_allclose(folds[folds.label == "relu"]["test_accuracy"],
                               [relu[f"split{i}_test_accuracy"] for i in range(3)])
    summary = pd.read_csv(out / "summary.csv")
    assert summary["rank"].tolist() == [1, 2, 3]
    assert summary["accuracy_mean"].is_monotonic_decreasing
    assert summary["accuracy_mean"].iloc[0] == pytest.approx(best)
    assert np.isfinite(summary["refit_test_accuracy"].iloc[0]) and summary["refit_test_accuracy"].iloc[1:].isna().all()
    md = (out / "summary.md").read_text()
    assert "± " in md and all(label in md for label in ("relu", "tanh", "leaky_relu"))
    meta = json.loads((out / "search.json").read_text())
    assert meta["refit"]["test_accuracy"] == pytest.approx(summary["refit_test_accuracy"].iloc[0])


def test_hiplot_pages_have_parameters_then_metrics(grid_dir):
    out, _ = grid_dir
    for name, first, colour in (("hiplot.html", "activation", "mean_test_accuracy"),
                                ("hiplot_folds.html", "activation", "test_accuracy")):
        html = (out / name).read_text().replace('\\"', '"')
        assert f'"colorby": "{colour}"' in html
        order = html.split('"PARALLEL_PLOT": {"hide": ["uid", "from_uid"', 1)[1].split('"order": [', 1)[1]
        order = order.split("]", 1)[0]
        axes = [a.strip().strip('"') for a in order.split(",")][::-1]  # HiPlot reads it right to left
        assert axes[0] == first and colour in axes and axes.index(first) < axes.index(colour)


def test_report_rebuilds_the_same_tables(grid_dir):
    out, _ = grid_dir
    before = (out / "summary.csv").read_text()
    (out / "summary.csv").unlink()
    (out / "hiplot.html").unlink()
    written = rebuild(out)
    assert (out / "summary.csv").read_text() == before
    page = written["hiplot"].read_text()
    assert page.rstrip().endswith("</html>") and "mean_test_accuracy" in page and "tanh" in page


def test_each_split_records_the_rows_its_fits_train_on(grid_dir):
    out, _ = grid_dir
    search = out / "search.json"
    text = search.read_text()
    meta = json.loads(text)
    # each fit holds train.valid_fraction=0.2 of its split's training rows out (a stratified shuffle split)
    assert [s["n_fit"] for s in meta["splits"]] == [s["n_train"] - math.ceil(0.2 * s["n_train"]) for s in meta["splits"]]
    folds = pd.read_csv(out / "folds.csv")
    assert folds["n_fit"].tolist() == [meta["splits"][split]["n_fit"] for split in folds["split"]]
    # a dir written before n_fit was recorded counts it from its config's train.valid_fraction: the same tables
    before = {name: (out / name).read_text() for name in ("summary.csv", "folds.csv", "stats.json")}
    for split in meta["splits"]:
        del split["n_fit"]
    search.write_text(json.dumps(meta))
    try:
        rebuild(out)
        assert {name: (out / name).read_text() for name in before} == before
    finally:
        search.write_text(text)


def test_parametrised_activations_and_extra_settings(make_cfg, tmp_path):
    cfg = make_cfg(GRID + ["train.epochs=1", 'grid.activation=[leaky_relu,"leaky_relu(negative_slope=0.2)"]',
                           "+grid.lr=[0.01,0.05]", "cv.refit=false"])
    run(cfg, tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert sorted(summary["label"]) == sorted([
        "leaky_relu, lr=0.01", "leaky_relu, lr=0.05",
        "leaky_relu(negative_slope=0.2), lr=0.01", "leaky_relu(negative_slope=0.2), lr=0.05"])
    assert summary["refit_test_accuracy"].isna().all()
    assert len(pd.read_csv(tmp_path / "folds.csv")) == 12


def test_a_diverging_candidate_is_recorded_and_the_search_goes_on(make_cfg, tmp_path, capsys):
    cfg = make_cfg(GRID + ["grid.activation=[relu]", "+grid.lr=[0.01,1000000.0]", "train.epochs=3"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = run(cfg, tmp_path)
    # one line of the project's own per failed candidate, no warning of scikit-learn's
    assert not [w for w in caught if "fits failed" in str(w.message) or "non-finite" in str(w.message)]
    lines = [line for line in capsys.readouterr().out.splitlines() if "diverged on" in line]
    assert len(lines) == 1 and lines[0].startswith("grid: relu, lr=1000000.0: diverged on 3 of 3 splits (training loss")
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("label")
    assert summary.loc["relu, lr=1000000.0", "status"] == "diverged"
    assert "loss" in summary.loc["relu, lr=1000000.0", "error"]
    assert summary.loc["relu, lr=0.01", "status"] == "ok" and best > 0.5
    assert "diverged" in (tmp_path / "summary.md").read_text()
    from src.layout import read_records
    diverged = [r for r in read_records(tmp_path / "fits") if r["status"] == "diverged"]
    assert len(diverged) == 3
    for record in diverged:  # the stack's records, not trained again fit by fit
        assert record["batched"] == 6 and "at epoch" in record["error"]  # one stack with lr=0.01
        assert not np.isfinite(record["history"][-1]["train_loss"])
        assert np.isfinite([h["train_loss"] for h in record["history"][:-1]]).all()


@pytest.mark.slow
def test_a_grid_whose_every_fit_diverges_says_so_in_one_line(cli, tmp_path):
    done = cli(["data=digits", "mode=grid", "cv.n_jobs=1", "train.epochs=2", "train.verbose=0", "device=cpu",
                "grid.activation=[relu]", "optimizer.lr=1000000.0", "cv.refit=false", f"hydra.run.dir={tmp_path}"])
    assert done.returncode != 0
    assert "every fit of the grid diverged" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "diverged"
    assert not (tmp_path / "summary.csv").exists()


def test_a_rerun_reuses_finished_fits(make_cfg, tmp_path, caplog):
    cfg = make_cfg(GRID + ["grid.activation=[relu,tanh]"])
    with caplog.at_level(logging.INFO):
        run(cfg, tmp_path)
    assert "resuming" not in caplog.text
    records = {p: p.stat().st_mtime_ns for p in (tmp_path / "fits").glob("*.json")}
    assert len(records) == 7  # 2 candidates x 3 folds + the refit
    first = pd.read_csv(tmp_path / "folds.csv")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run(cfg, tmp_path)
    assert f"grid: resuming: 6 of 6 fits are recorded in {tmp_path / 'fits'} from an earlier run" in caplog.text
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "fits").glob("*.json")} == records
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "folds.csv"), first)


@pytest.mark.slow
def test_parallel_and_serial_searches_agree(make_cfg, tmp_path):
    scores = {}
    for jobs in (1, 2):
        run(make_cfg(GRID + [f"cv.n_jobs={jobs}", "train.threads=1", "cv.refit=false"]), tmp_path / str(jobs))
        scores[jobs] = pd.read_csv(tmp_path / str(jobs) / "folds.csv")["test_accuracy"].to_numpy()
    np.testing.assert_allclose(scores[1], scores[2], atol=1e-12)


@pytest.mark.slow
def test_cli_grid_and_multirun_summaries(cli, tmp_path):
    done = cli(["mode=grid", "data=digits", "train.epochs=1", "cv.n_jobs=1", f"hydra.run.dir={tmp_path}/grid"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Decision (" in done.stdout and done.stdout.rstrip().endswith("report.html")  # the quiet console
    sweep = cli(["-m", "activation=relu,tanh", "data=digits", "train.epochs=1", "train.verbose=0",
                 f"hydra.sweep.dir={tmp_path}/sweep"])
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    summary = pd.read_csv(tmp_path / "sweep" / "summary.csv")
    assert sorted(summary["activation"]) == ["relu", "tanh"] and (summary["status"] == "ok").all()
    assert (tmp_path / "sweep" / "hiplot.html").exists()


@pytest.mark.slow
def test_multirun_with_a_failing_job_lists_it_and_exits_non_zero(cli, tmp_path):
    sweep = cli(["-m", "optimizer.lr=0.01,1000000.0", "data=digits", "train.epochs=3", "train.verbose=0",
                 f"hydra.sweep.dir={tmp_path}"])
    assert sweep.returncode != 0
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 2
    failed = summary[summary["status"] != "ok"]
    assert len(failed) == 1 and "loss" in failed["error"].iloc[0]
    assert "failed" in sweep.stderr


def test_a_fit_key_does_not_change_when_the_net_is_fitted():
    from src.training import fit_records
    from src.training.net import make_net
    from src.training.settings import NetSettings

    X = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    y = np.arange(60) % 3
    net = make_net(8, 3, NetSettings.of(hidden=[4], epochs=1, verbose=0))
    before = fit_records.fit_key(net, X, y)
    net.fit(X, y)
    assert fit_records.fit_key(net, X, y) == before


def test_records_of_another_config_in_the_same_dir_are_not_mixed_in(make_cfg, tmp_path):
    for epochs in (2, 3, 2):  # the last run reuses the records of the first; those of the second stay beside them
        run(make_cfg(GRID + ["grid.activation=[relu,tanh]", "cv.refit=false", f"train.epochs={epochs}"]), tmp_path)
        folds = pd.read_csv(tmp_path / "folds.csv")
        assert (folds["epochs"] == epochs).all(), folds[["label", "split", "epochs"]]
    assert len(list((tmp_path / "fits").glob("*.json"))) == 12


def test_a_fingerprint_of_rows_is_that_of_the_rows_copied_out():
    from src.training.fit_records import data_fingerprint

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(500, 7)).astype(np.float32), rng.integers(0, 3, 500)
    rows = rng.permutation(500)[:320]
    assert data_fingerprint(X, y, rows) == data_fingerprint(X[rows], y[rows])
    assert data_fingerprint(X, y, rows) != data_fingerprint(X, y, rows[::-1])


@pytest.mark.parametrize("n_classes", [3, 2])
def test_grid_scores_equal_scikit_learns_from_one_prediction_per_fold(monkeypatch, n_classes):
    from sklearn.model_selection import StratifiedKFold, cross_validate

    from src.modes.grid import SCORING
    from src.training.net import Net, make_net
    from src.training.settings import NetSettings

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(150, 6)).astype(np.float32), np.arange(150) % n_classes
    calls = []
    original = Net.predict_proba

    def predict_proba(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(Net, "predict_proba", predict_proba)
    scored = {}
    for name, scoring in (("ours", SCORING), ("builtin", {"accuracy": "accuracy", "log_loss": "neg_log_loss",
                                                          "balanced_accuracy": "balanced_accuracy"})):
        calls.clear()
        net = make_net(6, n_classes, NetSettings.of(hidden=[5], epochs=2, verbose=0, threads=1))
        scored[name] = cross_validate(net, X, y, cv=StratifiedKFold(3), scoring=scoring)
        scored[name + "_calls"] = [n for n in calls if n == 50]  # (not the epochs' cached validation scoring)
    assert len(scored["ours_calls"]) == 3      # one pass over each test fold
    assert len(scored["builtin_calls"]) == 6   # predict, then predict_proba
    for metric in ("accuracy", "balanced_accuracy", "log_loss"):
        np.testing.assert_array_equal(scored["ours"][f"test_{metric}"], scored["builtin"][f"test_{metric}"])


def test_grid_all_trains_each_function_once_and_lists_its_other_names():
    import torch

    from src.config.grid import describe
    from src.model import activations
    from src.reporting.present.method import alias_lines
    from src.results import SearchRecord

    grid = describe({"activation": "all"})
    trained = grid.params["module__activation"]
    assert len(trained) == len(set(trained)) and {"silu", "elu", "relu"} <= set(trained)
    assert not {"swish", "celu", "relu_autograd"} & set(trained)
    assert grid.activations == activations.available()
    aliases = grid.aliases
    assert aliases == {"elu": ["celu"], "relu": ["relu_autograd"], "silu": ["swish"]}
    x = torch.linspace(-4, 4, 101, requires_grad=True)
    for kept, names in aliases.items():
        for name in names:
            mine, theirs = activations.build(kept)(x), activations.build(name)(x)
            assert torch.allclose(mine, theirs, atol=1e-6)
            grads = [torch.autograd.grad(y.sum(), x)[0] for y in (mine, theirs)]
            assert torch.allclose(*grads, atol=1e-6)
    # A non-default parameter is a different function; an explicit list is deduplicated too.
    assert activations.distinct(["celu(alpha=2)", "elu"]) == (["celu(alpha=2.0)", "elu"], {})
    assert activations.distinct(["swish", "tanh", "silu"]) == (["silu", "tanh"], {"silu": ["swish"]})
    # an import path (its class name capitalised) is never an alias of itself
    assert activations.distinct(["relu", "examples.my_activation:Fancy"]) == (
        ["relu", "examples.my_activation:Fancy"], {})
    assert alias_lines(SearchRecord(aliases=aliases))[0] == (
        "celu computes the same function as elu: trained once, listed under elu.")


def test_on_a_tie_the_refit_candidate_is_the_summarys_first(make_cfg, tmp_path):
    """relu and a leaky ReLU of slope 0 compute the same function, and a slope of 1e-4 scores the same
    accuracy at a higher loss: listed first, it would win a choice by accuracy alone (`src.ranking`)."""
    from src import layout
    from src.params import candidate_label

    grid = ["leaky_relu(negative_slope=0.0001)", "relu", "leaky_relu(negative_slope=0.0)"]
    run(make_cfg(GRID + ["train.threads=1", "train.epochs=1", "cv.folds=3",
                         "grid.activation=[" + ",".join(f'"{a}"' for a in grid) + "]"]), tmp_path)
    cv = pd.read_csv(tmp_path / layout.CV_RESULTS).set_index("label")
    assert cv["mean_test_accuracy"].nunique() == 1, "the three candidates no longer tie on accuracy"
    assert cv["mean_test_log_loss"].nunique() == 2, "only relu and its slope-0 twin should tie on loss"
    summary = pd.read_csv(tmp_path / layout.SUMMARY)
    meta = json.loads((tmp_path / layout.SEARCH).read_text())
    lowest_loss = cv["mean_test_log_loss"].idxmax()  # scikit-learn's log loss score is the negated loss
    assert summary["label"].iloc[0] == candidate_label(meta["refit"]["params"]) == lowest_loss
    verdict = json.loads((tmp_path / layout.STATS).read_text())["verdict"]
    assert any(line.startswith(f"{lowest_loss} has the highest mean") for line in verdict)  # the summary's rank 1
