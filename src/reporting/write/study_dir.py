"""Turn a mode's result into files: the tables, HiPlot pages, plots and report of a run or grid."""
import logging
from pathlib import Path

from ... import layout
from ...files import write_csv, write_json
from ...results import HISTORY_COLUMNS
from ..present.hiplot import write_hiplot
from ..present.html import write_single_report, write_sweep_report
from ..present.summary_view import seconds
from ..compute.grid_tables import print_summary, write_grid_tables

log = logging.getLogger(__name__)


def write_history_page(history, run_dir, title="history"):
    """Write a single run's history as a HiPlot page; return its path."""
    return write_hiplot(history.to_dict("records"), Path(run_dir) / layout.HISTORY_PAGE, order=HISTORY_COLUMNS,
                        color_by="valid_acc", title=title)


def write_single(result, out_dir):
    """Write a `src.results.SingleResult` into ``out_dir``; return ``{name: path}`` of the files.

    The history table and its HiPlot page, the metrics, the learning curves, the activation's
    plot and the report.
    """
    out_dir = Path(out_dir)
    metrics = result.metrics
    written = {"history": write_csv(out_dir / layout.HISTORY, result.history),
               "history_html": write_history_page(result.history, out_dir, f"history: {metrics['activation']}"),
               "metrics": write_json(out_dir / layout.METRICS, metrics)}
    written.update(write_single_report(out_dir))
    log.info(f"{metrics['activation']}: test accuracy {metrics['test_accuracy']:.4f}, "
             f"test loss {metrics['test_loss']:.4f}, {seconds(metrics['fit_seconds'])}s; results in {out_dir}; "
             f"report: {written['report']}")
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
    written = {"search": write_json(out_dir / layout.SEARCH, result.meta),
               "cv_results": write_csv(out_dir / layout.CV_RESULTS, result.cv_results)}
    written.update(write_grid_tables(out_dir))
    print_summary(out_dir, written)
    return written


def write_sweep(sweep_dir):
    """Summarize a sweep: its table, the comparison across its studies (when it has two or more,
    `src.compare`) and its report, which shows that comparison's verdict.

    Returns
    -------
    (dict, pandas.DataFrame)
        Name -> path of every file written (the comparison's as ``compare_<name>``), and the sweep's table.
    """
    from ..compute.across import studies_of  # the comparison's statistics, only for sweeps
    from ..present.across_page import write_compare
    from ..compute.sweep import summarize_sweep

    written, frame = summarize_sweep(sweep_dir)
    if len(studies_of(sweep_dir)) >= 2:
        compared, _ = write_compare([sweep_dir], sweep_dir)
        written.update({f"compare_{name}": path for name, path in compared.items()})
    written.update(write_sweep_report(sweep_dir))
    return written, frame
