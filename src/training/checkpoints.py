"""Checkpoints of the stacks and fits still training: written every ``train.checkpoint_every`` epochs,
read back (`src.layout.read_whole`) by the same command to go on from where a kill left them.

A `Checkpoints` keeps the state after the last epoch in memory and writes it when it is due, and
at once when the run is interrupted (`save_running`: Ctrl-C, a Slurm job warned of its time
limit). The last `KEEP` of a stack or fit stay in ``fits/checkpoints/``, until its records are
written. Policy and costs: docs/clusters.md, "Long studies and time limits".
"""
import contextlib
import hashlib
import json
import logging
import threading
import time

import torch

from .. import layout
from ..errors import Damaged, Interrupted
from ..files import json_default, set_aside, write_torch

log = logging.getLogger(__name__)

KEEP = 2  # checkpoints kept per stack or fit: the newest, and the one before it should the newest be damaged
RUNNING = {}  # id -> the `Checkpoints` of every stack or fit training in this process
SAVED = []  # (what, epoch) of every checkpoint written on an interrupt in this process
PROGRESS = {"started": False, "written": 0}  # whether training started in this process; checkpoints it wrote
_LOCK = threading.RLock()  # re-entered by a signal handler (Slurm's warning) in the writing thread


def stack_name(keys, last):
    """The name of the checkpoints of a stack: its members' fit keys, trained to epoch ``last``."""
    return hashlib.blake2b(json.dumps([list(keys), int(last)]).encode(), digest_size=10).hexdigest()


def plain(rows):
    """History rows as plain Python values (what ``torch.load(weights_only=True)`` reads back)."""
    return json.loads(json.dumps(rows, default=json_default))


def cpu_copy(value):
    """A copy on the CPU of a tensor, or of the tensors in nested dicts and lists; other values as they are."""
    if torch.is_tensor(value):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: cpu_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [cpu_copy(v) for v in value]
    return value


class Checkpoints:
    """The checkpoints of one stack or fit.

    Parameters
    ----------
    record_dir : str or Path
        The grid's fit records (``fits/``); the checkpoints go in its ``checkpoints/``.
    name : str
        The stack's `stack_name`, or the fit's record key.
    every : int
        Write one every ``every`` epochs.
    what : str
        The stack or fit in the lines it says (its candidates' labels).
    """

    def __init__(self, record_dir, name, every, what):
        self.record_dir, self.name, self.every, self.what = record_dir, name, int(every), what
        self.latest = None  # (epoch, state) after the last epoch trained, in memory
        self.written = 0
        self.seconds = 0.0  # spent taking and writing checkpoints

    def load(self):
        """The newest checkpoint that reads back whole, as a dict with its ``epoch``; None when there is none.

        A damaged one is set aside in ``checkpoints/damaged/`` with one line, and the one before it is tried.
        """
        for epoch in layout.checkpoint_epochs(self.record_dir, self.name):
            path = layout.checkpoint_path(self.record_dir, self.name, epoch)
            try:
                state = layout.read_whole(path)
                if state.get("epoch") != epoch:
                    raise Damaged(path, f"holds epoch {state.get('epoch')}, not {epoch}")
            except Damaged as exc:
                aside = layout.damaged_dir(path.parent)
                set_aside([path], aside, exc)
                log.info(f"damaged: {exc}; set aside in {aside}, {self.what} goes on from the checkpoint before it")
                continue
            self.written = epoch
            log.info(f"checkpoint: {self.what} goes on from epoch {epoch + 1} (saved after epoch {epoch})")
            return state
        return None

    def epoch_end(self, epoch, capture, last=False):
        """Keep the state ``capture()`` after ``epoch`` in memory; write it every `every` epochs (and ``last``)."""
        tic = time.perf_counter()
        self.latest = (epoch, capture())
        if epoch % self.every == 0 or last:
            self.write()
        self.seconds += time.perf_counter() - tic

    def write(self):
        """Write the state kept in memory, unless written already; keep only the last `KEEP`. Its epoch (0: none)."""
        with _LOCK:
            if self.latest is None or self.latest[0] <= self.written:
                return 0
            epoch, state = self.latest
            write_torch(layout.checkpoint_path(self.record_dir, self.name, epoch),
                        {**state, "history": plain(state["history"]), "epoch": epoch})
            self.written = epoch
            PROGRESS["written"] += 1
            for older in layout.checkpoint_epochs(self.record_dir, self.name)[KEEP:]:
                layout.checkpoint_path(self.record_dir, self.name, older).unlink(missing_ok=True)
            return epoch

    def remove(self):
        """Delete this stack's or fit's checkpoints (its records are written)."""
        for epoch in layout.checkpoint_epochs(self.record_dir, self.name):
            layout.checkpoint_path(self.record_dir, self.name, epoch).unlink(missing_ok=True)
        remove_empty(self.record_dir)


def remove_empty(record_dir):
    """Delete ``checkpoints/`` once it holds nothing."""
    folder = layout.checkpoints_dir(record_dir)
    with contextlib.suppress(OSError):
        folder.rmdir()


def clear(record_dir):
    """Delete every checkpoint of ``record_dir`` (a halving rung's states are saved: they are its stacks')."""
    folder = layout.checkpoints_dir(record_dir)
    for path in folder.glob("*.pt") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
    remove_empty(record_dir)


@contextlib.contextmanager
def running(checkpoints):
    """Register a stack's or fit's `Checkpoints` while it trains (None: none); an interrupt writes its last state."""
    PROGRESS["started"] = True
    if checkpoints is None:
        yield
        return
    RUNNING[id(checkpoints)] = checkpoints
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        _save(checkpoints)
        raise
    finally:
        RUNNING.pop(id(checkpoints), None)


def _save(checkpoints):
    epoch = checkpoints.write()
    if epoch or checkpoints.written:
        SAVED.append((checkpoints.what, epoch or checkpoints.written))


def save_running():
    """Write the last state of every stack and fit training in this process (an interrupt, a time limit).

    Returns
    -------
    list of (str, int)
        Each stack's or fit's name in lines and the epoch it is saved at, those written as the
        interrupt went through their own training first.
    """
    for checkpoints in list(RUNNING.values()):
        _save(checkpoints)
    return list(dict.fromkeys(SAVED))


def worth_requeueing():
    """Whether a job stopped now would go on from where it is: it wrote checkpoints, or has not started training."""
    return bool(PROGRESS["written"]) or not PROGRESS["started"]


def saved_line(saved):
    """What an interrupt saved, for its one line: ``relu, tanh from epoch 53; selu from epoch 12``."""
    by_epoch = {}
    for what, epoch in saved:
        by_epoch.setdefault(epoch + 1, []).append(what)
    return "; ".join(f"{', '.join(whats)} from epoch {epoch}" for epoch, whats in sorted(by_epoch.items()))
