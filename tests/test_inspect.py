"""``python -m src.inspect``: HiPlot's server over results dirs, opened in a real headless Chromium."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from src.errors import UserError
from src.inspect import page_url
from src.reporting.present.fetcher import fetch, read_studies, rows_of
from src.reporting.read.study import studies_under
from src.run import run
from tests.browser import column, hiplot_drawn, hiplot_state, severe_errors, start_chromium
from tests.conftest import FAST, ROOT, compose_config, run_cli


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """A folder of results, as outputs/ is."""
    return tmp_path_factory.mktemp("outputs")


@pytest.fixture(scope="module")
def grid_dir(outputs):
    """A grid on digits: the notebook's three activations, 3 folds, 1 epoch."""
    out = outputs / "grid"
    run(compose_config(["mode=grid", "cv.n_jobs=1", "train.epochs=1", "grid=notebook", "data.subset=400"]), out)
    return out


@pytest.fixture(scope="module")
def sweep_dir(outputs):
    """A multirun of two single runs (relu, tanh) on digits."""
    out = outputs / "sweep"
    done = run_cli(["-m", *FAST, "train.epochs=1", "data.subset=400", "activation=relu,tanh",
                    f"hydra.sweep.dir={out}"])
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
def test_rows_one_per_candidate_and_job_each_leading_back(outputs, grid_dir, sweep_dir):
    grid = rows_of(grid_dir)
    assert sorted(r["label"] for r in grid) == ["leaky_relu", "relu", "tanh"]
    assert {r["dir"] for r in grid} == {str(grid_dir.resolve())}
    assert all(r["report"].endswith("report.html") and os.path.exists(r["report"]) for r in grid)
    sweep = rows_of(sweep_dir)
    assert sorted(r["label"] for r in sweep) == ["relu", "tanh"]
    assert sorted(os.path.basename(r["dir"]) for r in sweep) == ["0", "1"]
    assert all(os.path.exists(r["report"]) for r in sweep)
    assert sorted(p.name for p in studies_under(outputs)) == ["grid", "sweep"]
    assert len(fetch(str(outputs)).datapoints) == 5


def test_an_unfinished_study_is_passed_over_and_named_not_a_traceback(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch\n1\n")
    (tmp_path / "run" / "metrics.json").write_text('{"activation": "relu", "test_accuracy": 0.5}')
    (tmp_path / "killed").mkdir()  # a grid killed after its search, before its tables
    (tmp_path / "killed" / "search.json").write_text("{}")
    rows, skipped = read_studies(tmp_path)
    assert [r["label"] for r in rows] == ["relu"]
    assert skipped == [(tmp_path / "killed", "no summary.csv")]
    assert len(fetch(str(tmp_path)).datapoints) == 1
    server = subprocess.Popen([sys.executable, "-m", "src.inspect", str(tmp_path), "--port", str(free_port())],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first, second = server.stdout.readline(), server.stdout.readline()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert first.startswith(f"skipped {tmp_path / 'killed'}: no summary.csv (unfinished or damaged"), first
    assert second.startswith("1 run, 1 line; open "), second
    shutil.rmtree(tmp_path / "run")
    with pytest.raises(UserError, match="holds no readable results: 1 unfinished or damaged"):
        read_studies(tmp_path)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    empty = run_cli([str(tmp_path)], module="src.inspect")
    assert empty.returncode == 2 and empty.stderr.strip().count("\n") == 0
    assert empty.stderr.startswith("error: ") and "holds no results" in empty.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "history.csv").write_text("epoch\n1\n")
        (tmp_path / "run" / "metrics.json").write_text('{"activation": "relu", "test_accuracy": 0.5}')
        taken = run_cli([str(tmp_path), "--port", str(port)], module="src.inspect")
    assert taken.returncode == 2 and taken.stderr.startswith("error: port") and taken.stderr.count("\n") == 1


@pytest.mark.browser
@pytest.mark.needs("chromium")
def test_server_draws_one_line_per_candidate_and_job(grid_dir, sweep_dir, tmp_path):
    port = free_port()
    env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONUNBUFFERED="1")
    server = subprocess.Popen([sys.executable, "-m", "src.inspect", str(grid_dir), str(sweep_dir), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    driver = None
    try:
        first = server.stdout.readline()
        assert first.startswith("1 grid, 1 sweep, 5 lines; open "), first
        url = re.search(r"open (http://127\.0\.0\.1:\d+/\S+)", first).group(1)
        driver = start_chromium(tmp_path / "profile")
        for page, lines, labels in ((url, 5, ["leaky_relu", "relu", "relu", "tanh", "tanh"]),
                                    (page_url([sweep_dir], port), 2, ["relu", "tanh"])):
            errors = open_page_url(driver, page)
            assert errors == [], f"JavaScript errors: {errors}"
            state = hiplot_state(driver)
            assert state["selected"] == [lines, lines] and state["entries"] == lines, state
            assert sorted(column(state, "label")) == labels
            assert state["drawn"] > 0 and state["coloured"] > 0
            if lines == 5:
                assert {"study", "kind", "label", "accuracy"} <= {a["name"] for a in state["axes"]}
                assert sorted(set(column(state, "study"))) == ["grid", "sweep"]
                shot = tmp_path / "inspect.png"
                assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        if driver is not None:
            driver.quit()
        server.send_signal(signal.SIGINT)
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0 and out.strip().endswith("stopped"), out[-2000:]


def open_page_url(driver, url, timeout=60.0):
    """Open a served page, wait until HiPlot drew it, and return the JavaScript errors it logged."""
    from selenium.webdriver.support.ui import WebDriverWait

    severe_errors(driver)
    driver.get(url)
    WebDriverWait(driver, timeout, poll_frequency=0.2).until(hiplot_drawn)
    return severe_errors(driver)
