"""Equivalence within a margin: TOST on the corrected t, Holm over the pairs, the constant rule, the
outcomes, the sentences, claims, the Bayesian view (baycomp) and the refusal of bad margins."""
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as sps

from src.reporting.compute import claims, design, phrases, power, stats, summary, two_samples, verdict
from src.defaults import MARGIN
from src.reporting.present import summary_view
from tests.test_stats import WORKED, WORKED_P, WORKED_T, make_folds

# ---------------------------------------------------------------------------------------
# TOST, hand-worked
# ---------------------------------------------------------------------------------------

# WORKED: J = 10 differences 0.02 +- 0.01, n_test/n_train = 1/9, corrected se = sqrt(19) / 900.
# At the margin 0.04 the upper one-sided statistic is (0.02 - 0.04) / se = -18 / sqrt(19) =
# -WORKED_T, so its p-value is half the two-sided WORKED_P; the lower one, (0.02 + 0.04) / se =
# 3 WORKED_T, is far smaller. TOST's p is the larger of the two: WORKED_P / 2 (about 0.0013).
SE = math.sqrt(19) / 900


def _worked(margin):
    b = np.linspace(0.90, 0.95, 10)
    return stats.pairwise_tests(np.stack([b + WORKED, b]), 1 / 9), margin


def test_tost_worked_example():
    tests, margin = _worked(0.04)
    assert tests.se[0] == pytest.approx(SE, rel=1e-12) and tests.dof == 9
    p = stats.tost(tests, margin)[0]
    assert p == pytest.approx(WORKED_P / 2, rel=1e-9)
    assert p == pytest.approx(0.5 * special.betainc(4.5, 0.5, 9 / (9 + WORKED_T ** 2)), rel=1e-9)
    assert 0.001 < p < 0.0015
    # The lower test alone: (0.02 + 0.04) / se = 3 * WORKED_T.
    assert sps.t.sf(3 * WORKED_T, 9) < p


@pytest.mark.parametrize("margin", [0.015, 0.025, 0.0289, 0.029, 0.04, 0.1])
def test_tost_is_equivalent_exactly_when_the_1_minus_2_alpha_interval_lies_inside_the_margin(margin):
    tests, _ = _worked(margin)
    half = sps.t.ppf(0.95, 9) * SE  # the 90% interval: 0.02 +- 0.0089
    inside = -margin < 0.02 - half and 0.02 + half < margin
    assert (stats.tost(tests, margin)[0] < 0.05) == inside


def test_tost_is_nan_for_a_constant_difference_and_without_a_margin():
    scores = np.array([[0.95, 0.96, 0.97], [0.9475, 0.9575, 0.9675]])
    tests = stats.pairwise_tests(scores, 0.5)
    assert np.isnan(stats.tost(tests, 0.005)).all() and np.isnan(stats.tost(tests, None)).all()


def test_without_test_rows_a_constant_difference_is_untested_and_never_equivalent():
    base = np.array([0.95, 0.96, 0.97])
    scores = np.stack([base, base - 0.0025, base - 0.01])  # pairs (0, 1), (0, 2), (1, 2): 0.25, 1, 0.75 points
    decided = stats.decide(scores, 0.5, 0.05, margin=0.005)
    assert not decided.equivalent_pairs.any() and np.isnan(decided.p_tost).all()
    assert list(stats.outcomes(decided)) == ["best", "inconclusive", "inconclusive"]
    one = stats.decide(scores[:, :1], 0.5, 0.05, margin=0.005, n_test=400)  # a single split is no evidence
    assert not one.equivalent_pairs.any()


# relu and leaky_relu(negative_slope=0.01) on digits, 12 epochs, 3 folds x 2 repeats: the same accuracy on
# every split of 449 test rows; each fit trains on 718 of a split's 898 training rows (0.2 held out).
DIGITS = np.array([0.9666, 0.9755, 0.9621, 0.9710, 0.9688, 0.9733])
DIGITS_ROWS, DIGITS_TRAIN, DIGITS_FIT = 449, 898, 718


