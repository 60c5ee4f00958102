"""A comparison of studies as the reader sees it: its table, critical-difference diagram and HTML page."""
import os

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from .html import esc, image_html, page_html, paragraph, section, table_html, verdict_section

METHOD = ("Within each study the activations are ranked by mean cross-validated accuracy (1 = best, ties share "
          "the average rank, a failed or diverged activation ranks last). The Friedman test takes the studies as "
          "independent blocks; after it rejects, the Nemenyi test compares every pair (family-wise, by the "
          "studentized range): a pair is separated when its mean ranks differ by more than the critical "
          "difference. 'Not separated' means these studies cannot tell the two apart, not that they are equal. "
          "Step cost: the time of one training step of the study's MLP with that activation, relative to relu's, "
          "measured on the machine that ran the study (mean over the studies).")


def cd_figure(result):
    """The critical-difference diagram (`scikit_posthocs.critical_difference_diagram`) of a `compare` result.

    Activations joined by a bar are not separated. A pair counts as separated only where the
    verdict says so (Friedman rejected first); the diagram draws exactly those pairs apart.
    """
    table = result["table"]
    labels = list(table["activation"])
    separated = {(p["first"], p["second"]) for p in result["pairs"] if p["separated"]}
    sig = pd.DataFrame(1.0, index=labels, columns=labels)
    for a, b in separated:
        sig.loc[a, b] = sig.loc[b, a] = float(result["p"].loc[a, b])
    fig = Figure(figsize=(8, 1.2 + 0.28 * len(labels)), dpi=110, layout="constrained")
    ax = fig.subplots()
    # the whole range of ranks, 1 to k, in whole ranks: close ranks (all tied at 2, say) are not magnified
    # into an axis of 1.9900 to 2.0100
    k = max(2, len(labels))
    ax.set_xlim(1 - 0.02 * (k - 1), k + 0.02 * (k - 1))  # a little room: the end ranks' markers show whole
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    cd = result["cd"]
    # the library would draw the critical difference's bar over the rank axis's labels: it goes above them here
    sp.critical_difference_diagram(table.set_index("activation")["mean_rank"], sig, alpha=result["alpha"], ax=ax)
    if np.isfinite(cd) and cd < len(labels) - 1:
        start = float(table["mean_rank"].iloc[0])

        def above(points):  # x in ranks, y that many points over the axis (its labels take the first ~15)
            return ax.get_xaxis_transform() + ScaledTranslation(0, points / 72, fig.dpi_scale_trans)

        ax.plot([start, start + cd], [1, 1], color="k", lw=2, transform=above(20), clip_on=False)
        ax.text(start + cd / 2, 1, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8, clip_on=False,
                transform=above(22))
    ax.set_title(f"mean rank over {len(result['studies'])} studies (critical difference {cd:.2f})", fontsize=9, pad=40)
    return fig


# column of the comparison's table -> (its name as shown, its format)
SHOWN = {"mean_rank": ("mean rank", "{:.2f}"), "mean_accuracy": ("mean accuracy", "{:.4f}"),
         "step_cost": ("step cost vs relu", "{:.2f}"), "p_vs_best": ("p vs best (Nemenyi)", "{:.3f}")}


def _cell_table(table):
    """The comparison's table as shown (Markdown and HTML): readable names, ranks to 2 decimals, every cell a string."""
    def cell(value, form):
        return form.format(value) if isinstance(value, (int, float)) and np.isfinite(value) else ""

    shown = pd.DataFrame({"activation": table["activation"].astype(str)})
    for column in table.columns:
        if column.startswith("rank: "):
            shown[column.replace("rank: ", "rank in ", 1)] = [cell(v, "{:.2f}") for v in table[column]]
        elif column in SHOWN:
            name, form = SHOWN[column]
            shown[name] = [cell(v, form) for v in table[column]]
    shown["vs best"] = ["best" if i == 0 else ("worse" if s else "not separated")
                        for i, s in enumerate(table["separated_from_best"])]
    return shown


TRANSFER = ("Does a ranking transfer from one study to the other? For every pair of studies: Kendall's tau between "
            "their mean accuracies over the activations both hold (1: the same order, -1: reversed), with its "
            "percentile bootstrap interval over the splits (the same splits drawn for both studies where they "
            "trained on the same ones), and which activations are the best or equivalent to it at each study's "
            "margin in both, in one only, or in neither. The ranking transfers when the interval lies above 0 and "
            "no activation as good as the best in one study is worse than the best in the other; it does not when "
            "such an activation exists or the interval lies below 0.")


