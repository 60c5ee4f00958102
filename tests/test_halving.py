"""Successive halving: the rungs, the cut, survivors that end where the exhaustive search leaves
them, the stopped kept out of the verdict, resuming mid-rung, and bad settings refused."""
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from src import layout
from src.reporting.compute import tuned_study as tuned_report
from src.run import run
from src.training import loop, rungs

ACTIVATIONS = "grid.activation=[relu,tanh,elu,sigmoid,softsign,gelu]"
GRID = ["mode=grid", "cv.n_jobs=1", "train.threads=1", "cv.refit=false", "train.epochs=4", ACTIVATIONS]
HALVING = ["search.halving=true", "search.min_epochs=1", "search.eta=3"]


def test_a_tuned_study_halves_each_split_on_its_own_and_a_grid_all_splits_together():
    assert rungs.Halving(3, 4, tuned=("lr",)).units(3) == [[0], [1], [2]]
    assert rungs.Halving(3, 4, tuned=()).units(3) == [[0, 1, 2]]


def test_units_alive_on_the_same_splits_share_one_stack_of_those_folds():
    from src.training.net import make_net

    nets = {lr: make_net(64, 10).set_params(lr=lr) for lr in (0.01, 0.03, 0.1)}
    alive = {0.01: [0, 1, 2], 0.03: [0, 2], 0.1: [2, 0, 1]}
    todo = [rungs.Unit(nets[lr], f"lr={lr}", "relu", [f"k{lr}{f}"], [f]) for lr, folds in alive.items()
            for f in folds]
    found = [([[u.id for u in units] for units in cands], folds) for cands, folds in rungs._stacks(todo)]
    assert found == [([["lr=0.01 | split 0", "lr=0.01 | split 1", "lr=0.01 | split 2"],
                       ["lr=0.1 | split 0", "lr=0.1 | split 1", "lr=0.1 | split 2"]], [0, 1, 2]),
                     ([["lr=0.03 | split 0", "lr=0.03 | split 2"]], [0, 2])]


def test_the_rungs_end_at_the_full_budget():
    assert rungs.Halving(eta=3, min_epochs=2, tuned=()).rungs(25) == [2, 6, 18, 25]
    assert rungs.Halving(eta=2, min_epochs=1, tuned=()).rungs(4) == [1, 2, 4]


@pytest.mark.parametrize("n, tuned, last_cut, kept", [(25, False, False, 9), (3, False, True, 2), (2, False, True, 2),
                                                      (4, True, False, 2), (2, True, True, 1), (1, True, False, 1)])
def test_the_top_third_goes_on_at_least_two_but_one_at_a_tuned_last_cut(n, tuned, last_cut, kept):
    assert rungs.Halving(eta=3, min_epochs=4, tuned=("lr",) if tuned else ()).kept(n, last_cut) == kept


def test_the_cut_ranks_by_score_then_lower_loss_then_grid_order_within_each_group():
    scores = [(0.9, 0.3), (0.9, 0.2), (np.nan, np.nan), (0.5, 0.1), (0.9, 0.2), (0.8, 0.4)]
    settings = rungs.Halving(eta=3, min_epochs=4, tuned=("lr",))
    assert rungs.survivors(scores, ["a"] * 6, settings, last_cut=True) == [False, True, False, False, True, False]
    assert rungs.survivors(scores[:2], ["a"] * 2, settings, last_cut=True) == [False, True]
    assert rungs.survivors(scores, ["a"] * 3 + ["b"] * 3, rungs.Halving(eta=3, min_epochs=4, tuned=()),
                           last_cut=False) == [
        True, True, False, False, True, True]


def test_the_rung_score_is_the_mean_over_folds_and_nan_when_a_fold_stopped_before():
    histories = [[{"valid_acc": 0.5, "valid_loss": 1.0}, {"valid_acc": 0.7, "valid_loss": 0.5}],
                 [{"valid_acc": 0.6, "valid_loss": 0.8}, {"valid_acc": 0.9, "valid_loss": 0.3}]]
    assert rungs.rung_score(histories, 2) == pytest.approx((0.8, 0.4))
    assert np.isnan(rungs.rung_score([histories[0][:1], histories[1]], 2)[0])


