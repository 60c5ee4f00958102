"""What a mode computes, before anything is written: the result objects the writers turn into
files, and the names of the columns they carry (a history's diagnostics among them)."""
import math
import re
from dataclasses import dataclass, field

ALPHA = 0.05  # stats.alpha's default (conf/config.yaml): the level of a study that names none
MARGIN = 0.5  # stats.margin's default in accuracy points: the margin of a study that names none
VALID_FRACTION = 0.2  # train.valid_fraction's default: the validation share of a study that names none
# The columns of a single run's history, in this order (the diagnostics follow).
HISTORY_COLUMNS = ["epoch", "train_loss", "valid_loss", "valid_acc", "dur", "lr"]
# The per-layer diagnostics of `src.training.diagnostics`: ``layerK_STAT`` and ``output_grad_norm``.
STATS = ("dead", "saturated", "mean", "std", "grad_norm")
COLUMN = re.compile(r"^(layer[1-9]\d*|output)_(dead|saturated|mean|std|grad_norm)$")


def split_column(name):
    """``"layer2_dead"`` -> ``("layer2", "dead")``; None for a column that is no diagnostic."""
    match = COLUMN.match(str(name))
    if not match or (match.group(1) == "output" and match.group(2) != "grad_norm"):
        return None
    return match.group(1), match.group(2)


def is_diagnostic(name):
    """Whether a history or table column is one of the diagnostics (``layer2_dead``, ...)."""
    return split_column(name) is not None


def diagnostic_columns(columns):
    """The diagnostic columns among ``columns``, ordered by layer, then by statistic."""
    def key(name):
        layer, stat = split_column(name)
        return (int(layer[5:]) if layer != "output" else 10 ** 6, STATS.index(stat))

    return sorted((c for c in columns if is_diagnostic(c)), key=key)


def last_values(history_rows):
    """The diagnostics of the last epoch of a history, as a plain dict (empty without any).

    Parameters
    ----------
    history_rows : list of dict
        A skorch history or a fit record's ``history``.
    """
    if not history_rows:
        return {}
    last = history_rows[-1]
    return {k: float(last[k]) for k in diagnostic_columns(last) if last[k] is not None}


def stopped(item):
    """Whether a fit was stopped at a rung of successive halving: the one test of "stopped".

    Parameters
    ----------
    item : pandas.DataFrame or mapping
        A table with a ``halted_at`` column (folds, summary), or one fit record or row.

    Returns
    -------
    pandas.Series of bool, or bool
        Per row of a table; for a record or row, whether its ``halted_at`` holds a rung's epochs.
    """
    if hasattr(item, "columns"):
        import pandas as pd

        return item["halted_at"].notna() if "halted_at" in item else pd.Series(False, index=item.index)
    value = item.get("halted_at")
    return value is not None and value == value  # NaN != NaN: a table cell without a rung


@dataclass
class SingleResult:
    """One fitted network.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per epoch: `HISTORY_COLUMNS`, then the per-layer diagnostics.
    metrics : dict
        Test accuracy and loss, validation accuracy, fit time, parameter count, device, init,
        the last epoch's diagnostics, ...
    """

    history: object
    metrics: dict

    @property
    def objective(self):
        """The validation accuracy of the last epoch (what a hyperparameter sweep maximises)."""
        return self.metrics.get("valid_accuracy")


@dataclass
class GridResult:
    """A finished grid search.

    Attributes
    ----------
    cv_results : pandas.DataFrame
        GridSearchCV's ``cv_results_``, one row per candidate, parameters as readable labels
        (column ``label`` first).
    meta : SearchRecord
        What was searched: data set and sizes, splits and their data fingerprints, the fit
        keys of each candidate, the refit's test scores, the claimed ranking.
    objective : float
        The best mean cross-validated accuracy (NaN when no candidate finished).
    """

    cv_results: object
    meta: "SearchRecord" = None
    objective: float = float("nan")


