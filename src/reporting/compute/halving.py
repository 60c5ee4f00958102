"""A successive-halving search's tables and sentence: who was stopped, when, and at what score.

``search.json`` holds the halving's settings, its rungs and every stackable candidate's score at
every rung it reached (``halving``, from `src.modes.grid`); each stopped fit's record holds the
rung's epochs in ``halted_at``. Here they become ``halving.csv``, the folds' ``rung`` column,
the summary's rows of the stopped candidates (outside the verdict) and the method's sentence.
"""
import numpy as np
import pandas as pd

from ...outcomes import stopped

COLUMNS = ["candidate", "group", "split", "rung", "epochs", "score", "kept"]


def halving_frame(halving):
    """``halving.csv``: one row per candidate and rung it reached (``halving`` of ``search.json``)."""
    return pd.DataFrame([{column: row.get(column) for column in COLUMNS} for row in halving["table"]], columns=COLUMNS)


def rung_of(folds, rungs):
    """The 1-based rung each fit of ``folds`` reached: the one of its ``halted_at`` epochs when it was `stopped`,
    else the last (the full budget)."""
    return [rungs.index(int(h)) + 1 if halted else len(rungs) for h, halted in zip(folds["halted_at"], stopped(folds))]


def stopped_rows(folds, halving, params):
    """The summary's rows of the candidates stopped at a rung, latest rung first, then best score.

    They carry no accuracy and no rank: their fits did not get the full budget, so they stay
    out of the verdict. ``rung``, ``halted_at`` and ``rung_score`` (their halving score there) say
    where they stood; where folds diverged or failed by then, ``error`` says how many did and the
    first one's error.
    """
    table = halving_frame(halving)
    last = table.groupby("candidate", sort=False).last()
    rows = []
    for label, group in folds[stopped(folds)].groupby("label", sort=False):
        at = last.loc[str(label)] if str(label) in last.index else None
        bad = group[group["status"].astype(str) != "ok"] if "status" in group else group.iloc[:0]
        words = " or ".join(dict.fromkeys(bad["status"].astype(str)))  # diverged, failed
        error = (f"{len(bad)} of its {len(group)} folds {words} by then (first: {bad['error'].iloc[0]})"
                 if len(bad) else "")
        rows.append({"label": label, **{c: group[c].iloc[0] for c in params},
                     "rung": int(group["rung"].iloc[0]), "halted_at": int(group["halted_at"].iloc[0]),
                     "rung_score": float(at["score"]) if at is not None else np.nan, "status": "stopped",
                     "error": error})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["halted_at", "rung_score"], ascending=[False, False], kind="stable")


