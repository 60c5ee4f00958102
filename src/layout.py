"""The on-disk layout of results: every file and folder name, and the readers of small files.

A run dir holds a single run's results, a grid dir a grid search's, a sweep dir the jobs of
a Hydra multirun (one sub-folder each) and their summary. Every other module names files
through this one.
"""
import json
from pathlib import Path

# a single run
HISTORY = "history.csv"           # one row per epoch, diagnostics included
HISTORY_PAGE = "history.html"     # HiPlot page of the history
METRICS = "metrics.json"          # test scores, fit time, parameter count, last diagnostics
# a grid search
SEARCH = "search.json"            # what was searched: data, splits, fit keys, the refit's scores
CV_RESULTS = "cv_results.csv"     # GridSearchCV's cv_results_, parameters as labels
FOLDS = "folds.csv"               # one row per candidate and split
STATS = "stats.json"              # the comparisons behind the verdict
HIPLOT_FOLDS = "hiplot_folds.html"
FITS = "fits"                     # one record per finished fit (and its weights): resuming
# a grid or a sweep
SUMMARY = "summary.csv"           # one row per candidate (grid) or per job row (sweep)
SUMMARY_MD = "summary.md"
HIPLOT = "hiplot.html"
# every kind
REPORT = "report.html"
CURVES = "learning_curves.png"
ACTIVATION_PLOTS = "activation_*.png"
STATUS = "status.json"            # a job's outcome: ok (with its config hash), failed, diverged
# a comparison of studies (python -m src.compare, and a sweep's root when it holds several studies)
COMPARE_TABLE = "compare.csv"     # one row per activation: its rank in each study, mean rank, step cost
COMPARE_MD = "compare.md"
COMPARE_STATS = "compare.json"    # Friedman, Nemenyi's p-values, the critical difference, the verdict
COMPARE_PAGE = "compare.html"
CD_DIAGRAM = "cd_diagram.png"     # critical-difference diagram
DEPTH_PLOT = "depth.png"          # accuracy and diagnostics against depth
# MLflow's local store (+tracking=mlflow): its database and artifacts, in the run dir or the sweep's root
MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"
# Hydra's own files
HYDRA = ".hydra"
MULTIRUN = "multirun.yaml"        # at a sweep's root
# bookkeeping of resumed sweeps
LOCK = ".resume.lock"
STASH = ".stash"                  # finished results of a config moved out of a renumbered job

RESULT_FILES = (METRICS, SUMMARY)  # one of them marks a finished single run or grid
KINDS = {"sweep": MULTIRUN, "grid": SEARCH, "single": HISTORY}  # marker file of each kind, most specific first


def config_file(folder):
    """The config a run, grid or job ran with (Hydra's copy)."""
    return Path(folder) / HYDRA / "config.yaml"


def overrides_file(folder):
    """The command-line overrides of a run or job (Hydra's copy)."""
    return Path(folder) / HYDRA / "overrides.yaml"


def fits_dir(folder):
    """Where a grid keeps its fit records."""
    return Path(folder) / FITS


def kind_of(folder):
    """``"sweep"``, ``"grid"`` or ``"single"`` by the marker files in ``folder``; None for none."""
    return next((kind for kind, marker in KINDS.items() if (Path(folder) / marker).exists()), None)


def read_json(path, default=None):
    """The JSON in ``path``, or ``default`` when the file is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def read_status(job_dir):
    """The ``status.json`` of a job folder as a dict, or None when it has none."""
    return read_json(Path(job_dir) / STATUS)


def read_overrides(job_dir):
    """A job's own overrides as ``{key: value}`` (Hydra's keys left out)."""
    import yaml

    items = yaml.safe_load(overrides_file(job_dir).read_text()) or []
    return dict(item.split("=", 1) for item in items if "=" in item and not item.startswith("hydra"))


def all_job_dirs(sweep_dir):
    """Every job folder of a sweep (those holding Hydra's ``.hydra/overrides.yaml``), in job order.

    Folders under a hidden folder (``.stash``, ``.submitit``) are not jobs.
    """
    sweep_dir = Path(sweep_dir)
    dirs = [p.parent.parent for p in sweep_dir.glob(f"**/{HYDRA}/overrides.yaml")]
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
        status = read_status(job) or {}
        key = status.get("config_hash") if status.get("status") == "ok" else None
        if key is None or key not in seen:
            jobs.append(job)
            seen.add(key)
    return jobs


def record_path(record_dir, key, weights=False):
    """The file of a fit record (``KEY.json``) or of its weights (``KEY.pt``)."""
    return Path(record_dir) / f"{key}.{'pt' if weights else 'json'}"


def read_record(record_dir, key):
    """The record of a fit (whatever its status), or None when there is none."""
    return read_json(record_path(record_dir, key))


def read_records(record_dir):
    """Every fit record in a folder (successful or not), as a list of dicts with their key."""
    return [{"key": p.stem, **json.loads(p.read_text())} for p in sorted(Path(record_dir).glob("*.json"))]
