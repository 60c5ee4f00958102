"""Statistics on fold scores: corrected t-test, Holm over all pairs, differences to the best, sentences."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from src.reporting.compute import stats, summary, two_samples
from src.reporting.compute import claims, phrases, verdict

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def make_folds(scores, n_train=900, n_test=100, metric="test_accuracy"):
    """Long fold table from ``{label: per-split scores}``."""
    rows = []
    for label, values in scores.items():
        for split, value in enumerate(values):
            rows.append({"label": label, "split": split, metric: value,
                         "n_train": n_train, "n_test": n_test})
    return pd.DataFrame(rows)


@pytest.fixture
def three_way():
    """relu best; elu 0.001 behind within noise; tanh 0.03 behind. Splits share an offset."""
    rng = np.random.default_rng(0)
    j = 10
    relu = 0.95 + rng.normal(0, 0.01, j)

    def noise():
        e = rng.normal(0, 0.003, j)
        return e - e.mean()  # keeps the mean gaps exact

    return {"relu": relu, "elu": relu - 0.001 + noise(), "tanh": relu - 0.03 + noise()}


# ---------------------------------------------------------------------------------------
# Corrected resampled t-test
# ---------------------------------------------------------------------------------------

# Worked example: J = 10 differences 0.02 +- 0.01 (five of each sign), n_train/n_test = 9.
# mean = 0.02, sample variance = 10 * 0.01**2 / 9, so the corrected variance of the mean is
# (1/10 + 1/9) * (10/9) * 1e-4 = 19/81 * 1e-4 and t = 0.02 / sqrt(19e-4 / 81) = 18 / sqrt(19).
WORKED = 0.02 + 0.01 * np.array([1, -1] * 5)
WORKED_T = 18 / math.sqrt(19)
# Two-sided p of Student's t with 9 dof, via the regularized incomplete beta function.
WORKED_P = special.betainc(4.5, 0.5, 9 / (9 + WORKED_T ** 2))


def test_nadeau_bengio_variance_worked_example():
    assert two_samples.nadeau_bengio_variance(WORKED, 900, 100) == pytest.approx(19 / 81 * 1e-4, rel=1e-12)
    # Per-split sizes with the same ratio give the same answer; NaN values are ignored.
    assert two_samples.nadeau_bengio_variance(WORKED, [90] * 10, [10] * 10) == pytest.approx(19 / 81 * 1e-4)
    assert two_samples.nadeau_bengio_variance(np.append(WORKED, np.nan), 9, 1) == pytest.approx(19 / 81 * 1e-4)
    assert math.isnan(two_samples.nadeau_bengio_variance([0.5], 9, 1))


def test_corrected_ttest_worked_example():
    b = np.linspace(0.90, 0.95, 10)
    t, p = two_samples.corrected_ttest(b + WORKED, b, 900, 100)
    assert t == pytest.approx(WORKED_T, rel=1e-9)
    assert p == pytest.approx(WORKED_P, rel=1e-9)
    assert 0.002 < p < 0.003
    t2, p2 = two_samples.corrected_ttest(b, b + WORKED, 900, 100)
    assert t2 == pytest.approx(-WORKED_T) and p2 == pytest.approx(p)


def test_confidence_interval_worked_example():
    mean, low, high = two_samples.confidence_interval(WORKED, 900, 100, level=0.95)
    half = sps.t.ppf(0.975, 9) * math.sqrt(19 / 81 * 1e-4)
    assert mean == pytest.approx(0.02)
    assert (low, high) == pytest.approx((0.02 - half, 0.02 + half))
    _, low99, high99 = two_samples.confidence_interval(WORKED, 900, 100, level=0.99)
    assert low99 < low and high99 > high


def test_confidence_interval_degenerate_inputs():
    assert two_samples.confidence_interval([0.9, 0.9, 0.9], 9, 1) == (0.9, 0.9, 0.9)
    mean, low, high = two_samples.confidence_interval([0.9], 9, 1)
    assert mean == 0.9 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(x) for x in two_samples.confidence_interval([np.nan, np.nan], 9, 1))


# Score differences (rbf minus linear SVC, ROC AUC) of the two best models in scikit-learn's
# example "Statistical comparison of models using grid search" (make_moons(noise=0.352,
# random_state=1, n_samples=100), RepeatedStratifiedKFold(n_splits=10, n_repeats=10,
# random_state=0)); every difference is a multiple of 0.04. The example reports
# corrected t = 0.750 with one-sided p = 0.227, and uncorrected t = 2.611, p = 0.005.
SKLEARN_EXAMPLE_STEPS = [
    -1, -3, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, -1, 0, 0, 0, 0,
    -1, -1, 1, -2, 0, 1, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, 0, 1, 1, 0,
    1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 1, 1, 0, 1, -1, 2, 0, 0,
    0, 0, 0, 5, -1, 0, 1, 0, 0, 0, 0, 1, 1, 2, 0, 1, 0, -1, 0, 0,
    1, -2, 1, 0, 1, 0, 0, 0, 0, 0, 0, -1, 0, -1, 0, 0, 1, 2, 0, 0,
]


def test_corrected_ttest_matches_scikit_learn_example():
    d = 0.04 * np.array(SKLEARN_EXAMPLE_STEPS, dtype=float)
    assert d.size == 100
    t, p = two_samples.corrected_ttest(d, np.zeros_like(d), n_train=90, n_test=10)
    assert round(t, 3) == 0.750
    assert round(p / 2, 3) == 0.227  # the example's p is one-sided
    # Without the correction (n_test/n_train term = 0) the example's naive numbers come back.
    t_naive, p_naive = two_samples.corrected_ttest(d, np.zeros_like(d), n_train=90, n_test=0)
    assert round(t_naive, 3) == 2.611
    assert round(p_naive / 2, 3) == 0.005


@pytest.mark.filterwarnings("error")
def test_a_constant_difference_is_untestable_not_p_zero():
    a = np.array([0.97, 0.95, 0.96, 0.98])
    for b in (a.copy(), a + 0.0021, a - 0.01):
        t, p = two_samples.corrected_ttest(a, b, 900, 100)
        assert math.isnan(t) and math.isnan(p)
        mean, low, high = two_samples.difference_interval(a, b, 900, 100)
        assert mean == pytest.approx(np.mean(a - b)) and math.isnan(low) and math.isnan(high)
    t, p = two_samples.corrected_ttest([0.9], [0.8], 900, 100)
    assert math.isnan(t) and math.isnan(p)


def test_corrected_ttest_drops_incomplete_pairs():
    b = np.linspace(0.90, 0.95, 10)
    a = b + WORKED
    t, p = two_samples.corrected_ttest(np.append(a, np.nan), np.append(b, 0.5), 900, 100)
    assert t == pytest.approx(WORKED_T)
    with pytest.raises(ValueError, match="same length"):
        two_samples.corrected_ttest(a, b[:5], 900, 100)


def test_difference_interval_is_the_corrected_formula():
    b = np.linspace(0.90, 0.95, 10)
    mean, low, high = two_samples.difference_interval(b + WORKED, b, 900, 100)
    half = sps.t.ppf(0.975, 9) * math.sqrt((1 / 10 + 100 / 900) * np.var(WORKED, ddof=1))
    assert (mean, low, high) == pytest.approx((0.02, 0.02 - half, 0.02 + half))
    # The interval excludes 0 exactly when the two-sided p-value is below 0.05.
    for shift in (0.0, 0.004, 0.01):
        _, low, high = two_samples.difference_interval(b + WORKED - 0.02 + shift, b, 900, 100)
        _, p = two_samples.corrected_ttest(b + WORKED - 0.02 + shift, b, 900, 100)
        assert (low > 0) == (p < 0.05)


def test_pairwise_tests_match_the_single_pair_test():
    rng = np.random.default_rng(2)
    scores = 0.95 + rng.normal(0, 0.01, (4, 6))
    tests = stats.pairwise_tests(scores, 100 / 900)
    mean, t, p = tests.mean, tests.t, tests.p
    first, second = stats.pair_index(4)
    assert mean.shape == (6,)
    for i, (a, b) in enumerate(zip(first, second)):
        assert (t[i], p[i]) == pytest.approx(two_samples.corrected_ttest(scores[a], scores[b], 900, 100))
        assert mean[i] == pytest.approx(np.mean(scores[a] - scores[b]))
    batch = np.stack([scores, scores[::-1]])
    np.testing.assert_allclose(stats.pairwise_tests(batch, 100 / 900).p[0], p)


# ---------------------------------------------------------------------------------------
# Holm
# ---------------------------------------------------------------------------------------


def test_holm_hand_example():
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_passes_nan_through():
    out = stats.holm([0.5, np.nan, 0.6])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [1.0, 1.0])
    assert stats.holm([]).size == 0
    np.testing.assert_allclose(stats.holm([0.02]), [0.02])
    # A NaN does not count towards the number of tests.
    np.testing.assert_allclose(stats.holm([0.02, np.nan, 0.01])[[0, 2]], [0.02, 0.02])


def test_holm_is_statsmodels_holm_row_by_row():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.1, (12, 10))
    p[rng.random(p.shape) < 0.2] = np.nan
    p[:, 3] = p[:, 4]  # ties
    adjusted = stats.holm(p)
    for row, found in zip(p, adjusted):
        finite = np.isfinite(row)
        np.testing.assert_allclose(found[finite], multipletests(row[finite], method="holm")[1])
        assert np.isnan(found[~finite]).all()


def test_holm_matches_step_down_formula():
    p = np.random.default_rng(3).uniform(0, 0.2, 12)
    order = np.argsort(p)
    expected = np.empty_like(p)
    expected[order] = np.minimum(np.maximum.accumulate(p[order] * np.arange(12, 0, -1)), 1)
    np.testing.assert_allclose(stats.holm(p), expected)
    assert np.all(stats.holm(p) >= p)


def test_missing_metric_column_is_a_clear_error():
    folds = make_folds({"a": [0.9, 0.8]})
    with pytest.raises(ValueError, match="test_f1"):
        summary.summarize(folds, "test_f1")


# ---------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error")
def test_summarize_separates_worse_from_not_separated(three_way):
    s = summary.summarize(make_folds(three_way))
    assert list(s.columns) == summary.SUMMARY_COLUMNS
    assert list(s["label"]) == ["relu", "elu", "tanh"]
    assert list(s["rank"]) == [1, 2, 3]
    best, close, worse = (s.iloc[i] for i in range(3))
    assert math.isnan(best["p_vs_best"]) and not best["separated_from_best"] and best["diff_to_best"] == 0
    assert close["p_holm"] >= 0.05 and not close["separated_from_best"]
    assert worse["p_holm"] < 0.05 and worse["separated_from_best"]
    # Holm over all three pairs, not over the two candidates against the best.
    pairs = s.attrs["pairs"]
    assert s.attrs["n_pairs"] == len(pairs) == 3
    np.testing.assert_allclose([p["p_holm"] for p in pairs], stats.holm([p["p"] for p in pairs]))
    assert s.loc[2, "p_holm"] == pytest.approx(next(p["p_holm"] for p in pairs if p["b"] == "tanh" and p["a"] == "relu"))
    for _, row in s.iterrows():  # t(J - 1) quantile times the Nadeau-Bengio corrected standard error
        values = three_way[row["label"]]
        half = sps.t.ppf(0.975, 9) * math.sqrt((1 / 10 + 100 / 900) * np.var(values, ddof=1))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
        assert row["n_splits"] == 10
        if row["rank"] > 1:
            d = values - three_way["relu"]
            half = sps.t.ppf(0.975, 9) * math.sqrt((1 / 10 + 100 / 900) * np.var(d, ddof=1))
            assert (row["diff_to_best"], row["diff_low"], row["diff_high"]) == pytest.approx(
                (d.mean(), d.mean() - half, d.mean() + half))
            assert row["p_vs_best"] == pytest.approx(two_samples.corrected_ttest(values, three_way["relu"], 900, 100)[1])
    assert s.loc[0, "mean"] == pytest.approx(np.mean(three_way["relu"]))
    assert s.loc[0, "std"] == pytest.approx(np.std(three_way["relu"], ddof=1))
    assert s.attrs["metric"] == "test_accuracy" and s.attrs["higher_is_better"] is True
    assert s.attrs["n_splits"] == 10 and s.attrs["ratio"] == pytest.approx(100 / 900)


def test_summarize_keeps_failed_candidates(three_way):
    s = summary.summarize(make_folds({**three_way, "sigmoid": [np.nan] * 10}))
    row = s.iloc[-1]
    assert row["label"] == "sigmoid" and row["rank"] == 4 and row["n_splits"] == 0
    assert not row["separated_from_best"] and "no score" in row["note"]
    assert all(math.isnan(row[c]) for c in ("mean", "std", "ci_low", "ci_high", "p_vs_best", "p_holm",
                                            "diff_to_best"))
    # The failed candidate does not count in the Holm adjustment.
    plain = summary.summarize(make_folds(three_way))
    np.testing.assert_allclose(s["p_holm"].iloc[1:3], plain["p_holm"].iloc[1:3])


def test_an_incomplete_candidate_is_left_out_with_its_reason(three_way):
    partial = three_way["tanh"] + 0.05  # would rank first on its finished splits
    partial[[2, 7]] = np.nan
    s = summary.summarize(make_folds({**three_way, "gelu": partial}))
    gelu = s.set_index("label").loc["gelu"]
    assert s["label"].iloc[-1] == "gelu" and gelu["n_splits"] == 8 and math.isnan(gelu["mean"])
    assert "8 of 10 splits" in gelu["note"]
    plain = summary.summarize(make_folds(three_way))
    np.testing.assert_allclose(s["p_holm"].iloc[:3], plain["p_holm"], equal_nan=True)
    lines = verdict.verdict(s, "test_accuracy")
    assert any(line.startswith("gelu is not compared: scored only 8 of 10 splits") for line in lines)
    # A split that no candidate finished is simply not a split.
    gap = {k: np.append(v, np.nan) for k, v in three_way.items()}
    np.testing.assert_allclose(summary.summarize(make_folds(gap))["p_holm"], plain["p_holm"], equal_nan=True)


@pytest.mark.filterwarnings("error")
def test_summarize_single_candidate_and_two_splits():
    s = summary.summarize(make_folds({"relu": [0.97, 0.96]}))
    assert len(s) == 1 and s.loc[0, "rank"] == 1 and not s.loc[0, "separated_from_best"]
    assert math.isnan(s.loc[0, "p_vs_best"])
    assert s.loc[0, "ci_low"] < 0.965 < s.loc[0, "ci_high"]
    two = summary.summarize(make_folds({"relu": [0.97, 0.96], "tanh": [0.90, 0.92]}))
    assert list(two["label"]) == ["relu", "tanh"]
    assert np.isfinite(two.loc[1, "p_vs_best"])
    one_split = summary.summarize(make_folds({"relu": [0.97], "tanh": [0.90]}))
    assert one_split.loc[1, "n_splits"] == 1 and math.isnan(one_split.loc[1, "p_holm"])


def test_summarize_marks_a_constant_difference_untestable():
    base = np.array([0.95, 0.96, 0.955])
    s = summary.summarize(make_folds({"relu": base, "tanh": base - 0.0025, "elu": base - 0.001 + [0, 0.002, -0.002]}))
    tanh = s.set_index("label").loc["tanh"]
    assert math.isnan(tanh["p_vs_best"]) and not tanh["separated_from_best"] and "untestable" in tanh["note"]
    lines = verdict.verdict(s, "test_accuracy")
    line = next(line for line in lines if line.startswith("tanh"))
    assert "untestable" in line and "-0.25 points on every split" in line and "worse" not in line


def test_summarize_lower_is_better(three_way):
    losses = {k: 1 - v for k, v in three_way.items()}
    s = summary.summarize(make_folds(losses, metric="valid_loss"), metric="valid_loss",
                        higher_is_better=False)
    assert list(s["label"]) == ["relu", "elu", "tanh"]
    assert list(s["separated_from_best"]) == [False, False, True]
    assert s.loc[2, "diff_to_best"] > 0


def test_summarize_rejects_duplicate_rows():
    folds = make_folds({"relu": [0.9, 0.8]})
    with pytest.raises(ValueError, match="more than one row"):
        summary.summarize(pd.concat([folds, folds.iloc[:1]]))


def test_worse_than_best_reads_the_pair_of_each_candidate_with_the_best():
    means = np.array([0.90, 0.95, 0.80])  # the best is candidate 1
    # pairs (0, 1), (0, 2), (1, 2)
    best, separated = stats.worse_than_best(means, [0.01, 0.001, 0.2], 0.05)
    assert best == 1 and list(separated) == [True, False, False]
    best, separated = stats.worse_than_best(means, [0.01, 0.001, 0.2], 0.05, higher_is_better=False)
    assert best == 2 and list(separated) == [True, False, False]


# ---------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------


def test_verdict_sentences(three_way):
    folds = make_folds({**three_way, "sigmoid": [np.nan] * 10})
    s = summary.summarize(folds)
    lines = verdict.verdict(s, "test_accuracy", folds=5)
    text = "\n".join(lines)
    assert lines[0].startswith("relu has the highest mean test_accuracy (")
    assert "95% CI" in lines[0]
    tanh = next(line for line in lines if line.startswith("tanh"))
    worse_by = (np.mean(three_way["relu"]) - np.mean(three_way["tanh"])) * 100
    assert f"tanh is worse than relu by {worse_by:.2f} points (95% CI " in tanh
    assert "Holm-adjusted p < 0.001 over all 3 pairs" in tanh
    elu = next(line for line in lines if line.startswith("elu"))
    assert "elu differs from relu by -0.10 points (95% CI -" in elu and "not separated from relu" in elu
    assert "worse" not in elu
    sigmoid = next(line for line in lines if line.startswith("sigmoid"))
    assert "not compared" in sigmoid and "worse" not in sigmoid
    assert "Friedman" not in text and "tied" not in text
    assert any("of the 3 pairs of candidates" in line and "do not all perform alike" in line
               for line in lines)
    assert lines[-1].startswith("With 10 splits")


@pytest.mark.parametrize("p, text", [(0.0496, "0.0496"), (0.0504, "0.050"), (0.412, "0.412"), (0.0004, "<0.001"),
                                     (0.04999999, "0.04999999"), (float("nan"), "")])
def test_p_values_are_never_rounded_across_alpha(p, text):
    assert phrases.p_text(p) == text


def test_verdict_never_claims_unsupported_differences():
    rng = np.random.default_rng(5)
    base = 0.95 + rng.normal(0, 0.01, 10)
    folds = make_folds({"a": base + rng.normal(0, 0.003, 10), "b": base + rng.normal(0, 0.003, 10)})
    s = summary.summarize(folds)
    lines = verdict.verdict(s, "test_accuracy")
    assert not s.loc[1, "separated_from_best"]
    assert not any("worse than" in line or "better than" in line for line in lines)
    assert any("not separated" in line for line in lines)


def test_an_interval_excluding_zero_is_not_a_separation_after_holm():
    rng = np.random.default_rng(11)
    # Six candidates, 15 pairs: find b's raw test significant but its Holm-adjusted one not.
    for _ in range(50):
        base = 0.95 + rng.normal(0, 0.01, 6)
        scores = {"a": base, "b": base - 0.004 + rng.normal(0, 0.002, 6)}
        scores.update({name: base - 0.006 + rng.normal(0, 0.01, 6) for name in "cdef"})
        s = summary.summarize(make_folds(scores))
        b = s.set_index("label").loc["b"]
        if b["p_vs_best"] < 0.05 <= b["p_holm"]:
            break
    else:
        pytest.fail("no case found")
    assert b["diff_high"] < 0 and not b["separated_from_best"]
    line = next(line for line in verdict.verdict(s, "test_accuracy") if line.startswith("b "))
    assert "not separated" in line and "one pair's" in line


def test_verdict_single_candidate_and_p_formatting():
    lines = verdict.verdict(summary.summarize(make_folds({"relu": [0.97, 0.96, 0.98]})), "test_accuracy")
    assert "nothing to compare" in lines[0] and len(lines) == 1
    # Rounding never carries a p-value across alpha.
    assert phrases.fmt_p(0.0499, 0.05) == "p = 0.0499"
    assert phrases.fmt_p(0.41, 0.05) == "p = 0.410"
    assert phrases.fmt_p(1e-6, 0.05) == "p < 0.001"


def ordering(table, claim, folds, metric):
    """The claim's line and pairs (`claims.claimed_ranking`, `verdict.claim_text`)."""
    found = claims.claimed_ranking(table, claim, folds, metric)
    return verdict.claim_text(found), found.pairs