def test_the_same_scores_on_every_split_are_tested_on_the_floor_of_their_test_rows():
    ratio = DIGITS_ROWS / DIGITS_FIT
    same = np.stack([DIGITS, DIGITS])
    tiny, wide, default = (stats.decide(same, ratio, 0.05, margin=m, n_test=DIGITS_ROWS) for m in (0.0001, 0.05, 0.005))
    # No discordant row shows in 6 x 449 predictions: the rule of three bounds their share by 3 / 2694.
    q = 3 / (6 * DIGITS_ROWS)
    assert tiny.tests.se[0] == pytest.approx(math.sqrt((1 / 6 + ratio) * q * (1 - q) / DIGITS_ROWS), rel=1e-9)
    assert tiny.tests.p[0] == pytest.approx(1.0) and np.isfinite(tiny.p_tost).all()
    assert list(stats.outcomes(tiny)) == ["best", "inconclusive"]  # within 0.01 points: more than 2694 rows show
    assert list(stats.outcomes(wide)) == ["best", "equivalent"]  # within 5 points
    assert list(stats.outcomes(default)) == ["best", "equivalent"]  # identical predictions: the default 0.5 points
    # A constant difference of one row a split is a difference like any other: tested on the same floor.
    apart = stats.pairwise_tests(np.stack([DIGITS, DIGITS - 1 / DIGITS_ROWS]), ratio, n_test=DIGITS_ROWS)
    assert apart.se[0] == pytest.approx(math.sqrt((1 / 6 + ratio) * q * (1 - q) / DIGITS_ROWS), rel=1e-9)
    assert np.isfinite(apart.p[0]) and apart.low[0] < apart.mean[0] < apart.high[0]


def test_a_pair_with_the_same_scores_stays_in_holms_family_with_a_real_p_value():
    rng = np.random.default_rng(2)
    scores = np.stack([DIGITS, DIGITS, DIGITS - 0.01 + np.round(rng.normal(0, 0.004, 6) * DIGITS_ROWS) / DIGITS_ROWS])
    decided = stats.decide(scores, DIGITS_ROWS / DIGITS_FIT, 0.05, margin=0.005, n_test=DIGITS_ROWS)
    assert np.isfinite(decided.tests.p).all() and np.isfinite(decided.p_holm).all()
    # Holm over all 3 pairs: the smallest p-value is multiplied by 3, not by 2.
    smallest = np.argmin(decided.tests.p)
    assert decided.p_holm[smallest] == pytest.approx(min(1.0, 3 * decided.tests.p[smallest]))


def test_the_bayesian_view_gets_the_same_floor():
    ratio = DIGITS_ROWS / DIGITS_FIT
    for rope in (0.0001, 0.05):
        worse, within, better = two_samples.bayes_probabilities(DIGITS, DIGITS, ratio, rope, DIGITS_ROWS)
        tests = stats.pairwise_tests(np.stack([DIGITS, DIGITS]), ratio, n_test=DIGITS_ROWS)
        assert better == pytest.approx(stats.tost(tests, rope)[0], rel=1e-9) and worse == pytest.approx(better)
    assert within > 0.99
    assert two_samples.bayes_probabilities(DIGITS, DIGITS, ratio, 0.0001, DIGITS_ROWS)[1] < 0.5
    # Without test rows no spread is no evidence: no probabilities at all, rather than P(within) = 1.
    assert all(math.isnan(x) for x in two_samples.bayes_probabilities(DIGITS, DIGITS, ratio, 0.0001))


def _digits_folds():
    folds = make_folds({"relu": DIGITS, "leaky_relu(negative_slope=0.01)": DIGITS}, DIGITS_TRAIN, DIGITS_ROWS)
    return folds.assign(n_fit=DIGITS_FIT)


