"""``python -m src.bench``: the reference grid three ways, timed side by side in one invocation.

The work unit is the origin notebook's search: a 784-128-64-10 MLP, SGD (lr 0.01, momentum
0.95), batch 128, 3-fold CV over relu, tanh and leaky_relu on the 60,000 MNIST training
images (9 fits). It is run as:

- ``a``: the project's grid mode as a user runs it (``python -m src.run experiment=notebook``:
  batched folds, ``cv.n_jobs=auto``); ``a_plain`` with batched folds off; ``a_processes``
  with worker processes instead of threads; ``a_serial`` with ``cv.n_jobs=1`` and batched
  folds off (the like-for-like comparison with ``c``); ``a_compiled`` as ``a_serial`` with
  ``train.compile=true``; ``a_medium`` as ``a`` with ``train.matmul_precision=medium``;
- ``b``: a naive skorch setup as the notebook wrote it: its MLP and hand-written autograd
  ReLU, NeuralNetClassifier with its default DataLoader, numpy arrays in, default callbacks,
  GridSearchCV with n_jobs=1;
- ``c``: a hand-written PyTorch loop doing the same 9 fits (same batches, epochs and
  validation split).

Before the parts, three limits of the machine are measured, which the parts' figures are read
against: the float32 matrix-product peak (`sgemm_peak`), the rate of a stacked step's
products alone (`products_rate`, the most the training could reach if nothing but its products
ran) and the start-up floor (`import_floor`, the least any run spends before training).

Each part runs in its own process, on the same device (``--device``); wall time and the peak
memory of its whole process tree are measured from outside. Memory is the proportional set
size (resident pages, a page shared by n processes counted 1/n in each), sampled up to twice
a second (see `SAMPLER_SHARE`), so that worker processes sharing torch's libraries and the
memory-mapped data are not counted several times over.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from . import layout
from .files import write_csv, write_text

ACTIVATIONS = ("relu", "tanh", "leaky_relu")
LEARNABLE = ("prelu", "star_relu", "pau")  # activations with parameters, for the parts `learnable` and `learnable_plain`
VALID_FRACTION = 0.2  # the notebook's validation split of each fit (train.valid_fraction)
PARTS = {
    "a": "project grid mode as configured (batched folds, n_jobs=auto in threads)",
    "a_plain": "project grid mode, n_jobs=auto in threads, batched folds off",
    "a_processes": "project grid mode, n_jobs=auto in worker processes, batched folds off",
    "a_serial": "project grid mode, n_jobs=1, batched folds off",
    "a_compiled": "project grid mode, n_jobs=1, batched folds off, torch.compile",
    "a_medium": "project grid mode as configured, train.matmul_precision=medium (TF32/bfloat16 products)",
    "a_refit": "project grid mode as configured, with the refit of the best candidate (cv.refit=true)",
    "a_single": "project single run (mode=single activation=relu), the notebook's network and epochs",
    "tuned": "project tuned study (experiment=tuned_notebook): each activation at its own lr of 4, one stack",
    "tuned_halving": "the tuned study with successive halving within each activation (search.halving=true)",
    "all": "project grid mode over every registered activation (grid=all), one repeat of the folds",
    "all_halving": "grid=all with successive halving across the candidates (search.halving=true)",
    "fixed_rates": "four project grids as configured, one per learning rate of tuned_notebook (times summed)",
    "learnable": "project grid of the learnable activations prelu, star_relu and pau, stacked (batched folds)",
    "learnable_plain": "the learnable grid, batched folds off: each fit on the plain path",
    "b": "naive skorch notebook (DataLoader, numpy, n_jobs=1)",
    "c": "hand-written PyTorch loop",
}
PROJECT_OVERRIDES = {
    "a": [],
    "a_plain": ["cv.batched=false"],
    "a_processes": ["search.backend=local", "cv.batched=false"],
    "a_serial": ["cv.n_jobs=1", "cv.batched=false"],
    "a_compiled": ["cv.n_jobs=1", "cv.batched=false", "train.compile=true"],
    "a_medium": ["train.matmul_precision=medium"],
    "a_refit": ["cv.refit=true"],
    "a_single": ["mode=single", "activation=relu"],
    "tuned": ["experiment=tuned_notebook"],
    "tuned_halving": ["experiment=tuned_notebook", "search.halving=true"],
    "all": ["grid=all", "cv.repeats=1"],
    "all_halving": ["grid=all", "cv.repeats=1", "search.halving=true"],
    "learnable": [f"grid.activation=[{','.join(LEARNABLE)}]"],
    "learnable_plain": [f"grid.activation=[{','.join(LEARNABLE)}]", "cv.batched=false"],
}
# halving part -> the exhaustive part it is judged against (`halving_agreement`)
HALVING_PAIRS = {"all_halving": "all", "tuned_halving": "tuned"}
MEMBERS = {"tuned": 4, "tuned_halving": 4}  # a part's stacked candidates per activation (the tuned study's rates), for its products' rate
RATED = ("tuned", "fixed_rates", "tuned_halving")  # parts that train every activation at each of `TUNED_RATES`
TUNED_RATES = (0.003, 0.01, 0.03, 0.1)  # tune.lr of experiments/tuned_notebook.yaml
@dataclass
class PartRun:
    """One run of one part.

    Attributes
    ----------
    wall_s : float
        Wall time, measured from outside the part's process.
    peak_mb : float
        Highest proportional set size of its process tree.
    scores : dict
        Activation -> its mean cross-validated accuracy (a single run: its test accuracy).
    n_train : int
        Training images.
    figures : dict
        What the part's own records say (`_project_figures`): ``train_s``, ``outside_s``,
        ``train_gflop``, ``search_s``, ``refit_s``, ...
    """

    wall_s: float
    peak_mb: float
    scores: dict
    n_train: int
    figures: dict = field(default_factory=dict)


# The notebook's network: layer sizes from the input to the classes.
SIZES = (784, 128, 64, 10)
RATIOS = (("a", "b"), ("a_plain", "b"), ("a_processes", "b"), ("a_medium", "b"), ("a", "c"), ("a_serial", "c"),
          ("a_compiled", "c"), ("a_compiled", "a_serial"), ("tuned", "fixed_rates"), ("all_halving", "all"),
          ("tuned_halving", "tuned"), ("learnable", "learnable_plain"))


# Memory samples: at most every SAMPLE_EVERY_S, and rarer when a sample is costly, so that the
# sampling takes at most SAMPLER_SHARE of one core. The kernel walks every page of the process
# tree for a sample (about 30 ms for a torch process), and on a machine with two cores a busy
# sampler slows the two training threads it preempts.
SAMPLE_EVERY_S = 0.5
SAMPLER_SHARE = 0.02


def _tree_pss(proc):
    total = 0
    for p in [proc] + proc.children(recursive=True):
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(cmd, env=None):
    """Run ``cmd``; return ``(wall seconds, peak PSS of its process tree in MB, stdout)``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    watched, peak, output, done = psutil.Process(proc.pid), [0], [], threading.Event()

    def sample():
        while proc.poll() is None:
            tic = time.perf_counter()
            try:
                peak[0] = max(peak[0], _tree_pss(watched))
            except psutil.NoSuchProcess:
                break
            if done.wait(max(SAMPLE_EVERY_S, (time.perf_counter() - tic) / SAMPLER_SHARE)):
                break

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in proc.stdout:
        output.append(line)
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join(timeout=2)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{''.join(output[-30:])}")
    return wall, peak[0] / 2 ** 20, "".join(output)


