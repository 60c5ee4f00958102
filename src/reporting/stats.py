"""Are the differences between candidates real? Statistics on cross-validated fold scores.

The input is a long table of fold scores, one row per candidate x split, with columns
``label`` (the candidate's readable name), ``split`` (0..J-1; the same index is the same
train/test partition for every candidate, so splits are paired blocks), a score column
(e.g. ``test_accuracy``), ``n_train`` and ``n_test``. J = folds x repeats.

Scores from different splits of the same data are not independent: the training sets
overlap, so the plain variance of the fold scores underestimates the variance of their mean
and a naive t-test finds "significant" differences far too often. The Nadeau-Bengio
correction inflates the variance of the mean from ``s2 / J`` to ``(1/J + n_test/n_train) * s2``
(Nadeau & Bengio, "Inference for the Generalization Error", Machine Learning 52, 2003).

Every pair of candidates gets this corrected, paired t-test, and the p-values are
Holm-adjusted over all k(k-1)/2 pairs, which keeps the chance of calling any difference
real when none is at or below ``alpha`` whichever candidate the data rank first (the
simulations of `src.calibrate` check this). A candidate is *separated* from the best when
its pair's adjusted p-value is below ``alpha``; otherwise it is *not separated*, which says
that the data cannot tell them apart, not that they are equal. Rank tests across the splits
of one data set (Friedman) are not used: the splits share training rows, so their blocks
are not independent and such a test rejects far too often.
"""
import math

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

REQUIRED_COLUMNS = ("label", "split", "n_train", "n_test")
SUMMARY_COLUMNS = ["label", "mean", "std", "ci_low", "ci_high", "n_splits", "diff_to_best", "diff_low",
                   "diff_high", "p_vs_best", "p_holm", "separated_from_best", "rank", "note"]

# Relative tolerance under which a set of differences counts as constant (zero variance).
_CONSTANT_RTOL = 1e-12
# Fewer splits than this and the t-test has so few degrees of freedom that only huge
# differences can be separated; the verdict then always says so.
MIN_SPLITS = 5
# The difference (in the metric's units: one accuracy point) that a comparison should be
# able to detect with probability POWER; a larger minimal detectable difference is reported.
DETECTABLE = 0.01
POWER = 0.8
# The most repeats the verdict suggests before saying that more repeats will not help.
MAX_REPEATS = 20


# ---------------------------------------------------------------------------------------
# The corrected resampled t-test
# ---------------------------------------------------------------------------------------

def _finite(values, n_train, n_test):
    """Return ``values``, ``n_train`` and ``n_test`` as float arrays, restricted to finite values."""
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
    return v, ntr, nte


def _is_constant(v):
    """Whether the finite array ``v`` is constant up to floating-point noise."""
    scale = max(1.0, float(np.max(np.abs(v))))
    return float(np.max(v) - np.min(v)) <= _CONSTANT_RTOL * scale


def nadeau_bengio_variance(values, n_train, n_test):
    """Corrected variance of the mean of J resampled scores (or score differences).

    The ordinary estimate ``s2 / J`` assumes independent scores; splits of one data set
    share training samples, so the Nadeau-Bengio correction uses
    ``(1/J + n_test/n_train) * s2`` instead, where ``s2`` is the sample variance (ddof=1).

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
        The corrected variance of the mean; NaN when fewer than 2 finite values.
    """
    v, ntr, nte = _finite(values, n_train, n_test)
    j = v.size
    if j < 2:
        return math.nan
    ratio = float(np.mean(nte / ntr))
    return (1.0 / j + ratio) * float(np.var(v, ddof=1))


def _t_interval(mean, variance, dof, level):
    """``scipy.stats.t.interval`` around ``mean`` with the standard error ``sqrt(variance)``."""
    low, high = sps.t.interval(level, dof, loc=mean, scale=math.sqrt(variance))
    return float(low), float(high)


