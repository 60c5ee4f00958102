"""A successive-halving search's tables and sentence: who was stopped, when, and at what score.

``search.json`` holds the halving's settings, its rungs and every stackable candidate's score at
every rung it reached (``halving``, from `src.modes.grid`); each stopped fit's record holds the
rung's epochs in ``halted_at``. Here they become ``halving.csv``, the folds' ``rung`` column,
the summary's rows of the stopped candidates (outside the verdict) and the method's sentence.
"""
import numpy as np
import pandas as pd

COLUMNS = ["candidate", "group", "split", "rung", "epochs", "score", "kept"]


def halving_frame(halving):
    """``halving.csv``: one row per candidate and rung it reached (``halving`` of ``search.json``)."""
    return pd.DataFrame([{column: row.get(column) for column in COLUMNS} for row in halving["table"]], columns=COLUMNS)


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
    within = ("within each activation and split (its own tune settings ranked against each other on that split's "
              "validation rows; the activations themselves all got the full budget)" if tuned
              else "across the grid's candidates")
    floor = "at least 2, and 1 at the last cut" if tuned else "at least 2"
    at = f"epoch{'s' if len(rungs) > 2 else ''} {', '.join(map(str, rungs[:-1]))}"
    ranked = ("on that split's validation accuracy of that epoch" if tuned
              else "by the validation accuracy of that epoch averaged over all their folds")
    text = (f"Successive halving (eta {halving['eta']}) ran {within}: at each rung ({at}) the candidates were "
            f"ranked {ranked}, and the top 1/{halving['eta']} (rounded up; {floor}) trained on from where they "
            f"stood to the next rung, up to the full {rungs[-1]} epochs. ")
    units = table.drop_duplicates(["candidate", "split"])
    what, one = ("settings on a split", "setting") if tuned else ("candidates", "candidate")
    text += (f"Stopped: {len(fell)} of {len(units)} {what} ({counts}). " if len(fell) else
             f"No {one} was stopped. ")
    if not tuned:
        text += ("The verdict is among the candidates that got the full budget; the stopped ones are listed "
                 "below them with the rung at which they fell and their score there, outside the verdict. "
                 "The ranking used validation rows that lie in the other splits' test rows; simulated, that keeps "
                 "the verdict's error rate within its level (docs/statistics.md). ")
    text += "Halving can drop a late bloomer, a candidate behind at a rung that would have finished ahead. "
    return text + late_bloomers(tuned)


# How often halving stopped what the exhaustive search ranked high, in the project's benchmark
# (`python -m src.bench --parts all,all_halving` and `tuned,tuned_halving`, 25 epochs, eta 3), on a
# 2-core AMD EPYC, 2026-12-03; docs/comparisons.md gives each run. The grid's four runs (the full
# training set, three 12,000-image subsets) at the default first rung and at an earlier one.
GRID_BENCHMARK = {"first_rung": 4, "runs": 4, "best_stopped": 1, "places": 12, "places_kept": 7, "fell_first": 3,
                  "earlier_rung": 2, "earlier_best_stopped": 2, "earlier_kept": 4}
TUNED_BENCHMARK = {"pairs": 9, "same": 8, "first_rung": 2}


def late_bloomers(tuned):
    """The benchmark's count of late bloomers, as a sentence (`GRID_BENCHMARK`, `TUNED_BENCHMARK`)."""
    if tuned:
        b = TUNED_BENCHMARK
        return (f"In the project's benchmark (the tuned notebook study on MNIST, 25 epochs, the first rung at "
                f"epoch {b['first_rung']}) the halved study chose "
                f"the exhaustive study's learning rate in {b['same']} of its {b['pairs']} (activation, split) pairs.")
    b = GRID_BENCHMARK
    fell = b["places"] - b["places_kept"]
    return (f"In the project's benchmark (grid=all on MNIST, 25 epochs, the first rung at epoch {b['first_rung']}: "
            f"the full training set and three 12,000-image subsets) it happened: the exhaustive search's best "
            f"was stopped in {b['best_stopped']} of {b['runs']} runs, and of the exhaustive top 3's {b['places']} "
            f"places {b['places_kept']} survived; {b['fell_first']} of the {fell} that fell were stopped at the "
            f"first rung. With the first rung at epoch {b['earlier_rung']} the best was stopped in "
            f"{b['earlier_best_stopped']} of {b['runs']} runs and {b['earlier_kept']} of the {b['places']} places "
            f"survived (docs/comparisons.md).")