@pytest.fixture
def ordering_case():
    """a > b clearly; c > b clearly (so "b > c" is reversed); c and d within noise."""
    rng = np.random.default_rng(1)
    j = 10
    base = 0.95 + rng.normal(0, 0.01, j)
    return make_folds({
        "selu": base + 0.04 + rng.normal(0, 0.002, j),
        "elu": base + rng.normal(0, 0.002, j),
        "relu": base + 0.03 + rng.normal(0, 0.002, j),
        "leaky_relu(negative_slope=0.1)": base + 0.0305 + rng.normal(0, 0.002, j),
    })


def test_ordering_verdict_tests_every_pair(ordering_case):
    s = summary.summarize(ordering_case)
    text, pairs = ordering(s, ["selu", "elu", "relu", "leaky_relu"], ordering_case,
                                         "test_accuracy")
    assert len(pairs) == 6 and sum(p["adjacent"] for p in pairs) == 3
    status = {(p["better"], p["worse"]): p["status"] for p in pairs}
    assert status == {("selu", "elu"): "holds", ("selu", "relu"): "holds", ("selu", "leaky_relu"): "holds",
                      ("elu", "relu"): "reversed", ("elu", "leaky_relu"): "reversed",
                      ("relu", "leaky_relu"): "not separated"}
    assert next(p for p in pairs if p["worse"] == "leaky_relu")["worse_label"] == "leaky_relu(negative_slope=0.1)"
    np.testing.assert_allclose([p["p_holm"] for p in pairs], stats.holm([p["p"] for p in pairs]))
    assert text.startswith("claim SELU > ELU > RELU > LEAKY_RELU: contradicted")
    assert "reversed: relu > elu (p < 0.001), leaky_relu > elu (p < 0.001)" in text
    assert "not separated: relu vs leaky_relu" in text


