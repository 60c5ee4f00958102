"""The one ranking rule: who ranks first among candidates, wherever a choice or an order is made.

The tuned choice of each activation's settings, the cut of a halving rung, the refit's best
candidate and the summary's order all rank by it (see docs/statistics.md, "Who ranks first"):
the higher score first; between equal scores the lower loss; between equal losses the one
listed first. A missing score or loss ranks last.
"""
import numpy as np


def rank_order(scores, losses=None):
    """The positions of ``scores`` in rank order, best first.

    Parameters
    ----------
    scores : array-like of float
        Higher is better; NaN ranks last.
    losses : array-like of float, optional
        Lower is better between equal scores; NaN ranks last. None: no loss breaks ties.

    Returns
    -------
    numpy.ndarray of int
        Indices into ``scores``; between equal scores and losses, the earlier index first.
    """
    scores = np.asarray(scores, dtype=float)
    losses = np.zeros(len(scores)) if losses is None else np.asarray(losses, dtype=float)
    keys = (np.arange(len(scores)), np.nan_to_num(losses, nan=np.inf), -np.nan_to_num(scores, nan=-np.inf))
    return np.lexsort(keys)


def order_numbers(scores, losses=None):
    """Each candidate's 1-based place in rank order (`rank_order`): 1 for the first."""
    places = np.empty(len(np.asarray(scores)), dtype=int)
    places[rank_order(scores, losses)] = np.arange(1, len(places) + 1)
    return places


def best_along(scores):
    """The position of the best score along the last axis of ``scores`` (any leading shape): the highest,
    the first listed between equal scores, a NaN last (`rank_order`'s rule without losses, vectorised)."""
    return np.argmax(np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf), axis=-1)


def best(scores, losses=None):
    """The position of the first candidate in rank order (`rank_order`), or None when no score is finite."""
    scores = np.asarray(scores, dtype=float)
    return int(rank_order(scores, losses)[0]) if np.isfinite(scores).any() else None
