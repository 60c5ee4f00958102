"""The displayed summary of a grid: one table of display strings and one method paragraph.

`summary.md` (Markdown, `src.reporting.tables`) and `report.html` (`src.reporting.html`) both
render `view`; neither formats a cell of its own.
"""
import numpy as np
import pandas as pd

from .stats import ALPHA
from .verdict import level_text, p_text

# weight init scheme (src.model.mlp.INITS) -> how the reports and the depth plot's legend name it
INIT_NAMES = {"default": "PyTorch's default", "kaiming_normal": "He", "kaiming_uniform": "He uniform",
              "xavier_normal": "Glorot", "xavier_uniform": "Glorot uniform", "lecun_normal": "LeCun"}

STANDING_TEXT = {"best": "best", "unseparated": "not separated", "untestable": "untestable", "worse": "worse",
                 "failed": "failed", "stopped": "stopped early", "equivalent": "equivalent",
                 "inconclusive": "inconclusive"}


def number(row, key):
    """``row[key]`` as a float; NaN when missing or not a number."""
    try:
        return float(row.get(key, np.nan))
    except (TypeError, ValueError):
        return np.nan


def true(value):
    """A boolean cell as read back from CSV (``True``, ``"True"``) or fresh (``numpy.bool_``)."""
    return str(value).strip().lower() in ("true", "1", "yes")


def standing(row):
    """``best``, ``worse``, ``unseparated``, ``untestable``, ``failed``, ``stopped`` (by successive halving) or empty."""
    if np.isfinite(number(row, "halted_at")):
        return "stopped"
    if not np.isfinite(number(row, "accuracy_mean")):
        return "failed"
    if number(row, "rank") == 1:
        return "best"
    if not np.isfinite(number(row, "diff_to_best")):
        return ""
    if row.get("outcome") in ("equivalent", "inconclusive") and np.isfinite(number(row, "margin")):
        return row.get("outcome")  # with a margin of equivalence (src.reporting.summary.EQUIVALENCE_COLUMNS)
    if not np.isfinite(number(row, "p_holm")):
        return "untestable"
    return "worse" if true(row.get("separated_from_best")) else "unseparated"


def _pm(row, metric):
    mean, std = number(row, f"{metric}_mean"), number(row, f"{metric}_std")
    return "" if not np.isfinite(mean) else f"{mean:.4f} ± {std:.4f}"


def _interval(row):
    low, high = number(row, "ci_low"), number(row, "ci_high")
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"{low:.4f} – {high:.4f}" + (" (clipped)" if true(row.get("clipped")) else "")


def _difference(row):
    """The difference to the best in accuracy points with its interval, or empty."""
    diff, low, high = (number(row, k) for k in ("diff_to_best", "diff_low", "diff_high"))
    if not np.isfinite(diff) or number(row, "rank") == 1:
        return ""
    text = f"{diff * 100:+.2f}"
    if not (np.isfinite(low) and np.isfinite(high)):
        return text
    return text + f" ({low * 100:+.2f} to {high * 100:+.2f})" + (" (clipped)" if true(row.get("diff_clipped")) else "")


def _optional(row, key, digits):
    value = number(row, key)
    return f"{value:.{digits}f}" if np.isfinite(value) else ""


def seconds(value):
    """Seconds to one decimal, or to two significant digits below one (a stacked fit's share on small
    data is a few hundredths, which one decimal would show as 0.0); empty when not a number."""
    value = float(value) if value is not None else np.nan
    return "" if not np.isfinite(value) else f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def _seconds(row, key):
    return seconds(number(row, key))


def _status(row):
    """The failure, else the statistics' note (unstable splits, clipped intervals), else empty."""
    if np.isfinite(number(row, "halted_at")):
        score = number(row, "rung_score")
        error = row.get("error") if isinstance(row.get("error"), str) and row.get("error") else "no score there"
        there = f"validation accuracy there {score:.4f}" if np.isfinite(score) else error
        return (f"stopped at epoch {number(row, 'halted_at'):.0f} (rung {number(row, 'rung'):.0f}), {there}; "
                f"outside the verdict")
    if str(row.get("status", "ok")) not in ("ok", "nan"):
        return f"{row.get('status')}: {row.get('error', '')}"
    note = row.get("note", "")
    return "" if not isinstance(note, str) else note