def test_a_non_adjacent_reversal_contradicts_the_claim():
    # Adjacent pairs not separated, but the ends significantly the wrong way round.
    rng = np.random.default_rng(3)
    base = 0.95 + rng.normal(0, 0.01, 10)
    folds = make_folds({"selu": base - 0.004 + rng.normal(0, 0.002, 10), "elu": base + rng.normal(0, 0.002, 10),
                        "relu": base + 0.004 + rng.normal(0, 0.002, 10)})
    s = summary.summarize(folds)
    text, pairs = ordering(s, ["selu", "elu", "relu"], folds, "test_accuracy")
    status = {(p["better"], p["worse"]): p["status"] for p in pairs}
    assert status[("selu", "relu")] == "reversed"
    assert status[("selu", "elu")] != "reversed" or status[("elu", "relu")] != "reversed"
    assert text.startswith("claim SELU > ELU > RELU: contradicted")


def test_a_claim_holds_only_when_every_adjacent_pair_holds():
    rng = np.random.default_rng(8)
    base = 0.95 + rng.normal(0, 0.01, 10)
    folds = make_folds({"selu": base + 0.02 + rng.normal(0, 0.002, 10), "elu": base + rng.normal(0, 0.002, 10),
                        "relu": base - 0.02 + rng.normal(0, 0.002, 10), "tanh": base - 0.0205 + rng.normal(0, 0.002, 10)})
    s = summary.summarize(folds)
    text, _ = ordering(s, ["selu", "elu", "relu"], folds, "test_accuracy")
    assert text.startswith("claim SELU > ELU > RELU: holds")
    text, _ = ordering(s, ["selu", "elu", "relu", "tanh"], folds, "test_accuracy")
    assert text.startswith("claim SELU > ELU > RELU > TANH: not established")


