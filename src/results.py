"""What a mode computes, before anything is written: the result objects the writers turn into files
(`SingleResult`, `GridResult` and the `SearchRecord` of ``search.json``)."""
import math
from dataclasses import dataclass, field


@dataclass
class SingleResult:
    """One fitted network.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per epoch: `src.columns.HISTORY_COLUMNS`, then the per-layer diagnostics.
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

