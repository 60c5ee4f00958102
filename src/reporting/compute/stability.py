"""Which splits lie far from a candidate's others, and the noise floor of a proportion."""
import numpy as np

# A split is far from the others when it lies more than FAR robust standard deviations of
# the grid's splits from its candidate's median split.
FAR = 10.0



# The robust standard deviation of a normal sample is 1.4826 times its median absolute deviation.
MAD_TO_SD = 1.4826



def far_splits(scores, floor=0.0, far=FAR):
    """Splits that lie far from their candidate's other splits.

    A split is far when its distance to its candidate's median split is more than ``far``
    robust standard deviations of the grid: ``MAD_TO_SD`` times the median, over every
    candidate and split, of the distance to the candidate's median (at least ``floor``, the
    candidate's own). One split of a candidate collapsing to chance level is far by this rule.

    Parameters
    ----------
    scores : array-like of float, shape (k, J)
        Complete scores.
    floor : float or array-like of float, shape (k,), default 0
        The least spread assumed, one for all or one per candidate (for an accuracy: the
        sampling standard deviation of its score on the test rows, `proportion_sd`).
    far : float, default `FAR`

    Returns
    -------
    numpy.ndarray of bool, shape (k, J)
    """
    scores = np.asarray(scores, dtype=float)
    if scores.shape[-1] < 3:
        return np.zeros(scores.shape, dtype=bool)
    distance = np.abs(scores - np.median(scores, axis=-1, keepdims=True))
    spread = np.maximum(MAD_TO_SD * float(np.median(distance)), np.asarray(floor, dtype=float))
    spread = np.maximum(spread, np.finfo(float).tiny)
    return distance > far * np.broadcast_to(spread, scores.shape[:-1])[..., None]



def proportion_sd(scores, n_test):
    """The sampling standard deviation of each candidate's median proportion over ``n_test`` rows.

    ``sqrt(p (1 - p) / n_test)`` for a candidate's median split score ``p`` (an accuracy), and
    at least ``1 / n_test``, the resolution of a proportion: the spread that splits of one
    candidate show from their test rows alone.

    Parameters
    ----------
    scores : array-like of float, shape (k, J)
    n_test : int
        Test rows per split.

    Returns
    -------
    numpy.ndarray of float, shape (k,)
    """
    p = np.clip(np.median(np.asarray(scores, dtype=float), axis=-1), 0.0, 1.0)
    return np.maximum(np.sqrt(p * (1 - p) / n_test), 1.0 / n_test)
