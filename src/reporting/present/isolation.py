"""A tuned study's isolation plot: each activation's inner score against its tuned setting."""
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from ..compute.tuned_study import first_rung_scores, isolation_frame
from .colours import palette


def isolation_figure(trials, nuisance, level=0.95, halving=None, colour_of=None):
    """The isolation plot (see `isolation_frame`) as a figure; None when the setting is not numeric.

    With successive halving (``halving`` of ``search.json``) the inner scores are those of the first
    rung, the last epoch at which every setting trained (`first_rung_scores`), and the title says so.
    ``colour_of`` maps each activation to its colour in the study (`src.reporting.present.colours.palette`).
    """
    x = nuisance[0]
    epochs, inner = first_rung_scores(trials, halving) if halving else (None, None)
    frame = isolation_frame(trials, nuisance, level, inner)
    values = pd.to_numeric(frame[x], errors="coerce")
    if values.isna().any():
        return None
    frame = frame.assign(**{x: values})
    fig = Figure(figsize=(7.5, 4.6), dpi=110, layout="constrained")
    ax = fig.subplots()
    labels = list(dict.fromkeys(frame["label"]))
    colour_of = colour_of or palette(labels)
    for label in labels:
        colour = colour_of.get(str(label)) or palette(labels)[str(label)]
        line = frame[frame["label"] == label].sort_values(x)
        ax.plot(line[x], line["mean"], marker="o", color=colour, label=label)
        ax.fill_between(line[x], line["low"], line["high"], color=colour, alpha=0.15, linewidth=0)
        picked = line[line["chosen"] > 0]
        ax.scatter(picked[x], picked["mean"], s=60 + 40 * picked["chosen"], facecolors="none", edgecolors=colour,
                   linewidths=2, zorder=3)
    if (values > 0).all() and values.max() / values.min() >= 10:
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(values)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))  # every tuned value, plainly
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(x)
    ax.set_ylabel("validation accuracy (inner)" + (f" at epoch {epochs}" if epochs else ""))
    ax.set_title(f"each activation against {x} (mean over splits, {round(level * 100)}% band);\n"
                 f"rings: the chosen {x}, larger when chosen on more splits"
                 + (f";\nat epoch {epochs}: halving's first rung, where every {x} still trained" if epochs else ""),
                 fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig
