"""One record per finished fit, so that a killed grid resumes without refitting.

A fit is identified by its parameters and a fingerprint of its training data. When it ends,
its outcome (status, error, seconds, per-epoch history) is written as JSON and, when it
succeeded, its weights beside it; both atomically. A later fit with the same key loads the
weights instead of training. The records also give the per-fold tables their fit times,
statuses and learning curves.

A record that no longer reads back whole (`src.layout.record_damage`: a weights file cut
short, a JSON emptied or edited) is moved to ``fits/damaged/`` with one line saying so, and
its fit is trained again.
"""
import hashlib
import json
import logging

import numpy as np

from .. import layout
from ..data.rows import resolve
from ..errors import Damaged
from ..files import set_aside, write_json, write_torch
from ..model.mlp import uncompiled
from ..params import plain
from ..outcomes import stopped

log = logging.getLogger(__name__)

KEY_PARAMS_SKIPPED = ("callbacks__", "iterator_", "verbose", "threads", "record_dir", "device", "warm_start",
                      "halving", "checkpoint_every")


# Settings added after records were first written, left out of a fit's parameters at the value that
# computes what fits computed before them: a study dir written then finds its records again.
DEFAULTS_LEFT_OUT = {"split_seeds": False, "init_index": 0}


def data_fingerprint(X, y, rows=None):
    """A short digest of a training set: its shape, every label and every 50th row.

    With ``rows`` (integer indices, as CV splitters give), the digest of ``(X[rows], y[rows])``,
    without copying those rows out; ``X`` may be a `src.data.rows.Rows` (the same digest as the
    array of its rows).
    """
    X, index = resolve(X)
    X, y = np.asarray(X), np.asarray(y)
    rows = np.arange(len(X) if index is None else len(index)) if rows is None else np.asarray(rows)
    x_rows = rows if index is None else index[rows]
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr(((len(rows),) + X.shape[1:], X.dtype.str)).encode())
    digest.update(np.ascontiguousarray(y[rows]).tobytes())
    digest.update(np.ascontiguousarray(X[x_rows[::50]]).tobytes())
    return digest.hexdigest()


def fit_params(net):
    """The parameters of a skorch net that decide what a fit computes, as plain values.

    The device is one of them where it is not the CPU: a GPU's kernels round differently and its
    random-op generator draws another stream (`src.model.randomness`), so a study resumed on another
    device trains its fits again rather than mixing records of two devices. (A CPU's key carries no
    device, so that records written before the device was part of the key are still found.)
    """
    params = net.get_params(deep=False)
    values = {k: plain(v) for k, v in sorted(params.items())
              if not k.startswith(KEY_PARAMS_SKIPPED) and not k.startswith("_")}
    if str(params.get("device", "cpu")) != "cpu":
        values["device"] = str(params["device"])
    for name, default in DEFAULTS_LEFT_OUT.items():  # settings added later: their old default keeps old keys
        if values.get(name, default) == default:
            values.pop(name, None)
    unnamed = [k for k, v in values.items() if " at 0x" in json.dumps(v)]
    if unnamed:  # an address would make the key differ between identical fits, or hide a setting
        raise ValueError(f"cannot identify the fit parameters {unnamed}: their values are only addresses")
    return values


def fit_key(net, X, y, fingerprint=None):
    """The record key of fitting ``net`` on ``(X, y)`` (or on data of the given `data_fingerprint`)."""
    text = json.dumps(fit_params(net), sort_keys=True) + (fingerprint or data_fingerprint(X, y))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def history_rows(history):
    """A skorch history as JSON-ready rows (batch-level entries dropped)."""
    return [{k: v for k, v in row.items() if k != "batches" and not k.endswith("_batch_count")}
            for row in history]


def save(record_dir, key, record, module=None):
    """Write a fit's record (and its module's weights when given) atomically.

    A failed write (a full disk) raises `src.errors.WriteFailed` with its cause (`src.files.write_torch`).
    """
    if module is not None:
        write_torch(layout.record_path(record_dir, key, weights=True), uncompiled(module).state_dict())
    write_json(layout.record_path(record_dir, key), record)


