"""A study for a paper: the method paragraph with its citations, the references, a preview document,
and figures sized for a paper's column. Strings and figures only; `src.reporting.write.paper` writes them.
"""
from matplotlib import rc_context
from matplotlib.text import Text

from ...model.networks import describe
from ..compute.phrases import level_text
from .latex import PACKAGES, escape

COLUMN_INCHES = 3.5          # one column of a two-column paper
MAX_ASPECT = 0.8             # the tallest figure, as a fraction of its width
TYPE_POINTS = 6              # every text of every exported figure: ticks, labels, legends, titles, notes
FONTS = {key: TYPE_POINTS for key in ("font.size", "axes.titlesize", "axes.labelsize", "legend.fontsize",
                                      "legend.title_fontsize", "xtick.labelsize", "ytick.labelsize",
                                      "figure.titlesize")}
EMBEDDED = {"pdf.fonttype": 42, "svg.fonttype": "path"}  # TrueType fonts in the PDF, text as paths in the SVG

REFERENCES = {
    "nadeau2003": ("article", {
        "author": "Nadeau, Claude and Bengio, Yoshua", "title": "Inference for the Generalization Error",
        "journal": "Machine Learning", "volume": "52", "number": "3", "pages": "239--281", "year": "2003",
        "doi": "10.1023/A:1024068626366"}),
    "holm1979": ("article", {
        "author": "Holm, Sture", "title": "A Simple Sequentially Rejective Multiple Test Procedure",
        "journal": "Scandinavian Journal of Statistics", "volume": "6", "number": "2", "pages": "65--70",
        "year": "1979"}),
    "demsar2006": ("article", {
        "author": "Dem{\\v{s}}ar, Janez", "title": "Statistical Comparisons of Classifiers over Multiple Data Sets",
        "journal": "Journal of Machine Learning Research", "volume": "7", "pages": "1--30", "year": "2006"}),
    "kendall1938": ("article", {
        "author": "Kendall, Maurice G.", "title": "A New Measure of Rank Correlation", "journal": "Biometrika",
        "volume": "30", "number": "1/2", "pages": "81--93", "year": "1938", "doi": "10.1093/biomet/30.1-2.81"}),
    "eger2018": ("inproceedings", {
        "author": "Eger, Steffen and Youssef, Paul and Gurevych, Iryna",
        "title": "Is it Time to Swish? Comparing Deep Learning Activation Functions Across {NLP} tasks",
        "booktitle": "Proceedings of the 2018 Conference on Empirical Methods in Natural Language Processing",
        "pages": "4415--4424", "year": "2018", "doi": "10.18653/v1/D18-1472"}),
    "schuirmann1987": ("article", {
        "author": "Schuirmann, Donald J.", "title": "A Comparison of the Two One-Sided Tests Procedure and the "
        "Power Approach for Assessing the Equivalence of Average Bioavailability",
        "journal": "Journal of Pharmacokinetics and Biopharmaceutics", "volume": "15", "number": "6",
        "pages": "657--680", "year": "1987", "doi": "10.1007/BF01068419"}),
    "lakens2017": ("article", {
        "author": "Lakens, Dani{\\\"e}l", "title": "Equivalence Tests: A Practical Primer for $t$ Tests, "
        "Correlations, and Meta-Analyses", "journal": "Social Psychological and Personality Science",
        "volume": "8", "number": "4", "pages": "355--362", "year": "2017", "doi": "10.1177/1948550617697177"}),
}


def one_type_size(fig, points=TYPE_POINTS):
    """Set every text of ``fig`` to ``points``: the tick labels (those drawn later too), axis labels, titles,
    legends and notes, whatever size the drawing gave them (a figure drawn for the screen sets its own)."""
    for ax in fig.axes:
        ax.tick_params(axis="both", which="both", labelsize=points)
    for text in fig.findobj(Text):
        text.set_fontsize(points)
    return fig


def column_figure(draw, *args, **kwargs):
    """``draw(*args, **kwargs)``'s figure at `COLUMN_INCHES` wide, every text in `TYPE_POINTS` (`one_type_size`,
    the one place an exported figure's type is sized); None stays None."""
    with rc_context(FONTS):
        fig = draw(*args, **kwargs)
    if fig is not None:
        width, height = fig.get_size_inches()
        fig.set_size_inches(COLUMN_INCHES, COLUMN_INCHES * min(MAX_ASPECT, 1.6 * height / width))
        one_type_size(fig)
        fig.set_layout_engine("constrained")  # margins for the new size: no label cut off
    return fig


