"""Grid mode: scikit-learn's GridSearchCV over a skorch classifier, one row per candidate."""
import contextlib
import inspect
import logging
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Optional

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, make_scorer
from sklearn.model_selection import GridSearchCV, ParameterGrid, RepeatedStratifiedKFold, StratifiedKFold

from .. import layout, tuning
from ..cores import available_cores
from ..data.rows import Rows
from ..errors import UserError, WriteFailed
from ..model import activations
from ..model.mlp import MLP, resolve_init
from ..params import GRID_KEYS, candidate_label, cell, friendly
from ..results import GridResult
from ..training import exhaustive
from ..training import fit_records
from ..training import rungs
from ..training.cost import step_cost
from ..training.net import Diverged, make_net
from ..words import counted
from .single import test_scores

log = logging.getLogger(__name__)



def _predicted(proba):
    """Class predictions from ``predict_proba`` output (a vector: the positive class of two)."""
    proba = np.asarray(proba)
    return (proba > 0.5).astype(int) if proba.ndim == 1 else proba.argmax(axis=1)


def _accuracy(y_true, proba):
    return accuracy_score(y_true, _predicted(proba))


def _balanced_accuracy(y_true, proba):
    return balanced_accuracy_score(y_true, _predicted(proba))


# Every metric reads the fold's class probabilities: scikit-learn keeps one result per
# response method while scoring a fold, so the test rows go through the net once, not once
# for ``predict`` and again for ``predict_proba``.
SCORING = {"accuracy": make_scorer(_accuracy, response_method="predict_proba"),
           "balanced_accuracy": make_scorer(_balanced_accuracy, response_method="predict_proba"),
           "log_loss": make_scorer(log_loss, greater_is_better=False, response_method="predict_proba")}


def _values(key, values):
    if key == "activation" and values == "all":
        values = activations.available()
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    if key == "activation":
        return activations.distinct(values)[0]
    return values


def grid_aliases(grid):
    """The activations of a grid config that another of its activations computes exactly.

    Returns
    -------
    dict
        Trained label -> the names listed under it (see `src.model.activations.distinct`).
    """
    values = (grid or {}).get("activation")
    if values is None:
        return {}
    values = activations.available() if values == "all" else values
    return activations.distinct(list(values) if isinstance(values, (list, tuple)) else [values])[1]


def param_grid(grid):
    """Map a grid config (friendly keys, lists of values) to skorch parameter names.

    Parameters
    ----------
    grid : mapping
        E.g. ``{"activation": ["relu", "tanh"], "lr": [0.01, 0.1]}``. Keys are the names in
        `GRID_KEYS` or skorch parameter names (``optimizer__nesterov``); ``activation: all``
        means every registered activation.

    Returns
    -------
    dict
        A scikit-learn ``param_grid``.
    """
    if not grid:
        raise UserError("the grid is empty; give at least one parameter, e.g. grid.activation=[relu,tanh]")
    return {GRID_KEYS.get(key, key): _values(key, values) for key, values in grid.items()}


def check_grid(params, optimizer):
    """Raise `UserError` for a grid parameter that the network does not accept."""
    module_args = set(inspect.signature(MLP).parameters)
    optimizer_args = set(inspect.signature(optimizer).parameters)
    accepted = set(GRID_KEYS.values()) | {"lr", "batch_size", "max_epochs", "seed"}
    for key in params:
        prefix, _, name = key.partition("__")
        ok = (key in accepted or (prefix == "module" and name in module_args)
              or (prefix == "optimizer" and name in optimizer_args))
        if not ok:
            raise UserError(f"grid parameter {key!r} is not accepted by the network; use one of: "
                            f"{', '.join(sorted(GRID_KEYS))}, module__<MLP argument> or optimizer__<argument>")
    for size in params.get("module__hidden", []):
        if not size or any(int(s) <= 0 for s in (size if isinstance(size, (list, tuple)) else [size])):
            raise UserError(f"grid hidden sizes must be non-empty lists of positive ints, got {size!r}")


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


@contextlib.contextmanager
def _processes(scheduler, n_workers, scatter):
    yield  # joblib's default: loky worker processes, numpy inputs memory-mapped


@contextlib.contextmanager
def _threads(scheduler, n_workers, scatter):
    # One process, one copy of torch and of the data; torch releases the GIL in its kernels.
    with joblib.parallel_config(backend="threading"):
        yield


DASK_CONNECT_S = 5  # how long a running Dask scheduler has to answer


def dask_client(scheduler, timeout=DASK_CONNECT_S):
    """A Dask client of the running scheduler at ``scheduler`` (``search.scheduler``).

    Raises
    ------
    UserError
        When the address is malformed or no scheduler answers there within ``timeout`` seconds.
    """
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=timeout)
    except ValueError as exc:
        raise UserError(f"search.scheduler={scheduler!r} is not a Dask scheduler address ({exc}); "
                        f"give tcp://HOST:PORT, as printed by `dask scheduler`") from None
    except OSError as exc:
        raise UserError(f"search.scheduler={scheduler!r}: no Dask scheduler answered within {timeout} s ({exc}); "
                        f"start one with `dask scheduler`, or set search.scheduler=null for a local cluster") from None


@contextlib.contextmanager
def _replicas_kept(client):
    """Pause the Dask cluster's active memory manager while the grid runs (and resume it after).

    Its default policy drops every copy of a key that no task waiting on that worker needs:
    as the fits finish, the training rows sent to every worker would be left on one, and data
    sent with ``scatter`` cannot be computed again, so the death of that worker would fail
    the grid ("lost scattered data").
    """
    running = client.amm.running()
    if running:
        client.amm.stop()
    try:
        yield
    finally:
        if running:
            client.amm.start()


@contextlib.contextmanager
def _dask(scheduler, n_workers, scatter):
    from dask.distributed import Client, LocalCluster

    cluster = None if scheduler else LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                 host="127.0.0.1", dashboard_address=None)
    try:
        # The arrays of every fit (the training rows, the labels) go to each worker once, before
        # the fits, not with every fit; a copy on every worker, so that the fits of a worker
        # that dies can run again on another (data sent to one worker only dies with it).
        with dask_client(scheduler) if scheduler else Client(cluster) as client, _replicas_kept(client), \
                joblib.parallel_config(backend="dask", scatter=list(scatter) or None):
            log.info(f"grid: running on Dask at {client.scheduler.address}")
            yield
    finally:
        if cluster is not None:
            cluster.close()


JOBLIB_BACKENDS = {"local": _processes, "threads": _threads, "dask": _dask}


def joblib_backend(backend, scheduler=None, n_workers=2, scatter=()):
    """A context in which joblib runs the grid's fits on ``backend``.

    ``local``: worker processes; ``threads``: threads of this process (one copy of torch and
    of the data in memory); ``dask``: a Dask cluster at ``scheduler``, or, when it is None, a
    LocalCluster of ``n_workers`` single-threaded worker processes on the loopback interface,
    closed afterwards. On Dask, the objects in ``scatter`` (arguments of every fit) are sent
    to every worker once, up front; joblib then passes references to them.
    """
    return JOBLIB_BACKENDS[backend](scheduler, n_workers, scatter)


@dataclass
class GridPlan:
    """What a grid search is about to do, worked out once before anything trains.

    Attributes
    ----------
    net : src.training.net.Net
        The base classifier that every candidate clones (``threads`` per fit set).
    params : dict
        The scikit-learn ``param_grid`` (`param_grid`).
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
    n_jobs, cores : int
        Fits at once, and the cores that they share.
    threads : int or None
        Torch threads of each fit (None: torch's default).
    backend : str
    scheduler : str or None
    aliases : dict
        See `grid_aliases`.
    halving : src.training.rungs.Halving or None
        Successive halving's settings; None trains every candidate for every epoch.
    """

    net: object
    params: dict
    candidates: list
    splits: list
    fingerprints: list
    rows: Rows
    y: np.ndarray
    record_dir: Path
    n_jobs: int
    cores: int
    threads: Optional[int]
    backend: str
    scheduler: Optional[str]
    aliases: dict
    halving: Optional[rungs.Halving] = None

    @cached_property
    def fit_keys(self):
        """``{label: [fit key per split]}``: the records of this search's fits, and no others."""
        return {candidate_label(candidate): [
            fit_records.fit_key(clone(self.net).set_params(**candidate), None, None, fingerprint)
            for fingerprint in self.fingerprints] for candidate in self.candidates}


