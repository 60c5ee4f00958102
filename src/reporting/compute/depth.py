"""Accuracy and diagnostics against depth, for studies that differ in their number of hidden layers.

Four panels, one line per activation: mean cross-validated accuracy, the fraction of dead
units (mean over the hidden layers), the std of the last hidden layer's outputs (a
self-normalising network keeps it near 1), each against depth; and the std of every hidden
layer of the deepest study, layer by layer. Values are the last epoch's, averaged over folds.
The legend names each activation's weight init: a line that falls with depth may be its init's.
"""
import numpy as np
import pandas as pd

from ...errors import UserError
from ...model.mlp import resolve_init
from ...columns import split_column


def init_of(label, config):
    """The weight init an activation trained with in a study: ``model.init``, or its recipe for ``auto``.

    None when the config does not say, or the label names no registered activation.
    """
    init = (config.get("model") or {}).get("init")
    try:
        return resolve_init(init, label) if init is not None else None
    except UserError:
        return None


def depth_frame(studies):
    """One row per (study, activation): depth, accuracy, mean dead fraction, last layer's std, std per layer, init.

    Parameters
    ----------
    studies : list of src.reporting.compute.across.ComparedStudy

    Returns
    -------
    pandas.DataFrame
        Empty when fewer than two distinct depths are found.
    """
    rows = []
    for study in studies:
        if study.depth is None:
            continue
        for _, row in study.rows.iterrows():
            layers = {}
            for column, value in row.items():
                parsed = split_column(column)
                if parsed and parsed[0] != "output":
                    layers.setdefault(int(parsed[0][5:]), {})[parsed[1]] = float(value)
            order = sorted(layers)
            dead = [layers[i].get("dead", np.nan) for i in order]
            std = [layers[i].get("std", np.nan) for i in order]
            rows.append({"study": study.name, "depth": study.depth, "activation": row["label"],
                         "accuracy": float(row["accuracy"]),
                         "dead": float(np.nanmean(dead)) if np.isfinite(dead).any() else np.nan,
                         "last_std": std[-1] if std else np.nan, "std_per_layer": std,
                         "init": init_of(row["label"], study.config)})
    frame = pd.DataFrame(rows)
    if frame.empty or frame["depth"].nunique() < 2:
        return pd.DataFrame()
    return frame.sort_values(["activation", "depth"]).reset_index(drop=True)


