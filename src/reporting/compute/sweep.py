"""A sweep's table: every job's result rows in one frame, and what tells the jobs apart."""
import pandas as pd

from ...ranking import rank_order
from ...defaults import ALPHA
from ...study_lock import describe


def job_rows(job):
    """The result rows of one job (a `Study`): its metrics (single run), its candidates (grid), its failure,
    or ``running`` while another live process writes it (`src.study_lock`)."""
    base = {"job": str(job.path.name), **job.overrides}
    if job.failed:
        return [{**base, "status": job.status.get("status", "failed"), "error": job.status.get("error", "")}]
    if job.metrics is not None:
        return [{**base, **{k: v for k, v in job.metrics.items() if k != "activation"},
                 "label": job.metrics.get("activation")}]
    if job.summary is not None:
        return [{**base, **row} for row in job.summary.to_dict("records")]
    if job.writer is not None:
        return [{**base, "status": "running", "error": f"being written by {describe(job.writer)}"}]
    return [{**base, "status": "incomplete", "error": "the job left no results (killed or still running)"}]


def sweep_frame(study):
    """All jobs' rows of a sweep (a `Study`) as one DataFrame, failed and incomplete jobs included.

    A sweep of grids lists each job's candidates together, in that job's ranking; a sweep of
    single runs is sorted by test accuracy.
    """
    frame = pd.DataFrame([row for job in study.jobs for row in job_rows(job)])
    if "status" not in frame:
        frame["status"] = "ok"
    frame["status"] = frame["status"].fillna("ok")
    score = score_column(frame)
    if score == "accuracy_mean" and "rank" in frame:  # grids: each job's candidates together, in its own ranking
        order = frame.assign(_job=pd.to_numeric(frame["job"], errors="coerce"), _rank=frame["rank"])
        frame = frame.loc[order.sort_values(["_job", "_rank"], na_position="last", kind="stable").index]
    elif score:
        losses = frame["test_log_loss"] if score == "test_accuracy" and "test_log_loss" in frame else None
        frame = frame.iloc[rank_order(frame[score], losses)]
    return frame.reset_index(drop=True)


def sweep_alpha(jobs):
    """The significance level of a sweep's grid jobs (the first with a ``stats.json``: its `Study.alpha`); the
    default when there is none."""
    return next((job.alpha for job in jobs if job.statistics), ALPHA)


def varying(overrides):
    """The keys whose values differ between the jobs' ``overrides`` (a mapping each): what tells the jobs
    apart, in the order first given. The one reader of that, for the sweep's table and `src.compare`."""
    keys = list(dict.fromkeys(k for o in overrides for k in o))
    return [k for k in keys if len({o.get(k) for o in overrides}) > 1]


def score_column(frame):
    """The score a sweep's table is sorted and coloured by: a single run's test accuracy, a grid's mean."""
    return next((c for c in ("test_accuracy", "accuracy_mean") if c in frame), None)
