"""``python -m src.calibrate``: the error rates of the verdicts, measured on simulated scores.

Each simulated data set is a score matrix of k candidates on J = folds x repeats splits with
the correlation of K-fold cross-validation: a candidate's scores on two splits share a term
(its training sets overlap), so the paired differences of two candidates correlate by
``rho = n_test / (n_test + n_fit)`` between splits, the value for which the Nadeau-Bengio
correction (``n_test / n_fit = rho / (1 - rho)``) is exact, ``n_fit`` the rows each fit trains
on (a split's training rows less the `VALID_FRACTION` it holds out for validation, as
``train.valid_fraction`` does); every split also has a difficulty shared by all candidates.
Scores are rounded to multiples of ``1 / n_test`` like real accuracies, so a difference can
be the same on every split; every decision floors the variance by those test rows, as the
summary does (`src.reporting.compute.floor.floored_variance`).

Under the global null (all candidates equally good) every "separated" is an error. The
decisions are those the summary and the verdict print, made by the same functions on the same
arrays: `src.reporting.compute.stats.decide` (every pair tested, Holm over all pairs, worse than the
best, some pair separated) and `src.reporting.compute.stats.claim_outcomes`. Two retired procedures
are measured for comparison: the Friedman test across the splits and each candidate against
the best with Holm over k-1 pairs. Equivalence within a margin (the same `decide`, TOST with
Holm over all pairs and the rule for constant differences) is measured where it is false
(true differences exactly at the margin) and for its power (true differences of 0).
"""
import math

import numpy as np
from scipy import stats as sps

from ..reporting.compute import stats
from ..defaults import ALPHA, VALID_FRACTION

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
        J = folds x repeats splits; the correlation between splits is ``r / (1 + r)``, ``r`` the
        ratio ``n_test / n_fit`` of `ratio`.
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
    rho = ratio(folds) / (1.0 + ratio(folds))
    effects = np.zeros(k) if effects is None else np.asarray(effects, dtype=float)
    shared = rng.normal(0, spread, (reps, 1, j))  # the split's difficulty, the same for every candidate
    overlap = math.sqrt(rho) * rng.normal(0, spread, (reps, k, 1))
    own = math.sqrt(1 - rho) * rng.normal(0, spread, (reps, k, j))
    scores = SCORE + effects[None, :, None] + shared + overlap + own
    return np.round(scores * n_test) / n_test


def ratio(folds, valid_fraction=VALID_FRACTION):
    """``n_test / n_fit`` of K-fold whose fits hold ``valid_fraction`` of their training rows out for validation."""
    return 1.0 / ((folds - 1) * (1.0 - valid_fraction))


def decisions(scores, folds, alpha=ALPHA, n_test=N_TEST):
    """What each procedure concludes on each simulated data set.

    Parameters
    ----------
    scores : numpy.ndarray, shape (reps, k, J)
        Candidates in the claimed order (best first) for the claim's procedure.
    folds : int
    alpha : float
    n_test : int
        Test rows per split (the scores' resolution, and the floor of their variance).

    Returns
    -------
    dict
        Procedure name -> boolean array (reps,): the procedure declared a difference
        ("any candidate worse than the best", "some pair separated", "claimed ranking
        established", and the retired "Friedman across splits" and "best vs others, Holm
        over k-1").
    """
    reps, k, j = scores.shape
    decided = stats.decide(scores, ratio(folds), alpha, n_test=n_test)
    out = {
        "any candidate called worse than the best": decided.worse.any(axis=-1),
        "some pair separated (the omnibus line)": decided.some_pair_separated,
        "claimed ranking called established": stats.claim_outcomes(decided.tests.mean, decided.p_holm,
                                                                   alpha).established,
    }
    # Retired: each candidate against the best picked from the same data, Holm over k-1, as it was
    # run: its variance not floored by the test rows (with the floor it errs less on these scores).
    best = decided.best
    others = np.array([[c for c in range(k) if c != b] for b in range(k)])[best]
    plain = stats.pairwise_tests(scores, ratio(folds)).p
    p_best = np.take_along_axis(plain, stats.pair_lookup(k)[best[:, None], others], axis=-1)
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
            decided = stats.decide(scores, ratio(folds), alpha, n_test=N_TEST)
            established = stats.claim_outcomes(decided.tests.mean, decided.p_holm, alpha).established
            rates[(k, folds, repeats)] = {"last candidate called worse than the best":
                                          float(decided.worse[:, -1].mean()),
                                          "claimed ranking called established": float(established.mean())}
    return rates


MNIST_SPREAD, MNIST_TEST = 0.00125, 20000  # a spread of an eighth of a point on MNIST's 20,000 test rows a split


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