def _cv(seed=0):
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)


def _load(subset):
    from .data import datasets as data

    return data.load("mnist", root="data", subset=subset)


def naive_skorch(epochs, subset, device="cpu"):
    """Part b in this process: the notebook's setup, scores per activation.

    As the notebook wrote it: its MLP with one activation instance shared by the layers, its
    hand-written autograd ReLU (the backward clones the gradient and zeroes it where the input
    is negative) for relu and PyTorch's own tanh and LeakyReLU, skorch's defaults otherwise
    (its epoch table printed, as in the notebook).
    """
    import torch
    from sklearn.model_selection import GridSearchCV
    from skorch import NeuralNetClassifier
    from torch import nn

    from .model.activations import ReLUFunction

    class NotebookReLUFunction(ReLUFunction):  # the same forward, the notebook's backward
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            grad = grad_output.clone()
            grad[x < 0] = 0
            return grad

    class NotebookReLU(nn.Module):
        def forward(self, x):
            return NotebookReLUFunction.apply(x)

    class NotebookNet(nn.Module):
        def __init__(self, activation=NotebookReLU()):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)
            self.activation = activation

        def forward(self, x):
            return self.fc3(self.activation(self.fc2(self.activation(self.fc1(x)))))

    ds = _load(subset)
    torch.manual_seed(0)
    net = NeuralNetClassifier(NotebookNet, max_epochs=epochs, batch_size=128, lr=0.01, criterion=nn.CrossEntropyLoss,
                              optimizer=torch.optim.SGD, optimizer__momentum=0.95, device=device)
    grid = {"module__activation": [NotebookReLU(), nn.Tanh(), nn.LeakyReLU()]}
    search = GridSearchCV(net, grid, refit=False, cv=_cv(), scoring="accuracy", n_jobs=1)
    search.fit(ds.X_train, ds.y_train)
    return dict(zip(ACTIVATIONS, search.cv_results_["mean_test_score"].tolist())), len(ds.y_train)


