"""The verdict's sentences agree with their numbers; unstable candidates; the level follows alpha;
`src.calibrate` measures the decisions the summary prints."""
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from src import calibrate
from src.reporting.compute import power, stability, summary
from src.reporting.present import method, summary_view
from src.reporting.compute import claims, design, phrases, verdict
from tests.test_stats import make_folds

TARGET = power.DETECTABLE


def _points(text):
    """The numbers of ``text`` written before `` points``."""
    return [float(x) for x in re.findall(r"([-+]?\d+\.\d+) points", text)]


def _table(scores, n_train=40000, n_test=20000, alpha=0.05):
    return summary.summarize(make_folds(scores, n_train, n_test), alpha=alpha, bounds=(0, 1),
                             n_test=n_test)


# ---------------------------------------------------------------------------------------
# The power sentence: each branch prints numbers that agree with it
# ---------------------------------------------------------------------------------------

def test_within_reach_at_three_splits_no_remedy_is_offered():
    # The notebook's case: 3 splits, and one point is already within reach.
    base = np.array([0.9712, 0.9698, 0.9705])
    table = _table({"relu": base, "leaky_relu": base - [0.0010, 0.0004, 0.0012],
                    "tanh": base - [0.0060, 0.0041, 0.0052]})
    line = design.power_sentence(table, folds=3)
    assert line.startswith("Only 3 splits (the t-test has 2 degrees of freedom), a difference to the best of about")
    (found,) = _points(line)
    assert found == pytest.approx(table.attrs["detectable"] * 100, abs=0.005) and found <= TARGET * 100
    assert "cv.repeats" not in line and "unseen" not in line
    # The printed difference is the corrected t-test's at Bonferroni over 3 pairs, by hand.
    sd = table.attrs["diff_sd"]
    by_hand = (sps.t.ppf(1 - 0.05 / 6, 2) + sps.t.ppf(0.8, 2)) * sd * math.sqrt(1 / 3 + 0.5)
    assert table.attrs["detectable"] == pytest.approx(by_hand, rel=1e-9)


def test_the_remedy_is_the_fewest_repeats_that_reach_the_target():
    rng = np.random.default_rng(4)
    base = 0.95 + rng.normal(0, 0.01, 3)
    table = _table({"a": base, "b": base - 0.004 + rng.normal(0, 0.003, 3), "c": base - 0.03 + rng.normal(0, 0.003, 3)})
    line = design.power_sentence(table, folds=3)
    unseen, target = _points(line)
    assert unseen > TARGET * 100 and target == TARGET * 100
    repeats, splits = map(int, re.search(r"cv\.repeats=(\d+) \((\d+) splits\)", line).groups())
    assert splits == 3 * repeats and 1 < repeats <= power.MAX_REPEATS
    sd, ratio, pairs = table.attrs["diff_sd"], table.attrs["ratio"], table.attrs["n_pairs"]
    assert power.detectable_at(sd, 3, ratio, pairs) * 100 == pytest.approx(unseen, abs=0.005)
    assert power.detectable_at(sd, splits, ratio, pairs) <= TARGET
    assert power.detectable_at(sd, splits - 3, ratio, pairs) > TARGET
    assert line == verdict.verdict(table, "accuracy", folds=3)[-1]


def test_enough_splits_and_a_small_spread_name_no_remedy():
    rng = np.random.default_rng(4)
    table = _table({"a": 0.95 + rng.normal(0, 0.002, 30), "b": 0.94 + rng.normal(0, 0.002, 30)})
    line = design.power_sentence(table, folds=3)
    assert line.startswith("With 30 splits, a difference to the best of about") and "cv.repeats" not in line
    assert _points(line)[0] <= TARGET * 100