@pytest.mark.parametrize("margin, outcome", [(0.0001, "inconclusive"), (0.05, "equivalent")])
def test_each_row_has_one_outcome_and_no_note_that_contradicts_it(margin, outcome):
    table = summary.summarize(_digits_folds(), bounds=(0, 1), n_test=DIGITS_ROWS, margin=margin)
    row = table.iloc[1]
    assert row["outcome"] == outcome and np.isfinite(row["p_tost_holm"]) and np.isfinite(row["p_holm"])
    assert np.isfinite(row["bayes_equivalent"]) and "untestable" not in row["note"]
    assert (row["bayes_equivalent"] > 0.95) == (outcome == "equivalent")
    lines = verdict.verdict(table, "cross-validated accuracy", folds=3)
    assert "untestable" not in " ".join(lines)
    best = table.loc[0, "label"]
    said = f"{row['label']} is equivalent to {best} within {phrases.within_text(margin)}" in " ".join(lines)
    assert said == (outcome == "equivalent")


def test_the_ratio_counts_the_rows_each_fit_trains_on():
    fit = summary.summarize(_digits_folds(), bounds=(0, 1), n_test=DIGITS_ROWS)
    assert fit.attrs["ratio"] == pytest.approx(DIGITS_ROWS / DIGITS_FIT)  # 0.625, not 449 / 898 = 0.5
    outer = summary.summarize(_digits_folds().drop(columns="n_fit"), bounds=(0, 1), n_test=DIGITS_ROWS)
    assert outer.attrs["ratio"] == pytest.approx(DIGITS_ROWS / DIGITS_TRAIN)
    assert fit.loc[1, "diff_high"] > outer.loc[1, "diff_high"]


def test_a_margin_of_zero_asks_for_no_equivalence(field):
    table = _summary(field, margin=0)
    assert table.attrs["margin"] is None and table["margin"].isna().all()
    assert (table["outcome"] == "").all()
    assert table[["p_tost", "p_tost_holm", "bayes_worse", "bayes_equivalent", "bayes_better"]].isna().all().all()
    lines = verdict.verdict(table, "cross-validated accuracy", folds=3)
    text = " ".join(lines)
    assert "At the margin" not in text and "±0.00" not in text and "equivalent" not in text
    assert any("is worse than leaky_relu" in line for line in lines)  # the separation verdict stands alone
    shown, standings = summary_view.view(table.rename(columns={"mean": "accuracy_mean", "std": "accuracy_std"}))
    assert not [c for c in shown.columns if "TOST" in c or "Bayesian" in c]
    assert not {"equivalent", "inconclusive"} & set(standings)


def test_decide_holm_adjusts_the_tost_p_values_over_all_pairs():
    rng = np.random.default_rng(0)
    scores = 0.97 + rng.normal(0, 0.001, (2, 4, 9))
    decided = stats.decide(scores, 0.5, 0.05, margin=0.005)
    np.testing.assert_allclose(decided.p_tost_holm, stats.holm(decided.p_tost))
    assert decided.p_tost.shape == (2, 6) and decided.equivalent.shape == (2, 4)
    assert (decided.equivalent_pairs == (decided.p_tost_holm < 0.05)).all()
    # Each candidate's flag is its pair with the best.
    for rep in range(2):
        best = decided.best[rep]
        lookup = stats.pair_lookup(4)
        for c in range(4):
            assert decided.equivalent[rep, c] == (c != best and decided.equivalent_pairs[rep, lookup[best, c]])


def test_outcomes_one_per_candidate_worse_first():
    rng = np.random.default_rng(1)
    base = 0.97 + rng.normal(0, 0.003, 9)

    def noise(sd):
        e = rng.normal(0, sd, 9)
        return e - e.mean()

    scores = np.stack([base, base - 0.0003 + noise(0.0004), base - 0.003 + noise(0.0005),
                       base - 0.003 + noise(0.008), base - 0.03 + noise(0.0005)])
    decided = stats.decide(scores, 0.5, 0.05, margin=0.005)
    found = stats.outcomes(decided)
    assert list(found) == ["best", "equivalent", "worse", "inconclusive", "worse"]
    assert decided.equivalent[2] and decided.worse[2]  # worse by less than the margin: worse, said so in words


