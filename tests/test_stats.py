"""Statistics on fold scores: corrected t-test, Holm, Friedman, summaries and sentences."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special
from scipy import stats as sps

from src.reporting import stats

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
    assert stats.nadeau_bengio_variance(WORKED, 900, 100) == pytest.approx(19 / 81 * 1e-4, rel=1e-12)
    # Per-split sizes with the same ratio give the same answer; NaN values are ignored.
    assert stats.nadeau_bengio_variance(WORKED, [90] * 10, [10] * 10) == pytest.approx(19 / 81 * 1e-4)
    assert stats.nadeau_bengio_variance(np.append(WORKED, np.nan), 9, 1) == pytest.approx(19 / 81 * 1e-4)
    assert math.isnan(stats.nadeau_bengio_variance([0.5], 9, 1))


def test_corrected_ttest_worked_example():
    b = np.linspace(0.90, 0.95, 10)
    t, p = stats.corrected_ttest(b + WORKED, b, 900, 100)
    assert t == pytest.approx(WORKED_T, rel=1e-9)
    assert p == pytest.approx(WORKED_P, rel=1e-9)
    assert 0.002 < p < 0.003
    t2, p2 = stats.corrected_ttest(b, b + WORKED, 900, 100)
    assert t2 == pytest.approx(-WORKED_T) and p2 == pytest.approx(p)


def test_confidence_interval_worked_example():
    mean, low, high = stats.confidence_interval(WORKED, 900, 100, level=0.95)
    half = sps.t.ppf(0.975, 9) * math.sqrt(19 / 81 * 1e-4)
    assert mean == pytest.approx(0.02)
    assert (low, high) == pytest.approx((0.02 - half, 0.02 + half))
    _, low99, high99 = stats.confidence_interval(WORKED, 900, 100, level=0.99)
    assert low99 < low and high99 > high


def test_confidence_interval_degenerate_inputs():
    assert stats.confidence_interval([0.9, 0.9, 0.9], 9, 1) == (0.9, 0.9, 0.9)
    mean, low, high = stats.confidence_interval([0.9], 9, 1)
    assert mean == 0.9 and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(x) for x in stats.confidence_interval([np.nan, np.nan], 9, 1))


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
    t, p = stats.corrected_ttest(d, np.zeros_like(d), n_train=90, n_test=10)
    assert round(t, 3) == 0.750
    assert round(p / 2, 3) == 0.227  # the example's p is one-sided
    # Without the correction (n_test/n_train term = 0) the example's naive numbers come back.
    t_naive, p_naive = stats.corrected_ttest(d, np.zeros_like(d), n_train=90, n_test=0)
    assert round(t_naive, 3) == 2.611
    assert round(p_naive / 2, 3) == 0.005


@pytest.mark.filterwarnings("error")
def test_corrected_ttest_zero_variance():
    a = np.array([0.97, 0.95, 0.96, 0.98])
    assert stats.corrected_ttest(a, a.copy(), 900, 100) == (0.0, 1.0)
    t, p = stats.corrected_ttest(a + 0.01, a, 900, 100)
    assert t == math.inf and p == 0.0
    t, p = stats.corrected_ttest(a, a + 0.01, 900, 100)
    assert t == -math.inf and p == 0.0
    t, p = stats.corrected_ttest([0.9], [0.8], 900, 100)
    assert math.isnan(t) and math.isnan(p)


def test_corrected_ttest_drops_incomplete_pairs():
    b = np.linspace(0.90, 0.95, 10)
    a = b + WORKED
    t, p = stats.corrected_ttest(np.append(a, np.nan), np.append(b, 0.5), 900, 100)
    assert t == pytest.approx(WORKED_T)
    with pytest.raises(ValueError, match="same length"):
        stats.corrected_ttest(a, b[:5], 900, 100)


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


def test_holm_matches_step_down_formula():
    # statsmodels' "holm": sort, multiply by (m, m-1, ..., 1), running maximum, clip at 1.
    p = np.random.default_rng(3).uniform(0, 0.2, 12)
    order = np.argsort(p)
    expected = np.empty_like(p)
    expected[order] = np.minimum(np.maximum.accumulate(p[order] * np.arange(12, 0, -1)), 1)
    np.testing.assert_allclose(stats.holm(p), expected)
    assert np.all(stats.holm(p) >= p)


# ---------------------------------------------------------------------------------------
# Friedman
# ---------------------------------------------------------------------------------------


def test_friedman_clear_winner():
    j = np.arange(10) / 1000
    folds = make_folds({"a": 0.97 + j, "b": 0.95 + j, "c": 0.90 + j})
    stat, p = stats.friedman(folds, "test_accuracy")
    # Rank sums 30, 20, 10 over n = 10 blocks and k = 3:
    # 12 / (n k (k + 1)) * (30^2 + 20^2 + 10^2) - 3 n (k + 1) = 140 - 120 = 20; chi2(2) sf = e^-10.
    assert stat == pytest.approx(20.0)
    assert p == pytest.approx(math.exp(-10))


@pytest.mark.filterwarnings("error")
def test_friedman_identical_and_too_small():
    same = np.linspace(0.9, 0.95, 6)
    assert stats.friedman(make_folds({"a": same, "b": same, "c": same}), "test_accuracy") == (0.0, 1.0)
    assert all(math.isnan(x) for x in stats.friedman(make_folds({"a": same, "b": same}), "test_accuracy"))
    one_block = make_folds({"a": [0.9], "b": [0.8], "c": [0.7]})
    assert all(math.isnan(x) for x in stats.friedman(one_block, "test_accuracy"))


def test_friedman_ignores_failed_candidates_and_incomplete_blocks():
    j = np.arange(6) / 1000
    a, b, c = 0.97 + j, 0.95 + j, 0.90 + j
    b_gap = b.copy()
    b_gap[0] = np.nan
    full = stats.friedman(make_folds({"a": a[1:], "b": b[1:], "c": c[1:]}), "test_accuracy")
    with_gap = stats.friedman(make_folds({"a": a, "b": b_gap, "c": c, "dead": [np.nan] * 6}),
                              "test_accuracy")
    assert with_gap == pytest.approx(full)


def test_missing_metric_column_is_a_clear_error():
    folds = make_folds({"a": [0.9, 0.8]})
    with pytest.raises(ValueError, match="test_f1"):
        stats.friedman(folds, "test_f1")


# ---------------------------------------------------------------------------------------
# summarize
# ---------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error")
def test_summarize_separates_worse_from_tied(three_way):
    s = stats.summarize(make_folds(three_way))
    assert list(s.columns) == stats.SUMMARY_COLUMNS
    assert list(s["label"]) == ["relu", "elu", "tanh"]
    assert list(s["rank"]) == [1, 2, 3]
    best, tied, worse = (s.iloc[i] for i in range(3))
    assert math.isnan(best["p_vs_best"]) and math.isnan(best["p_holm"]) and best["tied_with_best"]
    assert tied["p_holm"] >= 0.05 and tied["tied_with_best"]
    assert worse["p_holm"] < 0.05 and not worse["tied_with_best"]
    # Holm over the two non-best candidates.
    np.testing.assert_allclose(s["p_holm"].iloc[1:], stats.holm(s["p_vs_best"].iloc[1:]))
    for _, row in s.iterrows():  # t(J - 1) quantile times the Nadeau-Bengio corrected standard error
        values = three_way[row["label"]]
        half = sps.t.ppf(0.975, 9) * math.sqrt((1 / 10 + 100 / 900) * np.var(values, ddof=1))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
        assert row["n_splits"] == 10
    assert s.loc[2, "p_vs_best"] == pytest.approx(stats.corrected_ttest(three_way["relu"], three_way["tanh"],
                                                                         900, 100)[1])
    assert s.loc[0, "mean"] == pytest.approx(np.mean(three_way["relu"]))
    assert s.loc[0, "std"] == pytest.approx(np.std(three_way["relu"], ddof=1))
    assert s.attrs["metric"] == "test_accuracy" and s.attrs["higher_is_better"] is True


def test_summarize_keeps_failed_candidates(three_way):
    s = stats.summarize(make_folds({**three_way, "sigmoid": [np.nan] * 10}))
    row = s.iloc[-1]
    assert row["label"] == "sigmoid" and row["rank"] == 4 and row["n_splits"] == 0
    assert not row["tied_with_best"]
    assert all(math.isnan(row[c]) for c in ("mean", "std", "ci_low", "ci_high", "p_vs_best", "p_holm"))
    # The failed candidate does not count in the Holm adjustment.
    plain = stats.summarize(make_folds(three_way))
    np.testing.assert_allclose(s["p_holm"].iloc[1:3], plain["p_holm"].iloc[1:3])


@pytest.mark.filterwarnings("error")
def test_summarize_single_candidate_and_two_splits():
    s = stats.summarize(make_folds({"relu": [0.97, 0.96]}))
    assert len(s) == 1 and s.loc[0, "rank"] == 1 and s.loc[0, "tied_with_best"]
    assert math.isnan(s.loc[0, "p_vs_best"])
    assert s.loc[0, "ci_low"] < 0.965 < s.loc[0, "ci_high"]
    two = stats.summarize(make_folds({"relu": [0.97, 0.96], "tanh": [0.90, 0.91]}))
    assert list(two["label"]) == ["relu", "tanh"]
    assert np.isfinite(two.loc[1, "p_vs_best"])
    one_split = stats.summarize(make_folds({"relu": [0.97], "tanh": [0.90]}))
    assert one_split.loc[1, "n_splits"] == 1 and math.isnan(one_split.loc[1, "p_holm"])


def test_summarize_lower_is_better(three_way):
    losses = {k: 1 - v for k, v in three_way.items()}
    s = stats.summarize(make_folds(losses, metric="valid_loss"), metric="valid_loss",
                        higher_is_better=False)
    assert list(s["label"]) == ["relu", "elu", "tanh"]
    assert list(s["tied_with_best"]) == [True, True, False]


def test_summarize_rejects_duplicate_rows():
    folds = make_folds({"relu": [0.9, 0.8]})
    with pytest.raises(ValueError, match="more than one row"):
        stats.summarize(pd.concat([folds, folds.iloc[:1]]))


# ---------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------


def test_verdict_sentences(three_way):
    folds = make_folds({**three_way, "sigmoid": [np.nan] * 10})
    s = stats.summarize(folds)
    fr = stats.friedman(folds, "test_accuracy")
    lines = stats.verdict(s, fr, "test_accuracy")
    text = "\n".join(lines)
    assert lines[0].startswith("relu has the highest mean test_accuracy (")
    assert "95% CI" in lines[0]
    tanh = next(line for line in lines if line.startswith("tanh"))
    assert "significantly worse than relu" in tanh and "Holm-adjusted p < 0.001" in tanh
    elu = next(line for line in lines if line.startswith("elu"))
    assert "not significantly different from relu (Holm-adjusted p = 0.4" in elu
    assert "significantly worse" not in elu
    sigmoid = next(line for line in lines if line.startswith("sigmoid"))
    assert "failed" in sigmoid and "significantly" not in sigmoid
    assert "Friedman" in lines[-1] and "do not all perform alike" in lines[-1]
    assert text.count("significantly worse") == 1


def test_verdict_does_not_let_a_weak_friedman_test_contradict_the_pairwise_tests():
    rng = np.random.default_rng(1)
    base = 0.95 + rng.normal(0, 0.01, 3)
    folds = make_folds({"a": base, "b": base - 0.01 + [0.001, -0.001, 0.0], "c": base - 0.011 + [0.0, 0.001, -0.001]})
    s = stats.summarize(folds)
    fr = stats.friedman(folds, "test_accuracy")
    assert fr[1] >= 0.05 and (s["p_holm"] < 0.05).any()  # 3 splits: Friedman cannot reach 0.05 here
    lines = stats.verdict(s, fr, "test_accuracy")
    assert any("significantly worse" in line for line in lines)
    assert "differ at all" not in lines[-1] and "does not overrule them" in lines[-1]


@pytest.mark.parametrize("p, text", [(0.0496, "0.0496"), (0.0504, "0.050"), (0.412, "0.412"), (0.0004, "<0.001"),
                                     (0.04999999, "0.04999999"), (float("nan"), "")])
def test_p_values_are_never_rounded_across_alpha(p, text):
    assert stats.p_text(p) == text


def test_verdict_never_claims_unsupported_differences():
    rng = np.random.default_rng(5)
    base = 0.95 + rng.normal(0, 0.01, 10)
    folds = make_folds({"a": base + rng.normal(0, 0.003, 10), "b": base + rng.normal(0, 0.003, 10)})
    s = stats.summarize(folds)
    lines = stats.verdict(s, stats.friedman(folds, "test_accuracy"), "test_accuracy")
    assert s.loc[1, "tied_with_best"]
    assert not any("significantly worse" in line for line in lines)
    assert "not run" in lines[-1]


def test_verdict_single_candidate_and_p_formatting():
    lines = stats.verdict(stats.summarize(make_folds({"relu": [0.97, 0.96, 0.98]})),
                          (math.nan, math.nan), "test_accuracy")
    assert "nothing to compare" in lines[0]
    # Rounding never carries a p-value across alpha.
    assert stats._fmt_p(0.0499, 0.05) == "p = 0.0499"
    assert stats._fmt_p(0.41, 0.05) == "p = 0.410"
    assert stats._fmt_p(1e-6, 0.05) == "p < 0.001"


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


def test_ordering_verdict_holds_reversed_unresolved(ordering_case):
    s = stats.summarize(ordering_case)
    text, pairs = stats.ordering_verdict(s, ["selu", "elu", "relu", "leaky_relu"], ordering_case,
                                         "test_accuracy")
    assert [p["status"] for p in pairs] == ["holds", "reversed", "unresolved"]
    assert pairs[2]["worse_label"] == "leaky_relu(negative_slope=0.1)"
    np.testing.assert_allclose([p["p_holm"] for p in pairs], stats.holm([p["p"] for p in pairs]))
    assert text.startswith("claim SELU > ELU > RELU > LEAKY_RELU: 1 of 3 adjacent orderings hold")
    assert "(selu > elu)" in text and "1 reversed (relu > elu)" in text
    assert "1 unresolved (relu vs leaky_relu)" in text


def test_ordering_verdict_unknown_name_and_short_claim(ordering_case):
    s = stats.summarize(ordering_case)
    text, pairs = stats.ordering_verdict(s, ["selu", "gelu"], ordering_case, "test_accuracy")
    assert pairs[0]["status"] == "missing" and "gelu" in text
    text, pairs = stats.ordering_verdict(s, ["selu"], ordering_case, "test_accuracy")
    assert pairs == [] and "nothing to test" in text


def test_ordering_verdict_lower_is_better(ordering_case):
    losses = ordering_case.assign(valid_loss=1 - ordering_case["test_accuracy"])
    s = stats.summarize(losses, metric="valid_loss", higher_is_better=False)
    _, pairs = stats.ordering_verdict(s, ["selu", "elu", "relu", "leaky_relu"], losses, "valid_loss")
    assert [p["status"] for p in pairs] == ["holds", "reversed", "unresolved"]
