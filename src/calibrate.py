"""``python -m src.calibrate``: the error rates of the verdicts, measured on simulated scores.

Each simulated data set is a score matrix of k candidates on J = folds x repeats splits with
the correlation of K-fold cross-validation: a candidate's scores on two splits share a term
(its training sets overlap), so the paired differences of two candidates correlate by
``rho = 1 / folds`` between splits, the value for which the Nadeau-Bengio correction
(``n_test / n_train = rho / (1 - rho)``) is exact; every split also has a difficulty shared
by all candidates. Scores are rounded to multiples of ``1 / n_test`` like real accuracies,
so a difference can be the same on every split.

Under the global null (all candidates equally good) every "separated" is an error. The
decisions are those the summary and the verdict print, made by the same functions on the same
arrays: `src.reporting.compute.stats.decide` (every pair tested, Holm over all pairs, worse than the
best, some pair separated) and `src.reporting.compute.stats.claim_outcomes`. Two retired procedures
are measured for comparison: the Friedman test across the splits and each candidate against
the best with Holm over k-1 pairs. Equivalence within a margin (the same `decide`, TOST with
Holm over all pairs and the rule for constant differences) is measured where it is false
(true differences exactly at the margin) and for its power (true differences of 0).
"""
import argparse
import math
import sys

import numpy as np
from scipy import stats as sps

from .reporting.compute import stats

ALPHA = stats.ALPHA
SCORE = 0.95       # mean accuracy of every candidate
SPREAD = 0.005     # standard deviation of a candidate's score between splits
N_TEST = 400       # held-out rows per split: scores are multiples of 1 / N_TEST
SETTINGS = [(3, 1), (3, 2), (3, 10)]  # (folds, repeats)
CANDIDATES = [3, 6, 10]


def simulate_scores(rng, reps, k, folds, repeats, effects=None, spread=SPREAD, n_test=N_TEST):
    """Score matrices of ``reps`` simulated data sets, with the correlation of K-fold CV.

    Parameters
    ----------
    rng : numpy.random.Generator
    reps : int
        Simulated data sets.
    k : int
        Candidates.
    folds, repeats : int
        J = folds x repeats splits; the correlation between splits is ``1 / folds``.
    effects : array-like of float, optional
        True score of each candidate minus `SCORE` (default: all 0, the global null).
    spread : float
        Standard deviation of a candidate's score between splits.
    n_test : int
        Scores are rounded to multiples of ``1 / n_test``.

    Returns
    -------
    numpy.ndarray, shape (reps, k, folds * repeats)
    """
    j = folds * repeats
    rho = 1.0 / folds
    effects = np.zeros(k) if effects is None else np.asarray(effects, dtype=float)
    shared = rng.normal(0, spread, (reps, 1, j))  # the split's difficulty, the same for every candidate
    overlap = math.sqrt(rho) * rng.normal(0, spread, (reps, k, 1))
    own = math.sqrt(1 - rho) * rng.normal(0, spread, (reps, k, j))
    scores = SCORE + effects[None, :, None] + shared + overlap + own
    return np.round(scores * n_test) / n_test


def _ratio(folds):
    return 1.0 / (folds - 1)  # n_test / n_train of K-fold


