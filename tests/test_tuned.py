"""protocol=tuned: each activation at its own tuned settings, chosen on data that its verdict never sees."""
import html
import json

import numpy as np
import pandas as pd
import pytest

from src import tuning
from src.reporting.present import curves
from src.reporting.present.colours import palette
from src.reporting.present.isolation import isolation_figure
from src.reporting.read.study import load
from src.run import run

TUNED = ["mode=grid", "protocol=tuned", "cv.n_jobs=1", "cv.repeats=1", "train.epochs=2", "train.threads=1",
         "grid.activation=[relu,tanh]", "tune.lr=[0.01,0.1]"]


def test_the_choice_takes_the_best_inner_score_then_the_lower_loss_then_the_first_listed():
    trials = pd.DataFrame({
        "activation": ["relu"] * 3 + ["tanh"] * 3,
        "lr": [0.01, 0.1, 1.0] * 2,
        "split": [0] * 6,
        tuning.INNER: [0.90, 0.95, 0.95, 0.80, 0.80, 0.70],
        tuning.TIEBREAK: [0.3, 0.4, 0.2, 0.5, 0.5, 0.1],
    })
    chosen = tuning.choose(trials, ["lr"], ["activation"])
    assert chosen["chosen"].tolist() == [False, False, True, True, False, False]
    # a fit with no inner score (failed) is never chosen over one with a score
    trials.loc[0, tuning.INNER] = np.nan
    trials.loc[1:2, tuning.INNER] = 0.1
    assert tuning.choose(trials, ["lr"], ["activation"])["chosen"].tolist()[:3] == [False, False, True]


def test_the_most_chosen_setting_prefers_the_first_listed_between_equal_counts():
    rows = pd.DataFrame({"lr": [0.1, 0.01, 0.01, 0.1], "momentum": [0.9] * 4})
    assert tuning.most_chosen(rows, ["lr", "momentum"]) == {"lr": 0.1, "momentum": 0.9}
    assert tuning.most_chosen(rows.iloc[1:], ["lr"]) == {"lr": 0.01}


def test_the_tuned_refit_ranks_as_the_summary_does_lower_log_loss_on_an_exact_tie(monkeypatch):
    """relu and tanh tie exactly on mean outer accuracy at their chosen rate; tanh's outer log loss is
    lower, so the summary ranks it first (`src.ranking`), and the refit is tanh's."""
    from types import SimpleNamespace

    from src.modes import selection
    from src.params import candidate_label

    params = [{"lr": lr, "module__activation": a} for a in ("relu", "tanh") for lr in (0.01, 0.1)]
    keys = {candidate_label(p): [f"{i}-{split}" for split in range(2)] for i, p in enumerate(params)}
    inner = {"0": 0.95, "1": 0.90, "2": 0.90, "3": 0.95}  # relu chooses lr=0.01 and tanh lr=0.1 on both splits
    monkeypatch.setattr(selection.fit_records, "last_epoch",
                        lambda _, key: {"valid_acc": inner[key.split("-")[0]], "valid_loss": 0.2})
    plan = SimpleNamespace(fit_keys=keys, record_dir=None, halving=None,
                           params={"module__activation": ["relu", "tanh"], "lr": [0.01, 0.1]})
    cv_results = {"params": params,
                  "split0_test_accuracy": [0.90, 0.5, 0.5, 0.92], "split1_test_accuracy": [0.92, 0.5, 0.5, 0.90],
                  "split0_test_log_loss": [-0.30, -1, -1, -0.25], "split1_test_log_loss": [-0.30, -1, -1, -0.25]}
    assert selection.best_tuned(plan, cv_results, ["lr"]) == {"lr": 0.1, "module__activation": "tanh"}
    # tanh's loss as relu's: the first listed wins, as in the summary
    cv_results["split0_test_log_loss"][3] = cv_results["split1_test_log_loss"][3] = -0.30
    assert selection.best_tuned(plan, cv_results, ["lr"]) == {"lr": 0.01, "module__activation": "relu"}


