"""report.html and learning_curves.png for single runs, grids and sweeps; statistics in the grid tables."""
import html
import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as sps

from src import layout
from src.report import rebuild
from src.reporting.compute import grid_tables as tables
from src.reporting.compute import stats, summary, two_samples
from src.reporting.present import curves, method, summary_view
from src.reporting.present import sweep_view as sweeps
from src.reporting.present.html import fmt, table_html
from src.reporting.read.study import load
from src.reporting.present.hiplot import HIPLOT_SHOWN
from src.reporting.write.report_files import write_grid_report
from src.defaults import ALPHA
from src.results import SearchRecord
from src.run import run

PNG = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "area", "base", "wbr"}


class TagChecker(HTMLParser):
    """Collects tags and checks that every non-void element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with {self.stack[-3:]} open")
        else:
            self.stack.pop()


def check_page(text):
    """Parse a page; return its tags after asserting it is well formed and script-free."""
    assert text.startswith("<!DOCTYPE html>")
    checker = TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.errors and not checker.stack, (checker.errors, checker.stack)
    names = [tag for tag, _ in checker.tags]
    assert "script" not in names and "<script" not in text.lower()
    assert not any(key.startswith("on") for _, attrs in checker.tags for key in attrs)
    return checker.tags


def _images(tags):
    return [attrs["src"] for tag, attrs in tags if tag == "img"]


# ---------------------------------------------------------------------------------------
# A crafted grid: hostile labels are escaped
# ---------------------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"


def _crafted_grid(out_dir, alpha=ALPHA):
    rng = np.random.default_rng(0)
    labels = [HOSTILE, "relu", 'tanh "quoted" & <b>']
    rows = []
    for c, label in enumerate(labels):
        for split in range(6):
            accuracy = 0.9 - 0.02 * c + rng.normal(0, 0.005)
            rows.append({"label": label, "candidate": c, "activation": label, "split": split, "repeat": split // 3,
                         "fold": split % 3, "test_accuracy": accuracy, "test_balanced_accuracy": accuracy,
                         "test_log_loss": 0.3, "fit_time": 1.0, "epochs": 2, "status": "ok", "error": "",
                         "n_train": 800, "n_test": 400, "fit": "", "layer1_dead": 0.1, "layer1_grad_norm": 0.5,
                         "output_grad_norm": 0.2})
    folds = pd.DataFrame(rows)
    meta = {"dataset": "digits", "n_train": 1200, "n_test": 450, "folds": 3, "repeats": 2, "refit": None, "swept": [],
            "splits": [{"n_train": 800, "n_test": 400}] * 6}
    summary = tables.summarize_grid(folds, SearchRecord.from_dict(meta), alpha)[0]
    statistics = tables.grid_statistics(folds, summary, claim=["relu", "tanh"], alpha=alpha)[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out_dir / "summary.csv", index=False)
    folds.to_csv(out_dir / "folds.csv", index=False)
    (out_dir / "stats.json").write_text(json.dumps(statistics))
    (out_dir / "search.json").write_text(json.dumps(meta))
    (out_dir / ".hydra").mkdir()
    (out_dir / ".hydra" / "config.yaml").write_text(f"mode: grid\nnote: '{HOSTILE}'\n")
    return summary, statistics


def test_labels_and_values_are_escaped(tmp_path):
    summary, statistics = _crafted_grid(tmp_path)
    assert summary["label"].iloc[0] == HOSTILE  # the best candidate
    write_grid_report(load(tmp_path))
    page = (tmp_path / "report.html").read_text()
    check_page(page)
    assert "<script>alert" not in page and "alert(1)</script>" not in page
    assert html.escape(HOSTILE) in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page and html.escape('tanh "quoted" & <b>') in page
    for line in statistics["verdict"]:
        assert html.escape(line) in page
    assert html.escape(statistics["claim"]["text"]) in page


def test_alpha_sets_the_level_of_every_interval_on_the_page(tmp_path):
    summary, statistics = _crafted_grid(tmp_path, alpha=0.01)
    write_grid_report(load(tmp_path))
    page = (tmp_path / "report.html").read_text()
    assert "99% CI" in page and "diff. to best, points (99% CI)" in page and "99% confidence intervals" in page
    assert "95%" not in page.split('id="curves"')[0]  # the learning curves' band is drawn apart
    assert all("95%" not in line for line in statistics["verdict"])
    markdown = summary_view.summary_markdown(summary, load(tmp_path).search, statistics)
    assert "99% CI" in markdown and "99% confidence intervals" in markdown and "95%" not in markdown
    # The table's interval is the verdict's.
    best = summary.iloc[0]
    assert f"99% CI {best['ci_low']:.4f}-{best['ci_high']:.4f}" in statistics["verdict"][0]
    assert f"{best['ci_low']:.4f} – {best['ci_high']:.4f}" in page
    # The spread between splits, floored by the binomial variance of 400 test rows (no fit rows recorded: 800).
    p = best["accuracy_mean"]
    half = sps.t.ppf(0.995, 5) * np.sqrt((1 / 6 + 400 / 800) * max(best["accuracy_std"] ** 2, p * (1 - p) / 400))
    assert (best["ci_low"], best["ci_high"]) == pytest.approx((best["accuracy_mean"] - half, best["accuracy_mean"] + half))


def test_alpha_is_read_from_the_saved_config(tmp_path):
    assert load(tmp_path).alpha == ALPHA
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("stats:\n  alpha: 0.01\n")
    assert load(tmp_path).alpha == 0.01
    (tmp_path / "search.json").write_text(json.dumps({"swept": [], "splits": [], "alpha": 0.1}))
    assert load(tmp_path).alpha == 0.1


def test_each_activations_init_is_named_where_auto_gave_them_different_ones(grid):
    meta = json.loads((grid / "search.json").read_text())
    assert meta["inits"] == {"relu": "kaiming_normal", "tanh": "xavier_normal", "sigmoid": "xavier_normal"}
    line = ("Weights were initialised with each activation's own recipe (model.init=auto): He (kaiming_normal) "
            "for relu; Glorot (xavier_normal) for tanh, sigmoid.")
    assert line in (grid / "summary.md").read_text()
    assert line in html.unescape((grid / "report.html").read_text())
    assert method.init_lines(SearchRecord(inits={"relu": "kaiming_normal", "gelu": "default"}))[0].endswith(
        "He (kaiming_normal) for relu; PyTorch's default for gelu. A difference between candidates of different "
        "inits may come from the init as well as the activation; model.init=kaiming_normal (or another) gives "
        "every candidate the same.")
    # one init for all (configured, or the same recipe): nothing to say
    assert method.init_lines(SearchRecord(inits={"relu": "kaiming_normal", "leaky_relu": "kaiming_normal"})) == []
    assert method.init_lines(SearchRecord(inits=None)) == []


def test_a_row_without_numbers_gives_its_status_the_empty_cells_before_it():
    frame = pd.DataFrame({"candidate": ["relu", "gelu"], "vs best": ["best", "stopped early"],
                          "accuracy": [0.97, ""], "p": ["", ""], "status": ["", "stopped at epoch 4"]})
    page = table_html(frame, ["candidate", "vs best"], prose_columns=["status"], spanned=[False, True])
    rows = page.split("<tr")[2:]
    assert rows[0].count("<td") == 5 and "colspan" not in rows[0]
    assert rows[1].count("<td") == 3
    assert '<td class="text">stopped early</td><td class="text prose" colspan="3">stopped at epoch 4</td>' in rows[1]
    assert "colspan" not in table_html(frame, ["candidate", "vs best"], prose_columns=["status"])


def test_numbers_in_cells():
    assert fmt(float("nan")) == "" and fmt(None) == "" and fmt(True) == "yes" and fmt(np.int64(3)) == "3"
    assert fmt(0.123456) == "0.1235" and fmt(1.5e-6) == "1.500e-06" and fmt("<i>") == "<i>"


# ---------------------------------------------------------------------------------------
# A real grid on digits
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    from tests.conftest import compose_config

    out = tmp_path_factory.mktemp("grid")
    run(compose_config(["mode=grid", "cv.n_jobs=1", "train.epochs=2", "grid.activation=[relu,tanh,sigmoid]",
                        "cv.folds=2", "cv.repeats=2", "model.hidden=[32]"]), out)
    return out


def test_summary_has_the_statistics_of_the_folds(grid):
    folds = pd.read_csv(grid / "folds.csv")
    table = pd.read_csv(grid / "summary.csv")
    expected = summary.summarize(folds, "test_accuracy", bounds=(0, 1), n_test=folds["n_test"].max())
    expected = expected.set_index("label")
    for row in table.itertuples():
        assert row.ci_low <= row.accuracy_mean <= row.ci_high
        for column in ("ci_low", "ci_high", "diff_to_best", "diff_low", "diff_high", "p_vs_best", "p_holm"):
            assert getattr(row, column) == pytest.approx(expected.loc[row.label, column], nan_ok=True)
        assert row.separated_from_best == expected.loc[row.label, "separated_from_best"]
    assert not table["separated_from_best"].iloc[0] and np.isnan(table["p_vs_best"].iloc[0])
    tested = table["p_holm"].notna()
    assert (table.loc[tested, "p_holm"] >= table.loc[tested, "p_vs_best"]).all()
    statistics = json.loads((grid / "stats.json").read_text())
    assert "friedman" not in statistics and len(statistics["pairs"]) == 3 and statistics["n_splits"] == 4
    md = (grid / "summary.md").read_text()
    assert "CI " in md and "Friedman" not in md and "p (Holm)" in md and "diff. to best" in md
    for line in statistics["verdict"]:
        assert line in md
    power = next(line for line in statistics["verdict"] if line.startswith("Only 4 splits"))
    # The remedy is named exactly when the difference found is more than the target.
    assert ("cv.repeats=" in power) == (statistics["power"]["detectable"] > statistics["power"]["target"])
    assert statistics["claim"] is None


def test_the_candidates_hiplot_page_shows_the_verdict_axes_and_hides_the_rest(grid):
    page = (grid / "hiplot.html").read_text().replace('\\"', '"')
    hidden = page.split('"PARALLEL_PLOT": {"hide": [', 1)[1].split("]", 1)[0]
    hidden = [a.strip().strip('"') for a in hidden.split(",")]
    summary = pd.read_csv(grid / "summary.csv")
    shown = ["activation", *HIPLOT_SHOWN]
    assert not set(shown) & set(hidden)
    assert {"accuracy_std", "p_holm", "log_loss_mean", "rank"} <= set(hidden)
    assert any(c.startswith("layer1") for c in hidden) and len(shown) <= 10
    table_hidden = page.split('"TABLE": {"hide": [', 1)[1].split("]", 1)[0]
    assert "p_holm" not in table_hidden and "accuracy_std" not in table_hidden  # still columns of the table
    assert all(f'"{c}"' in page for c in ("p_holm", "log_loss_mean", *[c for c in summary if c.startswith("layer1")]))


def test_grid_report_page(grid):
    page = (grid / "report.html").read_text()
    tags = check_page(page)
    images = _images(tags)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    frames = [attrs["src"] for tag, attrs in tags if tag == "iframe"]
    assert frames == ["hiplot.html"]
    for section in ("summary", "verdict", "curves", "diagnostics", "hiplot", "config"):
        assert f'id="{section}"' in page
    for label in ("relu", "tanh", "sigmoid"):
        assert f">{label}<" in page
    assert "95% CI" in page and "Friedman" not in page and "layer1" in page
    assert "diff. to best, points (95% CI)" in page
    # each candidate but the best stands against it in the compact table and in the full one
    words = ("worse", "not separated", "untestable", "equivalent", "inconclusive")
    assert sum(page.count(f">{word}<") for word in words) == 2 * 2
    assert (grid / "learning_curves.png").read_bytes().startswith(PNG)


def test_report_rebuilds_the_page_and_curves(grid):
    (grid / "report.html").unlink()
    (grid / "learning_curves.png").unlink()
    written = rebuild(grid)
    assert _images(check_page(written["report"].read_text()))
    assert written["learning_curves"].read_bytes().startswith(PNG)


def test_grid_curves_average_the_fold_histories(grid):
    histories, sizes = curves.grid_histories(load(grid))
    assert list(histories) == list(pd.read_csv(grid / "summary.csv")["label"])
    assert all(len(fits) == 4 for fits in histories.values())
    band = curves.mean_band(histories["relu"], "valid_acc", *sizes["relu"])
    values = [fit["valid_acc"].iloc[-1] for fit in histories["relu"]]
    mean, low, high = two_samples.confidence_interval(values, sizes["relu"][0], sizes["relu"][1])
    assert band.iloc[-1][["mean", "low", "high"]].tolist() == pytest.approx([mean, low, high])


def test_many_candidates_all_in_the_legend_and_accuracy_bands_within_bounds():
    """30 candidates (grid=all with halving): every one is named in the legend, which fits in the
    figure, and no accuracy band leaves [0, 1] although the intervals of 3 spread fits would."""
    rng = np.random.default_rng(0)
    histories = {f"act{i}": [pd.DataFrame({"epoch": [1, 2, 3], "valid_acc": np.clip(rng.normal(0.5, 0.4, 3), 0, 1),
                                           "train_loss": rng.uniform(0.1, 2.0, 3)}) for _ in range(3)]
                 for i in range(30)}
    assert any(not curves.mean_band(fits, "valid_acc")[["low", "high"]].stack().between(0, 1).all()
               for fits in histories.values())  # the intervals themselves leave the bounds
    fig = curves.plot_candidates(histories, "candidates", halted={"act29"})
    fig.canvas.draw()
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][-1] == "act29 (n=3, stopped)"
    assert len(legend.get_texts()) == 30
    box, page = legend.get_window_extent(), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    bands = [c for c in fig.axes[0].collections]
    assert bands and all(0 <= y <= 1 for band in bands for path in band.get_paths() for y in path.vertices[:, 1])


def test_a_loss_band_reaching_zero_runs_to_the_bottom_of_the_log_axis():
    """Spread losses give an interval below 0, which a log axis cannot show: the band is drawn down
    to the axis' bottom at every epoch instead of vanishing where its lower end is not positive."""
    losses = [[2.0, 0.9, 0.05], [2.1, 0.2, 0.04], [2.2, 1.6, 1.5]]
    histories = {"relu": [pd.DataFrame({"epoch": [1, 2, 3], "valid_acc": [0.5, 0.6, 0.7], "train_loss": loss})
                          for loss in losses]}
    band = curves.mean_band(histories["relu"], "train_loss")
    assert band["low"].iloc[0] > 0 and (band["low"].iloc[1:] <= 0).all()
    fig = curves.plot_candidates(histories, "candidates")
    fig.canvas.draw()
    loss_ax = fig.axes[1]
    bottom = loss_ax.get_ylim()[0]
    assert 0 < bottom < band["low"].iloc[0]
    (path,) = loss_ax.collections[0].get_paths()
    vertices = path.vertices[np.isfinite(path.vertices).all(1)]
    for epoch in (2, 3):  # where the interval reaches 0, the band's lower edge is the axis' bottom
        at = vertices[vertices[:, 0] == epoch][:, 1]
        assert at.min() == pytest.approx(bottom) and at.max() == pytest.approx(band["high"].iloc[epoch - 1])
    # bands that stay above 0 are drawn whole, on an axis scaled to them as usual
    tight = {"relu": [pd.DataFrame({"epoch": [1, 2], "valid_acc": [0.5, 0.6], "train_loss": [2.0 + d, 1.0 + d]})
                      for d in (0.0, 0.05, 0.1)]}
    fig = curves.plot_candidates(tight, "candidates")
    fig.canvas.draw()
    (path,) = fig.axes[1].collections[0].get_paths()
    lows = curves.mean_band(tight["relu"], "train_loss")["low"]
    assert path.vertices[:, 1].min() == pytest.approx(lows.min()) and fig.axes[1].get_ylim()[0] > lows.min() / 2


