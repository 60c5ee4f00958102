"""The pieces of ``report.html`` (`src.reporting.present.pages` puts them together): tables, sections, the page.

A page gathers what the run wrote: the summary table (with confidence intervals and
significance for grids), the verdict sentences, the learning curves and activation plots
(PNG files embedded as base64, so the page needs nothing beside it), the diagnostics of the
last epoch, a frame showing the HiPlot page that sits beside it, and the config used. It is
plain HTML and CSS: no script runs in the page itself. Every label and value is escaped.
"""
import base64
import html
import math

import numpy as np
import pandas as pd

from ... import layout
from ...columns import STATS, diagnostic_columns, split_column

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem;
  border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
p.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; vertical-align: top; }
td { white-space: nowrap; } td.prose { white-space: normal; min-width: 26rem; }
.wide { overflow-x: auto; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
tr.best td { background: #e6f4e6; font-weight: 600; } tr.unseparated td, tr.equivalent td { background: #f4f9f4; }
tr.failed td { color: #a00; } tr.unstable td { background: #fdf3e1; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: .25rem 0; }
.plots { display: flex; flex-wrap: wrap; gap: .5rem; } .plots figure { margin: 0; max-width: 380px; }
figcaption { font-size: .8rem; color: #555; }
iframe { width: 100%; height: 720px; border: 1px solid #ccc; }  /* HiPlot's parallel plot ends 668 px down its page */
pre { background: #f7f7f7; padding: .75rem; overflow-x: auto; font-size: .8rem; }
ul.verdict li { margin: .2rem 0; } p.claim { font-weight: 600; }
#decision { border-left: 4px solid #3a7d3a; background: #f6faf6; padding: .3rem 1rem .5rem; margin-top: 1rem; }
#decision h2 { border: 0; margin: .2rem 0 0; } ul.decision { list-style: none; padding: 0; margin: .3rem 0; }
ul.decision li { margin: .25rem 0; } ul.decision strong { font-weight: 600; }
table.fit { width: 100%; } table.fit td.prose { min-width: 12rem; } table.fit td.text { white-space: normal; }
details { margin: .5rem 0; } details > summary { cursor: pointer; color: #245; }
"""


# ---------------------------------------------------------------------------------------
# HTML pieces
# ---------------------------------------------------------------------------------------

def esc(value):
    """Any value as escaped HTML text."""
    return html.escape(str(value), quote=True)


def fmt(value, digits=4):
    """A table cell's text: numbers rounded, NaN and None empty, booleans as yes/no."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return "" if math.isnan(value) else str(value)
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.{digits}f}"
        return f"{value:.3e}"
    return str(value)


def table_html(frame, text_columns=(), row_classes=None, prose_columns=(), spanned=None, fit=False):
    """A DataFrame as an HTML table; every header and cell escaped.

    Parameters
    ----------
    frame : pandas.DataFrame
        Cells are shown as they are (strings) or through `fmt` (numbers).
    text_columns : iterable of str
        Left-aligned columns.
    row_classes : list of str, optional
        A CSS class per row (``best``, ``unseparated``, ``failed``).
    prose_columns : iterable of str
        Left-aligned columns of sentences, kept wide enough to read (a status, a note).
    spanned : list of bool, optional
        Rows whose prose cell also takes the empty cells before it (a row without numbers,
        such as a stopped or failed candidate): its sentence starts where its numbers end,
        in view, instead of at the far end of a wide table.
    fit : bool (default=False)
        A table of a few columns that fits the page's width (``class="fit"``): its words and sentences
        wrap instead of widening it.

    A table wider than the page scrolls sideways in its own box.
    """
    text_columns, prose_columns = set(text_columns), set(prose_columns)

    def align(column):
        return ' class="text prose"' if column in prose_columns else ' class="text"' if column in text_columns else ""

    def cells(row, span):
        shown = [(c, esc(fmt(v))) for c, v in zip(frame.columns, row)]
        out, empty = [], 0
        for column, text in shown:
            if span and column in prose_columns and text:
                out = out[:len(out) - empty]
                wide = f' colspan="{empty + 1}"' if empty else ""
                out.append(f"<td{align(column)}{wide}>{text}</td>")
                empty = 0
                continue
            empty = empty + 1 if not text else 0
            out.append(f"<td{align(column)}>{text}</td>")
        return "".join(out)

    head = "".join(f"<th{align(c)}>{esc(c)}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>{cells(row, bool(spanned and spanned[i]))}</tr>")
    opening = '<table class="fit">' if fit else "<table>"
    return (f'<div class="wide">{opening}\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table></div>")


def image_html(png, caption):
    """A PNG (its bytes) embedded as a base64 ``<img>`` inside a captioned figure."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def section(title, body, anchor):
    """An ``<h2>`` section."""
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


def paragraph(text, cls=None):
    """A ``<p>`` of escaped text, with an optional CSS class."""
    attribute = f' class="{esc(cls)}"' if cls else ""
    return f"<p{attribute}>{esc(text)}</p>"


def page_html(title, subtitle, sections):
    """A complete HTML document from a title, a subtitle and `section` strings."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{esc(title)}</h1>\n{paragraph(subtitle, 'sub')}\n" + "\n".join(sections)
            + "\n</body>\n</html>\n")


# ---------------------------------------------------------------------------------------
# Sections shared by the three kinds of page
# ---------------------------------------------------------------------------------------

def diagnostics_frame(frame, label_column="label"):
    """One row per (label, layer) with the last-epoch diagnostics found in ``frame``'s columns."""
    columns = diagnostic_columns(frame.columns)
    rows = []
    for _, record in frame.iterrows():
        layers = {}
        for column in columns:
            layer, stat = split_column(column)
            layers.setdefault(layer, {})[stat] = record[column]
        for layer, values in layers.items():
            rows.append({"candidate": record.get(label_column, ""), "layer": layer,
                         **{stat: values.get(stat, np.nan) for stat in STATS}})
    out = pd.DataFrame(rows, columns=["candidate", "layer", *STATS])
    return out.rename(columns={"dead": "dead fraction", "saturated": "saturated fraction", "mean": "mean",
                               "std": "std", "grad_norm": "gradient norm"})


def diagnostics_section(frame, label_column="label", note=""):
    """The diagnostics table of the rows of ``frame`` (labelled by ``label_column``), explained."""
    table = diagnostics_frame(frame, label_column)
    if table.empty:
        body = paragraph("No diagnostics were recorded.")
    else:
        body = paragraph(
            "Per hidden layer, on a fixed probe batch of training rows at the end of the last epoch: the "
            "fraction of units that output zero for every probe row (dead), the fraction of outputs within "
            "1% of the range from a bound (bounded activations only), the mean and std of the outputs, and "
            "the gradient norm of the Linear layer feeding the layer (from a backward pass on the probe "
            f"batch; 'output' is the output layer).{note}") + table_html(table, ["candidate", "layer"])
    return section("Diagnostics", body, "diagnostics")


def images_section(study, pattern, title, anchor, empty):
    """Every PNG of ``study``'s dir matching ``pattern``, embedded; ``empty`` when there is none."""
    found = study.figures(pattern)
    body = (('<div class="plots">' + "".join(image_html(png, name) for name, png in found) + "</div>") if found
            else paragraph(empty))
    return section(title, body, anchor)


def curves_section(study):
    """The embedded ``learning_curves.png`` of ``study``'s dir."""
    png = study.file_bytes(layout.CURVES)
    body = image_html(png, "learning curves") if png is not None else paragraph("No learning curves were drawn.")
    return section("Learning curves", body, "curves")


def hiplot_section(study, names):
    """Links to the HiPlot pages ``names`` beside the report, and a frame showing the first."""
    links = [name for name in names if study.has(name)]
    if not links:
        return section("Parallel coordinates", paragraph("No HiPlot page was written."), "hiplot")
    body = ("<p>Interactive pages beside this file: "
            + ", ".join(f'<a href="{esc(name)}">{esc(name)}</a>' for name in links) + ".</p>\n"
            f'<iframe src="{esc(links[0])}" title="{esc(links[0])}" loading="lazy"></iframe>')
    return section("Parallel coordinates", body, "hiplot")


def config_section(text):
    """The config file's ``text`` verbatim (None: there is none)."""
    body = f"<pre>{esc(text)}</pre>" if text is not None else paragraph("No config file was found.")
    return section("Config", body, "config")


def details(summary, body, opened=False):
    """A ``<details>`` block, collapsed unless ``opened``: ``summary`` (escaped) shows, a click shows ``body``."""
    return f"<details{' open' if opened else ''}><summary>{esc(summary)}</summary>\n{body}\n</details>"


def decision_section(heading, lines, claim=None):
    """The decision (`src.reporting.present.summary_view.decision`): its heading, then a line per ``(key,
    text)``, then the claim's line; empty without lines."""
    if not lines:
        return ""
    body = (paragraph(heading, "sub") + '<ul class="decision">'
            + "".join(f"<li><strong>{esc(key)}:</strong> {esc(text)}</li>" for key, text in lines) + "</ul>"
            + (paragraph(claim, "claim") if claim else ""))
    return section("Decision", body, "decision")


def verdict_section(lines, claim=None, note=None):
    """The verdict sentences as a list, then the claim's line; ``note`` before them."""
    body = ""
    if note:
        body += paragraph(note)
    if lines:
        body += '<ul class="verdict">' + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"
    if claim:
        body += paragraph(claim, "claim")
    return section("Verdict", body or paragraph("No statistics are available."), "verdict")
