"""Grid results as pandas tables: per fold, per candidate, and the Markdown summary.

The per-candidate summary carries the statistics of `src.reporting.summary` (corrected
confidence intervals, the difference to the best candidate with its interval, corrected
t-tests over every pair with Holm's adjustment, unstable candidates), the sentences of
`src.reporting.verdict` and the last-epoch diagnostics, averaged over folds. The significance
level is ``stats.alpha`` of the run's config (`read_alpha`).
"""
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .. import layout, logs, tuning
from ..files import write_csv, write_json, write_text
from ..params import GRID_KEYS, candidate_label, friendly
from ..ranking import rank_order
from ..results import diagnostic_columns, is_diagnostic, last_values
from . import halving, stats, summary_view, tuned, verdict
from .hiplot import write_hiplot
from .html import write_grid_report
from .summary import EQUIVALENCE_COLUMNS, claimed_ranking, summarize

log = logging.getLogger(__name__)

METRICS = ("accuracy", "balanced_accuracy", "log_loss")
ALPHA = stats.ALPHA
SCORE = "test_accuracy"  # the fold score the statistics compare
STAT_COLUMNS = ["ci_low", "ci_high", "diff_to_best", "diff_low", "diff_high", "p_vs_best", "p_holm",
                "separated_from_best", *EQUIVALENCE_COLUMNS, "unstable", "clipped", "diff_clipped", "note"]
# The axes the candidates' HiPlot page shows at first (after the parameters); every other
# column is a hidden axis there and a column of its table.
HIPLOT_SHOWN = ["mean_test_accuracy", "ci_low", "ci_high", "diff_to_best", "diff_low", "diff_high",
                "separated_from_best", "fit_time_mean", "refit_test_accuracy"]


def _records_by_fit(out_dir, swept, splits, fit_keys=None):
    """Map (label, split) to the fit record of that fold.

    ``fit_keys`` (``{label: [key per split]}``, from ``search.json``) names the records of
    the search exactly; without it (older results) records are matched by their data and
    parameters.
    """
    if fit_keys is not None:
        found = {}
        for label, keys in fit_keys.items():
            for split, key in enumerate(keys):
                record = layout.read_record(layout.fits_dir(out_dir), key)
                if record is not None:
                    found[(label, split)] = {"key": key, **record}
        return found
    split_of = {s["data"]: i for i, s in enumerate(splits)}
    found = {}
    for record in layout.read_records(layout.fits_dir(out_dir)):
        split = split_of.get(record.get("data"))
        if split is None:
            continue
        label = candidate_label({k: record["params"].get(k) for k in swept})
        found[(label, split)] = record
    return found


def folds_frame(cv_results, meta, records):
    """One row per candidate x split: scores, fit time, status and error."""
    rows = []
    n_splits = len(meta["splits"])
    for _, cand in cv_results.iterrows():
        for split in range(n_splits):
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
                "repeat": split // meta["folds"],
                "fold": split % meta["folds"],
                **scores,
                "fit_time": record.get("fit_seconds", np.nan),
                "epochs": len(record.get("history", [])) or np.nan,
                "status": record.get("status", "failed" if failed else "ok"),
                "error": record.get("error", "") if failed or record.get("status") not in (None, "ok") else "",
                "n_train": meta["splits"][split]["n_train"],
                "n_test": meta["splits"][split]["n_test"],
                "fit": record.get("key", ""),
                # the last epoch's scores on the rows the fit held out of its own training rows
                tuning.INNER: last.get("valid_acc", np.nan),
                tuning.TIEBREAK: last.get("valid_loss", np.nan),
                **last_values(record.get("history", [])),
                # successive halving: the epochs of the rung at which the fit was stopped (NaN: the full budget)
                **({"halted_at": record.get("halted_at", np.nan)} if meta.get("halving") else {}),
            })
    folds = pd.DataFrame(rows)
    if meta.get("halving"):
        folds.insert(folds.columns.get_loc("halted_at"), "rung", halving.rung_of(folds["halted_at"],
                                                                                  meta["halving"]["rungs"]))
    diag = diagnostic_columns(folds.columns)
    return folds[[c for c in folds.columns if c not in diag] + diag]


def param_columns(folds):
    """The swept parameters among the columns of a folds table."""
    return [c for c in folds.columns if c not in _FOLD_COLUMNS and not is_diagnostic(c)]


def summary_frame(folds, meta, alpha=ALPHA):
    """One row per candidate, best first: metrics, statistics, fit time, refit score, diagnostics.

    Each metric gets its mean and std over the splits; the accuracy also gets the columns of
    `STAT_COLUMNS` (`grid_statistics` at the significance level ``alpha``), and every
    diagnostic its mean last-epoch value. (`summarize_grid` also returns the statistics.)
    """
    return summarize_grid(folds, meta, alpha)[0]


