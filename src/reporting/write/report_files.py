"""The figures and ``report.html`` of a run, grid or sweep dir."""
import logging
from pathlib import Path

from ... import layout
from ...files import save_figure, write_text
from ..present import curves
from ..present.pages import config_activation, grid_activations, grid_page, single_page, sweep_page
from .figures import save_activation_plots

log = logging.getLogger(__name__)


def activation_plots(specs, out_dir):
    """Draw ``activation_*.png`` for ``specs`` (`src.reporting.write.figures.save_activation_plots`).

    A failure to draw is reported on stderr and does not fail the run.

    Returns
    -------
    list of Path
        The ``activation_*.png`` files in ``out_dir`` afterwards.
    """
    specs = [s for s in dict.fromkeys(specs) if s]
    if specs:
        try:
            save_activation_plots(list(specs), Path(out_dir))
        except Exception as exc:  # a missing picture must not lose a finished run
            log.warning(f"warning: activation plots not drawn: {type(exc).__name__}: {exc}")
    return sorted(Path(out_dir).glob(layout.ACTIVATION_PLOTS))


def write_single_report(study):
    """Write a single run's ``learning_curves.png``, activation plots and ``report.html``;
    return ``{name: path}`` of the files written."""
    written = {"learning_curves": save_figure(study.path / layout.CURVES, curves.run_figure(study))}
    activation_plots([(study.metrics or {}).get("activation") or config_activation(study)], study.path)
    written["report"] = write_text(study.path / layout.REPORT, single_page(study))
    return written


def write_grid_report(study, colour_of=None):
    """Write a grid's ``learning_curves.png``, activation plots and ``report.html``.

    Needs its summary (and its folds with the fit records for the curves). ``colour_of`` gives
    each candidate its colour in every figure of the study.

    Returns
    -------
    dict
        Name -> path of the files written.
    """
    written = {}
    if study.folds is not None:
        figure = curves.grid_figure(study, colour_of)
        if figure is not None:
            written["learning_curves"] = save_figure(study.path / layout.CURVES, figure)
    activation_plots(grid_activations(study), study.path)
    written["report"] = write_text(study.path / layout.REPORT, grid_page(study))
    return written


def write_sweep_report(study):
    """Write a sweep's ``learning_curves.png`` (one line per job) and ``report.html``.

    Call after `src.reporting.write.sweep_dir.summarize_sweep` (the page shows its ``summary.csv``).

    Returns
    -------
    dict
        Name -> path of the files written.
    """
    written = {}
    figure = curves.sweep_figure(study.jobs)
    if figure is not None:
        written["learning_curves"] = save_figure(study.path / layout.CURVES, figure)
    written["report"] = write_text(study.path / layout.REPORT, sweep_page(study))
    return written
