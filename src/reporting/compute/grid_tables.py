"""A grid's tables, computed from its study: per fold, per candidate, and the statistics.

The per-candidate summary carries the statistics of `src.reporting.compute.summary`, the
sentences of `src.reporting.compute.verdict` and the last-epoch diagnostics, averaged over
folds. `grid_tables` computes every table a grid dir holds; `src.reporting.write.grid_dir`
writes them.
"""
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ... import tuning
from ...model.activations import label as activation_label
from ...params import GRID_KEYS, candidate_label, friendly
from ...ranking import rank_order
from ...columns import diagnostic_columns, is_diagnostic, last_values
from ...defaults import ALPHA, MARGIN
from ...outcomes import stopped
from . import design, halving, power, stats, tuned_study, variance, verdict
from .claims import claimed_ranking
from .summary import EQUIVALENCE_COLUMNS, nadeau_bengio_ratio, summarize

METRICS = ("accuracy", "balanced_accuracy", "log_loss")
SCORE = "test_accuracy"  # the fold score the statistics compare
STAT_COLUMNS = ["ci_low", "ci_high", "diff_to_best", "diff_low", "diff_high", "p_vs_best", "p_holm",
                "separated_from_best", *EQUIVALENCE_COLUMNS, "unstable", "clipped", "diff_clipped", "note"]


def fold_records(study):
    """Map (label, split) to the fit record of that fold of a grid `src.reporting.read.study.Study`.

    The search's ``fit_keys`` (``{label: [key per split]}``) name the records exactly; without
    them (older results) records are matched by their data and parameters.
    """
    search = study.search
    if search.fit_keys is not None:
        return {(label, split): {"key": key, **study.record(key)} for label, keys in search.fit_keys.items()
                for split, key in enumerate(keys) if study.record(key) is not None}
    split_of = {s["data"]: i for i, s in enumerate(search.splits)}
    found = {}
    for key, record in study.records.items():
        split = split_of.get(record.get("data"))
        if split is not None:
            found[(candidate_label({k: record["params"].get(k) for k in search.swept}), split)] = {"key": key, **record}
    return found


def folds_frame(cv_results, search, records, valid_fraction=0.0):
    """One row per candidate x split: scores, fit time, status, error and the split's sizes.

    ``n_fit`` is each split's rows that a fit trains on (`src.results.SearchRecord.fit_rows`;
    ``valid_fraction`` counts them for a search that did not record them).
    """
    rows = []
    n_splits = len(search.splits)
    fit_rows = search.fit_rows(valid_fraction)
    for _, cand in cv_results.iterrows():
        for split in range(n_splits):
            repeat, fold, init, seed = search.split_of(split)
            record = records.get((cand["label"], split), {})
            last = (record.get("history") or [{}])[-1]
            scores = {f"test_{m}": cand.get(f"split{split}_test_{m}", np.nan) for m in METRICS}
            scores["test_log_loss"] = -scores["test_log_loss"]
            failed = not np.isfinite(scores["test_accuracy"])
            rows.append({
                "label": cand["label"],
                "candidate": int(cand.name),
                **{friendly(c.removeprefix("param_")): cand[c] for c in cv_results.columns if c.startswith("param_")},
                "split": split,
                "repeat": repeat,
                "fold": fold,
                "init": init,
                "seed": record.get("seed", seed),
                **scores,
                "fit_time": record.get("fit_seconds", np.nan),
                "epochs": len(record.get("history", [])) or np.nan,
                "status": record.get("status", "failed" if failed else "ok"),
                "error": record.get("error", "") if failed or record.get("status") not in (None, "ok") else "",
                "n_train": search.splits[split]["n_train"],
                "n_test": search.splits[split]["n_test"],
                "n_fit": fit_rows[split],
                "fit": record.get("key", ""),
                # the last epoch's scores on the rows the fit held out of its own training rows
                tuning.INNER: last.get("valid_acc", np.nan),
                tuning.TIEBREAK: last.get("valid_loss", np.nan),
                **last_values(record.get("history", [])),
                # successive halving: the epochs of the rung at which the fit was stopped (NaN: the full budget)
                **({"halted_at": record.get("halted_at", np.nan)} if search.halving else {}),
            })
    folds = pd.DataFrame(rows)
    if search.halving:
        folds.insert(folds.columns.get_loc("halted_at"), "rung", halving.rung_of(folds, search.halving["rungs"]))
    diag = diagnostic_columns(folds.columns)
    return folds[[c for c in folds.columns if c not in diag] + diag]


