"""The columns of a history and the tables: a single run's history columns, and the per-layer diagnostics
(``layer2_dead``, ``output_grad_norm``) by their one pattern."""
import re

# The columns of a single run's history, in this order (the diagnostics follow).
HISTORY_COLUMNS = ["epoch", "train_loss", "valid_loss", "valid_acc", "dur", "lr"]
# The per-layer diagnostics of `src.training.diagnostics`: ``layerK_STAT`` and ``output_grad_norm``.
STATS = ("dead", "saturated", "mean", "std", "grad_norm")
COLUMN = re.compile(r"^(layer[1-9]\d*|output)_(dead|saturated|mean|std|grad_norm)$")


def split_column(name):
    """``"layer2_dead"`` -> ``("layer2", "dead")``; None for a column that is no diagnostic."""
    match = COLUMN.match(str(name))
    if not match or (match.group(1) == "output" and match.group(2) != "grad_norm"):
        return None
    return match.group(1), match.group(2)


def is_diagnostic(name):
    """Whether a history or table column is one of the diagnostics (``layer2_dead``, ...)."""
    return split_column(name) is not None


def diagnostic_columns(columns):
    """The diagnostic columns among ``columns``, ordered by layer, then by statistic."""
    def key(name):
        layer, stat = split_column(name)
        return (int(layer[5:]) if layer != "output" else 10 ** 6, STATS.index(stat))

    return sorted((c for c in columns if is_diagnostic(c)), key=key)


def last_values(history_rows):
    """The diagnostics of the last epoch of a history, as a plain dict (empty without any).

    Parameters
    ----------
    history_rows : list of dict
        A skorch history or a fit record's ``history``.
    """
    if not history_rows:
        return {}
    last = history_rows[-1]
    return {k: float(last[k]) for k in diagnostic_columns(last) if last[k] is not None}
