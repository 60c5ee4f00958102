"""The tuned protocol's choices: each activation's own settings, chosen split by split.

In a tuned study (``protocol=tuned``) every activation is trained at every combination of the
``tune`` settings (the nuisance settings: a learning rate, a weight decay, ...) on every outer
split. Each fit holds a validation split out of its outer training rows (``train.valid_fraction``);
on each outer split, each activation's setting is chosen by the score of those validation rows
alone, and the chosen fit is then judged on the outer split's test rows, which the choice never
saw. The verdict compares the activations on those outer scores.

The choice ranks by the one rule of `src.ranking`: the highest validation accuracy of the last
epoch, then the lower validation loss, then the setting listed first under ``tune``.
"""
from .ranking import rank_order

INNER = "valid_accuracy"      # the score that chooses
TIEBREAK = "valid_loss"       # lower wins between equal scores
OUTER = "test_accuracy"       # the score that judges


def choose(trials, nuisance, by):
    """Mark each compared candidate's chosen fit on each split (column ``chosen``).

    Parameters
    ----------
    trials : pandas.DataFrame
        One row per fit, in the grid's order (settings as listed under ``tune``), with the
        columns ``split``, `INNER`, `TIEBREAK` and those in ``by`` and ``nuisance``.
    nuisance : list of str
        The tuned settings.
    by : list of str
        The columns that name a compared candidate (its activation, and any other swept
        setting that is not tuned).

    Returns
    -------
    pandas.DataFrame
        ``trials`` with a boolean column ``chosen``: one True per candidate and split.
    """
    ranked = trials.index[rank_order(trials[INNER], trials[TIEBREAK])]
    keys = trials.loc[ranked, by + ["split"]].astype(str).agg("\x1f".join, axis=1)
    first = keys[~keys.duplicated()].index
    return trials.assign(chosen=trials.index.isin(first))


def most_chosen(chosen, nuisance):
    """The setting chosen on most splits (between equal counts, the one listed first).

    Parameters
    ----------
    chosen : pandas.DataFrame
        The chosen rows of one candidate (`choose`), in the grid's order.
    nuisance : list of str

    Returns
    -------
    dict
        Short name -> value.
    """
    settings = [tuple(row) for row in chosen[nuisance].itertuples(index=False)]
    counts = {s: settings.count(s) for s in dict.fromkeys(settings)}
    best = max(counts, key=counts.get)  # max keeps the first of equal counts
    return dict(zip(nuisance, best))
