"""Pictures of the activations: each function with its derivative, alone or in a gallery.

The derivative is the one training uses: torch's autograd through the built module, in eval
mode (so RReLU shows its mean slope). Figures are drawn on matplotlib's Agg canvas, without
pyplot; `src.reporting.write.figures` writes them. The command line is `src.plots`.
"""
import functools
import hashlib
import io
import math
import re
from pathlib import Path

import matplotlib
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...errors import UserError
from ...model import activations

X_RANGE = (-10.0, 10.0)
N_POINTS = 501
DEFAULT_OUT = Path("outputs/gallery")
GALLERY_NAME = "gallery.png"
GALLERY_COLUMNS = 7
SYMLOG_ABOVE = 50.0  # values beyond this get a symmetric-log y axis (exponential)
# Panels for names whose plain form means another activation: plain ``swish`` is ``silu``.
EXAMPLES = {"swish": "swish(beta=2.0)"}
FUNCTION_COLORS = ("tab:blue", "tab:green")
DERIVATIVE_COLORS = ("tab:orange", "tab:red")


def gallery_specs():
    """Return one spec per registered activation, as the gallery draws them.

    Returns
    -------
    list of str
        `src.model.activations.available`, with `EXAMPLES` standing in for names whose plain
        form is another activation's label.
    """
    return [EXAMPLES.get(name, name) for name in activations.available()]


