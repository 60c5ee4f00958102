"""Progress goes through logging: the console shows bare lines, each sweep job's .log keeps them."""
import json
import logging

import pytest

from src.logs import paths, to_console


@pytest.mark.slow
def test_a_sweep_jobs_log_holds_its_progress_and_summary(cli, tmp_path):
    done = cli(["-m", "data=digits", "mode=grid", "grid.activation=[relu,tanh]", "train.epochs=1",
                "cv.repeats=1", "cv.refit=false", "train.verbose=0", "device=cpu", f"hydra.sweep.dir={tmp_path}"])
    assert done.returncode == 0, done.stderr[-2000:]
    log = (tmp_path / "0" / "run.log").read_text()
    for line in ("grid: 2 candidates x 3 splits", "grid: training 2 candidates x 3 folds in 1 stack",
                 "2 candidates: epoch 1/1", "Decision (", "| rank", "summary_md:", "[CV 1/3] END"):
        assert line in log, line  # the job's log keeps everything ...
    for line in ("grid: 2 candidates x 3 splits", "grid: training 2 candidates x 3 folds in 1 stack",
                 "2 candidates: epoch 1/1", "Decision ("):
        assert line in done.stdout, line  # ... the console its progress and its decision ...
    assert "[CV 1/3] END" not in done.stdout and "Nadeau-Bengio" not in done.stdout  # ... not the long form ...
    assert "[src.modes.grid][INFO] - grid: 2 candidates" in log
    assert "[INFO]" not in done.stdout  # ... as bare messages
    # the sweep's own summary ends with its jobs' verdicts, on the console too
    verdict = json.loads((tmp_path / "0" / "stats.json").read_text())["verdict"]
    summary = (tmp_path / "summary.md").read_text()
    assert verdict and all(f"- job 0: {line}\n" in summary for line in verdict)
    assert f"job 0: {verdict[0]}" in done.stdout.split("summary_md:")[-2]
    # ... as bare lines too: Hydra's [HYDRA] prefix stays on Hydra's own lines only
    header = next(line for line in done.stdout.splitlines() if "|   job |" in line)
    assert header.startswith("|   job |"), header
    assert "[HYDRA] Launching" in done.stdout
    listed = [line for line in done.stdout.splitlines()[-6:] if ": " in line]
    assert len({line.index(": ") for line in listed}) == 1, listed  # the file names right-aligned


def test_paths_are_listed_with_their_names_right_aligned(capsys):
    to_console()
    paths(logging.getLogger("src.test"), {"summary": "a.csv", "learning_curves": "b.png"})
    assert capsys.readouterr().out == "        summary: a.csv\nlearning_curves: b.png\n"


def test_the_console_shows_each_record_once_on_the_current_stdout(capsys):
    to_console()
    to_console()
    logging.getLogger("src.test").info("a line")
    assert capsys.readouterr().out == "a line\n"


def test_output_piped_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    # `python -m src.report DIR | head -1`: once the reader has gone, no logging traceback per line
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch,train_loss,valid_loss,valid_acc\n1,2.0,2.1,0.5\n")
    (tmp_path / "run" / "metrics.json").write_text('{"activation": "relu", "test_accuracy": 0.5}')
    proc = subprocess.Popen([sys.executable, "-m", "src.report", str(tmp_path / "run")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader goes before the first line
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "Logging error" not in err, err[-2000:]
