"""Atomic writes: every artifact is written to a temporary file beside it, then renamed.

A reader (or a resumed sweep) therefore sees either the previous complete file or the new
complete file, never a truncated one, even when the writer is killed part-way. A write that
fails (a full disk, no permission) raises `src.errors.WriteFailed` naming the file and the
cause, and leaves nothing at the destination.
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

from .errors import WriteFailed
from .layout import TMP_PREFIX

# The writes of this process that failed, first first: a write failing inside a fit that a
# caller catches (scikit-learn records a failed fit) still ends the run (`first_failed_write`).
FAILED_WRITES = []
SET_ASIDE = []  # (what was wrong, where it went) of every damaged result this process set aside
# The study dirs this process holds (`src.study_lock`): lock file -> (folder, check); each write into a
# folder first runs its check, which raises once another process has taken the folder over
GUARDS = {}
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : str or Path
        The final destination. Its folder is created when missing.

    Yields
    ------
    Path
        Where the caller writes. Removed if the block raises.

    Raises
    ------
    src.errors.WriteFailed
        When creating, writing, syncing or renaming the file fails with an `OSError`
        (``ENOSPC``, ``EACCES``, ...); also recorded in `FAILED_WRITES`.
    src.study_lock.LockLost
        When ``path`` is in a folder that another process took over from this one (`GUARDS`):
        checked before the file is created and again before it is renamed into place.
    """
    path, tmp = Path(path), None
    try:
        _guard(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _guard(path)
        os.replace(tmp, path)
    except OSError as exc:
        failed = WriteFailed(path, exc.strerror or str(exc))
        FAILED_WRITES.append(failed)
        raise failed from exc
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _guard(path):
    """Run the check of every held folder that ``path`` is in (`GUARDS`): a lost one raises."""
    where = os.path.abspath(path)
    for folder, check in list(GUARDS.values()):
        if where.startswith(folder + os.sep):
            check()


def first_failed_write():
    """The first `src.errors.WriteFailed` of this process, or None when every write succeeded."""
    return FAILED_WRITES[0] if FAILED_WRITES else None


def set_aside(paths, folder, why=None):
    """Move the files of one damaged result into ``folder``, never over earlier ones.

    Parameters
    ----------
    paths : iterable of Path
        The result's files (a fit record's JSON and weights); those that do not exist are
        passed over.
    folder : Path
        Where they go (created when missing), keeping their names (``NAME.1.SUFFIX``,
        ``NAME.2.SUFFIX``... when taken).
    why : src.errors.Damaged, optional
        What was wrong; given, the result is counted in `SET_ASIDE`.

    Returns
    -------
    list of Path
        Where the files went.
    """
    folder, moved = Path(folder), []
    for path in map(Path, paths):
        if not path.exists():
            continue
        _guard(folder / path.name)
        folder.mkdir(parents=True, exist_ok=True)
        target, n = folder / path.name, 0
        while target.exists():
            n += 1
            target = folder / f"{path.stem}.{n}{path.suffix}"
        os.replace(path, target)
        moved.append(target)
    if why is not None:
        SET_ASIDE.append((why, folder))
    return moved


def write_text(path, text):
    """Atomically write ``text`` (UTF-8) to ``path`` and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path, data):
    """Atomically write ``data`` to ``path`` and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_torch(path, obj):
    """Atomically write ``obj`` with ``torch.save`` and return the path.

    It is serialised in memory first, so that a failed write (a full disk) raises `WriteFailed`
    with its cause, not torch's zip writer's error.
    """
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_bytes(path, buffer.getvalue())


def write_json(path, obj):
    """Atomically write ``obj`` as indented JSON (NaN allowed) and return the path."""
    return write_text(path, json.dumps(obj, indent=2, default=json_default) + "\n")


def write_csv(path, frame):
    """Atomically write a pandas DataFrame as CSV (no index) and return the path."""
    return write_text(path, frame.to_csv(index=False))


def save_figure(path, fig, **kwargs):
    """Atomically save a matplotlib figure in the format its suffix names (PNG by default); return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png", **kwargs)
    return Path(path)


def json_default(obj):
    """A JSON encoder's fallback: numpy scalars as Python values, paths as text."""
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