def decisions(scores, folds, alpha=ALPHA):
    """What each procedure concludes on each simulated data set.

    Parameters
    ----------
    scores : numpy.ndarray, shape (reps, k, J)
        Candidates in the claimed order (best first) for the claim's procedure.
    folds : int
    alpha : float

    Returns
    -------
    dict
        Procedure name -> boolean array (reps,): the procedure declared a difference
        ("any candidate worse than the best", "some pair separated", "claimed ranking
        established", and the retired "Friedman across splits" and "best vs others, Holm
        over k-1").
    """
    reps, k, j = scores.shape
    decided = stats.decide(scores, _ratio(folds), alpha)
    out = {
        "any candidate called worse than the best": decided.worse.any(axis=-1),
        "some pair separated (the omnibus line)": decided.some_pair_separated,
        "claimed ranking called established": stats.claim_outcomes(decided.tests.mean, decided.p_holm,
                                                                   alpha).established,
    }
    # Retired: each candidate against the best picked from the same data, Holm over k-1.
    best = decided.best
    others = np.array([[c for c in range(k) if c != b] for b in range(k)])[best]
    p_best = np.take_along_axis(decided.tests.p, stats.pair_lookup(k)[best[:, None], others], axis=-1)
    out["retired: best vs others, Holm over k-1"] = (stats.holm(p_best) < alpha).any(axis=-1)
    # Retired: Friedman test with the splits as blocks (ties get average ranks).
    ranks = sps.rankdata(scores, axis=1)
    if j >= 2 and k >= 3:
        sums = ranks.sum(axis=-1)
        chi2 = 12.0 / (j * k * (k + 1)) * (sums ** 2).sum(axis=-1) - 3.0 * j * (k + 1)
        ties = ((ranks * ranks).sum(axis=(1, 2)) - j * k * (k + 1) ** 2 / 4) / (j * k * (k * k - 1) / 12)
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = np.where(ties > 0, chi2 / ties, 0.0)
        out["retired: Friedman across splits"] = sps.chi2.sf(chi2, k - 1) < alpha
    return out


def least_favourable(k, gap):
    """True effects for a false claim that is hardest to catch: candidates ``gap`` apart in
    the claimed order, except the second and third (the first two when k = 2), which are equal."""
    steps = np.arange(k, dtype=float)
    steps[min(2, k - 1):] -= 1
    return -gap * steps


def error_rates(reps=4000, seed=0, settings=SETTINGS, candidates=CANDIDATES, alpha=ALPHA, gap=8 * SPREAD):
    """How often each procedure declares a difference that is not there.

    Under the global null every declaration is an error. The claim is also checked where it
    is false in one adjacent pair only (`least_favourable`, other pairs ``gap`` apart).

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {procedure: fraction of data sets with a false claim}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            found = decisions(simulate_scores(rng, reps, k, folds, repeats), folds, alpha)
            rates[(k, folds, repeats)] = {name: float(hit.mean()) for name, hit in found.items()}
            partial = decisions(simulate_scores(rng, reps, k, folds, repeats, least_favourable(k, gap)), folds, alpha)
            rates[(k, folds, repeats)][PARTIAL] = float(partial["claimed ranking called established"].mean())
    return rates


PARTIAL = "claimed ranking called established, one adjacent pair equal"


def power_rates(reps=2000, seed=1, settings=SETTINGS, candidates=CANDIDATES, alpha=ALPHA, gap=3 * SPREAD):
    """How often true differences are found: candidates ``gap`` apart, in the claimed order.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {"last candidate called worse than the best": rate,
        "claimed ranking called established": rate}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            scores = simulate_scores(rng, reps, k, folds, repeats, -gap * np.arange(k))
            decided = stats.decide(scores, _ratio(folds), alpha)
            established = stats.claim_outcomes(decided.tests.mean, decided.p_holm, alpha).established
            rates[(k, folds, repeats)] = {"last candidate called worse than the best":
                                          float(decided.worse[:, -1].mean()),
                                          "claimed ranking called established": float(established.mean())}
    return rates


MARGIN = 0.005       # the margin of equivalence simulated: stats.margin's default, half a point
EQUIVALENT_AT_MARGIN = "any candidate called equivalent to the best, its true difference the margin"
EQUIVALENCE_SETTINGS = [(3, 1), (3, 2), (3, 3)]  # 3, 6 and 9 splits
POWER_MARGINS = [MARGIN, 2 * MARGIN, 4 * MARGIN]
EQUIVALENCE_CANDIDATES = [2, 3, 6, 10]
MNIST_SPREAD, MNIST_TEST = 0.00125, 20000  # a spread of an eighth of a point on MNIST's 20,000 test rows a split