def summarize_grid(folds, meta, alpha=ALPHA, claim=None, margin=stats.MARGIN * 100):
    """The summary table (`summary_frame`) and the statistics (`grid_statistics`), computed once.

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
    refit = meta.get("refit") or {}
    tuned_keys = {GRID_KEYS.get(n, n) for n in meta.get("tune") or []} if meta.get("protocol") == "tuned" else set()
    best = candidate_label({k: v for k, v in refit.get("params", {}).items() if k not in tuned_keys}) if refit else None
    summary["refit_test_accuracy"] = [refit.get("test_accuracy") if lab == best else np.nan for lab in summary["label"]]
    summary["step_cost"] = step_costs(summary, meta)
    counts = meta.get("n_params") or {}
    summary["n_params"] = [counts.get(str(label), np.nan) for label in summary["label"]]
    table, statistics = grid_statistics(folds, summary, claim=claim, alpha=alpha, n_classes=meta.get("n_classes"),
                                        margin=margin)
    table = table.rename(columns={"label": "_label"})
    summary = summary.assign(_label=summary["label"].astype(str))
    summary = summary.merge(table[["_label"] + STAT_COLUMNS], on="_label", how="left").drop(columns="_label")
    at = summary.columns.get_loc("accuracy_std") + 1
    order = list(summary.columns[:at]) + STAT_COLUMNS
    order += [c for c in summary.columns if c not in order and c not in diag] + diag
    return summary[order].reset_index(drop=True), statistics


def step_costs(summary, meta):
    """Each candidate's training-step time relative to relu (``step_cost`` of ``search.json``); NaN without one."""
    relative = (meta.get("step_cost") or {}).get("relative", {})
    if "activation" not in summary:
        return [relative.get(meta.get("activation"), np.nan)] * len(summary)
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


def grid_statistics(folds, summary, claim=None, alpha=ALPHA, n_classes=None, margin=stats.MARGIN * 100):
    """The statistics of a grid's fold accuracies (`src.reporting.summary`, `src.reporting.verdict`).

    Parameters
    ----------
    folds : pandas.DataFrame
        The folds table.
    summary : pandas.DataFrame
        The per-candidate summary (used to leave out failed candidates).
    claim : list of str, optional
        A claimed ranking, best first (`src.reporting.summary.claimed_ranking`).
    alpha : float
        Significance level; the intervals cover ``1 - alpha``.
    n_classes : int, optional
        The data's classes: a candidate whose interval reaches chance (``1 / n_classes``) is named.
    margin : float
        The margin of equivalence in accuracy points (``stats.margin``).

    Returns
    -------
    (pandas.DataFrame, dict)
        `src.reporting.summary.summarize`'s table, and a JSON-ready dict with ``metric``,
        ``alpha``, ``n_splits``, ``pairs`` (every pair of candidates: difference, interval,
        p-values, separated or not), ``unstable`` (label -> split scores and the far ones),
        ``chance`` and ``at_chance`` (the candidates whose interval reaches down to chance level),
        ``power`` (the difference that would be found with probability ``power``, and the
        ``target`` the verdict measures it against), ``verdict`` (sentences) and ``claim``
        (None, or ``order``, ``outcome``, ``text`` and ``pairs``).
    """
    scored = scored_folds(folds, summary)
    n_test = int(folds["n_test"].max()) if len(folds) else None
    table = summarize(scored, SCORE, alpha=alpha, bounds=(0.0, 1.0), n_test=n_test,
                      chance=1.0 / n_classes if n_classes else None, margin=margin / 100)
    n_folds = int(folds["fold"].max()) + 1 if "fold" in folds and len(folds) else None
    result = {"metric": SCORE, "alpha": alpha, "margin": margin / 100, "n_splits": table.attrs["n_splits"],
              "pairs": table.attrs["pairs"], "unstable": table.attrs["unstable"],
              "chance": table.attrs["chance"], "at_chance": table.attrs["at_chance"],
              "power": {"detectable": table.attrs["detectable"], "target": stats.DETECTABLE, "power": stats.POWER,
                        "reach": table.attrs["reach"]},
              "verdict": verdict.verdict(table, "cross-validated accuracy", folds=n_folds),
              "claim": None}
    if claim:
        found = claimed_ranking(table, claim, scored, SCORE, alpha=alpha, margin=margin / 100)
        result["claim"] = {"order": list(claim), "outcome": found.outcome, "text": verdict.claim_text(found, alpha),
                           "pairs": found.pairs}
    return table, result


