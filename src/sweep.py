"""Hydra multirun sweeps end in one table and one HiPlot page, built from every job's results."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hydra.experimental.callback import Callback

from .files import write_csv, write_text
from .hiplot_page import write_hiplot
from .report_page import write_sweep_report

RESULT_FILES = ("metrics.json", "summary.csv", "status.json")


def all_job_dirs(sweep_dir):
    """Every job folder of a sweep (those holding Hydra's ``.hydra/overrides.yaml``), in job order.

    Folders under a hidden folder (``.stash``, ``.submitit``) are not jobs.
    """
    sweep_dir = Path(sweep_dir)
    dirs = [p.parent.parent for p in sweep_dir.glob("**/.hydra/overrides.yaml")]
    dirs = [d for d in dirs if d != sweep_dir
            and not any(part.startswith(".") for part in d.relative_to(sweep_dir).parts)]
    return sorted(dirs, key=lambda p: (len(p.parts), int(p.name) if p.name.isdigit() else p.name))


def job_dirs(sweep_dir):
    """The job folders of a sweep, each finished config once (its first folder in job order).

    A sweep re-run into its folder with its jobs numbered differently may leave the results
    of one config in two folders; the status's ``config_hash`` tells them apart.
    """
    seen, jobs = set(), []
    for job in all_job_dirs(sweep_dir):
        status = _status(job) or {}
        key = status.get("config_hash") if status.get("status") == "ok" else None
        if key is None or key not in seen:
            jobs.append(job)
            seen.add(key)
    return jobs


def _status(job_dir):
    try:
        return json.loads((job_dir / "status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _overrides(job_dir):
    items = yaml.safe_load((job_dir / ".hydra" / "overrides.yaml").read_text()) or []
    return dict(item.split("=", 1) for item in items if "=" in item and not item.startswith("hydra"))


def job_rows(job_dir):
    """The result rows of one job: its metrics (single run), its candidates (grid) or its failure."""
    base = {"job": str(job_dir.name), **_overrides(job_dir)}
    status = _status(job_dir)
    if status is not None and status.get("status") != "ok":
        return [{**base, "status": status.get("status", "failed"), "error": status.get("error", "")}]
    if (job_dir / "metrics.json").exists():
        metrics = json.loads((job_dir / "metrics.json").read_text())
        return [{**base, **{k: v for k, v in metrics.items() if k != "activation"},
                 "label": metrics.get("activation")}]
    if (job_dir / "summary.csv").exists():
        grid = pd.read_csv(job_dir / "summary.csv")
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


def _score_column(frame):
    return next((c for c in ("test_accuracy", "accuracy_mean") if c in frame), None)


def summarize_sweep(sweep_dir):
    """Write ``summary.csv``, ``summary.md`` and ``hiplot.html`` at the sweep root.

    Returns
    -------
    (dict, DataFrame)
        The paths written and the sweep table.
    """
    sweep_dir = Path(sweep_dir)
    frame = sweep_frame(sweep_dir)
    score = _score_column(frame)
    if score:
        frame = frame.sort_values(score, ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    written = {"summary": write_csv(sweep_dir / "summary.csv", frame)}
    shown = [c for c in frame.columns if c not in ("n_train", "threads", "seed", "dataset", "device")]
    written["summary_md"] = write_text(sweep_dir / "summary.md", frame[shown].to_markdown(index=False) + "\n")
    overrides = [c for c in frame.columns if c in set().union(*(_overrides(j) for j in job_dirs(sweep_dir)))]
    metrics = [c for c in frame.columns if c not in overrides and frame[c].dtype.kind in "fi" and c != "job"]
    rows = frame[["job"] + overrides + metrics + ["status"]].replace({np.nan: None}).to_dict("records")
    written["hiplot"] = write_hiplot(rows, sweep_dir / "hiplot.html", order=overrides + ["status"] + metrics,
                                     color_by=score, categorical=overrides + ["job", "status"], title="sweep")
    return written, frame


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, summarise every job at the sweep root.

    A sweep with failed jobs exits with status 1 after writing its summary, which lists them.
    """

    def on_multirun_end(self, config, **kwargs):
        sweep_dir = Path(config.hydra.sweep.dir)
        written, frame = summarize_sweep(sweep_dir)
        written.update(write_sweep_report(sweep_dir))
        print(Path(written["summary_md"]).read_text())
        for name, path in written.items():
            print(f"{name:>11}: {path}")
        failed = frame[frame["status"] != "ok"]
        if len(failed):
            print(f"error: {len(failed)} of {len(frame)} rows failed: see {written['summary']}", file=sys.stderr)
            sys.exit(1)