def at_margin(k, margin=MARGIN):
    """True effects where equivalence to the best is false: the first candidate ``margin`` above the others."""
    return np.r_[0.0, np.full(k - 1, -margin)]


def equivalence_error_rates(reps=4000, seed=4, settings=SETTINGS, candidates=EQUIVALENCE_CANDIDATES, alpha=ALPHA,
                            margin=MARGIN, spread=SPREAD, n_test=N_TEST):
    """How often a candidate is called equivalent to the best when its true difference to it is the margin.

    The first candidate lies ``margin`` above the others (`at_margin`); whichever the data rank
    first, a candidate called equivalent to it whose true difference to it is the margin is an
    error (the others are truly equal to each other). ``spread`` and ``n_test`` as in
    `simulate_scores`: a spread well below the margin is where TOST's error rate approaches alpha.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {`EQUIVALENT_AT_MARGIN`: rate}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        effects = at_margin(k, margin)
        for folds, repeats in settings:
            scores = simulate_scores(rng, reps, k, folds, repeats, effects, spread, n_test)
            decided = stats.decide(scores, _ratio(folds), alpha, margin=margin)
            apart = np.abs(effects[None, :] - effects[decided.best][:, None]) >= margin * (1 - 1e-9)
            rates[(k, folds, repeats)] = {EQUIVALENT_AT_MARGIN: float((decided.equivalent & apart).any(axis=-1).mean())}
    return rates


def equivalence_power(reps=2000, seed=5, settings=EQUIVALENCE_SETTINGS, candidates=(3, 6), alpha=ALPHA,
                      margins=POWER_MARGINS, spread=SPREAD, n_test=N_TEST):
    """How often equally good candidates are all shown equivalent to the best, at each margin.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {"every candidate equivalent to the best, margin M points": rate}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            scores = simulate_scores(rng, reps, k, folds, repeats, spread=spread, n_test=n_test)
            rates[(k, folds, repeats)] = {
                f"every candidate equivalent to the best, margin {m * 100:.2f} points":
                    float((stats.decide(scores, _ratio(folds), alpha, margin=m).equivalent.sum(axis=-1) == k - 1).mean())
                for m in margins}
    return rates


RATES = 4            # learning rates of a simulated tuned study
N_VALID = 200        # validation rows of a simulated fit: its inner scores are multiples of 1 / N_VALID
TUNED = "tuned: any candidate called worse than the best"
FIXED = "fixed at one rate: any candidate called worse than the best"


def simulate_tuned(rng, reps, k, folds, repeats, rates=RATES, gap=2 * SPREAD, spread=SPREAD, n_test=N_TEST,
                   n_valid=N_VALID):
    """A tuned study's outer scores, where every activation is equally good at its own best rate.

    Every activation has the same true scores over the rate grid (0, -gap, -2 gap, ...), but
    its best rate differs: activation ``a`` is best at rate ``a % rates``. Each fit has a
    quality with the correlation of K-fold CV (`simulate_scores`, unrounded); its inner
    (validation) score and its outer score add independent sampling noise of the validation
    and test rows (binomial, rounded to their row counts). On each split, each activation's
    rate is chosen by the inner score (the first listed between equal ones, as `src.tuning`
    does), and the chosen fit's outer score is its score.

    Returns
    -------
    tuned : numpy.ndarray, shape (reps, k, folds * repeats)
        The chosen fits' outer scores.
    fixed : numpy.ndarray, shape (reps, k, folds * repeats)
        The outer scores at the first rate for every activation (the fixed protocol).
    """
    j = folds * repeats
    profile = -gap * np.arange(rates)
    effects = np.stack([np.roll(profile, a % rates) for a in range(k)])  # (k, rates)
    quality = simulate_scores(rng, reps, k * rates, folds, repeats, effects.ravel(), spread, n_test=10 ** 9)
    quality = quality.reshape(reps, k, rates, j)

    def observed(n_rows):
        noise = rng.normal(0, math.sqrt(SCORE * (1 - SCORE) / n_rows), quality.shape)
        return np.round((quality + noise) * n_rows) / n_rows

    inner, outer = observed(n_valid), observed(n_test)
    chosen = inner.argmax(axis=2)  # (reps, k, j): the first of equal inner scores
    tuned = np.take_along_axis(outer, chosen[:, :, None, :], axis=2)[:, :, 0, :]
    return tuned, outer[:, :, 0, :]


