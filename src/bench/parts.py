"""The bench's parts: what each one runs, and running one in its own process (`run_part`).

The project's parts run ``python -m src.run`` (the notebook's search, ``experiment=notebook``,
with each part's overrides) and read their figures from the run dir they leave; the baselines
``b`` and ``c`` run in ``python -m src.bench --worker`` (`src.bench.baselines`). Each part's wall
time and peak memory are measured from outside (`src.bench.sampler.measure`).
"""
import json
import math
import shutil
import sys
from dataclasses import dataclass, field

from .limits import stack_epoch_flops
from ..reporting.read.study import load
from ..outcomes import stopped
from .sampler import measure

# activations with parameters, for the parts `learnable` and `learnable_plain`
LEARNABLE = ("prelu", "star_relu", "pau")
PARTS = {
    "a": "project grid mode as configured (batched folds, n_jobs=auto in threads)",
    "a_plain": "project grid mode, n_jobs=auto in threads, batched folds off",
    "a_processes": "project grid mode, n_jobs=auto in worker processes, batched folds off",
    "a_serial": "project grid mode, n_jobs=1, batched folds off",
    "a_compiled": "project grid mode, n_jobs=1, batched folds off, torch.compile",
    "a_medium": "project grid mode as configured, train.matmul_precision=medium (TF32/bfloat16 products)",
    "a_refit": "project grid mode as configured, with the refit of the best candidate (cv.refit=true)",
    "a_no_checkpoints": "project grid mode as configured, without checkpoints (train.checkpoint_every=0)",
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
    "cnn": "project grid mode with model=cnn: the notebook's grid on the CNN, fit by fit, n_jobs=auto in threads",
    "cnn_b": "naive skorch with the same CNN (DataLoader, numpy, n_jobs=1)",
}
PROJECT_OVERRIDES = {
    "a": [],
    "a_plain": ["cv.batched=false"],
    "a_processes": ["search.backend=local", "cv.batched=false"],
    "a_serial": ["cv.n_jobs=1", "cv.batched=false"],
    "a_compiled": ["cv.n_jobs=1", "cv.batched=false", "train.compile=true"],
    "a_medium": ["train.matmul_precision=medium"],
    "a_refit": ["cv.refit=true"],
    "a_no_checkpoints": ["train.checkpoint_every=0"],
    "a_single": ["mode=single", "activation=relu"],
    "tuned": ["experiment=tuned_notebook"],
    "tuned_halving": ["experiment=tuned_notebook", "search.halving=true"],
    "all": ["grid=all", "cv.repeats=1"],
    "all_halving": ["grid=all", "cv.repeats=1", "search.halving=true"],
    "learnable": [f"grid.activation=[{','.join(LEARNABLE)}]"],
    "learnable_plain": [f"grid.activation=[{','.join(LEARNABLE)}]", "cv.batched=false"],
    "cnn": ["model=cnn"],
}
CNN_PARTS = ("cnn", "cnn_b")  # parts that train the CNN, read against the convolutions' rate (`limits.conv_rate`)
# halving part -> the exhaustive part it is judged against (`src.bench.figures.halving_agreement`)
HALVING_PAIRS = {"all_halving": "all", "tuned_halving": "tuned"}
RATED = ("tuned", "fixed_rates", "tuned_halving")  # parts that train every activation at each of tuned_notebook's rates
STACKED_RATES = ("tuned", "tuned_halving")  # parts that stack every rate of an activation: a bigger stack's products


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
        What the part's own records say (`project_figures`): ``train_s``, ``outside_s``,
        ``train_gflop``, ``search_s``, ``refit_s``, ...
    """

    wall_s: float
    peak_mb: float
    scores: dict
    n_train: int
    figures: dict = field(default_factory=dict)


def shown(part, setup):
    """The activations whose accuracies a part's row shows (``setup``: a `src.bench.notebook.Notebook`)."""
    return LEARNABLE if part.startswith("learnable") else setup.activations


def _project_command(run_dir, epochs, subset, device, overrides, seed=None):
    experiment = [] if any(o.startswith("experiment=") for o in overrides) else ["experiment=notebook"]
    cmd = [sys.executable, "-m", "src.run", *experiment, f"train.epochs={epochs}", "cv.refit=false",
           f"device={device}", f"hydra.run.dir={run_dir}", *overrides]
    return cmd + ([f"data.subset={subset}"] if subset else []) + ([f"seed={seed}"] if seed is not None else [])


