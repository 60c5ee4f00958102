"""Accuracy and diagnostics against depth, one line per activation (see `src.reporting.compute.depth`)."""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .colours import palette
from .method import INIT_NAMES


PANELS = (("accuracy", "mean CV accuracy", False), ("dead", "dead units (fraction, mean over layers)", False),
          ("last_std", "std of the last hidden layer", True))



def legend_label(label, frame):
    """``gelu (PyTorch's default)``: an activation with the weight init of all its studies, when they share one."""
    inits = frame.loc[frame["activation"] == label, "init"]
    if inits.isna().any() or inits.nunique() != 1:
        return label
    init = inits.iloc[0]
    return f"{label} ({INIT_NAMES.get(init, init)})"



def depth_figure(frame):
    """`src.reporting.compute.depth.depth_frame`'s table as one figure of four panels."""
    labels = sorted(frame["activation"].unique())
    colour = palette(labels)
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
    return fig