def plan_search(dataset, net_kwargs, record_dir, grid, tune, folds, repeats, n_jobs, backend, scheduler, halving=None):
    """Work out a grid search: the candidates, the splits, the base net, and where its fits run.

    The arguments are those of `run_grid`; the candidates are the grid's, times the ``tune``
    settings of a tuned study. The config's values were checked by the schema; this only
    checks what needs the data (that every fold holds every class).

    Returns
    -------
    GridPlan
    """
    params = param_grid({**grid, **(tune or {})})
    if net_kwargs["device"] == "cuda":
        n_jobs = 1  # one process keeps the GPU busy; several would only contend for it
    if net_kwargs.get("compile") and backend == "threads" and n_jobs > 1:
        backend = "local"  # torch.compile is not safe from several threads of one process
    X, y = dataset.X_train, dataset.y_train
    _check_folds(y, folds, net_kwargs["valid_fraction"])
    cores = net_kwargs.get("threads") or available_cores()  # a launcher may have given this job a share
    threads = max(1, cores // n_jobs) if n_jobs > 1 else net_kwargs.get("threads")
    net = make_net(dataset.n_features, dataset.n_classes, **{**net_kwargs, "verbose": 0, "threads": threads})
    # The refit is done after the search, with every core (the base net has one thread per fit).
    net.set_params(record_dir=str(record_dir), halving=bool(halving))
    if halving:
        halving = rungs.Halving(halving["eta"], halving["min_epochs"],
                                tuple(GRID_KEYS.get(k, k) for k in (tune or {})))
    # The splits themselves, not the splitter: every fit of a split then gets the same index
    # arrays, which a Dask backend sends to the workers once (see `joblib_backend`).
    splits = list(make_cv(folds, repeats, net_kwargs["seed"]).split(X, y))
    return GridPlan(net=net, params=params, candidates=list(ParameterGrid(params)), splits=splits,
                    fingerprints=[fit_records.data_fingerprint(X, y, tr) for tr, _ in splits],
                    rows=Rows(X), y=y, record_dir=Path(record_dir), n_jobs=n_jobs, cores=cores, threads=threads,
                    backend=backend, scheduler=scheduler, aliases=grid_aliases(grid), halving=halving or None)


def announce(plan):
    """Say what the search will train: aliases trained once, the count of fits, and those recorded already."""
    for kept, names in plan.aliases.items():
        log.info(f"grid: {', '.join(names)} computes the same function as {kept}; trained once as {kept}")
    n = len(plan.candidates)
    log.info(f"grid: {counted(n, 'candidate')} x {counted(len(plan.splits), 'split')} = "
             f"{counted(n * len(plan.splits), 'fit')}, {plan.n_jobs} at a time; {len(plan.y)} training images")
    keys = [key for keys in plan.fit_keys.values() for key in keys]
    recorded = sum(layout.record_path(plan.record_dir, key).exists() for key in keys)
    if recorded:
        log.info(f"grid: resuming: {recorded} of {len(keys)} fits are recorded in {plan.record_dir} from an earlier "
                 f"run of this grid; they are loaded, not trained again")


def train_stacks(plan):
    """Train the stackable candidates' folds as stacked models (`src.training.exhaustive.fill_records`).

    Returns
    -------
    int
        How many candidates are left for GridSearchCV to train fit by fit.
    """
    if plan.halving:
        return rungs.fill_records(plan.net, plan.params, plan.rows, plan.y, [tr for tr, _ in plan.splits],
                                  str(plan.record_dir), plan.halving, n_jobs=plan.n_jobs, cores=plan.cores,
                                  fingerprints=plan.fingerprints)
    return exhaustive.fill_records(plan.net, plan.params, plan.rows, plan.y, [tr for tr, _ in plan.splits],
                                   str(plan.record_dir), n_jobs=plan.n_jobs, cores=plan.cores,
                                   fingerprints=plan.fingerprints)


def run_search(plan, left_to_train):
    """Run GridSearchCV over the plan; it trains ``left_to_train`` candidates and loads the others' fits.

    Raises
    ------
    Diverged, RuntimeError
        When every fit of the search failed (see `all_failed`).
    """
    everything_recorded = left_to_train == 0
    # every fit is then a load: scoring one fit at a time with every core is fastest
    search = GridSearchCV(plan.net, plan.params, scoring=SCORING, refit=False, cv=plan.splits,
                          n_jobs=1 if everything_recorded else plan.n_jobs, error_score=np.nan, verbose=3)
    if everything_recorded:
        search.set_params(estimator__threads=plan.cores)
    with warnings.catch_warnings():
        # scikit-learn's warnings about failed fits (a traceback each) and NaN scores are
        # replaced by one line per failed candidate (`report_failures`)
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the .* scores are non-finite", category=UserWarning)
        try:
            search.fit(plan.rows, plan.y)
        except ValueError:  # scikit-learn raises when every fit failed: the records tell whether they did
            if not every_fit_failed(plan.fit_keys, plan.record_dir):
                raise
            raise all_failed(plan.record_dir) from None
    return search


def param_counts(plan):
    """Each candidate's number of weights and biases, by its label (gated layers change it)."""
    counts = {}
    for candidate in plan.candidates:
        net = clone(plan.net).set_params(**candidate)
        module = net.module(**net.get_params_for("module"))
        counts[candidate_label(candidate)] = int(sum(p.numel() for p in module.parameters()))
    return counts


def weight_inits(plan):
    """``{activation label: weight init}`` when ``model.init=auto`` gives each activation its own recipe
    (`src.model.mlp.resolve_init`); None when one init is configured for all, or the grid sweeps it."""
    module = plan.net.get_params_for("module")
    if module.get("init", "auto") != "auto" or "module__init" in plan.params:
        return None
    specs = [candidate.get("module__activation", module.get("activation")) for candidate in plan.candidates]
    return {activations.label(spec): resolve_init("auto", spec) for spec in specs}


def search_meta(plan, dataset, folds, repeats, seconds, claim, cost):
    """What the search's tables and pages need besides ``cv_results_`` (written as ``search.json``)."""
    return {
        "dataset": dataset.name, "n_train": int(len(plan.y)), "n_test": int(len(dataset.y_test)),
        "n_classes": int(dataset.n_classes),
        "folds": folds, "repeats": repeats, "seed": plan.net.seed, "device": str(plan.net.device),
        "n_jobs": plan.n_jobs,
        "threads": plan.threads,  # torch threads of each fit (None: torch's default)
        "swept": list(plan.params), "search_seconds": round(seconds, 3),
        "splits": [{"n_train": int(len(tr)), "n_test": int(len(te)), "data": fingerprint}
                   for (tr, te), fingerprint in zip(plan.splits, plan.fingerprints)],
        "fit_keys": plan.fit_keys,
        "refit": None,
        "claim": list(claim) if claim else None,
        "aliases": plan.aliases,
        "step_cost": cost,
        "n_params": param_counts(plan),
        "inits": weight_inits(plan),
        "halving": halving_meta(plan),
    }


def halving_meta(plan):
    """Successive halving's settings, rungs and every candidate's score at each rung (None without halving)."""
    if not plan.halving:
        return None
    rows = rungs.table(plan.net, plan.params, plan.y, [tr for tr, _ in plan.splits], str(plan.record_dir),
                       plan.fingerprints, plan.halving)
    return {"eta": plan.halving.eta, "min_epochs": plan.halving.min_epochs,
            "rungs": plan.halving.rungs(plan.net.max_epochs), "table": rows}


def halted(plan):
    """The labels of the candidates that successive halving stopped at a rung (a record with ``halted_at``)."""
    return {label for label, keys in plan.fit_keys.items()
            if any((layout.read_record(plan.record_dir, key) or {}).get("halted_at") is not None for key in keys)}


def full_budget_scores(plan, cv_results):
    """Each candidate's mean accuracy, NaN for a candidate stopped at a rung (it never enters a verdict)."""
    stopped = halted(plan) if plan.halving else set()
    return np.array([np.nan if candidate_label(p) in stopped else score
                     for p, score in zip(cv_results["params"], cv_results["mean_test_accuracy"])], dtype=float)


def best_fixed(plan, cv_results):
    """The candidate of best mean accuracy among those trained in full (None when none has a finite score)."""
    scores = full_budget_scores(plan, cv_results)
    return cv_results["params"][int(np.nanargmax(scores))] if np.isfinite(scores).any() else None


def tuned_trials(plan, cv_results, nuisance):
    """One row per fit of a tuned study: its settings, its validation scores and its outer score.

    Parameters
    ----------
    plan : GridPlan
    cv_results : dict
        GridSearchCV's ``cv_results_``.
    nuisance : list of str
        The tuned settings' short names.

    Returns
    -------
    (pandas.DataFrame, list of str)
        The trials, in the grid's order, and the columns that name a compared candidate.
    """
    import pandas as pd

    rows = []
    for i, params in enumerate(cv_results["params"]):
        for split, key in enumerate(plan.fit_keys[candidate_label(params)]):
            last = ((layout.read_record(plan.record_dir, key) or {}).get("history") or [{}])[-1]
            rows.append({"candidate": i, **{friendly(k): cell(v) for k, v in params.items()}, "split": split,
                         tuning.INNER: last.get("valid_acc", np.nan), tuning.TIEBREAK: last.get("valid_loss", np.nan),
                         tuning.OUTER: cv_results[f"split{split}_test_accuracy"][i]})
    trials = pd.DataFrame(rows)
    return trials, [friendly(k) for k in plan.params if friendly(k) not in nuisance]


def best_tuned(plan, cv_results, nuisance):
    """The compared candidate of best mean outer accuracy at its chosen settings, with the setting
    it was chosen at most often (`src.tuning.most_chosen`); None when none has a finite score."""
    trials, by = tuned_trials(plan, cv_results, nuisance)
    stopped = halted(plan) if plan.halving else set()
    trials = trials[[candidate_label(cv_results["params"][i]) not in stopped for i in trials["candidate"]]]
    chosen = tuning.choose(trials, nuisance, by)
    groups = dict(list(chosen[chosen["chosen"]].groupby(by, sort=False)))
    means = {key: group[tuning.OUTER].mean() for key, group in groups.items()}
    finite = {key: mean for key, mean in means.items() if np.isfinite(mean)}
    if not finite:
        return None
    rows = groups[max(finite, key=finite.get)]
    setting = tuning.most_chosen(rows, nuisance)
    match = rows[np.logical_and.reduce([rows[name] == value for name, value in setting.items()])]
    return cv_results["params"][int(match["candidate"].iloc[0])]


def refit_best(plan, best_params, dataset):
    """Refit a candidate on all training rows and score it on the test set.

    Returns
    -------
    dict or None
        Its parameters, fit time and test scores; None when there is no candidate.
    """
    if best_params is None:
        return None
    log.info(f"grid: refitting {candidate_label(best_params)} on all {len(plan.y)} training images")
    best = clone(plan.net).set_params(**best_params, threads=plan.cores)
    tic = time.perf_counter()
    best.fit(dataset.X_train, dataset.y_train)
    return {"params": {k: cell(v) for k, v in best_params.items()}, "fit_seconds": round(time.perf_counter() - tic, 3),
            **test_scores(best, dataset.X_test, dataset.y_test)}


def run_grid(dataset, net_kwargs, record_dir, grid, tune=None, folds=3, repeats=3, refit=True, n_jobs=1,
             batched=True, backend="threads", scheduler=None, claim=None, alpha=0.05, halving=None,
             margin=0.5):
    """Cross-validate every candidate of ``grid``; refit the best one and score it on the test set.

    Parameters
    ----------
    dataset : src.data.datasets.Dataset
    net_kwargs : dict
        Keyword arguments of `src.training.net.make_net` shared by all candidates.
    record_dir : Path
        Where every fit leaves its record (`src.training.fit_records`): a search run again
        with the same folder loads the fits it finished instead of training them again.
    grid : mapping
        The grid config (see `param_grid`).
    tune : mapping, optional
        A tuned study's settings (``tune``, as ``grid``): every candidate of ``grid`` is
        trained at each of their combinations, and on each split its own is chosen on the
        fits' validation rows (`src.tuning`). Empty or None: the fixed protocol.
    folds, repeats : int
        Stratified K-fold, repeated ``repeats`` times with different shuffles.
    refit : bool
        Refit the best candidate (by mean accuracy) on all training data and score it on the
        test set.
    n_jobs : int
        Fits run at once; each then uses ``cores // n_jobs`` threads.
    batched : bool
        Train the folds of the candidates as stacked models first (`src.training.exhaustive`: one
        stack for all candidates that differ only in activation, init, dropout or learning
        rate); GridSearchCV then loads those fits and scores them.
    backend : {"threads", "local", "dask"}
        Where the fits run (see `joblib_backend`).
    scheduler : str, optional
        Address of a running Dask scheduler.
    claim : list of str, optional
        A claimed ranking of activations (best first), kept in the result for the summary
        to test (every pair of the claimed order).
    alpha : float
        The significance level of the summary's tests and intervals (kept in the result).
    margin : float
        The margin of equivalence in accuracy points (kept in the result).
    halving : mapping, optional
        ``{"eta": int, "min_epochs": int}``: successive halving (`src.training.rungs`) instead
        of training every stackable candidate for every epoch; needs ``batched``.

    Returns
    -------
    src.results.GridResult
        ``cv_results_`` as a table, what was searched, and the best mean accuracy;
        `src.reporting.writers.write_grid` turns it into files.
    """
    plan = plan_search(dataset, net_kwargs, record_dir, grid, tune, folds, repeats, n_jobs, backend, scheduler,
                       halving)
    announce(plan)
    specs = [c.get("module__activation", net_kwargs["activation"]) for c in plan.candidates]
    cost = step_cost(specs, dataset.n_features, dataset.n_classes, net_kwargs["hidden"], net_kwargs["batch_size"],
                     net_kwargs["init"], net_kwargs["dropout"], net_kwargs["device"])
    start = time.perf_counter()
    # the stacks get the rows as the fits do: on Dask they are the copy that every worker holds
    scatter = (plan.rows, plan.y, *(index for split in plan.splits for index in split))
    with joblib_backend(plan.backend, plan.scheduler, n_workers=plan.n_jobs, scatter=scatter):
        left_to_train = train_stacks(plan) if batched else len(plan.candidates)
        search = run_search(plan, left_to_train)
    meta = search_meta(plan, dataset, folds, repeats, time.perf_counter() - start, claim, cost)
    nuisance = [friendly(GRID_KEYS.get(k, k)) for k in (tune or {})]
    meta.update(alpha=alpha, margin=margin, protocol="tuned" if nuisance else "fixed", tune=nuisance)
    check_recorded(meta["fit_keys"], plan.record_dir)
    report_failures(meta["fit_keys"], plan.record_dir)
    best = (best_tuned(plan, search.cv_results_, nuisance) if nuisance
            else best_fixed(plan, search.cv_results_))
    if refit:
        meta["refit"] = refit_best(plan, best, dataset)
    scores = full_budget_scores(plan, search.cv_results_)
    return GridResult(cv_results=cv_results_frame(search.cv_results_), meta=meta,
                      objective=float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan"))


def all_failed(record_dir):
    """The error to raise when every fit of a grid failed: `Diverged` when they all diverged."""
    records = layout.read_records(record_dir)
    statuses = {r.get("status") for r in records}
    first = next((r.get("error") for r in records if r.get("error")), "no fit record was written")
    if statuses == {"diverged"}:
        return Diverged(f"every fit of the grid diverged (first: {first})")
    return RuntimeError(f"every fit of the grid failed (first error: {first})")


def every_fit_failed(fit_keys, record_dir):
    """Whether every fit named in ``fit_keys`` (as in `GridPlan.fit_keys`) left a failed or diverged record."""
    records = [layout.read_record(record_dir, key) or {} for keys in fit_keys.values() for key in keys]
    return bool(records) and all(r.get("status") in ("failed", "diverged") for r in records)


def check_recorded(fit_keys, record_dir):
    """Raise `src.errors.WriteFailed` for the first fit of the search that left no record.

    Every fit leaves a record where it ran (ok, failed, diverged or stopped). In a worker
    process (``search.backend=local`` or ``dask`` with ``cv.batched=false``) a record that could
    not be written (a full disk there) fails the fit, which scikit-learn catches like any
    failed fit: only the missing record tells this process, which ends the run with one line
    instead of reporting the fit as failed. ``fit_keys`` and ``record_dir`` are as in `report_failures`.
    """
    for keys in fit_keys.values():
        for key in keys:
            path = layout.record_path(record_dir, key)
            if not path.exists():
                raise WriteFailed(path, "no record after its fit (a full disk where the fit ran, or a run dir "
                                        "that its process does not share)")


def report_failures(fit_keys, record_dir):
    """Print one line per candidate with failed or diverged splits, with the first error.

    Parameters
    ----------
    fit_keys : dict
        ``{label: [fit key per split]}``, as in ``search.json``.
    record_dir : Path
        The grid's fit records.
    """
    for label, keys in fit_keys.items():
        records = [layout.read_record(record_dir, key) or {} for key in keys]
        bad = [r for r in records if r.get("status") in ("failed", "diverged")]
        if bad:
            statuses = "/".join(sorted({r["status"] for r in bad}))
            log.info(f"grid: {label}: {statuses} on {len(bad)} of {len(keys)} splits ({bad[0].get('error', '')})")


def cv_results_frame(cv_results):
    """``cv_results_`` as a table with parameter values as readable labels (column ``label`` first)."""
    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in cv_results.items() if k != "params"})
    for column in [c for c in frame.columns if c.startswith("param_")]:
        frame[column] = [cell(v) for v in cv_results[column]]
    frame.insert(0, "label", [candidate_label(p) for p in cv_results["params"]])
    return frame