def torch_loop(epochs, subset, device="cpu"):
    """Part c in this process: a plain training loop over the same folds and validation split."""
    import torch
    from sklearn.model_selection import StratifiedShuffleSplit
    from torch import nn
    from torch.nn import functional as F

    ds = _load(subset)
    X, y = torch.from_numpy(ds.X_train).to(device), torch.from_numpy(ds.y_train).to(device)
    makers = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
    scores = {}
    for name in ACTIVATIONS:
        accs = []
        for train, test in _cv().split(ds.X_train, ds.y_train):
            fit_rows, valid_rows = next(StratifiedShuffleSplit(1, test_size=0.2, random_state=0)
                                        .split(train, ds.y_train[train]))
            fit_idx = torch.as_tensor(train[fit_rows], device=device)
            valid_idx = torch.as_tensor(train[valid_rows], device=device)
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(784, 128), makers[name](), nn.Linear(128, 64), makers[name](),
                                  nn.Linear(64, 10)).to(device)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.95)
            for _ in range(epochs):
                model.train()
                order = fit_idx[torch.randperm(len(fit_idx)).to(device)]
                for start in range(0, len(order), 128):
                    idx = order[start:start + 128]
                    opt.zero_grad()
                    F.cross_entropy(model(X[idx]), y[idx]).backward()
                    opt.step()
                model.eval()
                with torch.no_grad():  # per-epoch validation, as skorch does
                    logits = torch.cat([model(X[valid_idx[s:s + 128]]) for s in range(0, len(valid_idx), 128)])
                    F.cross_entropy(logits, y[valid_idx]), (logits.argmax(1) == y[valid_idx]).float().mean()
            with torch.no_grad():
                test_idx = torch.as_tensor(test, device=device)
                pred = model(X[test_idx]).argmax(1)
            accs.append(float((pred == y[test_idx]).float().mean()))
        scores[name] = float(np.mean(accs))
    return scores, len(ds.y_train)


WORKERS = {"b": naive_skorch, "c": torch_loop}


def _project_command(run_dir, epochs, subset, device, overrides, seed=None):
    experiment = [] if any(o.startswith("experiment=") for o in overrides) else ["experiment=notebook"]
    cmd = [sys.executable, "-m", "src.run", *experiment, f"train.epochs={epochs}", "cv.refit=false",
           f"device={device}", f"hydra.run.dir={run_dir}", *overrides]
    return cmd + ([f"data.subset={subset}"] if subset else []) + ([f"seed={seed}"] if seed is not None else [])


def _shown(part):
    """The activations whose accuracies a part's row shows."""
    return LEARNABLE if part.startswith("learnable") else ACTIVATIONS


