"""Calibration of the tuned protocol: its error rate when each activation picks its own rate."""
import math

import numpy as np

from ..reporting.compute import stats
from . import ALPHA, CANDIDATES, N_TEST, SCORE, SETTINGS, SPREAD, ratio, simulate_scores


RATES = 4            # learning rates of a simulated tuned study



N_VALID = 200        # validation rows of a simulated fit: its inner scores are multiples of 1 / N_VALID



TUNED = "tuned: any candidate called worse than the best"



FIXED = "fixed at one rate: any candidate called worse than the best"



def simulate_tuned(rng, reps, k, folds, repeats, rates=RATES, gap=2 * SPREAD, spread=SPREAD, n_test=N_TEST,
                   n_valid=N_VALID):
    """A tuned study's outer scores, where every activation is equally good at its own best rate.

    Every activation has the same true scores over the rate grid (0, -gap, -2 gap, ...), but
    its best rate differs: activation ``a`` is best at rate ``a % rates``. Each fit has a
    quality with the correlation of K-fold CV (`simulate_scores`, unrounded); its inner
    (validation) score and its outer score add independent sampling noise of the validation
    and test rows (binomial, rounded to their row counts). On each split, each activation's
    rate is chosen by the inner score (the first listed between equal ones, as `src.tuning`
    does), and the chosen fit's outer score is its score.

    Returns
    -------
    tuned : numpy.ndarray, shape (reps, k, folds * repeats)
        The chosen fits' outer scores.
    fixed : numpy.ndarray, shape (reps, k, folds * repeats)
        The outer scores at the first rate for every activation (the fixed protocol).
    """
    j = folds * repeats
    profile = -gap * np.arange(rates)
    effects = np.stack([np.roll(profile, a % rates) for a in range(k)])  # (k, rates)
    quality = simulate_scores(rng, reps, k * rates, folds, repeats, effects.ravel(), spread, n_test=10 ** 9)
    quality = quality.reshape(reps, k, rates, j)

    def observed(n_rows):
        noise = rng.normal(0, math.sqrt(SCORE * (1 - SCORE) / n_rows), quality.shape)
        return np.round((quality + noise) * n_rows) / n_rows

    inner, outer = observed(n_valid), observed(n_test)
    chosen = inner.argmax(axis=2)  # (reps, k, j): the first of equal inner scores
    tuned = np.take_along_axis(outer, chosen[:, :, None, :], axis=2)[:, :, 0, :]
    return tuned, outer[:, :, 0, :]



def tuned_error_rates(reps=2000, seed=2, settings=SETTINGS, candidates=CANDIDATES, alpha=ALPHA):
    """How often the verdict calls an activation worse when, after tuning, none is.

    Returns
    -------
    dict
        ``(k, folds, repeats)`` -> {`TUNED`: rate of the tuned protocol's verdict (an error
        rate), `FIXED`: rate of the fixed protocol's verdict at the first rate, where the
        activations do differ: how often fixing the rate shows a difference that tuning removes}.
    """
    rng = np.random.default_rng(seed)
    rates = {}
    for k in candidates:
        for folds, repeats in settings:
            tuned, fixed = simulate_tuned(rng, reps, k, folds, repeats)
            rates[(k, folds, repeats)] = {
                TUNED: float(stats.decide(tuned, ratio(folds), alpha, n_test=N_TEST).worse.any(axis=-1).mean()),
                FIXED: float(stats.decide(fixed, ratio(folds), alpha, n_test=N_TEST).worse.any(axis=-1).mean())}
    return rates