def saved_config(out_dir):
    """The config a run saved (``.hydra/config.yaml``) as a dict; empty when there is none."""
    config = layout.config_file(Path(out_dir))
    return (yaml.safe_load(config.read_text()) or {}) if config.exists() else {}


def read_alpha(out_dir, meta):
    """The significance level of a grid: ``alpha`` in ``search.json``, else ``stats.alpha`` of the
    saved config, else `ALPHA`."""
    if meta.get("alpha") is not None:
        return float(meta["alpha"])
    return float((saved_config(out_dir).get("stats") or {}).get("alpha", ALPHA))


def read_margin(out_dir, meta):
    """The margin of equivalence of a grid in accuracy points: ``margin`` in ``search.json``, else ``stats.margin``
    of the saved config, else the default (a dir written before margins re-renders with it)."""
    if meta.get("margin") is not None:
        return float(meta["margin"])
    return float((saved_config(out_dir).get("stats") or {}).get("margin", stats.MARGIN * 100))


def read_claim(out_dir, meta):
    """The claimed ranking of a grid: ``claim`` in ``search.json``, else in ``.hydra/config.yaml``.

    A claim is a list of names, best first, or one string such as ``"selu > elu > relu"``.
    Returns a list of str, or None.
    """
    claim = meta.get("claim")
    if claim is None:
        claim = saved_config(out_dir).get("claim")
    if isinstance(claim, str):
        claim = [part.strip() for part in claim.split(">")]
    return [str(name) for name in claim if str(name).strip()] if claim else None


_FOLD_COLUMNS = {"label", "candidate", "split", "repeat", "fold", "fit_time", "epochs", "status", "error",
                 "n_train", "n_test", "fit", tuning.INNER, tuning.TIEBREAK, "rung", "halted_at"} | {f"test_{m}" for m in METRICS}


def summary_markdown(summary, meta, statistics=None):
    """The summary as Markdown: the study and the method, the table (`summary_view.view`), the verdict.

    Parameters
    ----------
    summary : pandas.DataFrame
        `summary_frame`'s table.
    meta : dict
        ``search.json``.
    statistics : dict, optional
        `grid_statistics`'s dict: its level, verdict sentences and claim line.
    """
    alpha = (statistics or {}).get("alpha", ALPHA)
    table = summary_view.view(summary, alpha)[0]
    head = (f"{summary_view.study_line(meta, len(summary))} {summary_view.protocol_text(meta)} "
            f"{summary_view.method_text(alpha)} {halving.halving_text(meta)}".rstrip())
    notes = "".join(f"\n- {line}" for line in summary_view.alias_lines(meta) + summary_view.init_lines(meta))
    text = f"{head}\n\n{table.to_markdown(index=False, disable_numparse=True)}\n{notes}\n"
    if statistics:
        text += "\n" + "".join(f"- {line}\n" for line in statistics["verdict"])
        if statistics.get("claim"):
            text += f"\n{statistics['claim']['text']}\n"
        if statistics.get("tuning"):
            text += f"\n{statistics['tuning']['sentence']}\n"
    return text


def hiplot_rows(summary, params, metric_cols):
    """Rows for the per-candidate HiPlot page: parameters first, metrics last."""
    return [{**{p: r[p] for p in params}, **{m: r[m] for m in metric_cols}} for _, r in summary.iterrows()]


