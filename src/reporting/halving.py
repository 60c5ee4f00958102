"""A successive-halving search's tables and sentence: who was stopped, when, and at what score.

``search.json`` holds the halving's settings, its rungs and every stackable candidate's score at
every rung it reached (``halving``, from `src.modes.grid`); each stopped fit's record holds the
rung's epochs in ``halted_at``. Here they become ``halving.csv``, the folds' ``rung`` column,
the summary's rows of the stopped candidates (outside the verdict) and the method's sentence.
"""
import numpy as np
import pandas as pd

COLUMNS = ["candidate", "group", "rung", "epochs", "score", "kept"]


def halving_frame(halving):
    """``halving.csv``: one row per candidate and rung it reached (``halving`` of ``search.json``)."""
    return pd.DataFrame(halving["table"], columns=COLUMNS)


def rung_of(halted_at, rungs):
    """The 1-based rung a fit reached: the one of ``halted_at`` epochs, or the last (the full budget) when NaN."""
    return [len(rungs) if not np.isfinite(h) else rungs.index(int(h)) + 1 for h in np.asarray(halted_at, dtype=float)]


def stopped(folds):
    """Which rows of a folds table are fits stopped at a rung."""
    return folds["halted_at"].notna() if "halted_at" in folds else pd.Series(False, index=folds.index)


def stopped_rows(folds, halving, params):
    """The summary's rows of the candidates stopped at a rung, latest rung first, then best score.

    They carry no accuracy and no rank: their fits did not get the full budget, so they stay
    out of the verdict. ``rung``, ``halted_at`` and ``rung_score`` (their halving score there) say
    where they stood.
    """
    table = halving_frame(halving)
    last = table.groupby("candidate", sort=False).last()
    rows = []
    for label, group in folds[stopped(folds)].groupby("label", sort=False):
        at = last.loc[str(label)] if str(label) in last.index else None
        rows.append({"label": label, **{c: group[c].iloc[0] for c in params},
                     "rung": int(group["rung"].iloc[0]), "halted_at": int(group["halted_at"].iloc[0]),
                     "rung_score": float(at["score"]) if at is not None else np.nan, "status": "stopped", "error": ""})
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(["halted_at", "rung_score"], ascending=[False, False], kind="stable")


def halving_text(meta):
    """What successive halving stopped and when, for the method paragraph; empty without halving."""
    halving = meta.get("halving")
    if not halving:
        return ""
    table = halving_frame(halving)
    rungs = halving["rungs"]
    tuned = meta.get("protocol") == "tuned"
    fell = table[~table["kept"].astype(bool)]
    counts = "; ".join(f"{len(group)} at epoch {epochs}" for epochs, group in fell.groupby("epochs"))
    within = ("within each activation (its own tune settings ranked against each other; the activations "
              "themselves all got the full budget)" if tuned else "across the grid's candidates")
    floor = "at least 2, and 1 at the last cut" if tuned else "at least 2"
    at = f"epoch{'s' if len(rungs) > 2 else ''} {', '.join(map(str, rungs[:-1]))}"
    text = (f"Successive halving (eta {halving['eta']}) ran {within}: at each rung ({at}) the candidates were "
            f"ranked by the validation accuracy of that epoch averaged over all their folds, and the top "
            f"1/{halving['eta']} (rounded up; {floor}) trained on from where they stood to the next rung, up to "
            f"the full {rungs[-1]} epochs. ")
    text += (f"Stopped: {len(fell)} of {table['candidate'].nunique()} candidates ({counts}). " if len(fell) else
             "No candidate was stopped. ")
    if not tuned:
        text += ("The verdict is among the candidates that got the full budget; the stopped ones are listed "
                 "below them with the rung at which they fell and their score there, outside the verdict. ")
    text += ("Halving can drop a late bloomer, a candidate behind at a rung that would have finished ahead; the "
             "README's halving benchmark says how often that happened on MNIST.")
    return text
