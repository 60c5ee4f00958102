"""The per-candidate summary of fold scores (`src.reporting.compute.stats`).

The input is a long table of fold scores, one row per candidate x split, with columns
``label`` (the candidate's readable name), ``split`` (0..J-1; the same index is the same
train/test partition for every candidate), a score column (e.g. ``test_accuracy``),
``n_train``, ``n_test`` and, optionally, ``n_fit`` (the rows each fit trains on: ``n_train``
less the validation rows it holds out; without the column, ``n_train``). A candidate without
a score on every split is left out of the tests (a failed or diverged fit), so that every
compared candidate has the same splits.
"""
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...defaults import ALPHA
from . import floor, power, stability, stats, two_samples

REQUIRED_COLUMNS = ("label", "split", "n_train", "n_test")
SUMMARY_COLUMNS = ["label", "mean", "std", "ci_low", "ci_high", "n_splits", "diff_to_best", "diff_low",
                   "diff_high", "p_vs_best", "p_holm", "separated_from_best", "outcome", "p_tost", "p_tost_holm",
                   "margin", "bayes_worse", "bayes_equivalent", "bayes_better", "unstable", "clipped", "diff_clipped",
                   "rank", "note"]
# The columns of the equivalence test and the Bayesian view (`summarize` with a margin).
EQUIVALENCE_COLUMNS = ["outcome", "p_tost", "p_tost_holm", "margin", "bayes_worse", "bayes_equivalent", "bayes_better"]
UNTESTABLE = "the difference is the same on every split, and no test rows bound its variance: untestable"
FLOORED = "the difference is the same on every split: its interval and tests rest on its test rows' variance"
CLIPPED = "clipped to the metric's bounds (the normal approximation fails there)"


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


def score_table(folds, metric):
    """Return (scores: split x label, sizes: split -> n_train, n_test, n_fit) from the long table.

    ``n_fit`` is the folds' own column when they have one, else ``n_train``.
    """
    _check_folds(folds, metric)
    folds = folds.assign(label=folds["label"].astype(str))
    if "n_fit" not in folds:
        folds = folds.assign(n_fit=folds["n_train"])
    scores = folds.pivot(index="split", columns="label", values=metric).astype(float).sort_index()
    sizes = folds.groupby("split")[["n_train", "n_test", "n_fit"]]
    if (sizes.nunique() > 1).any().any():
        raise ValueError("n_train/n_test/n_fit differ between candidates on the same split; "
                         "the same split index must be the same partition for every candidate")
    sizes = sizes.first().reindex(scores.index).astype(float)
    return scores, sizes


