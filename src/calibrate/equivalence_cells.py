"""Calibration of equivalence: how often it is called at a true difference of the margin, and its power."""
import numpy as np

from ..reporting.compute import stats
from ..defaults import MARGIN as MARGIN_POINTS
from . import ALPHA, N_TEST, SETTINGS, SPREAD, ratio, simulate_scores


MARGIN = MARGIN_POINTS / 100  # the margin of equivalence simulated, in accuracy: stats.margin's default



EQUIVALENT_AT_MARGIN = "any candidate called equivalent to the best, its true difference the margin"



EQUIVALENCE_SETTINGS = [(3, 1), (3, 2), (3, 3)]  # 3, 6 and 9 splits



POWER_MARGINS = [MARGIN, 2 * MARGIN, 4 * MARGIN]



EQUIVALENCE_CANDIDATES = [2, 3, 6, 10]



def at_margin(k, margin=MARGIN):
    """True effects where equivalence to the best is false: the first candidate ``margin`` above the others."""
    return np.r_[0.0, np.full(k - 1, -margin)]



def equivalence_error_rates(reps=4000, seed=4, settings=SETTINGS, candidates=EQUIVALENCE_CANDIDATES, alpha=ALPHA,
                            margin=MARGIN, spread=SPREAD, n_test=N_TEST):
    """How often a candidate is called equivalent to the best when its true difference to it is the margin.

    The first candidate lies ``margin`` above the others (`at_margin`); whichever the data rank
    first, a candidate called equivalent to it whose true difference to it is the margin is an
    error (the others are truly equal to each other). ``spread`` and ``n_test`` as in
    `simulate_scores`: a spread well below the margin is where TOST's error rate approaches alpha.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {`EQUIVALENT_AT_MARGIN`: rate}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        effects = at_margin(k, margin)
        for folds, repeats in settings:
            scores = simulate_scores(rng, reps, k, folds, repeats, effects, spread, n_test)
            decided = stats.decide(scores, ratio(folds), alpha, margin=margin, n_test=n_test)
            apart = np.abs(effects[None, :] - effects[decided.best][:, None]) >= margin * (1 - 1e-9)
            rates[(k, folds, repeats)] = {EQUIVALENT_AT_MARGIN: float((decided.equivalent & apart).any(axis=-1).mean())}
    return rates



def equivalence_power(reps=2000, seed=5, settings=EQUIVALENCE_SETTINGS, candidates=(3, 6), alpha=ALPHA,
                      margins=POWER_MARGINS, spread=SPREAD, n_test=N_TEST):
    """How often equally good candidates are all shown equivalent to the best, at each margin.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {"every candidate equivalent to the best, margin M points": rate}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            scores = simulate_scores(rng, reps, k, folds, repeats, spread=spread, n_test=n_test)
            rates[(k, folds, repeats)] = {
                f"every candidate equivalent to the best, margin {m * 100:.2f} points":
                    float((stats.decide(scores, ratio(folds), alpha, margin=m, n_test=n_test).equivalent.sum(axis=-1)
                           == k - 1).mean())
                for m in margins}
    return rates