def test_the_power_sentence_says_when_repeats_cannot_help():
    rng = np.random.default_rng(6)
    table = _table({"a": 0.95 + rng.normal(0, 0.05, 9), "b": 0.95 + rng.normal(0, 0.05, 9)})
    line = design.power_sentence(table, folds=3)
    assert line.startswith("With 9 splits, differences to the best smaller than about")
    assert f"even {3 * power.MAX_REPEATS} splits (cv.repeats={power.MAX_REPEATS}) would not" in line
    sd, ratio = table.attrs["diff_sd"], table.attrs["ratio"]
    assert power.detectable_at(sd, 3 * power.MAX_REPEATS, ratio, 1) > TARGET


def test_the_power_sentence_never_names_a_difference_beyond_the_metrics_range():
    # Many candidates on 3 splits of widely spread scores: the difference that would usually be
    # found exceeds 100 points, which an accuracy difference cannot reach.
    rng = np.random.default_rng(7)
    table = _table({f"c{i}": np.clip(0.6 + rng.normal(0, 0.15, 3), 0, 1) for i in range(14)})
    assert table.attrs["detectable"] > 1
    line = design.power_sentence(table, folds=3)
    assert "no difference to the best, even one of 100.00 points (the metric's whole range), would usually be " \
           "found" in line
    assert all(abs(x) <= 100 for x in _points(line)), line


def test_the_omnibus_sentence_names_the_separated_pairs():
    rng = np.random.default_rng(8)
    means = {"a": 0.95, "b": 0.90, "c": 0.85, "d": 0.849}
    table = _table({k: m + rng.normal(0, 0.002, 9) for k, m in means.items()})
    line = next(x for x in verdict.verdict(table, "cross-validated accuracy", folds=3) if "pairs of candidates" in x)
    separated = [p for p in table.attrs["pairs"] if p["separated"]]
    assert line.startswith(f"{len(separated)} of the 6 pairs of candidates are separated (")
    assert all(f"{p['a']} and {p['b']}" in line for p in separated) and "c and d" not in line
    many = _table({f"c{i}": 0.99 - 0.05 * i + rng.normal(0, 0.002, 9) for i in range(6)})
    line = next(x for x in verdict.verdict(many, "cross-validated accuracy", folds=3) if "pairs of candidates" in x)
    assert f", and {15 - verdict.NAMED_PAIRS} more in stats.json;" in line


def test_nothing_testable():
    one = _table({"a": [0.97], "b": [0.95]})
    assert design.power_sentence(one, folds=3) == ("Only 1 split (the t-test has 0 degrees of freedom): no "
                                                    "difference can be tested; run more splits with cv.repeats=R.")
    base = np.array([0.95, 0.96, 0.955])
    flat = summary.summarize(make_folds({"a": base, "b": base - 0.0025}))  # no test rows to floor the variance
    assert "the same on every split, so none can be tested" in design.power_sentence(flat, folds=3)
    assert design.power_sentence(_table({"a": base}), folds=3) == ""


# ---------------------------------------------------------------------------------------
# A collapsed split
# ---------------------------------------------------------------------------------------

def test_the_clipped_interval_is_named_where_it_was_clipped():
    """A candidate whose own interval crosses 1 while its difference's stays within +-100 points:
    the verdict's difference clause and the table's difference cell do not say clipped."""
    table = _table({"best": [0.97, 0.99, 0.95], "wide": [0.99, 0.93, 0.97]}).set_index("label")
    wide = table.loc["wide"]
    assert wide["clipped"] and wide["ci_high"] == 1.0 and not wide["diff_clipped"]
    assert -1 < wide["diff_low"] < wide["diff_high"] < 1
    assert wide["note"] == f"interval {summary.CLIPPED}"
    line = next(x for x in verdict.verdict(_table({"best": [0.97, 0.99, 0.95], "wide": [0.99, 0.93, 0.97]}),
                                           "cross-validated accuracy", folds=3) if x.startswith("wide differs"))
    assert "clipped" not in line
    row = {**wide.to_dict(), "rank": 2, "label": "wide"}
    assert "(clipped)" in summary_view.interval(row) and "clipped" not in summary_view.difference(row)