def test_equivalence_reach_and_the_design_that_reaches_the_margin():
    # The reach is (t_{1 - alpha / m} + t_{0.9}) * se, by hand for 3 pairs on 9 splits of 3 folds.
    se = 0.002 * math.sqrt(1 / 9 + 0.5)
    assert power.equivalence_reach(se, 9, 3) == pytest.approx((sps.t.ppf(1 - 0.05 / 3, 8) + sps.t.ppf(0.9, 8)) * se)
    folds, repeats = power.design_needed(0.005, 0.002, 9, 0.5, 3, 3, equivalence=True)
    assert power.reach_at(0.002, folds * repeats, 1 / (folds - 1), 3, equivalence=True) <= 0.005
    if repeats > 1:
        assert power.reach_at(0.002, folds * (repeats - 1), 1 / (folds - 1), 3, equivalence=True) > 0.005
    # At 3 folds the overlap term bounds what repeats do; 10 folds reach what 3 x 20 cannot.
    sd = 0.003
    assert power.reach_at(sd, 60, 0.5, 3, equivalence=True) > 0.005
    assert power.design_needed(0.005, sd, 9, 0.5, 3, 3, equivalence=True)[0] > 3
    assert power.design_needed(0.005, 0.05, 9, 0.5, 3, 3, equivalence=True) is None


# ---------------------------------------------------------------------------------------
# The summary and the sentences
# ---------------------------------------------------------------------------------------

def _points(text):
    return [float(x) for x in re.findall(r"([-+]?\d+\.\d+) points", text)]


@pytest.fixture
def field():
    """leaky_relu best; relu and elu within noise of it; tanh 0.3 points behind, precisely; sigmoid noisy;
    `same` 0.25 points behind on every split; gelu exactly 1 point behind."""
    rng = np.random.default_rng(1)
    base = 0.97 + rng.normal(0, 0.003, 9)
    return {"leaky_relu": base, "relu": base - 0.0003 + rng.normal(0, 0.0004, 9),
            "elu": base - 0.0005 + rng.normal(0, 0.0008, 9), "tanh": base - 0.0031 + rng.normal(0, 0.0005, 9),
            "sigmoid": base - 0.003 + rng.normal(0, 0.008, 9), "same": base - 0.0025, "gelu": base - 0.01}


def _summary(scores, margin=0.005, alpha=0.05):
    return summary.summarize(make_folds(scores, 40000, 20000), alpha=alpha, bounds=(0, 1), n_test=20000,
                             margin=margin)


def test_the_summary_has_one_outcome_per_candidate_and_the_margin(field):
    table = _summary(field)
    rows = table.set_index("label")
    # same and gelu differ by the same amount on every split: tested on their 20,000 test rows, both are worse
    assert dict(rows["outcome"]) == {"leaky_relu": "best", "relu": "equivalent", "elu": "equivalent",
                                     "same": "worse", "tanh": "worse", "sigmoid": "inconclusive",
                                     "gelu": "worse"}
    assert (table["margin"] == 0.005).all() and table.attrs["margin"] == 0.005
    pairs = table.attrs["pairs"]
    np.testing.assert_allclose([p["p_tost_holm"] for p in pairs], stats.holm([p["p_tost"] for p in pairs]))
    for label in ("relu", "elu", "tanh", "sigmoid"):
        pair = next(p for p in pairs if p["a"] == "leaky_relu" and p["b"] == label)
        assert rows.loc[label, "p_tost_holm"] == pytest.approx(pair["p_tost_holm"])
    # Without a margin nothing changes but the empty equivalence columns.
    plain = summary.summarize(make_folds(field, 40000, 20000))
    assert (plain["outcome"] == "").all() and plain["p_tost"].isna().all()


