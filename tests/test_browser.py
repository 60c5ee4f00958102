"""The HTML pages in a real headless Chromium: they load without JavaScript errors and draw their plots."""
import pytest
from selenium.webdriver.common.by import By

from src.run import run
from tests.browser import WINDOW, axis, column, hiplot_drawn, hiplot_state, open_page, start_chromium
from tests.conftest import compose_config

pytestmark = [pytest.mark.browser, pytest.mark.needs("chromium")]

ACTIVATIONS = ["leaky_relu", "relu", "tanh"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """One headless Chromium, with a fresh profile, for every test of this module."""
    browser = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    """A grid run on digits: the notebook's three activations, 3 folds, 2 epochs."""
    out = tmp_path_factory.mktemp("grid")
    run(compose_config(["mode=grid", "cv.n_jobs=1", "train.epochs=2", "grid=notebook"]), out)
    return out


@pytest.fixture(scope="module")
def single_dir(tmp_path_factory):
    """A single run on digits (relu, 2 epochs)."""
    out = tmp_path_factory.mktemp("single")
    run(compose_config([]), out)
    return out


def drawn_page(driver, path):
    """Open a HiPlot page, check it logged no errors, and return its `hiplot_state`."""
    errors = open_page(driver, path, ready=hiplot_drawn)
    assert errors == [], f"{path.name} logged JavaScript errors: {errors}"
    state = hiplot_state(driver)
    assert state["drawn"] > 0 and state["coloured"] > 0, f"{path.name}: no coloured lines drawn: {state}"
    return state


def test_open_page_reports_javascript_errors_but_not_a_missing_favicon(driver, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text('<html><head><link rel="icon" href="favicon.ico"></head><body>'
                    '<script>console.error("logged on purpose"); missingFunction();</script></body></html>')
    errors = open_page(driver, page)
    assert any("logged on purpose" in e for e in errors)
    assert any("missingFunction" in e for e in errors)
    assert not any("favicon" in e for e in errors)
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><p>fine</p></body></html>")
    assert open_page(driver, clean) == []  # errors of the previous page are not carried over


def test_candidates_page_draws_one_line_per_candidate(driver, grid_dir, tmp_path):
    state = drawn_page(driver, grid_dir / "hiplot.html")
    assert state["title"] == "candidates"
    names = [a["name"] for a in state["axes"]]
    # the verdict's axes are drawn; every other column is a hidden axis, still in the table
    assert {"activation", "mean_test_accuracy", "diff_to_best"} <= set(names)
    # a verdict column the same for every candidate (none separated on 3 splits) is kept off the plot
    separated = column(state, "separated_from_best")
    assert ("separated_from_best" in names) == (len(set(separated)) > 1) and "separated_from_best" in state["columns"]
    assert not {"log_loss_mean", "rank"} & set(names) and {"log_loss_mean", "rank"} <= set(state["columns"])
    assert "uid" not in names and "from_uid" not in names
    assert sorted(axis(state, "activation")["ticks"]) == ACTIVATIONS
    assert state["selected"] == [3, 3] and state["entries"] == 3
    assert sorted(column(state, "activation")) == ACTIVATIONS
    assert state["columns"][1] == "activation" and "mean_test_accuracy" in state["columns"]
    shot = tmp_path / "hiplot.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_folds_page_draws_one_line_per_fold(driver, grid_dir):
    state = drawn_page(driver, grid_dir / "hiplot_folds.html")
    assert state["title"] == "folds"
    names = [a["name"] for a in state["axes"]]
    assert {"activation", "fold", "test_accuracy", "test_log_loss"} <= set(names)
    # the 9 folds trained as one stack share its time: HiPlot keeps a constant column off the plot
    assert "fit_time" in state["columns"]
    assert sorted(axis(state, "activation")["ticks"]) == ACTIVATIONS
    assert state["selected"] == [9, 9] and state["entries"] == 9
    assert sorted(column(state, "activation")) == sorted(ACTIVATIONS * 3)
    assert sorted(column(state, "fold")) == ["0", "0", "0", "1", "1", "1", "2", "2", "2"]


def test_history_page_draws_one_line_per_epoch(driver, single_dir):
    state = drawn_page(driver, single_dir / "history.html")
    assert state["title"] == "history: relu"
    names = [a["name"] for a in state["axes"]]
    assert {"epoch", "train_loss", "valid_loss", "valid_acc"} <= set(names)
    assert state["selected"] == [2, 2] and state["entries"] == 2
    assert column(state, "epoch") == ["1", "2"]


def test_parameters_are_the_leftmost_axes(driver, grid_dir):
    for name, metric in (("hiplot.html", "mean_test_accuracy"), ("hiplot_folds.html", "test_accuracy")):
        names = [a["name"] for a in drawn_page(driver, grid_dir / name)["axes"]]
        assert names[0] == "activation" and names.index("activation") < names.index(metric), (name, names)


REPORT_SECTIONS = ("summary", "verdict", "curves", "activations", "diagnostics", "hiplot", "config")


@pytest.mark.parametrize("which", ["grid", "single"])
def test_report_page_loads_and_shows_its_parts(driver, grid_dir, single_dir, tmp_path, which):
    from selenium.webdriver.common.by import By

    folder = {"grid": grid_dir, "single": single_dir}[which]
    errors = open_page(driver, folder / "report.html")
    assert errors == [], f"report.html logged JavaScript errors: {errors}"
    for anchor in REPORT_SECTIONS:
        assert driver.find_elements(By.ID, anchor), f"report.html has no {anchor} section"
    images = driver.find_elements(By.CSS_SELECTOR, "img")
    assert len(images) >= 2  # learning curves and at least one activation plot
    assert all(driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
               for img in images), "an image of the report did not load"
    summary = driver.find_element(By.ID, "summary").text
    assert "relu" in summary
    if which == "grid":
        assert {"leaky_relu", "tanh"} <= set(summary.replace("\n", " ").split())
        assert "relu" in driver.find_element(By.ID, "verdict").text
    frame = driver.find_elements(By.CSS_SELECTOR, "#hiplot iframe")
    assert frame and frame[0].get_attribute("src").endswith((".html",))
    frame_height = driver.execute_script("return arguments[0].clientHeight", frame[0])
    shot = tmp_path / f"report_{which}.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # the frame shows the whole parallel plot of the page it holds, not its top part only
    open_page(driver, folder / frame[0].get_attribute("src").rsplit("/", 1)[-1],
              ready=lambda d: d.execute_script("return document.querySelector('.pplot-root g.dimension') !== null"))
    plot_bottom = driver.execute_script("return document.querySelector('.pplot-root').getBoundingClientRect().bottom")
    assert 300 < plot_bottom <= frame_height, (plot_bottom, frame_height)


def test_at_1280_pixels_the_compact_summary_fits_and_every_column_is_a_click_away(driver, tmp_path):
    """grid=all with halving (35 candidates, long statuses) in a 1280-pixel window: the decision comes first,
    the compact table (rank, candidate, accuracy and difference with their intervals, outcome, p, status) fits
    without scrolling sideways; the full table opens from its toggle and scrolls in its own box, each status cell
    wide enough to read."""
    run(compose_config(["mode=grid", "grid=all", "cv.n_jobs=1", "train.epochs=2", "search.halving=true",
                        "search.min_epochs=1"]), tmp_path)
    driver.set_window_size(1280, 1000)
    try:
        errors = open_page(driver, tmp_path / "report.html")
        assert errors == [], f"report.html logged JavaScript errors: {errors}"
        measure = """
            const page = document.documentElement;
            const boxes = Array.from(document.querySelectorAll('#summary .wide'));
            const top = id => document.getElementById(id).getBoundingClientRect().top;
            return {page: [page.scrollWidth, page.clientWidth], window: window.innerWidth,
                    boxes: boxes.map(b => [b.scrollWidth, b.clientWidth]),
                    order: [top('decision'), top('summary'), top('verdict'), top('method')],
                    headers: Array.from(boxes[0].querySelectorAll('th')).map(th => th.textContent),
                    cells: Array.from(document.querySelectorAll('#summary details td.prose'))
                        .filter(td => td.textContent.trim()).map(td => td.getBoundingClientRect().width)};"""
        found = driver.execute_script(measure)
        assert found["window"] <= 1280 and found["page"][0] <= found["page"][1], found
        assert found["order"] == sorted(found["order"]), found["order"]  # the answer first, the method after
        compact, full = found["boxes"]
        assert compact[0] <= compact[1], found  # the compact table fits: no sideways scrolling
        assert found["headers"] == ["rank", "candidate", "accuracy (95% CI)", "diff. to best, points (95% CI)",
                                    "vs best", "p (Holm)", "status"]
        toggle = driver.find_element(By.CSS_SELECTOR, "#summary details")
        assert toggle.get_attribute("open") is None  # the full table is one click away, closed
        toggle.find_element(By.CSS_SELECTOR, "summary").click()
        found = driver.execute_script(measure)
        compact, full = found["boxes"]
        assert full[0] > full[1] and found["page"][0] <= found["page"][1]  # it scrolls in its own box
        assert found["cells"] and min(found["cells"]) >= 26 * 16 * 0.85 * 0.9, found["cells"]  # 26rem at .85rem
        method = driver.find_element(By.CSS_SELECTOR, "#method details")
        assert method.get_attribute("open") is None  # the method paragraph is collapsed
    finally:
        driver.set_window_size(*WINDOW)
