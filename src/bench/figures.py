"""The parts run in turn (`run_bench`) and the benchmark's table of figures (`figures_table`)."""
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .limits import cnn_epoch_flops
from .notebook import notebook
from ..reporting.read.study import load
from .parts import CNN_PARTS, HALVING_PAIRS, PARTS, PROJECT_OVERRIDES, RATED, run_part, shown

RATIOS = (("a", "b"), ("a_plain", "b"), ("a_processes", "b"), ("a_medium", "b"), ("a", "c"), ("a_serial", "c"),
          ("a_compiled", "c"), ("a_compiled", "a_serial"), ("tuned", "fixed_rates"), ("all_halving", "all"),
          ("tuned_halving", "tuned"), ("learnable", "learnable_plain"),
          ("a", "a_no_checkpoints"), ("cnn", "cnn_b"))
AGREEMENT = ("same_best", "top3_kept", "survivors", "same_lr", "pairs")  # `halving_agreement`'s figures


def _top(summary, k=3):
    """A grid's best ``k`` candidates trained in full, best first (its summary's ranked rows)."""
    return list(summary[summary["rank"].notna()].sort_values("rank")["label"].astype(str))[:k]


def _chosen(tuning):
    """A tuned study's chosen learning rate per (activation, outer split), from its tuning table."""
    chosen = tuning[tuning["chosen"].astype(str) == "True"]
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
    ours, theirs = load(out_root / f"run_{part}"), load(out_root / f"run_{HALVING_PAIRS[part]}")
    if ours.summary is None or theirs.summary is None:
        return {}
    if theirs.tuning is not None:
        mine, exhaustive = _chosen(ours.tuning), _chosen(theirs.tuning)
        return {"same_lr": sum(mine.get(k) == v for k, v in exhaustive.items()), "pairs": len(exhaustive)}
    survivors = _top(ours.summary, k=None)
    top = _top(theirs.summary)
    return {"same_best": survivors[:1] == top[:1], "top3_kept": len(set(top) & set(survivors)),
            "survivors": len(survivors)}


def run_bench(parts, epochs, subset, out_root, device="cpu", on_row=None, repeat=1, limits=None, seed=None,
              setup=None):
    """Run the chosen parts one after another and return the table of figures.

    With ``repeat`` > 1 the whole sequence runs that many times in turn (a, b, c, a, b, c,
    ...), so that a slow spell of a shared machine falls on every part alike; the table
    gives each part's median wall time (and every run's in ``wall_s_runs``), its highest
    peak memory and the accuracies of its last run. ``on_row(table)`` is called after every
    part with the table so far (to keep what was measured if a later part fails). ``limits``
    are as in `figures_table`. ``seed`` (the config's ``seed``) is given to every project part;
    a halving part's row says how its outcome agrees with its exhaustive part's
    (`halving_agreement`) when both ran. ``setup`` is a `src.bench.notebook.Notebook` (the
    composed config's by default).
    """
    setup = setup or notebook()
    runs = {}
    for turn in range(1, repeat + 1):
        for part in parts:
            which = f" (run {turn}/{repeat})" if repeat > 1 else ""
            print(f"bench: {part}{which}: {PARTS[part]} ...", flush=True)
            done = run_part(part, epochs, subset, out_root, device, setup, seed=seed)
            runs.setdefault(part, []).append(done)
            for halved in [p for p in HALVING_PAIRS if part in (p, HALVING_PAIRS[p]) and p in runs]:
                runs[halved][-1].figures.update(halving_agreement(Path(out_root), halved))
            print(f"bench: {part}{which}: {done.wall_s:.1f} s, peak {done.peak_mb:.0f} MB, " +
                  ", ".join(f"{a} {done.scores[a]:.4f}" for a in shown(part, setup) if a in done.scores), flush=True)
            if on_row is not None:
                on_row(figures_table(runs, epochs, repeat, limits, setup))
    return figures_table(runs, epochs, repeat, limits, setup)


def _median(done, key):
    values = [run.figures[key] for run in done if key in run.figures]
    return float(np.median(values)) if values else math.nan


