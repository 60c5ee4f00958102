"""A tuned study's tables and plot: the choices, the robustness view, the isolation plot.

A tuned study (``protocol=tuned``) trains every activation at every ``tune`` setting on every
outer split; `src.tuning` chooses each activation's setting per split on the fits' validation
rows. Here the fits become:

- ``tuning.csv``: every fit, its validation (inner) scores, its outer score and whether it was chosen;
- the verdict's folds: the chosen fit of each activation and split, under the activation's label;
- each activation's chosen setting (the most frequent, and its range across splits);
- the robustness view (Eger et al.): each activation's mean outer score at its chosen settings
  beside its mean over the whole tune grid, the order of each, and whether they agree;
- the isolation plot (the tuning playbook's): inner score against the tuned setting, one line
  per activation (mean and band over the splits), the chosen points marked.
"""
import numpy as np
import pandas as pd

from ... import tuning
from ...params import GRID_KEYS, candidate_label
from ...ranking import order_numbers
from ...outcomes import stopped
from .halving import halving_frame
from .two_samples import confidence_interval


def compared_columns(folds, nuisance, params):
    """The swept parameters that name a compared candidate: all of ``params`` but the tuned ones."""
    return [c for c in params if c not in nuisance and c in folds]


def _label(row, by):
    return candidate_label({GRID_KEYS.get(c, c): row[c] for c in by})


def tuned_folds(folds, nuisance, params):
    """Choose each candidate's setting per split; return every fit and the verdict's folds.

    Parameters
    ----------
    folds : pandas.DataFrame
        One row per fit (every activation x setting x split), as
        `src.reporting.compute.grid_tables.folds_frame` builds it.
    nuisance : list of str
        The tuned settings' short names (``tune`` of ``search.json``).
    params : list of str
        The swept parameters' columns.

    Returns
    -------
    trials : pandas.DataFrame
        ``folds`` with the column ``compared`` (the candidate's label without its tuned
        settings) and ``chosen``.
    verdict_folds : pandas.DataFrame
        The chosen fits, labelled by ``compared``, without the tuned columns: one row per
        compared candidate and split, as the statistics expect.
    """
    by = compared_columns(folds, nuisance, params)
    trials = folds.reset_index(drop=True)
    full = ~stopped(trials)
    # a fit stopped at a rung (successive halving) is never chosen: its scores are of fewer epochs
    trials["chosen"] = tuning.choose(trials[full], nuisance, by)["chosen"].reindex(trials.index, fill_value=False)
    trials.insert(1, "compared", [_label(row, by) for _, row in trials.iterrows()])
    chosen = trials[trials["chosen"]].copy()
    chosen["label"] = chosen["compared"]
    chosen["candidate"] = pd.factorize(chosen["compared"])[0]
    verdict_folds = chosen.drop(columns=["compared", "chosen", *nuisance]).sort_values(["candidate", "split"])
    return trials, verdict_folds.reset_index(drop=True)


def _short(value):
    return f"{value:g}" if isinstance(value, (float, np.floating)) else str(value)


def chosen_settings(trials, nuisance):
    """Each compared candidate's chosen setting: the most frequent (`src.tuning.most_chosen`) and its range.

    Returns
    -------
    dict
        Label -> ``{"setting": {name: value}, "text": "lr=0.03 (0.01-0.1 over 3 splits)"}``.
    """
    out = {}
    for label, rows in trials[trials["chosen"]].groupby("compared", sort=False):
        setting = tuning.most_chosen(rows, nuisance)
        parts = []
        for name in nuisance:
            values = rows[name]
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.notna().all() and numeric.nunique() > 1:
                spread = f" ({_short(numeric.min())}-{_short(numeric.max())} over {len(rows)} splits)"
            elif values.nunique() > 1:
                spread = f" ({', '.join(_short(v) for v in dict.fromkeys(values))} over {len(rows)} splits)"
            else:
                spread = f" (on all {len(rows)} splits)"
            parts.append(f"{name}={_short(setting[name])}{spread}")
        out[str(label)] = {"setting": {k: (v.item() if hasattr(v, "item") else v) for k, v in setting.items()},
                           "text": "; ".join(parts)}
    return out


def robustness(trials, chance=0.1):
    """Eger et al.'s two views: the mean outer score at the chosen settings and over the whole tune grid.

    A candidate with a failed chosen fit has no tuned mean, as in the verdict. In the mean
    over the tune grid, a failed or diverged fit counts at ``chance`` (one over the number of
    classes): a setting at which an activation cannot train is part of its (lack of) robustness.
    When successive halving stopped fits at a rung, there is no mean over the tune grid (NaN,
    and no order): their scores are of fewer epochs than the others'.

    Returns
    -------
    pandas.DataFrame
        One row per compared candidate, in the order of the tuned means: ``label``,
        ``tuned_mean``, ``grid_mean``, ``failed_fits`` and ``stopped_fits`` (over the tune grid),
        ``tuned_order``, ``grid_order`` (failed candidates last).
    """
    score = tuning.OUTER
    chosen = trials[trials["chosen"]]
    tuned = chosen.groupby("compared", sort=False)[score].agg(lambda v: v.mean(skipna=False))
    scores = trials[score].astype(float)
    grid = scores.fillna(chance).groupby(trials["compared"], sort=False).mean()
    failed = scores.isna().groupby(trials["compared"], sort=False).sum()
    halted = stopped(trials).groupby(trials["compared"], sort=False).sum()
    table = pd.DataFrame({"label": tuned.index.astype(str), "tuned_mean": tuned.to_numpy(dtype=float),
                          "grid_mean": grid.reindex(tuned.index).to_numpy(dtype=float),
                          "failed_fits": failed.reindex(tuned.index).to_numpy(dtype=int),
                          "stopped_fits": halted.reindex(tuned.index).to_numpy(dtype=int)})
    if table["stopped_fits"].any():
        table["grid_mean"] = np.nan
    # `src.ranking`'s order; a candidate without a score (a failed chosen fit) comes last in either order
    table["tuned_order"] = order_numbers(table["tuned_mean"])
    table["grid_order"] = order_numbers(table["grid_mean"]) if table["grid_mean"].notna().any() else None
    return table.sort_values("tuned_order", kind="stable").reset_index(drop=True)