def method_tex(search, alpha, margin=None):
    """The method paragraph with ``\\cite`` keys (`REFERENCES`), for a grid's study.

    Parameters
    ----------
    search : src.results.SearchRecord
    alpha : float
    margin : float, optional
        The equivalence margin in accuracy (adds the equivalence tests' sentence).

    Returns
    -------
    (str, list of str)
        The paragraph, and the keys it cites.
    """
    level = level_text(alpha).replace("%", r"\%")
    repeats = search.repeats or 1
    network = describe(search.network)
    text = (f"We compared the activations on {search.dataset} ({search.n_train} training images) by "
            f"{search.folds}-fold cross-validation" + (f" repeated {repeats} times" if repeats > 1 else "")
            + f" ({len(search.splits)} splits), training the same network"
            + (f", {network}," if network else "") + " with each activation on every split. ")
    keys = ["nadeau2003", "holm1979"]
    if search.tuned:
        names = " and ".join(search.tuned)
        text += (f"Following \\citet{{eger2018}}, each activation was trained at its own {names}, chosen on every "
                 f"split by the accuracy on validation rows held out of that split's training rows, and scored on "
                 f"the split's test rows, which the choice never saw. ")
        keys.append("eger2018")
    text += (f"Mean accuracies carry {level} confidence intervals from the corrected resampled $t$-test "
             f"\\citep{{nadeau2003}}, which accounts for the training rows that the splits share. Every pair of "
             f"activations was tested the same way and the $p$-values were adjusted over all pairs by Holm's "
             f"procedure \\citep{{holm1979}}; an activation is reported worse than the best when its adjusted "
             f"$p$-value is below $\\alpha = {alpha:g}$.")
    if margin is not None:
        text += (f" Equivalence to the best within $\\pm{float(margin) * 100:.2f}$ accuracy points was tested by two "
                 f"one-sided tests \\citep{{schuirmann1987,lakens2017}}.")
        keys += ["schuirmann1987", "lakens2017"]
    return text + "\n", keys


def comparison_method_tex(n_studies, alpha, transfer=()):
    """The method paragraph of a comparison across studies, and the keys it cites; with ``transfer`` (the
    comparison's pairs of studies, `src.reporting.compute.transfer`), whether each pair's ranking transfers."""
    text = (f"Across {n_studies} independent studies the activations were ranked within each study by mean "
            f"cross-validated accuracy; the Friedman test took the studies as blocks and, where it rejected at "
            f"$\\alpha = {alpha:g}$, the Nemenyi test compared every pair, as \\citet{{demsar2006}} recommends; "
            f"the critical-difference diagram joins the activations it cannot separate.")
    if not transfer:
        return text + "\n", ["demsar2006"]
    text += (" For every pair of studies, Kendall's $\\tau$ \\citep{kendall1938} between their mean accuracies "
             "was bootstrapped over the splits (percentile interval); a ranking transfers when the interval lies "
             "above 0 and no activation as good as the best in one study is worse than the best in the other (it does "
             "not when one is, or when the interval lies below 0). "
             + " ".join(escape(pair["sentence"]) for pair in transfer))
    return text + "\n", ["demsar2006", "kendall1938"]


def bibtex(keys):
    """The ``references.bib`` entries of ``keys``, in order."""
    entries = []
    for key in dict.fromkeys(keys):
        kind, fields = REFERENCES[key]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields.items())
        entries.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


def preview_tex(table, method, figures, bib):
    """A minimal two-column document that inputs ``table`` and ``method`` (``.tex`` names), includes each figure
    (``{file name: caption}``) and cites ``bib``; its ``\\usepackage`` lines are what the table needs,
    then graphicx and natbib for the figures and citations."""
    packages = "".join(f"\\usepackage{{{name}}}\n" for name in PACKAGES)
    body = "".join(f"\\begin{{figure}}\n\\centering\n\\includegraphics[width=\\columnwidth]{{{name}}}\n"
                   f"\\caption{{{caption}}}\n\\end{{figure}}\n" for name, caption in figures.items())
    return (f"\\documentclass[twocolumn]{{article}}\n% the table needs:\n{packages}% the figures and citations:\n"
            f"\\usepackage{{graphicx}}\n\\usepackage{{natbib}}\n\\begin{{document}}\n\\section*{{Method}}\n"
            f"\\input{{{method}}}\n\\input{{{table}}}\n{body}\\bibliographystyle{{plainnat}}\n"
            f"\\bibliography{{{bib}}}\n\\end{{document}}\n")
