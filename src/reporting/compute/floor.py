"""The floor of a score's variance between splits: what its test rows can resolve.

Scores that are proportions over test rows (accuracies) never have a variance below the binomial
variance of those rows (`rows_floor`): a difference that is the same on every split is tested with
the uncertainty its rows leave, not with none (docs/statistics.md#the-floor).
"""
import numpy as np

# Relative tolerance under which a set of differences counts as constant (zero variance).
CONSTANT_RTOL = 1e-12
# The rule of three: with no event in N trials, a rate up to 3 / N is not excluded (95%).
RULE_OF_THREE = 3.0


def constant(values):
    """Whether ``values`` are the same along the last axis, up to floating-point noise.

    Parameters
    ----------
    values : array-like of float, shape (..., J)

    Returns
    -------
    numpy.ndarray of bool, shape (...)
    """
    values = np.asarray(values, dtype=float)
    spread = values.max(axis=-1) - values.min(axis=-1)
    return spread <= CONSTANT_RTOL * np.maximum(1.0, np.abs(values).max(axis=-1))


def rows_floor(rates, n_test):
    """The binomial variance of a rate measured on each split's test rows: its floor between splits.

    ``r (1 - r) * mean(1 / n_j)``, ``r`` the rate kept at least ``3 / N`` from 0 and 1 (the rule of
    three; ``N`` the test predictions over all J splits): a rate that no row contradicted is not
    known to be exact.

    Parameters
    ----------
    rates : array-like of float, shape (...)
        The share of test rows that make the score (a candidate's accuracy); 0 where it is not
        known (a pair's discordant predictions, `floored_variance`), which the rule of three raises.
    n_test : int or array-like of int, shape (J,)
        Test rows of each split.

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    rows = np.asarray(n_test, dtype=float)
    edge = RULE_OF_THREE / rows.sum()
    rate = np.clip(np.asarray(rates, dtype=float), edge, 1.0 - edge)
    return rate * (1.0 - rate) * np.mean(1.0 / rows)


def floored_variance(values, n_test=None, rates=None):
    """The sample variance (ddof=1) along the last axis, never below what the test rows resolve.

    With ``n_test``, the values are proportions of test rows (accuracies, or differences of
    accuracies on the same rows) and the variance is raised to `rows_floor`: of ``rates`` where
    they are known (an accuracy ``p``: ``p (1 - p) / n``), else of the rule of three, the largest
    share of the N test predictions that could differ unseen: ``3/N (1 - 3/N) / n``. A pair's
    discordant predictions are not saved, so a difference gets the latter.

    Parameters
    ----------
    values : array-like of float, shape (..., J)
    n_test : int or array-like of int, shape (J,), optional
        Test rows of each split; None: the plain variance.
    rates : array-like of float, shape (...), optional
        The share of test rows each value's variance comes from (a candidate's mean accuracy).

    Returns
    -------
    numpy.ndarray, shape (...)
    """
    values = np.asarray(values, dtype=float)
    var = values.var(axis=-1, ddof=1)
    if n_test is None:
        return var
    rows = np.broadcast_to(np.asarray(n_test, dtype=float), values.shape[-1:])
    return np.maximum(var, rows_floor(np.zeros(var.shape) if rates is None else rates, rows))
