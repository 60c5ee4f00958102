"""Does a ranking transfer from one study to another? Kendall's tau between two studies' rankings, and the best.

For every pair of studies compared (the same grid on an MLP and on a CNN, say), over the
candidates both hold:

- Kendall's tau-b between their mean accuracies (`scipy.stats.kendalltau`): 1 when both studies
  order the candidates alike, -1 when one reverses the other, near 0 when their orders are
  unrelated;
- its interval, from the bootstrap over the splits: each resample draws each study's splits with
  replacement (the same draw for both when they were trained on the same rows and splits, so that
  what the splits share is kept), takes every candidate's mean over the drawn splits and the tau
  between the two means; the interval is the ``alpha / 2`` and ``1 - alpha / 2`` quantiles of the
  resampled taus (percentile bootstrap);
- which candidates are the best or equivalent to the best (each study's own verdict at its margin,
  ``stats.margin``) in both studies, in one only, or in neither;
- a sentence: the ranking *transfers* when the interval lies above 0 and no candidate that is the
  best (or equivalent to it) in one study is worse than the best in the other; it *does not* when
  such a candidate exists (the sentence names it) or when the interval lies below 0 (the orders
  disagree); otherwise the two studies *do not show* that it transfers. With few splits the
  bootstrap has few distinct resamples (3 splits: 10), and its interval is coarse.
"""
import math

import numpy as np
from scipy import stats as sps

from ...defaults import ALPHA
from .phrases import level_text, listing

RESAMPLES = 2000  # bootstrap resamples of the splits
SEED = 0          # of the bootstrap's generator: the same studies give the same interval
TOP = ("best", "equivalent")  # a study's outcomes that count as good as its best