def test_the_verdict_says_each_outcome_and_every_sentence_names_the_margin(field):
    table = _summary(field)
    lines = verdict.verdict(table, "cross-validated accuracy", folds=3)
    rows = table.set_index("label")
    line = next(x for x in lines if x.startswith("At the margin of ±0.50 points"))
    assert "relu and elu are equivalent to leaky_relu" in line
    assert f"same is worse by 0.25 points (within the margin)" in line
    assert f"tanh by {abs(rows.loc['tanh', 'diff_to_best']) * 100:.2f} points (within the margin)" in line
    low, high = rows.loc["sigmoid", ["diff_low", "diff_high"]] * 100
    assert f"for sigmoid the data cannot tell (95% CI {low:+.2f} to {high:+.2f} points)" in line
    assert "gelu by 1.00 points;" in line and "untestable" not in " ".join(lines)
    for text in lines:
        if "equivalent" in text or "cannot tell" in text or "margin" in text:
            assert "±0.50" in text, text
    assert "tied" not in " ".join(lines)
    same = next(x for x in lines if x.startswith("same is worse"))
    assert "The difference lies within the ±0.50-point margin all the same" in same
    gelu = next(x for x in lines if x.startswith("gelu is worse than leaky_relu by 1.00 points"))
    assert "margin" not in gelu
    relu = next(x for x in lines if x.startswith("relu differs"))
    assert "not separated from leaky_relu" in relu and "relu is equivalent to leaky_relu within ±0.50 points" in relu
    sigmoid = next(x for x in lines if x.startswith("sigmoid differs"))
    assert "Nor is it shown equivalent within ±0.50 points" in sigmoid and "the data cannot tell" in sigmoid


def test_the_power_sentence_names_the_folds_and_repeats_that_reach_the_margin():
    rng = np.random.default_rng(3)
    base = 0.97 + rng.normal(0, 0.003, 9)
    table = _summary({"a": base, "b": base + rng.normal(0, 0.002, 9), "c": base + rng.normal(0, 0.002, 9)})
    line = design.power_sentence(table, folds=3)
    assert line == verdict.verdict(table, "accuracy", folds=3)[-1]
    assert "shown equivalent only within about ±" in line and "wider than the ±0.50-point margin" in line
    folds, repeats, splits, fits = map(int, re.search(
        r"to reach the margin, run cv\.folds=(\d+) cv\.repeats=(\d+) \((\d+) splits, (\d+) fits for 3 candidates\)",
        line).groups())
    assert splits == folds * repeats and fits == 3 * splits
    attrs = table.attrs
    assert (folds, repeats) == power.design_needed(0.005, attrs["diff_sd"], 9, attrs["ratio"], 3, 3,
                                                   equivalence=True)
    reach = [x for x in _points(line.split("Two equally")[1])][0]
    assert reach == pytest.approx(attrs["reach"] * 100, abs=0.005)


def test_the_power_sentence_says_when_no_design_reaches_the_margin():
    rng = np.random.default_rng(6)
    table = _summary({"a": 0.95 + rng.normal(0, 0.05, 9), "b": 0.95 + rng.normal(0, 0.05, 9)})
    line = design.power_sentence(table, folds=3)
    assert "nor would 5 or 10 folds" in line
    assert "no design up to 10 folds x 20 repeats reaches it" in line and "stay inconclusive" in line


def test_the_shown_table_has_the_outcome_the_tost_p_and_the_bayesian_view(field):
    table = _summary(field).rename(columns={"mean": "accuracy_mean", "std": "accuracy_std"})
    shown, standings = summary_view.view(table)
    assert standings[:3] == ["best", "equivalent", "equivalent"] and "inconclusive" in standings
    assert "TOST p (Holm), ±0.50 points" in shown.columns
    cell = shown.loc[1, "Bayesian P(worse / within ±0.50 points / better)"]
    assert re.fullmatch(r"\d\.\d\d / \d\.\d\d / \d\.\d\d", cell)


