"""The training loop of a stack: each member's epochs, as its own fit would run them.

Each member starts as the plain path would (same seed, initial weights and batch-order stream),
and the loss is the sum of the members' mean losses, so that each gets the gradient it would get
alone. `train_to_rung` stops at an epoch and returns the members' states; `train_and_record`
trains to the end and writes each member's fit record, keyed as its plain fit's. Both save a
checkpoint of the stack every ``checkpoint_every`` epochs (`src.training.checkpoints`) and go on
from the last one that reads back whole.
"""
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Optional

import numpy as np
import torch
from sklearn.base import clone
from torch.nn import functional as F

from ..data.rows import resolve
from . import diagnostics, fit_records
from .checkpoints import Checkpoints, cpu_copy, running, stack_name
from .grouping import fold_rows
from .loader import as_tensor
from .member_rates import MemberRates
from .member_state import member_states, restore
from ..model.randomness import fit_generator, generator_state, give_generator, restore_generator, seeded_build
from .net import Diverged, shuffle_generator, with_fused
from .stack import MemberRandom, Stack

log = logging.getLogger(__name__)


def train_to_rung(nets, X, y, train_indices, epochs, labels=None, rows=None, start=None, fingerprints=None):
    """Train the fold models of one or more candidates together, as one stack, up to epoch ``epochs``.

    Parameters
    ----------
    nets : list of src.training.net.Net
        The candidates (clones of the base net with their parameters set), all with the same
        `src.training.grouping.stack_key`.
    X, y : ndarray
        The whole training set given to GridSearchCV (``X`` may be a `src.data.rows.Rows`).
    train_indices : list of ndarray
        Each fold's training rows (from the CV splitter).
    epochs : int
        The epoch to stop after, below the nets' ``max_epochs``.
    labels : list of str, optional
        The candidates' names in the progress line printed after every epoch (none when None).
    rows : list, optional
        The folds' `src.training.grouping.fold_rows` (computed when None).
    start : list of MemberState, optional
        Each member's state (member ``m = c * F + f``) after the epochs in its history: training
        goes on from there, the folds' batch orders drawn as they would have been.
    fingerprints : list of str, optional
        The folds' `src.training.fit_records.data_fingerprint` values, which name the stack's
        checkpoints (computed when None and the nets' ``checkpoint_every`` asks for checkpoints).

    Returns
    -------
    list of MemberState
        Every member's state, candidate by candidate, fold by fold.
    """
    run = _train(nets, StackData(X, y, train_indices, rows, fingerprints), epochs, labels, start, nets[0].record_dir)
    return member_states(run.stack, run.optimizer, run.histories, run.seconds, run.rates.scales(), run.generators)


def train_and_record(nets, X, y, train_indices, record_dir, labels=None, fingerprints=None, rows=None, start=None,
                     inits=None):
    """Train the fold models of one or more candidates together to the end and write their fit records.

    Parameters
    ----------
    nets, X, y, train_indices, labels, rows, start, fingerprints
        As for `train_to_rung`; training ends at the nets' ``max_epochs``.
    record_dir : str
        Where the records (and the stack's checkpoints) go.
    inits : list of int, optional
        Each fold's init (``cv.inits``): a split trained at K seeds is K folds of the stack, with the
        same rows and their own seeds (None: every fold at the nets' ``init_index``).

    Returns
    -------
    list of str
        The record keys written, candidate by candidate, fold by fold.
    """
    fingerprints = fingerprints or [fit_records.data_fingerprint(X, np.asarray(y), idx) for idx in train_indices]
    data = StackData(X, y, train_indices, rows, fingerprints, inits)
    run = _train(nets, data, nets[0].max_epochs, labels, start, record_dir)
    F_, K = len(train_indices), len(nets) * len(train_indices)
    spent = None if run.checkpoints is None else run.checkpoints.seconds / K
    members = member_nets(nets, inits, F_)
    keys = [write_record(record_dir, members[m], run.stack.member_module(m).cpu(),
                         MemberFit(fingerprints[m % F_], len(train_indices[m % F_]), run.histories[m], run.seconds[m],
                                   checkpoint_seconds=spent, seed=run.seeds[m % F_]), K) for m in range(K)]
    if run.checkpoints is not None:
        run.checkpoints.remove()
    return keys


