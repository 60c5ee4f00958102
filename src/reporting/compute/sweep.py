"""A sweep's summary: one table and one HiPlot page at its root, built from every job's results."""
import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from ... import layout
from ...errors import UserError
from ...files import write_csv, write_text
from ...layout import job_dirs, read_overrides, read_status
from ...results import diagnostic_columns
from ..present import summary_view
from ..present.hiplot import write_hiplot
from .stats import ALPHA


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


def sweep_alpha(job_dirs):
    """The significance level of a sweep's grid jobs (their ``stats.json``); the default when none says."""
    found = (layout.read_json(Path(job) / layout.STATS) for job in job_dirs)
    return next((stats["alpha"] for stats in found if stats and "alpha" in stats), ALPHA)


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


# columns that every job of a sweep records alike, or per-fit details, left out of its shown tables
# (summary.md, report.html) unless the sweep sets them; summary.csv keeps every column
HIDDEN = ("n_train", "threads", "seed", "dataset", "device", "n_params", "fit", "candidate")


def shown_columns(frame, jobs, hidden=HIDDEN):
    """The sweep table's columns to show (summary.md and report.html): all but ``hidden`` ones, which
    stay when the jobs set them (a sweep over seeds shows its ``seed``), the activations' diagnostics
    (the report's diagnostics section has them) and the columns without a value in any row."""
    overrides = set().union(*(read_overrides(job) for job in jobs)) if jobs else set()
    diagnostics = set(diagnostic_columns(frame.columns))
    return [c for c in frame.columns
            if (c not in hidden or c in overrides) and c not in diagnostics and frame[c].notna().any()]


def varying(overrides):
    """The keys whose values differ between the jobs' ``overrides`` (a mapping each, `read_overrides`):
    what tells the jobs apart, in the order first given."""
    keys = list(dict.fromkeys(k for o in overrides for k in o))
    return [k for k in keys if len({o.get(k) for o in overrides}) > 1]


def shared_line(jobs):
    """``Every job: mode=grid data=digits ...``: the overrides that all the jobs share; empty when none."""
    overrides = [read_overrides(job) for job in jobs]
    shared = {k: v for k, v in overrides[0].items() if all(o.get(k) == v for o in overrides)} if overrides else {}
    return f"Every job: {' '.join(f'{k}={v}' for k, v in shared.items())}" if shared else ""


def shown_table(frame, jobs, alpha=ALPHA):
    """The sweep's table as summary.md and report.html show it, every cell a string where formatted.

    Each row starts with its job and the settings that the jobs vary (those they share are said
    once, `shared_line`). A sweep of grids goes on with the grid summary's own shown columns
    (`src.reporting.present.summary_view.view`: accuracy ± std, interval, standing within its job, ...);
    a sweep of single runs with their results (`shown_columns`).
    """
    differ = [k for k in varying([read_overrides(job) for job in jobs]) if k in frame]
    keys = ["job", *differ]
    finished = frame[frame["status"] == "ok"] if "status" in frame else frame
    if "accuracy_mean" in frame and finished["accuracy_mean"].notna().all():
        view, _ = summary_view.view(frame, alpha)
        return pd.concat([frame[keys].astype(str).reset_index(drop=True), view], axis=1)
    same = set().union(*(read_overrides(job) for job in jobs)) - set(differ)  # said once, by `shared_line`
    named = "label" in frame and "activation" in frame and frame["label"].astype(str).equals(
        frame["activation"].astype(str))  # the label repeats the activation
    rest = [c for c in shown_columns(frame, jobs) if c not in same and not (named and c == "label")]
    return frame[list(dict.fromkeys(keys + rest))]


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
    if score == "accuracy_mean" and "rank" in frame:  # grids: each job's candidates together, in its own ranking
        order = frame.assign(_job=pd.to_numeric(frame["job"], errors="coerce"), _rank=frame["rank"])
        frame = frame.loc[order.sort_values(["_job", "_rank"], na_position="last", kind="stable").index]
        frame = frame.reset_index(drop=True)
    elif score:
        frame = frame.sort_values(score, ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    written = {"summary": write_csv(sweep_dir / layout.SUMMARY, frame)}
    table = shown_table(frame, jobs, sweep_alpha(jobs))
    lines, note = sweep_verdict(jobs)
    verdict = "\n".join(f"- {line}" for line in lines) if lines else note
    shared = shared_line(jobs)
    written["summary_md"] = write_text(sweep_dir / layout.SUMMARY_MD, (f"{shared}\n\n" if shared else "")
                                       + f"{table.to_markdown(index=False)}\n\n{verdict}\n")
    overrides = [c for c in frame.columns if c in set().union(*(read_overrides(j) for j in jobs))]
    metrics = [c for c in frame.columns if c not in overrides and frame[c].dtype.kind in "fi" and c != "job"]
    rows = frame[["job"] + overrides + metrics + ["status"]].replace({np.nan: None}).to_dict("records")
    written["hiplot"] = write_hiplot(rows, sweep_dir / layout.HIPLOT, order=overrides + ["status"] + metrics,
                                     color_by=score, categorical=overrides + ["job", "status"], title="sweep")
    return written, frame
