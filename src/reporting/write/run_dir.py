"""A single run's dir: its history, metrics, HiPlot page, figures and report."""
import logging
from pathlib import Path

from ... import layout
from ...files import write_csv, write_json
from ...columns import HISTORY_COLUMNS
from ..present.summary_view import seconds
from ..read.study import load
from .grid_dir import write_hiplot
from .report_files import write_single_report

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
    written.update(write_single_report(load(out_dir, "single")))
    log.info(f"{metrics['activation']}: test accuracy {metrics['test_accuracy']:.4f}, "
             f"test loss {metrics['test_loss']:.4f}, {seconds(metrics['fit_seconds'])}s; results in {out_dir}; "
             f"report: {written['report']}")
    return written




def rebuild_run(run_dir):
    """Rebuild a single run's HiPlot page, figures and report from its history and metrics."""
    study = load(run_dir, "single")
    return {"history_html": write_history_page(study.history, study.path), **write_single_report(study)}