def _weights(folder, key):
    return torch.load(layout.record_path(layout.fits_dir(folder), key, weights=True), weights_only=True)


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    """The same grid run exhaustively and by halving (digits, 4 epochs, rungs at 1 and 3)."""
    from tests.conftest import compose_config

    root = tmp_path_factory.mktemp("halving")
    run(compose_config(GRID), root / "exhaustive")
    run(compose_config(GRID + HALVING), root / "halving")
    return root / "exhaustive", root / "halving"


@pytest.mark.slow
def test_survivors_end_where_the_exhaustive_search_leaves_them(grids):
    exhaustive, halved = grids
    folds = pd.read_csv(halved / layout.FOLDS)
    survivors = folds[folds["halted_at"].isna()]
    assert 2 <= survivors["label"].nunique() < folds["label"].nunique()
    for key in survivors["fit"]:
        ours, theirs = _weights(halved, key), _weights(exhaustive, key)
        for name in theirs:
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    plain = pd.read_csv(exhaustive / layout.FOLDS).set_index("fit")
    np.testing.assert_allclose(survivors["test_accuracy"], plain.loc[survivors["fit"], "test_accuracy"], atol=1e-9)
    assert not (halved / layout.FITS / layout.RUNGS).exists()  # the rung states are gone once every fit is recorded


@pytest.mark.slow
def test_the_stopped_are_listed_with_their_rung_and_kept_out_of_the_verdict(grids):
    _, halved = grids
    table = pd.read_csv(halved / layout.HALVING)
    assert list(table.columns) == ["candidate", "group", "split", "rung", "epochs", "score", "kept"]
    assert table["split"].isna().all()  # a grid's candidates are halved over all their splits together
    stopped = set(table.loc[~table["kept"], "candidate"])
    assert len(stopped) == 4 and set(table.loc[~table["kept"], "epochs"]) == {1}
    summary = pd.read_csv(halved / layout.SUMMARY)
    rows = summary[summary["label"].isin(stopped)]
    assert rows["rank"].isna().all() and rows["accuracy_mean"].isna().all() and (rows["halted_at"] == 1).all()
    assert list(summary["label"][:2]) == list(summary.loc[summary["halted_at"].isna(), "label"])
    first_rung = table[table["rung"] == 1].set_index("candidate")["score"]
    np.testing.assert_allclose(rows.set_index("label")["rung_score"], first_rung[rows["label"]])
    stats = json.loads((halved / layout.STATS).read_text())
    assert stats["n_splits"] == 3 and len(stats["pairs"]) == 1
    assert not stopped & {name for pair in stats["pairs"] for name in (pair["a"], pair["b"])}
    text = (halved / layout.SUMMARY_MD).read_text()
    assert "Stopped: 4 of 6 candidates (4 at epoch 1)" in text and "late bloomer" in text
    page = (halved / layout.REPORT).read_text()
    # the reason sits right after 'stopped early', over the row's empty number cells, not at the table's far end
    assert re.search(r'stopped early</td><td class="text prose" colspan="\d+">stopped at epoch 1 \(rung 1\)', page)