def compared_scores(scores):
    """Split a split x label score table into the compared candidates and the left-out ones.

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
            reasons[label] = "no score (every fit failed or diverged)"
        else:
            reasons[label] = (f"scored only {counts[label]} of {len(scored)} splits (failed or diverged fits); "
                              f"left out so that every compared candidate has the same splits")
    return scored.loc[:, complete.to_numpy()], reasons


def nadeau_bengio_ratio(sizes):
    """The Nadeau-Bengio ratio: the mean ``n_test / n_fit`` of the splits (the rows each fit trains on)."""
    return float(np.mean(sizes["n_test"] / sizes["n_fit"])) if len(sizes) else math.nan


def _clip(low, high, bounds):
    """``low``, ``high`` clipped to ``bounds`` and whether either crossed them."""
    if bounds is None or not (np.isfinite(low) and np.isfinite(high)):
        return low, high, False
    lo, hi = bounds
    return max(low, lo), min(high, hi), bool(low < lo or high > hi)


def summarize(folds, metric="test_accuracy", higher_is_better=True, alpha=ALPHA, bounds=None, n_test=None,
              chance=None, margin=None, order=None):
    """One row per candidate: mean, corrected interval, its difference to the best, stability.

    Every pair of compared candidates gets the corrected paired t-test; the p-values are
    Holm-adjusted over all k(k-1)/2 pairs (`src.reporting.compute.stats.decide`).

    Parameters
    ----------
    folds : pandas.DataFrame
        Long fold table: ``label``, ``split``, ``n_train``, ``n_test``, ``metric`` and optionally
        ``n_fit`` (the Nadeau-Bengio ratio is ``n_test / n_fit``).
    metric : str, default "test_accuracy"
        The score column.
    higher_is_better : bool, default True
        False for losses and errors.
    alpha : float, default `src.defaults.ALPHA`
        Significance level; the intervals cover ``1 - alpha``.
    bounds : (float, float), optional
        The metric's range, e.g. ``(0, 1)`` for an accuracy: intervals are clipped to it
        (and differences to ``+-(high - low)``), and the row says so.
    n_test : int, optional
        Given, the scores are proportions over ``n_test`` test rows per split (an accuracy):
        every interval and test floors its variance by the split's test rows
        (`src.reporting.compute.floor.floored_variance`), so a difference that is the same on
        every split is tested with the uncertainty its rows leave; and a split is far from its
        candidate's others only beyond what its test rows alone would vary
        (`src.reporting.compute.stability.proportion_sd`, the floor of
        `src.reporting.compute.stability.far_splits`).
    chance : float, optional
        The score of guessing (``1 / n_classes`` for an accuracy): a candidate whose interval
        (its mean, where it has none) reaches down to it is not shown to do better, and its row says so.
    margin : float, optional
        The margin of equivalence in the metric's units (0.005: half an accuracy point): each
        candidate is then *worse*, *equivalent* to the best within ``+-margin`` (TOST, Holm over
        all pairs, `src.reporting.compute.stats.decide`) or *inconclusive*, with the Bayesian
        correlated t-test's probabilities (`src.reporting.compute.two_samples.bayes_probabilities`).
        None or 0: no equivalence (no outcomes, no TOST or Bayesian columns).
    order : sequence of str, optional
        The candidates in rank order (`src.ranking`): between equal means the first listed is the
        best; by default, label order.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first (candidates without a score on every split last), with
        the columns `SUMMARY_COLUMNS` and ``attrs`` (every pair's test in ``pairs``, the power
        figures ``detectable`` and ``reach``, the unstable and at-chance candidates); each is
        described in docs/results.md#the-summarys-columns.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    margin = float(margin) if margin else None  # 0 asks for no equivalence
    level = 1 - float(alpha)
    s = _scored(folds, metric, order, n_test, level)
    out = _candidate_rows(s, bounds, higher_is_better, margin)
    compared = [label for label in out["label"] if label in s.labels]
    pairs, detectable, reach, diff_sd, some = _versus_best(out, s, compared, alpha, higher_is_better, margin, bounds)
    if compared:
        out.loc[0, "diff_to_best"] = 0.0
    unstable, at_chance = _unstable_and_at_chance(out, s, chance, higher_is_better)
    out["rank"] = np.arange(1, len(out) + 1)
    out = out.astype({"n_splits": int, "separated_from_best": bool, "unstable": bool, "clipped": bool,
                     "diff_clipped": bool})
    out = out[SUMMARY_COLUMNS]
    out.attrs.update(metric=metric, higher_is_better=bool(higher_is_better), alpha=float(alpha), ci_level=level,
                     n_splits=s.j, ratio=s.ratio, n_pairs=len(pairs), pairs=pairs, some_pair_separated=some,
                     detectable=detectable, reach=reach, diff_sd=diff_sd, unstable=unstable,
                     margin=margin, rows=s.test_rows is not None,
                     bounds=None if bounds is None else [float(b) for b in bounds],
                     chance=None if chance is None else float(chance), at_chance=at_chance)
    return out


@dataclass
class _Scored:
    """What a summary is computed from, worked out once (`_scored`): the candidates' scores in listed order,
    those compared (scored on every split) and why the others are not, the splits' ratio and test rows, each
    compared candidate's interval and its splits far from its others."""
    scores: pd.DataFrame
    kept: pd.DataFrame
    reasons: dict
    ratio: float
    j: int
    test_rows: object
    labels: list
    matrix: np.ndarray
    found: object
    far: np.ndarray


