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
Candidates are compared pairwise with this corrected, paired t-test, the p-values are
Holm-adjusted for the number of comparisons, and a Friedman test (splits as blocks) asks
whether the candidates differ at all.
"""
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

REQUIRED_COLUMNS = ("label", "split", "n_train", "n_test")
SUMMARY_COLUMNS = ["label", "mean", "std", "ci_low", "ci_high", "n_splits",
                   "p_vs_best", "p_holm", "tied_with_best", "rank"]

# Relative tolerance under which a set of differences counts as constant (zero variance).
_CONSTANT_RTOL = 1e-12


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
    half = float(sps.t.ppf(0.5 + level / 2, v.size - 1)) * math.sqrt(nadeau_bengio_variance(v, ntr, nte))
    return mean, mean - half, mean + half


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
        ``mean(a - b) / sqrt(corrected variance)``; 0 when the scores are identical,
        +-inf when they differ by the same non-zero amount on every split, NaN when fewer
        than 2 complete pairs.
    p : float
        Two-sided p-value from Student's t with J-1 degrees of freedom (1 for identical
        scores, 0 for a constant non-zero difference, NaN when untestable).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {a.size} and {b.size}")
    d = a - b
    v, ntr, nte = _finite(d, n_train, n_test)
    if v.size < 2:
        return math.nan, math.nan
    mean = float(np.mean(v))
    if _is_constant(v):
        if abs(mean) <= _CONSTANT_RTOL:
            return 0.0, 1.0
        return math.copysign(math.inf, mean), 0.0
    t = mean / math.sqrt(nadeau_bengio_variance(v, ntr, nte))
    p = float(2.0 * sps.t.sf(abs(t), v.size - 1))
    return float(t), min(1.0, p)


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values.

    Sorted ascending, the i-th smallest of m p-values (i = 0..m-1) is multiplied by
    ``m - i``; a running maximum keeps the adjusted values in the same order, and they
    are capped at 1.

    Parameters
    ----------
    pvalues : array-like of float
        Raw p-values. NaN entries are passed through and do not count towards m.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    idx = np.flatnonzero(np.isfinite(flat))
    m = idx.size
    if m:
        order = idx[np.argsort(flat[idx], kind="stable")]
        adjusted = np.maximum.accumulate(flat[order] * np.arange(m, 0, -1))
        out_flat = out.ravel()
        out_flat[order] = np.minimum(adjusted, 1.0)
        out = out_flat.reshape(p.shape)
    return out


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


def friedman(folds, metric):
    """Friedman test: do the candidates differ at all? Splits are the blocks.

    Candidates without any score are left out; then only splits where every remaining
    candidate has a score (complete blocks) are used.

    Parameters
    ----------
    folds : pandas.DataFrame
        Long fold table (``label``, ``split``, ``n_train``, ``n_test`` and ``metric``).
    metric : str
        The score column.

    Returns
    -------
    statistic, p : float
        From `scipy.stats.friedmanchisquare`; NaN when fewer than 3 candidates or fewer
        than 2 complete blocks; (0, 1) when every block is a complete tie.
    """
    scores, _ = _score_table(folds, metric)
    scores = scores.dropna(axis=1, how="all").dropna(axis=0, how="any")
    if scores.shape[1] < 3 or scores.shape[0] < 2:
        return math.nan, math.nan
    values = scores.to_numpy()
    if np.all(values == values[:, :1]):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.friedmanchisquare(*values.T)
    return float(res.statistic), float(res.pvalue)


def summarize(folds, metric="test_accuracy", higher_is_better=True, alpha=0.05):
    """One row per candidate: mean, corrected CI, and the test against the best candidate.

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
        ``n_splits`` (splits with a score), ``p_vs_best`` (corrected paired t-test against
        the best candidate; NaN for the best), ``p_holm`` (Holm-adjusted over the other
        candidates), ``tied_with_best`` (True for the best and for candidates with
        ``p_holm >= alpha``) and ``rank`` (1 = best). Candidates without scores (failed
        fits) come last, with NaN statistics and ``tied_with_best`` False. ``attrs``
        records ``metric``, ``higher_is_better``, ``alpha`` and ``ci_level``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    scores, sizes = _score_table(folds, metric)
    ntr, nte = sizes["n_train"].to_numpy(), sizes["n_test"].to_numpy()

    rows = []
    for label in scores.columns:
        col = scores[label].to_numpy()
        ok = np.isfinite(col)
        mean, low, high = confidence_interval(col, ntr, nte, level=1 - alpha)
        std = float(np.std(col[ok], ddof=1)) if ok.sum() >= 2 else math.nan
        rows.append({"label": str(label), "mean": mean, "std": std, "ci_low": low, "ci_high": high,
                     "n_splits": int(ok.sum())})
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:6])
    out["_key"] = -out["mean"] if higher_is_better else out["mean"]
    out = out.sort_values(["_key", "label"], na_position="last", kind="stable").drop(columns="_key")
    out = out.reset_index(drop=True)

    out["p_vs_best"] = math.nan
    if len(out) and np.isfinite(out.loc[0, "mean"]):
        best = out.loc[0, "label"]
        for i in range(1, len(out)):
            if np.isfinite(out.loc[i, "mean"]):
                _, p = corrected_ttest(scores[out.loc[i, "label"]], scores[best], ntr, nte)
                out.loc[i, "p_vs_best"] = p
    out["p_holm"] = holm(out["p_vs_best"].to_numpy())
    tied = out["p_holm"].to_numpy() >= alpha
    if len(out):
        tied[0] = bool(np.isfinite(out.loc[0, "mean"]))
    out["tied_with_best"] = tied.astype(bool)
    out["rank"] = np.arange(1, len(out) + 1)
    out["n_splits"] = out["n_splits"].astype(int)
    out.attrs.update(metric=metric, higher_is_better=bool(higher_is_better), alpha=float(alpha),
                     ci_level=1 - float(alpha))
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