@dataclass(frozen=True)
class StackData:
    """The training data of a stack's folds.

    Attributes
    ----------
    X, y : ndarray
        The whole training set given to GridSearchCV (``X`` may be a `src.data.rows.Rows`).
    train_indices : list of ndarray
        Each fold's training rows.
    rows : list, optional
        The folds' `src.training.grouping.fold_rows` (computed when None).
    fingerprints : list of str, optional
        The folds' `src.training.fit_records.data_fingerprint` values (computed where needed when None).
    inits : list of int, optional
        Each fold's init (``cv.inits``; None: every fold at the nets' ``init_index``).
    """

    X: object
    y: object
    train_indices: list
    rows: Optional[list] = None
    fingerprints: Optional[list] = None
    inits: Optional[list] = None


@dataclass
class _Trained:
    """A stack after training: its optimizer, rates, every member's history, seconds and random-op
    generator, its checkpoints."""

    stack: Stack
    optimizer: object
    rates: MemberRates
    histories: list
    seconds: list
    generators: list
    seeds: list
    checkpoints: Checkpoints = None


def member_nets(nets, inits, n_folds):
    """Each member's net (``m = c * F + f``): candidate c at fold f's init (``inits``; None: its own)."""
    if inits is None:
        return [cand for cand in nets for _ in range(n_folds)]
    return [cand if cand.init_index == k else clone(cand).set_params(init_index=k) for cand in nets for k in inits]


def fold_seeds(net, X, y, train_indices, fingerprints=None, inits=None):
    """Each fold's seed (`src.training.net.Net.seed_for`), the same for every candidate of the fold."""
    inits = [None] * len(train_indices) if inits is None else inits
    if fingerprints is None and net.split_seeds:
        fingerprints = [fit_records.data_fingerprint(X, y, idx) for idx in train_indices]
    return [net.seed_for(None if fingerprints is None else fingerprints[f], inits[f]) for f in range(len(inits))]


def _checkpoints(nets, data, last, labels, record_dir):
    """The stack's `Checkpoints` (of its `StackData` ``data``), named by its members' fit keys; None when the nets
    ask for none."""
    every = getattr(nets[0], "checkpoint_every", 0)
    if not every or not record_dir:
        return None
    fingerprints = data.fingerprints or [fit_records.data_fingerprint(data.X, np.asarray(data.y), idx)
                                         for idx in data.train_indices]
    members = member_nets(nets, data.inits, len(fingerprints))
    keys = [fit_records.fit_key(cand, None, None, fingerprints[m % len(fingerprints)]) for m, cand in enumerate(members)]
    what = ", ".join(labels) if labels else f"a stack of {len(keys)} fits"
    return Checkpoints(record_dir, stack_name(keys, last), every, what)


def _capture(stack, optimizer, folds, generators, histories, seconds):
    """The stack's state after an epoch, copied to the CPU: what a checkpoint holds."""
    return {"params": cpu_copy(list(stack.parameters())), "optimizer": cpu_copy(optimizer.state_dict()),
            "generators": [fold["generator"].get_state() for fold in folds],
            "random": [generator_state(g) for g in generators],
            "history": [list(h) for h in histories], "seconds": seconds}


def _resume(saved, stack, optimizer, folds, generators):
    """Load a checkpoint (`_capture`) into the stack; its epoch, histories and seconds."""
    with torch.no_grad():
        for p, value in zip(stack.parameters(), saved["params"], strict=True):
            p.copy_(value)
    optimizer.load_state_dict(saved["optimizer"])
    for fold, state in zip(folds, saved["generators"], strict=True):
        fold["generator"].set_state(state)
    for generator, state in zip(generators, saved.get("random") or [None] * len(generators), strict=True):
        restore_generator(generator, state)
    return saved["epoch"], [[dict(row) for row in h] for h in saved["history"]], list(saved["seconds"])


