"""Batched folds: train the K fold models of one candidate as one stacked model.

Every fold model keeps its own weights, its own training rows, its own validation split and
its own batch order; only the arithmetic is shared: the K mini-batches of a step go through
batched matrix products (``torch.baddbmm``) in one pass. Each fold starts exactly as the
plain path would (same seed, same initial weights, same permutation stream), and the loss
is the sum of the folds' mean losses, so every fold gets the gradient it would get alone.

The trained folds are written as ordinary fit records (`src.fit_records`), keyed as the
plain fits would be. GridSearchCV then runs as usual: each of its fits finds its record and
loads the weights instead of training, and it scores the folds itself.
"""
import time
import warnings

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, LRScheduler
from torch.nn import functional as F

from . import diagnostics, fit_records
from .net import SEEDING_LOCK, shuffle_generator


def stackable(net):
    """Whether a (configured, unfitted) net can be trained in a stack.

    Activations with parameters (PReLU, learnable Swish) would be shared across the stack,
    and early stopping or LR schedules act per fit: such candidates take the plain path.
    """
    module = net.module(**net.get_params_for("module"))
    linear = {id(m) for m in module.modules() if isinstance(m, torch.nn.Linear)}
    has_params = any(p.numel() for m in module.modules() if id(m) not in linear and m is not module
                     for p in m.parameters(recurse=False))
    per_fit = any(isinstance(cb, (EarlyStopping, LRScheduler)) for _, cb in (net.callbacks or []))
    return not has_params and not per_fit


def _fit_rows(net, y, train_idx):
    """How many rows each fold trains on (after the net's validation split)."""
    sizes = []
    for idx in train_idx:
        yk = y[idx]
        if net.train_split is None:
            sizes.append(len(yk))
        else:
            tr, _ = net.train_split(net.get_dataset(np.zeros((len(yk), 1), dtype=np.float32), yk), yk)
            sizes.append(len(tr))
    return sizes