def project_figures(outcome, wall, setup):
    """What a project part's own records say: its training seconds, FLOPs, fixed cost, refit time.

    Parameters
    ----------
    outcome : src.reporting.read.study.Study
        What the part's run dir holds.
    wall : float
        The part's wall time.
    setup : src.bench.notebook.Notebook
    """
    if outcome.metrics is not None:  # a single run: one fit
        return {"train_s": outcome.metrics["fit_seconds"], "outside_s": wall - outcome.metrics["fit_seconds"]}
    meta = outcome.search
    records = [outcome.record(key) for keys in (meta.fit_keys or {}).values() for key in keys]
    refit = (meta.refit or {}).get("fit_seconds", 0.0)
    figures = {"search_s": meta.search_seconds, "refit_s": refit}
    # one stack of every fit, trained to the end: its shared seconds, split (stacks side by side,
    # or members stopped by halving, would be counted more than once)
    if records and all(r and r.get("batched") == len(records) and not stopped(r) for r in records):
        figures["train_s"] = sum(r["fit_seconds"] for r in records)
        figures["checkpoint_s"] = sum(r.get("checkpoint_seconds") or 0.0 for r in records)  # within train_s
        figures["outside_s"] = wall - figures["train_s"] - refit  # the refit is training too
        epochs = len(records[0]["history"])
        n_valid = sum(round(s["n_train"] * setup.valid_fraction) for s in meta.splits) / len(meta.splits)
        n_fit = sum(s["n_train"] for s in meta.splits) / len(meta.splits) - n_valid
        figures["train_gflop"] = stack_epoch_flops(n_fit, n_valid, len(records), setup.sizes) * epochs / 1e9
    return figures


def _project_part(part, epochs, subset, out_root, device, setup, seed=None):
    run_dir = out_root / f"run_{part}"
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = PROJECT_OVERRIDES[part] + (["search.min_epochs=1"] if part in HALVING_PAIRS and epochs <= 2 else [])
    wall, peak, _ = measure(_project_command(run_dir, epochs, subset, device, overrides, seed))
    done = load(run_dir)
    figures = {"wall_s": wall, **project_figures(done, wall, setup)}
    if part in HALVING_PAIRS or part in HALVING_PAIRS.values():  # every candidate x split, as if trained in full
        figures["fits"] = len(done.search.fit_keys) * len(done.search.splits)
    if part == "a_single":
        return PartRun(wall, peak, {"relu": done.metrics["test_accuracy"]}, done.metrics["n_train"], figures)
    summary = done.summary.set_index("label")
    return PartRun(wall, peak, {a: float(summary["accuracy_mean"].get(a, math.nan)) for a in shown(part, setup)},
                   done.search.n_train, figures)


def _fixed_rates_part(part, epochs, subset, out_root, device, setup, seed=None):
    """Four fixed grids, one per rate of tuned_notebook, one after another: their summed wall time,
    the highest peak memory, and each activation's best mean accuracy over the four."""
    walls, peaks, best = [], [], {}
    for rate in setup.tuned_rates:
        run_dir = out_root / f"run_{part}_{rate:g}"
        shutil.rmtree(run_dir, ignore_errors=True)
        wall, peak, _ = measure(_project_command(run_dir, epochs, subset, device, [f"optimizer.lr={rate}"], seed))
        walls.append(wall)
        peaks.append(peak)
        done = load(run_dir)
        summary = done.summary.set_index("label")
        for a in setup.activations:
            best[a] = max(best.get(a, -math.inf), float(summary.loc[a, "accuracy_mean"]))
    return PartRun(sum(walls), max(peaks), best, done.search.n_train,
                   {"wall_s": sum(walls), "wall_s_each": " ".join(f"{w:.1f}" for w in walls)})


def _worker_part(part, epochs, subset, out_root, device, setup, seed=None):
    cmd = [sys.executable, "-m", "src.bench", "--worker", part, "--epochs", str(epochs), "--device", device,
           "--setup", json.dumps(setup.to_json())]
    if subset:
        cmd += ["--subset", str(subset)]
    wall, peak, out = measure(cmd)
    result = json.loads(out.strip().splitlines()[-1])
    return PartRun(wall, peak, result["scores"], result["n_train"], {"wall_s": wall})


RUNNERS = {"fixed_rates": _fixed_rates_part}


def run_part(part, epochs, subset, out_root, device, setup, seed=None):
    """Run one part and return its `PartRun`.

    Parameters
    ----------
    part : str
        A key of `PARTS`.
    epochs, subset : int
        Epochs per fit; a stratified subset of the training images (None: all).
    out_root : Path
        Where the project parts' run dirs go (``run_<part>``).
    device : str
    setup : src.bench.notebook.Notebook
    seed : int, optional
        The config's ``seed`` for a project part.
    """
    runner = RUNNERS.get(part, _project_part if part in PROJECT_OVERRIDES else _worker_part)
    return runner(part, epochs, subset, out_root, device, setup, seed=seed)
