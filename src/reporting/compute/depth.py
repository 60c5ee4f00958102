"""Accuracy and diagnostics against depth, for studies that differ in their number of hidden layers.

Four panels, one line per activation: mean cross-validated accuracy, the fraction of dead
units (mean over the hidden layers), the std of the last hidden layer's outputs (a
self-normalising network keeps it near 1), each against depth; and the std of every hidden
layer of the deepest study, layer by layer. Values are the last epoch's, averaged over folds.
The legend names each activation's weight init: a line that falls with depth may be its init's.
"""
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ...errors import UserError
from ...files import save_figure
from ...model.mlp import resolve_init
from ...results import split_column
from ..present.curves import colours
from ..present.summary_view import INIT_NAMES


def init_of(label, config):
    """The weight init an activation trained with in a study: ``model.init``, or its recipe for ``auto``.

    None when the config does not say, or the label names no registered activation.
    """
    init = (config.get("model") or {}).get("init")
    try:
        return resolve_init(init, label) if init is not None else None
    except UserError:
        return None


def depth_frame(studies):
    """One row per (study, activation): depth, accuracy, mean dead fraction, last layer's std, std per layer, init.

    Parameters
    ----------
    studies : list of src.reporting.compute.across.Study

    Returns
    -------
    pandas.DataFrame
        Empty when fewer than two distinct depths are found.
    """
    rows = []
    for study in studies:
        if study.depth is None:
            continue
        for _, row in study.rows.iterrows():
            layers = {}
            for column, value in row.items():
                parsed = split_column(column)
                if parsed and parsed[0] != "output":
                    layers.setdefault(int(parsed[0][5:]), {})[parsed[1]] = float(value)
            order = sorted(layers)
            dead = [layers[i].get("dead", np.nan) for i in order]
            std = [layers[i].get("std", np.nan) for i in order]
            rows.append({"study": study.name, "depth": study.depth, "activation": row["label"],
                         "accuracy": float(row["accuracy"]),
                         "dead": float(np.nanmean(dead)) if np.isfinite(dead).any() else np.nan,
                         "last_std": std[-1] if std else np.nan, "std_per_layer": std,
                         "init": init_of(row["label"], study.config)})
    frame = pd.DataFrame(rows)
    if frame.empty or frame["depth"].nunique() < 2:
        return pd.DataFrame()
    return frame.sort_values(["activation", "depth"]).reset_index(drop=True)


PANELS = (("accuracy", "mean CV accuracy", False), ("dead", "dead units (fraction, mean over layers)", False),
          ("last_std", "std of the last hidden layer", True))


def legend_label(label, frame):
    """``gelu (PyTorch's default)``: an activation with the weight init of all its studies, when they share one."""
    inits = frame.loc[frame["activation"] == label, "init"]
    if inits.isna().any() or inits.nunique() != 1:
        return label
    init = inits.iloc[0]
    return f"{label} ({INIT_NAMES.get(init, init)})"


def plot_depth(frame, path):
    """Draw `depth_frame`'s table as one PNG at ``path``; return the path."""
    labels = sorted(frame["activation"].unique())
    colour = dict(zip(labels, colours(len(labels))))
    fig = Figure(figsize=(15, 4.4), dpi=110, layout="constrained")
    axes = fig.subplots(1, 4)
    depths = sorted(frame["depth"].unique())
    for ax, (column, title, log) in zip(axes, PANELS):
        for label, group in frame.groupby("activation"):
            ax.plot(group["depth"], group[column], marker="o", color=colour[label], label=label)
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.minorticks_off()
        ax.set_xlabel("hidden layers")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if log and (frame[column] > 0).any():
            ax.set_yscale("log")
    deepest = frame[frame["depth"] == depths[-1]]
    for _, row in deepest.iterrows():
        std = row["std_per_layer"]
        axes[3].plot(np.arange(1, len(std) + 1), std, marker=".", color=colour[row["activation"]])
    axes[3].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[3].set_xlabel("hidden layer")
    axes[3].set_title(f"std per layer at depth {depths[-1]}")
    axes[3].grid(True, alpha=0.3)
    if (deepest["last_std"] > 0).any():
        axes[3].set_yscale("log")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, [legend_label(name, frame) for name in names], loc="outside right center", fontsize=8,
               title="activation (init)", title_fontsize=8)
    return save_figure(path, fig)