# ---------------------------------------------------------------------------------------
# The Bayesian view agrees with TOST
# ---------------------------------------------------------------------------------------

def test_the_bayesian_view_is_baycomps_correlated_t_test():
    import baycomp

    rng = np.random.default_rng(4)
    best = 0.97 + rng.normal(0, 0.003, 9)  # 3 folds x 3 repeats: baycomp's correction is 1 / (3 - 1)
    for shift, spread in ((0.0004, 0.001), (0.004, 0.001), (0.002, 0.004)):
        other = best - shift + rng.normal(0, spread, 9)
        ours = two_samples.bayes_probabilities(other, best, 0.5, 0.005)
        theirs = baycomp.two_on_single(best, other, rope=0.005, runs=3)  # (best better, rope, other better)
        assert ours == pytest.approx(theirs, rel=1e-9)


def test_tost_and_the_posterior_agree_in_direction_on_a_worked_example():
    """TOST at alpha (one pair: no Holm) says equivalent exactly when the 90% interval lies inside
    the margin; the posterior is the same t around the same mean, so P(within) > 1 - 2 alpha there,
    and where the interval lies below -margin, P(worse) > 1 - alpha."""
    b = np.linspace(0.90, 0.95, 10)
    a = b + WORKED  # 2 +- 1 points better than b
    tests = stats.pairwise_tests(np.stack([a, b]), 1 / 9)
    worse, within, better = two_samples.bayes_probabilities(a, b, 1 / 9, 0.04)
    assert stats.tost(tests, 0.04)[0] < 0.05 and within > 0.9
    # P(more than the margin better) is TOST's upper p-value; P(worse) its lower one.
    assert better == pytest.approx(stats.tost(tests, 0.04)[0], rel=1e-9) and worse == pytest.approx(
        sps.t.sf(3 * WORKED_T, 9), rel=1e-6)
    worse, within, better = two_samples.bayes_probabilities(b, a, 1 / 9, 0.005)  # b is 2 points worse than a
    assert stats.tost(stats.pairwise_tests(np.stack([b, a]), 1 / 9), 0.005)[0] > 0.05
    assert worse > 0.95 and better < 0.01
    _, p = two_samples.corrected_ttest(b, a, 900, 100)
    assert p < 0.05  # the t-test separates them, in the same direction


# ---------------------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------------------

def test_a_claim_between_equivalent_candidates_is_reported_as_such():
    rng = np.random.default_rng(8)
    base = 0.97 + rng.normal(0, 0.003, 9)
    folds = make_folds({"selu": base + 0.02 + rng.normal(0, 0.0005, 9), "elu": base + rng.normal(0, 0.0004, 9),
                        "relu": base - 0.0002 + rng.normal(0, 0.0004, 9)}, 40000, 20000)
    table = summary.summarize(folds, margin=0.005)
    found = claims.claimed_ranking(table, ["selu", "elu", "relu"], folds, "test_accuracy", margin=0.005)
    status = {(p["better"], p["worse"]): p["status"] for p in found.pairs}
    assert status == {("selu", "elu"): "holds", ("selu", "relu"): "holds", ("elu", "relu"): "equivalent"}
    assert found.outcome == "equivalent"
    text = verdict.claim_text(found)
    assert text.startswith("claim SELU > ELU > RELU: equivalent (some adjacent pair is shown equivalent within "
                           "the ±0.50-point margin")
    assert "equivalent: elu and relu within ±0.50 points (TOST, p " in text
    # Without a margin the same claim is not established, as before.
    plain = claims.claimed_ranking(table, ["selu", "elu", "relu"], folds, "test_accuracy")
    assert plain.outcome == "not established" and "TOST" not in verdict.claim_text(plain)


# ---------------------------------------------------------------------------------------
# Bad margins
# ---------------------------------------------------------------------------------------

