"""The verdicts' error rates and power, measured on simulated cross-validation scores."""
import numpy as np
import pytest

from src import calibrate
from src.calibrate import __main__ as command
from src.calibrate import equivalence_cells, halving_cells, tuned_cells
from src.reporting.compute import stats

REPS = 4000
ALPHA = calibrate.ALPHA
LIMIT = ALPHA + calibrate.margin(REPS)  # alpha plus three Monte Carlo standard errors (1.0 point)
PRINTED = ["any candidate called worse than the best", "some pair separated (the omnibus line)",
           "claimed ranking called established", calibrate.PARTIAL]


@pytest.fixture(scope="module")
def rates():
    return calibrate.error_rates(reps=REPS, seed=12)


def test_the_simulated_splits_have_the_correlation_the_correction_assumes():
    rng = np.random.default_rng(1)
    for folds, repeats in ((3, 2), (5, 4)):
        scores = calibrate.simulate_scores(rng, 20000, 2, folds, repeats, n_test=10 ** 6)
        d = scores[:, 0] - scores[:, 1]
        j = folds * repeats
        corrected = (1 / j + calibrate.ratio(folds)) * d.var(axis=-1, ddof=1).mean()
        assert d.mean(axis=-1).var() == pytest.approx(corrected, rel=0.05)


@pytest.mark.parametrize("procedure", PRINTED)
def test_every_printed_verdict_keeps_its_error_rate(rates, procedure):
    for setting, found in rates.items():
        assert found[procedure] <= LIMIT, (setting, found[procedure])


def test_the_retired_procedures_fail_the_same_check(rates):
    # The check can fail: best-vs-others with Holm over k-1, and Friedman across splits, do.
    assert rates[(10, 3, 10)]["retired: best vs others, Holm over k-1"] > LIMIT
    assert rates[(3, 3, 10)]["retired: Friedman across splits"] > LIMIT


def test_a_constant_difference_read_as_p_zero_would_be_an_error():
    # Six candidates on 3 splits, scores in steps of 1/400: under the null some pair often has
    # the same non-zero difference on every split. Read as p = 0 that would be a "separated"
    # pair in most of those data sets; the project tests such a pair on the floor of its test
    # rows, and keeps it in Holm's family with a real p-value.
    rng = np.random.default_rng(3)
    scores = calibrate.simulate_scores(rng, REPS, 6, 3, 1, spread=0.002)
    first, second = stats.pair_index(6)
    d = scores[:, first] - scores[:, second]
    constant = (d.max(axis=-1) == d.min(axis=-1)) & (d[..., 0] != 0)
    assert constant.any(axis=-1).mean() > LIMIT
    p = stats.pairwise_tests(scores, calibrate.ratio(3), n_test=calibrate.N_TEST).p
    assert np.isfinite(p).all() and (p[constant] > 0).all()
    assert (stats.holm(p) < ALPHA).any(axis=-1).mean() <= LIMIT
    # Without the floor such a pair has no p-value at all (untestable), never p = 0.
    assert np.isnan(stats.pairwise_tests(scores, calibrate.ratio(3)).p[constant]).all()


def test_a_clear_difference_is_found_with_enough_splits():
    power = calibrate.power_rates(reps=1000, seed=5)
    for k in calibrate.CANDIDATES:
        assert power[(k, 3, 10)]["last candidate called worse than the best"] >= 0.95
        assert power[(k, 3, 1)]["last candidate called worse than the best"] < power[(k, 3, 10)][
            "last candidate called worse than the best"]
    assert power[(3, 3, 10)]["claimed ranking called established"] >= 0.75
    assert power[(3, 3, 1)]["claimed ranking called established"] < 0.25


def test_the_command_prints_the_table(capsys):
    assert command.main(["--reps", "200"]) == 0
    out = capsys.readouterr().out
    assert "| any candidate called worse than the best |" in out and "k=10, 3x10" in out and "Power" in out


def test_the_tuned_protocol_keeps_its_error_rate_where_best_rates_differ():
    """Activations equally good after tuning, best at different rates: the tuned verdict's error
    rate stays within alpha plus the Monte Carlo margin, while fixing one rate shows differences."""
    reps = 2000
    rates = tuned_cells.tuned_error_rates(reps=reps, seed=21)
    for setting, found in rates.items():
        assert found[tuned_cells.TUNED] <= ALPHA + calibrate.margin(reps), (setting, found)
    # at one fixed rate the same activations truly differ, and the verdict says so with enough splits
    assert rates[(3, 3, 10)][tuned_cells.FIXED] > 0.3


def test_the_simulated_tuned_study_chooses_each_activations_best_rate_most_often():
    rng = np.random.default_rng(4)
    tuned, fixed = tuned_cells.simulate_tuned(rng, 500, 3, 3, 2)
    assert tuned.shape == fixed.shape == (500, 3, 6)
    # equal after tuning: the activations' mean tuned scores agree within noise
    means = tuned.mean(axis=(0, 2))
    assert np.ptp(means) < 0.002
    # at the first rate, activation 0 (best there) leads by about the profile's gap
    assert fixed[:, 0].mean() - fixed[:, 1].mean() > 0.005


