"""``report.html``: one offline, self-contained page per single run, grid and sweep.

The page gathers what the run wrote: the summary table (with confidence intervals and
significance for grids), the verdict sentences, the learning curves and activation plots
(PNG files embedded as base64, so the page needs nothing beside it), the diagnostics of the
last epoch, a frame showing the HiPlot page that sits beside it, and the config used. It is
plain HTML and CSS: no script runs in the page itself. Every label and value is escaped.
"""
import base64
import html
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ... import layout
from ...files import write_text
from ...layout import job_dirs
from ...model import activations
from ...results import STATS, diagnostic_columns, split_column
from . import curves
from ..compute.halving import halving_text
from .plots import save_activation_plots
from ..compute.stats import ALPHA
from .summary_view import alias_lines, init_lines, method_text, protocol_text, study_line, true, view
from ..compute.sweep import shared_line, shown_table, sweep_alpha, sweep_verdict

log = logging.getLogger(__name__)

FILE_NAME = layout.REPORT
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
tr.best td { background: #e6f4e6; font-weight: 600; } tr.unseparated td { background: #f4f9f4; }
tr.failed td { color: #a00; } tr.unstable td { background: #fdf3e1; }
img { max-width: 100%; height: auto; border: 1px solid #eee; margin: .25rem 0; }
.plots { display: flex; flex-wrap: wrap; gap: .5rem; } .plots figure { margin: 0; max-width: 380px; }
figcaption { font-size: .8rem; color: #555; }
iframe { width: 100%; height: 720px; border: 1px solid #ccc; }  /* HiPlot's parallel plot ends 668 px down its page */
pre { background: #f7f7f7; padding: .75rem; overflow-x: auto; font-size: .8rem; }
ul.verdict li { margin: .2rem 0; } p.claim { font-weight: 600; }
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


def table_html(frame, text_columns=(), row_classes=None, prose_columns=(), spanned=None):
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
    return ('<div class="wide"><table>\n<thead><tr>' + head + "</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody>\n</table></div>")


def image_html(path, caption=None):
    """A PNG file embedded as a base64 ``<img>`` inside a captioned figure."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    caption = caption if caption is not None else Path(path).name
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


def images_section(folder, pattern, title, anchor, empty):
    """Every PNG in ``folder`` matching ``pattern``, embedded; ``empty`` when there is none."""
    paths = sorted(Path(folder).glob(pattern))
    body = ('<div class="plots">' + "".join(image_html(p) for p in paths) + "</div>") if paths else paragraph(empty)
    return section(title, body, anchor)


def curves_section(folder):
    """The embedded ``learning_curves.png`` of ``folder``."""
    path = Path(folder) / curves.FILE_NAME
    body = image_html(path, "learning curves") if path.exists() else paragraph("No learning curves were drawn.")
    return section("Learning curves", body, "curves")


def hiplot_section(folder, names):
    """Links to the HiPlot pages ``names`` beside the report, and a frame showing the first."""
    links = [name for name in names if (Path(folder) / name).exists()]
    if not links:
        return section("Parallel coordinates", paragraph("No HiPlot page was written."), "hiplot")
    body = ("<p>Interactive pages beside this file: "
            + ", ".join(f'<a href="{esc(name)}">{esc(name)}</a>' for name in links) + ".</p>\n"
            f'<iframe src="{esc(links[0])}" title="{esc(links[0])}" loading="lazy"></iframe>')
    return section("Parallel coordinates", body, "hiplot")


def config_section(path):
    """The config file at ``path``, verbatim."""
    path = Path(path)
    body = f"<pre>{esc(path.read_text())}</pre>" if path.exists() else paragraph("No config file was found.")
    return section("Config", body, "config")


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


# ---------------------------------------------------------------------------------------
# Activation plots
# ---------------------------------------------------------------------------------------

def activation_plots(specs, out_dir):
    """Draw ``activation_*.png`` for ``specs`` (`src.reporting.present.plots.save_activation_plots`).

    A failure to draw is reported on stderr and does not fail the run.

    Returns
    -------
    list of Path
        The ``activation_*.png`` files in ``out_dir`` afterwards.
    """
    specs = [s for s in dict.fromkeys(specs) if s]
    if specs:
        try:
            save_activation_plots(list(specs), Path(out_dir))
        except Exception as exc:  # a missing picture must not lose a finished run
            log.warning(f"warning: activation plots not drawn: {type(exc).__name__}: {exc}")
    return sorted(Path(out_dir).glob(layout.ACTIVATION_PLOTS))


def _config_activation(folder):
    """The activation label in ``folder/.hydra/config.yaml``, or None."""
    config = layout.config_file(Path(folder))
    if not config.exists():
        return None
    spec = (yaml.safe_load(config.read_text()) or {}).get("activation")
    try:
        return activations.label(spec) if spec is not None else None
    except Exception:
        return None


# ---------------------------------------------------------------------------------------
# Single runs
# ---------------------------------------------------------------------------------------

SINGLE_FIELDS = ["activation", "test_accuracy", "test_loss", "valid_accuracy", "epochs", "fit_seconds", "step_cost",
                 "n_params", "init", "dataset", "n_train", "seed", "device", "threads", "status"]


def single_page(run_dir):
    """The HTML of a single run's report (reads ``metrics.json`` and the files beside it)."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / layout.METRICS).read_text()) if (run_dir / layout.METRICS).exists() else {}
    shown = [k for k in SINGLE_FIELDS if k in metrics]
    shown += [k for k in metrics if k not in shown and not split_column(k)]
    summary = pd.DataFrame({"quantity": shown, "value": [metrics[k] for k in shown]})
    name = metrics.get("activation", "run")
    subtitle = (f"A single fit on {metrics.get('dataset', '?')} ({metrics.get('n_train', '?')} training images), "
                f"scored on the test set.")
    diag = pd.DataFrame([{"label": name, **{k: v for k, v in metrics.items() if split_column(k)}}])
    sections = [
        section("Summary", table_html(summary, ["quantity", "value"]), "summary"),
        verdict_section([], note="A single fit has no confidence interval or significance test; run a grid "
                                 "(mode=grid, cv.repeats > 1) to compare activations with statistics."),
        curves_section(run_dir),
        images_section(run_dir, layout.ACTIVATION_PLOTS, "Activation", "activations", "No activation plots were drawn."),
        diagnostics_section(diag),
        hiplot_section(run_dir, [layout.HISTORY_PAGE]),
        config_section(layout.config_file(run_dir)),
    ]
    return page_html(f"{name}: single run", subtitle, sections)


def write_single_report(run_dir):
    """Write a single run's ``learning_curves.png``, activation plots and ``report.html``;
    return ``{name: path}`` of the files written."""
    run_dir = Path(run_dir)
    written = {"learning_curves": curves.write_run_curves(run_dir)}
    metrics = json.loads((run_dir / layout.METRICS).read_text()) if (run_dir / layout.METRICS).exists() else {}
    activation_plots([metrics.get("activation") or _config_activation(run_dir)], run_dir)
    written["report"] = write_text(run_dir / FILE_NAME, single_page(run_dir))
    return written


# ---------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------

def tuning_section(grid_dir, tuning):
    """A tuned study's choices, robustness view and isolation plot (empty for the fixed protocol)."""
    if not tuning:
        return ""
    table = pd.DataFrame([{"activation": row["label"], "tuned setting (most chosen; range)":
                           tuning["chosen"].get(row["label"], {}).get("text", ""),
                           "mean at chosen": fmt(row["tuned_mean"]), "order": str(row["tuned_order"]),
                           "mean over tune grid": fmt(row["grid_mean"]), "order ": fmt(row["grid_order"]),
                           "failed fits": str(row.get("failed_fits", 0)),
                           "stopped fits": str(row.get("stopped_fits", 0))}
                          for row in tuning["robustness"]])
    plot = grid_dir / layout.ISOLATION_PLOT
    body = (paragraph(tuning["sentence"]) + table_html(table, ["activation", "tuned setting (most chosen; range)"])
            + (image_html(plot, "Isolation plot: validation accuracy against the tuned setting") if plot.exists()
               else ""))
    return section("Tuning", body, "tuning")


def grid_page(grid_dir):
    """The HTML of a grid's report (reads ``summary.csv`` and, when present, ``search.json``,
    ``stats.json`` and the files beside them)."""
    grid_dir = Path(grid_dir)
    summary = pd.read_csv(grid_dir / layout.SUMMARY, keep_default_na=False, na_values=[""])
    summary["label"] = summary["label"].astype(str)
    meta = json.loads((grid_dir / layout.SEARCH).read_text()) if (grid_dir / layout.SEARCH).exists() else {}
    statistics = json.loads((grid_dir / layout.STATS).read_text()) if (grid_dir / layout.STATS).exists() else {}
    alpha = statistics.get("alpha", ALPHA)
    table, standings = view(summary, alpha)
    flags = summary.get("unstable", pd.Series(False, index=summary.index))
    classes = ["unstable" if true(flag) else found if found in ("best", "unseparated", "failed") else ""
               for found, flag in zip(standings, flags)]
    subtitle = study_line(meta, len(summary))
    explain = paragraph(f"{protocol_text(meta)} {method_text(alpha)} {halving_text(meta)}".rstrip())
    aliases = "".join(paragraph(line) for line in alias_lines(meta) + init_lines(meta))
    claim = (statistics.get("claim") or {}).get("text")
    sections = [
        section("Summary", explain + table_html(table, ["candidate", "vs best"], classes, prose_columns=["status"],
                                                 spanned=[found in ("stopped", "failed") for found in standings])
                + aliases, "summary"),
        verdict_section(statistics.get("verdict", []), claim),
        tuning_section(grid_dir, statistics.get("tuning")),
        curves_section(grid_dir),
        images_section(grid_dir, layout.ACTIVATION_PLOTS, "Activations", "activations", "No activation plots were drawn."),
        diagnostics_section(summary, note=" Values are means over the folds."),
        hiplot_section(grid_dir, [layout.HIPLOT, layout.HIPLOT_FOLDS, layout.HIPLOT_TUNING]),
        config_section(layout.config_file(grid_dir)),
    ]
    return page_html("Grid search", subtitle, sections)


def grid_activations(grid_dir):
    """The activation labels a grid compared (its ``activation`` column, else the config's)."""
    summary = pd.read_csv(Path(grid_dir) / layout.SUMMARY, keep_default_na=False, na_values=[""])
    if "activation" in summary:
        return [str(a) for a in summary["activation"].dropna()]
    return [_config_activation(grid_dir)]


def write_grid_report(grid_dir):
    """Write a grid's ``learning_curves.png``, activation plots and ``report.html``.

    Needs ``summary.csv`` (and ``folds.csv`` with the fit records for the curves).

    Returns
    -------
    dict
        Name -> path of the files written.
    """
    grid_dir = Path(grid_dir)
    written = {}
    if (grid_dir / layout.FOLDS).exists():
        path = curves.write_grid_curves(grid_dir)
        if path:
            written["learning_curves"] = path
    activation_plots(grid_activations(grid_dir), grid_dir)
    written["report"] = write_text(grid_dir / FILE_NAME, grid_page(grid_dir))
    return written


# ---------------------------------------------------------------------------------------
# Sweeps
# ---------------------------------------------------------------------------------------

def sweep_page(sweep_dir, job_dirs):
    """The HTML of a sweep's report (reads the sweep's ``summary.csv`` and each job's ``stats.json``)."""
    sweep_dir = Path(sweep_dir)
    frame = pd.read_csv(sweep_dir / layout.SUMMARY, keep_default_na=False, na_values=[""])
    table = shown_table(frame, job_dirs, sweep_alpha(job_dirs))
    classes = ["failed" if str(s) not in ("ok", "nan") else "" for s in frame.get("status", ["ok"] * len(frame))]
    lines, note = sweep_verdict(job_dirs)
    labels = frame.assign(_label=[f"job {j}: {lab}" if str(lab) not in ("", "nan") else f"job {j}"
                                  for j, lab in zip(frame.get("job", [""] * len(frame)),
                                                    frame.get("label", [""] * len(frame)))])
    # left-aligned: words (an activation, an init, a status); a sweep of grids as each grid's own page has them
    keys = list(table.columns[:table.columns.get_loc("rank")]) if "rank" in table else list(table.columns)
    text_columns = [c for c in table.columns if c in ("candidate", "vs best") or (
        c in keys and pd.to_numeric(table[c], errors="coerce").isna().any())]
    shared = shared_line(job_dirs)
    sections = [
        section("Summary", (paragraph(shared) if shared else "")
                + table_html(table, text_columns, classes, prose_columns=["status"] if "rank" in table else ()),
                "summary"),
        verdict_section(lines, note=note),
        *across_section(sweep_dir),
        curves_section(sweep_dir),
        diagnostics_section(labels, "_label"),
        hiplot_section(sweep_dir, [layout.HIPLOT]),
        config_section(sweep_dir / layout.MULTIRUN),
    ]
    subtitle = f"{len(job_dirs)} jobs, {len(frame)} result rows; each job's own report.html is in its folder."
    return page_html("Sweep", subtitle, sections)


def across_section(sweep_dir):
    """The comparison across a sweep's studies (`src.compare`, written beside the page), when there is
    one: its verdict and a link to its page; else nothing."""
    found = layout.read_json(Path(sweep_dir) / layout.COMPARE_STATS)
    if not found:
        return []
    studies = esc(", ".join(found.get("studies", [])))
    body = (f"<p>The studies of this sweep ({studies}) ranked against each other; the table, the critical-difference "
            f'diagram and the ranks are in <a href="{esc(layout.COMPARE_PAGE)}">{esc(layout.COMPARE_PAGE)}</a>.</p>'
            + '<ul class="verdict">' + "".join(f"<li>{esc(line)}</li>" for line in found.get("verdict", [])) + "</ul>")
    return [section("Across the studies", body, "across")]


def write_sweep_report(sweep_dir):
    """Write a sweep's ``learning_curves.png`` (one line per job) and ``report.html``.

    Call after `src.reporting.compute.sweep.summarize_sweep` (the page shows its ``summary.csv``).

    Returns
    -------
    dict
        Name -> path of the files written.
    """
    sweep_dir = Path(sweep_dir)
    jobs = job_dirs(sweep_dir)
    written = {}
    path = curves.write_sweep_curves(sweep_dir, jobs)
    if path:
        written["learning_curves"] = path
    written["report"] = write_text(sweep_dir / FILE_NAME, sweep_page(sweep_dir, jobs))
    return written