def _scored(folds, metric, order, n_test, level):
    """`summarize`'s first step: the scores in ``order`` (equal means: the first listed best) and their intervals."""
    scores, sizes = score_table(folds, metric)
    listed = [str(c) for c in scores.columns] if order is None else [str(c) for c in order]
    listed += [str(c) for c in scores.columns if str(c) not in listed]
    scores = scores[sorted(scores.columns, key=lambda c: listed.index(str(c)))]  # equal means: the first listed
    kept, reasons = compared_scores(scores)
    sizes = sizes.reindex(kept.index)
    ratio, j = nadeau_bengio_ratio(sizes), len(kept)
    test_rows = sizes["n_test"].to_numpy(dtype=float) if n_test and j else None  # proportions: they floor the variance
    labels = [str(c) for c in kept.columns]
    matrix = kept.to_numpy().T  # (k, J)
    found = stats.mean_intervals(matrix, ratio, level, test_rows) if j else None
    floor = stability.proportion_sd(matrix, n_test) if j and n_test else 0.0
    far = stability.far_splits(matrix, floor) if j else np.zeros((len(labels), 0), bool)
    return _Scored(scores, kept, reasons, ratio, j, test_rows, labels, matrix, found, far)


def _candidate_rows(s, bounds, higher_is_better, margin):
    """A row per candidate, best mean first: its mean, interval and stability, the comparison's columns blank."""
    rows = []
    for label in s.scores.columns:
        row = {"label": str(label), "mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan,
               "n_splits": int(np.isfinite(s.scores[label].to_numpy()).sum()), "unstable": False, "clipped": False,
               "diff_clipped": False, "note": s.reasons.get(label, "")}
        if label in s.kept:
            i = s.labels.index(str(label))
            low, high, clipped = _clip(float(s.found.low[i]), float(s.found.high[i]), bounds)
            row.update(mean=float(s.found.mean[i]), std=float(np.std(s.matrix[i], ddof=1)) if s.j >= 2 else math.nan,
                       ci_low=low, ci_high=high, clipped=clipped, unstable=bool(s.far[i].any()))
        rows.append(row)
    out = pd.DataFrame(rows)
    out["_key"] = -out["mean"] if higher_is_better else out["mean"]
    out = out.sort_values("_key", na_position="last", kind="stable").drop(columns="_key")  # rows are in `listed` order
    out = out.reset_index(drop=True)
    for column in ("diff_to_best", "diff_low", "diff_high", "p_vs_best", "p_holm", "p_tost", "p_tost_holm",
                   "bayes_worse", "bayes_equivalent", "bayes_better"):
        out[column] = math.nan
    out["separated_from_best"] = False
    out["outcome"] = ""
    out["margin"] = math.nan if margin is None else float(margin)
    return out


def _versus_best(out, s, compared, alpha, higher_is_better, margin, bounds):
    """Every pair of the ``compared`` candidates tested (`src.reporting.compute.stats.decide`), each row of ``out``
    filled with its difference to the best, its tests and outcome.

    Returns
    -------
    (list of dict, float, float, float, bool)
        The pairs, the detectable difference, the equivalence reach, the difference's spread and whether some
        pair is separated.
    """
    ratio, j, test_rows, kept = s.ratio, s.j, s.test_rows, s.kept
    pairs, detectable, reach, diff_sd, some = [], math.nan, math.nan, math.nan, False
    if compared and margin is not None:
        out.loc[0, "outcome"] = "best"
    if len(compared) >= 2 and j >= 1:
        ordered = kept[compared].to_numpy().T  # (k, J), best first
        decided = stats.decide(ordered, ratio, alpha, higher_is_better, margin=margin, n_test=test_rows)
        outcome_of = stats.outcomes(decided, higher_is_better)
        tests = decided.tests
        width = None if bounds is None else (bounds[0] - bounds[1], bounds[1] - bounds[0])
        first, second = stats.pair_index(len(compared))
        for i, (a, b) in enumerate(zip(first, second)):
            low, high, _ = _clip(float(tests.low[i]), float(tests.high[i]), width)
            pairs.append({"a": compared[a], "b": compared[b], "diff": float(tests.mean[i]), "diff_low": low,
                          "diff_high": high, "t": float(tests.t[i]), "p": float(tests.p[i]),
                          "p_holm": float(decided.p_holm[i]), "separated": bool(decided.p_holm[i] < alpha),
                          "p_tost": float(decided.p_tost[i]), "p_tost_holm": float(decided.p_tost_holm[i]),
                          "equivalent": bool(decided.equivalent_pairs[i])})
        for row in range(1, len(compared)):  # pair (0, row) is (best, candidate): flip to candidate - best
            pair = pairs[row - 1]
            low, high, clipped = _clip(-float(tests.high[row - 1]), -float(tests.low[row - 1]), width)
            out.loc[row, ["diff_to_best", "diff_low", "diff_high"]] = [0.0 - pair["diff"], low, high]  # no -0.00
            out.loc[row, ["p_vs_best", "p_holm"]] = [pair["p"], pair["p_holm"]]
            out.loc[row, "separated_from_best"] = bool(decided.worse[row])
            out.loc[row, "diff_clipped"] = clipped
            if margin is not None:
                out.loc[row, ["p_tost", "p_tost_holm"]] = [pair["p_tost"], pair["p_tost_holm"]]
                out.loc[row, "outcome"] = str(outcome_of[row])
                first_, second_ = (ordered[row], ordered[0]) if higher_is_better else (ordered[0], ordered[row])
                out.loc[row, ["bayes_worse", "bayes_equivalent", "bayes_better"]] = list(
                    two_samples.bayes_probabilities(first_, second_, ratio, margin, test_rows))
            if j >= 2 and not np.isfinite(pair["p"]):
                out.loc[row, "note"] = UNTESTABLE
            elif test_rows is not None and j >= 2 and bool(floor.constant(ordered[row] - ordered[0])):
                out.loc[row, "note"] = FLOORED
        some = bool(decided.some_pair_separated)
        if j >= 2:
            # The pairs (best, candidate) that were tested, without unstable candidates unless all are.
            tested = np.isfinite(tests.p[: len(compared) - 1])
            stable = ~out.loc[1:len(compared) - 1, "unstable"].to_numpy(bool)
            tested &= stable if (tested & stable).any() else True
            if tested.any():
                se = tests.se[: len(compared) - 1][tested]
                detectable = float(np.median(power.detectable_difference(se, j, len(pairs), alpha)))
                reach = float(np.median(power.equivalence_reach(se, j, len(pairs), alpha)))
                diff_sd = float(np.median(se) / math.sqrt(1.0 / j + ratio))  # floored where the rows floor it
    return pairs, detectable, reach, diff_sd, some


