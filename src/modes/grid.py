"""Grid mode: scikit-learn's GridSearchCV over a skorch classifier, one row per candidate."""
import logging
import time
import warnings
from dataclasses import replace

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, make_scorer
from sklearn.model_selection import GridSearchCV

from ..cores import plan_cores
from ..model import activations, networks
from ..model.mlp import resolve_init
from ..params import candidate_label, cell
from ..results import GridResult, SearchRecord
from ..training import fit_records
from ..training import rungs
from ..training.grouping import fold_rows
from ..training.cost import step_cost
from ..training import exhaustive
from ..words import counted
from .backends import joblib_backend
from .failures import all_failed, check_recorded, report_failures
from .inits import merge_inits
from .plan import plan_search
from .selection import best_fixed, best_tuned, full_budget_scores
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


def announce(plan):
    """Say what the search will train: aliases trained once, the count of fits, and those recorded already."""
    for kept, names in plan.grid.aliases.items():
        log.info(f"grid: {', '.join(names)} computes the same function as {kept}; trained once as {kept}")
    n = len(plan.candidates)
    seeds = f" x {plan.inits} seeds" if plan.inits > 1 else ""
    log.info(f"grid: {counted(n, 'candidate')} x {counted(len(plan.splits), 'split')}{seeds} = "
             f"{counted(n * len(plan.fit_splits), 'fit')}, {plan.cores.n_jobs} at a time; {len(plan.y)} training images")
    recorded, fits = fit_records.recorded(plan.fit_keys, plan.record_dir), sum(map(len, plan.fit_keys.values()))
    if recorded:
        log.info(f"grid: resuming: {recorded} of {fits} fits are recorded in {plan.record_dir} from an earlier "
                 f"run of this grid; they are loaded, not trained again")


def train_stacks(plan):
    """Train the stackable candidates' folds as stacked models (`src.training.exhaustive.fill_records`).

    Returns
    -------
    int
        How many candidates are left for GridSearchCV to train fit by fit.
    """
    if plan.halving:
        return rungs.fill_records(plan.net, plan.params, plan.rows, plan.y, plan.train_indices,
                                  str(plan.record_dir), plan.halving, cores=plan.cores, fingerprints=plan.fingerprints)
    return exhaustive.fill_records(plan.net, plan.params, plan.rows, plan.y, plan.fit_train_indices,
                                   str(plan.record_dir), cores=plan.cores, fingerprints=plan.fit_fingerprints,
                                   inits=plan.fit_inits if plan.inits > 1 else None)


def run_search(plan, left_to_train):
    """Run GridSearchCV over the plan; it trains ``left_to_train`` candidates and loads the others' fits.

    Raises
    ------
    Diverged, RuntimeError
        When every fit of the search failed (see `src.modes.failures.all_failed`).
    """
    everything_recorded = left_to_train == 0
    # every fit is then a load: scoring one fit at a time with every core is fastest
    search = GridSearchCV(plan.net, plan.search_params, scoring=SCORING, refit=False, cv=plan.splits,
                          n_jobs=1 if everything_recorded else plan.cores.n_jobs, error_score=np.nan,
                          # a line per fit, which this process sends to the job's log (and the bar of fits); worker
                          # processes would print theirs straight to the console
                          verbose=3 if plan.backend == "threads" or everything_recorded else 0)
    if everything_recorded:
        search.set_params(estimator__threads=plan.cores.cores)
    with warnings.catch_warnings():
        # scikit-learn's warnings about failed fits (a traceback each) and NaN scores are
        # replaced by one line per failed candidate (`report_failures`)
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", message="One or more of the .* scores are non-finite", category=UserWarning)
        try:
            search.fit(plan.rows, plan.y)
        except ValueError:  # scikit-learn raises when every fit failed: the records tell whether they did
            if not fit_records.every_fit_failed(plan.fit_keys, plan.record_dir):
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


def search_meta(plan, dataset, search, seconds, cost):
    """What the search's tables and pages need besides ``cv_results_`` (written as ``search.json``): the
    plan's facts, ``search``'s settings (a `src.modes.search_settings.SearchSettings`), its ``seconds`` and
    the step ``cost`` (`src.training.cost.step_cost`).

    Returns
    -------
    src.results.SearchRecord
    """
    nuisance = plan.grid.nuisance
    return SearchRecord(
        dataset=dataset.name, n_train=int(len(plan.y)), n_test=int(len(dataset.y_test)),
        network=networks.record(plan.net.module, plan.net.get_params_for("module")),
        n_classes=int(dataset.n_classes), folds=search.folds, repeats=search.repeats, seed=plan.net.seed,
        device=str(plan.net.device), n_jobs=plan.cores.n_jobs,
        threads=plan.cores.threads,  # torch threads of each fit (None: torch's default)
        swept=list(plan.params), search_seconds=round(seconds, 3),
        splits=split_records(plan), n_inits=plan.inits, split_seeds=bool(plan.net.split_seeds),
        fit_keys=plan.fit_keys, refit=None, claim=list(search.claim) if search.claim else None,
        aliases=plan.grid.aliases,
        step_cost=cost, n_params=param_counts(plan), inits=weight_inits(plan), halving=halving_meta(plan),
        alpha=search.alpha, margin=search.margin, protocol="tuned" if nuisance else "fixed", tune=nuisance)


