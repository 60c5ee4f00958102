"""What a comparison's design could detect, and the design that would tell what it leaves undecided.

The power sentence says what difference the study would usually find (`src.reporting.compute.power`),
and which ``cv.folds`` x ``cv.repeats`` would find `src.reporting.compute.power.DETECTABLE` or show two
equally good candidates equivalent within the margin; `remedy` gives that design as data (``stats.json``).
Where the study trained several seeds per split and so measured the seed's part of the spread
(``attrs["components"]``, `src.reporting.compute.variance`), the design may also change ``cv.inits``:
the one with the fewest fits wins.
"""
import math

import numpy as np

from ...defaults import ALPHA
from ...words import counted
from . import power
from .phrases import amount, listing, the_margin, within_text

# Fewer splits than this and the t-test has so few degrees of freedom that the power
# sentence says so first.
MIN_SPLITS = 5
MOST_INITS = 5  # the most seeds per split (cv.inits) a design asks for
def power_sentence(summary, folds=None, percent=True, target=power.DETECTABLE):
    """One sentence on what the comparison could detect, and the remedy when that is too little.

    The remedy (``cv.repeats=R``) is offered only when the difference that would usually be
    found is larger than ``target`` and R repeats bring it to ``target`` at the same spread
    of the differences (``summary.attrs["diff_sd"]``).

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `src.reporting.compute.summary.summarize`.
    folds : int, optional
        The K of K-fold; the remedy is then given as ``cv.repeats=R``.
    percent : bool, default True
        Differences in percentage points.
    target : float, default `src.reporting.compute.power.DETECTABLE`
        The difference, in the metric's units, that the comparison should detect.

    Returns
    -------
    str
        Empty when fewer than 2 candidates are compared.
    """
    attrs = summary.attrs
    j, n_pairs = int(attrs.get("n_splits", 0)), int(attrs.get("n_pairs", 0))
    alpha, detectable = attrs.get("alpha", ALPHA), attrs.get("detectable", math.nan)
    if n_pairs == 0:
        return ""
    if j < MIN_SPLITS:
        head = f"Only {counted(j, 'split')} (the t-test has {counted(max(j - 1, 0), 'degree')} of freedom)"
    else:
        head = f"With {j} splits"
    cover = f"{power.POWER:.0%} probability, Bonferroni over {counted(n_pairs, 'pair')}"
    if not np.isfinite(detectable):
        if j < 2:
            return f"{head}: no difference can be tested; run more splits with cv.repeats=R."
        return f"{head}: every difference to the best is the same on every split, so none can be tested."
    if detectable <= target:
        return (f"{head}, a difference to the best of about {amount(detectable, percent)} or more would usually "
                f"be found ({cover}); smaller ones may be missed." + _equivalence_power(summary, folds, percent))
    bounds = attrs.get("bounds")
    width = bounds[1] - bounds[0] if bounds else math.inf
    if detectable >= width:  # beyond a bounded metric's range: no difference at all would usually be found
        unseen = (f"{head}, no difference to the best, even one of {amount(width, percent)} (the metric's whole "
                  f"range), would usually be found ({cover})")
    else:
        unseen = (f"{head}, differences to the best smaller than about {amount(detectable, percent)} would usually "
                  f"go unseen ({cover})")
    step = folds or j
    seeds = folds and len(_seeds(attrs)) > 1  # the seed's part is measured: the design with the fewest fits
    repeats = None if seeds else power.repeats_needed(target, attrs["diff_sd"], j, attrs["ratio"], n_pairs, step, alpha)
    design = _design(summary, folds, target) if folds and repeats is None else None
    if repeats is None and design is None:
        more = f", nor would {listing(_more_folds(step), 'or')} folds" if folds and _more_folds(step) else ""
        return (f"{unseen}; even {power.MAX_REPEATS * step} splits (cv.repeats={power.MAX_REPEATS}) would not bring "
                f"the difference usually found down to {amount(target, percent)}{more}: the overlap of the training "
                f"sets limits what more repeats can do." + _equivalence_power(summary, folds, percent))
    if repeats is None:
        remedy = _design_text(design, summary) + ("" if design[0] == step else f": with {step} folds the overlap "
                                                  f"of the training sets limits what more repeats can do")
    else:
        remedy = (f"cv.repeats={repeats} ({step * repeats} splits)" if folds
                  else f"about {step * repeats} splits (cv.repeats=R gives folds x R)")
    return f"{unseen}; to find {amount(target, percent)}, run {remedy}." + _equivalence_power(summary, folds, percent)