def _train(nets, data, last, labels, start, record_dir=None):
    """Train the stack of ``nets`` x the folds of ``data`` (a `StackData`) from ``start`` (None: from their first
    epoch), or from its last checkpoint in ``record_dir`` when that is later, to epoch ``last``."""
    net = nets[0]
    X, train_indices = data.X, data.train_indices
    if net.threads:
        torch.set_num_threads(int(net.threads))
    torch.set_float32_matmul_precision(net.matmul_precision)
    device = torch.device(net.device)
    y = np.asarray(data.y)
    rows = fold_rows(net, y, train_indices) if data.rows is None else data.rows
    seeds = fold_seeds(net, X, y, train_indices, data.fingerprints, data.inits)
    folds = [_fold_setup(idx, r, seed) for idx, r, seed in zip(train_indices, rows, seeds)]
    C, F_ = len(nets), len(folds)
    K = C * F_
    generators = [fit_generator(seeds[f], device) for _ in nets for f in range(F_)]  # member m's random ops
    members = [give_generator(_build(cand, seeds[f]).to(device), generators[c * F_ + f])
               for c, cand in enumerate(nets) for f in range(F_)]
    stack = Stack(members, F_, device)
    settings = with_fused(net.optimizer, {"lr": net.lr, **net.get_params_for("optimizer")})
    optimizer = net.optimizer(stack.parameters(), **settings)
    rates = MemberRates(stack, [cand.lr for cand in nets], net.lr, net.optimizer, settings)
    X_all, Y_all = _as_tensors(X, y, device)
    probes = _probes(net, folds, X_all, Y_all, device)
    histories = [[] for _ in range(K)] if start is None else [[dict(row) for row in m.history] for m in start]
    done = len(histories[0])
    if start is not None:
        restore(stack, optimizer, start, rates.scales())
        for generator, member in zip(generators, start, strict=True):
            restore_generator(generator, member.random)
        for fold in folds:  # the batch orders of the epochs already trained
            for _ in range(done):
                torch.randperm(len(fold["fit"]), generator=fold["generator"])
    before = [0.0] * K if start is None else [m.seconds for m in start]  # each member's seconds so far
    checkpoints = _checkpoints(nets, data, last, labels, record_dir)
    saved = None if checkpoints is None else checkpoints.load()
    if saved is not None and saved["epoch"] > done:
        done, histories, before = _resume(saved, stack, optimizer, folds, generators)
    sizes = torch.tensor([len(f["fit"]) for f in folds] * C, dtype=torch.float32, device=device)  # (K,)
    valid_batches, valid_sizes = _validation(net, folds, X_all, Y_all, device)
    clock = time.perf_counter()
    with running(checkpoints):
        for epoch in range(done + 1, last + 1):
            tic = time.perf_counter()
            orders = [f["fit"][torch.randperm(len(f["fit"]), generator=f["generator"])] for f in folds]
            summed = _train_epoch(stack, optimizer, rates, _batches(X_all, Y_all, orders, net.batch_size, device))
            train_loss = (summed / sizes).tolist()  # (K,): each member's mean over its fit rows
            valid_loss, valid_acc = (_evaluate(stack, valid_batches, valid_sizes) if valid_batches
                                     else ([np.nan] * K, [np.nan] * K))
            dur = time.perf_counter() - tic
            measured = ([diagnostics.measure(stack.member_module(m), *probes[m % F_], F.cross_entropy) for m in range(K)]
                        if probes else [{}] * K)
            for m in range(K):
                histories[m].append({"epoch": epoch, "train_loss": train_loss[m], "valid_loss": valid_loss[m],
                                     "valid_acc": valid_acc[m], "dur": dur / K, "lr": nets[m // F_].lr,
                                     **measured[m]})
            if labels is not None:
                _progress(labels, epoch, net.max_epochs, train_loss, valid_acc, F_, dur)
            if not np.isfinite(train_loss).any():
                break  # every member diverged: nothing left to learn
            if checkpoints is not None:  # the state after this epoch; written every `checkpoint_every` and at a rung
                spent = [b + (time.perf_counter() - clock) / K for b in before]
                checkpoints.epoch_end(epoch, partial(_capture, stack, optimizer, folds, generators, histories, spent),
                                      last=epoch == last < net.max_epochs)
    elapsed = time.perf_counter() - clock
    seconds = [elapsed / K + before[m] for m in range(K)]
    return _Trained(stack, optimizer, rates, histories, seconds, generators, seeds, checkpoints)


def _train_epoch(stack, optimizer, rates, batches):
    """One epoch of optimizer steps over ``batches`` (`_batches`); each member's summed training loss, ``(K,)``."""
    loss_sum = torch.zeros(stack.C * stack.F, device=stack.weights[0].device)
    stack.train(True)
    random = any(isinstance(layer, MemberRandom) for segments in stack.segments for layers in segments
                 for layer in layers)
    for xb, yb, mask, counts in batches:  # xb (F, batch, in); yb (F, batch); counts (F,)
        if random:
            stack.real_rows(None if mask is None else counts)
        optimizer.zero_grad()
        summed = _member_losses(stack(xb), yb, mask, stack.C)  # (K,)
        objective = summed.view(stack.C, stack.F) / counts.clamp(min=1)  # (C, F): each member's mean loss
        (objective if rates.loss_scale is None else objective * rates.loss_scale).sum().backward()
        rates.snapshot()
        optimizer.step()
        rates.rescale()
        loss_sum += summed.detach()
    return loss_sum


def _fold_setup(train_idx, rows, seed):
    """What the plain path would do for one fold: its rows and its batch-order stream (from its ``seed``)."""
    fit_rows, valid_rows = rows
    train_idx = torch.as_tensor(np.asarray(train_idx), dtype=torch.long)
    return dict(fit=train_idx[torch.as_tensor(fit_rows, dtype=torch.long)],
                valid=train_idx[torch.as_tensor(valid_rows, dtype=torch.long)],
                generator=shuffle_generator(seed))


def _build(net, seed):
    """The net's module with the weights the plain path would start from at ``seed``."""
    return seeded_build(seed, lambda: net.module(**net.get_params_for("module")))


def _as_tensors(X, y, device):
    """The whole training set as tensors on ``device``."""
    base, index = resolve(X)  # a `Rows` of every row is its matrix itself: no copy
    X_all = as_tensor(np.asarray(base if index is None else X, dtype=np.float32), device)
    return X_all, torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)