def _project_part(part, epochs, subset, out_root, device, seed=None):
    run_dir = out_root / f"run_{part}"
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = PROJECT_OVERRIDES[part] + (["search.min_epochs=1"] if part in HALVING_PAIRS and epochs <= 2 else [])
    wall, peak, _ = measure(_project_command(run_dir, epochs, subset, device, overrides, seed))
    figures = {"wall_s": wall, **_project_figures(run_dir, wall)}
    if part in HALVING_PAIRS or part in HALVING_PAIRS.values():  # every candidate x split, as if trained in full
        meta = json.loads((run_dir / layout.SEARCH).read_text())
        figures["fits"] = len(meta["fit_keys"]) * len(meta["splits"])
    if part == "a_single":
        metrics = json.loads((run_dir / layout.METRICS).read_text())
        return PartRun(wall, peak, {"relu": metrics["test_accuracy"]}, metrics["n_train"], figures)
    summary = pd.read_csv(run_dir / layout.SUMMARY).set_index("label")
    meta = json.loads((run_dir / layout.SEARCH).read_text())
    return PartRun(wall, peak, {a: float(summary["accuracy_mean"].get(a, math.nan)) for a in _shown(part)},
                   meta["n_train"], figures)


def _top(run_dir, k=3):
    """A grid's best ``k`` candidates trained in full, best first (its summary's ranked rows)."""
    summary = pd.read_csv(run_dir / layout.SUMMARY)
    return list(summary[summary["rank"].notna()].sort_values("rank")["label"].astype(str))[:k]


def _chosen(run_dir):
    """A tuned study's chosen learning rate per (activation, outer split), from its ``tuning.csv``."""
    trials = pd.read_csv(run_dir / layout.TUNING)
    chosen = trials[trials["chosen"].astype(str) == "True"]
    return {(str(row.compared), int(row.split)): float(row.lr) for row in chosen.itertuples()}


def halving_agreement(out_root, part):
    """How a halving part's outcome agrees with its exhaustive part's (both run into ``out_root``).

    Returns
    -------
    dict
        Grid parts: ``same_best`` (the same best candidate), ``top3_kept`` (how many of the
        exhaustive top 3 are among the survivors) and ``survivors``; tuned parts:
        ``same_lr`` (the (activation, split) pairs whose chosen lr is the same) and ``pairs``.
    """
    ours, theirs = out_root / f"run_{part}", out_root / f"run_{HALVING_PAIRS[part]}"
    if not ((ours / layout.SUMMARY).exists() and (theirs / layout.SUMMARY).exists()):
        return {}
    if (theirs / layout.TUNING).exists():
        mine, exhaustive = _chosen(ours), _chosen(theirs)
        return {"same_lr": sum(mine.get(k) == v for k, v in exhaustive.items()), "pairs": len(exhaustive)}
    survivors = _top(ours, k=None)
    top = _top(theirs)
    return {"same_best": survivors[:1] == top[:1], "top3_kept": len(set(top) & set(survivors)),
            "survivors": len(survivors)}


def _fixed_rates_part(part, epochs, subset, out_root, device, seed=None):
    """Four fixed grids, one per rate of `TUNED_RATES`, one after another: their summed wall time,
    the highest peak memory, and each activation's best mean accuracy over the four."""
    walls, peaks, best = [], [], {}
    for rate in TUNED_RATES:
        run_dir = out_root / f"run_{part}_{rate:g}"
        shutil.rmtree(run_dir, ignore_errors=True)
        wall, peak, _ = measure(_project_command(run_dir, epochs, subset, device, [f"optimizer.lr={rate}"], seed))
        walls.append(wall)
        peaks.append(peak)
        summary = pd.read_csv(run_dir / layout.SUMMARY).set_index("label")
        for a in ACTIVATIONS:
            best[a] = max(best.get(a, -math.inf), float(summary.loc[a, "accuracy_mean"]))
    meta = json.loads((run_dir / layout.SEARCH).read_text())
    return PartRun(sum(walls), max(peaks), best, meta["n_train"],
                   {"wall_s": sum(walls), "wall_s_each": " ".join(f"{w:.1f}" for w in walls)})