def _more_folds(folds):
    return [str(f) for f in power.FOLDS_TRIED if f > folds]


def _seeds(attrs):
    """The seeds per split a design may take: 1 to `MOST_INITS` where the study measured the seed's part of the
    spread (``attrs["components"]``, squared points), else the study's own (``attrs["inits"]``, 1 by default)."""
    now, parts = int(attrs.get("inits", 1)), attrs.get("components")
    if not parts or not all(np.isfinite(parts.get(p, math.nan)) for p in ("split", "seed", "residual")) \
            or parts["split"] + parts["seed"] + parts["residual"] <= 0:
        return [now]
    return list(range(1, MOST_INITS + 1))


def spread_at(attrs, inits):
    """The spread of the split differences at ``inits`` seeds per split: the summary's own (``attrs["diff_sd"]``)
    at the study's seeds, scaled by the components' variance of a split's mean over ``inits`` seeds,
    ``split + (seed + residual) / inits`` (`src.reporting.compute.variance.design_variance`)."""
    now, parts = int(attrs.get("inits", 1)), attrs.get("components")
    if inits == now:
        return attrs["diff_sd"]
    unit = [parts["split"] + (parts["seed"] + parts["residual"]) / k for k in (inits, now)]
    return attrs["diff_sd"] * math.sqrt(unit[0] / unit[1]) if unit[1] > 0 else math.nan


def _design(summary, folds, target, equivalence=False):
    """`src.reporting.compute.power.design_needed` at the summary's spread of the differences (at each number of
    seeds `_seeds` allows, its `spread_at`): the ``(folds, repeats, inits)`` with the fewest fits that brings the
    difference usually found (or, with ``equivalence``, the margin usually reached) down to ``target``, the
    study's own seeds first among equals; None when no design considered does."""
    attrs = summary.attrs
    now, found = int(attrs.get("inits", 1)), []
    for inits in _seeds(attrs):
        sd = spread_at(attrs, inits)
        splits_now = int(attrs["n_splits"]) if inits == now else 0  # more seeds: any number of splits is new
        design = power.design_needed(target, sd, splits_now, attrs["ratio"], int(attrs["n_pairs"]), folds,
                                     attrs.get("alpha", ALPHA), equivalence=equivalence) if np.isfinite(sd) else None
        if design is not None:
            found.append((*design, inits))
    return min(found, key=lambda design: (_fits(design, summary), design[2] != now)) if found else None


def _fits(design, summary):
    """The fits a ``(folds, repeats[, inits])`` design trains: every candidate at each of its ``attrs["settings"]``
    (a tuned study's) on every split, at each seed."""
    folds, repeats, inits = (*design, 1)[:3]
    return folds * repeats * inits * len(summary) * int(summary.attrs.get("settings", 1))


def design_words(folds, repeats, inits=1, now=1):
    """A design's settings and its splits in words: ``cv.folds=10 cv.repeats=2 cv.inits=3`` (the seeds named where
    they are not 1 or not the study's, ``now``) and ``20 splits at 3 seeds each``."""
    seeds = f" cv.inits={inits}" if inits != 1 or now != 1 else ""
    each = f" at {inits} seeds each" if inits > 1 else ""
    return f"cv.folds={folds} cv.repeats={repeats}{seeds}", f"{folds * repeats} splits{each}"