def _probes(net, folds, X_all, Y_all, device):
    """Each fold's diagnostic probe ``(x, y)``, the rows the plain path's callback would pick (none without it)."""
    callback = next((cb for _, cb in (net.callbacks or []) if isinstance(cb, diagnostics.Diagnostics)), None)
    if callback is None:
        return []
    probes = []
    for fold in folds:
        chosen = diagnostics.probe_rows(len(fold["fit"]), callback.probe_size, callback.seed)
        picked = fold["fit"][torch.as_tensor(chosen)].to(device)
        probes.append((X_all[picked], Y_all[picked]))
    return probes


def _validation(net, folds, X_all, Y_all, device):
    """The folds' validation batches, gathered once (they never change), and each fold's validation rows' count."""
    valid_rows = [f["valid"] for f in folds]
    sizes = torch.tensor([len(r) for r in valid_rows], dtype=torch.float32, device=device)
    batch = net.get_params_for("iterator_valid").get("batch_size", net.batch_size)
    batches = list(_batches(X_all, Y_all, valid_rows, batch, device, reuse=False)) if len(valid_rows[0]) else []
    return batches, sizes


def _pad(rows_list, size):
    """Stack per-fold index tensors, padding short ones by repeating their first row (masked)."""
    out = torch.zeros(len(rows_list), size, dtype=torch.long)
    mask = torch.zeros(len(rows_list), size)
    for k, rows in enumerate(rows_list):
        n = len(rows)
        if n:
            out[k, :n] = rows
            out[k, n:] = rows[0]
            mask[k, :n] = 1
    return out, mask


def _batches(X, Y, rows, batch_size, device, reuse=True):
    """Yield ``(x, y, mask, counts)`` per step: every fold's next mini-batch of ``rows``, stacked.

    Folds with fewer rows are padded; ``mask`` marks their real rows (None when no fold
    is padded) and ``counts`` is each fold's number of real rows in the step. With ``reuse``
    every ``x`` is gathered into the same buffer, valid until the next step.
    """
    longest = max(len(r) for r in rows)
    idx_all, mask_all = _pad(rows, longest)
    padded = any(len(r) < longest for r in rows)
    idx_all, mask_all = idx_all.to(device), mask_all.to(device)
    buffer = X.new_empty(len(rows) * min(batch_size, longest), X.shape[1]) if reuse else None  # no fresh pages per step
    for start in range(0, longest, batch_size):
        idx = idx_all[:, start:start + batch_size]
        mask = mask_all[:, start:start + batch_size] if padded else None
        counts = mask.sum(1) if padded else torch.full((len(rows),), float(idx.shape[1]), device=device)
        xb = torch.index_select(X, 0, idx.reshape(-1), out=None if buffer is None else buffer[:idx.numel()])
        yield xb.view(*idx.shape, -1), Y[idx], mask, counts