def tuned_error_rates(reps=2000, seed=2, settings=SETTINGS, candidates=CANDIDATES, alpha=ALPHA):
    """How often the verdict calls an activation worse when, after tuning, none is.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {`TUNED`: rate of the tuned protocol's verdict (an error
        rate), `FIXED`: rate of the fixed protocol's verdict at the first rate, where the
        activations do differ: how often fixing the rate shows a difference that tuning removes}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            tuned, fixed = simulate_tuned(rng, reps, k, folds, repeats)
            rates[(k, folds, repeats)] = {
                TUNED: float(stats.decide(tuned, _ratio(folds), alpha).worse.any(axis=-1).mean()),
                FIXED: float(stats.decide(fixed, _ratio(folds), alpha).worse.any(axis=-1).mean())}
    return rates


HALVING_CANDIDATES = [10, 28]  # a grid of ten, and grid=all
HALVING = {"eta": 3, "min_epochs": 4, "epochs": 25}  # the defaults (search.eta, search.min_epochs) at 25 epochs
VALID_FRACTION = 0.2             # each fit's validation rows, of its training rows (train.valid_fraction)
INSIDE = "halving, ranked on validation rows inside the other splits (as run): any survivor called worse"
OUTSIDE = "halving, ranked on rows outside every split: any survivor called worse"
EXHAUSTIVE = "exhaustive, the same data sets: any candidate called worse than the best"


def _row_layout(rng, folds, repeats, n_test, valid_fraction=VALID_FRACTION):
    """Which rows each split tests on and validates on, as K-fold cross-validation lays them out.

    Returns
    -------
    test, valid : numpy.ndarray, shape (folds * repeats, folds * n_test)
        Each split's test rows (its fold) and validation rows (``valid_fraction`` of its
        training rows, the other folds), as row weights that sum to 1 over each split's rows.
    """
    n = folds * n_test
    test, valid = np.zeros((folds * repeats, n)), np.zeros((folds * repeats, n))
    for r in range(repeats):
        order = rng.permutation(n)
        for f in range(folds):
            own, train = order[f * n_test:(f + 1) * n_test], np.delete(order, np.s_[f * n_test:(f + 1) * n_test])
            test[r * folds + f, own] = 1.0 / n_test
            picked = rng.choice(train, int(round(valid_fraction * len(train))), replace=False)
            valid[r * folds + f, picked] = 1.0 / len(picked)
    return test, valid


def simulate_halving(rng, reps, k, folds, repeats, kept, spread=SPREAD, n_test=N_TEST):
    """Successive halving's verdict on simulated rows, where every candidate is equally good.

    Each fit's quality is as in `simulate_scores` (unrounded). On top, each candidate errs on
    the same rows in every one of its fits and at every epoch (a row effect of binomial size
    per candidate, shared by its fits: the worst case for reusing rows), so that its
    validation score on a fold and its test score on another split share the noise of the
    rows they share. The candidates are ranked once by their validation scores averaged over
    all folds, and the top ``kept`` go on (as if every rung ranked alike); the verdict is then
    taken among them on their test scores. The ranking is made twice: on each fit's validation
    rows, which lie in the other splits' test rows (as a plain grid's halving runs), and on as
    many rows outside every split.

    Parameters
    ----------
    rng, reps, k, spread, n_test
        As in `simulate_scores`.
    folds, repeats : int
        The splits, laid out row by row as repeated K-fold lays them out (`_row_layout`).
    kept : int
        Survivors.

    Returns
    -------
    inside, outside : numpy.ndarray, shape (reps, kept, folds * repeats)
        The survivors' test scores, ranked on the splits' own validation rows and on rows outside.
    scores : numpy.ndarray, shape (reps, k, folds * repeats)
        Every candidate's test scores (the exhaustive search's).
    """
    sd = math.sqrt(SCORE * (1 - SCORE))
    chunk = max(1, 10 ** 7 // (k * folds * n_test))  # data sets drawn at once: about 80 MB of row effects
    out = {"inside": [], "outside": [], "scores": []}
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        test, valid = _row_layout(rng, folds, repeats, n_test)
        quality = simulate_scores(rng, m, k, folds, repeats, spread=spread, n_test=10 ** 9)
        rows = rng.normal(0, sd, (m, k, test.shape[1]))
        scores = np.round((quality + rows @ test.T) * n_test) / n_test
        out["scores"].append(scores)
        for where, ranking_rows in (("inside", rows), ("outside", rng.normal(0, sd, rows.shape))):
            ranked = (quality + ranking_rows @ valid.T).mean(axis=-1)
            top = np.argsort(-ranked, axis=1, kind="stable")[:, :kept]
            out[where].append(np.take_along_axis(scores, top[:, :, None], axis=1))
    return tuple(np.concatenate(out[key]) for key in ("inside", "outside", "scores"))


def halving_schedule():
    """The default schedule's rungs (`HALVING`), as `src.training.rungs.Halving` sets them."""
    from .training.rungs import Halving  # imports torch: only when the halving table is asked for

    settings = Halving(eta=HALVING["eta"], min_epochs=HALVING["min_epochs"], tuned=())
    return settings, settings.rungs(HALVING["epochs"])