COLLAPSED = {"relu(lr=0.01)": [0.9712, 0.9698, 0.9705], "tanh(lr=0.01)": [0.9650, 0.9662, 0.9641],
             "relu(lr=0.1)": [0.9712, 0.9698, 0.0980]}


def test_a_collapsed_split_makes_the_candidate_unstable_and_its_intervals_stay_in_bounds():
    table = _table(COLLAPSED).set_index("label")
    bad = table.loc["relu(lr=0.1)"]
    assert bad["unstable"] and bad["clipped"] and not table.loc[["relu(lr=0.01)", "tanh(lr=0.01)"], "unstable"].any()
    assert (bad["ci_low"], bad["ci_high"]) == (0.0, 1.0)  # the normal interval is -0.57 to 1.93
    assert -1 <= bad["diff_low"] < bad["diff_high"] <= 1
    assert "unstable: split scores 0.9712, 0.9698, 0.0980 (split 3 far from the others)" in bad["note"]
    assert bad["diff_clipped"] and "interval and difference's interval clipped" in bad["note"]
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()
    lines = verdict.verdict(_table(COLLAPSED), "cross-validated accuracy", folds=3)
    named = [line for line in lines if line.startswith("relu(lr=0.1) is unstable")]
    assert len(named) == 1 and "0.9712, 0.9698, 0.0980" in named[0]
    compared = next(line for line in lines if line.startswith("relu(lr=0.1) differs"))
    assert "-100.00 to +100.00 points, clipped to the metric's bounds" in compared
    # The power sentence measures the stable candidates: one point is within reach at 6 splits.
    assert "cv.repeats=2 (6 splits)" in lines[-1] and _points(lines[-1])[0] < 2


def test_ordinary_spread_is_not_unstable():
    rng = np.random.default_rng(7)
    for _ in range(20):
        scores = {name: 0.95 + rng.normal(0, 0.003, 9) for name in ("a", "b", "c", "d")}
        assert not _table(scores)["unstable"].any()
    # A whole candidate at chance level is bad, not unstable.
    assert not _table({"a": [0.97, 0.968, 0.971], "b": [0.098, 0.1, 0.101]})["unstable"].any()


def test_splits_apart_by_what_their_test_rows_allow_are_not_unstable():
    # A 16-layer grid on 3,000 MNIST images (1,000 test rows a split): three candidates stayed
    # at chance on every split, which made the grid's own spread tiny. tanh's splits lie 3.5
    # points apart, about three sampling standard deviations of an accuracy of 0.84 on 1,000
    # rows; relu's first split fell 19 points below its others.
    scores = {"tanh": [0.829, 0.827, 0.803], "selu": [0.808, 0.758, 0.773], "relu": [0.406, 0.626, 0.595],
              "elu": [0.098, 0.101, 0.100], "gelu": [0.099, 0.100, 0.098], "sigmoid": [0.101, 0.099, 0.100]}
    table = _table(scores, n_train=2000, n_test=1000).set_index("label")
    assert list(table.index[table["unstable"]]) == ["relu"]
    assert stability.proportion_sd([[0.8, 0.84, 0.9]], 1000)[0] == pytest.approx(math.sqrt(0.84 * 0.16 / 1000))
    assert stability.proportion_sd([[1.0, 1.0, 1.0]], 1000)[0] == pytest.approx(1 / 1000)


# ---------------------------------------------------------------------------------------
# alpha sets the level everywhere
# ---------------------------------------------------------------------------------------

