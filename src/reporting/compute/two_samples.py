"""Two samples of split scores: the corrected variance, interval and t-test, and the Bayesian view."""
import math

import numpy as np

from .floor import constant
from .stats import corrected_se, mean_intervals, pairwise_tests

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



def bayes_probabilities(a, b, ratio, rope, n_test=None):
    """The Bayesian correlated t-test of ``a - b`` (baycomp): P(a worse), P(within ``rope``), P(a better).

    Benavoli, Corani, Demšar and Zaffalon (2017): the posterior of the mean difference is
    Student's t on J-1 degrees of freedom around the mean, with the Nadeau-Bengio variance
    (``ratio``: mean ``n_test / n_fit``; baycomp's ``CorrelatedTTest`` takes it from the
    folds of plain K-fold), floored by the test rows as the t-test's is (`floored_variance`).
    A second view beside `tost`, not a second verdict.

    Parameters
    ----------
    a, b : array-like of float
        Complete scores of two candidates on the same J splits (higher is better).
    ratio : float
    rope : float
        The region of practical equivalence, in the scores' units (the margin).
    n_test : int or array-like of int, optional
        Test rows of each split, when the scores are proportions of them.

    Returns
    -------
    (float, float, float)
        NaN when J < 2, ``rope`` is not positive, or the difference has no variance (the same on
        every split, without test rows to floor it): no spread is no evidence.
    """
    from baycomp.single import Posterior  # imported where used: only the summary needs it

    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size < 2 or not rope > 0:
        return math.nan, math.nan, math.nan
    var = float(corrected_se(d, ratio, n_test) ** 2)
    if n_test is None and bool(constant(d)):
        return math.nan, math.nan, math.nan
    worse, within, better = Posterior(float(d.mean()), var, d.size - 1, rope).probs()
    return float(worse), float(within), float(better)