def confidence_interval(values, n_train, n_test, level=0.95):
    """Mean and confidence interval of resampled scores with the corrected variance.

    Parameters
    ----------
    values : array-like of float
        The J scores, one per split. NaN entries are ignored.
    n_train : int or array-like of int
        Training-set size; one number, or one per value.
    n_test : int or array-like of int
        Held-out size; one number, or one per value.
    level : float, default 0.95
        Coverage of the interval.

    Returns
    -------
    mean : float
        Mean of the finite values (NaN when there are none).
    low, high : float
        Interval bounds from Student's t with J-1 degrees of freedom and the
        Nadeau-Bengio variance; NaN when fewer than 2 finite values, equal to the mean
        when the values are constant.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    v, ntr, nte = _finite(values, n_train, n_test)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(v))
    if v.size < 2:
        return mean, math.nan, math.nan
    if _is_constant(v):
        return mean, mean, mean
    return (mean, *_t_interval(mean, nadeau_bengio_variance(v, ntr, nte), v.size - 1, level))


def corrected_ttest(a, b, n_train, n_test):
    """Paired corrected resampled t-test of ``a - b`` (two-sided).

    Parameters
    ----------
    a, b : array-like of float
        Scores of two candidates on the same J splits, in the same order. Pairs where
        either score is NaN are left out.
    n_train : int or array-like of int
        Training-set size; one number, or one per split.
    n_test : int or array-like of int
        Held-out size; one number, or one per split.

    Returns
    -------
    t : float
        ``mean(a - b) / sqrt(corrected variance)``.
    p : float
        Two-sided p-value from Student's t with J-1 degrees of freedom. Both are NaN
        (untestable) when fewer than 2 complete pairs, or when the difference is the same
        on every split: with no variation the statistic is undefined (x / 0), and calling
        a constant difference on 3 splits "p = 0" would claim certainty from nothing.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    v, ntr, nte = _finite(a - b, n_train, n_test)
    if v.size < 2 or _is_constant(v):
        return math.nan, math.nan
    t = float(np.mean(v)) / math.sqrt(nadeau_bengio_variance(v, ntr, nte))
    p = float(2.0 * sps.t.sf(abs(t), v.size - 1))
    return float(t), min(1.0, p)


