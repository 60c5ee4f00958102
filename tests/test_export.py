"""``python -m src.export``: a study's table, figures, method and references for a paper."""
import re
import shutil
import subprocess

import pandas as pd
import pytest

from src import layout
from src.export import main
from src.reporting.write.comparison import write_compare

FIGURES = ["learning_curves", "activation_relu", "activation_tanh", "activation_leaky_relu"]
# the summary.tex column -> the summary.csv columns of its numbers, in order
NUMBERS = {"Accuracy": ["accuracy_mean", "accuracy_std"], r"95\% CI": ["ci_low", "ci_high"],
           r"Diff., points [95\% CI]": ["diff_points", "diff_low_points", "diff_high_points"],
           "$p$ (Holm)": ["p_holm"]}


@pytest.fixture(scope="module")
def exported(grid_study, tmp_path_factory):
    out = tmp_path_factory.mktemp("paper")
    assert main([str(grid_study.path), "--out", str(out)]) == 0
    return out


def _rows(tex):
    """The header and body rows of a LaTeX table, each a list of cell strings."""
    body = tex.split("\\toprule\n", 1)[1].split("\\bottomrule", 1)[0]
    lines = [line.rstrip("\\ ").strip() for line in body.splitlines() if line.strip() and line != "\\midrule"]
    return [[cell.replace("\\bfseries", "").strip() for cell in line.split(" & ")] for line in lines]


def test_an_export_writes_the_table_figures_method_references_and_preview(exported):
    names = {p.name for p in exported.iterdir()}
    for name in (layout.PAPER_TABLE, layout.SUMMARY, layout.PAPER_METHOD, layout.PAPER_BIB, layout.PAPER_PREVIEW):
        assert name in names
    for figure in FIGURES:
        assert {f"{figure}.pdf", f"{figure}.svg"} <= names
        assert b"/FontFile2" in (exported / f"{figure}.pdf").read_bytes()  # TrueType fonts embedded
    tex = (exported / layout.PAPER_TABLE).read_text()
    assert "\\toprule" in tex and "\\label{tab:activations}" in tex and "digits" in tex and "\\bfseries" in tex
    method, bib = (exported / layout.PAPER_METHOD).read_text(), (exported / layout.PAPER_BIB).read_text()
    cited = {key for keys in re.findall(r"\\cite[pt]\{([^}]+)\}", method) for key in keys.split(",")}
    assert cited == {"nadeau2003", "holm1979", "schuirmann1987", "lakens2017"}  # the margin's tests cite theirs
    assert all(re.search(rf"@\w+\{{{key},", bib) for key in cited)
    preview = (exported / layout.PAPER_PREVIEW).read_text()
    assert "\\usepackage{booktabs}" in preview and "\\includegraphics[width=\\columnwidth]{learning_curves.pdf}" in preview


def test_every_number_of_the_table_is_the_csvs_at_the_shown_precision(exported):
    rows = _rows((exported / layout.PAPER_TABLE).read_text())
    csv = pd.read_csv(exported / layout.SUMMARY)
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == [r.replace("_", "\\_") for r in csv["candidate"]]
    checked = 0
    for row, (_, expected) in zip(body, csv.iterrows()):
        for column, keys in NUMBERS.items():
            cell = row[header.index(column)].replace("$", "")
            if cell.startswith("<"):
                assert expected[keys[0]] < float(cell[1:])
                continue
            numbers = re.findall(r"[-+]?\d+\.\d+", cell)
            assert len(numbers) == (0 if pd.isna(expected[keys[0]]) else len(keys)), (column, cell)
            for text, key in zip(numbers, keys):
                digits = len(text.split(".")[1])
                assert float(text) == pytest.approx(round(expected[key], digits), abs=10 ** -(digits + 3)), key
                checked += 1
    assert checked >= 2 * 7 + 3


def test_a_tuned_study_exports_its_isolation_plot_and_cites_the_protocol(tuned_study, tmp_path):
    assert main([str(tuned_study.path), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "isolation.pdf").exists() and (tmp_path / "isolation.svg").exists()
    assert "eger2018" in (tmp_path / layout.PAPER_METHOD).read_text()
    assert "Tuned" in (tmp_path / layout.PAPER_TABLE).read_text()


def test_a_comparison_exports_its_critical_difference_diagram(grid_study, tuned_study, tmp_path):
    write_compare([grid_study.path, tuned_study.path], tmp_path / "compare")
    assert main([str(tmp_path / "compare"), "--out", str(tmp_path / "paper")]) == 0
    assert (tmp_path / "paper" / "cd_diagram.pdf").exists()
    assert "demsar2006" in (tmp_path / "paper" / layout.PAPER_BIB).read_text()


def test_every_exported_figure_sets_its_type_in_one_size_at_column_width(grid_study, tuned_study, tmp_path):
    from matplotlib.text import Text

    from src.reporting.present.paper import COLUMN_INCHES, TYPE_POINTS
    from src.reporting.write.paper import export_parts

    write_compare([grid_study.path, tuned_study.path], tmp_path / "compare")
    figures = {name: figure for path in (grid_study.path, tuned_study.path, tmp_path / "compare")
               for name, (figure, _) in export_parts(path)[-1].items()}
    assert {"learning_curves", "isolation", "cd_diagram", "activation_relu"} <= set(figures)
    for name, figure in figures.items():
        figure.canvas.draw()  # tick labels are made as the figure is drawn
        sizes = {text.get_fontsize() for text in figure.findobj(Text)
                 if text.get_visible() and text.get_text().strip()}
        assert sizes == {TYPE_POINTS}, (name, sizes)  # ticks, labels, legends and titles alike
        assert figure.get_size_inches()[0] == pytest.approx(COLUMN_INCHES), name


def test_a_dir_that_is_not_a_finished_study_gets_one_line_and_nothing_is_written(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "paper")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a finished study" in err
    assert not (tmp_path / "paper").exists()


@pytest.mark.slow
@pytest.mark.needs("latex")
def test_the_preview_compiles_with_pdflatex_and_bibtex(exported, tmp_path):
    shutil.copytree(exported, tmp_path / "paper")
    where = tmp_path / "paper"
    steps = [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "preview.tex"], ["bibtex", "preview"],
             ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "preview.tex"],
             ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "preview.tex"]]
    for step in steps:
        done = subprocess.run(step, cwd=where, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:]
    log = (where / "preview.log").read_text()
    assert "undefined" not in log and (where / "preview.pdf").stat().st_size > 10_000