def halving_survivors(k):
    """How many of ``k`` candidates the default schedule keeps to the end."""
    settings, rungs = halving_schedule()
    for cut in range(len(rungs) - 1):
        k = settings.kept(k, cut == len(rungs) - 2)
    return k


def halving_error_rates(reps=2000, seed=3, settings=SETTINGS, candidates=HALVING_CANDIDATES, alpha=ALPHA,
                        n_test=N_TEST):
    """How often halving's verdict calls a survivor worse when no candidate is, and how far the
    survivors' mean accuracy lies above the true one.

    The survivors are as many as the default schedule keeps (`HALVING`: `src.training.rungs.Halving`'s
    rungs and its count kept at each cut).

    Returns
    -------
    rates : dict
        ``(k, folds, repeats)`` -> {`INSIDE`, `OUTSIDE`, `EXHAUSTIVE`: error rates}.
    bias : dict
        ``(k, folds, repeats)`` -> {"inside", "outside": the survivors' mean test score less
        the true one, in accuracy points}.
    """
    rng = np.random.default_rng(seed)
    rates, bias = {}, {}
    for k in candidates:
        kept = halving_survivors(k)
        for folds, repeats in settings:
            inside, outside, scores = simulate_halving(rng, reps, k, folds, repeats, kept, n_test=n_test)
            ratio = _ratio(folds)
            rates[(k, folds, repeats)] = {
                INSIDE: float(stats.decide(inside, ratio, alpha).worse.any(axis=-1).mean()),
                OUTSIDE: float(stats.decide(outside, ratio, alpha).worse.any(axis=-1).mean()),
                EXHAUSTIVE: float(stats.decide(scores, ratio, alpha).worse.any(axis=-1).mean())}
            bias[(k, folds, repeats)] = {"inside": 100 * float(inside.mean() - SCORE),
                                         "outside": 100 * float(outside.mean() - SCORE)}
    return rates, bias


