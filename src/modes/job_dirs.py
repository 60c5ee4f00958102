"""A job's folder when a sweep is re-run: its finished results kept, brought in from another job folder or the
sweep's stash (moved or linked), damaged results set aside, and the folder claimed."""
import logging
import os
import shutil
from pathlib import Path

from .. import layout
from ..files import TMP_PREFIX, set_aside, write_json
from ..study_lock import STALE_AFTER, StudyLock
from ..training import fit_records
from ..words import counted

log = logging.getLogger(__name__)


KEEP = (layout.HYDRA, layout.DAMAGED, layout.STUDY_LOCK)  # a job folder's entries that are never results


def _says_ok(job_dir, key):
    status = layout.read_status(job_dir)
    return status if status and not layout.failed(status) and status.get("config_hash") == key else None


def finished(job_dir, key):
    """The status of ``job_dir`` if it finished ``ok`` for the config hash ``key`` and its
    results read back whole (`src.layout.results_damage`), else None."""
    status = _says_ok(job_dir, key)
    return status if status and not layout.results_damage(job_dir) else None


def set_aside_damage(job_dir, key):
    """Set aside the damaged results of a job whose status says it finished ``key``.

    Each damaged file gets one line and moves to the job's ``damaged/`` folder (a fit record,
    with its weights, to ``fits/damaged/``); the status goes too, so that the job runs again.

    Returns
    -------
    int
        How many damaged files were set aside (0: the job is whole, or did not finish ``key``).
    """
    job_dir = Path(job_dir)
    found = layout.results_damage(job_dir) if _says_ok(job_dir, key) else []
    for damaged in found:
        path = Path(damaged.path)
        if path.parent == layout.fits_dir(job_dir):
            fit_records.set_aside_record(path.parent, path.stem, damaged)
            continue
        set_aside([path], layout.damaged_dir(job_dir), damaged)
        log.info(f"damaged: {damaged}; set aside in {layout.damaged_dir(job_dir)}, the job runs again")
    if found:
        set_aside([job_dir / layout.STATUS], layout.damaged_dir(job_dir))
    return len(found)


def _results(job_dir):
    """The entries of a job folder that are results (not Hydra's files, logs or the lock's), status last."""
    entries = [p for p in Path(job_dir).iterdir()
               if p.name not in KEEP and p.suffix != ".log" and not p.name.startswith(layout.STUDY_LOCK)]
    return sorted(entries, key=lambda p: (p.name == layout.STATUS, p.name))


def _move(src_dir, dst_dir):
    """Move every result of ``src_dir`` into ``dst_dir`` (renames; ``status.json`` last)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for entry in _results(src_dir):
        target = dst_dir / entry.name
        if entry.is_dir() and target.is_dir():
            _move(entry, target)
            shutil.rmtree(entry, ignore_errors=True)
        elif not entry.name.startswith(TMP_PREFIX):
            os.replace(entry, target)


def _link(src_dir, dst_dir):
    """Bring every result of ``src_dir`` into ``dst_dir`` as hard links (else copies), atomically."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for entry in _results(src_dir):
        target = dst_dir / entry.name
        if entry.is_dir():
            _link(entry, target)
        elif not entry.name.startswith(TMP_PREFIX):
            tmp = dst_dir / f"{TMP_PREFIX}{entry.name}"
            tmp.unlink(missing_ok=True)
            try:
                os.link(entry, tmp)
            except OSError:  # another file system, or no hard links there
                shutil.copy2(entry, tmp)
            os.replace(tmp, target)


def _set_aside(job_dir, sweep_dir):
    """Empty a job folder of results before it computes (or receives) another config's.

    Its ``status.json`` goes first, so that no other job takes these results from now on.
    Finished results of another config move to ``<sweep>/.stash/<its hash>/``, where a later
    job of that config finds them; unfinished ones are dropped, except the per-fit records
    in ``fits/``, which are keyed by their parameters and let a killed grid resume.
    """
    status = layout.read_status(job_dir)
    (job_dir / layout.STATUS).unlink(missing_ok=True)
    if status and not layout.failed(status) and status.get("config_hash"):
        stash = Path(sweep_dir) / layout.STASH / status["config_hash"]
        if not stash.exists():
            _move(job_dir, stash)
            write_json(stash / layout.STATUS, status)
    for entry in _results(job_dir):
        if entry.is_dir() and entry.name != layout.FITS:
            shutil.rmtree(entry, ignore_errors=True)
        elif not entry.is_dir():
            entry.unlink(missing_ok=True)


def _other_job_dirs(sweep_dir, job_dir):
    return [d for d in layout.all_job_dirs(sweep_dir) if d.resolve() != Path(job_dir).resolve()]


def claim(job_dir, sweep_dir, key, stale_after=STALE_AFTER):
    """Find finished results of the config ``key`` for the job folder ``job_dir``.

    Looked for, in order: the job's own folder, the sweep's stash, the other job folders of
    the sweep; results that do not read back whole are passed over (the job's own are set
    aside, `set_aside_damage`). Found elsewhere, the results are moved (stash) or linked (another job) into
    ``job_dir``. Not found, ``job_dir`` is emptied of another config's results (`_set_aside`)
    and the job trains. All of it happens under the sweep's claim lock (`src.layout.CLAIM_LOCK`): the
    lock of a run (`src.study_lock.StudyLock`) on its own file, waited for while another job claims, and
    taken over once its holder is gone (after ``stale_after`` seconds without a heartbeat elsewhere).

    Returns
    -------
    (dict, Path) or (None, None)
        The status (with ``objective``) and where the results came from.
    """
    job_dir, sweep_dir = Path(job_dir), Path(sweep_dir)
    with StudyLock(sweep_dir, stale_after=stale_after, name=layout.CLAIM_LOCK).wait():
        status = finished(job_dir, key)
        if status:
            return status, job_dir
        set_aside_damage(job_dir, key)
        _set_aside(job_dir, sweep_dir)
        stash = sweep_dir / layout.STASH / key
        status = finished(stash, key)
        if status:
            _move(stash, job_dir)
            shutil.rmtree(stash, ignore_errors=True)
            return status, stash
        for other in _other_job_dirs(sweep_dir, job_dir):
            status = finished(other, key)
            if status:
                _link(other, job_dir)
                return status, other
    return None, None


def remove_if_no_results(out_dir):
    """Delete a run dir that holds nothing but Hydra's config copy and log."""
    if out_dir.is_dir() and not _results(out_dir):
        shutil.rmtree(out_dir, ignore_errors=True)


def redone_line(set_aside):
    """The closing line of a job that found damaged results: how many, and where they are now.

    Parameters
    ----------
    set_aside : list of (src.errors.Damaged, Path)
        Each damaged result and the folder it was set aside in (`src.files.SET_ASIDE`).
    """
    folders = ", ".join(sorted({str(folder) for _, folder in set_aside}))
    n = len(set_aside)
    return f"damaged: {counted(n, 'damaged result')} set aside in {folders} and computed again"
