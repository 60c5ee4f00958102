"""Are the differences between candidates real? The maths, vectorised over score matrices.

Scores come as arrays of shape ``(..., k, J)``: k candidates on the same J splits (J = folds x
repeats; the same index is the same train/test partition for every candidate, so splits are
paired blocks); leading axes are independent problems (e.g. simulated data sets). Every test
and interval has one vectorised implementation here; the scalar helpers call it.

Scores from different splits of the same data are not independent: the training sets
overlap, so the plain variance of the fold scores underestimates the variance of their mean
and a naive t-test finds "significant" differences far too often. The Nadeau-Bengio
correction inflates the variance of the mean from ``s2 / J`` to ``(1/J + n_test/n_fit) * s2``
(Nadeau & Bengio, "Inference for the Generalization Error", Machine Learning 52, 2003), where
``n_fit`` counts the rows each fit trains on: a split's training rows less the validation rows
the fit holds out of them.

Every pair of candidates gets this corrected, paired t-test, and the p-values are
Holm-adjusted over all k(k-1)/2 pairs, which keeps the chance of calling any difference
real when none is at or below ``alpha`` whichever candidate the data rank first (the
simulations of `src.calibrate` check this with the same functions, `decide` and
`claim_outcomes`). A candidate is *separated* from the best when its pair's adjusted p-value
is below ``alpha``; otherwise it is *not separated*, which says that the data cannot tell
them apart, not that they are equal. Rank tests across the splits of one data set
(Friedman) are not used: the splits share training rows, so their blocks are not
independent and such a test rejects far too often.

Scores that are proportions over test rows (accuracies) never have a variance below what
their test rows can resolve: `floored_variance` raises the spread between splits to the
binomial variance of the rows (`rows_floor`), so a difference that is the same on every split
is tested like any other, with the uncertainty its rows leave (docs/statistics.md#the-floor).

Equivalence within a margin (the smallest difference that matters) is the other side: two
one-sided tests (TOST, Schuirmann 1987) on the same corrected t, Holm over all pairs. Each
candidate is then *worse* than the best, *equivalent* to it or *inconclusive* (`outcomes`);
docs/statistics.md#equivalence says why and `src.calibrate` measures it.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ...ranking import best_along
from .floor import constant, floored_variance

# The outcomes of a candidate against the best (`outcomes`).


# ---------------------------------------------------------------------------------------
# Vectorised building blocks
# ---------------------------------------------------------------------------------------

def corrected_se(values, ratio, n_test=None, rates=None):
    """Nadeau-Bengio standard error of the mean along the last axis.

    ``sqrt((1/J + ratio) * s2)``, ``s2`` the sample variance (ddof=1) of the J values, floored
    by their test rows when ``n_test`` is given (`floored_variance`).

    Parameters
    ----------
    values : array-like of float, shape (..., J)
    ratio : float
        Mean ``n_test / n_fit`` of the splits (``n_fit``: the rows each fit trains on).
    n_test : int or array-like of int, optional
        Test rows of each split, for scores that are proportions of them.
    rates : array-like of float, optional
        As in `floored_variance`.

    Returns
    -------
    numpy.ndarray, shape (...)
        NaN when J < 2.
    """
    values = np.asarray(values, dtype=float)
    j = values.shape[-1]
    if j < 2:
        return np.full(values.shape[:-1], np.nan)
    return np.sqrt((1.0 / j + ratio) * floored_variance(values, n_test, rates))


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


def mean_intervals(scores, ratio, level=0.95, n_test=None):
    """Each row's mean with its corrected ``level`` interval.

    Parameters
    ----------
    scores : array-like of float, shape (..., J)
        Complete scores (no NaN).
    ratio : float
        Mean ``n_test / n_fit``.
    level : float
    n_test : int or array-like of int, optional
        Test rows of each split, for proportions: the variance's floor (`floored_variance`).

    Returns
    -------
    Intervals
        Bounds equal to the mean where a row is constant and no floor is given, NaN where J < 2.
    """
    scores = np.asarray(scores, dtype=float)
    mean = scores.mean(axis=-1)
    se = corrected_se(scores, ratio, n_test, np.abs(mean))  # an accuracy p: p (1 - p) / n
    low, high = t_interval(mean, se, scores.shape[-1] - 1, level) if scores.shape[-1] >= 2 else (se, se)
    flat = constant(scores) & (n_test is None) if scores.shape[-1] >= 2 else np.zeros(mean.shape, dtype=bool)
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
    are NaN where J < 2, and where the difference is constant without test rows to floor its
    variance (it is unknown, not zero); ``dof`` is J - 1.
    """

    t: np.ndarray
    p: np.ndarray
    dof: int = 0


