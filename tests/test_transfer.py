"""Does a ranking transfer between two studies: Kendall's tau, its bootstrap interval over the splits, the sentence."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from src.reporting.compute import across
from src.reporting.compute import transfer as tr

LABELS = ["relu", "gelu", "tanh", "sigmoid", "elu"]


def study(name, means, outcomes=None, splits=5, spread=0.002, seed=0, setting="same"):
    """A grid study whose split scores scatter around ``means`` (one per `LABELS`)."""
    rng = np.random.default_rng(seed)
    folds = pd.DataFrame(np.asarray(means) + spread * rng.standard_normal((splits, len(means))), columns=LABELS)
    rows = pd.DataFrame({"label": LABELS, "accuracy": folds.mean().to_numpy()})
    if outcomes is not None:
        rows["outcome"] = outcomes
    config = {"data": {"name": "mnist", "subset": 2000}, "seed": 0, "cv": {"folds": 3, "setting": setting}}
    return across.ComparedStudy(name, None, rows, config, folds=folds)


def test_tau_is_scipys_and_the_interval_covers_it():
    a = study("mlp", [0.97, 0.96, 0.95, 0.90, 0.94])
    b = study("cnn", [0.99, 0.985, 0.97, 0.95, 0.98], seed=1)
    pair = tr.transfer(a, b)
    expected = sps.kendalltau(a.rows["accuracy"], b.rows["accuracy"]).statistic
    assert pair["tau"] == pytest.approx(expected) and pair["n"] == 5
    assert pair["paired"] and pair["tau_low"] <= pair["tau"] <= pair["tau_high"]
    assert pair["transfers"] and pair["sentence"].startswith("Between mlp and cnn the ranking transfers (Kendall's tau")
    assert "relu is best in both" in pair["sentence"]


def test_a_candidate_best_in_one_study_and_worse_in_the_other_says_it_does_not_transfer():
    a = study("model=mlp", [0.97, 0.95, 0.96, 0.90, 0.94], ["best", "worse", "equivalent", "worse", "worse"])
    b = study("model=cnn", [0.98, 0.99, 0.97, 0.95, 0.96], ["inconclusive", "best", "worse", "worse", "worse"])
    pair = tr.transfer(a, b)
    assert not pair["transfers"] and pair["contradicted_by"] == "tanh"  # the better of the two: tanh, then gelu
    assert pair["sentence"].startswith("Between model=mlp and model=cnn the ranking does not transfer: tanh is "
                                       "equivalent to relu in model=mlp but worse than gelu in model=cnn (")
    assert pair["both"] == [] and pair["first_only"] == ["relu", "tanh"] and pair["second_only"] == ["gelu"]
    assert pair["neither"] == ["sigmoid", "elu"]


def test_unrelated_rankings_are_not_shown_to_transfer():
    a = study("a", [0.95, 0.95, 0.95, 0.95, 0.95], spread=0.01)
    b = study("b", [0.95, 0.95, 0.95, 0.95, 0.95], spread=0.01, seed=7)
    pair = tr.transfer(a, b)
    assert pair["tau_low"] <= 0 and not pair["transfers"]
    assert "the studies do not show that the ranking transfers" in pair["sentence"]


def test_studies_on_other_splits_are_resampled_apart_and_single_runs_have_no_interval():
    a = study("a", [0.97, 0.96, 0.95, 0.90, 0.94])
    b = study("b", [0.97, 0.96, 0.95, 0.90, 0.94], setting="other")
    assert not tr.transfer(a, b)["paired"]
    single = across.ComparedStudy("runs", None, a.rows[["label", "accuracy"]])
    pair = tr.transfer(a, single)
    assert np.isnan(pair["tau_low"]) and "no interval" in pair["sentence"] and pair["both"] is None


def test_the_bootstrap_draws_the_same_splits_for_both_when_paired():
    # b is a shifted copy of a: every paired resample ranks alike (tau 1); drawn apart, some do not
    folds = pd.DataFrame(np.random.default_rng(0).normal(0.9, 0.01, (6, 4)), columns=list("wxyz"))
    assert tr.bootstrap(folds, folds + 0.05, paired=True) == (1.0, 1.0)
    assert tr.bootstrap(folds, folds + 0.05, paired=False)[0] < 1.0


def test_compare_gives_every_pair_and_puts_the_sentences_last_in_the_verdict():
    studies = [study("mlp", [0.97, 0.96, 0.95, 0.90, 0.94]), study("cnn", [0.99, 0.985, 0.97, 0.95, 0.98], seed=1),
               study("cnn, batch norm", [0.99, 0.98, 0.975, 0.96, 0.985], seed=2)]
    result = across.compare(studies)
    assert [(p["first"], p["second"]) for p in result["transfer"]] == [
        ("mlp", "cnn"), ("mlp", "cnn, batch norm"), ("cnn", "cnn, batch norm")]
    assert result["verdict"][-3:] == [p["sentence"] for p in result["transfer"]]


def test_orders_that_lean_the_other_way_do_not_transfer():
    a = study("mlp", [0.97, 0.96, 0.95, 0.90, 0.94])
    b = study("cnn, batch norm", [0.90, 0.94, 0.95, 0.97, 0.96], seed=1)
    pair = tr.transfer(a, b)
    assert pair["tau_high"] < 0 and pair["reversed"] and not pair["transfers"]
    assert pair["sentence"].startswith("Between mlp and cnn, batch norm the ranking does not transfer: the orders "
                                       "lean the other way")
    assert pair["sentence"].endswith("relu is best in mlp, sigmoid in cnn, batch norm.")
