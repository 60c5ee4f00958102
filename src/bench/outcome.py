"""What a project part left in its run dir, read in one place (`read_outcome`)."""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from .. import layout


@dataclass(frozen=True)
class Outcome:
    """The result files of one run dir that the bench reads; None for a file the run did not write.

    Attributes
    ----------
    metrics : dict, optional
        A single run's metrics.
    search : dict, optional
        A grid's search record.
    summary, tuning : DataFrame, optional
        A grid's summary and a tuned study's tuning table.
    records : list
        The fit records of the search's fit keys, in order (None for a key without one).
    """

    metrics: Optional[dict]
    search: Optional[dict]
    summary: Optional[pd.DataFrame]
    tuning: Optional[pd.DataFrame]
    records: list


def read_outcome(run_dir):
    """Read what ``run_dir`` holds, each file through `src.layout.read_whole`.

    Parameters
    ----------
    run_dir : str or Path

    Returns
    -------
    Outcome
    """
    run_dir = Path(run_dir)

    def whole(path):
        return layout.read_whole(path) if path.exists() else None

    search = whole(run_dir / layout.SEARCH)
    keys = [key for keys in (search or {}).get("fit_keys", {}).values() for key in keys]
    records = [whole(layout.record_path(layout.fits_dir(run_dir), key)) for key in keys]
    return Outcome(whole(run_dir / layout.METRICS), search, whole(run_dir / layout.SUMMARY),
                   whole(run_dir / layout.TUNING), records)