@pytest.mark.slow
def test_a_grid_killed_mid_rung_resumes_without_retraining_the_finished_rungs(make_cfg, tmp_path, monkeypatch, grids):
    _, reference = grids
    to_rung, to_end = loop.train_to_rung, loop.train_and_record
    calls = []

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # killed in the last rung, after the rung states were saved

    monkeypatch.setattr(loop, "train_and_record", killed)
    with pytest.raises(KeyboardInterrupt):
        run(make_cfg(GRID + HALVING), tmp_path)
    assert list((tmp_path / layout.FITS / layout.RUNGS).glob("*.e3.pt"))

    def counted(train):
        def wrapped(*args, start=None, **kwargs):
            calls.append((train.__name__, None if start is None else len(start[0].history)))
            return train(*args, start=start, **kwargs)
        return wrapped

    monkeypatch.setattr(loop, "train_to_rung", counted(to_rung))
    monkeypatch.setattr(loop, "train_and_record", counted(to_end))
    run(make_cfg(GRID + HALVING), tmp_path)
    assert calls == [("train_and_record", 3)]  # only the epoch after the last rung was trained
    folds = pd.read_csv(tmp_path / layout.FOLDS)
    for key in folds.loc[folds["halted_at"].isna(), "fit"]:
        ours, theirs = _weights(tmp_path, key), _weights(reference, key)
        for name in theirs:
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_tuned_study_halves_within_each_activation_and_never_chooses_a_stopped_fit(make_cfg, tmp_path):
    tuned = ["mode=grid", "protocol=tuned", "cv.n_jobs=1", "train.threads=1", "cv.refit=false", "train.epochs=4",
             "grid.activation=[relu,tanh]", "tune.lr=[0.003,0.01,0.03,0.1]"]
    run(make_cfg(tuned + HALVING), tmp_path)
    run(make_cfg(tuned), tmp_path / "exhaustive")
    folds = pd.read_csv(tmp_path / layout.FOLDS)
    for key in folds.loc[folds["halted_at"].isna(), "fit"]:  # survivors, split by split, end as trained in full
        ours, theirs = _weights(tmp_path, key), _weights(tmp_path / "exhaustive", key)
        for name in theirs:
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-5, atol=1e-6)
    table = pd.read_csv(tmp_path / layout.HALVING)
    assert set(table["group"]) == {"relu", "tanh"} and set(table["split"]) == {0, 1, 2}
    last = table[table["epochs"] == 4]
    # the last cut keeps one setting per activation and split
    assert (last.groupby(["group", "split"]).size() == 1).all() and len(last) == 6
    for _, rung in table.groupby(["group", "split", "rung"]):  # ranked on the split's own validation rows
        if (~rung["kept"]).any():
            assert rung.loc[rung["kept"], "score"].min() >= rung.loc[~rung["kept"], "score"].max()
    trials = pd.read_csv(tmp_path / layout.TUNING)
    assert trials.loc[trials["chosen"], "halted_at"].isna().all()
    assert trials["halted_at"].notna().any()
    summary = pd.read_csv(tmp_path / layout.SUMMARY)
    assert set(summary["label"]) == {"relu", "tanh"} and summary["accuracy_mean"].notna().all()
    assert "rung" not in summary  # every activation trained to the last rung: the rungs are the settings' (tuning.csv)
    text = (tmp_path / layout.SUMMARY_MD).read_text()
    assert "within each activation and split" in text and "settings on a split" in text
    # no view mixes the stopped fits' fewer epochs with the full budget: no mean over the tune grid, and
    # the isolation plot at the first rung, where every setting trained as long as the others
    tuning = json.loads((tmp_path / layout.STATS).read_text())["tuning"]
    halted = int(trials["halted_at"].notna().sum())
    assert all(np.isnan(row["grid_mean"]) and row["grid_order"] is None for row in tuning["robustness"])
    assert sum(row["stopped_fits"] for row in tuning["robustness"]) == halted
    assert f"There is no mean over the whole tune grid (robustness to lr): successive halving stopped {halted} " \
           in tuning["sentence"] and "Averaged over" not in tuning["sentence"]
    meta = json.loads((tmp_path / layout.SEARCH).read_text())
    epochs, inner = tuned_report.first_rung_scores(trials, meta["halving"])
    assert epochs == 1 and inner.notna().all()
    points = tuned_report.isolation_frame(trials, ["lr"], inner=inner).set_index(["label", "lr"])
    first = table[table["rung"] == 1].assign(lr=lambda t: t["candidate"].str.extract(r"lr=([\d.]+)")[0].astype(float))
    expected = first.groupby(["group", "lr"])["score"].mean()
    assert points["mean"].to_numpy() == pytest.approx(expected.reindex(points.index).to_numpy())
    rows = tuned_report.hiplot_rows(trials, ["lr"])
    assert sum(row["stopped_on"] for row in rows) == halted


LEARNABLE = ["grid.activation=[relu,prelu,star_relu,pau,tanh,snake]"]


