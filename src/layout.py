"""The on-disk layout of results: every file and folder name, and the readers of small files.

A run dir holds a single run's results, a grid dir a grid search's, a sweep dir the jobs of
a Hydra multirun (one sub-folder each) and their summary. Every other module names files
through this one, and reads back results through `read_whole`, which tells a whole file from
a damaged one.
"""
import json
from pathlib import Path

from .errors import Damaged

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
TUNING = "tuning.csv"             # a tuned study: every fit, its inner and outer scores, whether it was chosen
ISOLATION_PLOT = "isolation.png"  # a tuned study: inner score against the tuned setting, per activation
HIPLOT_TUNING = "hiplot_tuning.html"  # a tuned study: one line per activation x tuned setting
FITS = "fits"                     # one record per finished fit (and its weights): resuming
HALVING = "halving.csv"           # successive halving: every candidate's score at every rung it reached, kept or not
RUNGS = "rungs"                   # in fits/: each member's state at each rung boundary of a halving search
CHECKPOINTS = "checkpoints"       # in fits/: the last checkpoints of each stack or fit still training
# a grid or a sweep
SUMMARY = "summary.csv"           # one row per candidate (grid) or per job row (sweep)
SUMMARY_MD = "summary.md"
HIPLOT = "hiplot.html"
# every kind
REPORT = "report.html"
CURVES = "learning_curves.png"
ACTIVATION_PLOTS = "activation_*.png"
STATUS = "status.json"            # a job's outcome: ok (with its config hash), failed, diverged
TMP_PREFIX = ".tmp-"              # a file being written (src.files.atomic_path); renamed when whole
# a comparison of studies (python -m src.compare, and a sweep's root when it holds several studies)
COMPARE_TABLE = "compare.csv"     # one row per activation: its rank in each study, mean rank, step cost
COMPARE_MD = "compare.md"
COMPARE_STATS = "compare.json"    # Friedman, Nemenyi's p-values, the critical difference, the verdict
COMPARE_PAGE = "compare.html"
CD_DIAGRAM = "cd_diagram.png"     # critical-difference diagram
DEPTH_PLOT = "depth.png"          # accuracy and diagnostics against depth
# MLflow's local store (+tracking=mlflow): its database and artifacts, in the run dir or the sweep's root
PAPER = "paper"                   # python -m src.export's folder inside the study (by default)
PAPER_TABLE = "summary.tex"       # the summary as a LaTeX table (booktabs)
PAPER_METHOD = "methods.tex"      # the method paragraph with its citations
PAPER_BIB = "references.bib"
PAPER_PREVIEW = "preview.tex"     # a minimal document with the table, the method and the figures
PAPER_FORMATS = ("pdf", "svg")    # each figure of an export, in each format

MLFLOW_DB = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"
# Hydra's own files
HYDRA = ".hydra"
MULTIRUN = "multirun.yaml"        # at a sweep's root
# bookkeeping of resumed sweeps
CLAIM_LOCK = ".claim.lock"         # at a sweep's root: one job at a time claims finished results (src.study_lock)
STUDY_LOCK = ".study.lock"         # its writer: a run, grid or sweep job folder is written by one process (src.study_lock)
STASH = ".stash"                  # finished results of a config moved out of a renumbered job
DAMAGED = "damaged"               # beside a damaged result file: where it is set aside (never deleted)

RESULT_FILES = (METRICS, SUMMARY)  # one of them marks a finished single run or grid
KINDS = {"sweep": MULTIRUN, "grid": SEARCH, "single": HISTORY}  # marker file of each kind, most specific first
# kind -> the files everything else is rebuilt from (`src.report`); a grid's fit records besides
SOURCES = {"grid": (SEARCH, CV_RESULTS), "single": (HISTORY, METRICS)}
# kind -> the files of a finished job of a sweep: its sources and what the sweep's summary reads
JOB_RESULTS = {"grid": (SEARCH, CV_RESULTS, SUMMARY), "single": (HISTORY, METRICS)}
# file -> the keys its JSON object must hold to be read back
KEYS = {METRICS: ("activation", "test_accuracy"), SEARCH: ("swept", "splits"), STATUS: ("status",)}
RECORD_KEYS = ("status", "history")  # a fit record's