def tau(first, second):
    """Kendall's tau-b between two score vectors (`scipy.stats.kendalltau`); NaN when either is constant."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    keep = np.isfinite(first) & np.isfinite(second)
    if keep.sum() < 2:
        return math.nan
    return float(sps.kendalltau(first[keep], second[keep]).statistic)


def bootstrap(first, second, paired, alpha=ALPHA, resamples=RESAMPLES, seed=SEED):
    """The percentile bootstrap interval of `tau` between two studies' mean accuracies, over their splits.

    Parameters
    ----------
    first, second : pandas.DataFrame
        Each study's accuracies, one row per split and one column per candidate (the same columns).
    paired : bool
        Whether both studies trained on the same splits (row ``j`` of each is the same split): each
        resample then draws the same splits for both.
    alpha : float (default=`src.defaults.ALPHA`)
    resamples : int (default=2000)
    seed : int (default=0)

    Returns
    -------
    (float, float)
        The interval's bounds; NaN with fewer than 2 splits in a study.
    """
    a, b = first.to_numpy(dtype=float), second.to_numpy(dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    found, known = [], {}  # a resample's tau depends only on which splits it drew, how often: few splits repeat them
    for _ in range(resamples):
        rows_a = np.sort(rng.integers(0, len(a), len(a)))
        rows_b = rows_a if paired else np.sort(rng.integers(0, len(b), len(b)))
        drawn = (rows_a.tobytes(), rows_b.tobytes())
        if drawn not in known:
            known[drawn] = tau(np.nanmean(a[rows_a], axis=0), np.nanmean(b[rows_b], axis=0))
        found.append(known[drawn])
    found = np.asarray(found)
    found = found[np.isfinite(found)]
    if not len(found):
        return math.nan, math.nan
    low, high = np.quantile(found, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def top(study):
    """The candidates of ``study`` that are its best or equivalent to the best (its ``outcome``); None when its
    verdict has no outcomes (no margin, or single runs)."""
    rows = study.rows
    if "outcome" not in rows or not rows["outcome"].isin(["best"]).any():
        return None
    return set(rows.loc[rows["outcome"].isin(TOP), "label"].astype(str))


def _best(study):
    rows = study.rows.dropna(subset=["accuracy"])
    return str(rows.sort_values("accuracy", ascending=False, kind="stable")["label"].iloc[0]) if len(rows) else None


def _outcome(study, label):
    rows = study.rows.set_index("label")
    return str(rows["outcome"].get(label, "")) if "outcome" in rows else ""


def _contradiction(first, second, top_first, top_second):
    """A candidate good in one study (best or equivalent) and worse than the best in the other, as
    ``(candidate, study where it is good, its outcome there, the other study)``, or None."""
    for good, other, tops in ((first, second, top_first), (second, first, top_second)):
        order = good.rows.sort_values("accuracy", ascending=False, kind="stable")["label"].astype(str)
        for label in order:
            if label in (tops or ()) and _outcome(other, label) == "worse":
                return label, good, _outcome(good, label), other
    return None


def sentence(pair, first, second, alpha=ALPHA):
    """The transfer verdict of a pair of studies, in one sentence (see the module docstring)."""
    level = level_text(alpha)
    interval = (f"{level} CI {pair['tau_low']:.2f} to {pair['tau_high']:.2f}" if np.isfinite(pair["tau_low"])
                else "no interval: a study without splits to resample")
    value = f"{pair['tau']:.2f}" if np.isfinite(pair["tau"]) else "n/a (a study scores them all alike)"
    figures = f"Kendall's tau {value}, {interval}, over {pair['n']} activations"
    head = f"Between {first.name} and {second.name}"
    found = pair["contradiction"]
    if found is not None:
        label, good, outcome, other = found
        where = "best" if outcome == "best" else f"equivalent to {_best(good)}"
        return (f"{head} the ranking does not transfer: {label} is {where} in {good.name} but worse than "
                f"{_best(other)} in {other.name} ({figures}).")
    if pair["reversed"]:
        return (f"{head} the ranking does not transfer: the orders lean the other way, the interval lies below 0 "
                f"({figures}); {_best(first)} is best in {first.name}, {_best(second)} in {second.name}.")
    if pair["transfers"]:
        bests = _best(first), _best(second)
        differ = (f"; the best differs ({bests[0]} in {first.name}, {bests[1]} in {second.name}), neither shown "
                  f"worse than the other's" if bests[0] != bests[1] else f"; {bests[0]} is best in both")
        return f"{head} the ranking transfers ({figures}){differ}."
    return (f"{head} the studies do not show that the ranking transfers ({figures}"
            f"{': the interval includes 0' if np.isfinite(pair['tau_low']) else ''}).")


def transfer(first, second, alpha=ALPHA, resamples=RESAMPLES):
    """Whether the ranking of ``first`` transfers to ``second`` (two `src.reporting.compute.across.ComparedStudy`).

    Returns
    -------
    dict
        ``first``, ``second`` (study names), ``n`` (candidates in both), ``tau``, ``tau_low`` and
        ``tau_high`` (its bootstrap interval), ``paired`` (the same splits resampled together),
        ``both``, ``first_only``, ``second_only`` and ``neither`` (the candidates that are the best
        or equivalent to it in both studies, in one only, or in neither; None without outcomes),
        ``transfers`` (bool), ``reversed`` (the interval lies below 0), ``contradicted_by`` (the
        activation as good as the best in one study and worse in the other, or None) and ``sentence``.
    """
    labels = [str(label) for label in first.rows["label"] if label in set(second.rows["label"].astype(str))]
    score_a = first.rows.set_index("label")["accuracy"].reindex(labels)
    score_b = second.rows.set_index("label")["accuracy"].reindex(labels)
    pair = {"first": first.name, "second": second.name, "n": len(labels), "tau": tau(score_a, score_b)}
    folds_a, folds_b = first.folds, second.folds
    if folds_a is not None and folds_b is not None and set(labels) <= set(folds_a) and set(labels) <= set(folds_b):
        paired = first.splits is not None and first.splits == second.splits and len(folds_a) == len(folds_b)
        pair["tau_low"], pair["tau_high"] = bootstrap(folds_a[labels], folds_b[labels], paired, alpha, resamples)
        pair["paired"] = bool(paired)
    else:
        pair.update(tau_low=math.nan, tau_high=math.nan, paired=False)
    top_a, top_b = top(first), top(second)
    if top_a is not None and top_b is not None:
        top_a, top_b = top_a & set(labels), top_b & set(labels)
        pair.update(both=sorted(top_a & top_b, key=labels.index), first_only=sorted(top_a - top_b, key=labels.index),
                    second_only=sorted(top_b - top_a, key=labels.index),
                    neither=[label for label in labels if label not in top_a | top_b])
    else:
        pair.update(both=None, first_only=None, second_only=None, neither=None)
    pair["contradiction"] = (_contradiction(first, second, top_a, top_b) if top_a is not None and top_b is not None
                             else None)
    pair["transfers"] = bool(pair["contradiction"] is None and np.isfinite(pair["tau_low"]) and pair["tau_low"] > 0)
    pair["reversed"] = bool(pair["contradiction"] is None and np.isfinite(pair["tau_high"]) and pair["tau_high"] < 0)
    pair["sentence"] = sentence(pair, first, second, alpha)
    found = pair.pop("contradiction")
    pair["contradicted_by"] = found[0] if found else None
    return pair


def transfers(studies, alpha=ALPHA, resamples=RESAMPLES):
    """`transfer` for every pair of ``studies`` that hold two or more activations in common, in their order."""
    return [transfer(a, b, alpha, resamples) for i, a in enumerate(studies) for b in studies[i + 1:]
            if len(set(a.rows["label"].astype(str)) & set(b.rows["label"].astype(str))) >= 2]


def top_lines(pair):
    """Which candidates are as good as the best in both studies of a `transfer` pair, in one, in neither."""
    if pair["both"] is None:
        return []
    def named(items):
        return listing(items) if items else "none"
    return [f"As good as the best (best, or equivalent at the margin) in both {pair['first']} and {pair['second']}: "
            f"{named(pair['both'])}; in {pair['first']} only: {named(pair['first_only'])}; in {pair['second']} only: "
            f"{named(pair['second_only'])}; in neither: {named(pair['neither'])}."]