def test_alpha_001_gives_99_percent_intervals_and_says_so():
    rng = np.random.default_rng(2)
    base = 0.95 + rng.normal(0, 0.01, 9)
    scores = {"a": base, "b": base - 0.01 + rng.normal(0, 0.002, 9)}
    table = _table(scores, alpha=0.01)
    half = sps.t.ppf(0.995, 8) * math.sqrt((1 / 9 + 0.5) * np.var(base, ddof=1))
    assert (table.loc[0, "ci_low"], table.loc[0, "ci_high"]) == pytest.approx((base.mean() - half, base.mean() + half))
    lines = verdict.verdict(table, "accuracy", folds=3)
    assert "99% CI" in lines[0] and "99% CI" in lines[1] and not any("95%" in line for line in lines)
    frame = table.rename(columns={"mean": "accuracy_mean", "std": "accuracy_std"})
    shown, _ = summary_view.view(frame, 0.01)
    assert "99% CI" in shown.columns and "diff. to best, points (99% CI)" in shown.columns
    text = method.method_text(0.01)
    assert "99% confidence intervals" in text and "below 0.01" in text and "95%" not in text
    assert method.method_text(0.05).count("95%") == 2
    with_margin = method.method_text(0.05, margin=0.005)
    assert "within ±0.50 points (the margin, stats.margin)" in with_margin and "Not separated" not in with_margin


# ---------------------------------------------------------------------------------------
# The report and src.calibrate make the same decisions
# ---------------------------------------------------------------------------------------

def test_calibrate_measures_the_decisions_the_summary_prints():
    rng = np.random.default_rng(9)
    scores = np.concatenate([calibrate.simulate_scores(rng, 30, 4, 3, 4, effects=effects)
                             for effects in ([0, 0, 0, 0], [0, -0.004, -0.008, -0.012], [0, -0.01, -0.02, -0.03])])
    found = calibrate.decisions(scores, folds=3)
    names = ["a", "b", "c", "d"]
    seen = set()
    for rep in range(len(scores)):
        # 3-fold, each fit keeping 0.8 of its 800 training rows: ratio 400 / 640, as calibrate.ratio(3)
        folds = make_folds(dict(zip(names, scores[rep])), n_train=800, n_test=400).assign(n_fit=640)
        assert 400 / 640 == pytest.approx(calibrate.ratio(3))
        table = summary.summarize(folds, n_test=calibrate.N_TEST)
        assert bool(table["separated_from_best"].any()) == found["any candidate called worse than the best"][rep]
        assert table.attrs["some_pair_separated"] == found["some pair separated (the omnibus line)"][rep]
        claim = claims.claimed_ranking(table, names, folds, "test_accuracy")
        assert (claim.outcome == "holds") == found["claimed ranking called established"][rep]
        separated_line = any("do not all perform alike" in line for line in verdict.verdict(table, "acc"))
        assert separated_line == table.attrs["some_pair_separated"]
        seen.add((bool(table["separated_from_best"].any()), claim.outcome))
    assert {(False, "not established"), (True, "not established"), (True, "holds")} <= seen


def test_the_shown_table_is_one_view_for_markdown_and_html(tmp_path):
    frame = pd.DataFrame({"label": ["relu", "tanh"], "rank": [1, 2], "accuracy_mean": [0.97, 0.96],
                          "accuracy_std": [0.001, 0.002], "ci_low": [0.965, 0.95], "ci_high": [0.975, 0.97],
                          "diff_to_best": [0.0, -0.01], "diff_low": [np.nan, -0.02], "diff_high": [np.nan, 0.0],
                          "p_vs_best": [np.nan, 0.04], "p_holm": [np.nan, 0.04],
                          "separated_from_best": [False, True], "status": ["ok", "ok"], "note": ["", ""]})
    shown, standings = summary_view.view(frame)
    assert standings == ["best", "worse"]
    assert shown.loc[1].to_dict() == {
        "rank": "2", "candidate": "tanh", "accuracy (mean ± std)": "0.9600 ± 0.0020", "95% CI": "0.9500 – 0.9700",
        "vs best": "worse", "diff. to best, points (95% CI)": "-1.00 (-2.00 to +0.00)", "p vs best": "0.040",
        "p (Holm)": "0.040", "balanced acc.": "", "log loss": "", "params": "", "fit s": "", "step cost vs relu": "",
        "test acc. (refit)": "", "status": ""}