def test_a_bad_margin_is_refused_in_one_line_with_exit_2_before_any_data_are_loaded(cli, tmp_path):
    out = tmp_path / "out"
    done = cli(["mode=grid", "stats.margin=-1", "data=mnist", "data.root=/nonexistent", "data.download=false",
                f"hydra.run.dir={out}"])
    assert done.returncode == 2
    assert done.stderr.strip() == "error: stats.margin must be in [0, 100], got -1.0"
    assert not out.exists()


# ---------------------------------------------------------------------------------------
# A real grid on digits
# ---------------------------------------------------------------------------------------

NEAR = "leaky_relu(negative_slope=0.05)"


@pytest.fixture(scope="module")
def digits_grid(tmp_path_factory):
    """relu and a nearly identical leaky_relu, and sigmoid, clearly worse after 2 epochs: 3 splits of digits."""
    from src.run import run
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("equivalence")
    run(compose_config(["mode=grid", "cv.n_jobs=1", "cv.refit=false", "stats.margin=20",
                        f'grid.activation=[relu,"{NEAR}",sigmoid]']), out)
    return out


def _rerender(out, margin):
    import json

    from src import layout
    from src.report import rebuild

    meta = json.loads((out / layout.SEARCH).read_text())
    if margin is None:  # a dir written before margins: neither its search record nor its stats.json has one
        meta.pop("margin")
        statistics = json.loads((out / layout.STATS).read_text())
        statistics.pop("margin", None)
        (out / layout.STATS).write_text(json.dumps(statistics))
    else:
        meta["margin"] = margin
    (out / layout.SEARCH).write_text(json.dumps(meta))
    rebuild(out)
    import pandas as pd

    return pd.read_csv(out / "summary.csv").set_index("label"), json.loads((out / "stats.json").read_text())


def test_on_digits_a_large_margin_calls_the_near_identical_pair_equivalent_and_a_tiny_one_does_not(digits_grid):
    import pandas as pd

    table = pd.read_csv(digits_grid / "summary.csv").set_index("label")
    pair = ["relu", NEAR]
    best, other = table.loc[pair, "rank"].sort_values().index
    assert table.loc[best, "outcome"] == "best" and table.loc[other, "outcome"] == "equivalent"
    assert table.loc["sigmoid", "outcome"] in ("worse", "inconclusive") and table.loc["sigmoid", "rank"] == 3
    assert (table["margin"] == 0.2).all()
    text = (digits_grid / "summary.md").read_text()
    assert f"{other} is equivalent to {best} within ±20.00 points" in text or (
        f"{other} scored the same as {best} on every split" in text)
    assert "At the margin of ±20.00 points" in text and "TOST p (Holm), ±20.00 points" in text

    tiny, statistics = _rerender(digits_grid, 0.01)
    assert statistics["margin"] == pytest.approx(0.0001)
    assert tiny.loc[other, "outcome"] == "inconclusive" or (
        tiny.loc[other, "diff_to_best"] == 0 and tiny.loc[other, "outcome"] == "equivalent")
    assert any("At the margin of ±0.01 points" in line for line in statistics["verdict"])
    # A dir written before margins existed re-renders at the default margin.
    old, statistics = _rerender(digits_grid, None)
    assert statistics["margin"] == pytest.approx(MARGIN / 100) and (old["margin"] == MARGIN / 100).all()


def test_a_remedy_counts_every_fit_of_a_tuned_study():
    """A tuned study trains each activation at each tune setting on every split: the remedy's cost says so."""
    table = pd.DataFrame({"label": ["relu", "tanh", "gelu"]})
    assert design._design_text((10, 2), table) == "cv.folds=10 cv.repeats=2 (20 splits, 60 fits for 3 candidates)"
    table.attrs["settings"] = 4
    assert design._design_text((10, 2), table) == ("cv.folds=10 cv.repeats=2 (20 splits, 240 fits for 3 candidates "
                                                    "at 4 settings each)")