def param_columns(folds):
    """The swept parameters among the columns of a folds table."""
    return [c for c in folds.columns if c not in _FOLD_COLUMNS and not is_diagnostic(c)]


def summarize_grid(folds, search, alpha, claim=None, activation=None, margin=MARGIN, settings=1):
    """One row per candidate, best first (`src.ranking`), and the statistics (`grid_statistics`).

    Each metric gets its mean and std over the splits; the accuracy also gets the columns of
    `STAT_COLUMNS`, and every diagnostic its mean last-epoch value. ``activation`` is the
    configured one (for the step cost of a grid that does not sweep activations); ``margin`` the margin
    of equivalence in accuracy points; ``settings`` a tuned study's fits per candidate and split.

    Returns
    -------
    (pandas.DataFrame, dict)
    """
    param_cols = param_columns(folds)
    diag = diagnostic_columns(folds.columns)
    rows = []
    for label, group in folds.groupby("label", sort=False):
        row = {"label": label, **{c: group[c].iloc[0] for c in param_cols}}
        for metric in METRICS:
            values = group[f"test_{metric}"]
            row[f"{metric}_mean"] = values.mean(skipna=False)
            row[f"{metric}_std"] = values.std(ddof=1, skipna=False)
        row["fit_time_mean"] = group["fit_time"].mean()
        bad = group[group["status"] != "ok"]
        row["status"] = "ok" if bad.empty else bad["status"].iloc[0]
        row["error"] = "" if bad.empty else str(bad["error"].iloc[0])
        row.update({c: group[c].mean() for c in diag})
        rows.append(row)
    summary = pd.DataFrame(rows)
    summary = summary.iloc[rank_order(summary["accuracy_mean"], summary["log_loss_mean"])]
    summary.insert(0, "rank", np.arange(1, len(summary) + 1))
    refit = search.refit or {}
    tuned_keys = {GRID_KEYS.get(n, n) for n in search.tuned}
    best = candidate_label({k: v for k, v in refit.get("params", {}).items() if k not in tuned_keys}) if refit else None
    summary["refit_test_accuracy"] = [refit.get("test_accuracy") if lab == best else np.nan for lab in summary["label"]]
    summary["step_cost"] = step_costs(summary, search, activation)
    counts = search.n_params or {}
    summary["n_params"] = [counts.get(str(label), np.nan) for label in summary["label"]]
    table, statistics = grid_statistics(folds, summary, claim=claim, alpha=alpha, n_classes=search.n_classes,
                                        margin=margin, settings=settings)
    table = table.rename(columns={"label": "_label"})
    summary = summary.assign(_label=summary["label"].astype(str))
    summary = summary.merge(table[["_label"] + STAT_COLUMNS], on="_label", how="left").drop(columns="_label")
    at = summary.columns.get_loc("accuracy_std") + 1
    order = list(summary.columns[:at]) + STAT_COLUMNS
    order += [c for c in summary.columns if c not in order and c not in diag] + diag
    return summary[order].reset_index(drop=True), statistics


def step_costs(summary, search, activation=None):
    """Each candidate's training-step time relative to relu (the search's ``step_cost``); NaN without one.

    A grid that does not sweep activations costs what its configured ``activation`` costs.
    """
    relative = (search.step_cost or {}).get("relative", {})
    if "activation" not in summary:
        label = activation_label(activation) if activation is not None else None
        return [relative.get(label, np.nan)] * len(summary)
    return [relative.get(str(a), np.nan) for a in summary["activation"]]


def scored_folds(folds, summary):
    """The folds table with every score of a candidate that failed on any split set to NaN.

    A candidate with a failed fold has no mean accuracy and ranks last in the summary; the
    statistics leave it out in the same way.
    """
    failed = set(summary.loc[~np.isfinite(summary["accuracy_mean"].astype(float)), "label"])
    out = folds.copy()
    out.loc[out["label"].isin(failed), SCORE] = np.nan
    return out