@pytest.mark.slow
def test_learnable_activations_halve_and_keep_their_own_parameters(tmp_path):
    """Survivors with activation parameters end where the exhaustive search leaves them; a stopped
    one's record holds its weights and activation parameters at its rung (those of a 1-epoch grid)."""
    from tests.conftest import compose_config

    run(compose_config(GRID[:-1] + LEARNABLE), tmp_path / "exhaustive")
    run(compose_config(GRID[:-1] + LEARNABLE + HALVING), tmp_path / "halving")
    run(compose_config([*GRID[:-2], "train.epochs=1", *LEARNABLE]), tmp_path / "first")
    folds = pd.read_csv(tmp_path / "halving" / layout.FOLDS)
    assert folds["halted_at"].notna().any() and folds["halted_at"].isna().any()
    first = pd.read_csv(tmp_path / "first" / layout.FOLDS).set_index(["label", "split"])["fit"]
    learnable_seen = set()
    for row in folds.itertuples():
        reference = (tmp_path / "exhaustive", row.fit) if np.isnan(row.halted_at) else \
            (tmp_path / "first", first[(row.label, row.split)])
        ours, theirs = _weights(tmp_path / "halving", row.fit), _weights(*reference)
        assert ours.keys() == theirs.keys()
        learnable_seen |= {row.label for name in ours if "weight" not in name and "bias" not in name}
        for name in theirs:
            np.testing.assert_allclose(ours[name].numpy(), theirs[name].numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{row.label} {name}")
    assert learnable_seen & {"prelu", "star_relu", "pau", "snake"}


def test_the_late_bloomer_sentence_agrees_with_its_benchmark_and_the_defaults(make_cfg):
    from src.reporting.present.method import GRID_BENCHMARK, TUNED_BENCHMARK, late_bloomers

    b = GRID_BENCHMARK
    text = late_bloomers(False)
    fell = b["places"] - b["places_kept"]
    assert 0 < b["fell_first"] <= fell and b["places"] == 3 * b["runs"]
    assert (f"first rung at epoch {b['first_rung']}:" in text and f"best was stopped in {b['best_stopped']} of "
            f"{b['runs']} runs" in text and f"places {b['places_kept']} survived; {b['fell_first']} of the {fell} "
            f"that fell" in text and f"{b['earlier_kept']} of the {b['places']} places" in text)
    # the benchmark's first rungs are the ones a user gets: the default, and the tuned experiment's
    assert make_cfg(shrink=False).search.min_epochs == b["first_rung"]
    assert make_cfg(["experiment=tuned_notebook"], shrink=False).search.min_epochs == TUNED_BENCHMARK["first_rung"]
    assert f"{TUNED_BENCHMARK['same']} of its {TUNED_BENCHMARK['pairs']}" in late_bloomers(True)


def test_a_candidate_stopped_with_diverged_folds_says_so_not_nan():
    from src.reporting.compute import halving as halving_report
    from src.reporting.present import summary_view

    folds = pd.DataFrame({"label": ["exp"] * 3 + ["relu"] * 3, "activation": ["exp"] * 3 + ["relu"] * 3,
                          "rung": 1, "halted_at": 4.0, "status": ["ok", "diverged", "diverged", "ok", "ok", "ok"],
                          "error": ["", "training loss became nan at epoch 3", "training loss became nan at epoch 4",
                                    "", "", ""]})
    table = {"table": [{"candidate": "exp", "rung": 1, "epochs": 4, "score": float("nan"), "kept": False},
                       {"candidate": "relu", "rung": 1, "epochs": 4, "score": 0.81, "kept": False}]}
    rows = halving_report.stopped_rows(folds, table, ["activation"]).set_index("label")
    said = {label: summary_view._status(row) for label, row in rows.iterrows()}
    assert said["exp"] == ("stopped at epoch 4 (rung 1), 2 of its 3 folds diverged by then (first: training loss "
                           "became nan at epoch 3); outside the verdict")
    assert said["relu"] == "stopped at epoch 4 (rung 1), validation accuracy there 0.8100; outside the verdict"