def _direction(summary):
    """Whether higher scores are better, from ``summary.attrs`` or from the ranking itself."""
    if "higher_is_better" in summary.attrs:
        return bool(summary.attrs["higher_is_better"])
    means = summary.sort_values("rank")["mean"].dropna()
    return not (len(means) > 1 and means.iloc[0] < means.iloc[-1])


def verdict(summary, friedman_result, metric, alpha=0.05):
    """Plain-English sentences about a `summarize` table and a `friedman` result.

    States the best candidate with its confidence interval, then for every other
    candidate whether it is significantly worse (Holm-adjusted corrected t-test) or not
    separated from the best, and finally the Friedman result. A difference is only called
    significant when its adjusted p-value is below ``alpha``.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `summarize`.
    friedman_result : tuple of float
        ``(statistic, p)`` from `friedman`.
    metric : str
        Name of the score, used in the sentences.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    list of str
    """
    summary = summary.sort_values("rank").reset_index(drop=True)
    if summary.empty:
        return ["There are no candidates to compare."]
    level = summary.attrs.get("ci_level", 1 - alpha)
    best = summary.iloc[0]
    if not np.isfinite(best["mean"]):
        return [f"No candidate produced a finite {metric}; nothing can be compared."]
    scored = summary["mean"].notna().sum()
    if scored < 2:
        word = "the only"
    else:
        word = "the highest" if _direction(summary) else "the lowest"
    if np.isfinite(best["ci_low"]):
        ci = f"{level * 100:g}% CI {_fmt_range(best['ci_low'], best['ci_high'])}"
    else:
        ci = "a single split, so no confidence interval"
    if scored < 2:
        lines = [f"{best['label']} has {word} mean {metric} ({best['mean']:.4f}, {ci}); "
                 f"there is nothing to compare it with."]
    else:
        lines = [f"{best['label']} has {word} mean {metric} ({best['mean']:.4f}, {ci})."]

    for _, row in summary.iloc[1:].iterrows():
        name, p = row["label"], row["p_holm"]
        if not np.isfinite(row["mean"]):
            lines.append(f"{name} has no {metric} scores (failed fits) and is not compared.")
        elif not np.isfinite(p):
            lines.append(f"{name} could not be tested against {best['label']} "
                         f"(fewer than 2 splits scored by both).")
        elif p < alpha:
            lines.append(f"{name} is significantly worse than {best['label']} "
                         f"(corrected t-test, {_fmt_p(p, alpha, 'Holm-adjusted p')}).")
        else:
            lines.append(f"{name} is not significantly different from {best['label']} "
                         f"({_fmt_p(p, alpha, 'Holm-adjusted p')}): the data do not separate them.")

    stat, p = friedman_result
    any_pair = bool((summary["p_holm"].to_numpy(dtype=float) < alpha).any())
    friedman = (f"Friedman test (splits as blocks, not corrected for their overlapping training sets): "
                f"chi-square = {stat:.2f}, {_fmt_p(p, alpha)}")
    if not (np.isfinite(stat) and np.isfinite(p)):
        lines.append("The Friedman test was not run (it needs at least 3 candidates "
                     "and 2 splits scored by all of them).")
    elif p < alpha and any_pair:
        lines.append(f"{friedman}; the candidates do not all perform alike.")
    elif p < alpha:
        lines.append(f"{friedman}; the candidates do not all perform alike, but no candidate is "
                     f"significantly worse than {best['label']} after the Holm adjustment.")
    elif any_pair:
        lines.append(f"{friedman}; not significant at {alpha:g}. It only uses each split's ranking and is "
                     f"less sensitive than the pairwise tests above, so it does not overrule them.")
    else:
        lines.append(f"{friedman}; not significant at {alpha:g}: neither it nor the pairwise tests "
                     f"separate the candidates.")
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


