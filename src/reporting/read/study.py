"""A study: what a run, grid or sweep dir holds, read one way.

`load` returns a `Study`; each of its files is read on first use, through
`src.layout.read_whole` (a damaged file raises `src.errors.Damaged`), and a file the dir does
not hold reads as None. Pages, tables, comparisons, tracking and the benchmark read results
through it; nothing else under `src.reporting` opens a result file.
"""
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from ... import layout
from ...errors import Damaged, UserError
from ...defaults import ALPHA, MARGIN, VALID_FRACTION
from ...results import SearchRecord
from ...study_lock import live_holder


def _optional(path, keys=None):
    """``read_whole(path)``, or None when there is no such file."""
    return layout.read_whole(path, keys) if Path(path).exists() else None


def _result(name, doc, convert=None, keys=None):
    """A study's attribute for its file ``name``: read once on first use, None when the dir lacks it."""
    def read(study):
        found = _optional(study.path / name, keys)
        return found if found is None or convert is None else convert(found)

    read.__doc__ = f"{doc} None when missing."
    read.__name__ = name
    return cached_property(read)


def _labels_as_text(frame):
    """A table's ``label`` column as text (a label such as ``1e-3`` stays as written)."""
    if "label" in frame:
        frame["label"] = frame["label"].astype(str).where(frame["label"].notna(), frame["label"])
    return frame


