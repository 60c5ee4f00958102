"""Where the spread of a difference comes from: splits, seeds, or neither; and what to repeat to narrow it.

Each pair of a candidate with the best has one difference per split and init (``cv.inits``), in
accuracy points. A linear mixed model with crossed random effects for the split and the init
(statsmodels' `MixedLM`, REML) splits its variance into a split part (what a split's data do to
the difference, whatever the seed), a seed part (what an init index does on every split: zero by
design when each split draws its own seeds, so a study at one seed shows here what it would fold
into a bias) and what remains (split x seed: the seeds' spread within a split, with the test
rows' noise). From the parts, `remedy` says which of more seeds, more repeats or more folds would
narrow the corrected interval most per fit.
"""
import warnings

import numpy as np
import pandas as pd

PARTS = ("split", "seed", "residual")
PART_WORDS = {"split": "the split", "seed": "the seed", "residual": "split x seed"}


def decompose(differences):
    """Variance components of one pair's differences, in squared points.

    Parameters
    ----------
    differences : pandas.DataFrame
        Columns ``split``, ``init`` and ``d`` (the difference in points), one row per split and init.

    Returns
    -------
    dict
        ``split``, ``seed`` and ``residual`` variances (NaN where the model cannot be fitted: fewer
        than two splits or inits, or no spread at all).
    """
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    data = differences.dropna(subset=["d"])
    empty = {part: float("nan") for part in PARTS}
    if data["split"].nunique() < 2 or data["init"].nunique() < 2 or not np.ptp(data["d"].to_numpy()) > 0:
        return empty
    data = data.assign(group=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*(singular|boundary|Hessian).*")
        try:
            fitted = MixedLM.from_formula("d ~ 1", data=data, groups="group", re_formula="0",
                                          vc_formula={"split": "0 + C(split)", "seed": "0 + C(init)"}).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError):
            return empty
    parts = dict(zip(fitted.model.exog_vc.names, np.asarray(fitted.vcomp, dtype=float)))
    return {"split": max(parts.get("split", np.nan), 0.0), "seed": max(parts.get("seed", np.nan), 0.0),
            "residual": max(float(fitted.scale), 0.0)}


def components(folds, best, metric="test_accuracy", scale=100.0):
    """Every pair's variance components with the best (`decompose`).

    Parameters
    ----------
    folds : pandas.DataFrame
        The folds table, a row per candidate, split and init (``label``, ``repeat``, ``fold``, ``init``).
    best : str
        The best candidate's label.
    metric : str
    scale : float
        Points per unit of ``metric`` (100 for an accuracy).

    Returns
    -------
    list of dict
        ``label``, ``best`` and the parts of `PARTS` in squared points, for each other candidate.
    """
    frame = folds.assign(split=folds["repeat"].astype(int) * 1000 + folds["fold"].astype(int))
    wide = frame.pivot_table(index=["split", "init"], columns="label", values=metric, dropna=False)
    if best not in wide:
        return []
    found = []
    for label in [c for c in wide.columns if c != best]:
        d = pd.DataFrame({"d": (wide[label] - wide[best]).to_numpy() * scale,
                          "split": wide.index.get_level_values("split"), "init": wide.index.get_level_values("init")})
        found.append({"label": str(label), "best": str(best), **decompose(d)})
    return found


def design_variance(parts, splits, inits, ratio):
    """The corrected variance of a mean difference over ``splits`` splits at ``inits`` seeds each:
    ``(1/J + ratio) (split + (seed + residual) / K)``: each split's mean over its seeds is one unit of
    the corrected t-test."""
    return (1.0 / splits + ratio) * (parts["split"] + (parts["seed"] + parts["residual"]) / inits)


def remedy(parts, folds, repeats, inits, ratio, fit_share, candidates):
    """Which one step narrows the corrected interval most per added fit.

    Parameters
    ----------
    parts : dict
        Variance components (`decompose`), squared points.
    folds, repeats, inits : int
        The study's design.
    ratio : float
        Its ``n_test / n_fit``.
    fit_share : float
        The share of a split's training rows that a fit trains on (``1 - train.valid_fraction``).
    candidates : int
        The fits of a split and seed (the candidates compared).

    Returns
    -------
    dict or None
        ``what`` (``seeds``, ``repeats`` or ``folds``), ``setting`` (the override), ``fits`` (added)
        and ``half_width`` now and after, relative (the interval's half-width scales with the root
        of the variance); None when the parts are unknown or zero.
    """
    if not all(np.isfinite(parts[p]) for p in PARTS) or sum(parts.values()) <= 0:
        return None
    now = design_variance(parts, folds * repeats, inits, ratio)
    steps = {
        "seeds": (f"cv.inits={inits + 1}", candidates * folds * repeats,
                  design_variance(parts, folds * repeats, inits + 1, ratio)),
        "repeats": (f"cv.repeats={repeats + 1}", candidates * folds * inits,
                    design_variance(parts, folds * (repeats + 1), inits, ratio)),
        "folds": (f"cv.folds={folds + 1}", candidates * repeats * inits,
                  design_variance(parts, (folds + 1) * repeats, inits, 1.0 / (folds * fit_share))),
    }
    what, (setting, fits, after) = max(steps.items(), key=lambda item: (now - item[1][2]) / item[1][1])
    return {"what": what, "setting": setting, "fits": int(fits), "narrower": float(1 - np.sqrt(after / now))}


def sentence(means, inits, step):
    """The report's sentence on the variance components ``means`` (each part's mean over the pairs with the best
    whose parts are all known; None when no pair's are) and ``step``."""
    if inits < 2:
        return ("The seed's part of the differences' spread is not measured: every split trained at one seed "
                "(cv.inits=1); cv.inits=2 or more measures it.")
    if means is None:
        return "The differences vary too little over the splits and seeds to split their spread into parts."
    total = sum(means.values())
    dominant = max(PARTS, key=lambda part: means[part])
    shares = ", ".join(f"{PART_WORDS[part]} {means[part]:.3f}" for part in PARTS)
    text = (f"The spread of the differences to the best comes mostly from {PART_WORDS[dominant]} "
            f"({means[dominant] / total:.0%}; squared points, mean over the pairs: {shares}).")
    if step is not None:
        text += (f" Per added fit, more {step['what']} would narrow the intervals most: {step['setting']} adds "
                 f"{step['fits']} fits and narrows them by about {step['narrower']:.0%}.")
    return text