def view(summary, alpha=ALPHA):
    """The summary table as shown: one row per candidate, every cell a string.

    Parameters
    ----------
    summary : pandas.DataFrame
        `src.reporting.tables.summary_frame`'s table, fresh or read back from CSV.
    alpha : float
        The level of the intervals is ``1 - alpha``; the column names say it.

    Returns
    -------
    table : pandas.DataFrame
    standings : list of str
        Each row's `standing` (a CSS class of the HTML rows).
    """
    level = level_text(alpha)
    margins = pd.to_numeric(summary.get("margin", pd.Series(dtype=float)), errors="coerce").dropna()
    within = f"±{margins.iloc[0] * 100:.2f} points" if len(margins) else ""
    rows, standings = [], []
    for _, row in summary.iterrows():
        found = standing(row)
        rows.append({
            "rank": _optional(row, "rank", 0),
            "candidate": str(row.get("label", "")),
            **({"tuned setting (most chosen; range)": str(row.get("tuned", ""))} if "tuned" in summary else {}),
            **({"rung": _optional(row, "rung", 0)} if "rung" in summary else {}),
            "accuracy (mean ± std)": _pm(row, "accuracy") or ("" if found == "stopped" else "failed"),
            f"{level} CI": _interval(row),
            "vs best": STANDING_TEXT.get(found, ""),
            f"diff. to best, points ({level} CI)": _difference(row),
            "p vs best": p_text(number(row, "p_vs_best"), alpha),
            "p (Holm)": p_text(number(row, "p_holm"), alpha),
            **({f"TOST p (Holm), {within}": p_text(number(row, "p_tost_holm"), alpha),
                f"Bayesian P(worse / within {within} / better)": "" if not np.isfinite(number(row, "bayes_worse"))
                else " / ".join(f"{number(row, k):.2f}" for k in ("bayes_worse", "bayes_equivalent", "bayes_better"))}
               if within else {}),
            "balanced acc.": _pm(row, "balanced_accuracy"),
            "log loss": _pm(row, "log_loss"),
            "fit s": _seconds(row, "fit_time_mean"),
            "step cost vs relu": _optional(row, "step_cost", 2),
            "params": _optional(row, "n_params", 0),
            "test acc. (refit)": _optional(row, "refit_test_accuracy", 4),
            "status": _status(row),
        })
        standings.append(found)
    return pd.DataFrame(rows), standings


def study_line(meta, n_candidates):
    """``3 candidates, 3-fold cross-validation repeated 3 times (9 splits) on mnist (60000 training images).``"""
    repeats = meta.get("repeats", 1) or 1
    splits = len(meta.get("splits", [])) or "?"
    return (f"{n_candidates} candidates, {meta.get('folds', '?')}-fold cross-validation"
            f"{' repeated ' + str(repeats) + ' times' if repeats > 1 else ''} ({splits} splits) on "
            f"{meta.get('dataset', '?')} ({meta.get('n_train', '?')} training images).")


def protocol_text(meta):
    """How the candidates were trained: at the configured settings, or each at its own tuned ones."""
    if meta.get("protocol") != "tuned":
        return "Fixed protocol: every candidate trained at the configured settings."
    names = " and ".join(meta.get("tune") or [])
    return (f"Tuned protocol: each activation was trained at every {names} of the tune grid on every split; on "
            f"each split, its {names} was chosen by the last epoch's accuracy on the validation rows that each "
            f"fit holds out of the split's training rows (ties: the lower validation loss, then the value listed "
            f"first), and the chosen fit's accuracy on the split's held-out rows, which the choice never saw, is "
            f"its score below.")


def method_text(alpha=ALPHA):
    """What the summary's columns mean and how they were computed, at the level ``1 - alpha``."""
    level = level_text(alpha)
    return (f"Accuracy is the held-out accuracy of each cross-validation split, mean ± std over the splits. The "
            f"{level} confidence intervals and the p-values use the Nadeau-Bengio corrected resampled t-test, "
            f"which accounts for the overlap of training sets between splits; an interval that crosses the "
            f"bounds of the accuracy (0 and 1, or ±100 points for a difference) is clipped to them and marked, "
            f"since the normal approximation fails there. The difference to the best is the candidate's "
            f"accuracy minus the best one's, in points, with that pair's {level} interval (not adjusted for the "
            f"number of pairs). Every pair of candidates is tested and the p-values are Holm-adjusted over all "
            f"pairs; a candidate is 'worse' when its pair with the best has an adjusted p-value below {alpha:g}. "
            f"'Not separated' means the data cannot tell it from the best, not that the two are equal; "
            f"'untestable' means the difference was the same on every split, so its variance is unknown. A "
            f"candidate is 'unstable' when a split lies far from its others (such as one split at chance "
            f"level); its status lists its split scores. A candidate whose interval reaches down to chance level "
            f"(one class in as many as the data have) is 'not shown above chance'. Step cost: the time of one "
            f"training step relative to relu's, on the machine that ran the grid.")


def alias_lines(meta):
    """Sentences naming the activations trained once for several names (``aliases`` of ``search.json``)."""
    return [f"{', '.join(names)} compute{'s' if len(names) == 1 else ''} the same function as {kept}: "
            f"trained once, listed under {kept}." for kept, names in (meta.get("aliases") or {}).items()]


def init_lines(meta):
    """A sentence naming each activation's weight init, when ``model.init=auto`` gave them different ones
    (``inits`` of ``search.json``): a difference between two candidates may then be their inits'."""
    inits = meta.get("inits") or {}
    if len(set(inits.values())) < 2:
        return []
    by_init = {}
    for label, init in inits.items():
        by_init.setdefault(init, []).append(label)
    named = "; ".join(f"{INIT_NAMES.get(init, init)}{'' if init == 'default' else f' ({init})'} for {', '.join(labels)}"
                      for init, labels in by_init.items())
    return [f"Weights were initialised with each activation's own recipe (model.init=auto): {named}. A difference "
            f"between candidates of different inits may come from the init as well as the activation; "
            f"model.init=kaiming_normal (or another) gives every candidate the same."]
