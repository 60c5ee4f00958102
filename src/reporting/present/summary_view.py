"""The displayed summary of a grid: the decision, one table of display strings and one method paragraph.

`summary.md`, the console (`console_text`), `report.html` (`src.reporting.present.pages`) and the notebook's
display (`src.api`) all render `decision` and `view`; none formats a cell or a decision of its own. The
decision's numbers are the table's cells (`accuracy`, `difference`), so the two always agree.
"""
import shutil
import textwrap

import numpy as np
import pandas as pd

from ...defaults import ALPHA
from ...outcomes import stopped
from ..compute.design import design_words
from ..compute.phrases import level_text, listing, p_text, within_text
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


def interval(row):
    """The candidate's interval of its mean accuracy as shown: ``0.9612 – 0.9688``, or empty."""
    low, high = number(row, "ci_low"), number(row, "ci_high")
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return f"{low:.4f} – {high:.4f}" + (" (clipped)" if true(row.get("clipped")) else "")


def accuracy(row):
    """The mean accuracy with its interval as shown: ``0.9650 (0.9612 – 0.9688)``, the mean alone, or empty."""
    mean, shown = number(row, "accuracy_mean"), interval(row)
    if not np.isfinite(mean):
        return ""
    return f"{mean:.4f} ({shown})" if shown else f"{mean:.4f}"


def difference(row):
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


def compact_columns(alpha=ALPHA):
    """The columns of the compact table, which fits a 1280-pixel window and a terminal: rank, candidate,
    accuracy with its interval, the difference to the best with its interval, the outcome, p (Holm), status."""
    level = level_text(alpha)
    return ["rank", "candidate", f"accuracy ({level} CI)", f"diff. to best, points ({level} CI)", "vs best",
            "p (Holm)", "status"]


def view(summary, alpha=ALPHA, compact=False):
    """The summary table as shown: one row per candidate, every cell a string.

    Parameters
    ----------
    summary : pandas.DataFrame
        `src.reporting.compute.grid_tables.summary_frame`'s table, fresh or read back from CSV.
    alpha : float
        The level of the intervals is ``1 - alpha``; the column names say it.
    compact : bool (default=False)
        Only `compact_columns`: the rest (balanced accuracy, log loss, fit time, step cost, parameters, the
        refit, TOST p and the Bayesian view) are the full table's.

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
            f"accuracy ({level} CI)": accuracy(row) or ("" if found == "stopped" else "failed"),
            f"{level} CI": interval(row),
            "vs best": STANDING_TEXT.get(found, ""),
            f"diff. to best, points ({level} CI)": difference(row),
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
    table = pd.DataFrame(rows)
    shown = compact_columns(alpha) if compact else [c for c in table.columns if c != f"accuracy ({level} CI)"]
    return table[[c for c in shown if c in table.columns]], standings


# the decision's lines, in this order: (standing, the line's key)
DECISION_KEYS = (("best", "Best"), ("equivalent", "Equivalent, either will do"), ("worse", "Worse"),
                 ("inconclusive", "Inconclusive, the data cannot tell"), ("unseparated", "Not separated"),
                 ("untestable", "Untestable"), ("", "Not compared"), ("failed", "Failed"),
                 ("stopped", "Stopped early"))


def _design_text(design, inits=1):
    """What the study's `src.reporting.compute.design.remedy` would tell, as a clause (``inits``: the study's seeds
    per split); empty without one."""
    if not design:
        return ""
    aim = ("would usually tell" if design["aim"] == "equivalence" else
           f"would usually find a difference of {within_text(design['target']).lstrip('±')}")
    if design.get("folds") is None:
        seeds = f" x {design['most_inits']} seeds" if design.get("most_inits", 1) > 1 else ""
        return (f"; no design up to {design['most_folds']} folds x {design['most_repeats']} repeats{seeds} "
                f"{aim} at this spread of the splits")
    setting, splits = design_words(design["folds"], design["repeats"], design.get("inits") or 1, inits)
    return f"; {setting} {aim} ({splits}, {design['fits']} fits)"


def _named(row):
    label = str(row.get("label", ""))
    return f"{label} (unstable)" if true(row.get("unstable")) else label


def decision(summary, statistics=None):
    """The answer first: the best candidate, those equivalent to it, those worse, those the data cannot tell.

    Each standing (`standing`) is one line; a candidate's numbers are its table cells (`accuracy`,
    `difference`). The candidates the data cannot tell end with the design that would tell and its cost in
    fits (``stats.json``'s ``power.design``, `src.reporting.compute.design.remedy`). Without a margin
    (``stats.margin=0``) there is no equivalence: the lines say separated (worse) or not separated.

    Parameters
    ----------
    summary : pandas.DataFrame
        The grid's summary (`src.reporting.compute.grid_tables.summarize_grid`), fresh or read back from CSV.
    statistics : dict, optional
        ``stats.json``: its level, margin, splits, design and claim.

    Returns
    -------
    (str, list of (str, str))
        The heading (the splits, the level, the margin), and each line's key and text; empty lines without
        a scored candidate.
    """
    statistics = statistics or {}
    alpha, margin = statistics.get("alpha", ALPHA), statistics.get("margin")
    groups = {}
    for _, row in summary.iterrows():
        groups.setdefault(standing(row), []).append(row)
    if "best" not in groups:
        return "", []
    splits = statistics.get("n_splits")
    terms = (f"margin {within_text(margin)}" if margin else "stats.margin=0: separated or not, no equivalence")
    heading = (f"{f'{splits} splits; ' if splits else ''}differences to the best in accuracy points with their "
               f"{level_text(alpha)} CIs; {terms}")
    best = groups["best"][0]
    design = _design_text((statistics.get("power") or {}).get("design"),
                          (statistics.get("variance_components") or {}).get("inits", 1))
    lines = []
    for found, key in DECISION_KEYS:
        rows = groups.get(found, [])
        if not rows:
            continue
        if found == "best":
            text = f"{_named(best)}, accuracy {accuracy(best)}."
        elif found in ("failed", "stopped"):
            why = [f"{_named(row)} ({row.get('status')})" if found == "failed" else _named(row) for row in rows]
            text = listing(why) + (" (successive halving; outside the verdict)." if found == "stopped" else ".")
        else:
            shown = listing([f"{_named(row)} {difference(row)}".rstrip() for row in rows])
            if found == "equivalent":
                text = f"{shown}, equivalent to {best.get('label')} within {within_text(margin)}."
            elif found == "worse":
                inside = [row for row in rows if number(row, "p_tost_holm") < alpha]
                text = shown + (f"; {listing([str(r.get('label')) for r in inside])} within the margin all the same"
                                if inside else "") + "."
            elif found in ("inconclusive", "unseparated"):
                text = f"{shown}{design}."
            else:
                text = f"{shown}."
        lines.append((key, text))
    return heading, lines


def decision_text(summary, statistics=None, bullet="  ", width=None):
    """`decision` as plain lines: ``Decision (heading):`` then one ``Key: text`` line each (``bullet`` before
    it), then the claim's line; empty without a decision. ``width`` wraps each line (the claim's stays whole)."""
    heading, lines = decision(summary, statistics)
    if not lines:
        return ""
    claim = ((statistics or {}).get("claim") or {}).get("text")
    shown = [f"Decision ({heading}):", *(f"{bullet}{key}: {text}" for key, text in lines)]
    if width:
        shown = [textwrap.fill(line, width, subsequent_indent=" " * (len(bullet) + 2), break_on_hyphens=False)
                 for line in shown]
    return "\n".join(shown + ([claim] if claim else []))


def _wrapped(text, width):
    """A cell's lines at most ``width`` wide (words kept whole where they fit)."""
    return [line for part in str(text).split("\n") for line in (textwrap.wrap(part, width) or [""])]