RUNNERS = {"fixed_rates": _fixed_rates_part}


def stack_epoch_flops(n_fit, n_valid, members, sizes=SIZES):
    """Floating-point operations of one epoch of ``members`` stacked fits of an MLP.

    A multiply-add counts 2. Training runs every fit row forward (``2 * n_in * n_out`` per
    layer) and backward: the weight gradient of every layer (as much again) and the input
    gradient of every layer but the first (the pixels need none). Validation runs its rows
    forward once. Activations, the loss and the optimizer step are not counted (a few
    operations per value, against hundreds per value in the products).

    Parameters
    ----------
    n_fit, n_valid : int
        Training and validation rows of each fit.
    members : int
        Fits trained together (candidates x folds).
    sizes : sequence of int
        Layer widths from the input to the classes.
    """
    products = [2 * n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    forward = sum(products)
    backward = sum(products) + sum(products[1:])
    return members * (n_fit * (forward + backward) + n_valid * forward)


def _project_figures(run_dir, wall):
    """What a project part's own records say: its training seconds, FLOPs, fixed cost, refit time."""
    metrics = layout.read_json(run_dir / layout.METRICS)
    if metrics is not None:  # a single run: one fit
        return {"train_s": metrics["fit_seconds"], "outside_s": wall - metrics["fit_seconds"]}
    meta = json.loads((run_dir / layout.SEARCH).read_text())
    keys = [key for keys in meta["fit_keys"].values() for key in keys]
    records = [layout.read_record(layout.fits_dir(run_dir), key) for key in keys]
    refit = (meta.get("refit") or {}).get("fit_seconds", 0.0)
    figures = {"search_s": meta["search_seconds"], "refit_s": refit}
    # one stack of every fit, trained to the end: its shared seconds, split (stacks side by side,
    # or members stopped by halving, would be counted more than once)
    if records and all(r and r.get("batched") == len(records) and r.get("halted_at") is None for r in records):
        figures["train_s"] = sum(r["fit_seconds"] for r in records)
        figures["outside_s"] = wall - figures["train_s"] - refit  # the refit is training too
        epochs = len(records[0]["history"])
        n_valid = sum(round(s["n_train"] * VALID_FRACTION) for s in meta["splits"]) / len(meta["splits"])
        n_fit = sum(s["n_train"] for s in meta["splits"]) / len(meta["splits"]) - n_valid
        figures["train_gflop"] = stack_epoch_flops(n_fit, n_valid, len(records)) * epochs / 1e9
    return figures


def _fastest(run, threads, repeats, device, warmup=1):
    """Seconds of the fastest of ``repeats`` calls of ``run()``, after ``warmup`` untimed ones,
    with torch at ``threads`` threads (restored after) and ``device``'s queue waited for."""
    import torch

    from .training.cost import synchronize

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            run()
        best = math.inf
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return best


def sgemm_peak(threads, size=2048, repeats=5, device="cpu"):
    """The float32 matrix-product rate of this machine at ``threads`` threads, in GFLOP/s.

    The best of ``repeats`` products of two ``size`` x ``size`` matrices (after one warm-up),
    in this process, with torch's own kernels: the ceiling that the training's products
    are measured against. On a GPU (``device="cuda"``, ``threads`` unused) the products are
    four times larger and in full float32 (no TF32), as the training runs them by default.
    """
    import torch

    size = size * 4 if device == "cuda" else size
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    out = torch.empty(size, size, device=device)
    return 2 * size ** 3 / _fastest(lambda: torch.mm(a, b, out=out), threads, repeats, device) / 1e9


def products_rate(threads, candidates=len(ACTIVATIONS), folds=3, batch=128, sizes=SIZES, repeats=30, device="cpu"):
    """The rate of a stacked training step's matrix products alone, in GFLOP/s: the training's ceiling.

    A step of the stacked grid (``candidates`` x ``folds`` members of an MLP with layer widths
    ``sizes``, ``batch`` rows per fold) does these products, as `src.training.stack` does them
    (its bias additions aside): per fold, the first layer's forward product against the
    candidates' weights side by side and its weight gradient; over all members, every later
    layer's batched forward, input-gradient and weight-gradient products. Here they run back to
    back on random matrices of those shapes, and nothing else does (no activation, loss, gather
    or optimizer step): the best of ``repeats`` steps, after two warm-up steps, counted in FLOPs
    as `stack_epoch_flops` counts a training row. The training's rate can only come near it.
    """
    import torch

    members = candidates * folds
    x = torch.randn(folds, batch, sizes[0], device=device)
    first = torch.randn(folds, sizes[0], candidates * sizes[1], device=device)
    first_grad = torch.randn(folds, batch, candidates * sizes[1], device=device)
    later = [(torch.randn(members, batch, n_in, device=device), torch.randn(members, n_in, n_out, device=device),
              torch.randn(members, batch, n_out, device=device)) for n_in, n_out in zip(sizes[1:-1], sizes[2:])]

    def step():
        for f in range(folds):
            torch.mm(x[f], first[f])
            torch.mm(x[f].t(), first_grad[f])
        for h, weight, grad in later:
            torch.bmm(h, weight)
            torch.bmm(grad, weight.transpose(1, 2))
            torch.bmm(h.transpose(1, 2), grad)

    seconds = _fastest(step, threads, repeats, device, warmup=2)
    return stack_epoch_flops(batch, 0, members, sizes) / seconds / 1e9


# What every run imports before it trains, and the torch optimizer it builds (its first
# optimizer imports torch's compiler): the least start-up any run of the project can have.
FLOOR_CODE = ("import gc; gc.disable(); import torch, skorch, sklearn.model_selection, hydra; "
              "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)")


def import_floor(repeats=3):
    """Seconds a fresh Python takes to run `FLOOR_CODE`, the fastest of ``repeats`` runs."""
    def once():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR_CODE], check=True, capture_output=True)
        return time.perf_counter() - start

    return min(once() for _ in range(repeats))


