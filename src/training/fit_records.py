"""One record per finished fit, so that a killed grid resumes without refitting.

A fit is identified by its parameters and a fingerprint of its training data. When it ends,
its outcome (status, error, seconds, per-epoch history) is written as JSON and, when it
succeeded, its weights beside it; both atomically. A later fit with the same key loads the
weights instead of training. The records also give the per-fold tables their fit times,
statuses and learning curves.
"""
import hashlib
import json

import numpy as np
import torch

from .. import layout
from ..data.rows import resolve
from ..files import atomic_path, write_json
from ..model.mlp import uncompiled
from ..params import plain

KEY_PARAMS_SKIPPED = ("callbacks__", "iterator_", "verbose", "threads", "record_dir", "device", "warm_start")


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
    """The parameters of a skorch net that decide what a fit computes, as plain values."""
    params = net.get_params(deep=False)
    values = {k: plain(v) for k, v in sorted(params.items())
              if not k.startswith(KEY_PARAMS_SKIPPED) and not k.startswith("_")}
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
    """Write a fit's record (and its module's weights when given) atomically."""
    if module is not None:
        with atomic_path(layout.record_path(record_dir, key, weights=True)) as tmp:
            torch.save(uncompiled(module).state_dict(), tmp)
    write_json(layout.record_path(record_dir, key), record)


def outcome(record_dir, key):
    """The record of a fit (whatever its status), or None when there is none."""
    return layout.read_record(record_dir, key)


def load(record_dir, key):
    """Return ``(record, state_dict)`` of a finished successful fit, or None."""
    record, weights = outcome(record_dir, key), layout.record_path(record_dir, key, weights=True)
    if record is None or record.get("status") != "ok" or not weights.exists():
        return None
    return record, torch.load(weights, map_location="cpu", weights_only=True)