def outcome(record_dir, key):
    """The record of a fit (whatever its status), or None when there is none."""
    return layout.read_record(record_dir, key)


def set_aside_record(record_dir, key, damaged):
    """Move a damaged fit record (its JSON and weights) to ``damaged/`` and print one line.

    Parameters
    ----------
    record_dir : Path
    key : str
    damaged : src.errors.Damaged
        What was found wrong, named in the line.
    """
    aside = layout.damaged_dir(record_dir)
    set_aside([layout.record_path(record_dir, key), layout.record_path(record_dir, key, weights=True)], aside,
              damaged)
    log.info(f"damaged: {damaged}; set aside in {aside}, the fit is trained again")


def load(record_dir, key, halted=False):
    """Return ``(record, state_dict)`` of a finished successful fit, or None.

    None also for a damaged record, which is set aside (`set_aside_record`) so that the fit
    is trained again, and, unless ``halted``, for a fit that successive halving stopped at a
    rung (``halted_at``): outside a halving search it counts as unfinished.
    """
    if not layout.record_path(record_dir, key).exists():
        return None  # no record (weights alone are those of a fit killed before its JSON)
    try:
        record = layout.read_whole(layout.record_path(record_dir, key), layout.RECORD_KEYS)
        if record["status"] != "ok" or (stopped(record) and not halted):
            return None
        return record, layout.read_whole(layout.record_path(record_dir, key, weights=True))
    except Damaged as exc:
        set_aside_record(record_dir, key, exc)
        return None


def set_aside_damaged(record_dir):
    """Check every fit record of a folder; set aside each damaged one (`set_aside_record`).

    Run before a grid resumes, in its own process, so that every damaged record gets its
    line there (not in a worker's log) and no worker meets one.

    Returns
    -------
    int
        How many records were set aside.
    """
    count = 0
    for key in layout.record_keys(record_dir):
        for damaged in layout.record_damage(record_dir, key)[:1]:
            set_aside_record(record_dir, key, damaged)
            count += 1
    return count


# Queries over the fits of one search, named by ``fit_keys``: ``{label: [fit key per split]}``.

def _records(fit_keys, record_dir):
    return {label: [outcome(record_dir, key) or {} for key in keys] for label, keys in fit_keys.items()}


def recorded(fit_keys, record_dir):
    """How many of the fits of ``fit_keys`` have a record."""
    return sum(map(len, fit_keys.values())) - len(unrecorded(fit_keys, record_dir))


def unrecorded(fit_keys, record_dir):
    """The record paths of the fits of ``fit_keys`` that left no record, in order."""
    paths = (layout.record_path(record_dir, key) for keys in fit_keys.values() for key in keys)
    return [path for path in paths if not path.exists()]


def halted(fit_keys, record_dir):
    """The labels of ``fit_keys`` with a fit that successive halving stopped at a rung (``halted_at``)."""
    return {label for label, records in _records(fit_keys, record_dir).items()
            if any(stopped(r) for r in records)}


def failed(fit_keys, record_dir):
    """``{label: (its failed or diverged records, its fits)}`` for each label of ``fit_keys`` with one."""
    found = {label: ([r for r in records if r.get("status") in ("failed", "diverged")], len(records))
             for label, records in _records(fit_keys, record_dir).items()}
    return {label: (bad, n) for label, (bad, n) in found.items() if bad}


def every_fit_failed(fit_keys, record_dir):
    """Whether every fit of ``fit_keys`` left a failed or diverged record."""
    records = [r for rs in _records(fit_keys, record_dir).values() for r in rs]
    return bool(records) and all(r.get("status") in ("failed", "diverged") for r in records)


def statuses(record_dir):
    """The statuses of every record in ``record_dir``, and the first error among them (None: none)."""
    records = layout.read_records(record_dir)
    return {r.get("status") for r in records}, next((r.get("error") for r in records if r.get("error")), None)


def last_epoch(record_dir, key):
    """The last row of a fit's history (empty when it has no record or no history)."""
    return ((outcome(record_dir, key) or {}).get("history") or [{}])[-1]