def pairwise_tests(scores, ratio, level=0.95, n_test=None):
    """Corrected paired t-tests and intervals of every pair of candidates.

    Parameters
    ----------
    scores : array-like of float, shape (..., k, J)
        Complete scores (no NaN) of k candidates on the same J splits.
    ratio : float
        Mean ``n_test / n_fit`` of the splits.
    level : float, default 0.95
        Coverage of the difference intervals.
    n_test : int or array-like of int, optional
        Test rows of each split when the scores are proportions of them (accuracies): each
        difference's variance is floored by them (`floored_variance`, the rule of three), so a
        difference that is the same on every split is tested too.

    Returns
    -------
    PairTests
    """
    scores = np.asarray(scores, dtype=float)
    first, second = pair_index(scores.shape[-2])
    d = scores[..., first, :] - scores[..., second, :]
    j = d.shape[-1]
    mean = d.mean(axis=-1)
    se = corrected_se(d, ratio, n_test)
    if j < 2:
        return PairTests(mean=mean, se=se, low=se, high=se, t=se, p=se, dof=j - 1)
    testable = ~constant(d) | (n_test is not None)
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
    best = best_along(means if higher_is_better else -means)
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
        without a margin, for an untested pair and for J < 2.
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


def decide(scores, ratio, alpha, higher_is_better=True, level=None, margin=None, n_test=None):
    """Test every pair of candidates, Holm over all pairs, and read off the verdicts.

    Parameters
    ----------
    scores : array-like of float, shape (..., k, J)
    ratio : float
        Mean ``n_test / n_fit``.
    alpha : float
    higher_is_better : bool
    level : float, optional
        Coverage of the difference intervals; default ``1 - alpha``.
    margin : float, optional
        The margin of equivalence, in the scores' units; None (or 0) tests no equivalence.
    n_test : int or array-like of int, optional
        Test rows of each split, when the scores are proportions of them (`pairwise_tests`).

    Returns
    -------
    Decisions
    """
    scores = np.asarray(scores, dtype=float)
    margin = margin or None  # 0 asks for no equivalence
    tests = pairwise_tests(scores, ratio, 1 - alpha if level is None else level, n_test)
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
        The p-values, NaN where the pair is untested (``tests.p`` NaN), J < 2 or no margin (None or 0).
    """
    if not margin or tests.mean.size == 0:
        return np.full(tests.mean.shape, np.nan)
    testable = np.isfinite(tests.p)
    se = np.where(testable, tests.se, 1.0)
    dof = max(1, tests.dof)
    lower = sps.t.sf((tests.mean + margin) / se, dof)   # H0: difference <= -margin
    upper = sps.t.cdf((tests.mean - margin) / se, dof)  # H0: difference >= +margin
    return np.where(testable, np.maximum(lower, upper), np.nan)


def equivalent_pairs(tests, p_tost_adjusted, alpha, margin):
    """Which pairs are shown equivalent within ``margin``: their Holm-adjusted TOST p-value is below ``alpha``.

    An untested pair (a constant difference without test rows to floor its variance) is never
    equivalent: no spread is no evidence.

    Returns
    -------
    numpy.ndarray of bool
        All False without a margin (None or 0).
    """
    if not margin:
        return np.zeros(tests.mean.shape, dtype=bool)
    return np.nan_to_num(p_tost_adjusted, nan=1.0) < alpha


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


# ---------------------------------------------------------------------------------------
# Scalar helpers (one candidate or one pair, NaN-tolerant)
# ---------------------------------------------------------------------------------------