def text_table(table, width):
    """A table of strings as plain text at most ``width`` characters wide: columns two spaces apart, a rule
    under the header; the status, the candidate and the intervals wrap, in that order, down to what the width
    leaves them (first to a comfortable width, then to their longest word)."""
    columns = list(table.columns)
    headers = [c.replace(" (", "\n(") for c in columns]
    rows = [headers, *[[str(v) for v in row] for row in table.itertuples(index=False)]]

    def longest(i, pieces):
        return max((len(piece) for row in rows for piece in pieces(row[i])), default=0)

    words = [max(longest(i, str.split), min(12, longest(i, str.splitlines))) for i in range(len(columns))]
    shown = [longest(i, str.splitlines) for i in range(len(columns))]
    room = width - 2 * (len(columns) - 1)
    for i, least in ((-1, 24), (1, 12), (2, 17), (3, 14), (-1, 12), (1, 10), (2, 0), (3, 0), (4, 0), (-1, 0)):
        i %= len(columns)
        if sum(shown) > room:
            shown[i] = min(shown[i], max(least, words[i], shown[i] - (sum(shown) - room)))
    lines = []
    for row in rows:
        wrapped = [_wrapped(text, n) for text, n in zip(row, shown)]
        for k in range(max(len(w) for w in wrapped)):
            lines.append("  ".join((w[k] if k < len(w) else "").ljust(n) for w, n in zip(wrapped, shown)).rstrip())
        if row is headers:
            lines.append("  ".join("-" * n for n in shown))
    return "\n".join(lines)


def console_text(summary, statistics=None, width=None):
    """What the console shows of a grid: the decision, then the compact table (`view`) at the terminal's width.

    Parameters
    ----------
    summary : pandas.DataFrame
    statistics : dict, optional
    width : int, optional
        Characters per line; by default the terminal's (120 where there is none). Wider lines wrap.
    """
    width = width or shutil.get_terminal_size((120, 24)).columns
    table = view(summary, (statistics or {}).get("alpha", ALPHA), compact=True)[0]
    shown = text_table(table, width) if len(table) else ""
    return "\n\n".join(part for part in (decision_text(summary, statistics, width=width), shown) if part)


def summary_markdown(summary, search, statistics=None):
    """The summary as Markdown: the decision (`decision`), the study, the table (`view`), the verdict's
    sentences, then the method (`src.reporting.present.method`).

    Parameters
    ----------
    summary : pandas.DataFrame
        `summary_frame`'s table.
    search : src.results.SearchRecord
    statistics : dict, optional
        `grid_statistics`'s dict: its level, verdict sentences, design and claim line.
    """
    alpha = (statistics or {}).get("alpha", ALPHA)
    table = view(summary, alpha)[0]
    found = decision_text(summary, statistics, bullet="- ")
    notes = "".join(f"\n- {line}" for line in method.alias_lines(search) + method.init_lines(search))
    text = (f"{found}\n\n" if found else "") + method.study_line(search, len(summary)) + "\n\n"
    text += f"{table.to_markdown(index=False, disable_numparse=True)}\n{notes}\n"
    if statistics:
        text += "\n" + "".join(f"- {line}\n" for line in statistics["verdict"])
        if statistics.get("claim"):
            text += f"\n{statistics['claim']['text']}\n"
        if statistics.get("tuning"):
            text += f"\n{statistics['tuning']['sentence']}\n"
    head = (f"{method.protocol_text(search)} {method.method_text(alpha, (statistics or {}).get('margin'))} "
            f"{method.halving_text(search)}".rstrip())
    return text + f"\nMethod. {head}\n"
