"""A grid search's plan: its candidates, splits, base net and where its fits run, worked out once."""
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Optional

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, RepeatedStratifiedKFold, StratifiedKFold

from ..cores import CorePlan
from ..data.rows import Rows
from ..errors import UserError
from ..params import candidate_label
from ..training import fit_records
from ..training import rungs
from ..training.net import make_net


def make_cv(folds, repeats, seed):
    """StratifiedKFold (shuffled with ``seed``), or RepeatedStratifiedKFold when ``repeats > 1``.

    ``folds`` (at least 2) and ``repeats`` (at least 1) are the schema's checked ``cv`` values.
    """
    if repeats == 1:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)


def _check_folds(y, folds, valid_fraction):
    smallest = int(np.bincount(y).min())
    if folds > smallest:
        raise UserError(f"cv.folds={folds} is above the smallest class count ({smallest}) of the training data")
    per_class_train = smallest - int(np.ceil(smallest / folds))
    if valid_fraction and per_class_train * valid_fraction < 1:
        raise UserError(f"the training data ({len(y)} images, smallest class {smallest}) are too few for "
                        f"{folds} folds and a validation split of {valid_fraction}; use a larger data.subset")


@dataclass
class GridPlan:
    """What a grid search is about to do, worked out once before anything trains.

    Attributes
    ----------
    net : src.training.net.Net
        The base classifier that every candidate clones (``cores.threads`` per fit set).
    grid : src.config.grid.Grid
        What the search compares (its ``params`` are the scikit-learn ``param_grid``).
    candidates : list of dict
        Every candidate's parameters, in ``cv_results_`` order.
    splits : list of (ndarray, ndarray)
        Each split's training and test rows.
    fingerprints : list of str
        Each split's training data, as `src.training.fit_records.data_fingerprint` gives it.
    rows : src.data.rows.Rows
        The training matrix as GridSearchCV sees it (rows gathered, never copied out).
    y : ndarray
        The training labels.
    record_dir : Path
        Where the fit records go.
    cores : src.cores.CorePlan
        Fits at once and the cores that they share.
    backend : str
    scheduler : str or None
    halving : src.training.rungs.Halving or None
        Successive halving's settings; None trains every candidate for every epoch.
    folds : int
        The folds of each repeat (split ``s`` is fold ``s % folds`` of repeat ``s // folds``).
    inits : int
        The seeds each split trains at (``cv.inits``): split ``s`` at init ``k`` is the search's fit
        split ``j = s * inits + k`` (`fit_splits`).
    """

    net: object
    grid: object  # a src.config.grid.Grid (modes import no config)
    candidates: list
    splits: list
    fingerprints: list
    rows: Rows
    y: np.ndarray
    record_dir: Path
    cores: CorePlan
    backend: str
    scheduler: Optional[str]
    halving: Optional[rungs.Halving] = None
    inits: int = 1
    folds: int = 1

    @property
    def params(self):
        """The scikit-learn ``param_grid``."""
        return self.grid.params

    @property
    def search_params(self):
        """The ``param_grid`` GridSearchCV runs: `params`, and every init of a split when ``inits > 1``."""
        return self.params if self.inits == 1 else {**self.params, "init_index": list(range(self.inits))}

    @property
    def fit_splits(self):
        """``(split, init)`` of every fit split ``j = split * inits + init``."""
        return [(split, k) for split in range(len(self.splits)) for k in range(self.inits)]

    @property
    def fit_train_indices(self):
        """Each fit split's training rows (a split's, once per init)."""
        return [self.splits[split][0] for split, _ in self.fit_splits]

    @property
    def fit_fingerprints(self):
        """Each fit split's training data (`fingerprints`, once per init)."""
        return [self.fingerprints[split] for split, _ in self.fit_splits]

    @property
    def fit_inits(self):
        """Each fit split's init."""
        return [k for _, k in self.fit_splits]

    @property
    def train_indices(self):
        """Each split's training rows."""
        return [tr for tr, _ in self.splits]

    @cached_property
    def fit_keys(self):
        """``{label: [fit key per fit split]}``: the records of this search's fits, and no others."""
        return {candidate_label(candidate): [
            fit_records.fit_key(clone(self.net).set_params(**candidate, init_index=k), None, None,
                                self.fingerprints[split])
            for split, k in self.fit_splits] for candidate in self.candidates}


def plan_search(dataset, net, record_dir, search):
    """Work out a grid search: the candidates, the splits, the base net, and where its fits run.

    The arguments are those of `src.modes.grid.run_grid` (``search.cores`` planned). The config's
    values were checked by the schema; this only checks what needs the data (that every fold holds
    every class).

    Returns
    -------
    GridPlan
    """
    backend, cores, halving = search.backend, search.cores, search.halving
    if net.compute.compile and backend == "threads" and cores.n_jobs > 1:
        backend = "local"  # torch.compile is not safe from several threads of one process
    X, y = dataset.X_train, dataset.y_train
    _check_folds(y, search.folds, net.training.valid_fraction)
    base = make_net(dataset.n_features, dataset.n_classes, net.replace(verbose=0, threads=cores.threads))
    # The refit is done after the search, with every core (the base net has one thread per fit).
    base.set_params(record_dir=str(record_dir), halving=bool(halving))
    if halving:
        halving = rungs.Halving(halving["eta"], halving["min_epochs"], search.grid.tuned)
    # The splits themselves, not the splitter: every fit of a split then gets the same index
    # arrays, which a Dask backend sends to the workers once (see `src.modes.backends.joblib_backend`).
    splits = list(make_cv(search.folds, search.repeats, net.training.seed).split(X, y))
    return GridPlan(net=base, grid=search.grid, candidates=list(ParameterGrid(search.grid.params)), splits=splits,
                    fingerprints=[fit_records.data_fingerprint(X, y, tr) for tr, _ in splits],
                    rows=Rows(X), y=y, record_dir=Path(record_dir), cores=cores, backend=backend,
                    scheduler=search.scheduler, halving=halving or None, inits=int(search.inits),
                    folds=int(search.folds))
