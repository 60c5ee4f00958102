"""The Python API (`src.api`): a study run from Python writes the command line's dir and reads back."""
import io
import logging
from functools import partial

import pandas as pd
import pytest
from matplotlib.figure import Figure
from tqdm import tqdm

from src import api
from src.progress import Bars
from src.report import rebuild


def test_a_run_writes_the_dir_the_command_line_writes(grid_study):
    path = grid_study.path
    assert grid_study.kind == "grid"
    assert "mode=grid" in (path / ".hydra" / "overrides.yaml").read_text()
    assert "mode: grid" in (path / ".hydra" / "config.yaml").read_text()
    assert ": epoch 2/2, train loss" in (path / api.JOB_LOG).read_text()  # the job's .log keeps the lines
    assert "summary" in rebuild(path)  # python -m src.report works on it


def test_a_study_gives_its_tables_verdict_curves_and_hiplot(grid_study):
    study = api.load(grid_study.path)
    assert isinstance(study.summary, pd.DataFrame) and len(study.summary) == 3
    assert isinstance(study.folds, pd.DataFrame) and len(study.folds) == 9
    assert study.tuning is None and study.halving is None
    assert "highest mean cross-validated accuracy" in study.verdict
    assert isinstance(study.curves(), Figure)
    assert len(study.hiplot().datapoints) == 3
    shown = study._repr_html_()
    assert "<table" in shown and "vs best" in shown and study.verdict.splitlines()[0][:40] in shown
    # as report.html opens: the decision, the compact table with every column a click away, the verdict collapsed
    assert shown.index('id="decision"') < shown.index('id="summary"') < shown.index("<details><summary>All columns")
    assert shown.index("All columns") < shown.index("<details><summary>Verdict") and "report.html" in shown


def test_a_run_prints_few_lines_and_leaves_the_decision_to_its_display(tmp_path, capsys):
    from tests.conftest import DATA_ROOT, FAST

    study = api.run(*FAST, f"data.root={DATA_ROOT}", "mode=grid", "grid.activation=[relu,tanh]",
                    out_dir=tmp_path / "study")
    out = capsys.readouterr().out.splitlines()
    printed = [line for line in out if ": epoch " not in line]  # the epoch lines are bars in a notebook
    assert len(printed) <= 5 and all(line.startswith("grid: ") for line in printed), out
    log = (study.path / api.JOB_LOG).read_text()
    for said in ("Decision (", "[CV ", "summary_md: ", "report: "):
        assert said in log, said  # the job's log keeps what the cell leaves out


def test_a_tuned_study_gives_its_tuning_table(tuned_study):
    assert set(tuned_study.tuning["lr"]) == {0.01, 0.1}
    assert "tuned setting" in tuned_study._repr_html_()


def test_bad_input_raises_the_command_lines_line(cli, tmp_path):
    with pytest.raises(api.UserError) as raised:
        api.run("activation=nope", out_dir=tmp_path / "bad")
    said = cli(["activation=nope"]).stderr.strip().splitlines()[-1]
    assert said == f"error: {raised.value}"
    assert not (tmp_path / "bad").exists()
    with pytest.raises(api.UserError, match="holds no results"):
        api.load(tmp_path)


def test_progress_records_move_one_bar_per_stack(grid_study):
    shown = io.StringIO()
    bars = Bars(partial(tqdm, file=shown, mininterval=0))
    for line in (grid_study.path / api.JOB_LOG).read_text().splitlines():
        if "] - " in line:  # a record's first line (the summary spans several)
            bars.handle(logging.makeLogRecord({"msg": line.split("] - ", 1)[1], "levelno": logging.INFO}))
    assert "3 candidates: 100%" in shown.getvalue() and "2/2" in shown.getvalue() and bars.bars == {}