@dataclass
class SearchRecord:
    """What a grid searched (``search.json``): its data, splits, fits, refit and protocol.

    Attributes
    ----------
    dataset : str
    n_train, n_test, n_classes : int
    network : dict or None
        The network's name and architecture (`src.model.networks.record`); None in older records.
        The rows searched over, the test rows, the classes.
    folds, repeats : int
        The cross-validation: ``folds`` x ``repeats`` splits.
    seed : int
    device : str
    n_jobs : int
    threads : int or None
        Torch threads of each fit (None: torch's default).
    swept : list of str
        The searched parameters (skorch names).
    search_seconds : float
    splits : list of dict
        Each fit split's ``n_train``, ``n_test``, ``n_fit`` (the rows each fit trains on: ``n_train``
        less its validation rows; see `fit_rows`), data fingerprint ``data`` and, since seeds per
        split, its ``repeat``, ``fold``, ``init`` and ``seed``. Fit split ``j`` is split
        ``j // n_inits`` at init ``j % n_inits``.
    n_inits : int
        The seeds each split trained at (``cv.inits``).
    split_seeds : bool
        Whether each split trained from its own seed (False: every fit at ``seed``; older records).
    fit_keys : dict
        Candidate label -> its fit record's key on each split.
    refit : dict or None
        The best candidate's ``params`` and its test scores.
    claim : list of str or None
        A claimed ranking, best first.
    aliases, step_cost, n_params, inits : dict or None
        Aliases met, step costs relative to relu, parameter counts and weight inits by label.
    halving : dict or None
        Successive halving: ``eta``, ``min_epochs``, ``rungs`` and every rung's ``table``.
    alpha : float or None
        The significance level of the summary.
    margin : float or None
        The margin of equivalence, in accuracy points.
    protocol : str
        ``"fixed"`` or ``"tuned"``.
    tune : list of str
        The tuned settings' short names (a tuned study).
    """

    dataset: str = ""
    n_train: int = 0
    n_test: int = 0
    n_classes: int = None
    network: dict = None
    folds: int = None
    repeats: int = None
    seed: int = None
    device: str = ""
    n_jobs: int = None
    threads: int = None
    swept: list = field(default_factory=list)
    search_seconds: float = None
    splits: list = field(default_factory=list)
    fit_keys: dict = None
    refit: dict = None
    claim: list = None
    aliases: dict = None
    step_cost: dict = None
    n_params: dict = None
    inits: dict = None
    halving: dict = None
    alpha: float = None
    margin: float = None
    protocol: str = "fixed"
    tune: list = field(default_factory=list)
    n_inits: int = 1
    split_seeds: bool = False

    @classmethod
    def from_dict(cls, data):
        """A record from ``search.json``'s object (keys it does not know are left out)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self):
        """The JSON object ``search.json`` holds."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def fit_rows(self, valid_fraction):
        """Each split's rows that a fit trains on: its recorded ``n_fit``, else its ``n_train`` less
        the validation rows that a stratified split of ``valid_fraction`` holds out (``ceil``, as
        scikit-learn's shuffle splits count them), for a record written before ``n_fit`` was."""
        return [int(s["n_fit"]) if s.get("n_fit") is not None
                else int(s["n_train"]) - math.ceil(valid_fraction * int(s["n_train"])) for s in self.splits]

    def split_of(self, j):
        """``(repeat, fold, init, seed)`` of fit split ``j`` (the seed: None for a record without it)."""
        found = self.splits[j] if j < len(self.splits) else {}
        split, init = divmod(j, self.n_inits or 1)
        return (found.get("repeat", split // self.folds), found.get("fold", split % self.folds),
                found.get("init", init), found.get("seed", None if self.split_seeds else self.seed))

    @property
    def tuned(self):
        """The tuned settings when the study ran the tuned protocol, else an empty list."""
        return list(self.tune or []) if self.protocol == "tuned" else []

