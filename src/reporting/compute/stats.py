"""Are the differences between candidates real? The maths, vectorised over score matrices.

Scores come as arrays of shape ``(..., k, J)``: k candidates on the same J splits (J = folds x
repeats; the same index is the same train/test partition for every candidate, so splits are
paired blocks); leading axes are independent problems (e.g. simulated data sets). Every test
and interval has one vectorised implementation here; the scalar helpers call it.

Scores from different splits of the same data are not independent: the training sets
overlap, so the plain variance of the fold scores underestimates the variance of their mean
and a naive t-test finds "significant" differences far too often. The Nadeau-Bengio
correction inflates the variance of the mean from ``s2 / J`` to ``(1/J + n_test/n_train) * s2``
(Nadeau & Bengio, "Inference for the Generalization Error", Machine Learning 52, 2003).

Every pair of candidates gets this corrected, paired t-test, and the p-values are
Holm-adjusted over all k(k-1)/2 pairs, which keeps the chance of calling any difference
real when none is at or below ``alpha`` whichever candidate the data rank first (the
simulations of `src.calibrate` check this with the same functions, `decide` and
`claim_outcomes`). A candidate is *separated* from the best when its pair's adjusted p-value
is below ``alpha``; otherwise it is *not separated*, which says that the data cannot tell
them apart, not that they are equal. Rank tests across the splits of one data set
(Friedman) are not used: the splits share training rows, so their blocks are not
independent and such a test rejects far too often.

Equivalence within a margin (the smallest difference that matters) is the other side: two
one-sided tests (TOST, Schuirmann 1987) on the same corrected t, Holm over all pairs; a pair
whose difference is the same on every split is equivalent when that constant lies inside the
margin. Each candidate is then *worse* than the best, *equivalent* to it or *inconclusive*
(`outcomes`); docs/statistics.md#equivalence says why and `src.calibrate` measures it.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ...results import ALPHA, MARGIN as MARGIN_POINTS

# Relative tolerance under which a set of differences counts as constant (zero variance).
CONSTANT_RTOL = 1e-12
# The difference (in the metric's units: one accuracy point) that a comparison should be
# able to detect with probability POWER; a larger minimal detectable difference is reported.
DETECTABLE = 0.01
POWER = 0.8
# The most repeats the verdict suggests before saying that more repeats will not help.
MAX_REPEATS = 20
# The folds the verdict's remedy considers when repeats of the study's own folds cannot help.
FOLDS_TRIED = (5, 10)
# The default margin of equivalence (``stats.margin`` of the config) in accuracy: the smallest
# difference in accuracy that matters (docs/statistics.md#equivalence).
MARGIN = MARGIN_POINTS / 100
# The outcomes of a candidate against the best (`outcomes`).
OUTCOME_WORDS = ("best", "worse", "equivalent", "inconclusive")
# A split is far from the others when it lies more than FAR robust standard deviations of
# the grid's splits from its candidate's median split.
FAR = 10.0
# The robust standard deviation of a normal sample is 1.4826 times its median absolute deviation.
MAD_TO_SD = 1.4826


# ---------------------------------------------------------------------------------------
# Vectorised building blocks
# ---------------------------------------------------------------------------------------

def constant(values):
    """Whether ``values`` are the same along the last axis, up to floating-point noise.

    Parameters
    ----------
    values : array-like of float, shape (..., J)

    Returns
    -------
    numpy.ndarray of bool, shape (...)
    """
    values = np.asarray(values, dtype=float)
    spread = values.max(axis=-1) - values.min(axis=-1)
    return spread <= CONSTANT_RTOL * np.maximum(1.0, np.abs(values).max(axis=-1))


def corrected_se(values, ratio):
    """Nadeau-Bengio standard error of the mean along the last axis.

    ``sqrt((1/J + ratio) * s2)``, ``s2`` the sample variance (ddof=1) of the J values.

    Parameters
    ----------
    values : array-like of float, shape (..., J)
    ratio : float
        Mean ``n_test / n_train`` of the splits.

    Returns
    -------
    numpy.ndarray, shape (...)
        NaN when J < 2.
    """
    values = np.asarray(values, dtype=float)
    j = values.shape[-1]
    if j < 2:
        return np.full(values.shape[:-1], np.nan)
    return np.sqrt((1.0 / j + ratio) * values.var(axis=-1, ddof=1))


def t_interval(mean, se, dof, level):
    """Student's t interval ``mean +- t_{(1 + level) / 2}(dof) * se``, element-wise."""
    half = sps.t.ppf(0.5 + level / 2, dof) * np.asarray(se, dtype=float)
    return mean - half, mean + half