def _efficiency(done, wall, limits, candidates, part="a"):
    """A part's split of its wall time, fixed cost beyond the floor and training rate against the
    peak and against the products alone of a stack of the part's size.

    ``limits`` are as in `figures_table`; the rate is given for a stacked grid only.
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
    checkpoints = _median(done, "checkpoint_s")
    if checkpoints > 0:  # taking and writing checkpoints, of the training time of the same runs
        figures["checkpoint_frac"] = round(checkpoints / train, 4)
    refit = _median(done, "refit_s")
    if refit > 0:
        figures["refit_frac"] = round(refit / wall, 3)
        figures["candidate_frac"] = round(_median(done, "search_s") / candidates / wall, 3)
    return {k: v for k, v in figures.items() if not (isinstance(v, float) and math.isnan(v))}


def figures_table(runs, epochs, repeat, limits=None, setup=None):
    """The benchmark's table: one row per part from its runs, with the ratios between parts.

    Parameters
    ----------
    runs : dict
        Part -> list of `src.bench.parts.PartRun`, in the order they ran (the last run's scores
        are shown).
    epochs, repeat : int
    limits : dict, optional
        The machine's limits (``peak``, ``products``, ``products_<part>``, ``floor``; see
        `src.bench.limits`): a stacked grid's training rate is then also given as a fraction of
        the peak, and every project part's fixed cost as what it spends beyond the floor.
    setup : src.bench.notebook.Notebook, optional
        The notebook's settings; the composed config's by default.

    Returns
    -------
    pandas.DataFrame
    """
    setup = setup or notebook()
    n = len(setup.activations)
    rows = []
    for part, done in runs.items():
        wall = float(np.median([run.wall_s for run in done]))
        scores, n_train = done[-1].scores, done[-1].n_train
        fits = done[-1].figures.get("fits") or (
            1 if part == "a_single" else setup.folds * n * (len(setup.tuned_rates) if part in RATED else 1))
        fit_share = 1 if part == "a_single" else (setup.folds - 1) / setup.folds  # of the training images
        rows_per_fit = n_train * fit_share * (1 - setup.valid_fraction)
        rows.append({"part": part, "setup": PARTS[part], "wall_s": round(wall, 1),
                     **({"wall_s_runs": " ".join(f"{run.wall_s:.1f}" for run in done)} if repeat > 1 else {}),
                     "train_samples_per_s": round(rows_per_fit * epochs * fits / wall),
                     "peak_mem_mb": round(max(run.peak_mb for run in done)),
                     **{f"cv_acc_{a}": round(scores[a], 4) if a in scores else math.nan
                        for a in dict.fromkeys(a for p in runs for a in shown(p, setup))},
                     **(_efficiency(done, wall, limits, n, part) if part in PROJECT_OVERRIDES else {}),
                     **(_convolutions(rows_per_fit, rows_per_fit / (1 - setup.valid_fraction) * setup.valid_fraction,
                                      fits, epochs, wall, limits, setup) if part in CNN_PARTS else {}),
                     **{k: done[-1].figures[k] for k in AGREEMENT if k in done[-1].figures}})
    return _with_ratios(pd.DataFrame(rows))


def _convolutions(n_fit, n_valid, fits, epochs, wall, limits, setup):
    """A CNN part's training FLOPs (`src.bench.limits.cnn_epoch_flops`), their rate over its wall time, and the
    least time they take at the convolutions' own rate (``limits["convs"]``), also as a fraction of the wall time."""
    gflop = cnn_epoch_flops(n_fit, n_valid, fits, setup) * epochs / 1e9
    figures = {"train_gflop": round(gflop, 1), "gflop_per_wall_s": round(gflop / wall, 1)}
    if (limits or {}).get("convs"):
        floor = gflop / limits["convs"]
        figures.update(conv_floor_s=round(floor, 1), conv_floor_frac=round(floor / wall, 3))
    return figures


def _with_ratios(table):
    """Add the wall-time ratios between parts that were both run."""
    walls = dict(zip(table["part"], table["wall_s"]))
    for num, den in RATIOS:
        if num in walls and den in walls:
            table.loc[table["part"] == num, f"ratio_to_{den}"] = round(walls[num] / walls[den], 3)
    return table