def split_means(folds):
    """The folds table with one row per candidate and split: a split trained at several seeds
    (``cv.inits``) gives the mean of its seeds' scores, so that the splits stay the units of the
    corrected t-test (docs/statistics.md, "Seeds"). A table of one seed per split is returned as it is."""
    if "init" not in folds or folds["init"].nunique() <= 1:
        return folds
    keys = ["label", "repeat", "fold"]
    scores = [c for c in folds.columns if c.startswith("test_")]
    means = folds.groupby(keys, sort=False)[scores].mean().reset_index()  # NaN when any seed failed: mean skips it
    failed = folds.groupby(keys, sort=False)[scores].apply(lambda g: g.isna().any()).reset_index()
    for column in scores:
        means.loc[failed[column].to_numpy(), column] = np.nan
    first = folds.drop(columns=scores).groupby(keys, sort=False).first().reset_index()
    merged = first.merge(means, on=keys, how="left")
    merged["split"] = merged["repeat"] * (int(folds["fold"].max()) + 1) + merged["fold"]
    return merged[[c for c in folds.columns if c in merged.columns]]


def variance_components(folds, summary):
    """``stats.json``'s ``variance_components``: each pair's parts with the best (`variance.components`),
    the step that narrows the intervals most per fit (`variance.remedy`) and the report's sentence."""
    inits = int(folds["init"].nunique()) if "init" in folds and len(folds) else 1
    ranked = summary[np.isfinite(summary["accuracy_mean"].astype(float))]
    pairs = variance.components(folds, str(ranked["label"].iloc[0])) if inits > 1 and len(ranked) > 1 else []
    known = [p for p in pairs if all(np.isfinite(p[part]) for part in variance.PARTS)]
    mean = {part: float(np.mean([p[part] for p in known])) for part in variance.PARTS} if known else None
    step = None
    if mean is not None:
        folds_n, repeats = int(folds["fold"].max()) + 1, int(folds["repeat"].max()) + 1
        ratio = nadeau_bengio_ratio(folds)
        share = float((folds["n_fit"] / folds["n_train"]).mean())
        step = variance.remedy(mean, folds_n, repeats, inits, ratio, share, int(folds["label"].nunique()))
    return {"inits": inits, "units": "squared accuracy points", "pairs": pairs, "mean": mean, "remedy": step,
            "sentence": variance.sentence(mean, inits, step)}


def grid_statistics(folds, summary, claim=None, alpha=ALPHA, n_classes=None, margin=MARGIN,
                    settings=1):
    """The statistics of a grid's fold accuracies (`src.reporting.compute.summary`, `src.reporting.compute.verdict`).

    Parameters
    ----------
    folds : pandas.DataFrame
        The folds table.
    summary : pandas.DataFrame
        The per-candidate summary (used to leave out failed candidates).
    claim : list of str, optional
        A claimed ranking, best first (`src.reporting.compute.claims.claimed_ranking`).
    alpha : float
        Significance level; the intervals cover ``1 - alpha``.
    n_classes : int, optional
        The data's classes: a candidate whose interval reaches chance (``1 / n_classes``) is named.
    margin : float
        The margin of equivalence in accuracy points (``stats.margin``); 0 asks for none.
    settings : int
        The fits of each candidate on a split (a tuned study's tune settings), which a remedy's cost counts.

    Returns
    -------
    (pandas.DataFrame, dict)
        `src.reporting.compute.summary.summarize`'s table, and a JSON-ready dict with ``metric``,
        ``alpha``, ``n_splits``, ``pairs`` (every pair of candidates: difference, interval,
        p-values, separated or not), ``unstable`` (label -> split scores and the far ones),
        ``chance`` and ``at_chance`` (the candidates whose interval reaches down to chance level),
        ``power`` (the difference that would be found with probability ``power``, the
        ``target`` the verdict measures it against, and the ``design`` that would settle what is
        undecided, `src.reporting.compute.design.remedy`), ``verdict`` (sentences) and ``claim``
        (None, or ``order``, ``outcome``, ``text`` and ``pairs``).
    """
    kept = scored_folds(folds, summary)
    scored = split_means(kept)
    n_test = int(folds["n_test"].max()) if len(folds) else None
    margin = margin / 100 if margin else None  # 0: no equivalence, no outcomes, no TOST or Bayesian columns
    table = summarize(scored, SCORE, alpha=alpha, bounds=(0.0, 1.0), n_test=n_test,
                      chance=1.0 / n_classes if n_classes else None, margin=margin,
                      order=summary["label"])
    table.attrs["settings"] = settings
    components = variance_components(kept, summary)
    table.attrs["inits"], table.attrs["components"] = components["inits"], components["mean"]  # for the designs
    n_folds = int(folds["fold"].max()) + 1 if "fold" in folds and len(folds) else None
    result = {"metric": SCORE, "alpha": alpha, "margin": margin, "n_splits": table.attrs["n_splits"],
              "pairs": table.attrs["pairs"], "unstable": table.attrs["unstable"],
              "chance": table.attrs["chance"], "at_chance": table.attrs["at_chance"],
              "power": {"detectable": table.attrs["detectable"], "target": power.DETECTABLE, "power": power.POWER,
                        "reach": table.attrs["reach"], "design": design.remedy(table, n_folds)},
              "verdict": verdict.verdict(table, "cross-validated accuracy", folds=n_folds),
              "claim": None}
    result["variance_components"] = components
    result["verdict"].append(components["sentence"])
    if claim:
        found = claimed_ranking(table, claim, scored, SCORE, alpha=alpha, margin=margin)
        result["claim"] = {"order": list(claim), "outcome": found.outcome, "text": verdict.claim_text(found, alpha),
                           "pairs": found.pairs}
    return table, result