def ordering_verdict(summary, claimed_order, folds, metric, alpha=0.05):
    """Test a claimed ranking such as ``["selu", "elu", "relu"]`` pair by adjacent pair.

    Each adjacent pair ``a > b`` ("a is better than b") gets a corrected paired t-test;
    p-values are Holm-adjusted over the adjacent pairs. A pair *holds* when the adjusted
    p-value is below ``alpha`` and ``a`` is better, is *reversed* when it is below
    ``alpha`` and ``b`` is better, and is *unresolved* otherwise.

    A claimed name matches a label exactly or by the label's name before ``(`` (so
    ``"leaky_relu"`` matches ``"leaky_relu(negative_slope=0.1)"``), case-insensitively;
    when several labels match, the best-ranked scored one is used.

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
        One line, e.g. ``"claim SELU > ELU > RELU: 1 of 2 adjacent orderings hold
        significantly (elu > relu); 0 reversed; 1 unresolved (selu vs elu)"``.
    pairs : list of dict
        One per adjacent pair: ``better``, ``worse`` (claimed names), ``better_label``,
        ``worse_label`` (matched labels or None), ``mean_diff`` (mean of better - worse over
        shared splits, in metric units), ``t``, ``p``, ``p_holm`` and ``status``
        (``"holds"``, ``"reversed"``, ``"unresolved"`` or ``"missing"`` when a name
        matches no candidate).
    """
    names = [str(n) for n in claimed_order]
    claim = "claim " + " > ".join(n.upper() for n in names)
    if len(names) < 2:
        return f"{claim}: nothing to test (a ranking needs at least 2 names)", []
    higher = _direction(summary)
    scores, sizes = _score_table(folds, metric)
    ranked = summary.sort_values("rank")
    scored = ranked["mean"].notna()
    labels = list(ranked.loc[scored, "label"]) + list(ranked.loc[~scored, "label"])
    labels += [c for c in scores.columns if c not in labels]
    ntr, nte = sizes["n_train"].to_numpy(), sizes["n_test"].to_numpy()

    pairs = []
    for a, b in zip(names[:-1], names[1:]):
        la, lb = _match_label(a, labels), _match_label(b, labels)
        entry = {"better": a, "worse": b, "better_label": la, "worse_label": lb,
                 "mean_diff": math.nan, "t": math.nan, "p": math.nan}
        if la is not None and lb is not None and la in scores and lb in scores:
            d = scores[la].to_numpy() - scores[lb].to_numpy()
            if np.isfinite(d).any():
                entry["mean_diff"] = float(np.nanmean(d))
            entry["t"], entry["p"] = corrected_ttest(scores[la], scores[lb], ntr, nte)
        pairs.append(entry)

    adjusted = holm([e["p"] for e in pairs])
    for entry, p in zip(pairs, adjusted):
        entry["p_holm"] = float(p)
        if entry["better_label"] is None or entry["worse_label"] is None:
            entry["status"] = "missing"
        elif np.isfinite(p) and p < alpha and entry["mean_diff"] != 0:
            a_better = (entry["mean_diff"] > 0) == higher
            entry["status"] = "holds" if a_better else "reversed"
        else:
            entry["status"] = "unresolved"

    def listed(status, fmt):
        chosen = [fmt(e) for e in pairs if e["status"] == status]
        return len(chosen), (f" ({', '.join(chosen)})" if chosen else "")

    n_hold, hold_txt = listed("holds", lambda e: f"{e['better']} > {e['worse']}")
    n_rev, rev_txt = listed("reversed", lambda e: f"{e['worse']} > {e['better']}")
    n_open, open_txt = listed("unresolved", lambda e: f"{e['better']} vs {e['worse']}")
    n_miss, _ = listed("missing", str)
    text = (f"{claim}: {n_hold} of {len(pairs)} adjacent orderings hold significantly{hold_txt}; "
            f"{n_rev} reversed{rev_txt}; {n_open} unresolved{open_txt}")
    if n_miss:
        absent = sorted({e[k] for e in pairs for k in ("better", "worse")
                         if e[k + "_label"] is None})
        text += f"; {n_miss} not testable (no candidate named {', '.join(absent)})"
    return text, pairs