def _yaml(path):
    """A YAML file as plain data; None when it is missing, empty or unreadable."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None


@dataclass(eq=False)
class Study:
    """The results of one run, grid or sweep dir.

    Attributes
    ----------
    path : Path
    kind : {"single", "grid", "sweep"} or None
        By the dir's marker files (`src.layout.kind_of`); None for a dir without results.
    """

    path: Path
    kind: str = None
    _records: dict = field(default_factory=dict, repr=False)

    # -- what every kind holds ---------------------------------------------------------
    @cached_property
    def config(self):
        """The config it ran with (Hydra's copy, plain data); empty when there is none."""
        found = _yaml(layout.config_file(self.path))
        return found if isinstance(found, dict) else {}

    @cached_property
    def overrides(self):
        """Its own command-line overrides as ``{key: value}`` (Hydra's keys left out); empty without them."""
        return layout.read_overrides(self.path) if layout.overrides_file(self.path).exists() else {}

    @cached_property
    def status(self):
        """A job's ``status.json`` as a dict, or None when it has none."""
        return layout.read_status(self.path)

    @cached_property
    def writer(self):
        """The live process that holds the folder (`src.study_lock.live_holder`), or None."""
        return live_holder(self.path)

    @property
    def failed(self):
        """Whether a job says it failed or diverged."""
        return layout.failed(self.status)

    @property
    def activation(self):
        """The configured activation (a spec), or None."""
        return self.config.get("activation")

    # -- a single run: metrics.json, history.csv --------------------------------------
    metrics = _result(layout.METRICS, "``metrics.json``: the run's test scores, fit time, diagnostics.")
    history = _result(layout.HISTORY, "``history.csv``: one row per epoch.")

    # -- a grid (and a sweep's summary) ------------------------------------------------
    search = _result(layout.SEARCH, "``search.json`` as a `src.results.SearchRecord`.", SearchRecord.from_dict)
    cv_results = _result(layout.CV_RESULTS, "``cv_results.csv``: GridSearchCV's results, one row per candidate.")
    summary = _result(layout.SUMMARY, "``summary.csv``: one row per candidate (grid) or job row (sweep).",
                      _labels_as_text)
    folds = _result(layout.FOLDS, "``folds.csv``: one row per candidate and split.")
    statistics = _result(layout.STATS, "``stats.json``: the comparisons behind the verdict.", keys=())
    tuning = _result(layout.TUNING, "``tuning.csv`` of a tuned study: every fit, its inner and outer scores.")
    halving = _result(layout.HALVING, "``halving.csv`` of a halving search: every candidate at every rung.")
    comparison = _result(layout.COMPARE_STATS, "``compare.json`` of a comparison or of a sweep's root.", keys=())
    comparison_table = _result(layout.COMPARE_TABLE, "``compare.csv`` of a comparison: one row per activation.")

    def _setting(self, name, default, recorded=lambda value: value):
        """A statistics setting, read one way: the search record's (``search.json``), else the config's
        ``stats.<name>``, else ``stats.json``'s (``recorded`` turns its value to the config's units), else
        ``default``, so a dir written before the setting existed re-renders with it."""
        if self.search is not None and getattr(self.search, name) is not None:
            return float(getattr(self.search, name))
        configured = (self.config.get("stats") or {}).get(name)
        if configured is not None:
            return float(configured)
        found = recorded(self.statistics[name]) if self.statistics and name in self.statistics else None
        return default if found is None else float(found)

    @property
    def alpha(self):
        """The significance level, by `_setting`'s precedence; the default `src.defaults.ALPHA`."""
        return self._setting("alpha", ALPHA)

    @property
    def margin(self):
        """The margin of equivalence in accuracy points, by `_setting`'s precedence (``stats.json`` holds it in
        accuracy, None for no margin); the default `src.defaults.MARGIN`."""
        return self._setting("margin", MARGIN, lambda value: 100 * value if value else 0.0)

    @property
    def valid_fraction(self):
        """The share of each fit's training rows held out for validation: its config's
        ``train.valid_fraction``, else the schema's default (what counts the rows each fit trained
        on for a search that did not record them, `src.results.SearchRecord.fit_rows`)."""
        found = (self.config.get("train") or {}).get("valid_fraction")
        return float(VALID_FRACTION if found is None else found)

    @property
    def claim(self):
        """The claimed ranking, best first (the search's, else the config's), or None."""
        claim = self.search.claim if self.search is not None else None
        if claim is None:
            claim = self.config.get("claim")
        if isinstance(claim, str):
            claim = [part.strip() for part in claim.split(">")]
        return [str(name) for name in claim if str(name).strip()] if claim else None

    def record(self, key):
        """The fit record ``key`` (whatever its status), read once; None when there is none."""
        if not key:
            return None
        if key not in self._records:
            self._records[key] = layout.read_record(layout.fits_dir(self.path), key)
        return self._records[key]

    @property
    def records(self):
        """Every fit record in the grid's fits folder, by key."""
        return {key: self.record(key) for key in layout.record_keys(layout.fits_dir(self.path))}

    def history_of(self, key):
        """The epochs of fit ``key`` as a list of dicts (empty without a record)."""
        return (self.record(key) or {}).get("history") or []

    # -- a sweep ------------------------------------------------------------------------
    @cached_property
    def jobs(self):
        """Each finished config's job folder as a `Study`, in job order (`src.layout.job_dirs`)."""
        return [load(job) for job in layout.job_dirs(self.path)] if self.kind == "sweep" else []

    # -- the files beside the results, for the pages --------------------------------------
    def has(self, name):
        """Whether the dir holds ``name`` (relative to it: a page, a figure, a table)."""
        return (self.path / name).exists()

    def file_bytes(self, name):
        """The bytes of the file ``name`` in the dir (a figure), or None when it has none."""
        path = self.path / name
        return path.read_bytes() if path.exists() else None

    def figures(self, pattern):
        """The files of the dir matching ``pattern`` (a glob), in name order: each one's name and bytes."""
        return [(path.name, path.read_bytes()) for path in sorted(self.path.glob(pattern))]

    @cached_property
    def config_text(self):
        """The config verbatim (a sweep's ``multirun.yaml``, else ``.hydra/config.yaml``), or None."""
        path = self.path / layout.MULTIRUN if self.kind == "sweep" else layout.config_file(self.path)
        return path.read_text() if path.exists() else None

    def need(self, name):
        """The table or record ``name`` (``"summary"``, ``"metrics"``, ...), raising `Damaged` when the dir lacks it."""
        value = getattr(self, name)
        if value is None:
            raise Damaged(self.path / getattr(type(self), name).func.__name__, "missing")
        return value



def load(path, kind=None):
    """The study in ``path`` (a run, grid, sweep or job dir).

    Parameters
    ----------
    path : str or Path
    kind : {"single", "grid", "sweep"}, optional
        By default from the dir's marker files; a job of a sweep that left none gets its mode.

    Returns
    -------
    Study
    """
    path = Path(path)
    return Study(path, kind or layout.kind_of(path) or layout.mode_of(path))


# A study's own folders hold no other study: the search does not descend into them.
MAX_DEPTH = 4


def studies_under(folder):
    """Every run, grid and sweep dir at or under ``folder``, newest first (by modification time).

    A study's own sub-folders (a sweep's jobs) are not listed apart from it.

    Raises
    ------
    UserError
        When ``folder`` is not a directory.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a directory")
    if layout.kind_of(folder):
        return [folder]
    found, todo = [], [(folder, 0)]
    while todo:
        current, depth = todo.pop()
        for child in sorted(p for p in current.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if layout.kind_of(child):
                found.append(child)
            elif depth + 1 < MAX_DEPTH:
                todo.append((child, depth + 1))
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


__all__ = ["Study", "load", "studies_under", "Damaged"]
