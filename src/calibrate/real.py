"""``python -m src.calibrate --real``: the verdict's error rates on real training, from A/A studies.

The simulations of `src.calibrate` draw scores with exactly the correlation that the corrected
t-test assumes; they cannot show what real training does. An A/A study trains one activation as
two candidates that differ only in their seeds (init 0 and init 1 of every split, `cv.inits=2`),
so the true difference is zero: a "worse" is an error, whose rate must stay at or below alpha,
and "equivalent" at the margin is the power to say so. Each study is a grid of the real config
(its splits, ratio, test rows and training noise), trained by `src.modes.grid.run_grid` without
writing reports; the verdicts are `src.reporting.compute.stats.decide`'s, as the summary's.
"""
import contextlib
import io
import tempfile

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from ..reporting.compute import stats
from ..defaults import ALPHA, MARGIN

# The studies, as config overrides: small enough for hundreds of reps on two cores.
STUDIES = {
    "digits": ["data=digits", "train.epochs=8", "cv.folds=3", "cv.repeats=2"],
    "mnist": ["data=mnist", "data.subset=3000", "train.epochs=4", "cv.folds=3", "cv.repeats=2"],
}
AA = ["mode=grid", "grid.activation=[relu]", "cv.inits=2", "cv.refit=false", "train.verbose=0", "cv.n_jobs=1"]


def overrides(study, extra=()):
    """The config overrides of the A/A study ``study`` (a key of `STUDIES`), with ``extra`` ones (a data root)."""
    return [*AA, *STUDIES[study], *extra]


def prepared(cfg):
    """A study's data and arguments from its composed config (`overrides`): ``(dataset, net, mode_kwargs)``,
    the data loaded once for every seed of `aa_study`."""
    from ..data.datasets import load
    from ..validate import validate

    net, data_kwargs, mode_kwargs = validate(cfg)
    return load(**data_kwargs), net, mode_kwargs


def aa_study(study, seed, record_dir):
    """One A/A study: its two candidates' accuracy on every split, its ratio and its test rows.

    Parameters
    ----------
    study : tuple
        `prepared`'s data and arguments.
    seed : int
        The study's seed: its splits and every fit's seed (the data, a subset of them, stay).
    record_dir : str
        Where its fits are recorded.

    Returns
    -------
    (numpy.ndarray, float, int)
        Scores ``(2, J)`` (init 0, init 1), the mean ``n_test / n_fit``, the test rows of a split.
    """
    from ..modes.grid import run_grid

    dataset, net, mode_kwargs = study
    with contextlib.redirect_stdout(io.StringIO()):  # GridSearchCV's line per fit
        result = run_grid(dataset, net.replace(seed=seed), record_dir, **mode_kwargs)
    row = result.cv_results.iloc[0]
    splits = result.meta.splits
    scores = np.array([[row[f"split{j}_test_accuracy"] for j in range(len(splits)) if splits[j]["init"] == k]
                       for k in (0, 1)], dtype=float)
    ratio = float(np.mean([s["n_test"] / s["n_fit"] for s in splits]))
    return scores, ratio, int(splits[0]["n_test"])


def real_rates(study, reps, seed=0, alpha=ALPHA, margin=MARGIN, progress=None):
    """How often A/A studies are called worse, and equivalent at ``margin`` points.

    Parameters
    ----------
    study : tuple
        `prepared`'s data and arguments.
    reps : int
        A/A studies, at seeds ``seed .. seed + reps - 1``.
    alpha : float
    margin : float
        The margin of equivalence in accuracy points.
    progress : callable, optional
        Called with the number of studies done.

    Returns
    -------
    dict
        ``reps``, ``worse`` and ``equivalent`` (rates) with their 95% Wilson intervals
        (``worse_ci``, ``equivalent_ci``), and the mean ``spread`` of the differences (points).
    """
    found, ratios, n_tests = [], [], []
    for rep in range(reps):
        with tempfile.TemporaryDirectory(prefix="aa-") as folder:
            scores, ratio, n_test = aa_study(study, seed + rep, folder)
        found.append(scores)
        ratios.append(ratio)
        n_tests.append(n_test)
        if progress is not None:
            progress(rep + 1)
    scores = np.stack(found)  # (reps, 2, J)
    decisions = stats.decide(scores, float(np.mean(ratios)), alpha, margin=margin / 100, n_test=int(np.min(n_tests)))
    worse = int(decisions.worse.any(axis=-1).sum())
    equivalent = int(decisions.equivalent.any(axis=-1).sum())
    return {"reps": reps, "worse": worse / reps, "worse_ci": proportion_confint(worse, reps, method="wilson"),
            "equivalent": equivalent / reps,
            "equivalent_ci": proportion_confint(equivalent, reps, method="wilson"),
            "spread": float(np.std((scores[:, 0] - scores[:, 1]) * 100, ddof=1))}


def rows(results, alpha=ALPHA, margin=MARGIN):
    """The printed table's rows: one per study of ``results`` (`real_rates` by study)."""
    return [{"data": study, "A/A studies": r["reps"],
             f"called worse (alpha {alpha:g})": f"{r['worse']:.1%} ({r['worse_ci'][0]:.1%}-{r['worse_ci'][1]:.1%})",
             f"called equivalent (±{margin:g} points)":
                 f"{r['equivalent']:.1%} ({r['equivalent_ci'][0]:.1%}-{r['equivalent_ci'][1]:.1%})",
             "spread of a split's difference, points": f"{r['spread']:.2f}"} for study, r in results.items()]