def test_a_tuned_study_chooses_per_split_on_inner_scores_and_judges_on_outer_ones(make_cfg, tmp_path, capsys):
    run(make_cfg(TUNED), tmp_path)
    out = capsys.readouterr().out
    assert "training 4 candidates x 3 folds in 1 stack," in out  # activations x rates: one stack
    trials = pd.read_csv(tmp_path / "tuning.csv")
    assert len(trials) == 2 * 2 * 3 and set(trials["lr"]) == {0.01, 0.1}
    chosen = trials[trials["chosen"]]
    assert sorted(map(tuple, chosen[["compared", "split"]].to_numpy())) == [(a, s) for a in ("relu", "tanh")
                                                                              for s in range(3)]
    # the rule, recomputed from the table: the best inner accuracy of each activation and split
    for (label, split), group in trials.groupby(["compared", "split"]):
        best = group.sort_values([tuning.INNER, tuning.TIEBREAK], ascending=[False, True]).iloc[0]
        assert bool(best["chosen"]), (label, split)
    # the verdict's folds are the chosen fits' outer scores, under the activation's label
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert sorted(folds["label"].unique()) == ["relu", "tanh"] and "lr" not in folds
    merged = folds.merge(chosen, left_on=["label", "split"], right_on=["compared", "split"], suffixes=("", "_t"))
    np.testing.assert_array_equal(merged["test_accuracy"], merged["test_accuracy_t"])
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("label")
    for label in ("relu", "tanh"):
        assert summary.loc[label, "accuracy_mean"] == pytest.approx(chosen[chosen["compared"] == label]
                                                                    ["test_accuracy"].mean())
        most = tuning.most_chosen(chosen[chosen["compared"] == label], ["lr"])["lr"]
        assert summary.loc[label, "tuned"].startswith(f"lr={most:g} (")
    # the refit: the best activation at the rate it was chosen at most often
    meta = json.loads((tmp_path / "search.json").read_text())
    best = summary.index[0]
    assert meta["protocol"] == "tuned" and meta["tune"] == ["lr"]
    assert meta["refit"]["params"]["module__activation"] == best
    assert meta["refit"]["params"]["lr"] == tuning.most_chosen(chosen[chosen["compared"] == best], ["lr"])["lr"]
    stats = json.loads((tmp_path / "stats.json").read_text())
    robust = pd.DataFrame(stats["tuning"]["robustness"]).set_index("label")
    for label in ("relu", "tanh"):
        assert robust.loc[label, "grid_mean"] == pytest.approx(trials[trials["compared"] == label]
                                                               ["test_accuracy"].mean())
    agree = list(robust["tuned_order"]) == list(robust["grid_order"])
    assert ("The two orders agree" if agree else "The two orders differ") in stats["tuning"]["sentence"]
    assert (tmp_path / "isolation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report.html").read_text()
    assert 'id="tuning"' in page and "Tuned protocol" in page and "hiplot_tuning.html" in page
    assert html.escape(stats["tuning"]["sentence"].split(";")[0]) in page
    md = (tmp_path / "summary.md").read_text()
    assert "tuned setting (most chosen; range)" in md and "Tuned protocol" in md
    # one colour per activation across the study's figures (the isolation plot listed them in its own order)
    study = load(tmp_path)
    colour_of = palette(study.summary["label"])
    drawn = [{line.get_label().split(" (")[0]: line.get_color() for line in figure.axes[0].get_lines()
              if not line.get_label().startswith("_")}
             for figure in (curves.grid_figure(study, colour_of),
                            isolation_figure(study.tuning, study.search.tuned, colour_of=colour_of))]
    assert drawn[0] == drawn[1] and set(drawn[0]) == {"relu", "tanh"}


def test_a_tuned_study_run_again_trains_nothing(make_cfg, tmp_path, capsys):
    run(make_cfg(TUNED), tmp_path)
    first = pd.read_csv(tmp_path / "tuning.csv")
    capsys.readouterr()
    run(make_cfg(TUNED), tmp_path)
    out = capsys.readouterr().out
    assert "grid: training" not in out and "grid: refitting" in out
    again = pd.read_csv(tmp_path / "tuning.csv")
    pd.testing.assert_frame_equal(first.drop(columns="fit_time"), again.drop(columns="fit_time"))


@pytest.mark.slow
def test_a_tuned_study_fit_by_fit_chooses_as_the_stacked_one(make_cfg, tmp_path):
    chosen = {}
    for batched in ("true", "false"):
        run(make_cfg(TUNED + [f"cv.batched={batched}", "cv.refit=false"]), tmp_path / batched)
        trials = pd.read_csv(tmp_path / batched / "tuning.csv")
        chosen[batched] = trials[trials["chosen"]].sort_values(["compared", "split"])
    np.testing.assert_allclose(chosen["true"]["test_accuracy"], chosen["false"]["test_accuracy"], atol=0.005)


@pytest.mark.slow
def test_the_fixed_protocol_separates_an_activation_at_a_bad_rate_that_tuning_does_not(make_cfg, tmp_path):
    """On digits after 4 epochs of SGD at lr 0.02, elu lags relu by about 7 points and the fixed
    verdict calls it worse; at its own rate (0.1) elu is level with relu and the tuned verdict
    does not separate them."""
    common = ["mode=grid", "cv.n_jobs=1", "cv.repeats=3", "train.epochs=4", "cv.refit=false",
              "grid.activation=[relu,elu]"]
    run(make_cfg(common + ["optimizer.lr=0.02"]), tmp_path / "fixed")
    run(make_cfg(common + ["protocol=tuned", "tune.lr=[0.02,0.1]"]), tmp_path / "tuned")
    fixed = pd.read_csv(tmp_path / "fixed" / "summary.csv").set_index("label")
    tuned = pd.read_csv(tmp_path / "tuned" / "summary.csv").set_index("label")
    assert fixed.index[0] == "relu" and bool(fixed.loc["elu", "separated_from_best"])
    assert not tuned["separated_from_best"].fillna(False).astype(bool).any()
    assert tuned.loc["elu", "tuned"].startswith("lr=0.1")
    # the fixed verdict's fits are the tuned study's fits at lr 0.02: the difference is the rate
    trials = pd.read_csv(tmp_path / "tuned" / "tuning.csv")
    at_fixed = trials[trials["lr"] == 0.02].groupby("compared")["test_accuracy"].mean()
    assert at_fixed["relu"] - at_fixed["elu"] == pytest.approx(-fixed.loc["elu", "diff_to_best"], abs=0.01)
