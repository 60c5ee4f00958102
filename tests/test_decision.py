"""The answer first: the decision block of a grid (summary.md, report.html, the console, the notebook's display)
agrees with its table, and the console stays quiet."""
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from src.reporting.compute import grid_tables as tables
from src.reporting.present import summary_view
from src.reporting.read.study import load
from src.reporting.write.report_files import write_grid_report
from src.results import SearchRecord
from src.run import run

SPLITS, N_TEST, N_FIT = 9, 4000, 6400
META = {"dataset": "digits", "n_train": 12000, "n_test": 450, "folds": 3, "repeats": 3, "refit": None, "swept": [],
        "splits": [{"n_train": 8000, "n_test": N_TEST, "n_fit": N_FIT}] * SPLITS}


def crafted(out_dir=None, margin=0.5, spreads=(0.0003, 0.0015, 0.006)):
    """Four candidates on 9 splits: a the best, b equivalent to it, c worse by 3 points, d inconclusive;
    written as a grid dir into ``out_dir`` when given."""
    rng = np.random.default_rng(1)
    base = 0.95 + rng.normal(0, 0.004, SPLITS)
    scores = {"a": base, "b": base - 0.0003 + rng.normal(0, spreads[0], SPLITS),
              "c": base - 0.03 + rng.normal(0, spreads[1], SPLITS),
              "d": base - 0.004 + rng.normal(0, spreads[2], SPLITS)}
    folds = pd.DataFrame([{"label": label, "candidate": c, "activation": label, "split": split, "repeat": split // 3,
                           "fold": split % 3, "test_accuracy": acc, "test_balanced_accuracy": acc, "test_log_loss": 0.3,
                           "fit_time": 1.0, "epochs": 2, "status": "ok", "error": "", "n_train": 8000,
                           "n_test": N_TEST, "n_fit": N_FIT, "fit": ""}
                          for c, (label, values) in enumerate(scores.items()) for split, acc in enumerate(values)])
    summary, statistics = tables.summarize_grid(folds, SearchRecord.from_dict(META), 0.05, margin=margin)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        summary.to_csv(out_dir / "summary.csv", index=False)
        folds.to_csv(out_dir / "folds.csv", index=False)
        (out_dir / "stats.json").write_text(json.dumps(statistics))
        (out_dir / "search.json").write_text(json.dumps(META))
        (out_dir / ".hydra").mkdir(exist_ok=True)
        (out_dir / ".hydra" / "config.yaml").write_text(f"mode: grid\nstats:\n  margin: {margin}\n")
    return summary, statistics


def test_each_standing_is_one_line_best_first():
    summary, statistics = crafted()
    assert list(summary["outcome"]) == ["best", "equivalent", "inconclusive", "worse"]
    heading, lines = summary_view.decision(summary, statistics)
    assert "9 splits" in heading and "95% CIs" in heading and "margin ±0.50 points" in heading
    assert [key for key, _ in lines] == ["Best", "Equivalent, either will do", "Worse",
                                         "Inconclusive, the data cannot tell"]
    text = dict(lines)
    assert text["Best"].startswith("a, accuracy ")
    assert "equivalent to a within ±0.50 points" in text["Equivalent, either will do"]
    assert text["Worse"].startswith("c -3.") and text["Inconclusive, the data cannot tell"].startswith("d ")


def test_the_design_that_would_tell_is_the_power_sentences_with_its_cost_in_fits():
    summary, statistics = crafted()
    design = statistics["power"]["design"]
    assert design["aim"] == "equivalence" and design["target"] == pytest.approx(0.005)
    folds, repeats = design["folds"], design["repeats"]
    assert design["splits"] == folds * repeats and design["fits"] == folds * repeats * 4  # 4 candidates
    clause = (f"cv.folds={folds} cv.repeats={repeats} would usually tell ({folds * repeats} splits, "
              f"{design['fits']} fits)")
    assert dict(summary_view.decision(summary, statistics)[1])["Inconclusive, the data cannot tell"].endswith(
        clause + ".")
    # the verdict's power sentence names the same design
    power = next(line for line in statistics["verdict"] if "would usually be shown equivalent" in line)
    assert f"to reach the margin, run cv.folds={folds} cv.repeats={repeats} ({folds * repeats} splits, " \
           f"{design['fits']} fits for 4 candidates)" in power