def transfer_table(result):
    """The transfer of every pair of studies (`src.reporting.compute.transfer`) as shown, every cell a string."""
    def cell(value):
        return f"{value:.2f}" if isinstance(value, (int, float)) and np.isfinite(value) else ""

    def names(items):
        return "" if items is None else ", ".join(items) or "none"

    return pd.DataFrame([{"from": p["first"], "to": p["second"], "activations": str(p["n"]), "tau": cell(p["tau"]),
                          "CI": f"{cell(p['tau_low'])} to {cell(p['tau_high'])}" if np.isfinite(p["tau_low"]) else "",
                          "as good as the best in both": names(p["both"]),
                          f"in 'from' only": names(p["first_only"]), "in 'to' only": names(p["second_only"]),
                          "in neither": names(p["neither"]),
                          "transfers": "yes" if p["transfers"] else ("no" if p["contradicted_by"] or p.get("reversed")
                                                                    else "not shown")}
                         for p in result.get("transfer", [])])


def markdown(result):
    """The comparison as Markdown: a heading line, the table, the transfer's table, the verdict."""
    shown = _cell_table(result["table"])
    text = (f"{len(result['studies'])} studies, ranks by mean cross-validated accuracy (1 = best); Friedman over "
            f"the studies as blocks, Nemenyi post hoc (alpha {result['alpha']:g}); step cost relative to relu\n\n"
            + shown.to_markdown(index=False, disable_numparse=True)
            + "\n\n")
    if result.get("transfer"):
        text += ("Transfer between studies (Kendall's tau, bootstrap interval over the splits; as good as the best: "
                 "best or equivalent at the margin)\n\n"
                 + transfer_table(result).to_markdown(index=False, disable_numparse=True) + "\n\n")
    if result["left_out"]:
        text += f"Left out (missing from some study, or stopped there by successive halving): {', '.join(result['left_out'])}\n\n"
    return text + "".join(f"- {line}\n" for line in result["verdict"])


def _studies_section(studies, out_dir):
    items = []
    for study in studies:
        links = [f'<a href="{esc(os.path.relpath(r, out_dir))}">report</a>' for r in study.reports]
        depth = f", {study.depth} hidden layers" if study.depth else ""
        dataset = (study.config.get("data") or {}).get("name", "")
        items.append(f"<li>{esc(study.name)} ({esc(dataset)}{esc(depth)}): {esc(study.folder)} {' '.join(links)}</li>")
    return section("Studies", "<ul>" + "".join(items) + "</ul>", "studies")


def compare_page(result, studies, out_dir, images):
    """The comparison's HTML page.

    Parameters
    ----------
    result : dict
        `src.reporting.compute.across.compare`'s result.
    studies : list of ComparedStudy
    out_dir : Path
        Where the page goes (its links to the studies' reports are relative to it).
    images : dict
        ``cd_diagram`` and ``depth``: the written PNGs' bytes to embed, when drawn.
    """
    body = paragraph(METHOD) + table_html(_cell_table(result["table"]), ["activation", "vs best"],
                                          ["best"] + ["" if s else "unseparated"
                                                      for s in result["table"]["separated_from_best"][1:]])
    if result["left_out"]:
        body += paragraph(f"Left out (missing from some study, or stopped there by successive halving): "
                          f"{', '.join(result['left_out'])}.")
    sections = [section("Ranks", body, "ranks")]
    if result.get("transfer"):
        sections.append(section("Does the ranking transfer?", paragraph(TRANSFER) + table_html(
            transfer_table(result), ["from", "to", "as good as the best in both", "in 'from' only", "in 'to' only",
                                     "in neither", "transfers"]), "transfer"))
    sections.append(verdict_section(result["verdict"]))
    if "cd_diagram" in images:
        sections.append(section("Critical-difference diagram", paragraph(
            "Mean ranks, best on the left; activations joined by a bar are not separated.")
            + image_html(images["cd_diagram"], "critical-difference diagram"), "diagram"))
    if "depth" in images:
        sections.append(section("Against depth", image_html(images["depth"], "accuracy and diagnostics against "
                                                                             "depth"), "depth"))
    sections.append(_studies_section(studies, out_dir))
    subtitle = (f"{len(studies)} studies, {len(result['table'])} activations common to all of them; Friedman test "
                f"with the Nemenyi post-hoc test.")
    return page_html("Across studies", subtitle, sections)
