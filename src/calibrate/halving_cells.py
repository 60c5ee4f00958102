"""Calibration of successive halving: the verdict's error rate among the survivors of its rungs."""
import math

import numpy as np

from ..reporting.compute import stats
from . import ALPHA, N_TEST, SCORE, SETTINGS, SPREAD, VALID_FRACTION, ratio, simulate_scores


HALVING_CANDIDATES = [10, 28]  # a grid of ten, and grid=all



HALVING = {"eta": 3, "min_epochs": 4, "epochs": 25}  # the defaults (search.eta, search.min_epochs) at 25 epochs






INSIDE = "halving, ranked on validation rows inside the other splits (as run): any survivor called worse"



OUTSIDE = "halving, ranked on rows outside every split: any survivor called worse"



EXHAUSTIVE = "exhaustive, the same data sets: any candidate called worse than the best"



def _row_layout(rng, folds, repeats, n_test, valid_fraction=VALID_FRACTION):
    """Which rows each split tests on and validates on, as K-fold cross-validation lays them out.

    Returns
    -------
    test, valid : numpy.ndarray, shape (folds * repeats, folds * n_test)
        Each split's test rows (its fold) and validation rows (``valid_fraction`` of its
        training rows, the other folds), as row weights that sum to 1 over each split's rows.
    """
    n = folds * n_test
    test, valid = np.zeros((folds * repeats, n)), np.zeros((folds * repeats, n))
    for r in range(repeats):
        order = rng.permutation(n)
        for f in range(folds):
            own, train = order[f * n_test:(f + 1) * n_test], np.delete(order, np.s_[f * n_test:(f + 1) * n_test])
            test[r * folds + f, own] = 1.0 / n_test
            picked = rng.choice(train, int(round(valid_fraction * len(train))), replace=False)
            valid[r * folds + f, picked] = 1.0 / len(picked)
    return test, valid



def simulate_halving(rng, reps, k, folds, repeats, kept, spread=SPREAD, n_test=N_TEST):
    """Successive halving's verdict on simulated rows, where every candidate is equally good.

    Each fit's quality is as in `simulate_scores` (unrounded). On top, each candidate errs on
    the same rows in every one of its fits and at every epoch (a row effect of binomial size
    per candidate, shared by its fits: the worst case for reusing rows), so that its
    validation score on a fold and its test score on another split share the noise of the
    rows they share. The candidates are ranked once by their validation scores averaged over
    all folds, and the top ``kept`` go on (as if every rung ranked alike); the verdict is then
    taken among them on their test scores. The ranking is made twice: on each fit's validation
    rows, which lie in the other splits' test rows (as a plain grid's halving runs), and on as
    many rows outside every split.

    Parameters
    ----------
    rng, reps, k, spread, n_test
        As in `simulate_scores`.
    folds, repeats : int
        The splits, laid out row by row as repeated K-fold lays them out (`_row_layout`).
    kept : int
        Survivors.

    Returns
    -------
    inside, outside : numpy.ndarray, shape (reps, kept, folds * repeats)
        The survivors' test scores, ranked on the splits' own validation rows and on rows outside.
    scores : numpy.ndarray, shape (reps, k, folds * repeats)
        Every candidate's test scores (the exhaustive search's).
    """
    sd = math.sqrt(SCORE * (1 - SCORE))
    chunk = max(1, 10 ** 7 // (k * folds * n_test))  # data sets drawn at once: about 80 MB of row effects
    out = {"inside": [], "outside": [], "scores": []}
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        test, valid = _row_layout(rng, folds, repeats, n_test)
        quality = simulate_scores(rng, m, k, folds, repeats, spread=spread, n_test=10 ** 9)
        rows = rng.normal(0, sd, (m, k, test.shape[1]))
        scores = np.round((quality + rows @ test.T) * n_test) / n_test
        out["scores"].append(scores)
        for where, ranking_rows in (("inside", rows), ("outside", rng.normal(0, sd, rows.shape))):
            ranked = (quality + ranking_rows @ valid.T).mean(axis=-1)
            top = np.argsort(-ranked, axis=1, kind="stable")[:, :kept]
            out[where].append(np.take_along_axis(scores, top[:, :, None], axis=1))
    return tuple(np.concatenate(out[key]) for key in ("inside", "outside", "scores"))



def halving_schedule():
    """The default schedule's rungs (`HALVING`), as `src.training.rungs.Halving` sets them."""
    from ..training.rungs import Halving  # imports torch: only when the halving table is asked for

    settings = Halving(eta=HALVING["eta"], min_epochs=HALVING["min_epochs"], tuned=())
    return settings, settings.rungs(HALVING["epochs"])



def halving_survivors(k):
    """How many of ``k`` candidates the default schedule keeps to the end."""
    settings, rungs = halving_schedule()
    for cut in range(len(rungs) - 1):
        k = settings.kept(k, cut == len(rungs) - 2)
    return k



def halving_error_rates(reps=2000, seed=3, settings=SETTINGS, candidates=HALVING_CANDIDATES, alpha=ALPHA,
                        n_test=N_TEST):
    """How often halving's verdict calls a survivor worse when no candidate is, and how far the
    survivors' mean accuracy lies above the true one.

    The survivors are as many as the default schedule keeps (`HALVING`: `src.training.rungs.Halving`'s
    rungs and its count kept at each cut).

    Returns
    -------
    rates : dict
        ``(k, folds, repeats)`` -> {`INSIDE`, `OUTSIDE`, `EXHAUSTIVE`: error rates}.
    bias : dict
        ``(k, folds, repeats)`` -> {"inside", "outside": the survivors' mean test score less
        the true one, in accuracy points}.
    """
    rng = np.random.default_rng(seed)
    rates, bias = {}, {}
    for k in candidates:
        kept = halving_survivors(k)
        for folds, repeats in settings:
            inside, outside, scores = simulate_halving(rng, reps, k, folds, repeats, kept, n_test=n_test)
            rates[(k, folds, repeats)] = {
                name: float(stats.decide(found, ratio(folds), alpha, n_test=n_test).worse.any(axis=-1).mean())
                for name, found in ((INSIDE, inside), (OUTSIDE, outside), (EXHAUSTIVE, scores))}
            bias[(k, folds, repeats)] = {"inside": 100 * float(inside.mean() - SCORE),
                                         "outside": 100 * float(outside.mean() - SCORE)}
    return rates, bias
