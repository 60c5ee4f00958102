"""The displayed summary of a grid: one table of display strings and one method paragraph.

`summary.md` (Markdown, `src.reporting.compute.grid_tables`) and `report.html` (`src.reporting.present.html`) both
render `view`; neither formats a cell of its own.
"""
import numpy as np
import pandas as pd

from ...results import ALPHA, stopped
from ..compute.verdict import level_text, p_text
from . import method

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
    """``best``, ``worse``, ``equivalent``, ``inconclusive``, ``unseparated``, ``untestable``, ``failed``,
    ``stopped`` (by successive halving) or empty."""
    if stopped(row):
        return "stopped"
    if not np.isfinite(number(row, "accuracy_mean")):
        return "failed"
    if number(row, "rank") == 1:
        return "best"
    if not np.isfinite(number(row, "diff_to_best")):
        return ""
    if row.get("outcome") in ("equivalent", "inconclusive") and np.isfinite(number(row, "margin")):
        return row.get("outcome")  # with a margin of equivalence (src.reporting.compute.summary.EQUIVALENCE_COLUMNS)
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
    if stopped(row):
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
        `src.reporting.compute.grid_tables.summary_frame`'s table, fresh or read back from CSV.
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


def summary_markdown(summary, search, statistics=None):
    """The summary as Markdown: the study and the method (`src.reporting.present.method`), the table (`view`),
    the verdict.

    Parameters
    ----------
    summary : pandas.DataFrame
        `summary_frame`'s table.
    search : src.results.SearchRecord
    statistics : dict, optional
        `grid_statistics`'s dict: its level, verdict sentences and claim line.
    """
    alpha = (statistics or {}).get("alpha", ALPHA)
    table = view(summary, alpha)[0]
    head = (f"{method.study_line(search, len(summary))} {method.protocol_text(search)} "
            f"{method.method_text(alpha, (statistics or {}).get('margin'))} {method.halving_text(search)}".rstrip())
    notes = "".join(f"\n- {line}" for line in method.alias_lines(search) + method.init_lines(search))
    text = f"{head}\n\n{table.to_markdown(index=False, disable_numparse=True)}\n{notes}\n"
    if statistics:
        text += "\n" + "".join(f"- {line}\n" for line in statistics["verdict"])
        if statistics.get("claim"):
            text += f"\n{statistics['claim']['text']}\n"
        if statistics.get("tuning"):
            text += f"\n{statistics['tuning']['sentence']}\n"
    return text
