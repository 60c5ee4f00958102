"""A study's summary for a paper: one tidy table of numbers, and that table as LaTeX.

`paper_frame` gives the numbers (``summary.csv`` of an export, in the units shown); `summary_tex`
typesets them with pandas' ``Styler.to_latex`` (booktabs rules, the best in bold, a caption and a
label). Every number of the LaTeX table is one of the frame's, rounded as the table shows it.
"""
import numpy as np
import pandas as pd

from ...defaults import ALPHA
from ..compute.phrases import level_text, p_text
from . import method
from .across_page import SHOWN
from .summary_view import STANDING_TEXT, number, standing

# the summary's equivalence outcome (stats.margin), when the study has one: its column -> the paper frame's
EQUIVALENCE = {"p_tost_holm": "p_equivalence"}
# the table's commands before its tabular: a small font, narrow column gaps
TABLE_STYLES = [{"selector": "footnotesize", "props": ":;"}, {"selector": "setlength", "props": ":{\\tabcolsep}{2pt};"}]
PACKAGES = ["booktabs"]  # what `summary_tex`'s table needs in a document's preamble
LABEL = "tab:activations"


SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
           "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text):
    """``text`` as LaTeX text: its special characters escaped."""
    return "".join(SPECIAL.get(char, char) for char in str(text))


def _points(value):
    return value * 100 if np.isfinite(value) else np.nan


def paper_frame(summary, margin=None, keys=()):
    """A grid's summary as one tidy row per candidate: its numbers in the units the table shows.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``summary.csv`` of a grid (or of a sweep of grids, with its jobs' key columns first).
    margin : float, optional
        The equivalence margin in accuracy (``stats.margin``), when the study has one.
    keys : list of str
        A sweep's columns that tell its jobs apart (`src.reporting.compute.sweep.varying`), shown first.

    Returns
    -------
    pandas.DataFrame
        ``candidate``, ``vs_best``, the accuracy's mean, std and interval, the difference to the best
        in points with its interval, Holm's p and, when the summary has them, the equivalence outcome.
    """
    rows = []
    for _, row in summary.iterrows():
        found = standing(row)
        out = {**{k: str(row[k]) for k in keys}, "rank": number(row, "rank"), "candidate": str(row.get("label", "")),
               **({"tuned": str(row.get("tuned", ""))} if "tuned" in summary else {}),
               "vs_best": STANDING_TEXT.get(found, found)}
        out.update({k: number(row, k) for k in ("accuracy_mean", "accuracy_std", "ci_low", "ci_high")})
        first = number(row, "rank") == 1
        out.update({f"{name}_points": np.nan if first else _points(number(row, column))
                    for name, column in (("diff", "diff_to_best"), ("diff_low", "diff_low"),
                                         ("diff_high", "diff_high"))})
        out["p_holm"] = number(row, "p_holm")
        if margin is not None:
            out["margin_points"] = _points(float(margin))
        for column, name in EQUIVALENCE.items():
            if column in summary:
                out[name] = number(row, column) if name.startswith("p_") else row[column]
        rows.append(out)
    return pd.DataFrame(rows)


def _number(value, digits, sign=False):
    if not np.isfinite(value):
        return ""
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return f"${text}$" if text.startswith(("-", "+")) else text


def _p(value, alpha=ALPHA):
    """`src.reporting.compute.phrases.p_text`'s p-value, its ``<`` in math mode."""
    return p_text(value, alpha).replace("<", "$<$")


def _cells(frame, alpha):
    """The shown cells: one string per table cell."""
    level = level_text(alpha).replace("%", r"\%")
    shown = pd.DataFrame(index=frame.index)
    for key in frame.columns[:list(frame.columns).index("rank")]:
        shown[key] = frame[key].astype(str)
    shown["Activation"] = frame["candidate"]
    if "tuned" in frame:
        shown["Tuned"] = frame["tuned"]
    shown["Accuracy"] = [f"{_number(m, 4)} $\\pm$ {_number(s, 4)}" if np.isfinite(m) else ""
                         for m, s in zip(frame["accuracy_mean"], frame["accuracy_std"])]
    shown[f"{level} CI"] = [f"[{_number(lo, 4)}, {_number(hi, 4)}]" if np.isfinite(lo) and np.isfinite(hi) else ""
                            for lo, hi in zip(frame["ci_low"], frame["ci_high"])]
    shown["vs best"] = frame["vs_best"]
    shown[f"Diff., points [{level} CI]"] = [
        _number(d, 2, True) + (f" [{_number(lo, 2, True)}, {_number(hi, 2, True)}]" if np.isfinite(lo) else "")
        for d, lo, hi in zip(frame["diff_points"], frame["diff_low_points"], frame["diff_high_points"])]
    shown["$p$ (Holm)"] = [_p(p, alpha) for p in frame["p_holm"]]
    if "p_equivalence" in frame:
        shown["$p$ (TOST, Holm)"] = [_p(p, alpha) for p in frame["p_equivalence"]]
    return shown


