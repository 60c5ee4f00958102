"""Learning curves as PNG: validation accuracy and training loss per epoch.

One figure per single run (its history), per grid (each candidate's mean over its folds and
repeats with a 95% confidence band) and per sweep (one line per job). Figures are drawn on
matplotlib's Agg canvas (no display, no pyplot state) and written as ``learning_curves.png``
beside the results they show (by `src.reporting.write`).
"""
import math

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from ...outcomes import stopped
from ..compute.two_samples import confidence_interval
from ..compute.sweep import varying
from .colours import colours, palette

PANELS = (("valid_acc", "validation accuracy", False), ("train_loss", "training loss (log scale)", True))
LEGEND_INSIDE = 6  # more lines than this and the legend moves beside the plots
LEGEND_ROWS = 24   # entries per column of a legend beside the plots (what the figure's height holds)
ACCURACY_BOUNDS = (0.0, 1.0)  # the validation accuracy's band is drawn within them


class PlainLogFormatter(ticker.LogFormatter):
    """Log-axis labels as plain numbers (0.4, 2) instead of 4e-01 or 2x10^0; the same ticks are labelled."""

    def __call__(self, x, pos=None):
        return f"{x:.3g}" if super().__call__(x, pos) else ""


def _legend_columns(n_lines):
    """Columns of a legend beside the plots: as many as its entries need at `LEGEND_ROWS` each."""
    return max(1, math.ceil(n_lines / LEGEND_ROWS))


def _figure(n_lines):
    outside = n_lines > LEGEND_INSIDE
    width = 13.5 + 2.5 * (_legend_columns(n_lines) - 1) if outside else 11
    fig = Figure(figsize=(width, 4.6), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (_, name, log) in zip(axes, PANELS):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.replace(" (log scale)", ""))
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.grid(True, which="minor", axis="y", alpha=0.12)
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        if log:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(PlainLogFormatter())
            ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 1)))
    return fig, axes


def _single_epoch_ticks(axes):
    """Give a one-epoch plot a single integer tick instead of fractional ones."""
    for ax in axes:
        xs = np.unique(np.concatenate([np.asarray(line.get_xdata(), dtype=float) for line in ax.get_lines()] or [[]]))
        if len(xs) == 1:
            ax.set_xticks(xs)
            ax.set_xlim(xs[0] - 0.5, xs[0] + 0.5)


def _legend(fig, axes, n_lines):
    _single_epoch_ticks(axes)
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    if not handles:
        return
    if n_lines > LEGEND_INSIDE:
        fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False,
                   ncols=_legend_columns(n_lines))
    else:
        axes[0].legend(handles, labels, fontsize=9, loc="best")


def _markers(x):
    """Dots on the points of short curves (a one-epoch curve is otherwise invisible)."""
    return {"marker": "o", "ms": 3} if len(x) <= 30 else {}