def test_a_candidate_whose_interval_reaches_chance_is_named_in_its_status_and_the_verdict():
    """A deep net that never learned (scores near 1/10): its interval reaches down to chance, which
    its row and a sentence say; a candidate with a low score whose interval stays above chance is
    not named, nor is any candidate when the chance level is not given."""
    folds = make_folds({"selu": [0.91, 0.92, 0.90], "elu": [0.102, 0.098, 0.104], "sigmoid": [0.10, 0.10, 0.10],
                        "tanh": [0.30, 0.31, 0.29]})
    table = summary.summarize(folds, bounds=(0, 1), chance=0.1)
    rows = table.set_index("label")
    assert table.attrs["at_chance"] == ["elu", "sigmoid"] and table.attrs["chance"] == 0.1
    assert rows.loc["elu", "ci_low"] <= 0.1 < rows.loc["tanh", "ci_low"]
    for label in ("elu", "sigmoid"):
        note = rows.loc[label, "note"]
        assert "not shown above chance (0.1000, one class in 10): its interval reaches down to it" in note
    assert "chance" not in rows.loc["tanh", "note"] and "chance" not in rows.loc["selu", "note"]
    lines = verdict.verdict(table, "cross-validated accuracy")
    assert ("elu and sigmoid are not shown to do better than guessing: their 95% intervals reach down to chance "
            "level (0.1000, one class in 10).") in lines
    one = verdict.verdict(summary.summarize(folds[folds["label"] != "sigmoid"], bounds=(0, 1), chance=0.1, alpha=0.01),
                          "cross-validated accuracy")
    assert ("elu is not shown to do better than guessing: its 99% interval reaches down to chance level (0.1000, "
            "one class in 10).") in one
    plain = summary.summarize(folds, bounds=(0, 1))
    assert plain.attrs["at_chance"] == [] and not any("guessing" in line for line in verdict.verdict(plain, "acc"))


def test_lists_of_labels_with_parameters_stay_readable():
    """Labels with parameters hold ', ' themselves (``pau, layer=glu``): lists of them use ';'."""
    assert phrases.listing(["relu", "tanh", "gelu"]) == "relu, tanh and gelu"
    assert phrases.listing(["relu, layer=glu", "gelu, layer=glu"]) == "relu, layer=glu; and gelu, layer=glu"
    assert phrases.listing(["a and b", "c and d"], final=None) == "a and b, c and d"
    assert phrases.listing(["relu"]) == "relu"
    folds = make_folds({"relu, layer=linear": [0.91, 0.92, 0.90], "pau, layer=glu": [0.102, 0.098, 0.104],
                        "gelu, layer=glu": [0.10, 0.10, 0.10]})
    lines = verdict.verdict(summary.summarize(folds, bounds=(0, 1), chance=0.1), "accuracy")
    assert "pau, layer=glu; and gelu, layer=glu are not shown to do better than guessing" in " ".join(lines)


def test_a_single_split_at_chance_is_named_by_its_score_not_an_interval():
    table = summary.summarize(make_folds({"selu": [0.91], "elu": [0.09]}), bounds=(0, 1), chance=0.1)
    assert table.set_index("label").loc["elu", "note"] == ("not shown above chance (0.1000, one class in 10): "
                                                           "its score is not above it")
    lines = verdict.verdict(table, "accuracy")
    assert ("elu is not shown to do better than guessing: its score is not above chance level (0.1000, one class "
            "in 10).") in lines
    assert ("elu differs from selu by -82.00 points on the one split; a single split has no variation to test, so "
            "the pair is untestable and not called separated.") in lines and "every split" not in " ".join(lines)
