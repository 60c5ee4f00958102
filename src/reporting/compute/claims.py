"""The test of a claimed ranking (``claim=[selu,elu,relu]``) on the splits of a summary's fold table."""
import math
from dataclasses import dataclass, field

import numpy as np

from ...defaults import ALPHA
from . import stats
from .summary import compared_scores, score_table, nadeau_bengio_ratio


def _base_name(label):
    """The activation name of a label: the part before ``(``, lower-cased."""
    return str(label).split("(", 1)[0].strip().lower()


def match_label(name, labels):
    """The label for a claimed ``name``: an exact match, else the first with the same base name."""
    key = str(name).strip().lower()
    for label in labels:
        if str(label).strip().lower() == key:
            return label
    for label in labels:
        if _base_name(label) == _base_name(key):
            return label
    return None


@dataclass
class Claim:
    """The test of a claimed ranking: ``outcome`` (a key of ``OUTCOMES``), one dict per pair of
    claimed names (see `claimed_ranking`), the left-out candidates with their reasons, and
    how many pairs could be tested."""

    names: list
    outcome: str
    pairs: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    n_tested: int = 0
    margin: float = None


OUTCOMES = {
    "contradicted": "some pair is separated in the opposite direction",
    "failed": "a claimed candidate failed or diverged, so the ranking cannot be checked",
    "not testable": "a claimed name matches no candidate",
    "holds": "every adjacent pair is separated in the claimed direction",
    "equivalent": "some adjacent pair is shown equivalent within the margin, so the claimed order makes no "
                  "practical difference there",
    "not established": "some adjacent pair is not separated",
}


def _claimed_pairs(names, matched, shared, ratio, rows, margin):
    """Every pair ``a > b`` of a claim (``names``, their ``matched`` labels), tested on the splits both finished
    (``shared``): its difference, t-test and TOST, or the status of a pair that cannot be tested."""
    pairs = []
    for a, b in zip(*stats.pair_index(len(names))):
        la, lb = matched[a], matched[b]
        entry = {"better": names[a], "worse": names[b], "better_label": la, "worse_label": lb,
                 "adjacent": bool(b == a + 1), "mean_diff": math.nan, "t": math.nan, "p": math.nan,
                 "p_tost": math.nan}
        if la is None or lb is None:
            entry["status"] = "missing"
        elif la not in shared or lb not in shared:
            entry["status"] = "failed"
        elif la != lb and len(shared) >= 1:
            tests = stats.pairwise_tests(shared[[la, lb]].to_numpy().T, ratio, n_test=rows)
            entry.update(mean_diff=float(tests.mean[0]), t=float(tests.t[0]), p=float(tests.p[0]),
                         p_tost=float(stats.tost(tests, margin)[0]))
        pairs.append(entry)
    return pairs


def claimed_ranking(summary, claimed_order, folds, metric, alpha=ALPHA, margin=None):
    """Test a claimed ranking such as ``["selu", "elu", "relu"]`` on every pair of its names.

    Every pair ``a > b`` of the claim gets a corrected paired t-test on the splits that both
    finished; the p-values are Holm-adjusted over all of them and read by
    `src.reporting.compute.stats.claim_outcomes`: a pair *holds*, is *reversed*, *not separated* or
    *untestable* (the same difference on every split, where no test rows floor its variance: the
    summary's ``attrs["rows"]``). The claim is *contradicted* when any
    pair is reversed, has *failed* when a claimed candidate has no score on every split,
    *holds* when every adjacent pair holds, is *equivalent* when an adjacent pair that does not
    hold is shown equivalent within ``margin`` (TOST, Holm over the claim's pairs, as
    `src.reporting.compute.stats.equivalent_pairs` reads it), and is *not established* otherwise. A claimed
    name matches a label exactly or by the label's name before ``(``, case-insensitively;
    the best-ranked match is used.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `src.reporting.compute.summary.summarize` (the direction of the metric and the ranking).
    claimed_order : sequence of str
        Candidate names, claimed best first.
    folds : pandas.DataFrame
        The long fold table the summary was made from.
    metric : str
    alpha : float, default `src.defaults.ALPHA`
    margin : float, optional
        The margin of equivalence in the metric's units; None or 0 tests no equivalence.

    Returns
    -------
    Claim
        Its pairs: ``better``, ``worse`` (claimed names), ``better_label``, ``worse_label``
        (matched labels or None), ``adjacent``, ``mean_diff`` (better - worse), ``t``,
        ``p``, ``p_holm``, ``p_tost``, ``p_tost_holm`` and ``status`` (``"holds"``,
        ``"reversed"``, ``"equivalent"``, ``"not separated"``, ``"untestable"``, ``"failed"``
        or ``"missing"``).
    """
    names, margin = [str(n) for n in claimed_order], float(margin) if margin else None
    if len(names) < 2:
        return Claim(names, "")
    higher = summary.attrs.get("higher_is_better", True)
    scores, sizes = score_table(folds, metric)
    ranked = summary.sort_values("rank")
    labels = list(ranked["label"]) + [c for c in scores.columns if c not in set(ranked["label"])]
    matched = [match_label(n, labels) for n in names]
    kept, reasons = compared_scores(scores[[m for m in dict.fromkeys(matched) if m in scores]])
    shared = kept.dropna(axis=0, how="any")
    ratio = nadeau_bengio_ratio(sizes.reindex(shared.index))
    rows = sizes.reindex(shared.index)["n_test"].to_numpy(dtype=float) if summary.attrs.get("rows") else None

    pairs = _claimed_pairs(names, matched, shared, ratio, rows, margin)
    adjusted = stats.holm([e["p"] for e in pairs])
    tost_adjusted = stats.holm([e["p_tost"] for e in pairs])
    found = stats.claim_outcomes([e["mean_diff"] for e in pairs], adjusted, alpha, higher)
    for i, entry in enumerate(pairs):
        entry["p_holm"], entry["p_tost_holm"] = float(adjusted[i]), float(tost_adjusted[i])
        entry.setdefault("status", "holds" if found.holds[i] else "reversed" if found.reversed[i]
                         else "equivalent" if tost_adjusted[i] < alpha
                         else "not separated" if np.isfinite(entry["p"]) else "untestable")
    statuses = {e["status"] for e in pairs}
    outcome = ("contradicted" if found.contradicted else "failed" if "failed" in statuses
               else "not testable" if "missing" in statuses
               else "holds" if found.established
               else "equivalent" if any(e["status"] == "equivalent" for e in pairs if e["adjacent"])
               else "not established")
    return Claim(names, outcome, pairs, reasons, int(np.isfinite(adjusted).sum()), margin)
