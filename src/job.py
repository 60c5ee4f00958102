"""What happens when a job fails: one line for the user, a failed-status file for sweeps."""
import contextlib
import shutil
import sys
import traceback

from .errors import UserError
from .files import write_json

STATUS_FILE = "status.json"


def _remove_if_no_results(out_dir):
    """Delete a run dir that holds nothing but Hydra's config copy and log."""
    if not out_dir.is_dir():
        return
    leftovers = [p for p in out_dir.iterdir() if p.name not in (".hydra",) and p.suffix != ".log"]
    if not leftovers:
        shutil.rmtree(out_dir, ignore_errors=True)


@contextlib.contextmanager
def guard(out_dir, multirun):
    """Run a job's body; turn failures into one line (single runs) or a status file (sweeps).

    A `UserError` in a single run prints ``error: <message>``, removes the run dir when it
    holds no results, and exits with status 2. In a multirun every failure writes
    ``status.json`` (``failed`` with the error) into the job's dir and the job ends quietly,
    so that the other jobs go on and the sweep's summary lists it as a failed row (the sweep
    then exits non-zero, see `src.sweep`).
    """
    try:
        yield
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if not multirun:
            _remove_if_no_results(out_dir)
            sys.exit(2)
        write_json(out_dir / STATUS_FILE, {"status": "failed", "error": str(exc)})
    except Exception as exc:
        if not multirun:
            raise
        traceback.print_exc()
        write_json(out_dir / STATUS_FILE, {"status": "failed", "error": f"{type(exc).__name__}: {exc}"})
