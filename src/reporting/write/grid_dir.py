"""A grid dir's files: what was searched, its tables, statistics, HiPlot pages, figures and report."""
import logging
from dataclasses import replace
from pathlib import Path

from ... import layout, logs
from ...files import save_figure, write_csv, write_json, write_text
from ...columns import diagnostic_columns
from ..compute import tuned_study
from ..compute.grid_tables import grid_tables
from ..present.colours import palette
from ..present.hiplot import candidate_rows, hiplot_html
from ..present.isolation import isolation_figure
from ..present.summary_view import console_text, summary_markdown
from ..read.study import load
from .report_files import write_grid_report

log = logging.getLogger(__name__)


def write_hiplot(rows, path, **options):
    """Write `src.reporting.present.hiplot.hiplot_html`'s page of ``rows`` to ``path``; return the path."""
    return write_text(path, hiplot_html(rows, **options))


def write_grid_tables(out_dir):
    """(Re)build the tables, statistics, HiPlot pages, learning curves and report of a grid dir.

    Reads the grid's study (`src.reporting.read.study.load`): its ``search.json``,
    ``cv_results.csv`` and fit records; computes its tables (`grid_tables`); trains nothing.

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    out_dir = Path(out_dir)
    study = load(out_dir, "grid")
    tables = grid_tables(study)
    summary, folds, params = tables.summary, tables.folds, tables.params
    colour_of = palette(summary["label"])
    written = {}
    if tables.halving is not None:
        written["halving"] = write_csv(out_dir / layout.HALVING, tables.halving)
    if tables.trials is not None:
        written.update(write_tuning(out_dir, tables, colour_of))
    written.update({
        "folds": write_csv(out_dir / layout.FOLDS, folds),
        "summary": write_csv(out_dir / layout.SUMMARY, summary),
        "stats": write_json(out_dir / layout.STATS, tables.statistics),
        "summary_md": write_text(out_dir / layout.SUMMARY_MD,
                                 summary_markdown(summary, tables.search, tables.statistics)),
    })
    rows, options = candidate_rows(summary, params)
    written["hiplot"] = write_hiplot(rows, out_dir / layout.HIPLOT, title="candidates", **options)
    fold_metrics = ["test_accuracy", "test_balanced_accuracy", "test_log_loss", "fit_time"]
    fold_metrics += [c for c in ("rung", "halted_at") if c in folds]
    fold_diag = diagnostic_columns(folds.columns)
    fold_rows = folds[params + ["repeat", "fold"] + fold_metrics + fold_diag].to_dict("records")
    written["hiplot_folds"] = write_hiplot(fold_rows, out_dir / layout.HIPLOT_FOLDS,
                                           order=params + ["repeat", "fold"] + fold_metrics + fold_diag,
                                           color_by="test_accuracy", categorical=params, title="folds",
                                           shown=params + ["repeat", "fold"] + fold_metrics)
    # the report reads the tables just written: a fresh study that shares the fit records already read
    written.update(write_grid_report(replace(study), colour_of))
    return written


def write_tuning(out_dir, tables, colour_of):
    """Write a tuned study's ``tuning.csv``, isolation plot and tuning HiPlot page
    (`src.reporting.compute.tuned_study`).

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    trials, nuisance = tables.trials, tables.search.tuned
    written = {"tuning": write_csv(out_dir / layout.TUNING, trials)}
    figure = isolation_figure(trials, nuisance, level=1 - tables.alpha, halving=tables.search.halving,
                              colour_of=colour_of)
    if figure is not None:
        written["isolation"] = save_figure(out_dir / layout.ISOLATION_PLOT, figure)
    columns = ["activation", *nuisance, "inner_accuracy", "inner_loss", "outer_accuracy", "chosen_on", "stopped_on"]
    written["hiplot_tuning"] = write_hiplot(tuned_study.hiplot_rows(trials, nuisance), out_dir / layout.HIPLOT_TUNING,
                                            order=columns, color_by="inner_accuracy",
                                            categorical=["activation"], title="tuning (inner scores)")
    return written


def write_grid(result, out_dir):
    """Write a grid search: what was searched, ``cv_results_``, the tables, pages and report.

    Parameters
    ----------
    result : src.results.GridResult
    out_dir : Path

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    out_dir = Path(out_dir)
    written = {"search": write_json(out_dir / layout.SEARCH, result.meta.to_dict()),
               "cv_results": write_csv(out_dir / layout.CV_RESULTS, result.cv_results)}
    written.update(write_grid_tables(out_dir))
    print_summary(out_dir, written)
    return written


def print_summary(out_dir, written):
    """Log a grid's summary: the short answer for the console (`src.logs.BRIEF`: the decision, the compact
    table at the terminal's width, the report's path) and the long form (`src.logs.FULL`: ``summary.md`` and
    where every file went), which the console shows when verbose and the job's log always keeps."""
    study = load(out_dir, "grid")
    log.info(console_text(study.summary, study.statistics), extra=logs.BRIEF)
    if "report" in written:
        log.info(f"report: {written['report']}", extra=logs.BRIEF)
    log.info(Path(written["summary_md"]).read_text(), extra=logs.FULL)
    logs.paths(log, written, extra=logs.FULL)