def _worker_part(part, epochs, subset, out_root, device, seed=None):
    cmd = [sys.executable, "-m", "src.bench", "--worker", part, "--epochs", str(epochs), "--device", device]
    if subset:
        cmd += ["--subset", str(subset)]
    wall, peak, out = measure(cmd)
    result = json.loads(out.strip().splitlines()[-1])
    return PartRun(wall, peak, result["scores"], result["n_train"], {"wall_s": wall})


def run_bench(parts, epochs, subset, out_root, device="cpu", on_row=None, repeat=1, limits=None, seed=None):
    """Run the chosen parts one after another and return the table of figures.

    With ``repeat`` > 1 the whole sequence runs that many times in turn (a, b, c, a, b, c,
    ...), so that a slow spell of a shared machine falls on every part alike; the table
    gives each part's median wall time (and every run's in ``wall_s_runs``), its highest
    peak memory and the accuracies of its last run. ``on_row(table)`` is called after every
    part with the table so far (to keep what was measured if a later part fails). With
    ``limits`` (``peak``: the machine's matrix-product rate in GFLOP/s, `sgemm_peak`;
    ``floor``: the start-up every run has, in seconds, `import_floor`), a stacked grid's
    training rate is also given as a fraction of the peak, and every project part's fixed
    cost as what it spends beyond the floor. ``seed`` (the config's ``seed``) is given to every
    project part; a halving part's row says how its outcome agrees with its exhaustive part's
    (`halving_agreement`) when both ran.
    """
    runs = {}
    for turn in range(1, repeat + 1):
        for part in parts:
            which = f" (run {turn}/{repeat})" if repeat > 1 else ""
            print(f"bench: {part}{which}: {PARTS[part]} ...", flush=True)
            runner = RUNNERS.get(part, _project_part if part in PROJECT_OVERRIDES else _worker_part)
            done = runner(part, epochs, subset, out_root, device, seed=seed)
            runs.setdefault(part, []).append(done)
            for halved in [p for p in HALVING_PAIRS if part in (p, HALVING_PAIRS[p]) and p in runs]:
                runs[halved][-1].figures.update(halving_agreement(Path(out_root), halved))
            print(f"bench: {part}{which}: {done.wall_s:.1f} s, peak {done.peak_mb:.0f} MB, " +
                  ", ".join(f"{a} {done.scores[a]:.4f}" for a in _shown(part) if a in done.scores), flush=True)
            if on_row is not None:
                on_row(figures_table(runs, epochs, repeat, limits))
    return figures_table(runs, epochs, repeat, limits)


