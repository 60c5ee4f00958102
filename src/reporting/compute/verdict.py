"""The verdict in plain English, built from a `src.reporting.compute.summary.summarize` table.

Every number a sentence prints comes from the summary's columns and ``attrs`` (the decisions
of `src.reporting.compute.stats`); the confidence level is the summary's, ``1 - alpha``. Statistics
say *separated* or *not separated*, never "tied". With a margin of equivalence
(``attrs["margin"]``), every candidate is also worse, equivalent or inconclusive, and each
sentence about it names the margin.
"""
import numpy as np

from ...defaults import ALPHA
from . import floor
from .design import power_sentence
from .phrases import amount, fmt_p, fmt_range, level_text, listing, the_margin, within_text
from .claims import OUTCOMES
from .summary import chance_text, split_scores_text

def _clipped(row, key="diff_clipped"):
    """The clause saying that the row's interval (``key``: its difference's, or ``"clipped"``: its own) was clipped."""
    return ", clipped to the metric's bounds: the normal approximation fails here" if row.get(key, False) else ""


def _equivalence_clause(row, best, alpha, percent, n_pairs, margin):
    """The sentence that follows a tested candidate's line: equivalent within the margin, or not shown."""
    if margin is None or not np.isfinite(row.get("p_tost_holm", np.nan)):
        return ""
    test = f"TOST, {fmt_p(row['p_tost_holm'], alpha, 'Holm-adjusted p' if n_pairs > 1 else 'p')}"
    if row["p_tost_holm"] < alpha:
        if row.get("outcome") == "worse":
            return f" The difference lies within {the_margin(margin, percent)} all the same ({test})."
        return f" {row['label']} is equivalent to {best} within {within_text(margin, percent)} ({test})."
    if row.get("outcome") == "worse":
        return ""
    return f" Nor is it shown equivalent within {within_text(margin, percent)} ({test}): the data cannot tell."


def _constant_clause(row, best, percent, margin):
    """For a difference that is the same on every split with no test rows to bound its variance: no
    equivalence either (no spread is no evidence)."""
    if margin is None:
        return ""
    return f" Nor is {row['label']} shown equivalent to {best} within {within_text(margin, percent)}."


def _candidate_line(row, best, alpha, percent, n_pairs, higher, splits=2, margin=None):
    """The verdict sentence of one candidate against the best (``splits``: the splits compared)."""
    name, p = row["label"], row["p_holm"]
    diff, low, high = row["diff_to_best"], row["diff_low"], row["diff_high"]
    if not np.isfinite(row["mean"]):
        reason = row.get("note") or "no score"
        return f"{name} is not compared: {reason}."
    if not np.isfinite(diff):
        return f"{name} could not be compared with {best} (fewer than 2 splits scored by both)."
    if not np.isfinite(row["p_vs_best"]):
        if splits < 2:
            return (f"{name} differs from {best} by {amount(diff, percent, signed=True)} on the one split; a single "
                    f"split has no variation to test, so the pair is untestable and not called separated.")
        if abs(diff) <= floor.CONSTANT_RTOL:
            return (f"{name} scored the same as {best} on every split: there is no difference to test."
                    + _constant_clause(row, best, percent, margin))
        return (f"{name} differs from {best} by exactly {amount(diff, percent, signed=True)} on every split; "
                f"with no variation the corrected t-test is undefined, so the pair is untestable and "
                f"not called separated." + _constant_clause(row, best, percent, margin))
    word = "worse" if (diff < 0) == higher else "better"
    adjusted = fmt_p(p, alpha, "Holm-adjusted p") if n_pairs > 1 else fmt_p(p, alpha)
    family = f" over all {n_pairs} pairs" if n_pairs > 1 else ""
    ci = f"{level_text(alpha)} CI"
    if p < alpha:
        near, far = sorted([abs(low), abs(high)])
        return (f"{name} is {word} than {best} by {amount(abs(diff), percent)} "
                f"({ci} {amount(near, percent).split(' ')[0]} to {amount(far, percent)}{_clipped(row)}; "
                f"corrected t-test, {adjusted}{family})."
                + _equivalence_clause(row, best, alpha, percent, n_pairs, margin))
    text = (f"{name} differs from {best} by {amount(diff, percent, signed=True)} "
            f"({ci} {amount(low, percent, signed=True).split(' ')[0]} to {amount(high, percent, signed=True)}"
            f"{_clipped(row)}): not separated from {best} ({adjusted}).")
    if low > 0 or high < 0:
        text = text[:-1] + (f"; that interval alone excludes 0, but it is one pair's, and after the Holm "
                            f"adjustment over all {n_pairs} pairs the difference is not separated.")
    return text + _equivalence_clause(row, best, alpha, percent, n_pairs, margin)


