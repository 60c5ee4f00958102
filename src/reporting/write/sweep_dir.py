"""A sweep's root: its table, HiPlot page, the comparison across its studies, curves and report."""
from pathlib import Path

import numpy as np

from ... import layout
from ...errors import UserError
from ...files import write_csv, write_text
from ..compute.across import studies_of
from ..compute.sweep import score_column, sweep_frame
from ..present.sweep_view import sweep_markdown
from ..read.study import load
from .comparison import write_compare
from .grid_dir import write_hiplot
from .report_files import write_sweep_report


def summarize_sweep(sweep_dir):
    """Write ``summary.csv``, ``summary.md`` and ``hiplot.html`` at the sweep root.

    Returns
    -------
    (dict, DataFrame)
        The paths written and the sweep table.

    Raises
    ------
    UserError
        When no job of the sweep has results (nothing is written then).
    """
    sweep_dir = Path(sweep_dir)
    study = load(sweep_dir, "sweep")
    jobs = study.jobs
    if not jobs:
        raise UserError(f"{sweep_dir}: no job of the sweep has results to summarize")
    frame = sweep_frame(study)
    written = {"summary": write_csv(sweep_dir / layout.SUMMARY, frame),
               "summary_md": write_text(sweep_dir / layout.SUMMARY_MD, sweep_markdown(frame, jobs))}
    overrides = [c for c in frame.columns if c in set().union(*(job.overrides for job in jobs))]
    metrics = [c for c in frame.columns if c not in overrides and frame[c].dtype.kind in "fi" and c != "job"]
    rows = frame[["job"] + overrides + metrics + ["status"]].replace({np.nan: None}).to_dict("records")
    written["hiplot"] = write_hiplot(rows, sweep_dir / layout.HIPLOT, order=overrides + ["status"] + metrics,
                                     color_by=score_column(frame), categorical=overrides + ["job", "status"],
                                     title="sweep")
    return written, frame


def write_sweep(sweep_dir):
    """Summarize a sweep: its table, the comparison across its studies (when it has two or more,
    `src.compare`) and its report, which shows that comparison's verdict.

    Returns
    -------
    (dict, pandas.DataFrame)
        Name -> path of every file written (the comparison's as ``compare_<name>``), and the sweep's table.
    """
    written, frame = summarize_sweep(sweep_dir)
    studies = studies_of(sweep_dir)
    if len(studies) >= 2:
        compared, _ = write_compare([sweep_dir], sweep_dir, studies=studies)
        written.update({f"compare_{name}": path for name, path in compared.items()})
    written.update(write_sweep_report(load(sweep_dir, "sweep")))
    return written, frame