def _median(done, key):
    values = [run.figures[key] for run in done if key in run.figures]
    return float(np.median(values)) if values else math.nan


def _efficiency(done, wall, limits, part="a"):
    """A part's split of its wall time, fixed cost beyond the floor and training rate against the
    peak and against the products alone of a stack of the part's size.

    ``limits`` are as in `run_bench`; the rate is given for a stacked grid only.
    """
    limits = limits or {}
    train, outside = _median(done, "train_s"), _median(done, "outside_s")
    figures = {"train_s": round(train, 3), "fixed_s": round(outside, 1), "fixed_frac": round(outside / wall, 3)}
    if limits.get("floor"):
        figures["fixed_over_floor_s"] = round(outside - limits["floor"], 1)
    gflop = _median(done, "train_gflop")
    if math.isfinite(gflop):
        figures["train_gflop_per_s"] = round(gflop / train, 1)
        if limits.get("peak"):
            figures["peak_frac"] = round(gflop / train / limits["peak"], 3)
        products = limits.get(f"products_{part}", limits.get("products"))
        if products:
            figures["products_frac"] = round(gflop / train / products, 3)
    refit = _median(done, "refit_s")
    if refit > 0:
        figures["refit_frac"] = round(refit / wall, 3)
        figures["candidate_frac"] = round(_median(done, "search_s") / len(ACTIVATIONS) / wall, 3)
    return {k: v for k, v in figures.items() if not (isinstance(v, float) and math.isnan(v))}