def test_a_claim_with_a_diverged_candidate_has_failed():
    rng = np.random.default_rng(9)
    base = 0.95 + rng.normal(0, 0.01, 6)
    diverged = base - 0.01
    diverged[4] = np.nan
    folds = make_folds({"selu": base + 0.02, "elu": base + rng.normal(0, 0.002, 6), "relu": diverged})
    s = summary.summarize(folds)
    text, pairs = ordering(s, ["selu", "elu", "relu"], folds, "test_accuracy")
    assert text.startswith("claim SELU > ELU > RELU: failed")
    assert [p["status"] for p in pairs if "relu" in (p["better"], p["worse"])] == ["failed", "failed"]
    assert "relu (scored only 5 of 6 splits" in text


def test_ordering_verdict_unknown_name_and_short_claim(ordering_case):
    s = summary.summarize(ordering_case)
    text, pairs = ordering(s, ["selu", "gelu"], ordering_case, "test_accuracy")
    assert pairs[0]["status"] == "missing" and "not testable" in text and "no candidate named gelu" in text
    text, pairs = ordering(s, ["selu"], ordering_case, "test_accuracy")
    assert pairs == [] and "nothing to test" in text


def test_ordering_verdict_lower_is_better(ordering_case):
    losses = ordering_case.assign(valid_loss=1 - ordering_case["test_accuracy"])
    s = summary.summarize(losses, metric="valid_loss", higher_is_better=False)
    _, pairs = ordering(s, ["selu", "elu", "relu", "leaky_relu"], losses, "valid_loss")
    _, plain = ordering(summary.summarize(ordering_case), ["selu", "elu", "relu", "leaky_relu"],
                                      ordering_case, "test_accuracy")
    assert [p["status"] for p in pairs] == [p["status"] for p in plain]