def same_batch_count(net, y, train_indices):
    """Whether every fold takes the same number of mini-batches per epoch.

    A fold that ran out of rows before the others would still be moved by the optimizer's
    momentum (or Adam's state) on the steps it sits out, unlike a fold trained alone; such
    candidates take the plain path.
    """
    counts = {-(-n // net.batch_size) for n in _fit_rows(net, np.asarray(y), train_indices)}
    return len(counts) == 1


def _fold_setup(net, X, y, train_idx):
    """What the plain path would do for one fold: its split, initial weights and RNG stream."""
    Xk, yk = X[train_idx], y[train_idx]
    if net.train_split is not None:
        ds = net.get_dataset(Xk, yk)
        tr, va = net.train_split(ds, yk)
        fit_rows, valid_rows = np.asarray(tr.indices), np.asarray(va.indices)
    else:
        fit_rows, valid_rows = np.arange(len(yk)), np.array([], dtype=int)
    with SEEDING_LOCK:
        torch.manual_seed(net.seed)
        module = net.module(**net.get_params_for("module"))
    generator = shuffle_generator(net.seed)
    train_idx = torch.as_tensor(np.asarray(train_idx), dtype=torch.long)
    fingerprint = fit_records.data_fingerprint(Xk, yk)
    return dict(key=fit_records.fit_key(net, Xk, yk, fingerprint), n_train=len(yk),
                data=fingerprint, fit=train_idx[torch.as_tensor(fit_rows)],
                valid=train_idx[torch.as_tensor(valid_rows, dtype=torch.long)], module=module, generator=generator)


def _forward(template, params, h):
    for name, layer in template.hidden.named_children():
        if isinstance(layer, torch.nn.Linear):
            h = torch.baddbmm(params[f"hidden.{name}.bias"].unsqueeze(1), h,
                              params[f"hidden.{name}.weight"].transpose(1, 2))
        else:
            h = layer(h)
    return torch.baddbmm(params["output.bias"].unsqueeze(1), h, params["output.weight"].transpose(1, 2))


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


def _evaluate(template, params, X, Y, rows, batch_size):
    """Mean loss and accuracy of each fold on its validation rows (``X``, ``Y`` on the device)."""
    K = len(rows)
    longest = max(len(r) for r in rows)
    idx_all, mask_all = _pad(rows, longest)
    idx_all, mask_all = idx_all.to(X.device), mask_all.to(X.device)
    loss_sum = torch.zeros(K, device=X.device)
    correct = torch.zeros(K, device=X.device)
    template.eval()
    with torch.no_grad():
        for start in range(0, longest, batch_size):
            idx, mask = idx_all[:, start:start + batch_size], mask_all[:, start:start + batch_size]
            xb, yb = X[idx], Y[idx]
            logits = _forward(template, params, xb)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none")
            loss_sum += (loss.view(K, -1) * mask).sum(1)
            correct += ((logits.argmax(-1) == yb).float() * mask).sum(1)
    n = torch.tensor([max(len(r), 1) for r in rows], dtype=torch.float32, device=X.device)
    return (loss_sum / n).tolist(), (correct / n).tolist()


def _diagnostics(folds, params, probes):
    """Each fold's `src.diagnostics.measure` on its probe batch, with its current weights."""
    found = []
    for k, fold in enumerate(folds):
        module = fold["module"]
        with torch.no_grad():
            for name, parameter in module.named_parameters():
                parameter.copy_(params[name][k])
        found.append(diagnostics.measure(module, *probes[k], F.cross_entropy))
    return found


def train_stacked(net, X, y, train_indices, record_dir, label=None):
    """Train the fold models of one candidate together and write their fit records.

    Parameters
    ----------
    net : src.net.Net
        The candidate: a clone of the base net with the candidate's parameters set.
    X, y : ndarray
        The whole training set given to GridSearchCV.
    train_indices : list of ndarray
        Each fold's training rows (from the CV splitter).
    record_dir : str
        Where the records go.
    label : str, optional
        The candidate's name in the progress line printed after every epoch (none when None).

    Returns
    -------
    list of str
        The record keys written, one per fold.
    """
    if net.threads:
        torch.set_num_threads(int(net.threads))
    device = torch.device(net.device)
    folds = [_fold_setup(net, X, y, idx) for idx in train_indices]
    K = len(folds)
    for fold in folds:
        fold["module"].to(device)
    template = folds[0]["module"]
    names = [n for n, _ in template.named_parameters()]
    params = {n: torch.stack([dict(f["module"].named_parameters())[n].detach() for f in folds]).clone()
              .requires_grad_() for n in names}
    optimizer = net.optimizer(list(params.values()), lr=net.lr, **net.get_params_for("optimizer"))
    with warnings.catch_warnings():  # a read-only memory map is only read here: no copy needed
        warnings.simplefilter("ignore", UserWarning)
        X_all = torch.as_tensor(np.asarray(X, dtype=np.float32)).to(device)
    Y_all = torch.as_tensor(np.asarray(y, dtype=np.int64)).to(device)
    probes = []
    callback = next((cb for _, cb in (net.callbacks or []) if isinstance(cb, diagnostics.Diagnostics)), None)
    for fold in folds if callback is not None else []:  # the rows the plain path's callback would pick
        chosen = diagnostics.probe_rows(len(fold["fit"]), callback.probe_size, callback.seed)
        rows = fold["fit"][torch.as_tensor(chosen)].to(device)
        probes.append((X_all[rows], Y_all[rows]))
    histories = [[] for _ in range(K)]
    batch = net.batch_size
    sizes = torch.tensor([len(f["fit"]) for f in folds], dtype=torch.float32, device=device)
    start_all = time.perf_counter()
    for epoch in range(1, net.max_epochs + 1):
        tic = time.perf_counter()
        orders = [f["fit"][torch.randperm(len(f["fit"]), generator=f["generator"])] for f in folds]
        longest = max(len(o) for o in orders)
        idx_all, mask_all = _pad(orders, longest)
        idx_all, mask_all = idx_all.to(device), mask_all.to(device)
        loss_sum = torch.zeros(K, device=device)
        template.train()
        for start in range(0, longest, batch):
            idx, mask = idx_all[:, start:start + batch], mask_all[:, start:start + batch]
            xb, yb = X_all[idx], Y_all[idx]
            counts = mask.sum(1).clamp(min=1)
            optimizer.zero_grad()
            logits = _forward(template, params, xb)
            per_row = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), yb.reshape(-1), reduction="none")
            per_fold = (per_row.view(K, -1) * mask).sum(1) / counts
            per_fold.sum().backward()
            optimizer.step()
            loss_sum += per_fold.detach() * counts
        train_loss = (loss_sum / sizes).tolist()
        valid_rows = [f["valid"] for f in folds]
        valid_loss, valid_acc = (_evaluate(template, params, X_all, Y_all, valid_rows, batch)
                                 if len(valid_rows[0]) else ([np.nan] * K, [np.nan] * K))
        dur = time.perf_counter() - tic
        measured = _diagnostics(folds, params, probes) if probes else [{}] * K
        for k in range(K):
            histories[k].append({"epoch": epoch, "train_loss": train_loss[k], "valid_loss": valid_loss[k],
                                 "valid_acc": valid_acc[k], "dur": dur / K, "lr": optimizer.param_groups[0]["lr"],
                                 **measured[k]})
        if label is not None:
            accs = np.asarray(valid_acc, dtype=float)
            valid = (f", valid acc {np.mean(accs):.4f} (folds {np.min(accs):.4f}-{np.max(accs):.4f})"
                     if np.isfinite(accs).all() else "")
            print(f"  {label}: epoch {epoch}/{net.max_epochs}, train loss {np.mean(train_loss):.4f}{valid}, "
                  f"{dur:.1f}s", flush=True)
        if not np.isfinite(train_loss).any():
            break  # every fold diverged: nothing left to learn
    seconds = (time.perf_counter() - start_all) / K
    keys = []
    for k, fold in enumerate(folds):
        key = fold["key"]
        state = {n: params[n][k].detach().cpu().clone() for n in names}
        module = fold["module"].cpu()
        module.load_state_dict(state)
        diverged = not np.all(np.isfinite([h["train_loss"] for h in histories[k]]))
        record = {"params": fit_records.fit_params(net), "n_train": int(fold["n_train"]),
                  "data": fold["data"], "fit_seconds": seconds,
                  "history": histories[k], "batched": K,
                  "status": "diverged" if diverged else "ok"}
        if diverged:
            record["error"] = "Diverged: training loss became nan or inf"
        fit_records.save(record_dir, key, record, module=None if diverged else module)
        keys.append(key)
    return keys