def test_mean_band_with_fits_of_different_lengths():
    fits = [pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [3.0, 2.0, 1.0]}),
            pd.DataFrame({"epoch": [1, 2], "train_loss": [5.0, 4.0]})]
    band = curves.mean_band(fits, "train_loss")
    assert band["mean"].tolist() == [4.0, 3.0, 1.0] and band["n"].tolist() == [2, 2, 1]
    assert np.isnan(band["low"].iloc[-1])


# ---------------------------------------------------------------------------------------
# Single runs and sweeps
# ---------------------------------------------------------------------------------------

def test_single_run_report(make_cfg, tmp_path):
    run(make_cfg(["activation=elu", "model.hidden=[16]"]), tmp_path)
    assert (tmp_path / "learning_curves.png").read_bytes().startswith(PNG)
    page = (tmp_path / "report.html").read_text()
    tags = check_page(page)
    assert _images(tags)[0].startswith("data:image/png;base64,")
    assert [attrs["src"] for tag, attrs in tags if tag == "iframe"] == ["history.html"]
    assert "elu: single run" in page and "test_accuracy" in page and "layer1" in page
    (tmp_path / "report.html").unlink()
    again = rebuild(tmp_path)["report"].read_text()
    check_page(again)
    assert "elu: single run" in again


def _job(job_dir, activation, accuracy):
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"activation={activation}", "data=digits"]))
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [2.0, 1.0, 0.5], "valid_loss": [2.1, 1.2, 0.7],
                            "valid_acc": [0.5, 0.7, accuracy], "dur": 0.1, "lr": 0.01,
                            "layer1_dead": [0.0, 0.1, 0.2], "output_grad_norm": [1.0, 0.5, 0.4]})
    history.to_csv(job_dir / "history.csv", index=False)
    (job_dir / "metrics.json").write_text(json.dumps({
        "activation": activation, "test_accuracy": accuracy, "test_loss": 0.4, "valid_accuracy": accuracy,
        "status": "ok", "layer1_dead": 0.2, "output_grad_norm": 0.4}))