def test_where_seeds_were_measured_the_design_may_change_cv_inits_and_counts_every_seeds_fits():
    """Two seeds per split whose spread dwarfs the split's: the design with the fewest fits takes more seeds, and
    the decision, the power sentence and stats.json name the same one."""
    rng = np.random.default_rng(3)
    base = 0.95 + rng.normal(0, 0.004, SPLITS)
    folds = pd.DataFrame([{"label": label, "candidate": c, "activation": label, "split": s * 2 + k, "repeat": s // 3,
                           "fold": s % 3, "init": k, "seed": 1000 * s + k, "test_accuracy": acc,
                           "test_balanced_accuracy": acc, "test_log_loss": 0.3, "fit_time": 1.0, "epochs": 2,
                           "status": "ok", "error": "", "n_train": 8000, "n_test": N_TEST, "n_fit": N_FIT, "fit": ""}
                          for c, (label, shift, seed_sd) in enumerate([("a", 0, 0.001), ("b", -0.001, 0.006),
                                                                       ("c", -0.002, 0.006)])
                          for s in range(SPLITS) for k in range(2)
                          for acc in [base[s] + shift + rng.normal(0, seed_sd)]])
    meta = {**META, "n_inits": 2, "splits": [{**META["splits"][0], "init": k} for _ in range(SPLITS) for k in range(2)]}
    summary, statistics = tables.summarize_grid(folds, SearchRecord.from_dict(meta), 0.05, margin=0.5)
    parts = statistics["variance_components"]["mean"]
    assert parts["seed"] + parts["residual"] > 10 * parts["split"]
    design = statistics["power"]["design"]
    folds_n, repeats, inits = design["folds"], design["repeats"], design["inits"]
    assert inits > 2 and design["fits"] == folds_n * repeats * inits * 3 and design["most_inits"] == 5
    clause = (f"cv.folds={folds_n} cv.repeats={repeats} cv.inits={inits} would usually tell ({folds_n * repeats} "
              f"splits at {inits} seeds each, {design['fits']} fits).")
    assert dict(summary_view.decision(summary, statistics)[1])["Inconclusive, the data cannot tell"].endswith(clause)
    power = next(line for line in statistics["verdict"] if "would usually be shown equivalent" in line)
    assert (f"to reach the margin, run cv.folds={folds_n} cv.repeats={repeats} cv.inits={inits} ({folds_n * repeats} "
            f"splits at {inits} seeds each, {design['fits']} fits for 3 candidates)") in power


def test_without_a_margin_the_decision_says_separated_or_not():
    summary, statistics = crafted(margin=0, spreads=(0.0005, 0.004, 0.008))
    heading, lines = summary_view.decision(summary, statistics)
    assert "stats.margin=0: separated or not, no equivalence" in heading
    assert [key for key, _ in lines] == ["Best", "Worse", "Not separated"]
    assert not any("equivalent" in text.lower() for _, text in lines)
    design = statistics["power"]["design"]
    assert design["aim"] == "difference" and design["target"] == pytest.approx(0.01) and design["folds"]
    assert dict(lines)["Not separated"].endswith(
        f"cv.folds={design['folds']} cv.repeats={design['repeats']} would usually find a difference of "
        f"1.00 points ({design['splits']} splits, {design['fits']} fits).")
    assert f"run cv.folds={design['folds']} cv.repeats={design['repeats']} ({design['splits']} splits" in \
        statistics["verdict"][-1] or any(f"cv.folds={design['folds']} cv.repeats={design['repeats']}" in line
                                         for line in statistics["verdict"])
    # a study that already finds a 1-point difference names no design
    assert crafted(margin=0)[1]["power"]["design"] is None


class Page(HTMLParser):
    """The decision's lines and the compact table's rows (its first table) of a report.html."""

    def __init__(self):
        super().__init__()
        self.decision, self.rows, self.head, self.where, self.tables = [], [], [], None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "li" and self.where == "decision":
            self.decision.append("")
        elif tag == "section":
            self.where = dict(attrs).get("id")
        elif tag == "table":
            self.tables += 1
        elif tag == "tr" and self.tables == 1:
            self.rows.append([])
        elif tag in ("td", "th") and self.tables == 1:
            self.rows[-1].append("")

    def handle_data(self, data):
        if self.where == "decision" and self.decision and self.lasttag in ("li", "strong"):
            self.decision[-1] += data
        elif self.tables == 1 and self.rows and self.lasttag in ("td", "th"):
            self.rows[-1][-1] += data


NUMBERS = re.compile(r"(?P<name>\w+)(?:, accuracy (?P<accuracy>\d\.\d{4} \(\d\.\d{4} – \d\.\d{4}\))| "
                     r"(?P<diff>[+-]\d+\.\d{2} \([+-]\d+\.\d{2} to [+-]\d+\.\d{2}\)))")