@dataclass
class Intervals:
    """Means along the last axis with their corrected intervals (arrays of one shape)."""

    mean: np.ndarray
    se: np.ndarray
    low: np.ndarray
    high: np.ndarray


def mean_intervals(scores, ratio, level=0.95):
    """Each row's mean with its corrected ``level`` interval.

    Parameters
    ----------
    scores : array-like of float, shape (..., J)
        Complete scores (no NaN).
    ratio : float
        Mean ``n_test / n_train``.
    level : float

    Returns
    -------
    Intervals
        Bounds equal to the mean where a row is constant, NaN where J < 2.
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=-1)
    se = corrected_se(scores, ratio)
    low, high = t_interval(mean, se, scores.shape[-1] - 1, level) if scores.shape[-1] >= 2 else (se, se)
    flat = constant(scores) if scores.shape[-1] >= 2 else np.zeros(mean.shape, dtype=bool)
    return Intervals(mean, se, np.where(flat, mean, low), np.where(flat, mean, high))


def pair_index(k):
    """The pairs ``(i, j)``, ``i < j``, of ``k`` candidates, in a fixed order.

    Returns
    -------
    first, second : numpy.ndarray of int
        Each of length ``k * (k - 1) / 2``.
    """
    return np.triu_indices(k, 1)


def pair_lookup(k):
    """``lookup[i, j]``: the position of the pair of candidates ``i`` and ``j`` in `pair_index` order."""
    lookup = np.zeros((k, k), dtype=int)
    first, second = pair_index(k)
    lookup[first, second] = lookup[second, first] = np.arange(first.size)
    return lookup


@dataclass
class PairTests(Intervals):
    """Corrected paired t-tests of the pairs of `pair_index`, shape ``(..., k (k - 1) / 2)``.

    The `Intervals` of the differences ``first - second`` (one pair's each), and ``t`` and
    ``p``, the two-sided test with J-1 degrees of freedom. ``t``, ``p``, ``low`` and ``high``
    are NaN where the difference is constant (its variance is unknown, not zero) or J < 2;
    ``dof`` is J - 1.
    """

    t: np.ndarray
    p: np.ndarray
    dof: int = 0


def pairwise_tests(scores, ratio, level=0.95):
    """Corrected paired t-tests and intervals of every pair of candidates.

    Parameters
    ----------
    scores : array-like of float, shape (..., k, J)
        Complete scores (no NaN) of k candidates on the same J splits.
    ratio : float
        Mean ``n_test / n_train`` of the splits.
    level : float, default 0.95
        Coverage of the difference intervals.

    Returns
    -------
    PairTests
    """
    scores = np.asarray(scores, dtype=float)
    first, second = pair_index(scores.shape[-2])
    d = scores[..., first, :] - scores[..., second, :]
    j = d.shape[-1]
    mean = d.mean(axis=-1)
    se = corrected_se(d, ratio)
    if j < 2:
        return PairTests(mean=mean, se=se, low=se, high=se, t=se, p=se, dof=j - 1)
    testable = ~constant(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(testable, mean / np.where(testable, se, 1.0), np.nan)
    p = np.minimum(1.0, 2.0 * sps.t.sf(np.abs(t), j - 1))
    low, high = t_interval(mean, np.where(testable, se, np.nan), j - 1, level)
    return PairTests(mean=mean, se=se, low=low, high=high, t=t, p=p, dof=j - 1)


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values along the last axis.

    Parameters
    ----------
    pvalues : array-like of float, shape (..., m)
        Raw p-values. NaN entries (untestable pairs) are passed through and do not count
        towards the number of tests.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order and shape.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return p.copy()
    finite = np.isfinite(p)
    m = finite.sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(finite, p, np.inf), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    adjusted = np.minimum(1.0, np.fmax.accumulate(ranked * (m - np.arange(p.shape[-1])), axis=-1))
    adjusted = np.where(np.isfinite(ranked), adjusted, np.nan)
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


# ---------------------------------------------------------------------------------------
# Decisions (the summary, the verdict and `src.calibrate` use these)
# ---------------------------------------------------------------------------------------

def worse_than_best(means, p_adjusted, alpha, higher_is_better=True):
    """Which candidates are separated from (significantly worse than) the best one.

    Parameters
    ----------
    means : array-like, shape (..., k)
        Mean score of each candidate; the best is the highest (or lowest) mean.
    p_adjusted : array-like, shape (..., k * (k - 1) / 2)
        Adjusted p-values of the pairs of `pair_index` (Holm over all pairs).
    alpha : float
    higher_is_better : bool

    Returns
    -------
    best : numpy.ndarray of int, shape (...)
    separated : numpy.ndarray of bool, shape (..., k)
        True where the pair (candidate, best) has an adjusted p-value below ``alpha``;
        False for the best itself and for untestable pairs.
    """
    means = np.asarray(means, dtype=float)
    p_adjusted = np.asarray(p_adjusted, dtype=float)
    k = means.shape[-1]
    best = np.argmax(means if higher_is_better else -means, axis=-1)
    if k < 2:
        return best, np.zeros(means.shape, dtype=bool)
    which = pair_lookup(k)[best[..., None], np.arange(k)]
    separated = np.take_along_axis(p_adjusted, which, axis=-1) < alpha
    return best, separated & (np.arange(k) != best[..., None])


@dataclass
class Decisions:
    """What the tests of one or more score matrices decide (arrays over the leading axes).

    Attributes
    ----------
    tests : PairTests
        Every pair's test, ``(..., k (k - 1) / 2)``.
    p_holm : numpy.ndarray
        Holm-adjusted over the pairs.
    best : numpy.ndarray of int
        The best candidate.
    worse : numpy.ndarray of bool, ``(..., k)``
        Separated from (worse than) the best.
    some_pair_separated : numpy.ndarray of bool
        Any pair's adjusted p-value below alpha: the candidates do not all perform alike.
    p_tost, p_tost_holm : numpy.ndarray
        Every pair's TOST p-value at the margin (`tost`), and Holm-adjusted over the pairs; NaN
        without a margin, for a constant difference and for J < 2.
    equivalent_pairs : numpy.ndarray of bool, ``(..., k (k - 1) / 2)``
        Shown equivalent within the margin (`equivalent_pairs`); all False without a margin.
    equivalent : numpy.ndarray of bool, ``(..., k)``
        The pair (candidate, best) is equivalent; False for the best itself.
    """

    tests: PairTests
    p_holm: np.ndarray
    best: np.ndarray
    worse: np.ndarray
    some_pair_separated: np.ndarray
    p_tost: np.ndarray = None
    p_tost_holm: np.ndarray = None
    equivalent_pairs: np.ndarray = None
    equivalent: np.ndarray = None


def decide(scores, ratio, alpha, higher_is_better=True, level=None, margin=None):
    """Test every pair of candidates, Holm over all pairs, and read off the verdicts.

    Parameters
    ----------
    scores : array-like of float, shape (..., k, J)
    ratio : float
        Mean ``n_test / n_train``.
    alpha : float
    higher_is_better : bool
    level : float, optional
        Coverage of the difference intervals; default ``1 - alpha``.
    margin : float, optional
        The margin of equivalence, in the scores' units; None tests no equivalence.

    Returns
    -------
    Decisions
    """
    scores = np.asarray(scores, dtype=float)
    tests = pairwise_tests(scores, ratio, 1 - alpha if level is None else level)
    p_holm = holm(tests.p)
    best, worse = worse_than_best(scores.mean(axis=-1), p_holm, alpha, higher_is_better)
    p_tost = tost(tests, margin)
    p_tost_holm = holm(p_tost)
    pairs = equivalent_pairs(tests, p_tost_holm, alpha, margin)
    k = scores.shape[-2]
    which = pair_lookup(k)[best[..., None], np.arange(k)]
    equivalent = np.take_along_axis(pairs, which, axis=-1) & (np.arange(k) != best[..., None]) if k >= 2 else \
        np.zeros(scores.shape[:-1], dtype=bool)
    return Decisions(tests, p_holm, best, worse, (p_holm < alpha).any(axis=-1), p_tost, p_tost_holm, pairs,
                     equivalent)


def tost(tests, margin):
    """Two one-sided tests of ``|difference| >= margin`` for every pair (Schuirmann's TOST).

    ``max(P(T >= (mean + margin) / se), P(T <= (mean - margin) / se))`` with T Student's t on
    J-1 degrees of freedom and ``se`` the corrected standard error of `pairwise_tests`: below
    ``alpha`` exactly when the ``1 - 2 alpha`` interval lies inside ``+-margin``.

    Parameters
    ----------
    tests : PairTests
    margin : float or None
        In the scores' units.

    Returns
    -------
    numpy.ndarray
        The p-values, NaN where the difference is constant (``tests.p`` NaN), J < 2 or no margin.
    """
    if margin is None or tests.mean.size == 0:
        return np.full(tests.mean.shape, np.nan)
    testable = np.isfinite(tests.p)
    se = np.where(testable, tests.se, 1.0)
    dof = max(1, tests.dof)
    lower = sps.t.sf((tests.mean + margin) / se, dof)   # H0: difference <= -margin
    upper = sps.t.cdf((tests.mean - margin) / se, dof)  # H0: difference >= +margin
    return np.where(testable, np.maximum(lower, upper), np.nan)


def equivalent_pairs(tests, p_tost_adjusted, alpha, margin):
    """Which pairs are shown equivalent within ``margin``.

    A tested pair is equivalent when its Holm-adjusted TOST p-value is below ``alpha``; a pair
    whose difference is the same on every split of two or more (its variance unknown, not
    zero) when that constant lies strictly inside ``+-margin``.

    Returns
    -------
    numpy.ndarray of bool
        All False without a margin.
    """
    if margin is None:
        return np.zeros(tests.mean.shape, dtype=bool)
    flat = ~np.isfinite(tests.p) & np.isfinite(tests.mean) & (tests.dof >= 1)
    return (np.nan_to_num(p_tost_adjusted, nan=1.0) < alpha) | (flat & (np.abs(tests.mean) < margin))


def outcomes(decided, higher_is_better=True):
    """Each candidate's outcome against the best: ``best``, ``worse``, ``equivalent`` or ``inconclusive``.

    *worse* (separated from the best) comes first: a difference that is real but smaller than
    the margin is worse, and the verdict adds that it lies within the margin.

    Parameters
    ----------
    decided : Decisions
        With a margin.

    Returns
    -------
    numpy.ndarray of str, shape (..., k)
    """
    k = decided.worse.shape[-1]
    best = np.arange(k) == decided.best[..., None]
    return np.where(best, "best", np.where(decided.worse, "worse",
                                           np.where(decided.equivalent, "equivalent", "inconclusive")))


@dataclass
class ClaimOutcomes:
    """Status of every pair of a claimed ranking (``holds``, ``reversed``: arrays of pairs) and
    of the claim (``established``: every adjacent pair holds; ``contradicted``: some pair is
    reversed)."""

    holds: np.ndarray
    reversed: np.ndarray
    established: np.ndarray
    contradicted: np.ndarray


def claim_outcomes(mean, p_adjusted, alpha, higher_is_better=True):
    """Status of every pair of a claimed ranking, and whether the ranking is established.

    Parameters
    ----------
    mean : array-like, shape (..., m * (m - 1) / 2)
        Mean difference ``first - second`` of the pairs of ``pair_index(m)``, the
        candidates in their claimed order (best first), so each pair claims ``first``
        better than ``second``.
    p_adjusted : array-like, same shape
        Holm-adjusted p-values over the claim's pairs.
    alpha : float
    higher_is_better : bool

    Returns
    -------
    ClaimOutcomes
    """
    mean = np.asarray(mean, dtype=float)
    p_adjusted = np.asarray(p_adjusted, dtype=float)
    sign = 1.0 if higher_is_better else -1.0
    significant = p_adjusted < alpha
    holds = significant & (sign * mean > 0)
    reversed_ = significant & (sign * mean < 0)
    n = mean.shape[-1]
    m = int(round((1 + math.sqrt(1 + 8 * n)) / 2))
    first, second = pair_index(m)
    adjacent = second == first + 1
    return ClaimOutcomes(holds, reversed_, holds[..., adjacent].all(axis=-1), reversed_.any(axis=-1))


def far_splits(scores, floor=0.0, far=FAR):
    """Splits that lie far from their candidate's other splits.

    A split is far when its distance to its candidate's median split is more than ``far``
    robust standard deviations of the grid: ``MAD_TO_SD`` times the median, over every
    candidate and split, of the distance to the candidate's median (at least ``floor``, the
    candidate's own). One split of a candidate collapsing to chance level is far by this rule.

    Parameters
    ----------
    scores : array-like of float, shape (k, J)
        Complete scores.
    floor : float or array-like of float, shape (k,), default 0
        The least spread assumed, one for all or one per candidate (for an accuracy: the
        sampling standard deviation of its score on the test rows, `proportion_sd`).
    far : float, default `FAR`

    Returns
    -------
    numpy.ndarray of bool, shape (k, J)
    """
    scores = np.asarray(scores, dtype=float)
    if scores.shape[-1] < 3:
        return np.zeros(scores.shape, dtype=bool)
    distance = np.abs(scores - np.median(scores, axis=-1, keepdims=True))
    spread = np.maximum(MAD_TO_SD * float(np.median(distance)), np.asarray(floor, dtype=float))
    spread = np.maximum(spread, np.finfo(float).tiny)
    return distance > far * np.broadcast_to(spread, scores.shape[:-1])[..., None]


def proportion_sd(scores, n_test):
    """The sampling standard deviation of each candidate's median proportion over ``n_test`` rows.

    ``sqrt(p (1 - p) / n_test)`` for a candidate's median split score ``p`` (an accuracy), and
    at least ``1 / n_test``, the resolution of a proportion: the spread that splits of one
    candidate show from their test rows alone.

    Parameters
    ----------
    scores : array-like of float, shape (k, J)
    n_test : int
        Test rows per split.

    Returns
    -------
    numpy.ndarray of float, shape (k,)
    """
    p = np.clip(np.median(np.asarray(scores, dtype=float), axis=-1), 0.0, 1.0)
    return np.maximum(np.sqrt(p * (1 - p) / n_test), 1.0 / n_test)


def detectable_difference(se, n_splits, n_pairs, alpha=0.05, power=POWER):
    """The difference a corrected t-test would detect with probability ``power``.

    Approximately ``(t_{1 - alpha / (2 m)} + t_{power}) * se`` with J-1 degrees of
    freedom, ``m`` the number of pairs (Holm's first, strictest step, i.e. Bonferroni).

    Parameters
    ----------
    se : float or array-like
        Corrected standard error of a mean difference.
    n_splits : int
        J.
    n_pairs : int
        Number of pairs in the Holm family.
    alpha, power : float

    Returns
    -------
    float or numpy.ndarray
        NaN when J < 2.
    """
    return _quantiles_times(se, n_splits, 1 - alpha / (2 * max(1, n_pairs)), power)


def _quantiles_times(se, n_splits, first, second):
    """``(t_first + t_second) * se`` with J-1 degrees of freedom; NaN when J < 2."""
    if n_splits < 2:
        return np.full(np.shape(se), np.nan) if np.ndim(se) else math.nan
    dof = n_splits - 1
    factor = sps.t.ppf(first, dof) + sps.t.ppf(second, dof)
    return factor * np.asarray(se, dtype=float) if np.ndim(se) else float(factor * se)


def detectable_at(sd, n_splits, ratio, n_pairs, alpha=0.05, power=POWER):
    """`detectable_difference` at ``n_splits`` splits for differences of standard deviation ``sd``."""
    return detectable_difference(sd * math.sqrt(1.0 / n_splits + ratio), n_splits, n_pairs, alpha, power)


def repeats_needed(target, sd, n_splits, ratio, n_pairs, folds, alpha=0.05, most=MAX_REPEATS):
    """The fewest repeats of ``folds``-fold CV that bring the detectable difference to ``target``.

    Parameters
    ----------
    target : float
        The difference to detect, in the metric's units.
    sd : float
        Standard deviation of the differences between splits (assumed to stay).
    n_splits : int
        The J already run; only more splits than that are considered.
    ratio : float
        Mean ``n_test / n_train``.
    n_pairs : int
    folds : int
        Splits added by one repeat.
    alpha : float
    most : int
        The most repeats considered.

    Returns
    -------
    int or None
        None when even ``most`` repeats would not reach ``target``.
    """
    for repeats in range(1, most + 1):
        splits = folds * repeats
        if splits > n_splits and detectable_at(sd, splits, ratio, n_pairs, alpha) <= target:
            return repeats
    return None


def equivalence_reach(se, n_splits, n_pairs, alpha=0.05, power=POWER):
    """The smallest margin within which two equally good candidates are shown equivalent with probability ``power``.

    Approximately ``(t_{1 - alpha / m} + t_{(1 + power) / 2}) * se`` with J-1 degrees of
    freedom, ``m`` the pairs of the Holm family (its first, strictest step): TOST needs
    ``|mean| < margin - t_{1 - alpha / m} * se``, and the mean of a true difference of 0
    stays within ``t_{(1 + power) / 2} * se`` with probability ``power``.

    Parameters
    ----------
    se : float or array-like
        Corrected standard error of a mean difference.
    n_splits, n_pairs : int
    alpha, power : float

    Returns
    -------
    float or numpy.ndarray
        NaN when J < 2.
    """
    return _quantiles_times(se, n_splits, 1 - alpha / max(1, n_pairs), (1 + power) / 2)


def reach_at(sd, n_splits, ratio, n_pairs, alpha=0.05, equivalence=False):
    """`detectable_at`, or with ``equivalence`` `equivalence_reach`, at ``n_splits`` splits."""
    se = sd * math.sqrt(1.0 / n_splits + ratio)
    return equivalence_reach(se, n_splits, n_pairs, alpha) if equivalence else \
        detectable_difference(se, n_splits, n_pairs, alpha)


def design_needed(target, sd, n_splits, ratio, n_pairs, folds, alpha=0.05, equivalence=False, most=MAX_REPEATS):
    """The design that brings the difference found (or the margin reached) down to ``target``.

    First the fewest repeats of the study's own ``folds`` (``ratio`` its ``n_test / n_train``);
    when ``most`` repeats cannot (the ``ratio`` term of the corrected variance does not shrink
    with J), the fewest repeats of each of `FOLDS_TRIED` more folds, whose ratio is
    ``1 / (folds - 1)``. The spread ``sd`` of the differences is assumed to stay.

    Returns
    -------
    (int, int) or None
        ``(folds, repeats)``, or None when no design considered reaches ``target``.
    """
    for k, r in [(folds, ratio)] + [(f, 1.0 / (f - 1)) for f in FOLDS_TRIED if f > folds]:
        for repeats in range(1, most + 1):
            splits = k * repeats
            if splits > n_splits and reach_at(sd, splits, r, n_pairs, alpha, equivalence) <= target:
                return k, repeats
    return None


# ---------------------------------------------------------------------------------------
# Scalar helpers (one candidate or one pair, NaN-tolerant)
# ---------------------------------------------------------------------------------------

def _finite(values, n_train, n_test):
    """Return the finite ``values`` and the mean ``n_test / n_train`` of their splits."""
    v = np.asarray(values, dtype=float).ravel()
    try:
        ntr = np.broadcast_to(np.asarray(n_train, dtype=float), v.shape)
        nte = np.broadcast_to(np.asarray(n_test, dtype=float), v.shape)
    except ValueError:
        raise ValueError(f"n_train and n_test must be numbers or have one entry per value "
                         f"({v.size} values)") from None
    keep = np.isfinite(v)
    v, ntr, nte = v[keep], ntr[keep], nte[keep]
    if np.any(~np.isfinite(ntr)) or np.any(ntr <= 0) or np.any(~np.isfinite(nte)) or np.any(nte < 0):
        raise ValueError("n_train must be positive and n_test non-negative")
    return v, float(np.mean(nte / ntr)) if v.size else math.nan


def nadeau_bengio_variance(values, n_train, n_test):
    """Corrected variance of the mean of J resampled scores (or score differences).

    ``(1/J + n_test/n_train) * s2`` instead of ``s2 / J`` (`corrected_se` squared).

    Parameters
    ----------
    values : array-like of float
        The J scores or paired differences, one per split. NaN entries are ignored.
    n_train : int or array-like of int
        Training-set size; one number, or one per value (the mean ratio is used).
    n_test : int or array-like of int
        Held-out size; one number, or one per value.

    Returns
    -------
    float
        NaN when fewer than 2 finite values.
    """
    v, ratio = _finite(values, n_train, n_test)
    return float(corrected_se(v, ratio) ** 2)


def confidence_interval(values, n_train, n_test, level=0.95):
    """Mean and corrected confidence interval of resampled scores (`mean_intervals`).

    Parameters
    ----------
    values : array-like of float
        The J scores, one per split. NaN entries are ignored.
    n_train, n_test : int or array-like of int
        Training and held-out sizes; one number, or one per value.
    level : float, default 0.95

    Returns
    -------
    mean, low, high : float
        NaN bounds when fewer than 2 finite values, equal to the mean when the values
        are constant; all NaN without a finite value.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    v, ratio = _finite(values, n_train, n_test)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    found = mean_intervals(v, ratio, level)
    return float(found.mean), float(found.low), float(found.high)


def _pair(a, b, n_train, n_test, level):
    """`pairwise_tests` of the complete pairs of ``a`` and ``b``, or None when there are none."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    d, ratio = _finite(np.where(keep, a - b, np.nan), n_train, n_test)
    if d.size == 0:
        return None
    return pairwise_tests(np.stack([a[keep], b[keep]]), ratio, level)


def corrected_ttest(a, b, n_train, n_test):
    """Paired corrected resampled t-test of ``a - b`` (two-sided; `pairwise_tests`).

    Parameters
    ----------
    a, b : array-like of float
        Scores of two candidates on the same J splits, in the same order. Pairs where
        either score is NaN are left out.
    n_train, n_test : int or array-like of int
        Training and held-out sizes; one number, or one per split.

    Returns
    -------
    t, p : float
        NaN (untestable) when fewer than 2 complete pairs, or when the difference is the
        same on every split: with no variation the statistic is undefined (x / 0), and
        calling a constant difference on 3 splits "p = 0" would claim certainty from nothing.
    """
    found = _pair(a, b, n_train, n_test, 0.95)
    return (math.nan, math.nan) if found is None else (float(found.t[0]), float(found.p[0]))


def difference_interval(a, b, n_train, n_test, level=0.95):
    """Mean of ``a - b`` over the splits with its corrected confidence interval.

    The interval is ``mean(d) +- t(J-1) * sqrt((1/J + n_test/n_train) * s_d^2)``: one
    pair's, not adjusted for the number of pairs compared.

    Parameters
    ----------
    a, b : array-like of float
        Scores of two candidates on the same splits; pairs with a NaN are left out.
    n_train, n_test : int or array-like of int
        As in `corrected_ttest`.
    level : float, default 0.95

    Returns
    -------
    mean, low, high : float
        NaN bounds when fewer than 2 complete pairs or when the difference is constant
        (the variance is then unknown, not zero).
    """
    found = _pair(a, b, n_train, n_test, level)
    if found is None:
        return math.nan, math.nan, math.nan
    return float(found.mean[0]), float(found.low[0]), float(found.high[0])


def bayes_probabilities(a, b, ratio, rope):
    """The Bayesian correlated t-test of ``a - b`` (baycomp): P(a worse), P(within ``rope``), P(a better).

    Benavoli, Corani, Demšar and Zaffalon (2017): the posterior of the mean difference is
    Student's t on J-1 degrees of freedom around the mean, with the Nadeau-Bengio variance
    (``ratio``: mean ``n_test / n_train``; baycomp's ``CorrelatedTTest`` takes it from the
    folds of plain K-fold). A second view beside `tost`, not a second verdict.

    Parameters
    ----------
    a, b : array-like of float
        Complete scores of two candidates on the same J splits (higher is better).
    ratio : float
    rope : float
        The region of practical equivalence, in the scores' units (the margin).

    Returns
    -------
    (float, float, float)
        NaN when J < 2 or ``rope`` is not positive.
    """
    from baycomp.single import Posterior  # imported where used: only the summary needs it

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size < 2 or not rope > 0:
        return math.nan, math.nan, math.nan
    var = 0.0 if bool(constant(d)) else float(corrected_se(d, ratio) ** 2)
    worse, within, better = Posterior(float(d.mean()), var, d.size - 1, rope).probs()
    return float(worse), float(within), float(better)