def test_sweep_report(tmp_path):
    (tmp_path / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    _job(tmp_path / "0", "relu", 0.9)
    _job(tmp_path / "1", HOSTILE, 0.8)
    written = rebuild(tmp_path)
    assert written["learning_curves"].read_bytes().startswith(PNG)
    page = written["report"].read_text()
    tags = check_page(page)
    assert [attrs["src"] for tag, attrs in tags if tag == "iframe"] == ["hiplot.html"]
    assert "job 0: relu" in page and html.escape(f"job 1: {HOSTILE}") in page and "<script>alert" not in page
    assert curves.job_labels([load(tmp_path / "0"), load(tmp_path / "1")]) == ["0: activation=relu",
                                                                                f"1: activation={HOSTILE}"]
    assert sweeps.SINGLE_FITS in page and (tmp_path / "summary.md").read_text().endswith(f"\n\n{sweeps.SINGLE_FITS}\n")


def test_a_sweep_of_single_runs_names_the_grid_that_would_compare_them(tmp_path):
    (tmp_path / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    _job(tmp_path / "0", "relu", 0.9)
    _job(tmp_path / "1", "tanh", 0.8)
    rebuild(tmp_path)
    note = (tmp_path / "summary.md").read_text().rstrip().splitlines()[-1]
    assert note.startswith(sweeps.SINGLE_FITS)
    assert note.endswith("run them as one grid: python -m src.run mode=grid 'grid.activation=[relu,tanh]' data=digits")


def test_a_sweep_table_shows_what_its_jobs_vary_and_says_what_they_share_once(tmp_path):
    (tmp_path / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    _job(tmp_path / "0", "relu", 0.9)
    _job(tmp_path / "1", "tanh", 0.8)
    rebuild(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("Every job: data=digits\n\n")
    header = [c.strip() for c in next(l for l in text.splitlines() if l.startswith("|")).strip("|").split("|")]
    assert header[:3] == ["job", "activation", "test_accuracy"] and "data" not in header and "label" not in header
    assert "Every job: data=digits" in (tmp_path / "report.html").read_text()


def test_a_sweep_of_grids_shows_each_job_as_its_grid_summary_shows_it(grid, tmp_path):
    import shutil

    (tmp_path / "multirun.yaml").write_text("hydra:\n  mode: MULTIRUN\n")
    for job, lr in ((0, 0.01), (1, 0.1)):
        shutil.copytree(grid, tmp_path / str(job))
        layout.overrides_file(tmp_path / str(job)).parent.mkdir(exist_ok=True)
        layout.overrides_file(tmp_path / str(job)).write_text(f"- mode=grid\n- optimizer.lr={lr}\n")
    rebuild(tmp_path)
    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("Every job: mode=grid\n\n")
    header = [c.strip() for c in next(l for l in text.splitlines() if l.startswith("|")).strip("|").split("|")]
    shown = list(summary_view.view(pd.read_csv(grid / "summary.csv"))[0].columns)
    assert header == ["job", "optimizer.lr", *shown]
    best = pd.read_csv(grid / "summary.csv").iloc[0]
    assert f"{best['accuracy_mean']:.4f} ± {best['accuracy_std']:.4f}" in text  # formatted as in the grid's own table
    rows = pd.read_csv(tmp_path / "summary.csv")  # each job's candidates together, in its own ranking
    assert rows["job"].tolist() == [0, 0, 0, 1, 1, 1] and rows["rank"].tolist() == [1, 2, 3, 1, 2, 3]


def test_mean_band_skips_fits_without_the_column_and_their_sizes():
    fits = [pd.DataFrame({"epoch": [1, 2], "valid_acc": [0.5, 0.7]}),
            pd.DataFrame({"epoch": [1], "train_loss": [2.0]}),  # failed before validating: no valid_acc
            pd.DataFrame({"epoch": [1, 2], "valid_acc": [0.6, 0.9]})]
    band = curves.mean_band(fits, "valid_acc", n_train=[90, 10, 90], n_test=[10, 90, 10])
    mean, low, high = two_samples.confidence_interval([0.7, 0.9], [90, 90], [10, 10])
    assert band.iloc[-1][["mean", "low", "high"]].tolist() == pytest.approx([mean, low, high])
    assert band["n"].tolist() == [2, 2]


def test_a_swept_seed_is_shown_in_the_sweep_tables(tmp_path):
    """``seed`` is left out of a sweep's tables (every job records it) unless the sweep sets it."""
    from src.reporting.present.sweep_view import shown_columns

    frame = pd.DataFrame({"job": [0, 1], "activation": ["relu", "tanh"], "seed": [0, 0], "device": ["cpu", "cpu"],
                          "test_accuracy": [0.9, 0.8]})
    jobs = []
    for job, overrides in enumerate((["activation=relu"], ["activation=tanh"])):
        folder = tmp_path / "sweep" / str(job)
        layout.overrides_file(folder).parent.mkdir(parents=True)
        layout.overrides_file(folder).write_text("".join(f"- {o}\n" for o in overrides))
        jobs.append(load(folder))
    assert shown_columns(frame, jobs) == ["job", "activation", "test_accuracy"]
    for job, study in enumerate(jobs):
        layout.overrides_file(study.path).write_text(f"- seed={job}\n")
    jobs = [load(study.path) for study in jobs]
    assert shown_columns(frame, jobs) == ["job", "activation", "seed", "test_accuracy"]


def test_a_loss_axis_of_less_than_a_decade_labels_its_lowest_ticks():
    """A short run's loss falls from 2.4 to 0.78: the ticks below 1 carry numbers too, not only 1 and 2."""
    history = pd.DataFrame({"epoch": [1, 2, 3, 4, 5], "valid_acc": [0.1, 0.3, 0.2, 0.7, 0.8],
                            "train_loss": [2.4, 2.3, 2.2, 1.7, 0.78], "valid_loss": [2.35, 2.25, 2.0, 1.1, 0.92]})
    fig = curves.plot_history(history, "run")
    fig.canvas.draw()
    low, high = fig.axes[1].get_ylim()
    labelled = [float(t.get_text()) for t in fig.axes[1].get_yticklabels(minor=True) + fig.axes[1].get_yticklabels()
                if t.get_text() and low <= float(t.get_text()) <= high]
    assert {0.8, 0.9, 1.0, 2.0} <= set(labelled)


def test_fit_seconds_below_one_keep_two_significant_digits(grid):
    frame = pd.read_csv(grid / "summary.csv")
    frame["fit_time_mean"] = [0.028, 1.234, np.nan]
    shown, _ = summary_view.view(frame)
    assert shown["fit s"].tolist() == ["0.028", "1.2", ""]


@pytest.mark.parametrize("value,shown", [(0.0123, "0.012"), (0.5, "0.5"), (1.04, "1.0"), (73.26, "73.3"),
                                         (float("nan"), ""), (None, "")])
def test_seconds_keep_two_significant_digits_below_one(value, shown):
    assert summary_view.seconds(value) == shown