_FOLD_COLUMNS = {"label", "candidate", "split", "repeat", "fold", "init", "seed", "fit_time", "epochs", "status", "error",
                 "n_train", "n_test", "n_fit", "fit", tuning.INNER, tuning.TIEBREAK, "rung", "halted_at"} | {
                     f"test_{m}" for m in METRICS}




@dataclass
class GridTables:
    """Every table of a grid dir, computed from its study (`grid_tables`).

    Attributes
    ----------
    folds : pandas.DataFrame
        One row per compared candidate and split (a tuned study: the chosen fits).
    summary : pandas.DataFrame
        One row per candidate, best first; stopped candidates last.
    statistics : dict
        ``stats.json``: every pair's test, the verdict sentences, the claim, the tuning.
    search : src.results.SearchRecord
        The search, parameter counts by compared label.
    alpha : float
    params : list of str
        The swept parameters' columns.
    trials : pandas.DataFrame or None
        A tuned study's every fit with its inner and outer scores.
    halving : pandas.DataFrame or None
        A halving search's every candidate at every rung it reached.
    """

    folds: object
    summary: object
    statistics: dict
    search: object
    alpha: float
    params: list
    trials: object = None
    halving: object = None


def grid_tables(study):
    """Compute a grid's folds, summary, statistics, tuning and halving tables from its study.

    Parameters
    ----------
    study : src.reporting.read.study.Study
        A grid dir with its ``search.json``, ``cv_results.csv`` and fit records.

    Returns
    -------
    GridTables
    """
    search, alpha = study.search, study.alpha
    folds = folds_frame(study.cv_results, search, fold_records(study), study.valid_fraction)
    all_folds, trials, nuisance = folds, None, search.tuned
    if nuisance:
        trials, folds = tuned_study.tuned_folds(folds, nuisance, param_columns(folds))
        counts = search.n_params or {}  # by the compared label: the tuned settings change no weight
        search = replace(search, n_params={compared: counts[label] for label, compared
                                           in zip(trials["label"], trials["compared"]) if label in counts})
    full = folds[~stopped(folds)]  # only fits that got the full budget enter the verdict
    settings = len(trials) // max(len(folds), 1) if nuisance else 1  # a tuned study's fits per candidate and split
    summary, statistics = summarize_grid(full, search, alpha, claim=study.claim, activation=study.activation,
                                         margin=study.margin, settings=settings)
    if search.halving and not nuisance:  # a tuned study's stopped fits are settings, listed in tuning.csv,
        # and every activation it compares trained to the last rung: its summary has no rung column
        summary.insert(summary.columns.get_loc("label") + 1, "rung", len(search.halving["rungs"]))
        summary = pd.concat([summary, halving.stopped_rows(all_folds, search.halving, param_columns(folds))],
                            ignore_index=True)
    if nuisance:
        chosen = tuned_study.chosen_settings(trials, nuisance)
        summary.insert(summary.columns.get_loc("label") + 1, "tuned",
                       [chosen.get(str(label), {}).get("text", "") for label in summary["label"]])
        table = tuned_study.robustness(trials, chance=1.0 / (search.n_classes or 10))
        statistics["tuning"] = {"tuned": nuisance, "chosen": chosen, "robustness": table.to_dict("records"),
                                "sentence": tuned_study.robustness_sentence(table, nuisance)}
    return GridTables(folds, summary, statistics, search, alpha, param_columns(folds), trials,
                      halving.halving_frame(search.halving) if search.halving else None)