def comparison_frame(table):
    """A comparison's table (``compare.csv``) as the paper's rows: activation, mean rank, mean accuracy,
    step cost and Nemenyi's p against the best."""
    return table[["activation", *[c for c in SHOWN if c in table]]].rename(columns={"activation": "candidate"})


def _comparison_cells(frame):
    shown = pd.DataFrame({"Activation": frame["candidate"]})
    for column, (name, form) in SHOWN.items():
        if column in frame:
            shown[name] = [_p(v) if column == "p_vs_best" else form.format(v) if np.isfinite(v) else ""
                           for v in frame[column]]
    return shown


def _latex(shown, bold, text_columns, caption, label):
    """``shown`` (strings) through ``Styler.to_latex``: booktabs rules, row ``bold`` in bold."""
    styler = shown.style.hide(axis="index").set_table_styles(TABLE_STYLES)
    styler = styler.format(escape="latex", subset=text_columns)
    styler = styler.format_index(lambda c: c if "$" in c or "\\" in c else c.replace("%", r"\%"), axis=1)
    styler = styler.apply(lambda row: ["font-weight: bold" if row.name == bold else "" for _ in row], axis=1)
    align = "".join("l" if c in text_columns else "r" for c in shown.columns)
    return styler.to_latex(hrules=True, caption=caption, label=label, position_float="centering",
                           column_format=align, convert_css=True, environment="table*")


def summary_tex(frame, search, alpha=ALPHA, margin=None, label=LABEL, prefix="", n_candidates=None):
    """`paper_frame`'s rows as a LaTeX table (``summary.tex``).

    Parameters
    ----------
    frame : pandas.DataFrame
        `paper_frame`'s table.
    search : src.results.SearchRecord
        What was searched: named in the caption.
    alpha : float (default=`src.defaults.ALPHA`)
    margin : float, optional
        The equivalence margin in accuracy, named in the caption.
    label : str
        The table's ``\\label``.
    prefix : str
        Words before the caption (a sweep's ``Each job of the sweep: ``).
    n_candidates : int, optional
        The candidates the caption counts (a sweep's: one job's); by default the table's rows.

    Returns
    -------
    str
    """
    shown = _cells(frame, alpha)
    text = [c for c in shown.columns if c in frame.columns[:list(frame.columns).index("rank")]]
    text += ["Activation", "vs best"] + [c for c in ("Tuned", "Equivalence") if c in shown]
    best = frame.index[frame["rank"] == 1]
    counted = len(frame) if n_candidates is None else n_candidates
    return _latex(shown, best[0] if len(best) else None, text, prefix + caption(search, counted, alpha, margin),
                  label)


def comparison_tex(frame, n_studies, alpha=ALPHA, label=LABEL):
    """`comparison_frame`'s rows as a LaTeX table, the best mean rank in bold."""
    shown = _comparison_cells(frame)
    text = (f"Activations ranked across {n_studies} independent studies: mean rank (1 = best), mean accuracy, "
            f"step cost relative to relu and Nemenyi's $p$ against the best after a Friedman test at "
            f"$\\alpha = {alpha:g}$. Best in bold.")
    return _latex(shown, frame.index[0], ["Activation"], text, label)


def caption(search, n_candidates, alpha, margin=None):
    """The table's caption: the data, the protocol, the splits, alpha and the margin."""
    level = level_text(alpha).replace("%", r"\%")
    splits = escape(method.study_line(search, n_candidates).rstrip("."))
    protocol = "tuned (each activation at its own tuned settings)" if search.tuned else "fixed"
    text = (f"Held-out accuracy, mean $\\pm$ std over the splits: {splits}; {protocol} protocol. Intervals at "
            f"{level} and $p$-values by the Nadeau--Bengio corrected resampled $t$-test, $p$ Holm-adjusted over "
            f"all pairs; `worse' means adjusted $p < \\alpha = {alpha:g}$. Best in bold.")
    if margin is not None:
        text += f" Equivalence margin $\\pm{float(margin) * 100:.2f}$ points (two one-sided tests)."
    return text