def unstable_line(label, found, metric):
    """The sentence naming an unstable candidate with its split scores."""
    return (f"{label} is unstable: its {metric} on the splits was {split_scores_text(found)}, so its mean, "
            f"interval and tests describe no typical run; look at the failing split before trusting its rank.")


NAMED_PAIRS = 6  # separated pairs the omnibus sentence names (stats.json lists them all)


def outcome_sentence(summary, percent=True):
    """One sentence on every compared candidate's outcome at the margin: equivalent, worse or inconclusive.

    E.g. ``At the margin of ±0.50 points (TOST and corrected t-tests, Holm over all 3 pairs):
    relu is equivalent to leaky_relu; tanh is worse by 0.31 points; for sigmoid the data
    cannot tell (95% CI -0.90 to +0.20 points).`` Empty without a margin or a second candidate.
    """
    attrs = summary.attrs
    margin, alpha = attrs.get("margin"), attrs.get("alpha", ALPHA)
    rows = summary[summary["outcome"].isin(["worse", "equivalent", "inconclusive"])] if "outcome" in summary else []
    if margin is None or not len(rows):
        return ""
    best = summary.loc[summary["outcome"] == "best", "label"].iloc[0]
    parts = []
    equivalent = list(rows.loc[rows["outcome"] == "equivalent", "label"])
    if equivalent:
        parts.append(f"{listing(equivalent)} {'is' if len(equivalent) == 1 else 'are'} equivalent to {best}")
    worse = rows[rows["outcome"] == "worse"]
    if len(worse):
        amounts = [f"{row['label']} {'is worse ' if i == 0 else ''}by {amount(abs(row['diff_to_best']), percent)}"
                   + (" (within the margin)" if row["p_tost_holm"] < alpha else "")
                   for i, (_, row) in enumerate(worse.iterrows())]
        parts.append(listing(amounts))
    unknown = rows[rows["outcome"] == "inconclusive"]
    tested = unknown[np.isfinite(unknown["diff_low"].astype(float))]
    if len(tested):
        ranges = [f"{amount(r['diff_low'], percent, True).split(' ')[0]} to {amount(r['diff_high'], percent, True)}"
                  for _, r in tested.iterrows()]
        parts.append(f"for {listing(tested['label'])} the data cannot tell ({level_text(alpha)} CI "
                     f"{listing(ranges)}{' respectively' if len(ranges) > 1 else ''})")
    for _, row in unknown[~np.isfinite(unknown["diff_low"].astype(float))].iterrows():
        same = f"exactly {amount(row['diff_to_best'], percent, True)} on every split"
        parts.append(f"{row['label']} lies outside the margin ({same}, so untestable and not called worse)"
                     if abs(row["diff_to_best"]) >= margin else f"for {row['label']} the data cannot tell ({same})")
    n_pairs = int(attrs.get("n_pairs", 0))
    family = f", Holm over all {n_pairs} pairs" if n_pairs > 1 else ""
    return f"At the margin of {within_text(margin, percent)} (TOST and corrected t-tests{family}): {'; '.join(parts)}."


