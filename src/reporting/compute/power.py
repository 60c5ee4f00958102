"""How small a difference a design can find or show equivalent, and the design that reaches a target."""
import math

import numpy as np
from scipy import stats as sps

from ...defaults import ALPHA

# The difference (in the metric's units: one accuracy point) that a comparison should be
# able to detect with probability POWER; a larger minimal detectable difference is reported.
DETECTABLE = 0.01



POWER = 0.8



# The most repeats the verdict suggests before saying that more repeats will not help.
MAX_REPEATS = 20



# The folds the verdict's remedy considers when repeats of the study's own folds cannot help.
FOLDS_TRIED = (5, 10)



def detectable_difference(se, n_splits, n_pairs, alpha=ALPHA, power=POWER):
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



def detectable_at(sd, n_splits, ratio, n_pairs, alpha=ALPHA, power=POWER):
    """`detectable_difference` at ``n_splits`` splits for differences of standard deviation ``sd``."""
    return detectable_difference(sd * math.sqrt(1.0 / n_splits + ratio), n_splits, n_pairs, alpha, power)



def repeats_needed(target, sd, n_splits, ratio, n_pairs, folds, alpha=ALPHA, most=MAX_REPEATS):
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
        Mean ``n_test / n_fit``.
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



def equivalence_reach(se, n_splits, n_pairs, alpha=ALPHA, power=POWER):
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



def reach_at(sd, n_splits, ratio, n_pairs, alpha=ALPHA, equivalence=False):
    """`detectable_at`, or with ``equivalence`` `equivalence_reach`, at ``n_splits`` splits."""
    se = sd * math.sqrt(1.0 / n_splits + ratio)
    return equivalence_reach(se, n_splits, n_pairs, alpha) if equivalence else \
        detectable_difference(se, n_splits, n_pairs, alpha)



def design_needed(target, sd, n_splits, ratio, n_pairs, folds, alpha=ALPHA, equivalence=False, most=MAX_REPEATS):
    """The design that brings the difference found (or the margin reached) down to ``target``.

    First the fewest repeats of the study's own ``folds`` (``ratio`` its ``n_test / n_fit``);
    when ``most`` repeats cannot (the ``ratio`` term of the corrected variance does not shrink
    with J), the fewest repeats of each of `FOLDS_TRIED` more folds, whose ratio is
    ``ratio * (folds - 1) / (f - 1)``: ``1 / (f - 1)`` of K-fold, over the share of its training
    rows that each fit keeps (the study's own, the same at any K). The spread ``sd`` of the
    differences is assumed to stay.

    Returns
    -------
    (int, int) or None
        ``(folds, repeats)``, or None when no design considered reaches ``target``.
    """
    for k, r in [(folds, ratio)] + [(f, ratio * (folds - 1) / (f - 1)) for f in FOLDS_TRIED if f > folds]:
        for repeats in range(1, most + 1):
            splits = k * repeats
            if splits > n_splits and reach_at(sd, splits, r, n_pairs, alpha, equivalence) <= target:
                return k, repeats
    return None