@pytest.mark.parametrize("margin", [0.5, 0])
def test_every_number_of_the_decision_is_the_tables(tmp_path, margin):
    crafted(tmp_path, margin=margin)
    write_grid_report(load(tmp_path))
    page = Page()
    page.feed((tmp_path / "report.html").read_text())
    page.decision = [line.strip() for line in page.decision]
    header, *rows = [[cell.strip() for cell in row] for row in page.rows]
    assert header == summary_view.compact_columns()
    table = {row[1]: dict(zip(header, row)) for row in rows}
    found = [m for line in page.decision for m in NUMBERS.finditer(line)]
    assert {m["name"] for m in found} == set(table)  # every candidate, each with its numbers
    for m in found:
        if m["accuracy"]:
            assert table[m["name"]]["accuracy (95% CI)"] == m["accuracy"]
        else:
            assert table[m["name"]]["diff. to best, points (95% CI)"] == m["diff"]
    # and summary.md's decision is the page's
    study = load(tmp_path)
    markdown = summary_view.summary_markdown(study.summary, study.search, study.statistics)
    assert all(f"- {line}\n" in markdown for line in page.decision)
    assert markdown.startswith("Decision (")


@pytest.mark.parametrize("width", [80, 100, 140])
def test_the_console_table_fits_its_width(width):
    summary, statistics = crafted()
    summary.loc[summary["label"] == "d", "note"] = "unstable: split 3 far from the others " * 3
    text = summary_view.console_text(summary, statistics, width=width)
    decision, table = text.split("\n\n")
    assert decision.startswith("Decision (") and "Best: a" in decision
    assert max(len(line) for line in (decision + "\n" + table).splitlines()) <= width, text
    assert table.splitlines()[0].split()[:2] == ["rank", "candidate"]


def _grid(make_cfg, tmp_path, *more):
    return run(make_cfg(["mode=grid", "cv.n_jobs=1", "grid.activation=[relu,tanh]", "model.hidden=[16]", *more]),
               tmp_path)


def test_a_grid_prints_its_progress_decision_table_and_report_only(make_cfg, tmp_path, capsys):
    _grid(make_cfg, tmp_path)
    out = capsys.readouterr().out
    lines = out.splitlines()
    decision = next(i for i, line in enumerate(lines) if line.startswith("Decision ("))
    assert lines[-1] == f"report: {tmp_path / 'report.html'}"
    assert any(line.startswith("rank") and "candidate" in line for line in lines[decision:])
    assert all(line.startswith(("grid: ", "  2 candidates: epoch")) for line in lines[:decision]), lines[:decision]
    for said in ("[CV ", "Fitting ", "summary_md:", "hiplot.html", "Nadeau-Bengio", "highest mean"):
        assert said not in out, said


def test_train_verbose_2_brings_the_long_form_back(make_cfg, tmp_path, capsys):
    _grid(make_cfg, tmp_path, "train.verbose=2")
    out = capsys.readouterr().out
    for said in ("[CV ", "Fitting 3 folds for each of 2 candidates", "summary_md:", "hiplot.html", "Nadeau-Bengio",
                 "highest mean", "Decision ("):
        assert said in out, said


@pytest.mark.slow
def test_the_jobs_log_keeps_what_the_console_leaves_out(cli, tmp_path):
    done = cli(["mode=grid", "data=digits", "train.epochs=1", "cv.n_jobs=1", "cv.repeats=1",
                "grid.activation=[relu,tanh]", f"hydra.run.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "run.log").read_text()
    for said in ("[CV 1/3] END", "Fitting 3 folds", "summary_md: ", "Nadeau-Bengio", "Decision ("):
        assert said in log, said
    assert "[CV " not in done.stdout and "summary_md:" not in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == f"report: {tmp_path / 'report.html'}"


def test_src_report_prints_the_short_answer_and_its_verbose_flag_the_long_form(make_cfg, tmp_path, capsys):
    from src.report import main

    _grid(make_cfg, tmp_path)
    capsys.readouterr()
    assert main([str(tmp_path)]) == 0
    quiet = capsys.readouterr().out
    assert quiet.startswith("Decision (") and quiet.rstrip().endswith(f"report: {tmp_path / 'report.html'}")
    assert "summary_md:" not in quiet and "Nadeau-Bengio" not in quiet
    assert main([str(tmp_path), "-v"]) == 0
    loud = capsys.readouterr().out
    assert "summary_md: " in loud and "Nadeau-Bengio" in loud and "Decision (" in loud


def test_gridsearchcvs_lines_move_a_bar_of_fits():
    import io
    import logging
    from functools import partial

    from tqdm import tqdm

    from src.progress import Bars

    shown = io.StringIO()
    bars = Bars(partial(tqdm, file=shown, mininterval=0))
    lines = ["Fitting 3 folds for each of 2 candidates, totalling 6 fits"] + [
        f"[CV {split}/3] END module__activation={name}; accuracy: (test=0.900) total time=   0.1s"
        for name in ("relu", "tanh") for split in (1, 2, 3)]
    for line in lines:
        bars.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))
    assert "fits: 100%" in shown.getvalue() and "6/6" in shown.getvalue() and bars.bars == {}