def _design_text(design, summary):
    """``cv.folds=10 cv.repeats=2 (20 splits, 60 fits for 3 candidates)``; with seeds, ``cv.folds=3 cv.repeats=2
    cv.inits=3 (6 splits at 3 seeds each, 54 fits ...)``; a tuned study trains each candidate at each of its
    ``attrs["settings"]`` on every split (``..., 240 fits for 3 candidates at 4 settings each``)."""
    folds, repeats, inits = (*design, 1)[:3]
    candidates, settings = len(summary), int(summary.attrs.get("settings", 1))
    each = f" at {settings} settings each" if settings > 1 else ""
    setting, splits = design_words(folds, repeats, inits, int(summary.attrs.get("inits", 1)))
    return f"{setting} ({splits}, {_fits(design, summary)} fits for {counted(candidates, 'candidate')}{each})"


def remedy(summary, folds=None):
    """The design the power sentence names for what this study leaves undecided, as a JSON-ready dict.

    With a margin of equivalence, the cv.folds x cv.repeats within whose margin two equally good
    candidates would usually be shown equivalent (`_equivalence_power`): what turns an inconclusive
    candidate into an equivalent or a worse one. Without one, the design that would usually find a
    difference of `src.reporting.compute.power.DETECTABLE` (`power_sentence`): what would separate a
    candidate not separated now.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of `src.reporting.compute.summary.summarize`.
    folds : int, optional
        The K of K-fold; without it no design is named.

    Returns
    -------
    dict or None
        ``aim`` (``"equivalence"`` or ``"difference"``), ``target`` (in the metric's units), ``folds``,
        ``repeats``, ``inits``, ``splits`` and ``fits``; the last five None when no design up to ``most_folds`` x
        ``most_repeats`` (x ``most_inits`` seeds) reaches the target. None when the study already reaches it, or
        nothing was tested.
    """
    attrs = summary.attrs
    margin = attrs.get("margin")
    aim, reached = (("equivalence", attrs.get("reach", math.nan)) if margin is not None and margin > 0
                    else ("difference", attrs.get("detectable", math.nan)))
    target = margin if aim == "equivalence" else power.DETECTABLE
    if not folds or int(attrs.get("n_pairs", 0)) == 0 or reached is None or not np.isfinite(reached) \
            or reached <= target:
        return None
    design = _design(summary, folds, target, equivalence=aim == "equivalence")
    found = {"folds": None, "repeats": None, "inits": None, "splits": None, "fits": None} if design is None else {
        "folds": design[0], "repeats": design[1], "inits": design[2], "splits": design[0] * design[1],
        "fits": _fits(design, summary)}
    return {"aim": aim, "target": float(target), **found, "most_folds": max([folds, *power.FOLDS_TRIED]),
            "most_repeats": power.MAX_REPEATS, "most_inits": max(_seeds(attrs))}


def _equivalence_power(summary, folds, percent=True):
    """The power sentence's equivalence side: the margin within which equal candidates would usually be shown
    equivalent, and the design that reaches ``attrs["margin"]`` when that is wider (empty without a margin)."""
    attrs = summary.attrs
    margin, reach = attrs.get("margin"), attrs.get("reach", math.nan)
    if margin is None or not margin > 0 or reach is None or not np.isfinite(reach):
        return ""
    cover = f"{power.POWER:.0%} probability"
    if reach <= margin:
        return (f" Two equally good candidates would usually be shown equivalent within "
                f"{the_margin(margin, percent)} ({cover}; the narrowest margin usually reached is about "
                f"{within_text(reach, percent)}).")
    head = (f" Two equally good candidates would usually be shown equivalent only within about "
            f"{within_text(reach, percent)} ({cover}), wider than {the_margin(margin, percent)}")
    design = _design(summary, folds, margin, equivalence=True) if folds else None
    if design is not None:
        return f"{head}; to reach the margin, run {_design_text(design, summary)}."
    most = max([folds or int(attrs["n_splits"]), *power.FOLDS_TRIED])
    return (f"{head}; no design up to {most} folds x {power.MAX_REPEATS} repeats reaches it at this spread of the "
            f"differences, so the inconclusive candidates stay inconclusive unless the splits vary less.")