def figures_table(runs, epochs, repeat, limits=None):
    """The benchmark's table: one row per part from its runs, with the ratios between parts.

    Parameters
    ----------
    runs : dict
        Part -> list of `PartRun`, in the order they ran (the last run's scores are shown).
    epochs, repeat : int
    limits : dict, optional
        The machine's limits (``peak``, ``products``, ``products_<part>``, ``floor``).

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for part, done in runs.items():
        wall = float(np.median([run.wall_s for run in done]))
        scores, n_train = done[-1].scores, done[-1].n_train
        fits = done[-1].figures.get("fits") or (
            1 if part == "a_single" else 3 * len(ACTIVATIONS) * (len(TUNED_RATES) if part in RATED else 1))
        rows_per_fit = n_train * (1 if part == "a_single" else 2 / 3) * (1 - VALID_FRACTION)
        rows.append({"part": part, "setup": PARTS[part], "wall_s": round(wall, 1),
                     **({"wall_s_runs": " ".join(f"{run.wall_s:.1f}" for run in done)} if repeat > 1 else {}),
                     "train_samples_per_s": round(rows_per_fit * epochs * fits / wall),
                     "peak_mem_mb": round(max(run.peak_mb for run in done)),
                     **{f"cv_acc_{a}": round(scores[a], 4) if a in scores else math.nan
                        for a in dict.fromkeys(a for p in runs for a in _shown(p))},
                     **(_efficiency(done, wall, limits, part) if part in PROJECT_OVERRIDES else {}),
                     **{k: done[-1].figures[k] for k in AGREEMENT if k in done[-1].figures}})
    return _with_ratios(pd.DataFrame(rows))


AGREEMENT = ("same_best", "top3_kept", "survivors", "same_lr", "pairs")  # `halving_agreement`'s figures


def _with_ratios(table):
    """Add the wall-time ratios between parts that were both run."""
    walls = dict(zip(table["part"], table["wall_s"]))
    for num, den in RATIOS:
        if num in walls and den in walls:
            table.loc[table["part"] == num, f"ratio_to_{den}"] = round(walls[num] / walls[den], 3)
    return table


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m src.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=25, help="epochs per fit (25 in the notebook)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to run, from: {', '.join(PARTS)}")
    parser.add_argument("--subset", type=int, default=None, help="use a stratified subset of N training images")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the parts this many times in turn and report each part's median wall time")
    parser.add_argument("--out", default="outputs/bench", help="where the CSV and Markdown tables go")
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda, for every part")
    parser.add_argument("--seed", type=int, default=None, help="the config's seed for every project part")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from .errors import UserError, refuse
    from .training.net import resolve_device

    try:
        device = resolve_device(args.device)
    except UserError as exc:
        return refuse(exc)
    if args.worker:
        scores, n_train = WORKERS[args.worker](args.epochs, args.subset, device)
        print(json.dumps({"scores": scores, "n_train": n_train}))
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    problem = (f"unknown part {unknown[0]!r}; choose from: {', '.join(PARTS)}" if unknown else
               "no part to run" if not parts else
               f"--epochs must be > 0, got {args.epochs}" if args.epochs <= 0 else
               f"--subset must be > 0, got {args.subset}" if args.subset is not None and args.subset <= 0 else
               f"--repeat must be > 0, got {args.repeat}" if args.repeat <= 0 else None)
    if problem:
        return refuse(problem)
    out_root = Path(args.out)
    machine = (f"{cpu_name()}, {os.cpu_count()} cores, {psutil.virtual_memory().total / 2 ** 30:.0f} GiB, "
               f"device {device}" + (f" ({torch_device_name(device)})" if device == "cuda" else ""))
    threads = len(os.sched_getaffinity(0))  # what a stacked grid with cv.n_jobs=auto trains with
    print("bench: measuring the machine's limits ...", flush=True)
    limits = {"peak": sgemm_peak(threads, device=device), "products": products_rate(threads, device=device),
              "floor": import_floor()}
    for part in [p for p in parts if p in MEMBERS]:  # a bigger stack's products run at another rate
        limits[f"products_{part}"] = products_rate(threads, candidates=len(ACTIVATIONS) * MEMBERS[part], device=device)
    title = (f"Benchmark: {args.epochs} epochs, {'full MNIST' if not args.subset else f'{args.subset} images'}"
             f"{f', median of {args.repeat} runs in turn' if args.repeat > 1 else ''}; {machine}"
             + f"; float32 matrix-product peak{'' if device == 'cuda' else f' at {threads} threads'}: "
             f"{limits['peak']:.0f} GFLOP/s; the stacked step's products alone: {limits['products']:.0f} GFLOP/s "
             f"({limits['products'] / limits['peak']:.2f} of the peak); start-up floor (importing torch, skorch, "
             f"scikit-learn and Hydra, one torch optimizer): {limits['floor']:.1f} s"
             + "".join(f"; the products alone of part {p}'s bigger stack: {limits['products_' + p]:.0f} GFLOP/s"
                       for p in parts if f"products_{p}" in limits))
    print(title, flush=True)

    def write(table):
        write_csv(out_root / "bench.csv", table)
        return write_text(out_root / "bench.md", f"{title}\n\n{table.to_markdown(index=False)}\n")

    table = run_bench(parts, args.epochs, args.subset, out_root, device, on_row=write, repeat=args.repeat, limits=limits,
                      seed=args.seed)
    write(table)
    print(f"{title}\n\n{table.to_markdown(index=False)}\n")
    print(f"written: {out_root / 'bench.csv'}, {out_root / 'bench.md'}")
    return 0


def cpu_name():
    """The CPU's model name and torch's kernel level, e.g. ``AMD EPYC (torch AVX2)``."""
    import platform

    import torch

    name = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as fh:
            name = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name} (torch {torch.backends.cpu.get_cpu_capability()})"


def torch_device_name(device):
    """The GPU's name for the table's title."""
    import torch

    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"


if __name__ == "__main__":
    sys.exit(main())
