"""Which candidate a grid search refits: the fixed protocol's best, or the tuned protocol's."""
import numpy as np

from .. import tuning
from ..params import candidate_label, cell, friendly
from ..ranking import best
from ..training import fit_records

OUTER_LOSS = "test_log_loss"  # a fit's log loss on its outer split's test rows: the tie-break of `src.ranking`


def _stopped(plan):
    """The labels of the candidates that successive halving stopped at a rung (none without halving)."""
    return fit_records.halted(plan.fit_keys, plan.record_dir) if plan.halving else set()


def full_budget_scores(plan, cv_results):
    """Each candidate's mean accuracy, NaN for a candidate stopped at a rung (it never enters a verdict)."""
    stopped = _stopped(plan)
    return np.array([np.nan if candidate_label(p) in stopped else score
                     for p, score in zip(cv_results["params"], cv_results["mean_test_accuracy"])], dtype=float)


def best_fixed(plan, cv_results):
    """The first candidate in `src.ranking` order (mean accuracy, then mean log loss) among those
    trained in full, as the summary ranks them; None when none has a finite score."""
    scores = full_budget_scores(plan, cv_results)
    position = best(scores, -np.asarray(cv_results["mean_test_log_loss"], dtype=float))
    return None if position is None else cv_results["params"][position]


def tuned_trials(plan, cv_results, nuisance):
    """One row per fit of a tuned study: its settings, its validation scores and its outer scores.

    Parameters
    ----------
    plan : src.modes.plan.GridPlan
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
            last = fit_records.last_epoch(plan.record_dir, key)
            rows.append({"candidate": i, **{friendly(k): cell(v) for k, v in params.items()}, "split": split,
                         tuning.INNER: last.get("valid_acc", np.nan), tuning.TIEBREAK: last.get("valid_loss", np.nan),
                         tuning.OUTER: cv_results[f"split{split}_test_accuracy"][i],
                         OUTER_LOSS: -cv_results[f"split{split}_test_log_loss"][i]})
    trials = pd.DataFrame(rows)
    return trials, [friendly(k) for k in plan.params if friendly(k) not in nuisance]


def best_chosen(chosen, by):
    """The chosen fits of the compared candidate that ranks first as the summary ranks them.

    `src.ranking` over the candidates' mean outer accuracy at their chosen settings, then their
    mean outer log loss, then the order listed; a candidate with a failed chosen fit has no mean.

    Parameters
    ----------
    chosen : pandas.DataFrame
        The trials with their ``chosen`` column (`src.tuning.choose`) and `OUTER_LOSS`.
    by : list of str
        The columns that name a compared candidate.

    Returns
    -------
    pandas.DataFrame or None
        Its chosen rows; None when no candidate has a finite mean.
    """
    groups = [group for _, group in chosen[chosen["chosen"]].groupby(by, sort=False)]
    position = best([group[tuning.OUTER].mean(skipna=False) for group in groups],
                    [group[OUTER_LOSS].mean(skipna=False) for group in groups])
    return None if position is None else groups[position]


def best_tuned(plan, cv_results, nuisance):
    """The compared candidate that ranks first at its chosen settings (`best_chosen`), with the setting
    it was chosen at most often (`src.tuning.most_chosen`); None when none has a finite score."""
    trials, by = tuned_trials(plan, cv_results, nuisance)
    stopped = _stopped(plan)
    trials = trials[[candidate_label(cv_results["params"][i]) not in stopped for i in trials["candidate"]]]
    rows = best_chosen(tuning.choose(trials, nuisance, by), by)
    if rows is None:
        return None
    setting = tuning.most_chosen(rows, nuisance)
    match = rows[np.logical_and.reduce([rows[name] == value for name, value in setting.items()])]
    return cv_results["params"][int(match["candidate"].iloc[0])]