def _unstable_and_at_chance(out, s, chance, higher_is_better):
    """The unstable candidates (their scores, their far splits) and those not shown above ``chance``; each row's
    note written from them."""
    unstable = {}
    for row in out.index[out["unstable"]]:
        i = s.labels.index(out.loc[row, "label"])
        unstable[out.loc[row, "label"]] = {"scores": [float(v) for v in s.matrix[i]],
                                           "far": [int(f) for f in np.flatnonzero(s.far[i])]}
    lowest = out["ci_low"].where(np.isfinite(out["ci_low"]), out["mean"])  # no interval: the mean itself
    at_chance = [] if chance is None or not higher_is_better else [
        label for label, low in zip(out["label"], lowest) if np.isfinite(low) and low <= chance * (1 + 1e-9)]
    out["note"] = [_note(row, unstable, chance if row["label"] in at_chance else None) for _, row in out.iterrows()]
    return unstable, at_chance


def split_scores_text(found, digits=4):
    """``0.9712, 0.9698, 0.0980 (split 3 far from the others)`` from ``attrs["unstable"]`` entry."""
    scores = ", ".join(f"{v:.{digits}f}" for v in found["scores"])
    far = [str(s + 1) for s in found["far"]]
    word = "split" if len(far) == 1 else "splits"
    return f"{scores} ({word} {', '.join(far)} far from the others)"


def chance_text(chance, digits=4):
    """``0.1000, one class in 10`` for an accuracy's chance level of 0.1."""
    classes = round(1 / chance) if chance > 0 else 0
    guess = f", one class in {classes}" if classes >= 2 and math.isclose(chance * classes, 1.0) else ""
    return f"{chance:.{digits}f}{guess}"


def _note(row, unstable, chance=None):
    """The row's note, with the unstable candidate's split scores, chance level and the clipping."""
    parts = [row["note"]] if row["note"] else []
    if chance is not None:
        how = "its interval reaches down to it" if np.isfinite(row["ci_low"]) else "its score is not above it"
        parts.append(f"not shown above chance ({chance_text(chance)}): {how}")
    if row["label"] in unstable:
        parts.append(f"unstable: split scores {split_scores_text(unstable[row['label']])}")
    clipped = [what for what, key in (("interval", "clipped"), ("difference's interval", "diff_clipped")) if row[key]]
    if clipped:
        parts.append(f"{' and '.join(clipped)} {CLIPPED}")
    return "; ".join(parts)