def split_records(plan):
    """Each fit split's sizes, training data, repeat, fold, init and seed (`src.results.SearchRecord.splits`)."""
    fit_rows = fold_rows(plan.net, plan.y, plan.train_indices)
    folds = plan.folds
    return [{"n_train": int(len(plan.splits[s][0])), "n_test": int(len(plan.splits[s][1])),
             "n_fit": int(len(fit_rows[s][0])), "data": plan.fingerprints[s], "repeat": s // folds, "fold": s % folds,
             "init": k, "seed": plan.net.seed_for(plan.fingerprints[s], k)} for s, k in plan.fit_splits]


def halving_meta(plan):
    """Successive halving's settings, rungs and every candidate's score at each rung (None without halving)."""
    if not plan.halving:
        return None
    rows = rungs.table(plan.net, plan.params, plan.y, plan.train_indices, str(plan.record_dir), plan.fingerprints,
                       plan.halving)
    return {"eta": plan.halving.eta, "min_epochs": plan.halving.min_epochs,
            "rungs": plan.halving.rungs(plan.net.max_epochs), "table": rows}


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
    best = clone(plan.net).set_params(**best_params, threads=plan.cores.cores)
    tic = time.perf_counter()
    best.fit(dataset.X_train, dataset.y_train)
    return {"params": {k: cell(v) for k, v in best_params.items()}, "fit_seconds": round(time.perf_counter() - tic, 3),
            **test_scores(best, dataset.X_test, dataset.y_test)}


def run_grid(dataset, net, record_dir, search):
    """Cross-validate every candidate of ``search.grid``; refit the best one and score it on the test set.

    Parameters
    ----------
    dataset : src.data.datasets.Dataset
    net : src.training.settings.NetSettings
        The settings that all candidates share.
    record_dir : Path
        Where every fit leaves its record (`src.training.fit_records`): a search run again
        with the same folder loads the fits it finished instead of training them again.
    search : src.modes.search_settings.SearchSettings
        The grid, the splits, the cores, the backend and the statistics' settings.

    Returns
    -------
    src.results.GridResult
        ``cv_results_`` as a table, what was searched, and the best mean accuracy;
        `src.reporting.writers.write_grid` turns it into files.
    """
    if search.cores is None:
        search = replace(search, cores=plan_cores(net.compute.threads, device=net.compute.device))
    plan = plan_search(dataset, net, record_dir, search)
    announce(plan)
    specs = [c.get("module__activation", net.network.activation) for c in plan.candidates]
    cost = step_cost(specs, dataset.n_features, dataset.n_classes, net.network, net.training.batch_size,
                     net.compute.device)
    start = time.perf_counter()
    # the stacks get the rows as the fits do: on Dask they are the copy that every worker holds
    scatter = (plan.rows, plan.y, *(index for split in plan.splits for index in split))
    with joblib_backend(plan.backend, plan.scheduler, n_workers=plan.cores.n_jobs, scatter=scatter):
        left_to_train = train_stacks(plan) if search.batched else len(plan.candidates)
        fitted = run_search(plan, left_to_train)
    cv_results = merge_inits(fitted.cv_results_, plan.inits)
    meta = search_meta(plan, dataset, search, time.perf_counter() - start, cost)
    nuisance = meta.tune
    check_recorded(meta.fit_keys, plan.record_dir)
    report_failures(meta.fit_keys, plan.record_dir)
    best = best_tuned(plan, cv_results, nuisance) if nuisance else best_fixed(plan, cv_results)
    if search.refit:
        meta.refit = refit_best(plan, best, dataset)
    scores = full_budget_scores(plan, cv_results)
    return GridResult(cv_results=cv_results_frame(cv_results), meta=meta,
                      objective=float(np.nanmax(scores)) if np.isfinite(scores).any() else float("nan"))


def cv_results_frame(cv_results):
    """``cv_results_`` as a table with parameter values as readable labels (column ``label`` first)."""
    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in cv_results.items() if k != "params"})
    for column in [c for c in frame.columns if c.startswith("param_")]:
        frame[column] = [cell(v) for v in cv_results[column]]
    frame.insert(0, "label", [candidate_label(p) for p in cv_results["params"]])
    return frame
