"""A split trained at several seeds (``cv.inits``): GridSearchCV's candidates per init folded back into one.

GridSearchCV runs ``init_index`` as one more parameter of the grid, so each candidate comes out
once per init. `merge_inits` makes each candidate one row again, whose split ``j = s * inits + k``
holds split ``s`` at init ``k`` (`src.modes.plan.GridPlan.fit_splits`): the search's tables then
have a row per candidate, split and seed, and the statistics average each split over its seeds.
"""
import numpy as np
from scipy.stats import rankdata

INIT = "init_index"


def _rank(means):
    """scikit-learn's ranks of mean scores: 1 for the highest, ties share the lowest rank, NaN last."""
    means = np.asarray(means, dtype=float)
    filled = np.where(np.isfinite(means), -means, np.inf)
    return rankdata(filled, method="min").astype(np.int32)


def merge_inits(cv_results, inits):
    """``cv_results_`` of a search whose grid ran ``init_index`` over ``range(inits)``, one row per candidate.

    Parameters
    ----------
    cv_results : dict
        GridSearchCV's ``cv_results_`` (its ``params`` hold ``init_index``).
    inits : int
        The seeds per split; 1 returns ``cv_results`` as it is.

    Returns
    -------
    dict
        The same keys without ``param_init_index``: ``split{j}_test_*`` for ``j = s * inits + k``, and
        the means, standard deviations and ranks over every split and init, as scikit-learn computes
        them.
    """
    if inits == 1:
        return cv_results
    groups = {}  # a candidate's parameters without its init -> its rows, by init
    for row, params in enumerate(cv_results["params"]):
        base = {k: v for k, v in params.items() if k != INIT}
        groups.setdefault(repr(sorted(base.items())), (base, {}))[1][params[INIT]] = row
    n_splits = sum(1 for key in cv_results if key.startswith("split") and key.endswith("_test_accuracy"))
    metrics = sorted({key.split("_test_", 1)[1] for key in cv_results if key.startswith("mean_test_")})
    firsts = [rows[0] for _, rows in groups.values()]
    out = {"params": [base for base, _ in groups.values()]}
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"):
        out[key] = np.array([np.mean([cv_results[key][r] for r in rows.values()]) for _, rows in groups.values()])
    for key in cv_results:
        if key.startswith("param_") and key != f"param_{INIT}":
            out[key] = cv_results[key][firsts]
    for metric in metrics:
        table = np.array([[cv_results[f"split{s}_test_{metric}"][rows[k]] for s in range(n_splits)
                           for k in range(inits)] for _, rows in groups.values()], dtype=float)
        for j in range(table.shape[1]):
            out[f"split{j}_test_{metric}"] = table[:, j]
        out[f"mean_test_{metric}"] = table.mean(axis=1)
        out[f"std_test_{metric}"] = table.std(axis=1)
        out[f"rank_test_{metric}"] = _rank(out[f"mean_test_{metric}"])
    return out
