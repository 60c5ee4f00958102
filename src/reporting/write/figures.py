"""Pictures of the activations on disk: one PNG each (kept in a cache for the next run), and the gallery."""
import os
from pathlib import Path

import joblib

from ...files import save_figure, write_bytes
from ...model import activations
from ..present import plots

# Where drawn activation plots are kept for the next run (``ACTIVATION_BENCH_CACHE``; empty: none).
CACHE_ENV = "ACTIVATION_BENCH_CACHE"


def plot_activation(spec, path):
    """Write a PNG of one activation and its derivative over [-10, 10].

    Parameters
    ----------
    spec : str or mapping
        An activation spec; the title is its readable label (`src.model.activations.label`).
    path : str or Path
        Where the PNG goes (written atomically).

    Returns
    -------
    Path
    """
    return save_figure(path, plots.activation_figure(spec))



def plot_cache():
    """Where drawn activation plots are kept (`CACHE_ENV`, else the user's cache folder), or None."""
    location = os.environ.get(CACHE_ENV)
    if location is None:
        location = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "activation-bench"
    return Path(location) / "activation_plots" if location else None



def save_activation_plots(specs, out_dir):
    """Write `plot_activation`'s PNG for each spec into ``out_dir``.

    Parameters
    ----------
    specs : iterable of str or mapping
        Activation specs; specs with the same label are drawn once.
    out_dir : str or Path
        Created when missing.

    Returns
    -------
    list of Path
        The files written, named by `activation_filename`.

    Notes
    -----
    A plot is drawn once and kept in `plot_cache` under its `plot_key` (with joblib's
    ``Memory``): later runs copy it. Drawing one costs about 0.12 s, copying it about 2 ms.
    """
    out_dir = Path(out_dir)
    by_label = {}
    for spec in specs:
        by_label.setdefault(activations.label(spec), spec)
    try:
        memory = joblib.Memory(plot_cache(), verbose=0)
    except OSError:  # no cache folder can be made there: draw every plot
        memory = joblib.Memory(None, verbose=0)
    draw = memory.cache(plots.activation_png, ignore=["spec"])
    return [write_bytes(out_dir / plots.activation_filename(spec), draw(spec, plots.plot_key(spec)))
            for spec in by_label.values()]


def plot_gallery(path, specs=None):
    """Write `src.reporting.present.plots.gallery_figure` as one PNG at ``path``; return its panels' titles."""
    fig, titles = plots.gallery_figure(specs)
    save_figure(path, fig)
    return titles
