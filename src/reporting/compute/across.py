"""Does a ranking of activations hold across independent studies? Friedman over studies, Nemenyi after.

Folds of one data set share training rows, so a rank test over them rejects far too often
(`src.reporting.compute.stats` does not use one). Independent studies (the same grid on other data
sets, at other depths, with other optimizers) are independent blocks, which is what the
Friedman test assumes (Demšar, "Statistical Comparisons of Classifiers over Multiple Data
Sets", JMLR 7, 2006). Within each study the activations are ranked by mean cross-validated
accuracy (1 = best; ties share the average rank; a failed or diverged activation ranks last,
tied with any other failure; one that successive halving stopped is missing from its study, as it
never had the full budget); the Friedman test asks whether the mean ranks differ more than
chance allows, and the Nemenyi test (all pairs, family-wise by the studentized range) says
which pairs do. Two activations are *separated* when Friedman rejects and their pair's Nemenyi
p-value is below alpha, i.e. when their mean ranks differ by more than the critical difference
``CD = q_alpha * sqrt(k (k + 1) / (6 N))``; otherwise they are *not separated*.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from scipy import stats as sps

from ... import layout
from ...errors import UserError
from ...params import short
from ...ranking import rank_order
from ...columns import diagnostic_columns
from ...defaults import ALPHA
from ...outcomes import stopped
from ..read.study import load
from ...words import counted
from .sweep import varying
from .transfer import transfers
from .phrases import fmt_p, listing
from .verdict import NAMED_PAIRS


@dataclass
class ComparedStudy:
    """The candidates of one independent study and what was measured on them.

    Attributes
    ----------
    name : str
        How tables and sentences call the study (its sweep overrides, or its folder).
    folder : Path
        The grid dir, or the sweep dir of a study made of single runs.
    rows : pandas.DataFrame
        One row per activation (``label``): ``accuracy`` (mean cross-validated accuracy, or the
        test accuracy of single runs; NaN when it failed), ``step_cost`` and the diagnostics.
    config : dict
        The study's config (Hydra's copy), for its data set and depth.
    reports : list of Path
        Its ``report.html`` files.
    folds : pandas.DataFrame, optional
        A grid's accuracies: one row per split, one column per activation (`src.reporting.compute.transfer`
        resamples them); None for single runs.
    """

    name: str
    folder: Path
    rows: pd.DataFrame
    config: dict = field(default_factory=dict)
    reports: list = field(default_factory=list)
    folds: pd.DataFrame = None

    @property
    def splits(self):
        """What fixes the study's rows and splits: its data settings, seed and cross-validation settings
        (None when the config does not say)."""
        if not self.config.get("data"):
            return None
        return repr((sorted((self.config.get("data") or {}).items()), self.config.get("seed"),
                     sorted((self.config.get("cv") or {}).items())))

    @property
    def data_rows(self):
        """What fixes the study's training rows: its data settings, and its seed where the seed draws a
        subset (None when the config does not say)."""
        data = self.config.get("data")
        if not data:
            return None
        return repr((sorted(data.items()), self.config.get("seed") if data.get("subset") else None))

    @property
    def depth(self):
        """The number of hidden layers of an MLP, or None when the config does not say (or names another network:
        the depth figure is drawn over MLPs of several depths)."""
        model = self.config.get("model") or {}
        hidden = model.get("hidden")
        return len(hidden) if isinstance(hidden, list) and model.get("name", "mlp") == "mlp" else None


def _grid_study(study, name):
    summary = study.summary.copy()
    if "activation" in summary:
        summary["label"] = summary["activation"].astype(str)
    summary = summary[~stopped(summary)]  # never fully trained, so never ranked as a failure
    rows = summary.rename(columns={"accuracy_mean": "accuracy"})
    rows = rows.iloc[rank_order(rows["accuracy"], rows.get("log_loss_mean"))].drop_duplicates("label")
    keep = (["label", "accuracy"] + [c for c in ("step_cost", "outcome") if c in rows]
            + diagnostic_columns(rows.columns))
    return ComparedStudy(name, study.path, rows[keep].reset_index(drop=True), study.config,
                         [study.path / layout.REPORT] if study.has(layout.REPORT) else [], split_scores(study.folds))


def split_scores(folds):
    """A grid's test accuracy per split (rows, in split order) and candidate (columns), the mean over a split's
    seeds where it trained several; None without a folds table."""
    if folds is None or not {"label", "split", "test_accuracy"} <= set(folds.columns):
        return None
    return folds.assign(label=folds["label"].astype(str)).groupby(["split", "label"])["test_accuracy"].mean().unstack()


def _single_rows(job):
    metrics = job.metrics or {}
    activation = metrics.get("activation") or job.overrides.get("activation") or job.config.get("activation")
    ok = not job.failed and "test_accuracy" in metrics
    return {"label": str(activation), "accuracy": metrics["test_accuracy"] if ok else np.nan,
            "step_cost": metrics.get("step_cost", np.nan),
            **{c: metrics[c] for c in diagnostic_columns(metrics)}}


def studies_of(folder):
    """The studies in a grid or sweep dir.

    A grid dir is one study. In a sweep dir each grid job is one study, and single-run jobs
    that differ only in their activation form one study together (when they hold two
    activations or more).

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    list of ComparedStudy

    Raises
    ------
    UserError
        When ``folder`` is no grid or sweep dir.
    """
    folder = Path(folder)
    kind = layout.kind_of(folder)  # None for a folder that is missing or holds no results
    study = load(folder, kind)
    if kind == "grid":
        if study.summary is None:
            raise UserError(f"{folder} is a grid without {layout.SUMMARY}: it did not finish (python -m src.report "
                            f"{folder} rebuilds its tables where its fits are whole)")
        return [_grid_study(study, folder.name)]
    if kind != "sweep":
        raise UserError(f"{folder} is no grid or sweep dir ({'a single run' if kind else 'no results'}); "
                        f"give grid or sweep dirs")
    found, singles = [], {}
    differ = varying([job.overrides for job in study.jobs])
    for job in study.jobs:
        setting = ", ".join(f"{k}={short(job.overrides[k])}" for k in differ
                            if k in job.overrides and k != "activation")
        if job.has(layout.SUMMARY) and job.has(layout.SEARCH):
            found.append(_grid_study(job, setting or job.path.name))
        elif layout.kind_of(job.path) == "single" or job.failed:
            singles.setdefault(setting, []).append(job)
    for setting, group in singles.items():
        rows = pd.DataFrame([_single_rows(job) for job in group]).drop_duplicates("label")
        if len(rows) < 2:  # one activation at this setting (an Optuna trial, say): nothing compared in it
            continue
        found.append(ComparedStudy(setting or folder.name, folder, rows, group[0].config,
                                   [folder / layout.REPORT] if study.has(layout.REPORT) else []))
    return found


def collect(folders, studies=None):
    """Every study of ``folders`` (``studies``, when the caller has read them), each with a distinct name
    (the folder's prefixed where needed)."""
    studies = [study for folder in folders for study in studies_of(folder)] if studies is None else studies
    if not studies:
        raise UserError(f"no study found in {', '.join(map(str, folders))}")
    names = [s.name for s in studies]
    for study in studies:
        if names.count(study.name) > 1:
            study.name = f"{study.folder.name}: {study.name}"
    return studies


def accuracy_table(studies):
    """Studies x activations: mean accuracy (NaN: failed), and the activations some study lacks.

    Returns
    -------
    (pandas.DataFrame, list of str)
        Only the activations present in every study are columns (the Friedman test needs
        complete blocks); the second value lists those left out.
    """
    frames = {s.name: s.rows.set_index("label")["accuracy"].astype(float) for s in studies}
    table = pd.DataFrame(frames).T
    complete = [c for c in table.columns if all(c in s.rows["label"].values for s in studies)]
    return table[complete], sorted(set(table.columns) - set(complete))


def rank_table(scores):
    """Each activation's rank within each study: 1 = best accuracy, ties averaged, failures last."""
    return scores.rank(axis=1, ascending=False, method="average", na_option="bottom")


def critical_difference(k, n, alpha=ALPHA):
    """Nemenyi's critical difference of mean ranks: ``q_alpha * sqrt(k (k + 1) / (6 n))``.

    ``q_alpha`` is the studentized range's upper ``alpha`` quantile for ``k`` groups and
    infinite degrees of freedom, divided by sqrt(2) (Demšar 2006, table 5).
    """
    if k < 2 or n < 1:
        return math.nan
    q = sps.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def studies_needed(k, alpha=ALPHA, limit=1000):
    """The fewest studies whose critical difference is below ``k - 1``, the largest possible gap of mean ranks."""
    return next((n for n in range(2, limit) if critical_difference(k, n, alpha) < k - 1), None)


def friedman(ranks):
    """Friedman's chi-square and p-value over the studies as blocks (`scipy.stats.friedmanchisquare`).

    NaN for both with fewer than 3 activations or 2 studies, or when every study ranks alike.
    """
    n, k = ranks.shape
    if k < 3 or n < 2:
        return math.nan, math.nan
    if (ranks.nunique(axis=1) == 1).all():  # every study ties every activation: nothing to test
        return math.nan, math.nan
    statistic, p = sps.friedmanchisquare(*[ranks[c].to_numpy() for c in ranks.columns])
    return float(statistic), float(p)


def nemenyi(ranks):
    """Nemenyi's p-value of every pair (`scikit_posthocs.posthoc_nemenyi_friedman`), labels both ways."""
    if ranks.shape[1] < 2 or ranks.shape[0] < 1:
        return pd.DataFrame(index=ranks.columns, columns=ranks.columns, dtype=float)
    # scikit-posthocs ranks each block itself; the ranks given (1 = best) keep their order
    p = sp.posthoc_nemenyi_friedman(ranks.to_numpy(dtype=float))
    return pd.DataFrame(p.to_numpy(dtype=float), index=ranks.columns, columns=ranks.columns)


def compare(studies, alpha=ALPHA):
    """Rank the activations of ``studies`` and test whether their ranks differ.

    Parameters
    ----------
    studies : list of ComparedStudy
    alpha : float (default=`src.defaults.ALPHA`)

    Returns
    -------
    dict
        ``scores`` and ``ranks`` (studies x activations), ``table`` (one row per activation,
        best mean rank first: its rank in each study, mean rank, mean accuracy, step cost, and
        whether it is separated from the best), ``left_out`` (activations missing from some
        study), ``friedman`` (statistic, p), ``p`` (Nemenyi's pairwise p-values), ``cd``
        (critical difference), ``pairs``, ``alpha``, ``transfer`` (every pair of studies: does the
        ranking transfer, `src.reporting.compute.transfer.transfers`) and ``verdict`` (sentences, the
        transfer's last).
    """
    scores, left_out = accuracy_table(studies)
    ranks = rank_table(scores)
    n, k = ranks.shape
    accuracy = scores.mean(axis=0)
    # best mean rank first; equal mean ranks by mean accuracy
    order = sorted(ranks.columns, key=lambda a: (ranks[a].mean(), -np.nan_to_num(accuracy[a], nan=-np.inf), a))
    mean_rank = ranks.mean(axis=0)[order]
    chi2, p_friedman = friedman(ranks)
    p = nemenyi(ranks)
    rejected = bool(np.isfinite(p_friedman) and p_friedman < alpha)
    labels = list(mean_rank.index)
    best = labels[0] if labels else None
    costs = pd.DataFrame({s.name: s.rows.set_index("label").get("step_cost", pd.Series(dtype=float))
                          for s in studies}).T.reindex(columns=labels)
    table = pd.DataFrame({"activation": labels})
    for study in ranks.index:
        table[f"rank: {study}"] = ranks.loc[study, labels].to_numpy()
    table["mean_rank"] = mean_rank.to_numpy()
    table["mean_accuracy"] = scores[labels].mean(axis=0).to_numpy()
    table["step_cost"] = costs.astype(float).mean(axis=0).to_numpy() if len(costs) else np.nan
    table["p_vs_best"] = [p.loc[best, a] if a != best and n >= 2 else np.nan for a in labels]
    table["separated_from_best"] = [bool(rejected and np.isfinite(v) and v < alpha) for v in table["p_vs_best"]]
    pairs = [{"first": a, "second": b, "rank_difference": float(mean_rank[b] - mean_rank[a]),
              "p": float(p.loc[a, b]) if n >= 2 else math.nan,
              "separated": bool(rejected and n >= 2 and p.loc[a, b] < alpha)}
             for i, a in enumerate(labels) for b in labels[i + 1:]]
    result = {"studies": [s.name for s in studies], "scores": scores, "ranks": ranks, "table": table,
              "left_out": left_out, "friedman": {"statistic": chi2, "p": p_friedman}, "p": p,
              "cd": critical_difference(k, n, alpha), "pairs": pairs, "alpha": alpha,
              "studies_needed": studies_needed(k, alpha) if k >= 2 else None,
              "shared_data": shared_data(studies), "transfer": transfers(studies, alpha)}
    result["verdict"] = across_verdict(result) + [pair["sentence"] for pair in result["transfer"]]
    return result


def shared_data(studies):
    """Groups of studies trained on the same data rows (the same data settings, and the same seed
    where it draws a subset): such studies are not independent blocks.

    Returns
    -------
    list of dict
        ``studies`` (their names) and ``same_splits`` (whether their seed and cross-validation
        settings, and so their splits, are the same too).
    """
    groups = {}
    for study in studies:
        if study.data_rows is not None:
            groups.setdefault(study.data_rows, []).append(study)
    return [{"studies": [study.name for study in group], "same_splits": len({study.splits for study in group}) == 1}
            for group in groups.values() if len(group) > 1]


def across_verdict(result):
    """Sentences about a `compare` result, worded as the per-study verdicts: 'separated' or 'not separated'.

    Says plainly when the studies are too few for any pair to be separated, whatever the results.
    """
    table, alpha, ranks = result["table"], result["alpha"], result["ranks"]
    n, k = ranks.shape
    if k < 2:
        common = "No activation is" if k == 0 else "Only 1 activation is"
        return [f"{common} common to all studies: there is nothing to compare."]
    best = table.iloc[0]
    names = ", ".join(result["studies"])
    sharing = [a for a, r in zip(table["activation"][1:], table["mean_rank"][1:]) if r == best["mean_rank"]]
    shared = f"; {', '.join(sharing)} {'share' if len(sharing) > 1 else 'shares'} it" if sharing else ""
    lines = [f"{best['activation']} has the best mean rank ({best['mean_rank']:.2f} of {k}{shared}) over "
             f"{counted(n, 'study', 'studies')} ({names})."]
    if n < 2:
        lines.append("A single study cannot show that a ranking holds beyond it: compare two or more independent "
                     "studies (other data sets, depths, optimizers); nothing is separated.")
        return lines
    for group in result.get("shared_data", []):
        how = ("the same rows and splits (the same data settings, seed and cross-validation)" if group["same_splits"]
               else "the same rows (the same data settings; only their seeds or cross-validation, and so their "
                    "splits, differ)")
        lines.append(f"Studies {', '.join(group['studies'])} were trained on {how}: they are not independent, as the "
                     f"Friedman and Nemenyi tests assume, so read their ranks, and any pair called separated below, "
                     f"as a description of this data set; studies on other data test whether a ranking holds "
                     f"beyond it.")
    chi2, p_f = result["friedman"]["statistic"], result["friedman"]["p"]
    cd, needed = result["cd"], result["studies_needed"]
    if k < 3:
        lines.append("The Friedman test needs three or more activations; with two, nothing is separated.")
    elif not np.isfinite(p_f):
        lines.append("Every study ranks the activations alike, all tied: there is no difference to test.")
    elif p_f < alpha:
        lines.append(f"Friedman test over the {n} studies as blocks: chi-square = {chi2:.2f}, "
                     f"{fmt_p(p_f, alpha, 'p')}: the activations do not all rank alike.")
    else:
        lines.append(f"Friedman test over the {n} studies as blocks: chi-square = {chi2:.2f}, "
                     f"{fmt_p(p_f, alpha, 'p')}: the data do not show that the activations rank differently, "
                     f"so no pair is separated.")
    for _, row in table.iloc[1:].iterrows():
        gap = row["mean_rank"] - best["mean_rank"]
        p_text_ = fmt_p(row["p_vs_best"], alpha, "Nemenyi p")
        if row["separated_from_best"]:
            lines.append(f"{row['activation']} ranks worse than {best['activation']} (mean rank {row['mean_rank']:.2f}, "
                         f"{gap:.2f} below; critical difference {cd:.2f}; {p_text_}): separated.")
        else:
            lines.append(f"{row['activation']} (mean rank {row['mean_rank']:.2f}, {gap:.2f} below "
                         f"{best['activation']}; critical difference {cd:.2f}; {p_text_}): not separated from "
                         f"{best['activation']}.")
    separated = [pair for pair in result["pairs"] if pair["separated"]]
    if separated:
        named = listing([f"{pair['first']} and {pair['second']}" for pair in separated[:NAMED_PAIRS]], final=None)
        more = f", and {len(separated) - NAMED_PAIRS} more in compare.json" if len(separated) > NAMED_PAIRS else ""
        lines.append(f"{len(separated)} of the {len(result['pairs'])} pairs {'is' if len(separated) == 1 else 'are'} "
                     f"separated ({named}{more}; Nemenyi, after the Friedman test rejected): the ranking holds "
                     f"across these studies for {'that pair' if len(separated) == 1 else 'those pairs'}.")
    elif len(result["pairs"]) == 1:
        lines.append("The pair is not separated: these studies do not show that the two activations rank "
                     "differently.")
    else:
        lines.append(f"None of the {len(result['pairs'])} pairs is separated: these studies do not show that any "
                     f"activation ranks differently from another.")
    if np.isfinite(cd) and cd >= k - 1:
        more = f"; at least {needed} studies are needed for the first and the last to be separable" if needed else ""
        lines.append(f"Too few studies to separate anything: with {n} studies and {k} activations the critical "
                     f"difference is {cd:.2f} ranks, more than the largest possible difference of mean ranks "
                     f"({k - 1}), so no pair could be separated whatever the results{more}.")
    elif np.isfinite(cd):
        lines.append(f"With {n} studies and {k} activations, mean ranks must differ by more than {cd:.2f} to be "
                     f"separated (Nemenyi, alpha = {alpha:g}); smaller differences may be real but go unseen.")
    return lines


def stored_result(statistics, table):
    """A comparison read back (its ``compare.json`` and ``compare.csv``) in `compare`'s shape, for its
    figures: the table, pairs, p-values, critical difference, alpha and studies."""
    labels = list(table["activation"])
    p = pd.DataFrame(1.0, index=labels, columns=labels)
    for pair in statistics["pairs"]:
        p.loc[pair["first"], pair["second"]] = p.loc[pair["second"], pair["first"]] = pair["p"]
    return {"table": table, "pairs": statistics["pairs"], "p": p, "cd": statistics["critical_difference"],
            "alpha": statistics["alpha"], "studies": statistics["studies"]}