def pretrain(net, param_grid, X, y, train_indices, record_dir, n_jobs=1, threads=None, fingerprints=None):
    """Train every stackable candidate of a grid in stacks, one candidate per task.

    Candidates whose fold records all exist are skipped; the others are trained with
    `train_stacked`, ``n_jobs`` candidates at a time. ``fingerprints`` are the folds'
    `src.fit_records.data_fingerprint` values when the caller has them (else computed here).

    Returns
    -------
    int
        How many candidates could not be stacked (GridSearchCV trains those fold by fold).
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.model_selection import ParameterGrid

    from .tables import candidate_label

    if fingerprints is None:
        fingerprints = [fit_records.data_fingerprint(X[idx], y[idx]) for idx in train_indices]
    tasks, plain = [], 0
    for candidate in ParameterGrid(param_grid):
        cand = clone(net).set_params(**candidate, threads=threads)
        if not (stackable(cand) and same_batch_count(cand, y, train_indices)):
            plain += 1
            continue
        if all(fit_records.load(record_dir, fit_records.fit_key(cand, None, None, fingerprint))
               for fingerprint in fingerprints):
            continue
        tasks.append((cand, candidate_label(candidate)))
    if tasks:
        print(f"grid: training {len(tasks)} candidates with their {len(train_indices)} folds stacked", flush=True)
        Parallel(n_jobs=min(n_jobs, len(tasks)))(
            delayed(train_stacked)(cand, X, y, train_indices, record_dir, label) for cand, label in tasks)
    return plain
