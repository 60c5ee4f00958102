"""A sweep's table and verdict as its summary.md and report.html show them."""
import re
import shlex

import pandas as pd

from ...columns import diagnostic_columns
from ..compute.sweep import sweep_alpha, varying
from . import summary_view


SINGLE_FITS = ("The jobs are single fits: no confidence intervals or significance tests. "
               "Sweep over grids (mode=grid) for statistics per job.")



def sweep_verdict(jobs):
    """A sweep's verdict: each grid job's verdict lines (and its claim's), prefixed with the job.

    Returns
    -------
    (list of str, str or None)
        The lines, and the note for a sweep without them (`SINGLE_FITS`), else None.
    """
    lines = []
    for job in jobs:
        found = job.statistics
        if found is not None:
            lines += [f"job {job.path.name}: {line}" for line in found.get("verdict", [])]
            if found.get("claim"):
                lines.append(f"job {job.path.name}: {found['claim']['text']}")
    return lines, None if lines else SINGLE_FITS + _as_grid(jobs)



def _as_grid(jobs):
    """The command that compares a sweep's single runs as one grid, when they differ only in their
    activation (`` To compare ... python -m src.run mode=grid 'grid.activation=[...]' ...``); else empty."""
    overrides = [job.overrides for job in jobs]
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
    overrides = set().union(*(job.overrides for job in jobs)) if jobs else set()
    diagnostics = set(diagnostic_columns(frame.columns))
    return [c for c in frame.columns
            if (c not in hidden or c in overrides) and c not in diagnostics and frame[c].notna().any()]



def shared_line(jobs):
    """``Every job: mode=grid data=digits ...``: the overrides that all the jobs share; empty when none."""
    overrides = [job.overrides for job in jobs]
    differ = varying(overrides)
    shared = {k: v for k, v in overrides[0].items() if k not in differ} if overrides else {}
    return f"Every job: {' '.join(f'{k}={v}' for k, v in shared.items())}" if shared else ""



def shown_table(frame, jobs, alpha):
    """The sweep's table as summary.md and report.html show it, every cell a string where formatted.

    Each row starts with its job and the settings that the jobs vary (those they share are said
    once, `shared_line`). A sweep of grids goes on with the grid summary's own shown columns
    (`src.reporting.present.summary_view.view`: accuracy ± std, interval, standing within its job, ...);
    a sweep of single runs with their results (`shown_columns`).
    """
    differ = [k for k in varying([job.overrides for job in jobs]) if k in frame]
    keys = ["job", *differ]
    finished = frame[frame["status"] == "ok"] if "status" in frame else frame
    if "accuracy_mean" in frame and finished["accuracy_mean"].notna().all():
        view, _ = summary_view.view(frame, alpha)
        return pd.concat([frame[keys].astype(str).reset_index(drop=True), view], axis=1)
    same = set().union(*(job.overrides for job in jobs)) - set(differ)  # said once, by `shared_line`
    named = "label" in frame and "activation" in frame and frame["label"].astype(str).equals(
        frame["activation"].astype(str))  # the label repeats the activation
    rest = [c for c in shown_columns(frame, jobs) if c not in same and not (named and c == "label")]
    return frame[list(dict.fromkeys(keys + rest))]


def sweep_markdown(frame, jobs):
    """A sweep's ``summary.md``: the shared overrides, the table (`shown_table`) and the verdict."""
    table = shown_table(frame, jobs, sweep_alpha(jobs))
    lines, note = sweep_verdict(jobs)
    verdict = "\n".join(f"- {line}" for line in lines) if lines else note
    shared = shared_line(jobs)
    return (f"{shared}\n\n" if shared else "") + f"{table.to_markdown(index=False)}\n\n{verdict}\n"