def config_file(folder):
    """The config a run, grid or job ran with (Hydra's copy)."""
    return Path(folder) / HYDRA / "config.yaml"


def overrides_file(folder):
    """The command-line overrides of a run or job (Hydra's copy)."""
    return Path(folder) / HYDRA / "overrides.yaml"


def fits_dir(folder):
    """Where a grid keeps its fit records."""
    return Path(folder) / FITS


def damaged_dir(folder):
    """Where the damaged files of ``folder`` are set aside."""
    return Path(folder) / DAMAGED


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


def failed(status):
    """Whether a job's ``status.json`` (`read_status`'s dict, or None) says it failed, diverged or ran out of
    time: the one test of a failed job. A job without a status file, or whose status is ``ok``, has not."""
    return status is not None and status.get("status", "ok") != "ok"


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
        key = status.get("config_hash") if status and not failed(status) else None
        if key is None or key not in seen:
            jobs.append(job)
            seen.add(key)
    return jobs


def record_path(record_dir, key, weights=False):
    """The file of a fit record (``KEY.json``) or of its weights (``KEY.pt``)."""
    return Path(record_dir) / f"{key}.{'pt' if weights else 'json'}"


def rung_path(record_dir, key, epochs):
    """The state of a halving search's member at the rung boundary after ``epochs`` epochs (``rungs/KEY.eN.pt``)."""
    return Path(record_dir) / RUNGS / f"{key}.e{int(epochs)}.pt"


def checkpoints_dir(record_dir):
    """Where a grid keeps the checkpoints of its stacks and fits still training (``fits/checkpoints/``)."""
    return Path(record_dir) / CHECKPOINTS


def checkpoint_path(record_dir, name, epoch):
    """A stack's or fit's checkpoint after ``epoch`` epochs (``checkpoints/NAME.eN.pt``)."""
    return checkpoints_dir(record_dir) / f"{name}.e{int(epoch)}.pt"


def checkpoint_epochs(record_dir, name):
    """The epochs of the checkpoints kept of the stack or fit ``name``, newest first."""
    folder = checkpoints_dir(record_dir)
    found = folder.glob(f"{name}.e*.pt") if folder.is_dir() else []
    epochs = [p.stem.rpartition(".e")[2] for p in found if not p.name.startswith(TMP_PREFIX)]
    return sorted((int(e) for e in epochs if e.isdigit()), reverse=True)


def read_record(record_dir, key):
    """The record of a fit (whatever its status), or None when there is none."""
    return read_json(record_path(record_dir, key))


def record_keys(record_dir):
    """The keys of the fit records in a folder, sorted (none when the folder is missing).

    The temporary file of a write that never finished (its process was killed between
    writing and renaming, see `src.files.atomic_path`) is no record and is passed over.
    """
    record_dir = Path(record_dir)
    paths = record_dir.glob("*.json") if record_dir.is_dir() else []
    return sorted(p.stem for p in paths if not p.name.startswith(TMP_PREFIX))


def read_records(record_dir):
    """Every fit record in a folder (successful or not), as a list of dicts with their key."""
    return [{"key": key, **json.loads(record_path(record_dir, key).read_text())} for key in record_keys(record_dir)]


def _first_line(exc):
    """The first sentence of an error's text (torch's add several lines of advice)."""
    lines = str(exc).strip().splitlines()
    return lines[0].split(". ")[0].rstrip(".") if lines else type(exc).__name__


def _json_object(path, keys=()):
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise Damaged(path, "empty")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Damaged(path, f"cut short or not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise Damaged(path, f"holds a JSON {type(value).__name__}, not an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise Damaged(path, f"lacks the key{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return value


def _table(path, keys=()):
    import io

    import pandas as pd

    data = path.read_bytes()
    if not data.strip():
        raise Damaged(path, "empty")
    if not data.endswith(b"\n"):  # a table cut off mid-row still parses
        raise Damaged(path, "cut short: its last line has no end")
    try:
        frame = pd.read_csv(io.BytesIO(data), keep_default_na=False, na_values=[""])
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' ParserError is a ValueError
        raise Damaged(path, f"not a CSV table ({_first_line(exc)})") from None
    if frame.empty:
        raise Damaged(path, "holds no rows")
    return frame


def _weights(path, keys=()):
    import torch

    if path.stat().st_size == 0:
        raise Damaged(path, "empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, pickle errors... for a bad file
        raise Damaged(path, f"not whole torch weights ({_first_line(exc)})") from None
    if not isinstance(state, dict):
        raise Damaged(path, f"holds a {type(state).__name__}, not a state dict")
    return state


READERS = {".json": _json_object, ".csv": _table, ".pt": _weights}  # suffix -> strict reader


def read_whole(path, keys=None):
    """Read a result file back, raising `src.errors.Damaged` when it is not whole.

    Parameters
    ----------
    path : str or Path
        A JSON file (read as a dict), a CSV table (a DataFrame) or torch weights (a state dict).
    keys : tuple of str, optional
        Keys a JSON object must hold; by default those of `KEYS` for its file name.

    Returns
    -------
    dict or DataFrame

    Raises
    ------
    src.errors.Damaged
        The file is missing, empty, cut short, does not parse, or parses to the wrong shape.
    """
    path = Path(path)
    keys = KEYS.get(path.name, ()) if keys is None else keys
    try:
        return READERS[path.suffix](path, keys)
    except FileNotFoundError:
        raise Damaged(path, "missing") from None
    except IsADirectoryError:
        raise Damaged(path, "a folder, not a file") from None


def damage(paths):
    """The `src.errors.Damaged` of every file of ``paths`` that is not whole (`read_whole`), in order."""
    found = []
    for path in paths:
        try:
            read_whole(path)
        except Damaged as exc:
            found.append(exc)
    return found


def record_damage(record_dir, key):
    """What is wrong with a fit record: its JSON, and its weights when it says ``ok`` (empty: whole).

    Returns
    -------
    list of src.errors.Damaged
    """
    try:
        record = read_whole(record_path(record_dir, key), RECORD_KEYS)
        if record["status"] == "ok":
            read_whole(record_path(record_dir, key, weights=True))
    except Damaged as exc:
        return [exc]
    return []


def mode_of(folder):
    """``"grid"`` or ``"single"``: the mode a run or job ran in (its Hydra config), else by its files."""
    import yaml

    try:
        mode = (yaml.safe_load(config_file(folder).read_text()) or {}).get("mode")
    except (OSError, yaml.YAMLError, AttributeError):
        mode = None
    if mode in JOB_RESULTS:
        return mode
    return next((kind for kind, files in JOB_RESULTS.items() if any((Path(folder) / f).exists() for f in files)),
                None)


def grid_record_damage(grid_dir):
    """The damaged fit records of a grid: those its ``search.json`` names (`record_damage`)."""
    meta = read_json(Path(grid_dir) / SEARCH) or {}
    keys = [key for keys in (meta.get("fit_keys") or {}).values() for key in keys]
    return [exc for key in dict.fromkeys(keys) for exc in record_damage(fits_dir(grid_dir), key)]


def results_damage(folder, files=None):
    """What is wrong with the results of a run, grid or job folder (empty when they are whole).

    Parameters
    ----------
    folder : Path
    files : mapping, optional
        Kind -> the files to check: `JOB_RESULTS` (the default: a job of a sweep, which the
        sweep's summary reads) or `SOURCES` (what `src.report` rebuilds from).

    Returns
    -------
    list of src.errors.Damaged
        One per damaged file; a grid's fit records included. A folder of neither kind gives
        one entry, for its first result file.
    """
    files = JOB_RESULTS if files is None else files
    mode = mode_of(folder)
    if mode is None:
        return [Damaged(Path(folder) / METRICS, "missing: the folder holds no results")]
    found = damage(Path(folder) / name for name in files[mode])
    return found + (grid_record_damage(folder) if mode == "grid" and not found else [])
