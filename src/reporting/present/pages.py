"""``report.html`` of a single run, a grid and a sweep, built from their studies."""
import pandas as pd

from ... import layout
from ...model import activations
from ...columns import split_column
from ...results import SearchRecord
from ..compute.sweep import sweep_alpha
from . import method
from .html import (
    config_section,
    curves_section,
    decision_section,
    details,
    diagnostics_section,
    esc,
    fmt,
    hiplot_section,
    image_html,
    images_section,
    page_html,
    paragraph,
    section,
    table_html,
    verdict_section,
)
from .summary_view import compact_columns, decision, true, view
from .sweep_view import shared_line, shown_table, sweep_verdict


def config_activation(study):
    """The label of the activation a study's config names, or None."""
    try:
        return activations.label(study.activation) if study.activation is not None else None
    except Exception:
        return None



SINGLE_FIELDS = ["activation", "test_accuracy", "test_loss", "valid_accuracy", "epochs", "fit_seconds", "step_cost",
                 "n_params", "init", "dataset", "n_train", "seed", "device", "threads", "status"]



def single_page(study):
    """The HTML of a single run's report (its metrics, and the figures written beside it)."""
    metrics = study.metrics or {}
    shown = [k for k in SINGLE_FIELDS if k in metrics]
    shown += [k for k in metrics if k not in shown and not split_column(k)]
    summary = pd.DataFrame({"quantity": shown, "value": [metrics[k] for k in shown]})
    name = metrics.get("activation", "run")
    subtitle = (f"A single fit on {metrics.get('dataset', '?')} ({metrics.get('n_train', '?')} training images), "
                f"scored on the test set.")
    diag = pd.DataFrame([{"label": name, **{k: v for k, v in metrics.items() if split_column(k)}}])
    sections = [
        section("Summary", table_html(summary, ["quantity", "value"]), "summary"),
        verdict_section([], note="A single fit has no confidence interval or significance test; run a grid "
                                 "(mode=grid, cv.repeats > 1) to compare activations with statistics."),
        curves_section(study),
        images_section(study, layout.ACTIVATION_PLOTS, "Activation", "activations",
                       "No activation plots were drawn."),
        diagnostics_section(diag),
        hiplot_section(study, [layout.HISTORY_PAGE]),
        config_section(study.config_text),
    ]
    return page_html(f"{name}: single run", subtitle, sections)



def tuning_section(study, tuning):
    """A tuned study's choices, robustness view and isolation plot (empty for the fixed protocol)."""
    if not tuning:
        return ""
    table = pd.DataFrame([{"activation": row["label"], "tuned setting (most chosen; range)":
                           tuning["chosen"].get(row["label"], {}).get("text", ""),
                           "mean at chosen": fmt(row["tuned_mean"]), "order": str(row["tuned_order"]),
                           "mean over tune grid": fmt(row["grid_mean"]), "order ": fmt(row["grid_order"]),
                           "failed fits": str(row.get("failed_fits", 0)),
                           "stopped fits": str(row.get("stopped_fits", 0))}
                          for row in tuning["robustness"]])
    plot = study.file_bytes(layout.ISOLATION_PLOT)
    body = (paragraph(tuning["sentence"]) + table_html(table, ["activation", "tuned setting (most chosen; range)"])
            + (image_html(plot, "Isolation plot: validation accuracy against the tuned setting") if plot is not None
               else ""))
    return section("Tuning", body, "tuning")



# the full table's columns beyond the compact ones (a column's start, how the toggle names it)
MORE = (("tuned setting", "tuned setting"), ("accuracy (mean", "mean ± std"), ("p vs best", "p before Holm"),
        ("TOST", "TOST p"), ("Bayesian", "Bayesian view"), ("balanced", "balanced accuracy"), ("log loss", "log loss"),
        ("fit s", "fit time"), ("step cost", "step cost"), ("params", "parameters"), ("test acc.", "refit"))


def grid_summary(study):
    """A grid's answer first: the decision, then the compact table with the full one a click away, then its
    notes (aliases, inits). ``report.html`` and the notebook's display (`src.api`) both show these.

    Returns
    -------
    list of str
        The ``decision`` and ``summary`` sections.
    """
    summary, search = study.summary, study.search or SearchRecord()
    statistics, alpha = study.statistics or {}, study.alpha
    flags = summary.get("unstable", pd.Series(False, index=summary.index))

    def table(compact):
        shown, standings = view(summary, alpha, compact=compact)
        classes = ["unstable" if true(flag) else found if found in ("best", "unseparated", "equivalent", "failed")
                   else "" for found, flag in zip(standings, flags)]
        return table_html(shown, ["candidate", "vs best"], classes, prose_columns=["status"],
                          spanned=[found in ("stopped", "failed") for found in standings], fit=compact)

    full = view(summary, alpha)[0].columns
    rest = [word for start, word in MORE if any(c.startswith(start) for c in full)]
    notes = "".join(paragraph(line) for line in method.alias_lines(search) + method.init_lines(search))
    body = (table(True) + details(f"All columns: {', '.join(rest)} (the diagnostics per layer are further down)",
                                  table(False)) + notes)
    claim = (statistics.get("claim") or {}).get("text")
    return [decision_section(*decision(summary, statistics), claim), section("Summary", body, "summary")]