def robustness_sentence(table, nuisance):
    """One sentence: the order of the means by each view, and whether the two orders agree (the
    order at the chosen settings alone when successive halving stopped fits, `robustness`)."""
    scored = table[np.isfinite(table["tuned_mean"])]
    by_tuned = "; ".join(scored.sort_values("tuned_order")["label"])
    names = " and ".join(nuisance)
    failed = list(table.loc[~np.isfinite(table["tuned_mean"]), "label"])
    without = f". Without a tuned score (a chosen fit failed): {'; '.join(failed)}." if failed else "."
    halted = int(table["stopped_fits"].sum()) if "stopped_fits" in table else 0
    if halted:
        return (f"Order of the mean outer accuracies at each activation's chosen {names}: {by_tuned}. There is no "
                f"mean over the whole tune grid (robustness to {names}): successive halving stopped {halted} of its "
                f"fits at a rung, and their scores are of fewer epochs. This order is of means, not a test (the "
                f"verdict above tests the tuned scores)" + without)
    by_grid = "; ".join(scored.sort_values("grid_order")["label"])
    agree = list(scored.sort_values("tuned_order")["label"]) == list(scored.sort_values("grid_order")["label"])
    unfit = int(table["failed_fits"].sum())
    return (f"Order of the mean outer accuracies at each activation's chosen {names}: {by_tuned}. Averaged over "
            f"the whole tune grid (robustness to {names}; {unfit} failed or diverged fits counted at chance "
            f"level): {by_grid}. The two orders {'agree' if agree else 'differ'}; these orders are of means, not "
            f"tests (the verdict above tests the tuned scores)" + without)


def first_rung_scores(trials, halving):
    """Every fit's validation accuracy at successive halving's first rung, where every tune setting was
    still training (``halving`` of ``search.json``): ``(epochs, scores aligned with trials)``."""
    table = halving_frame(halving)
    first = table[table["rung"] == 1].set_index(["candidate", "split"])["score"]
    scores = [first.get((str(label), int(split)), np.nan) for label, split in zip(trials["label"], trials["split"])]
    return halving["rungs"][0], pd.Series(scores, index=trials.index, dtype=float)


def isolation_frame(trials, nuisance, level=0.95, inner=None):
    """The isolation plot's points: per compared candidate and value of the first tuned setting,
    the mean inner score over the splits (the best over any other tuned setting) and its band.
    ``inner`` replaces the fits' inner scores (`first_rung_scores`)."""
    x = nuisance[0]
    if inner is not None:
        trials = trials.assign(**{tuning.INNER: inner})
    best = trials.groupby(["compared", x, "split"], sort=False)[tuning.INNER].max().reset_index()
    fit = "n_fit" if "n_fit" in trials else "n_train"  # the rows each fit trained on
    sizes = trials.groupby("split")[[fit, "n_test"]].first() if fit in trials else None
    rows = []
    for (label, value), group in best.groupby(["compared", x], sort=False):
        n_train = sizes.loc[group["split"], fit].to_numpy() if sizes is not None else [1] * len(group)
        n_test = sizes.loc[group["split"], "n_test"].to_numpy() if sizes is not None else [0] * len(group)
        mean, low, high = confidence_interval(group[tuning.INNER].to_numpy(dtype=float), n_train, n_test, level=level)
        chosen = trials[(trials["compared"] == label) & (trials[x] == value) & trials["chosen"]]
        rows.append({"label": label, x: value, "mean": mean, "low": max(low, 0.0) if np.isfinite(low) else low,
                     "high": min(high, 1.0) if np.isfinite(high) else high, "chosen": len(chosen)})
    return pd.DataFrame(rows)


def hiplot_rows(trials, nuisance):
    """One line per compared candidate x tuned setting: its mean inner and outer scores, how often it was
    chosen and on how many splits successive halving stopped it (its scores there are of fewer epochs)."""
    keys = ["compared", *nuisance]
    grouped = trials.assign(_stopped=stopped(trials)).groupby(keys, sort=False)
    table = grouped.agg(inner_accuracy=(tuning.INNER, "mean"), inner_loss=(tuning.TIEBREAK, "mean"),
                        outer_accuracy=(tuning.OUTER, "mean"), chosen_on=("chosen", "sum"),
                        stopped_on=("_stopped", "sum")).reset_index()
    table = table.rename(columns={"compared": "activation"})
    table[["chosen_on", "stopped_on"]] = table[["chosen_on", "stopped_on"]].astype(int)
    return table.to_dict("records")
