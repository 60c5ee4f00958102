"""A study's files for a paper (``python -m src.export``): its table in LaTeX and CSV, figures as PDF and SVG,
the method paragraph, its references and a preview document."""
import re
from pathlib import Path

from matplotlib import rc_context

from ... import layout
from ...errors import UserError
from ...files import save_figure, write_csv, write_text
from ..compute.across import stored_result
from ..compute.sweep import varying
from ..present import curves, latex, paper
from ..present.across_page import cd_figure
from ..present.colours import palette
from ..present.isolation import isolation_figure
from ..present.pages import grid_activations
from ..present.plots import activation_figure, activation_filename
from ..read.study import load

WHAT = "give a grid, tuned, halving, sweep or comparison dir"


def _margin(study):
    """The margin of equivalence (in accuracy) the study's summary was judged at; None when it has none."""
    summary = study.summary
    found = summary["margin"].dropna() if summary is not None and "margin" in summary else ()
    return float(found.iloc[0]) if len(found) else None


def _activation_figures(specs):
    return {re.sub(r"[^A-Za-z0-9_-]", "-", Path(activation_filename(spec)).stem):
            (paper.column_figure(activation_figure, spec), f"{latex.escape(spec)} and its derivative.") for spec in specs}


def _grid(study):
    search, alpha, margin = study.search, study.alpha, _margin(study)
    frame = latex.paper_frame(study.summary, margin)
    colour_of = palette(study.summary["label"])
    figures = {"learning_curves": (paper.column_figure(curves.grid_figure, study, colour_of),
                                   "Learning curves: validation accuracy and training loss per epoch, mean over the "
                                   "splits with its confidence band.")}
    if search.tuned and study.tuning is not None:
        figures["isolation"] = (paper.column_figure(isolation_figure, study.tuning, search.tuned, level=1 - alpha,
                                                    halving=search.halving, colour_of=colour_of),
                                "Isolation plot: each activation's validation accuracy against its tuned setting.")
    figures.update(_activation_figures(grid_activations(study)))
    return (frame, latex.summary_tex(frame, search, alpha, margin), *paper.method_tex(search, alpha, margin),
            figures)


def _sweep(study):
    grids = [job for job in study.jobs if job.search is not None and job.summary is not None]
    if not grids:
        raise UserError(f"{study.path} is a sweep of single runs: it has no statistics to export; {WHAT} "
                        f"(a sweep over mode=grid)")
    first, alpha, margin = grids[0], grids[0].alpha, _margin(grids[0])
    frame = latex.paper_frame(study.need("summary"), margin, varying([job.overrides for job in study.jobs]))
    figures = {"learning_curves": (paper.column_figure(curves.sweep_figure, study.jobs),
                                   "Learning curves, one line per job.")}
    figures.update(_activation_figures(dict.fromkeys(a for job in grids for a in grid_activations(job))))
    table = latex.summary_tex(frame, first.search, alpha, margin, prefix="Each job of the sweep: ",
                              n_candidates=len(first.summary))
    return (frame, table, *paper.method_tex(first.search, alpha, margin), figures)


def _comparison(study):
    statistics = study.comparison
    table = study.need("comparison_table")
    frame = latex.comparison_frame(table)
    n = len(statistics["studies"])
    figures = {"cd_diagram": (paper.column_figure(cd_figure, stored_result(statistics, table)),
                              "Critical-difference diagram: mean ranks; activations joined by a bar are not "
                              "separated.")}
    figures.update(_activation_figures(table["activation"]))
    return (frame, latex.comparison_tex(frame, n, statistics["alpha"]),
            *paper.comparison_method_tex(n, statistics["alpha"], statistics.get("transfer", ())), figures)


def export_parts(path):
    """What an export of the study in ``path`` holds, computed and drawn, nothing written.

    Returns
    -------
    tuple
        The tidy table, its LaTeX, the method paragraph, its citation keys and ``{name: (figure, caption)}``.

    Raises
    ------
    UserError
        When ``path`` is not a finished grid, sweep or comparison.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} is not a directory; {WHAT}")
    study = load(path)
    if study.kind == "grid" and study.summary is not None and study.statistics is not None:
        return _grid(study)
    if study.kind == "sweep" and study.summary is not None:
        return _sweep(study)
    if study.kind is None and study.comparison is not None and study.comparison_table is not None:
        return _comparison(study)
    found = {"single": "a single run: there is no comparison in it", "grid": "an unfinished grid (no summary)",
             "sweep": "an unfinished sweep (no summary)"}.get(study.kind, "not a finished study")
    raise UserError(f"{path} is {found}; {WHAT}")


def export(path, out_dir=None):
    """Write the paper's files of the study in ``path`` into ``out_dir`` (default: its ``paper/`` folder).

    Writes ``summary.tex``, ``summary.csv``, ``methods.tex``, ``references.bib``, ``preview.tex`` and
    each figure as PDF and SVG (fonts embedded). Nothing is written when ``path`` is not a finished study.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    frame, table, method, keys, figures = export_parts(path)
    out_dir = Path(out_dir) if out_dir is not None else Path(path) / layout.PAPER
    written = {"table": write_text(out_dir / layout.PAPER_TABLE, table),
               "csv": write_csv(out_dir / layout.SUMMARY, frame),
               "method": write_text(out_dir / layout.PAPER_METHOD, method),
               "bib": write_text(out_dir / layout.PAPER_BIB, paper.bibtex(keys))}
    shown = {}
    with rc_context(paper.EMBEDDED):
        for name, (figure, caption) in figures.items():
            if figure is None:
                continue
            for suffix in layout.PAPER_FORMATS:
                written[f"{name}_{suffix}"] = save_figure(out_dir / f"{name}.{suffix}", figure)
            shown[f"{name}.{layout.PAPER_FORMATS[0]}"] = caption
    written["preview"] = write_text(out_dir / layout.PAPER_PREVIEW, paper.preview_tex(
        layout.PAPER_TABLE, layout.PAPER_METHOD, shown, Path(layout.PAPER_BIB).stem))
    return written