def curves(spec, x_range=X_RANGE, n_points=N_POINTS):
    """Evaluate an activation and its autograd derivative on a grid.

    Parameters
    ----------
    spec : str or mapping
        An activation spec (see `src.model.activations.parse`).
    x_range : (float, float) (default=(-10, 10))
        The interval.
    n_points : int (default=501)
        Number of evenly spaced points.

    Returns
    -------
    x : numpy.ndarray, shape (n_points,)
    values, derivatives : numpy.ndarray, shape (n_points, k)
        One column per output of each input unit: ``k`` is 2 for CReLU, 1 otherwise.
    """
    module = activations.build(spec).double().eval()
    x = torch.linspace(*x_range, n_points, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
    y = module(x)
    derivatives = [torch.autograd.grad(y[:, j].sum(), x, retain_graph=True)[0][:, 0] for j in range(y.shape[1])]
    return (x.detach()[:, 0].numpy(), y.detach().numpy(), torch.stack(derivatives, dim=1).numpy())


def _draw(ax, spec, fontsize):
    """Draw one activation (solid) and its derivative (dashed) on ``ax``; return its outputs per input."""
    name = activations.label(spec)
    x, values, derivatives = curves(spec)
    k = values.shape[1]
    for j in range(k):
        suffix = f" (output {j + 1})" if k > 1 else ""
        ax.plot(x, values[:, j], color=FUNCTION_COLORS[j], lw=1.8, label=f"activation{suffix}")
        ax.plot(x, derivatives[:, j], color=DERIVATIVE_COLORS[j], lw=1.4, ls="--", label=f"derivative{suffix}")
    ax.axhline(0, color="0.55", lw=0.6, zorder=0)
    ax.axvline(0, color="0.55", lw=0.6, zorder=0)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(*X_RANGE)
    title = name
    if max(abs(values).max(), abs(derivatives).max()) > SYMLOG_ABOVE:
        ax.set_yscale("symlog", linthresh=1.0)
        if min(values.min(), derivatives.min()) >= 0:
            ax.set_ylim(bottom=-0.25)
        title += " (symlog y)"
    ax.set_title(title, fontsize=fontsize)
    ax.tick_params(labelsize=fontsize - 2)
    return k


def activation_figure(spec):
    """One activation and its derivative over [-10, 10], titled by its readable label."""
    fig = Figure(figsize=(6.4, 4.4), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.11, top=0.92)
    ax = fig.add_subplot()
    _draw(ax, spec, fontsize=12)
    ax.set_xlabel("x")
    ax.legend(loc="best", fontsize=9)
    return fig


def activation_png(spec, key):
    """An activation's PNG as bytes (``key`` names what it shows; see `plot_key`)."""
    buffer = io.BytesIO()
    activation_figure(spec).savefig(buffer, format="png")
    return buffer.getvalue()


def plot_key(spec):
    """What an activation's plot shows, as a digest: its label, the values and derivatives it draws,
    the drawing code and matplotlib's version. Two specs with the same key draw the same PNG."""
    digest = hashlib.sha256()
    digest.update(activations.label(spec).encode())
    for array in curves(spec):
        digest.update(array.tobytes())
    digest.update(_drawing_code())
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _drawing_code():
    """This module's source and matplotlib's version: what draws a plot, read once."""
    return Path(__file__).read_bytes() + matplotlib.__version__.encode()


def gallery_figure(specs=None):
    """One figure with a small panel per activation: function, derivative and label.

    Parameters
    ----------
    specs : sequence of str or mapping, optional
        The activations to draw; every registered one (`gallery_specs`) when None.

    Returns
    -------
    (matplotlib.figure.Figure, list of str)
        The figure, and the title of each panel, one per axes, in drawing order.
    """
    specs = gallery_specs() if specs is None else list(specs)
    if not specs:
        raise UserError("the gallery needs at least one activation")
    ncols = min(GALLERY_COLUMNS, len(specs))
    nrows = math.ceil(len(specs) / ncols)
    width, height = 2.7 * ncols + 0.3, 2.3 * nrows + 1.0 + (0.5 if ncols < 4 else 0.0)
    fig = Figure(figsize=(width, height), dpi=100)  # fixed margins (in inches): fast for many panels
    FigureCanvasAgg(fig)
    multi = False
    for i, spec in enumerate(specs):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        multi = _draw(ax, spec, fontsize=10) > 1 or multi
    handles = [Line2D([], [], color=FUNCTION_COLORS[0], lw=1.8, label="activation f(x)"),
               Line2D([], [], color=DERIVATIVE_COLORS[0], lw=1.4, ls="--", label="derivative f'(x) (autograd)")]
    if multi:
        handles += [Line2D([], [], color=FUNCTION_COLORS[1], lw=1.8, label="second output (CReLU)"),
                    Line2D([], [], color=DERIVATIVE_COLORS[1], lw=1.4, ls="--", label="its derivative")]
    legend_cols = len(handles) if ncols >= 4 else 1 if ncols == 1 else 2
    legend_rows = math.ceil(len(handles) / legend_cols)
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.08 / height), ncols=legend_cols,
               fontsize=11 if ncols >= 4 else 9, frameon=False)
    title = "Activation functions and their derivatives on [-10, 10]" if ncols >= 4 else "Activations on [-10, 10]"
    fig.suptitle(title, fontsize=14 if ncols >= 4 else 12, y=1 - 0.12 / height, va="top")
    fig.subplots_adjust(left=0.45 / width, right=1 - 0.15 / width, bottom=(0.55 + 0.25 * legend_rows) / height,
                        top=1 - 0.55 / height, wspace=0.3, hspace=0.45)
    return fig, [ax.get_title() for ax in fig.axes]


def activation_filename(spec):
    """Return ``activation_<label>.png`` with the label made safe as a file name.

    Parameters
    ----------
    spec : str or mapping

    Returns
    -------
    str
        E.g. ``activation_leaky_relu_negative_slope=0.2.png``.
    """
    safe = re.sub(r"[^A-Za-z0-9._=-]+", "_", activations.label(spec)).strip("_")
    return f"activation_{safe}.png"


def listing():
    """Return the registered activations, one block each: name, formula, parameters, aliases.

    Returns
    -------
    str
    """
    lines = []
    for name in activations.available():
        lines.append(f"{name:<14} {activations.REGISTRY[name].doc}")
        params = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in activations.defaults(name).items()]
        if params:
            lines.append(f"{'':<14}   parameters: {', '.join(params)}")
        names = activations.aliases(name)
        if names:
            lines.append(f"{'':<14}   aliases: {', '.join(names)}")
    return "\n".join(lines)
