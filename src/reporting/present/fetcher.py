"""Results dirs as one HiPlot experiment: the experiment fetcher of ``python -m src.inspect``.

A URI is a folder (or a JSON list of folders): a run, grid or sweep dir gives its lines (one per run, per candidate of a
grid, per job or candidate of a sweep); any other folder (``outputs/``) gives the lines of
every study found under it, newest first. Each line carries its ``study``, its ``kind``, the
folder it comes from (``dir``) and that folder's ``report`` page, so that a line leads back
to its results.
"""
import json
import math
from pathlib import Path

import hiplot as hip

from ... import layout
from ...errors import Damaged, UserError
from ..compute.sweep import sweep_frame
from ..read.study import load, studies_under

# Columns first on the plot (left to right), when present; the score colours the lines.
FIRST = ["study", "kind", "job", "label", "accuracy"]
SCORE = "accuracy"
# The axes the plot shows at first after those (the others are hidden axes there, and columns of the table).
SHOWN = ["step_cost", "fit_time_mean", "fit_seconds", "diff_to_best", "separated_from_best"]


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _report(study):
    return str((study.path / layout.REPORT).resolve()) if study.has(layout.REPORT) else ""


def _single(study):
    metrics = study.metrics or {}
    return [{"label": metrics.get("activation"), SCORE: metrics.get("test_accuracy"),
             **{k: v for k, v in metrics.items() if k not in ("activation",)}}]


def _grid(study):
    return study.need("summary").rename(columns={"accuracy_mean": SCORE}).to_dict("records")


def _sweep(study):
    frame = sweep_frame(study)
    folder = study.path
    if SCORE not in frame:
        frame[SCORE] = frame.get("accuracy_mean", frame.get("test_accuracy"))
    rows = frame.drop(columns=[c for c in ("accuracy_mean",) if c in frame]).to_dict("records")
    for row in rows:
        row["dir"] = str((Path(folder) / str(row["job"])).resolve())
        row["report"] = _report(load(Path(folder) / str(row["job"])))
    return rows


ROWS = {"single": _single, "grid": _grid, "sweep": _sweep}


def study_rows(folder):
    """The lines of one run, grid or sweep dir, each with ``study``, ``kind``, ``dir`` and ``report``."""
    folder = Path(folder)
    kind = layout.kind_of(folder)
    study = load(folder, kind)
    rows = ROWS[kind](study)
    for row in rows:
        row.setdefault("dir", str(folder.resolve()))
        row.setdefault("report", _report(study))
        row.update(study=folder.name, kind=kind)
    return rows


def unreadable(exc):
    """Why a study's results cannot be read, in a few words (``no summary.csv``)."""
    if isinstance(exc, Damaged) and exc.what == "missing":
        return f"no {Path(exc.path).name}"
    if isinstance(exc, FileNotFoundError):
        return f"no {Path(exc.filename).name}" if exc.filename else "a file is missing"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def read_studies(folder):
    """The lines of every readable study at or under ``folder`` (newest first), and the others.

    A study that cannot be read (killed before its tables were written, a damaged file) is
    passed over, so that it never hides the rest.

    Returns
    -------
    rows : list of dict
    skipped : list of (Path, str)
        Each unreadable study and why (`unreadable`).

    Raises
    ------
    UserError
        When ``folder`` is missing or holds no readable results.
    """
    folder = Path(folder)
    studies = studies_under(folder)
    if not studies:
        raise UserError(f"{folder} holds no results (no run, grid or sweep dir in it)")
    rows, skipped = [], []
    for study in studies:
        try:
            rows.extend(study_rows(study))
        except (OSError, ValueError, KeyError, UserError) as exc:
            skipped.append((study, unreadable(exc)))
    if not rows:
        study, why = skipped[0]
        raise UserError(f"{folder} holds no readable results: {len(skipped)} unfinished or damaged (first: {study}, "
                        f"{why}; python -m src.report DIR rebuilds a study's tables where its fits are whole)")
    return rows, skipped


def rows_of(folder):
    """The lines of every readable study at or under ``folder``, newest study first (see `read_studies`)."""
    return read_studies(folder)[0]


def experiment(rows):
    """A HiPlot experiment of ``rows``: the identifying columns first, lines coloured by accuracy."""
    rows = [{k: _plain(v) for k, v in row.items()} for row in rows]
    xp = hip.Experiment.from_iterable(rows)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    order = [c for c in FIRST if c in columns] + [c for c in columns if c not in FIRST]
    hidden = ["uid", "from_uid"] + [c for c in order if c not in FIRST + SHOWN]
    xp.display_data(hip.Displays.PARALLEL_PLOT).update({"hide": hidden, "order": order[::-1]})
    xp.display_data(hip.Displays.TABLE).update({"hide": ["from_uid"], "order": order})
    for name in ("study", "kind", "job", "label"):
        if name in xp.parameters_definition:
            xp.parameters_definition[name].type = hip.ValueType.CATEGORICAL
    if SCORE in columns:
        xp.colorby = SCORE
    return xp


def fetch(uri):
    """HiPlot's experiment fetcher: a folder's lines (`rows_of`) as an experiment.

    ``uri`` is a folder, or a JSON list of folders whose lines make one experiment (HiPlot's
    own merge of URIs given one per line keeps only the last one's choice of axes).

    Raises
    ------
    hiplot.ExperimentFetcherDoesntApply
        When ``uri`` names no folder holding results.
    """
    uri = uri.strip()
    try:
        folders = json.loads(uri) if uri.startswith("[") else [uri]
        return experiment([row for folder in folders for row in rows_of(Path(folder).expanduser())])
    except (UserError, OSError, ValueError, TypeError):
        raise hip.ExperimentFetcherDoesntApply() from None