def _member_losses(logits, yb, mask, C):
    """Each member's cross-entropy summed over its real batch rows.

    ``logits`` is ``(C * F, classes, batch)`` (`src.training.stack.Stack`); ``yb`` and ``mask``
    are ``(F, batch)``, shared by the C candidates (broadcast, not copied).
    """
    K, classes, batch = logits.shape
    log_p = torch.log_softmax(logits, 1).view(C, K // C, classes, batch)
    target = yb.view(1, yb.shape[0], 1, batch).expand(C, yb.shape[0], 1, batch)
    per_row = -log_p.gather(2, target).squeeze(2)
    if mask is not None:
        per_row = per_row * mask
    return per_row.sum(-1).view(K)


def _evaluate(stack, batches, sizes):
    """Mean loss and accuracy of each member on its fold's validation ``batches`` (``sizes`` rows per fold)."""
    K = stack.C * stack.F
    loss_sum = torch.zeros(K, device=sizes.device)
    correct = torch.zeros(K, device=sizes.device)
    stack.train(False)
    with torch.no_grad():
        for xb, yb, mask, _ in batches:
            logits = stack(xb)
            loss_sum += _member_losses(logits, yb, mask, stack.C)
            # max(1).indices: argmax over a middle dimension is about 15 times slower on the CPU
            right = (logits.max(1).indices.view(stack.C, *yb.shape) == yb).float()
            correct += (right if mask is None else right * mask).sum(-1).view(K)
    n = sizes.clamp(min=1).repeat(stack.C)
    return (loss_sum / n).tolist(), (correct / n).tolist()


def _progress(labels, epoch, epochs, train_loss, valid_acc, F_, seconds):
    accs = np.asarray(valid_acc, dtype=float).reshape(len(labels), F_).mean(1)
    valid = ""
    if np.isfinite(accs).all():
        shown = (", ".join(f"{label} {acc:.4f}" for label, acc in zip(labels, accs)) if len(labels) <= 4 else
                 f"{labels[int(np.argmax(accs))]} {accs.max():.4f} best, {labels[int(np.argmin(accs))]} "
                 f"{accs.min():.4f} worst")
        valid = f", valid acc {shown}"
    name = labels[0] if len(labels) == 1 else f"{len(labels)} candidates"
    log.info(f"  {name}: epoch {epoch}/{epochs}, train loss {np.nanmean(train_loss):.4f}{valid}, {seconds:.1f}s")


@dataclass
class MemberFit:
    """What a stacked member's fit record says about its fit.

    Attributes
    ----------
    data : str
        Its training data's `src.training.fit_records.data_fingerprint`.
    n_train : int
        Its training rows.
    history : list of dict
        Its epochs.
    seconds : float
        Its share of its stack's training time.
    halted_at : int, optional
        The epochs at which successive halving stopped it at a rung (`src.training.rungs`); its history ends there.
    checkpoint_seconds : float, optional
        Its share of the time its stack spent on checkpoints (kept in the record when given).
    seed : int, optional
        The fit's own seed (`src.training.net.Net.seed_for`; computed from the candidate and ``data`` when None).
    """

    data: str
    n_train: int
    history: list
    seconds: float
    halted_at: int = None
    checkpoint_seconds: float = None
    seed: int = None


def write_record(record_dir, cand, module, fit, batched):
    """Write a stacked member's fit record (a `MemberFit`) and weights, as the plain path would; return its key."""
    data, history = fit.data, fit.history
    key = fit_records.fit_key(cand, None, None, data)
    bad = [i for i, h in enumerate(history) if not np.isfinite(h["train_loss"])]
    if bad:  # as the plain path records it: stopped at the first epoch whose loss is not finite
        history = history[:bad[0] + 1]
    record = {"params": fit_records.fit_params(cand), "n_train": int(fit.n_train), "data": data,
              "seed": cand.seed_for(data) if fit.seed is None else int(fit.seed), "fit_seconds": fit.seconds,
              "history": history, "batched": batched, "status": "diverged" if bad else "ok"}
    if fit.halted_at is not None:
        record["halted_at"] = int(fit.halted_at)
    if fit.checkpoint_seconds is not None:
        record["checkpoint_seconds"] = fit.checkpoint_seconds
    if bad:
        record["error"] = str(Diverged.at(history[-1]["train_loss"], len(history)))
    fit_records.save(record_dir, key, record, module=None if bad else module)
    return key
