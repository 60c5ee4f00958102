"""HiPlot parallel-coordinate pages, each one self-contained HTML document."""
import html
import math

import hiplot as hip


HIDDEN_COLUMNS = ["uid", "from_uid"]


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def hiplot_html(rows, order=None, color_by=None, categorical=(), title=None, shown=None):
    """``rows`` (one dict per line of the plot) as a standalone HiPlot page.

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
    title : str, optional
        Shown as the page's title.
    shown : list of str, optional
        The axes the parallel plot shows at first; the other columns are hidden axes
        there (a reader can show them again) and stay columns of the table. None shows
        every column.

    Returns
    -------
    str
        The page's HTML.
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
    page = exp.to_html()
    if title:
        page = page.replace("<title>HiPlot</title>", f"<title>{html.escape(str(title))}</title>", 1)
    return page

