"""A grid search's settings, as one typed object built once from the validated config (`src.validate.grid_args`)."""
from dataclasses import dataclass
from typing import Any, Optional

from ..cores import CorePlan
from ..defaults import ALPHA, MARGIN


@dataclass(frozen=True)
class SearchSettings:
    """What `src.modes.grid.run_grid` searches and how.

    Parameters
    ----------
    grid : src.config.grid.Grid
        What the search compares. With ``tune`` settings (a tuned study), every candidate is
        trained at each of their combinations, and on each split its own is chosen on the fits'
        validation rows (`src.tuning`); without, the fixed protocol.
    folds, repeats : int (default=3, 3)
        Stratified K-fold, repeated ``repeats`` times with different shuffles.
    inits : int (default=1)
        Seeds per split (``cv.inits``): every split trains at ``inits`` seeds (`src.modes.inits`).
    refit : bool (default=True)
        Refit the best candidate (`src.modes.selection`) on all training data and score it on the test set.
    cores : src.cores.CorePlan, optional
        Fits at once and the cores they share (None: one fit at a time, `src.cores.plan_cores`).
    batched : bool (default=True)
        Train the folds of the candidates as stacked models first (`src.training.exhaustive`: one
        stack for all candidates that differ only in activation, init, dropout or learning rate);
        GridSearchCV then loads those fits and scores them.
    backend : {"threads", "local", "dask"} (default="threads")
        Where the fits run (see `src.modes.backends.joblib_backend`).
    scheduler : str, optional
        Address of a running Dask scheduler.
    claim : list of str, optional
        A claimed ranking of activations (best first), kept in the result for the summary to test.
    alpha : float (default=`src.defaults.ALPHA`)
        The significance level of the summary's tests and intervals (kept in the result).
    margin : float (default=`src.defaults.MARGIN`)
        The margin of equivalence in accuracy points (kept in the result).
    halving : mapping, optional
        ``{"eta": int, "min_epochs": int}``: successive halving (`src.training.rungs`) instead of
        training every stackable candidate for every epoch; needs ``batched``.
    """

    grid: Any  # a src.config.grid.Grid
    folds: int = 3
    repeats: int = 3
    inits: int = 1
    refit: bool = True
    cores: Optional[CorePlan] = None
    batched: bool = True
    backend: str = "threads"
    scheduler: Optional[str] = None
    claim: Optional[list] = None
    alpha: float = ALPHA
    margin: float = MARGIN
    halving: Optional[dict] = None
