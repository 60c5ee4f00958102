"""HiPlot parallel-coordinate pages, each one self-contained HTML document."""
import html
import math

import hiplot as hip

from ...columns import diagnostic_columns
from ..compute.grid_tables import METRICS


HIDDEN_COLUMNS = ["uid", "from_uid"]


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def experiment(rows, order=None, color_by=None, categorical=(), shown=None):
    """``rows`` (one dict per line of the plot) as a HiPlot experiment, its axes set up.

    Parameters
    ----------
    rows : list of dict
        One mapping per line; keys become axes.
    order : list of str, optional
        Axes from left to right (parameters first, metrics last); other columns follow.
    color_by : str, optional
        The column that colours the lines.
    categorical : iterable of str
        Columns shown as categories even when their values look numeric.
    shown : list of str, optional
        The axes the parallel plot shows at first; the other columns are hidden axes
        there (a reader can show them again) and stay columns of the table. None shows
        every column.

    Returns
    -------
    hiplot.Experiment
        Its ``display()`` shows it in a notebook, its ``to_html()`` is a page.
    """
    rows = [{k: _clean(v) for k, v in row.items()} for row in rows]
    exp = hip.Experiment.from_iterable(rows)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    axes = [c for c in (order or []) if c in columns] + [c for c in columns if c not in (order or [])]
    # HiPlot's parallel plot lays out its "order" from right to left: reverse it so that the
    # first axis given (the parameters) ends up on the left.
    hidden = HIDDEN_COLUMNS + ([c for c in axes if c not in shown] if shown is not None else [])
    exp.display_data(hip.Displays.PARALLEL_PLOT).update({"hide": hidden, "order": axes[::-1]})
    exp.display_data(hip.Displays.TABLE).update({"hide": HIDDEN_COLUMNS + ["from_uid"], "order": axes})
    for name in categorical:
        if name in exp.parameters_definition:
            exp.parameters_definition[name].type = hip.ValueType.CATEGORICAL
    if color_by in columns:
        exp.colorby = color_by
    return exp


def hiplot_html(rows, title=None, **options):
    """``rows`` as a standalone HiPlot page (`experiment`'s ``options``), titled ``title``."""
    page = experiment(rows, **options).to_html()
    if title:
        page = page.replace("<title>HiPlot</title>", f"<title>{html.escape(str(title))}</title>", 1)
    return page



# The axes the candidates' HiPlot page shows at first (after the parameters); every other
# column is a hidden axis there and a column of its table.
HIPLOT_SHOWN = ["mean_test_accuracy", "ci_low", "ci_high", "diff_to_best", "diff_low", "diff_high",
                "separated_from_best", "fit_time_mean", "refit_test_accuracy"]


def candidate_rows(summary, params):
    """A grid's summary as the candidates' HiPlot rows and `experiment`'s options.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per candidate.
    params : list of str
        The swept parameters' columns.

    Returns
    -------
    (list of dict, dict)
    """
    diag = diagnostic_columns(summary.columns)
    metrics = (HIPLOT_SHOWN + ["step_cost", "accuracy_std", "p_vs_best", "p_holm"]
               + [f"{m}_{s}" for m in METRICS[1:] for s in ("mean", "std")] + ["rank"] + diag)
    metrics += [c for c in ("rung", "halted_at", "rung_score") if c in summary]
    shown = summary.rename(columns={"accuracy_mean": "mean_test_accuracy"})
    rows = [{**{p: r[p] for p in params}, **{m: r[m] for m in metrics if m in r}} for _, r in shown.iterrows()]
    return rows, {"order": params + metrics, "color_by": "mean_test_accuracy",
                  "categorical": params + ["separated_from_best"], "shown": params + HIPLOT_SHOWN}