def margin(reps, alpha=ALPHA):
    """Three Monte Carlo standard errors of an error rate of ``alpha`` from ``reps`` data sets."""
    return 3.0 * math.sqrt(alpha * (1 - alpha) / reps)


def table(rates):
    """The rates of `error_rates` as a Markdown table, one row per procedure."""
    keys = list(rates)
    names = list(dict.fromkeys(n for found in rates.values() for n in found))
    head = "| procedure | " + " | ".join(f"k={k}, {f}x{r}" for k, f, r in keys) + " |"
    rule = "|---" * (len(keys) + 1) + "|"
    rows = [f"| {name} | " + " | ".join(f"{rates[key][name]:.1%}" if name in rates[key] else ""
                                          for key in keys) + " |" for name in names]
    return "\n".join([head, rule, *rows])


def main(argv=None):
    """Command line entry point: print the simulated error rates."""
    parser = argparse.ArgumentParser(prog="python -m src.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=4000, help="simulated data sets per setting")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-rows", type=int, default=N_TEST,
                        help="test rows per split in the halving table (MNIST's 3 folds: 20000)")
    args = parser.parse_args(argv)
    print(f"Error rates (alpha = {ALPHA}; {args.reps} data sets per setting, Monte Carlo margin "
          f"+-{margin(args.reps):.1%}; k candidates, folds x repeats splits; global null except the last row):\n")
    print(table(error_rates(args.reps, args.seed)))
    print(f"\nPower: candidates {3 * SPREAD * 100:g} accuracy points apart (split-to-split spread "
          f"{SPREAD * 100:g} points), in the claimed order:\n")
    print(table(power_rates(args.reps, args.seed + 1)))
    print(f"\nEquivalence within a margin of {MARGIN * 100:g} points (split-to-split spread {SPREAD * 100:g} points): "
          f"where it is false, the first candidate {MARGIN * 100:g} points above the others (an error rate):\n")
    print(table(equivalence_error_rates(args.reps, args.seed + 4)))
    print(f"\nThe same where the splits spread {MNIST_SPREAD * 100:g} points on {MNIST_TEST} test rows a split (as on "
          f"MNIST; TOST's error rate is closest to alpha where the spread is small beside the margin):\n")
    print(table(equivalence_error_rates(args.reps, args.seed + 6, spread=MNIST_SPREAD, n_test=MNIST_TEST)))
    print("\nIts power: every candidate equally good, how often all are shown equivalent to the best "
          "(3, 6 and 9 splits):\n")
    print(table(equivalence_power(args.reps, args.seed + 5)))
    print(f"\nIts power where the splits spread {MNIST_SPREAD * 100:g} points on {MNIST_TEST} test rows a split:\n")
    print(table(equivalence_power(args.reps, args.seed + 7, margins=[MARGIN / 2, MARGIN], spread=MNIST_SPREAD,
                                  n_test=MNIST_TEST)))
    print(f"\nThe tuned protocol ({RATES} learning rates; every activation equally good at its own best rate, "
          f"the best rates differ; the fixed row trains every activation at the first rate):\n")
    print(table(tuned_error_rates(args.reps, args.seed + 2)))
    print(f"\nSuccessive halving in a plain grid (every candidate equally good; the top of one validation ranking "
          f"kept, as many as rungs {', '.join(map(str, halving_schedule()[1]))} keep at eta {HALVING['eta']}; each "
          f"candidate errs on the same rows in all its fits, the worst case for reusing rows; {args.test_rows} test "
          f"rows per split; simulated row by row, the slowest table):\n", flush=True)
    rates, bias = halving_error_rates(args.reps, args.seed + 3, n_test=args.test_rows)
    print(table(rates))
    print("\nThe survivors' mean accuracy above the true one, accuracy points (ranked inside / outside the splits): "
          + "; ".join(f"k={k}, {f}x{r}: {b['inside']:+.2f} / {b['outside']:+.2f}" for (k, f, r), b in bias.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
