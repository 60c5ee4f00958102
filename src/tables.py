"""Grid results as pandas tables: per fold, per candidate, and the Markdown summary."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import fit_records
from .files import write_csv, write_text
from .hiplot_page import write_hiplot

METRICS = ("accuracy", "balanced_accuracy", "log_loss")
FRIENDLY = {"module__activation": "activation", "module__hidden": "hidden", "module__dropout": "dropout",
            "module__init": "init", "optimizer__momentum": "momentum", "optimizer__weight_decay": "weight_decay",
            "max_epochs": "epochs"}


def plain(value):
    """A parameter value for a table cell: numbers stay numbers, lists and classes become text."""
    value = fit_records.plain(value)
    if isinstance(value, list):
        return json.dumps(value)
    return value


def friendly(key):
    """The short name of a skorch parameter (``module__activation`` -> ``activation``)."""
    return FRIENDLY.get(key, key)


def candidate_label(params):
    """A readable label for a candidate: its activation label, then any other swept values."""
    params = {k.removeprefix("param_"): v for k, v in params.items()}
    parts = [str(params["module__activation"])] if "module__activation" in params else []
    parts += [f"{friendly(k)}={plain(v)}" for k, v in params.items() if k != "module__activation"]
    return ", ".join(parts) or "default"


def _records_by_fit(out_dir, swept, splits):
    """Map (label, split) to the fit record of that fold."""
    split_of = {s["data"]: i for i, s in enumerate(splits)}
    found = {}
    for record in fit_records.load_all(Path(out_dir) / "fits"):
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
            })
    return pd.DataFrame(rows)


def summary_frame(folds, meta):
    """One row per candidate, best first: mean and std of each metric, fit time, refit score."""
    param_cols = [c for c in folds.columns if c not in _FOLD_COLUMNS]
    rows = []
    for label, group in folds.groupby("label", sort=False):
        row = {"label": label, **{c: group[c].iloc[0] for c in param_cols}}
        for metric in METRICS:
            values = group[f"test_{metric}"]
            row[f"{metric}_mean"] = values.mean(skipna=False)
            row[f"{metric}_std"] = values.std(ddof=0, skipna=False)
        row["fit_time_mean"] = group["fit_time"].mean()
        bad = group[group["status"] != "ok"]
        row["status"] = "ok" if bad.empty else bad["status"].iloc[0]
        row["error"] = "" if bad.empty else str(bad["error"].iloc[0])
        rows.append(row)
    summary = pd.DataFrame(rows).sort_values("accuracy_mean", ascending=False, na_position="last")
    summary.insert(0, "rank", np.arange(1, len(summary) + 1))
    refit = meta.get("refit") or {}
    best = candidate_label(refit.get("params", {})) if refit else None
    summary["refit_test_accuracy"] = [refit.get("test_accuracy") if lab == best else np.nan for lab in summary["label"]]
    return summary.reset_index(drop=True)


_FOLD_COLUMNS = {"label", "candidate", "split", "repeat", "fold", "fit_time", "epochs", "status", "error",
                 "n_train", "n_test"} | {f"test_{m}" for m in METRICS}


def _pm(mean, std, digits=4):
    return "failed" if not np.isfinite(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_markdown(summary, meta):
    """The summary as a Markdown table with a heading line about the search."""
    table = pd.DataFrame({
        "rank": summary["rank"],
        "candidate": summary["label"],
        "accuracy": [_pm(m, s) for m, s in zip(summary["accuracy_mean"], summary["accuracy_std"])],
        "balanced acc.": [_pm(m, s) for m, s in zip(summary["balanced_accuracy_mean"], summary["balanced_accuracy_std"])],
        "log loss": [_pm(m, s) for m, s in zip(summary["log_loss_mean"], summary["log_loss_std"])],
        "fit s": [f"{t:.1f}" if np.isfinite(t) else "" for t in summary["fit_time_mean"]],
        "test acc. (refit)": [f"{t:.4f}" if np.isfinite(t) else "" for t in summary["refit_test_accuracy"]],
    })
    head = (f"{meta['dataset']}: {meta['n_train']} training images, {meta['folds']}-fold CV"
            f"{' x ' + str(meta['repeats']) + ' repeats' if meta['repeats'] > 1 else ''}, mean ± std over splits")
    failed = summary[summary["status"] != "ok"]
    notes = "".join(f"\n- {r.label}: {r.status}: {r.error}" for r in failed.itertuples())
    return f"{head}\n\n{table.to_markdown(index=False, disable_numparse=True)}\n{notes}\n"


def hiplot_rows(summary, metric_cols):
    """Rows for the per-candidate HiPlot page: parameters first, metrics last."""
    params = [c for c in summary.columns if c not in metric_cols and c not in ("label", "status", "error", "rank")]
    return [{**{p: r[p] for p in params}, **{m: r[m] for m in metric_cols}} for _, r in summary.iterrows()], params


def write_grid_tables(out_dir):
    """(Re)build ``folds.csv``, ``summary.csv``, ``summary.md`` and the HiPlot pages of a grid dir.

    Reads ``cv_results.csv``, ``search.json`` and the fit records; trains nothing.

    Returns
    -------
    dict
        Name -> path of everything written.
    """
    out_dir = Path(out_dir)
    meta = json.loads((out_dir / "search.json").read_text())
    cv_results = pd.read_csv(out_dir / "cv_results.csv")
    records = _records_by_fit(out_dir, meta["swept"], meta["splits"])
    folds = folds_frame(cv_results, meta, records)
    summary = summary_frame(folds, meta)
    written = {
        "folds": write_csv(out_dir / "folds.csv", folds),
        "summary": write_csv(out_dir / "summary.csv", summary),
        "summary_md": write_text(out_dir / "summary.md", summary_markdown(summary, meta)),
    }
    metrics = [f"{m}_{s}" for m in METRICS for s in ("mean", "std")] + ["fit_time_mean", "rank"]
    metrics = ["accuracy_mean"] + [m for m in metrics if m != "accuracy_mean"]
    rows, params = hiplot_rows(summary.rename(columns={"accuracy_mean": "mean_test_accuracy"}),
                               ["mean_test_accuracy"] + metrics[1:])
    written["hiplot"] = write_hiplot(rows, out_dir / "hiplot.html", order=params + ["mean_test_accuracy"] + metrics[1:],
                                     color_by="mean_test_accuracy", categorical=params, title="candidates")
    fold_params = [c for c in folds.columns if c not in _FOLD_COLUMNS]
    fold_metrics = ["test_accuracy", "test_balanced_accuracy", "test_log_loss", "fit_time"]
    fold_rows = folds[fold_params + ["repeat", "fold"] + fold_metrics].to_dict("records")
    written["hiplot_folds"] = write_hiplot(fold_rows, out_dir / "hiplot_folds.html",
                                           order=fold_params + ["repeat", "fold"] + fold_metrics,
                                           color_by="test_accuracy", categorical=fold_params, title="folds")
    return written


def print_summary(out_dir, written):
    """Print the Markdown summary and where every file went."""
    print(Path(written["summary_md"]).read_text())
    for name, path in written.items():
        print(f"{name:>13}: {path}")