def difference_interval(a, b, n_train, n_test, level=0.95):
    """Mean of ``a - b`` over the splits with its corrected confidence interval.

    The interval is ``mean(d) +- t(J-1) * sqrt((1/J + n_test/n_train) * s_d^2)``, from
    `scipy.stats.t.interval`. It is one pair's interval, not adjusted for the number of
    pairs compared.

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
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    v, ntr, nte = _finite(a - b, n_train, n_test)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(v))
    if v.size < 2 or _is_constant(v):
        return mean, math.nan, math.nan
    return (mean, *_t_interval(mean, nadeau_bengio_variance(v, ntr, nte), v.size - 1, level))


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values (`statsmodels.stats.multitest.multipletests`).

    Parameters
    ----------
    pvalues : array-like of float
        Raw p-values. NaN entries (untestable pairs) are passed through and do not count
        towards the number of tests.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order and shape.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


# ---------------------------------------------------------------------------------------
# Decisions on score matrices (shared by the tables and the calibration simulations)
# ---------------------------------------------------------------------------------------

def pair_index(k):
    """The pairs ``(i, j)``, ``i < j``, of ``k`` candidates, in a fixed order.

    Returns
    -------
    first, second : numpy.ndarray of int
        Each of length ``k * (k - 1) / 2``.
    """
    return np.triu_indices(k, 1)


def pairwise_tests(scores, ratio):
    """Corrected paired t-tests of every pair of candidates, vectorized.

    Parameters
    ----------
    scores : array-like of float, shape (..., k, J)
        Complete scores (no NaN) of k candidates on the same J splits; leading axes are
        independent problems (e.g. simulated data sets).
    ratio : float
        Mean ``n_test / n_train`` of the splits.

    Returns
    -------
    mean, se, t, p : numpy.ndarray, shape (..., k * (k - 1) / 2)
        For each pair ``(i, j)`` of `pair_index`: the mean of ``scores[i] - scores[j]``, its
        corrected standard error, the t statistic and the two-sided p-value (J-1 degrees
        of freedom). ``t`` and ``p`` are NaN where the difference is constant or J < 2.
    """
    scores = np.asarray(scores, dtype=float)
    first, second = pair_index(scores.shape[-2])
    d = scores[..., first, :] - scores[..., second, :]
    j = d.shape[-1]
    mean = d.mean(axis=-1)
    if j < 2:
        nan = np.full(mean.shape, np.nan)
        return mean, nan, nan, nan
    spread = d.max(axis=-1) - d.min(axis=-1)
    scale = np.maximum(1.0, np.abs(d).max(axis=-1))
    testable = spread > _CONSTANT_RTOL * scale
    se = np.sqrt((1.0 / j + ratio) * d.var(axis=-1, ddof=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(testable, mean / np.where(testable, se, 1.0), np.nan)
    p = np.minimum(1.0, 2.0 * sps.t.sf(np.abs(t), j - 1))
    return mean, se, t, p


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
    lookup = np.full((k, k), 0, dtype=int)
    first, second = pair_index(k)
    lookup[first, second] = lookup[second, first] = np.arange(first.size)
    which = lookup[best[..., None], np.arange(k)]
    separated = np.take_along_axis(p_adjusted, which, axis=-1) < alpha
    return best, separated & (np.arange(k) != best[..., None])


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
    holds, reversed : numpy.ndarray of bool, same shape
        Separated in the claimed direction, or in the opposite one.
    established : numpy.ndarray of bool, shape (...)
        Every adjacent pair holds.
    contradicted : numpy.ndarray of bool, shape (...)
        Some pair is reversed.
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
    return holds, reversed_, holds[..., adjacent].all(axis=-1), reversed_.any(axis=-1)


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
    if n_splits < 2:
        return np.full(np.shape(se), np.nan) if np.ndim(se) else math.nan
    dof = n_splits - 1
    factor = sps.t.ppf(1 - alpha / (2 * max(1, n_pairs)), dof) + sps.t.ppf(power, dof)
    return factor * np.asarray(se, dtype=float) if np.ndim(se) else float(factor * se)


# ---------------------------------------------------------------------------------------
# Fold tables
# ---------------------------------------------------------------------------------------

def _check_folds(folds, metric):
    """Raise a clear ValueError when ``folds`` lacks a needed column or repeats a row."""
    missing = [c for c in (*REQUIRED_COLUMNS, metric) if c not in folds.columns]
    if missing:
        raise ValueError(f"fold table lacks column(s) {', '.join(map(repr, missing))}; "
                         f"it has {', '.join(map(str, folds.columns))}")
    if folds.duplicated(["label", "split"]).any():
        dup = folds.loc[folds.duplicated(["label", "split"]), ["label", "split"]].iloc[0]
        raise ValueError(f"fold table has more than one row for label {dup['label']!r}, "
                         f"split {dup['split']}")


def _score_table(folds, metric):
    """Return (scores: split x label, sizes: split -> n_train, n_test) from the long table."""
    _check_folds(folds, metric)
    folds = folds.assign(label=folds["label"].astype(str))
    scores = folds.pivot(index="split", columns="label", values=metric).astype(float).sort_index()
    sizes = folds.groupby("split")[["n_train", "n_test"]]
    if (sizes.nunique() > 1).any().any():
        raise ValueError("n_train/n_test differ between candidates on the same split; "
                         "the same split index must be the same partition for every candidate")
    sizes = sizes.first().reindex(scores.index).astype(float)
    return scores, sizes


def compared_scores(scores):
    """Split a split x label score table into the compared candidates and the left-out ones.

    A candidate without a score on every split that any candidate finished is left out
    (a failed or diverged fit), so that every compared candidate is ranked and tested on
    the same splits.

    Parameters
    ----------
    scores : pandas.DataFrame
        Splits as rows, labels as columns, NaN for a split a candidate did not finish.

    Returns
    -------
    kept : pandas.DataFrame
        The complete columns, on the splits that any candidate finished.
    reasons : dict
        Left-out label -> why, in words.
    """
    scored = scores.dropna(axis=0, how="all")
    counts = scored.notna().sum()
    complete = counts == len(scored)
    reasons = {}
    for label in scores.columns[~complete.to_numpy()]:
        if counts[label] == 0:
            reasons[label] = "no score (failed fits)"
        else:
            reasons[label] = (f"scored only {counts[label]} of {len(scored)} splits (failed or diverged fits); "
                              f"left out so that every compared candidate has the same splits")
    return scored.loc[:, complete.to_numpy()], reasons


def summarize(folds, metric="test_accuracy", higher_is_better=True, alpha=0.05):
    """One row per candidate: mean, corrected CI, and its difference to the best candidate.

    Every pair of compared candidates gets the corrected paired t-test; the p-values are
    Holm-adjusted over all k(k-1)/2 pairs.

    Parameters
    ----------
    folds : pandas.DataFrame
        Long fold table: ``label``, ``split``, ``n_train``, ``n_test`` and ``metric``.
    metric : str, default "test_accuracy"
        The score column.
    higher_is_better : bool, default True
        False for losses and errors.
    alpha : float, default 0.05
        Significance level; the confidence intervals cover ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        Sorted best first, columns ``label``, ``mean``, ``std`` (sample standard
        deviation of the fold scores), ``ci_low``, ``ci_high`` (corrected interval),
        ``n_splits`` (splits with a score), ``diff_to_best`` (mean of candidate minus best
        over the splits), ``diff_low``, ``diff_high`` (its corrected interval, one pair's,
        not adjusted for multiplicity; NaN when the difference is constant), ``p_vs_best``
        (corrected paired t-test against the best; NaN for the best and when untestable),
        ``p_holm`` (that pair's p-value, Holm-adjusted over all pairs),
        ``separated_from_best`` (``p_holm < alpha``), ``rank`` (1 = best) and ``note``
        (why a candidate is untestable or left out). Candidates without a score on every
        split (failed or diverged fits) come last, with NaN statistics and a note.
        ``attrs`` records ``metric``, ``higher_is_better``, ``alpha``, ``ci_level``,
        ``n_splits`` (J), ``ratio`` (mean n_test/n_train), ``n_pairs``, ``pairs`` (one
        JSON-ready dict per pair: ``a``, ``b``, ``diff`` (a - b), ``diff_low``,
        ``diff_high``, ``t``, ``p``, ``p_holm``, ``separated``) and ``detectable`` (the
        median over the candidates of the difference to the best that would be detected
        with probability `POWER`; NaN when it cannot be estimated).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    scores, sizes = _score_table(folds, metric)
    kept, reasons = compared_scores(scores)
    sizes = sizes.reindex(kept.index)
    ratio = float(np.mean(sizes["n_test"] / sizes["n_train"])) if len(kept) else math.nan
    ntr, nte = sizes["n_train"].to_numpy(), sizes["n_test"].to_numpy()
    j = len(kept)
    level = 1 - float(alpha)

    rows = []
    for label in scores.columns:
        col = kept[label].to_numpy() if label in kept else np.array([])
        mean, low, high = confidence_interval(col, ntr, nte, level=level) if col.size else (math.nan,) * 3
        std = float(np.std(col, ddof=1)) if col.size >= 2 else math.nan
        n = int(np.isfinite(scores[label].to_numpy()).sum())
        rows.append({"label": str(label), "mean": mean, "std": std, "ci_low": low, "ci_high": high,
                     "n_splits": n, "note": reasons.get(label, "")})
    out = pd.DataFrame(rows, columns=["label", "mean", "std", "ci_low", "ci_high", "n_splits", "note"])
    out["_key"] = -out["mean"] if higher_is_better else out["mean"]
    out = out.sort_values(["_key", "label"], na_position="last", kind="stable").drop(columns="_key")
    out = out.reset_index(drop=True)
    for column in ("diff_to_best", "diff_low", "diff_high", "p_vs_best", "p_holm"):
        out[column] = math.nan
    out["separated_from_best"] = False

    compared = [label for label in out["label"] if label in kept.columns]
    pairs, detectable = [], math.nan
    if len(compared) >= 2 and j >= 1:
        matrix = kept[compared].to_numpy().T  # (k, J), best first
        mean, se, t, p = pairwise_tests(matrix, ratio)
        p_adj = holm(p)
        best, separated = worse_than_best(out.loc[:len(compared) - 1, "mean"].to_numpy(), p_adj, alpha,
                                          higher_is_better)
        first, second = pair_index(len(compared))
        for i, (a, b) in enumerate(zip(first, second)):
            d, low, high = difference_interval(matrix[a], matrix[b], ntr, nte, level)
            pairs.append({"a": compared[a], "b": compared[b], "diff": d, "diff_low": low, "diff_high": high,
                          "t": float(t[i]), "p": float(p[i]), "p_holm": float(p_adj[i]),
                          "separated": bool(p_adj[i] < alpha)})
        for row in range(1, len(compared)):  # pair (0, row) is (best, candidate): flip to candidate - best
            pair = pairs[row - 1]
            out.loc[row, ["diff_to_best", "diff_low", "diff_high"]] = [-pair["diff"], -pair["diff_high"],
                                                                        -pair["diff_low"]]
            out.loc[row, ["p_vs_best", "p_holm"]] = [pair["p"], pair["p_holm"]]
            out.loc[row, "separated_from_best"] = bool(separated[row])
            if j >= 2 and not np.isfinite(pair["p"]):
                out.loc[row, "note"] = "the difference is the same on every split: untestable"
        if j >= 2:
            detectable = float(np.nanmedian(detectable_difference(se[: len(compared) - 1], j, len(pairs), alpha)))
    if compared:
        out.loc[0, "diff_to_best"] = 0.0
    out["rank"] = np.arange(1, len(out) + 1)
    out["n_splits"] = out["n_splits"].astype(int)
    out["separated_from_best"] = out["separated_from_best"].astype(bool)
    out = out[SUMMARY_COLUMNS]
    out.attrs.update(metric=metric, higher_is_better=bool(higher_is_better), alpha=float(alpha),
                     ci_level=level, n_splits=j, ratio=ratio, n_pairs=len(pairs), pairs=pairs,
                     detectable=detectable)
    return out


# ---------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------

def p_text(p, alpha=0.05):
    """A p-value as text: ``0.412``, ``0.0496`` or ``<0.001``; empty when there is none.

    Rounding never moves a p-value across ``alpha``: digits are added until the rounded value
    lies on the same side of it as ``p``.

    Parameters
    ----------
    p : float
    alpha : float (default=0.05)

    Returns
    -------
    str
    """
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001 and alpha >= 0.001:
        return "<0.001"
    for digits in range(3, 12):
        text = f"{p:.{digits}f}"
        if (float(text) < alpha) == (p < alpha):
            return text
    return repr(float(p))


def _fmt_p(p, alpha, name="p"):
    """``p = 0.412`` or ``p < 0.001`` (see `p_text`)."""
    text = p_text(p, alpha)
    if not text:
        return f"{name} n/a"
    return f"{name} < 0.001" if text == "<0.001" else f"{name} = {text}"


def _fmt_range(low, high):
    """``0.9690-0.9734``, or ``-0.20 to -0.10`` style when a bound is negative."""
    sep = " to " if min(low, high) < 0 else "-"
    return f"{low:.4f}{sep}{high:.4f}"


# How differences are written: accuracy-like scores (fractions) in percentage points.
UNITS = {True: (100.0, 2, " points"), False: (1.0, 4, "")}


def amount(value, percent=True, signed=False):
    """A difference as text: ``0.70 points`` (``+0.70`` with ``signed``), or ``0.0070``.

    Parameters
    ----------
    value : float
        In the metric's units.
    percent : bool, default True
        The metric is a fraction (accuracy): write percentage points.
    signed : bool, default False
        Always write the sign.

    Returns
    -------
    str
    """
    scale, digits, unit = UNITS[bool(percent)]
    return f"{value * scale:{'+' if signed else ''}.{digits}f}{unit}"


def _direction(summary):
    """Whether higher scores are better, from ``summary.attrs`` or from the ranking itself."""
    if "higher_is_better" in summary.attrs:
        return bool(summary.attrs["higher_is_better"])
    means = summary.sort_values("rank")["mean"].dropna()
    return not (len(means) > 1 and means.iloc[0] < means.iloc[-1])


def _candidate_line(row, best, alpha, percent, n_pairs, higher):
    """The verdict sentence of one candidate against the best."""
    name, p = row["label"], row["p_holm"]
    diff, low, high = row["diff_to_best"], row["diff_low"], row["diff_high"]
    if not np.isfinite(row["mean"]):
        reason = row.get("note") or "no score"
        return f"{name} is not compared: {reason}."
    if not np.isfinite(diff):
        return f"{name} could not be compared with {best} (fewer than 2 splits scored by both)."
    if not np.isfinite(row["p_vs_best"]):
        if abs(diff) <= _CONSTANT_RTOL:
            return f"{name} scored the same as {best} on every split: there is no difference to test."
        return (f"{name} differs from {best} by exactly {amount(diff, percent, signed=True)} on every split; "
                f"with no variation the corrected t-test is undefined, so the pair is untestable and "
                f"not called separated.")
    word = "worse" if (diff < 0) == higher else "better"
    adjusted = _fmt_p(p, alpha, "Holm-adjusted p") if n_pairs > 1 else _fmt_p(p, alpha)
    family = f" over all {n_pairs} pairs" if n_pairs > 1 else ""
    if p < alpha:
        bounds = sorted([abs(low), abs(high)])
        return (f"{name} is {word} than {best} by {amount(abs(diff), percent)} "
                f"(95% CI {amount(bounds[0], percent).split(' ')[0]} to {amount(bounds[1], percent)}; "
                f"corrected t-test, {adjusted}{family}).")
    text = (f"{name} differs from {best} by {amount(diff, percent, signed=True)} "
            f"(95% CI {amount(low, percent, signed=True).split(' ')[0]} to {amount(high, percent, signed=True)}): "
            f"not separated from {best} ({adjusted}).")
    if low > 0 or high < 0:
        text = text[:-1] + (f"; that interval alone excludes 0, but it is one pair's, and after the Holm "
                            f"adjustment over all {n_pairs} pairs the difference is not separated.")
    return text


def power_sentence(summary, alpha=0.05, folds=None, percent=True, target=DETECTABLE):
    """One sentence on what the comparison could detect, and the remedy when that is too little.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `summarize`.
    alpha : float
    folds : int, optional
        The K of K-fold; the remedy is then given as ``cv.repeats=R``.
    percent : bool, default True
        Differences in percentage points.
    target : float, default `DETECTABLE`
        The difference, in the metric's units, that the comparison should detect.

    Returns
    -------
    str
        Empty when fewer than 2 candidates are compared.
    """
    j = int(summary.attrs.get("n_splits", 0))
    n_pairs = int(summary.attrs.get("n_pairs", 0))
    detectable = summary.attrs.get("detectable", math.nan)
    ratio = summary.attrs.get("ratio", math.nan)
    if n_pairs == 0:
        return ""
    remedy = ""
    if np.isfinite(detectable) and np.isfinite(ratio):
        # The spread of the differences stays; J grows by ``folds`` per repeat.
        spread = detectable / math.sqrt(1.0 / j + ratio) / detectable_difference(1.0, j, n_pairs, alpha)
        step = folds or j
        for repeats in range(1, MAX_REPEATS + 1):
            splits = step * repeats
            if splits > j and detectable_difference(spread * math.sqrt(1.0 / splits + ratio), splits, n_pairs,
                                                    alpha) <= target:
                remedy = (f"cv.repeats={repeats} ({splits} splits)" if folds else
                          f"about {splits} splits (cv.repeats=R gives folds x R)")
                break
        else:
            remedy = (f"even cv.repeats={MAX_REPEATS} would not bring it to {amount(target, percent)}: the "
                      f"overlap of the training sets limits what more repeats can do")
    cover = (f"one of that size is found with {POWER:.0%} probability, Bonferroni over {n_pairs} "
             f"pair{'s' if n_pairs > 1 else ''}")
    if np.isfinite(detectable):
        unseen = (f"differences to the best smaller than about {amount(detectable, percent)} would usually "
                  f"go unseen ({cover})")
    else:
        unseen = "no difference can be tested"
    if j < MIN_SPLITS:
        head = (f"Only {j} split{'s' if j != 1 else ''}: the t-test has {max(j - 1, 0)} degree"
                f"{'s' if j != 2 else ''} of freedom, so {unseen}")
    elif np.isfinite(detectable) and detectable > target:
        head = f"With {j} splits, {unseen}"
    elif np.isfinite(detectable):
        return (f"With {j} splits, a difference to the best of about {amount(detectable, percent)} or more "
                f"would usually be found ({POWER:.0%} probability, Bonferroni over {n_pairs} pairs); smaller "
                f"ones may be missed.")
    else:
        return ""
    if remedy.startswith("even"):
        return f"{head}; {remedy}."
    if remedy:
        return f"{head}; to find {amount(target, percent)}, run {remedy}."
    return f"{head}; run more splits with cv.repeats=R."


def verdict(summary, metric, alpha=0.05, folds=None, percent=True):
    """Plain-English sentences about a `summarize` table.

    States the best candidate with its confidence interval; for every other candidate its
    difference to the best with the corrected 95% interval, and whether it is separated
    from the best (Holm-adjusted over all pairs) or not; whether any pair of candidates is
    separated at all; and what the comparison could detect (`power_sentence`).

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `summarize`.
    metric : str
        Name of the score, used in the sentences.
    alpha : float, default 0.05
        Significance level.
    folds : int, optional
        The K of K-fold cross-validation, for the remedy ``cv.repeats=R``.
    percent : bool, default True
        The score is a fraction; differences are written in percentage points.

    Returns
    -------
    list of str
    """
    attrs = summary.attrs
    summary = summary.sort_values("rank").reset_index(drop=True)
    summary.attrs.update(attrs)
    if summary.empty:
        return ["There are no candidates to compare."]
    level = summary.attrs.get("ci_level", 1 - alpha)
    higher = _direction(summary)
    best = summary.iloc[0]
    if not np.isfinite(best["mean"]):
        return [f"No candidate produced a finite {metric} on every split; nothing can be compared."]
    scored = int(summary["mean"].notna().sum())
    word = "the only" if scored < 2 else ("the highest" if higher else "the lowest")
    if np.isfinite(best["ci_low"]):
        ci = f"{level * 100:g}% CI {_fmt_range(best['ci_low'], best['ci_high'])}"
    else:
        ci = "a single split, so no confidence interval"
    if scored < 2:
        lines = [f"{best['label']} has {word} mean {metric} ({best['mean']:.4f}, {ci}); "
                 f"there is nothing to compare it with."]
    else:
        lines = [f"{best['label']} has {word} mean {metric} ({best['mean']:.4f}, {ci})."]
    n_pairs = int(summary.attrs.get("n_pairs", 0))
    for _, row in summary.iloc[1:].iterrows():
        lines.append(_candidate_line(row, best["label"], alpha, percent, n_pairs, higher))

    pairs = summary.attrs.get("pairs", [])
    tested = [pair for pair in pairs if np.isfinite(pair["p_holm"])]
    if len(pairs) >= 2 or (pairs and not tested):
        separated = [pair for pair in tested if pair["separated"]]
        if separated:
            lowest = min(pair["p_holm"] for pair in separated)
            lines.append(f"{len(separated)} of the {len(pairs)} pairs of candidates are separated (corrected "
                         f"t-tests, Holm over all pairs, smallest {_fmt_p(lowest, alpha, 'adjusted p')}): "
                         f"the candidates do not all perform alike.")
        elif tested:
            lines.append(f"None of the {len(pairs)} pairs of candidates is separated after the Holm adjustment: "
                         f"the data do not show that any candidate differs from another.")
        else:
            lines.append("No pair of candidates could be tested.")
    power = power_sentence(summary, alpha=alpha, folds=folds, percent=percent)
    if power:
        lines.append(power)
    return lines


def _base_name(label):
    """The activation name of a label: the part before ``(``, lower-cased."""
    return str(label).split("(", 1)[0].strip().lower()


def _match_label(name, labels):
    """The label for a claimed ``name``: an exact match, else the first with the same base name."""
    key = str(name).strip().lower()
    for label in labels:
        if str(label).strip().lower() == key:
            return label
    for label in labels:
        if _base_name(label) == _base_name(key):
            return label
    return None


CLAIM_OUTCOMES = {
    "contradicted": "some pair is separated in the opposite direction",
    "failed": "a claimed candidate failed or diverged, so the ranking cannot be checked",
    "not testable": "a claimed name matches no candidate",
    "holds": "every adjacent pair is separated in the claimed direction",
    "not established": "some adjacent pair is not separated",
}


def ordering_verdict(summary, claimed_order, folds, metric, alpha=0.05):
    """Test a claimed ranking such as ``["selu", "elu", "relu"]`` on every pair of its names.

    Every pair ``a > b`` of the claim ("a is better than b"; for n names, n(n-1)/2 pairs)
    gets a corrected paired t-test on the splits that both finished; the p-values are
    Holm-adjusted over all of them. A pair *holds* when the adjusted p-value is below
    ``alpha`` and ``a`` is better, is *reversed* when it is below ``alpha`` and ``b`` is
    better, and is *not separated* otherwise (*untestable* when its difference is the
    same on every split). The claim:

    - is *contradicted* when any pair is reversed;
    - has *failed* when a claimed candidate has no score on every split (it diverged);
    - *holds* when every adjacent pair holds;
    - is *not established* otherwise.

    A claimed name matches a label exactly or by the label's name before ``(`` (so
    ``"leaky_relu"`` matches ``"leaky_relu(negative_slope=0.1)"``), case-insensitively;
    when several labels match, the best-ranked one is used.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `summarize` (gives the direction of the metric and the ranking).
    claimed_order : sequence of str
        Candidate names, claimed best first.
    folds : pandas.DataFrame
        The long fold table the summary was made from.
    metric : str
        The score column.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    text : str
        One line: the claim, its outcome, then the pairs by status.
    pairs : list of dict
        One per pair of claimed names: ``better``, ``worse`` (claimed names),
        ``better_label``, ``worse_label`` (matched labels or None), ``adjacent``,
        ``mean_diff`` (mean of better - worse over shared splits, in metric units), ``t``,
        ``p``, ``p_holm`` and ``status`` (``"holds"``, ``"reversed"``, ``"not separated"``,
        ``"untestable"``, ``"failed"`` or ``"missing"``).
    """
    names = [str(n) for n in claimed_order]
    claim = "claim " + " > ".join(n.upper() for n in names)
    if len(names) < 2:
        return f"{claim}: nothing to test (a ranking needs at least 2 names)", []
    higher = _direction(summary)
    scores, sizes = _score_table(folds, metric)
    ranked = summary.sort_values("rank")
    labels = list(ranked["label"]) + [c for c in scores.columns if c not in set(ranked["label"])]
    matched = [_match_label(n, labels) for n in names]
    kept, reasons = compared_scores(scores[[m for m in dict.fromkeys(matched) if m in scores]])
    shared = kept.dropna(axis=0, how="any")
    sizes = sizes.reindex(shared.index)
    ratio = float(np.mean(sizes["n_test"] / sizes["n_train"])) if len(shared) else math.nan

    first, second = pair_index(len(names))
    pairs = []
    for a, b in zip(first, second):
        la, lb = matched[a], matched[b]
        entry = {"better": names[a], "worse": names[b], "better_label": la, "worse_label": lb,
                 "adjacent": bool(b == a + 1), "mean_diff": math.nan, "t": math.nan, "p": math.nan}
        if la is None or lb is None:
            entry["status"] = "missing"
        elif la not in shared or lb not in shared:
            entry["status"] = "failed"
        elif la != lb and len(shared) >= 1:
            mean, _, t, p = pairwise_tests(shared[[la, lb]].to_numpy().T, ratio)
            entry.update(mean_diff=float(mean[0]), t=float(t[0]), p=float(p[0]))
        pairs.append(entry)
    adjusted = holm([e["p"] for e in pairs])
    holds, reversed_, _, _ = claim_outcomes([e["mean_diff"] for e in pairs], adjusted, alpha, higher)
    for i, entry in enumerate(pairs):
        entry["p_holm"] = float(adjusted[i])
        if "status" in entry:
            continue
        entry["status"] = ("holds" if holds[i] else "reversed" if reversed_[i]
                           else "not separated" if np.isfinite(entry["p"]) else "untestable")

    statuses = [e["status"] for e in pairs]
    adjacent = [e["status"] for e in pairs if e["adjacent"]]
    outcome = ("contradicted" if "reversed" in statuses else "failed" if "failed" in statuses
               else "not testable" if "missing" in statuses
               else "holds" if all(s == "holds" for s in adjacent) else "not established")
    n_tested = int(np.isfinite(adjusted).sum())
    parts = []
    formats = {
        "holds": lambda e: f"{e['better']} > {e['worse']} ({_fmt_p(e['p_holm'], alpha)})",
        "reversed": lambda e: f"{e['worse']} > {e['better']} ({_fmt_p(e['p_holm'], alpha)})",
        "not separated": lambda e: f"{e['better']} vs {e['worse']}",
        "untestable": lambda e: f"{e['better']} vs {e['worse']} (the same difference on every split)",
        "failed": lambda e: f"{e['better']} vs {e['worse']}",
    }
    for status, fmt in formats.items():
        chosen = [fmt(e) for e in pairs if e["status"] == status]
        if chosen:
            parts.append(f"{status}: {', '.join(chosen)}")
    if reasons:
        parts.append("left out: " + "; ".join(f"{label} ({reasons[label]})" for label in sorted(reasons)))
    absent = sorted({e[k] for e in pairs for k in ("better", "worse") if e[k + "_label"] is None})
    if absent:
        parts.append(f"no candidate named {', '.join(absent)}")
    text = (f"{claim}: {outcome} ({CLAIM_OUTCOMES[outcome]}); {len(pairs)} pairs, corrected t-tests, "
            f"Holm over the {n_tested} testable. " + "; ".join(parts))
    return text, pairs