def write_grid_tables(out_dir):
    """(Re)build the tables, statistics, HiPlot pages, learning curves and report of a grid dir.

    Writes ``folds.csv``, ``summary.csv``, ``summary.md``, ``stats.json`` (every pair's
    test, the verdict sentences and, when the grid has a ``claim``, the test of the claimed
    ranking),
    ``hiplot.html``, ``hiplot_folds.html``, ``learning_curves.png`` and ``report.html``.
    Reads ``cv_results.csv``, ``search.json`` and the fit records; trains nothing.

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / layout.SEARCH).read_text())
    cv_results = pd.read_csv(out_dir / layout.CV_RESULTS)
    records = _records_by_fit(out_dir, meta["swept"], meta["splits"], meta.get("fit_keys"))
    folds = folds_frame(cv_results, meta, records)
    alpha = read_alpha(out_dir, meta)
    written = {}
    nuisance = meta.get("tune") if meta.get("protocol") == "tuned" else None
    all_folds = folds
    if meta.get("halving"):
        written["halving"] = write_csv(out_dir / layout.HALVING, halving.halving_frame(meta["halving"]))
    if nuisance:
        trials, folds = tuned.tuned_folds(folds, nuisance, param_columns(folds))
        counts = meta.get("n_params") or {}  # by the compared label: the tuned settings change no weight
        meta = {**meta, "n_params": {compared: counts[label] for label, compared in zip(trials["label"], trials["compared"])
                                     if label in counts}}
        written.update(write_tuning(out_dir, trials, nuisance, alpha, meta.get("halving")))
    full = folds[~halving.stopped(folds)]  # only fits that got the full budget enter the verdict
    summary, statistics = summarize_grid(full, meta, alpha, claim=read_claim(out_dir, meta),
                                         margin=read_margin(out_dir, meta))
    if meta.get("halving") and not nuisance:  # a tuned study's stopped fits are settings, listed in tuning.csv,
        # and every activation it compares trained to the last rung: its summary has no rung column
        summary.insert(summary.columns.get_loc("label") + 1, "rung", len(meta["halving"]["rungs"]))
        summary = pd.concat([summary, halving.stopped_rows(all_folds, meta["halving"], param_columns(folds))],
                            ignore_index=True)
    if nuisance:
        chosen = tuned.chosen_settings(trials, nuisance)
        summary.insert(summary.columns.get_loc("label") + 1, "tuned",
                       [chosen.get(str(label), {}).get("text", "") for label in summary["label"]])
        table = tuned.robustness(trials, chance=1.0 / meta.get("n_classes", 10))
        statistics["tuning"] = {"tuned": nuisance, "chosen": chosen, "robustness": table.to_dict("records"),
                                "sentence": tuned.robustness_sentence(table, nuisance)}
    written.update({
        "folds": write_csv(out_dir / layout.FOLDS, folds),
        "summary": write_csv(out_dir / layout.SUMMARY, summary),
        "stats": write_json(out_dir / layout.STATS, statistics),
        "summary_md": write_text(out_dir / layout.SUMMARY_MD, summary_markdown(summary, meta, statistics)),
    })
    params = param_columns(folds)
    diag = diagnostic_columns(summary.columns)
    metrics = (HIPLOT_SHOWN + ["step_cost", "accuracy_std", "p_vs_best", "p_holm"]
               + [f"{m}_{s}" for m in METRICS[1:] for s in ("mean", "std")] + ["rank"] + diag)
    metrics += [c for c in ("rung", "halted_at", "rung_score") if c in summary]
    rows = hiplot_rows(summary.rename(columns={"accuracy_mean": "mean_test_accuracy"}), params, metrics)
    written["hiplot"] = write_hiplot(rows, out_dir / layout.HIPLOT, order=params + metrics,
                                     color_by="mean_test_accuracy", categorical=params + ["separated_from_best"],
                                     title="candidates", shown=params + HIPLOT_SHOWN)
    fold_metrics = ["test_accuracy", "test_balanced_accuracy", "test_log_loss", "fit_time"]
    fold_metrics += [c for c in ("rung", "halted_at") if c in folds]
    fold_diag = diagnostic_columns(folds.columns)
    fold_rows = folds[params + ["repeat", "fold"] + fold_metrics + fold_diag].to_dict("records")
    written["hiplot_folds"] = write_hiplot(fold_rows, out_dir / layout.HIPLOT_FOLDS,
                                           order=params + ["repeat", "fold"] + fold_metrics + fold_diag,
                                           color_by="test_accuracy", categorical=params, title="folds",
                                           shown=params + ["repeat", "fold"] + fold_metrics)
    written.update(write_grid_report(out_dir))
    return written


def write_tuning(out_dir, trials, nuisance, alpha=ALPHA, halving=None):
    """Write a tuned study's ``tuning.csv``, isolation plot and tuning HiPlot page (`src.reporting.tuned`).

    ``halving`` (of ``search.json``, when the study halved) puts the isolation plot at the first rung.

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    written = {"tuning": write_csv(out_dir / layout.TUNING, trials)}
    plot = tuned.write_isolation_plot(trials, nuisance, out_dir / layout.ISOLATION_PLOT, level=1 - alpha,
                                      halving=halving)
    if plot is not None:
        written["isolation"] = plot
    columns = ["activation", *nuisance, "inner_accuracy", "inner_loss", "outer_accuracy", "chosen_on", "stopped_on"]
    written["hiplot_tuning"] = write_hiplot(tuned.hiplot_rows(trials, nuisance), out_dir / layout.HIPLOT_TUNING,
                                            order=columns, color_by="inner_accuracy",
                                            categorical=["activation"], title="tuning (inner scores)")
    return written


def print_summary(out_dir, written):
    """Print the Markdown summary and where every file went."""
    log.info(Path(written["summary_md"]).read_text())
    logs.paths(log, written)