def method_section(study):
    """The method paragraph (`src.reporting.present.method`), collapsed: the protocol, the tests, halving."""
    search, statistics = study.search or SearchRecord(), study.statistics or {}
    explained = method.method_text(study.alpha, statistics.get("margin"))
    text = f"{method.protocol_text(search)} {explained} {method.halving_text(search)}".rstrip()
    return section("Method", details("How the numbers were computed", paragraph(text)), "method")


def grid_page(study):
    """The HTML of a grid's report: the decision and the summary first (`grid_summary`), then the verdict's
    sentences, the method (collapsed) and the figures."""
    statistics = study.statistics or {}
    subtitle = method.study_line(study.search or SearchRecord(), len(study.summary))
    sections = [
        *grid_summary(study),
        verdict_section(statistics.get("verdict", []), (statistics.get("claim") or {}).get("text")),
        method_section(study),
        tuning_section(study, statistics.get("tuning")),
        curves_section(study),
        images_section(study, layout.ACTIVATION_PLOTS, "Activations", "activations",
                       "No activation plots were drawn."),
        diagnostics_section(study.summary, note=" Values are means over the folds."),
        hiplot_section(study, [layout.HIPLOT, layout.HIPLOT_FOLDS, layout.HIPLOT_TUNING]),
        config_section(study.config_text),
    ]
    return page_html("Grid search", subtitle, sections)



def grid_activations(study):
    """The activation labels a grid compared (its ``activation`` column, else the config's)."""
    if "activation" in study.summary:
        return [str(a) for a in study.summary["activation"].dropna()]
    return [config_activation(study)]



def sweep_page(study):
    """The HTML of a sweep's report (its table, each job's statistics, the comparison across its studies)."""
    jobs = study.jobs
    frame = study.summary
    table = shown_table(frame, jobs, sweep_alpha(jobs))
    classes = ["failed" if str(s) not in ("ok", "nan") else "" for s in frame.get("status", ["ok"] * len(frame))]
    lines, note = sweep_verdict(jobs)
    labels = frame.assign(_label=[f"job {j}: {lab}" if str(lab) not in ("", "nan") else f"job {j}"
                                  for j, lab in zip(frame.get("job", [""] * len(frame)),
                                                    frame.get("label", [""] * len(frame)))])
    # left-aligned: words (an activation, an init, a status); a sweep of grids as each grid's own page has them
    keys = list(table.columns[:table.columns.get_loc("rank")]) if "rank" in table else list(table.columns)
    text_columns = [c for c in table.columns if c in ("candidate", "vs best") or (
        c in keys and pd.to_numeric(table[c], errors="coerce").isna().any())]
    shared = shared_line(jobs)
    sections = [
        section("Summary", (paragraph(shared) if shared else "")
                + table_html(table, text_columns, classes, prose_columns=["status"] if "rank" in table else ()),
                "summary"),
        verdict_section(lines, note=note),
        *across_section(study),
        curves_section(study),
        diagnostics_section(labels, "_label"),
        hiplot_section(study, [layout.HIPLOT]),
        config_section(study.config_text),
    ]
    subtitle = f"{len(jobs)} jobs, {len(frame)} result rows; each job's own report.html is in its folder."
    return page_html("Sweep", subtitle, sections)



def across_section(study):
    """The comparison across a sweep's studies (`src.compare`, written beside the page), when there is
    one: its verdict and a link to its page; else nothing."""
    found = study.comparison
    if not found:
        return []
    studies = esc(", ".join(found.get("studies", [])))
    body = (f"<p>The studies of this sweep ({studies}) ranked against each other; the table, the critical-difference "
            f'diagram and the ranks are in <a href="{esc(layout.COMPARE_PAGE)}">{esc(layout.COMPARE_PAGE)}</a>.</p>'
            + '<ul class="verdict">' + "".join(f"<li>{esc(line)}</li>" for line in found.get("verdict", [])) + "</ul>")
    return [section("Across the studies", body, "across")]
