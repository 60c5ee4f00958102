"""What a grid's failed fits mean for the run: one line per failed candidate, or one error."""
import logging

from ..errors import WriteFailed
from ..training import fit_records
from ..training.net import Diverged

log = logging.getLogger("src.modes.grid")  # the grid's lines keep their name in a job's log


def all_failed(record_dir):
    """The error to raise when every fit of a grid failed: `Diverged` when they all diverged."""
    statuses, first = fit_records.statuses(record_dir)
    first = first or "no fit record was written"
    if statuses == {"diverged"}:
        return Diverged(f"every fit of the grid diverged (first: {first})")
    return RuntimeError(f"every fit of the grid failed (first error: {first})")


def check_recorded(fit_keys, record_dir):
    """Raise `src.errors.WriteFailed` for the first fit of the search that left no record.

    Every fit leaves a record where it ran (ok, failed, diverged or stopped). In a worker
    process (``search.backend=local`` or ``dask`` with ``cv.batched=false``) a record that could
    not be written (a full disk there) fails the fit, which scikit-learn catches like any
    failed fit: only the missing record tells this process, which ends the run with one line
    instead of reporting the fit as failed. ``fit_keys`` and ``record_dir`` are as in `report_failures`.
    """
    for path in fit_records.unrecorded(fit_keys, record_dir)[:1]:
        raise WriteFailed(path, "no record after its fit (a full disk where the fit ran, or a run dir "
                                "that its process does not share)")


def report_failures(fit_keys, record_dir):
    """Print one line per candidate with failed or diverged splits, with the first error.

    Parameters
    ----------
    fit_keys : dict
        ``{label: [fit key per split]}``, as in ``search.json``.
    record_dir : Path
        The grid's fit records.
    """
    for label, (bad, n) in fit_records.failed(fit_keys, record_dir).items():
        statuses = "/".join(sorted({r["status"] for r in bad}))
        log.info(f"grid: {label}: {statuses} on {len(bad)} of {n} splits ({bad[0].get('error', '')})")