def verdict(summary, metric, folds=None, percent=True):
    """Plain-English sentences about a `src.reporting.compute.summary.summarize` table.

    States the best candidate with its confidence interval; for every other candidate its
    difference to the best with the corrected interval, and whether it is separated from
    the best (Holm-adjusted over all pairs) or not; every unstable candidate with its split
    scores; whether any pair of candidates is separated at all; and what the comparison
    could detect (`power_sentence`). The level is the summary's ``1 - alpha``.

    Parameters
    ----------
    summary : pandas.DataFrame
    metric : str
        Name of the score, used in the sentences.
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
    alpha, higher = attrs.get("alpha", ALPHA), attrs.get("higher_is_better", True)
    best = summary.iloc[0]
    if not np.isfinite(best["mean"]):
        return [f"No candidate produced a finite {metric} on every split; nothing can be compared."]
    scored = int(summary["mean"].notna().sum())
    word = "the only" if scored < 2 else ("the highest" if higher else "the lowest")
    if np.isfinite(best["ci_low"]):
        ci = f"{level_text(alpha)} CI {fmt_range(best['ci_low'], best['ci_high'])}{_clipped(best, 'clipped')}"
    else:
        ci = "a single split, so no confidence interval"
    ending = "; there is nothing to compare it with." if scored < 2 else "."
    lines = [f"{best['label']} has {word} mean {metric} ({best['mean']:.4f}, {ci}){ending}"]
    n_pairs = int(attrs.get("n_pairs", 0))
    lines += [_candidate_line(row, best["label"], alpha, percent, n_pairs, higher, int(attrs.get("n_splits", 2)),
                              attrs.get("margin"))
              for _, row in summary.iloc[1:].iterrows()]
    outcome = outcome_sentence(summary, percent)
    lines += [outcome] if outcome else []
    lines += [unstable_line(label, found, metric) for label, found in attrs.get("unstable", {}).items()]
    if attrs.get("at_chance"):
        names, many = attrs["at_chance"], len(attrs["at_chance"]) > 1
        if attrs.get("n_splits", 0) >= 2:
            intervals = "intervals reach" if many else "interval reaches"
            reach = f"{'their' if many else 'its'} {level_text(alpha)} {intervals} down to"
        else:
            reach = f"{'their scores are' if many else 'its score is'} not above"
        lines.append(f"{listing(names)} {'are' if many else 'is'} not shown to do better than guessing: {reach} "
                     f"chance level ({chance_text(attrs['chance'])}).")

    pairs = attrs.get("pairs", [])
    tested = [pair for pair in pairs if np.isfinite(pair["p_holm"])]
    if len(pairs) >= 2 or (pairs and not tested):
        if attrs.get("some_pair_separated"):
            separated = [pair for pair in tested if pair["separated"]]
            lowest = min(pair["p_holm"] for pair in separated)
            verb = "is" if len(separated) == 1 else "are"
            named = listing([f"{pair['a']} and {pair['b']}" for pair in separated[:NAMED_PAIRS]], final=None)
            more = f", and {len(separated) - NAMED_PAIRS} more in stats.json" if len(separated) > NAMED_PAIRS else ""
            lines.append(f"{len(separated)} of the {len(pairs)} pairs of candidates {verb} separated ({named}{more}; "
                         f"corrected t-tests, Holm over all pairs, smallest {fmt_p(lowest, alpha, 'adjusted p')}): "
                         f"the candidates do not all perform alike.")
        elif tested:
            lines.append(f"None of the {len(pairs)} pairs of candidates is separated after the Holm adjustment: "
                         f"the data do not show that any candidate differs from another.")
        else:
            lines.append("No pair of candidates could be tested.")
    power = power_sentence(summary, folds=folds, percent=percent)
    return lines + [power] if power else lines


def claim_text(claim, alpha=ALPHA):
    """One line on a `src.reporting.compute.claims.Claim`: the claim, its outcome, then the pairs by status."""
    title = "claim " + " > ".join(n.upper() for n in claim.names)
    if len(claim.names) < 2:
        return f"{title}: nothing to test (a ranking needs at least 2 names)"
    formats = {
        "holds": lambda e: f"{e['better']} > {e['worse']} ({fmt_p(e['p_holm'], alpha)})",
        "reversed": lambda e: f"{e['worse']} > {e['better']} ({fmt_p(e['p_holm'], alpha)})",
        "equivalent": lambda e: f"{e['better']} and {e['worse']} within {within_text(claim.margin)} "
                                f"(TOST, {fmt_p(e['p_tost_holm'], alpha)})",
        "not separated": lambda e: f"{e['better']} vs {e['worse']}",
        "untestable": lambda e: f"{e['better']} vs {e['worse']} (the same difference on every split)",
        "failed": lambda e: f"{e['better']} vs {e['worse']}",
    }
    parts = []
    for status, fmt in formats.items():
        chosen = [fmt(e) for e in claim.pairs if e["status"] == status]
        if chosen:
            parts.append(f"{status}: {', '.join(chosen)}")
    if claim.reasons:
        parts.append("left out: " + "; ".join(f"{label} ({claim.reasons[label]})" for label in sorted(claim.reasons)))
    absent = sorted({e[k] for e in claim.pairs for k in ("better", "worse") if e[k + "_label"] is None})
    if absent:
        parts.append(f"no candidate named {', '.join(absent)}")
    reason = OUTCOMES[claim.outcome].replace("the margin", the_margin(claim.margin)) \
        if claim.margin is not None else OUTCOMES[claim.outcome]
    tests = ("corrected t-tests" if claim.margin is None
             else f"corrected t-tests and TOST at {the_margin(claim.margin)}")
    return (f"{title}: {claim.outcome} ({reason}); {len(claim.pairs)} pairs, {tests}, "
            f"Holm over the {claim.n_tested} testable. " + "; ".join(parts))
