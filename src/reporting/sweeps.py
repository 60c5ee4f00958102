"""A sweep's summary: one table and one HiPlot page at its root, built from every job's results."""
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from .. import layout
from ..errors import UserError
from ..files import write_csv, write_text
from ..layout import job_dirs, read_overrides, read_status
from .hiplot import write_hiplot


def job_rows(job_dir):
    """The result rows of one job: its metrics (single run), its candidates (grid) or its failure."""
    base = {"job": str(job_dir.name), **read_overrides(job_dir)}
    status = read_status(job_dir)
    if status is not None and status.get("status") != "ok":
        return [{**base, "status": status.get("status", "failed"), "error": status.get("error", "")}]
    metrics = layout.read_json(job_dir / layout.METRICS)
    if metrics is not None:
        return [{**base, **{k: v for k, v in metrics.items() if k != "activation"},
                 "label": metrics.get("activation")}]
    if (job_dir / layout.SUMMARY).exists():
        grid = pd.read_csv(job_dir / layout.SUMMARY)
        return [{**base, **row} for row in grid.to_dict("records")]
    return [{**base, "status": "incomplete", "error": "the job left no results (killed or still running)"}]


def sweep_frame(sweep_dir):
    """All jobs' rows of a sweep as one DataFrame (failed and incomplete jobs included)."""
    rows = [row for job in job_dirs(sweep_dir) for row in job_rows(job)]
    frame = pd.DataFrame(rows)
    if "status" not in frame:
        frame["status"] = "ok"
    frame["status"] = frame["status"].fillna("ok")
    return frame


SINGLE_FITS = ("The jobs are single fits: no confidence intervals or significance tests. "
               "Sweep over grids (mode=grid) for statistics per job.")


def sweep_verdict(job_dirs):
    """A sweep's verdict: each grid job's verdict lines (and its claim's), prefixed with the job.

    Returns
    -------
    (list of str, str or None)
        The lines, and the note for a sweep without them (`SINGLE_FITS`), else None.
    """
    lines = []
    for job_dir in job_dirs:
        stats_file = Path(job_dir) / layout.STATS
        if stats_file.exists():
            found = json.loads(stats_file.read_text())
            lines += [f"job {Path(job_dir).name}: {line}" for line in found.get("verdict", [])]
            if found.get("claim"):
                lines.append(f"job {Path(job_dir).name}: {found['claim']['text']}")
    return lines, None if lines else SINGLE_FITS + _as_grid(job_dirs)


def _as_grid(job_dirs):
    """The command that compares a sweep's single runs as one grid, when they differ only in their
    activation (`` To compare ... python -m src.run mode=grid 'grid.activation=[...]' ...``); else empty."""
    overrides = [read_overrides(job_dir) for job_dir in job_dirs]
    if len(overrides) < 2 or any(o.get("mode", "single") != "single" or "activation" not in o for o in overrides):
        return ""
    shared = {k: v for k, v in overrides[0].items() if k != "activation"}
    if any({k: v for k, v in o.items() if k != "activation"} != shared for o in overrides) or not all(
            re.fullmatch(r"[\w.:]+", o["activation"]) for o in overrides):  # names and import paths only
        return ""
    names = ",".join(dict.fromkeys(o["activation"] for o in overrides))
    rest = "".join(f" {shlex.quote(f'{k}={v}')}" for k, v in shared.items())
    return (f" To compare these activations with intervals and tests, run them as one grid: "
            f"python -m src.run mode=grid 'grid.activation=[{names}]'{rest}")


# columns that every job of a sweep records alike, left out of its tables unless the sweep sets them
HIDDEN = ("n_train", "threads", "seed", "dataset", "device")


def shown_columns(frame, jobs, hidden=HIDDEN):
    """The sweep table's columns to show: all but ``hidden`` ones, which stay when the jobs set them
    (a sweep over seeds shows its ``seed``)."""
    overrides = set().union(*(read_overrides(job) for job in jobs)) if jobs else set()
    return [c for c in frame.columns if c not in hidden or c in overrides]


def _score_column(frame):
    return next((c for c in ("test_accuracy", "accuracy_mean") if c in frame), None)


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
    jobs = job_dirs(sweep_dir)
    if not jobs:
        raise UserError(f"{sweep_dir}: no job of the sweep has results to summarize")
    frame = sweep_frame(sweep_dir)
    score = _score_column(frame)
    if score:
        frame = frame.sort_values(score, ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    written = {"summary": write_csv(sweep_dir / layout.SUMMARY, frame)}
    shown = shown_columns(frame, jobs)
    lines, note = sweep_verdict(jobs)
    verdict = "\n".join(f"- {line}" for line in lines) if lines else note
    written["summary_md"] = write_text(sweep_dir / layout.SUMMARY_MD,
                                       f"{frame[shown].to_markdown(index=False)}\n\n{verdict}\n")
    overrides = [c for c in frame.columns if c in set().union(*(read_overrides(j) for j in jobs))]
    metrics = [c for c in frame.columns if c not in overrides and frame[c].dtype.kind in "fi" and c != "job"]
    rows = frame[["job"] + overrides + metrics + ["status"]].replace({np.nan: None}).to_dict("records")
    written["hiplot"] = write_hiplot(rows, sweep_dir / layout.HIPLOT, order=overrides + ["status"] + metrics,
                                     color_by=score, categorical=overrides + ["job", "status"], title="sweep")
    return written, frame
