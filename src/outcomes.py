"""What became of a fit: the one test of a fit stopped at a rung of successive halving."""


def stopped(item):
    """Whether a fit was stopped at a rung of successive halving: the one test of "stopped".

    Parameters
    ----------
    item : pandas.DataFrame or mapping
        A table with a ``halted_at`` column (folds, summary), or one fit record or row.

    Returns
    -------
    pandas.Series of bool, or bool
        Per row of a table; for a record or row, whether its ``halted_at`` holds a rung's epochs.
    """
    if hasattr(item, "columns"):
        import pandas as pd

        return item["halted_at"].notna() if "halted_at" in item else pd.Series(False, index=item.index)
    value = item.get("halted_at")
    return value is not None and value == value  # NaN != NaN: a table cell without a rung
