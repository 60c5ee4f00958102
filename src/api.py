"""Studies from Python and Jupyter: run one with the command line's overrides, or load one from disk.

>>> from src import api
>>> study = api.run("experiment=quick", "data=digits")   # as python -m src.run experiment=quick data=digits
>>> study.summary                                          # a DataFrame, best first
>>> study                                                  # in Jupyter: the summary table and the verdict
>>> again = api.load(study.path)

See docs/jupyter.md.
"""
import logging
from pathlib import Path

from omegaconf import OmegaConf

from . import layout
from . import run as cli
from .errors import UserError
from .files import write_text
from .logs import showing, to_console
from .modes.jobs import run_job
from .preflight import check_command_line, compose_config
from .progress import bars
from .reporting.compute.grid_tables import param_columns
from .reporting.present import curves, hiplot
from .reporting.present.colours import palette
from .reporting.present.html import details, esc, paragraph, section, table_html, verdict_section
from .reporting.present.pages import grid_summary
from .reporting.present.sweep_view import sweep_verdict
from .reporting.read import study as reader
from .study_lock import StudyLock

JOB_LOG = f"{cli.__name__.rpartition('.')[2]}.log"  # Hydra names a job's log after its module: run.log


class Study:
    """A finished run, grid or sweep: its tables as DataFrames, its verdict, curves and HiPlot.

    Parameters
    ----------
    study : src.reporting.read.study.Study
        The results dir, as the pages read it.

    Attributes
    ----------
    path : Path
    kind : {"single", "grid", "sweep"}
    folds, tuning, halving, history : pandas.DataFrame or None
        A grid's folds (one row per candidate and split), a tuned study's every fit with its inner
        and outer scores, a halving search's every candidate at every rung, a single run's epochs;
        None where the study has none.
    """

    SHARED = ("path", "kind", "folds", "tuning", "halving", "history")  # the reader's own, as they are

    def __init__(self, study):
        self.study = study

    def __getattr__(self, name):
        if name in Study.SHARED:
            return getattr(self.study, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self):
        return f"Study({str(self.path)!r}, kind={self.kind!r})"

    @property
    def summary(self):
        """DataFrame: one row per candidate (grid) or job row (sweep), best first; a run's metrics as one row."""
        if self.kind == "single":
            import pandas as pd

            return pd.DataFrame([self.study.metrics or {}])
        return self.study.summary

    def _verdict_lines(self):
        if self.kind == "sweep":
            return sweep_verdict(self.study.jobs)[0], None
        statistics = self.study.statistics or {}
        lines = list(statistics.get("verdict", []))
        if (statistics.get("tuning") or {}).get("sentence"):
            lines.append(statistics["tuning"]["sentence"])
        return lines, (statistics.get("claim") or {}).get("text")

    @property
    def verdict(self):
        """str: the verdict's sentences, one a line (empty for a single run)."""
        lines, claim = self._verdict_lines()
        return "\n".join(lines + ([claim] if claim else []))

    def curves(self):
        """The learning curves as a matplotlib Figure (None without histories)."""
        if self.kind == "single":
            return curves.run_figure(self.study)
        if self.kind == "sweep":
            return curves.sweep_figure(self.study.jobs)
        return curves.grid_figure(self.study, palette(self.summary["label"]))

    def hiplot(self):
        """The HiPlot experiment of its candidates (a grid), jobs (a sweep) or epochs (a run); ``.display()``
        shows it in a notebook."""
        if self.kind == "grid":
            rows, options = hiplot.candidate_rows(self.summary, param_columns(self.folds))
            return hiplot.experiment(rows, **options)
        frame = self.history if self.kind == "single" else self.summary
        return hiplot.experiment(frame.to_dict("records"))

    def _repr_html_(self):
        """As report.html opens: a grid's decision and compact table (every column a click away), then its
        verdict's sentences (collapsed) and the report's path; a run's or a sweep's table and verdict."""
        lines, claim = self._verdict_lines()
        report = paragraph(f"report: {self.path / layout.REPORT}", "sub")
        if self.kind == "grid":
            verdict = "".join(f"<li>{esc(line)}</li>" for line in lines)
            return ("".join(grid_summary(self.study))
                    + details("Verdict: every candidate against the best, and what the study could detect",
                              f'<ul class="verdict">{verdict}</ul>') + report)
        summary = self.summary
        table = table_html(summary, [c for c in summary if summary[c].dtype == object])
        return section("Summary", table, "summary") + verdict_section(lines, claim) + report


def load(path):
    """The finished run, grid (fixed, tuned, halving) or sweep in ``path``.

    Raises
    ------
    UserError
        When ``path`` holds no results.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} is not a directory")
    found = reader.load(path)
    if found.kind is None:
        raise UserError(f"{path} holds no results (none of {', '.join(layout.KINDS.values())}); "
                        f"give a run, grid or sweep dir")
    return Study(found)


def _job_log(cfg, out_dir):
    """The job's ``.log`` handler, formatted as Hydra's job logging formats it."""
    handler = logging.FileHandler(Path(out_dir) / JOB_LOG)
    handler.setFormatter(logging.Formatter(cfg.hydra.job_logging.formatters.detailed.format))
    return handler


def run(*overrides, out_dir=None):
    """Run a study as ``python -m src.run *overrides`` does, into the same dir, and return it.

    Parameters
    ----------
    *overrides : str
        Hydra overrides, as on the command line (``"mode=grid"``, ``"data=digits"``).
    out_dir : str or Path, optional
        Where to write; by default ``hydra.run.dir`` (``outputs/runs/<time>_<mode>``).

    Returns
    -------
    Study

    Raises
    ------
    UserError
        Bad input, with the command line's one-line message; nothing is written.
    """
    overrides = list(overrides)
    if {"-m", "--multirun"} & set(overrides):
        raise UserError("run() runs one job; start a sweep with python -m src.run -m, then load() its dir")
    check_command_line(overrides)
    cfg = compose_config(overrides, keep_hydra=True)
    out_dir = Path(out_dir if out_dir is not None else OmegaConf.select(cfg, "hydra.run.dir"))
    task = [o for o in overrides if not o.lstrip("+~").startswith("hydra.")]
    job = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    StudyLock(out_dir, job.lock.take_over, job.lock.stale_after).check()  # another live run's dir: its config stays
    write_text(layout.config_file(out_dir), OmegaConf.to_yaml(job))
    write_text(layout.overrides_file(out_dir), OmegaConf.to_yaml(task))
    to_console()
    root, handler = logging.getLogger(), _job_log(cfg, out_dir)
    root.addHandler(handler)
    try:  # the study's display shows its decision and table: the cell holds the bars and few lines
        with bars(), showing(verbose=job.train.verbose >= cli.VERBOSE, brief=False,
                             tables=job.mode == "single"):
            run_job(cli.run, job, out_dir, raise_errors=True)
    finally:
        root.removeHandler(handler)
        handler.close()
    return load(out_dir)


__all__ = ["Study", "load", "run", "UserError"]
