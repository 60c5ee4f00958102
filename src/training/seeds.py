"""The seed of each fit: derived from the study's ``seed``, the split it trains on and its init.

Every split (repeat, fold) trains from its own seed, so that a verdict covers the spread of the
initial weights, the batch order and the random ops, not one seed's draw of them; every candidate
of a split trains from the same seed, so that the comparison stays paired. A split is named by its
training data (`src.training.fit_records.data_fingerprint`): the rows the study's ``seed``, the
repeat and the fold chose. ``cv.inits=K`` trains each split at K seeds, the init ``k`` of each.
"""
import numpy as np

# A fit's own streams are children of its seed: the batch order takes the seed itself, the
# random ops its child `src.model.randomness.RANDOM_OPS_STREAM`.
SPLIT_STREAM = 2


def fit_seed(seed, data=None, init=0):
    """The seed of a fit of the study ``seed`` on the split whose training data is ``data``, at init ``init``.

    Parameters
    ----------
    seed : int
        The study's seed.
    data : str, optional
        The split's `src.training.fit_records.data_fingerprint` (hex); None: the study's seed for
        every split (how studies were seeded before seeds per split).
    init : int
        The init of the split (``0 <= init < cv.inits``).

    Returns
    -------
    int
        ``seed`` itself when ``data`` is None and ``init`` is 0; otherwise a seed drawn from
        `numpy.random.SeedSequence` of the three, below 2**31.
    """
    if data is None and not init:
        return int(seed)
    entropy = [int(seed), SPLIT_STREAM, int(data, 16) if data is not None else 0, int(init)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint32)[0] >> 1)