def test_the_simulated_layout_puts_validation_rows_in_other_splits_test_rows():
    rng = np.random.default_rng(4)
    for folds, repeats in ((3, 1), (3, 2)):
        test, valid = halving_cells._row_layout(rng, folds, repeats, n_test=2000)
        assert np.allclose(test.sum(axis=1), 1) and np.allclose(valid.sum(axis=1), 1)
        assert not ((test > 0) & (valid > 0)).any()  # a split never validates on its own test rows
        assert ((valid > 0).sum(axis=1) == round(halving_cells.VALID_FRACTION * (folds - 1) * 2000)).all()
        # a test row lies in the training rows of (folds - 1) x repeats other splits, and in
        # each of their validation rows with probability VALID_FRACTION
        reused = (valid > 0).any(axis=0)
        shared = np.array([reused[t > 0].mean() for t in test])
        expected = 1 - (1 - halving_cells.VALID_FRACTION) ** ((folds - 1) * repeats)
        assert shared == pytest.approx(np.full(len(test), expected), abs=0.03)


def test_halving_keeps_the_verdicts_error_rate_where_every_candidate_is_equally_good():
    """Survivors ranked on rows that lie in the other splits' test rows, or outside every split:
    the verdict among them calls one worse no more often than alpha plus the Monte Carlo margin."""
    reps = 1000
    rates, bias = halving_cells.halving_error_rates(reps=reps, seed=22)
    assert set(rates) == {(k, f, r) for k in halving_cells.HALVING_CANDIDATES for f, r in calibrate.SETTINGS}
    for setting, found in rates.items():
        for procedure in (halving_cells.INSIDE, halving_cells.OUTSIDE, halving_cells.EXHAUSTIVE):
            assert found[procedure] <= ALPHA + calibrate.margin(reps), (setting, procedure, found)
    # The check can fail where rows are reused: ranked on rows shared with the test rows, the
    # survivors' accuracy lies further above the true one than ranked on rows outside.
    for setting, b in bias.items():
        assert b["inside"] > b["outside"] + 0.2 > 0.2, (setting, b)


def test_halving_keeps_as_many_survivors_as_the_default_schedule(make_cfg):
    defaults = make_cfg(shrink=False).search
    assert (defaults.eta, defaults.min_epochs) == (halving_cells.HALVING["eta"], halving_cells.HALVING["min_epochs"])
    settings, rungs = halving_cells.halving_schedule()
    assert rungs == [4, 12, 25]
    assert halving_cells.halving_survivors(28) == 4 and halving_cells.halving_survivors(10) == 2


def test_equivalence_is_called_in_at_most_alpha_of_data_sets_where_the_true_difference_is_the_margin():
    """True difference exactly at the margin: TOST (Holm over all pairs), constant differences tested on
    their test rows' floor, calls "equivalent" no more often than alpha plus the Monte Carlo margin, both where
    the splits spread as much as the margin (rounded to 400 test rows: constant differences are
    common) and where they spread far less (where TOST's error rate comes closest to alpha)."""
    reps = 1000
    settings = [(3, 1), (3, 3)]
    for spread, n_test in ((calibrate.SPREAD, calibrate.N_TEST), (calibrate.MNIST_SPREAD, calibrate.MNIST_TEST)):
        rates = equivalence_cells.equivalence_error_rates(reps, seed=31, settings=settings, candidates=[2, 3],
                                                  spread=spread, n_test=n_test)
        for setting, found in rates.items():
            assert found[equivalence_cells.EQUIVALENT_AT_MARGIN] <= ALPHA + calibrate.margin(reps), (spread, setting, found)
    # The check can fail: read as "not separated, so equal", the pair at the margin would be called
    # equal in most data sets of 3 splits.
    rng = np.random.default_rng(32)
    scores = calibrate.simulate_scores(rng, reps, 2, 3, 1, equivalence_cells.at_margin(2))
    assert (stats.decide(scores, calibrate.ratio(3), ALPHA, n_test=calibrate.N_TEST).p_holm[:, 0] >= ALPHA).mean() > 0.5


def test_equivalence_power_grows_with_the_splits():
    power = equivalence_cells.equivalence_power(reps=400, seed=33, candidates=(3,))
    key = "every candidate equivalent to the best, margin 2.00 points"
    assert power[(3, 3, 1)][key] < power[(3, 3, 2)][key] < power[(3, 3, 3)][key]


def test_the_real_calibration_runs_aa_studies_on_digits_and_prints_their_rates(capsys, tmp_path):
    """A/A studies on digits (relu at two seeds per split): the command prints both rates with
    their intervals; the pair's split scores differ, since the two candidates differ in their seeds."""
    from src.calibrate import real

    from src.preflight import compose_config

    scores, ratio, n_test = real.aa_study(real.prepared(compose_config(real.overrides("digits"))), 0, str(tmp_path))
    assert scores.shape == (2, 6) and not np.array_equal(scores[0], scores[1])
    assert 0.6 < ratio < 0.65 and n_test == 449  # n_test / n_fit: the rows each fit trains on
    assert command.main(["--real", "--reps", "1", "--data", "digits"]) == 0
    out = capsys.readouterr().out
    assert "| digits |" in out and "called worse (alpha 0.05)" in out and "called equivalent (±0.5 points)" in out
    assert command.main(["--real", "--reps", "1", "--data", "cifar"]) == 2