def _finite(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(y) & np.isfinite(x)
    return x[keep], y[keep]


def _epochs(frame):
    return frame["epoch"] if "epoch" in frame else np.arange(1, len(frame) + 1)


def plot_history(history, title):
    """One fit's curves: validation accuracy, and training loss with validation loss dashed.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch (``epoch``, ``train_loss``, ``valid_loss``, ``valid_acc``).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (acc_ax, loss_ax) = _figure(1)
    epochs = _epochs(history)
    if "valid_acc" in history:
        acc_ax.plot(*_finite(epochs, history["valid_acc"]), marker="o", ms=3, color="C0", label="validation")
    else:
        acc_ax.text(0.5, 0.5, "no validation split", ha="center", va="center", transform=acc_ax.transAxes)
    for column, style, name in (("train_loss", "-", "training"), ("valid_loss", "--", "validation")):
        if column in history:
            x, y = _finite(epochs, history[column])
            loss_ax.plot(x, np.where(y > 0, y, np.nan), style, marker="o", ms=3, color="C0" if column == "train_loss"
                         else "C1", label=f"{name} loss")
    loss_ax.set_title("loss (log scale)")
    loss_ax.set_ylabel("loss")
    loss_ax.legend(fontsize=9)
    _single_epoch_ticks((acc_ax, loss_ax))
    fig.suptitle(title)
    return fig


def mean_band(histories, column, n_train=None, n_test=None, level=0.95):
    """Per-epoch mean of ``column`` over fits, with a corrected confidence band.

    Parameters
    ----------
    histories : list of pandas.DataFrame
        One history per fit (fits stopped early simply contribute fewer epochs).
    column : str
    n_train, n_test : list of int, optional
        Training and held-out sizes of each fit's split, for the Nadeau-Bengio corrected
        interval of `src.reporting.compute.two_samples.confidence_interval` (the tables use the same one). Without
        them the plain t interval is used.
    level : float

    Returns
    -------
    pandas.DataFrame
        ``epoch``, ``mean``, ``low``, ``high``, ``n`` (fits with a finite value).
    """
    having = [i for i, h in enumerate(histories) if column in h]  # fits that recorded the column
    series = [pd.Series(np.asarray(histories[i][column], dtype=float), index=np.asarray(_epochs(histories[i])))
              for i in having]
    if not series:
        return pd.DataFrame(columns=["epoch", "mean", "low", "high", "n"])
    table = pd.concat(series, axis=1)
    n_train = np.asarray([n_train[i] for i in having] if n_train is not None else [1] * len(series), dtype=float)
    n_test = np.asarray([n_test[i] for i in having] if n_test is not None else [0] * len(series), dtype=float)
    rows = []
    for epoch, values in table.iterrows():
        mean, low, high = confidence_interval(values.to_numpy(), n_train, n_test, level=level)
        rows.append({"epoch": epoch, "mean": mean, "low": low, "high": high, "n": int(values.notna().sum())})
    return pd.DataFrame(rows)


def _log_floor(arrays):
    """The bottom of a log axis of positive values where a band reaches 0 or below: half the smallest
    positive mean or band end drawn (None when there is none), so that such a band visibly runs off the axis."""
    positive = [v[v > 0] for v in (np.asarray(a, dtype=float) for a in arrays)]
    positive = np.concatenate(positive) if positive else np.array([])
    return float(positive.min()) / 2 if positive.size else None


def plot_candidates(histories, title, sizes=None, halted=(), colour_of=None):
    """Each candidate's mean curve over its fits, with a 95% confidence band.

    Parameters
    ----------
    histories : dict
        Candidate label -> list of per-fit history DataFrames, best candidate first.
    title : str
    sizes : dict, optional
        Candidate label -> ``(n_train list, n_test list)`` of its fits, for corrected bands.
    halted : collection of str
        Candidates that successive halving stopped at a rung: drawn dashed, up to their rung.
    colour_of : dict, optional
        Label -> colour, the study's (`src.reporting.present.colours.palette`); by default in this order.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _figure(len(histories))
    drawn = []  # (axis, log, label, colour, x, mean, low, high)
    colour_of = colour_of or palette(histories)
    for label, fits in histories.items():
        colour = colour_of.get(label) or palette(histories)[label]
        n_train, n_test = (sizes or {}).get(label, (None, None))
        for ax, (column, _, log) in zip(axes, PANELS):
            band = mean_band(fits, column, n_train, n_test)
            if not band.empty:
                drawn.append((ax, log, label, colour,
                               *(band[c].to_numpy(dtype=float) for c in ("epoch", "mean", "low", "high"))))
    lows = [low for _, log, *_, low, _ in drawn if log]
    reaching = any((low[np.isfinite(low)] <= 0).any() for low in lows)  # a band down to 0 or below
    floor = _log_floor([values for _, log, *_, mean, low, _ in drawn if log for values in (mean, low)]) \
        if reaching else None
    for ax, log, label, colour, x, mean, low, high in drawn:
        if log:  # a loss is positive: a band reaching 0 or below runs to the bottom of the log axis
            mean, high = (np.where(v > 0, v, np.nan) for v in (mean, high))
            low = np.where(low > 0, low, np.nan) if floor is None else np.where(np.isnan(low), np.nan,
                                                                                 np.maximum(low, floor))
        else:  # an accuracy: its band within its bounds, as the tables clip its intervals
            low, high = np.clip(low, *ACCURACY_BOUNDS), np.clip(high, *ACCURACY_BOUNDS)
        ax.plot(x, mean, "--" if label in halted else "-", color=colour, lw=1.6,
                label=f"{label} (n={len(histories[label])}{', stopped' if label in halted else ''})", **_markers(x))
        ax.fill_between(x, low, high, color=colour, alpha=0.18, lw=0)
    for ax, (_, _, log) in zip(axes, PANELS):
        if log and floor is not None:
            ax.set_ylim(bottom=floor)
    _legend(fig, axes, len(histories))
    fig.suptitle(f"{title}: mean over folds and repeats, 95% CI band")
    return fig


def plot_jobs(curves, title):
    """One line per sweep job.

    Parameters
    ----------
    curves : dict
        Job label -> history DataFrame (``epoch``, ``valid_acc``, ``train_loss``).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _figure(len(curves))
    for (label, history), colour in zip(curves.items(), colours(len(curves))):
        for ax, (column, _, log) in zip(axes, PANELS):
            if column in history:
                x, y = _finite(_epochs(history), history[column])
                ax.plot(x, np.where(y > 0, y, np.nan) if log else y, color=colour, lw=1.6, label=label, **_markers(x))
    _legend(fig, axes, len(curves))
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------------------------------------
# From result folders
# ---------------------------------------------------------------------------------------

def run_figure(study):
    """A single run's learning curves, from its history."""
    name = (study.metrics or {}).get("activation", "")
    return plot_history(study.history, f"{name} learning curves".strip())


def grid_histories(study):
    """Each candidate's fold histories from a grid's folds table and fit records.

    Returns
    -------
    (dict, dict)
        Label -> list of history DataFrames, best-ranked candidate first; and label ->
        ``(n_train list, n_test list)`` of the same fits (``n_train``: the rows each fit trained on,
        ``n_fit`` where the folds table has it).
    """
    folds = study.folds
    order = list(study.summary["label"].astype(str)) if study.summary is not None \
        else list(dict.fromkeys(folds["label"].astype(str)))
    histories, sizes = {}, {}
    for label in order:
        rows = folds[folds["label"].astype(str) == label]
        fits, n_train, n_test = [], [], []
        for row in rows.itertuples():
            history = study.history_of(str(getattr(row, "fit", "") or ""))
            if history:
                fits.append(pd.DataFrame(history))
                n_train.append(getattr(row, "n_fit", row.n_train))  # the rows the fit trained on
                n_test.append(row.n_test)
        if fits:
            histories[label], sizes[label] = fits, (n_train, n_test)
    return histories, sizes


def grid_figure(study, colour_of=None):
    """A grid's learning curves (every candidate); None without histories."""
    histories, sizes = grid_histories(study)
    if not histories:
        return None
    halted = set(study.folds.loc[stopped(study.folds), "label"].astype(str))
    return plot_candidates(histories, "candidates", sizes, halted, colour_of)


def job_labels(jobs):
    """``"3: activation=relu"`` per job (a `Study` each): its number and the overrides that differ between jobs."""
    differ = set(varying([job.overrides for job in jobs])) if len(jobs) > 1 else None
    labels = []
    for job in jobs:
        shown = [f"{k}={v}" for k, v in job.overrides.items() if differ is None or k in differ]
        labels.append(f"{job.path.name}: {', '.join(shown)}" if shown else job.path.name)
    return labels


def job_curve(job):
    """A sweep job's curve: a single run's history, or the mean curve of a grid's best candidate.

    Returns
    -------
    pandas.DataFrame or None
    """
    if job.history is not None:
        return job.history
    if job.folds is not None:
        histories, _ = grid_histories(job)
        if histories:
            label, fits = next(iter(histories.items()))
            curve = {c: mean_band(fits, c).set_index("epoch")["mean"] for c, _, _ in PANELS}
            frame = pd.DataFrame(curve).rename_axis("epoch").reset_index()
            frame.attrs["label"] = label
            return frame
    return None


def sweep_figure(jobs):
    """A sweep's learning curves, one line per job (a `Study` each, in job order); None without curves."""
    curves = {}
    for job, label in zip(jobs, job_labels(jobs)):
        curve = job_curve(job)
        if curve is not None and len(curve):
            curves[label + (f" (best: {curve.attrs['label']})" if "label" in curve.attrs else "")] = curve
    if not curves:
        return None
    return plot_jobs(curves, "sweep: one line per job")
