"""Rankings across studies: Friedman, Nemenyi and the critical difference checked against their formulas."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from src.compare import main
from src.reporting.compute import across as cmp


def ranks_frame(matrix, labels=None):
    matrix = np.asarray(matrix, dtype=float)
    labels = labels or [f"a{i}" for i in range(matrix.shape[1])]
    return pd.DataFrame(matrix, index=[f"s{i}" for i in range(matrix.shape[0])], columns=labels)


def random_ranks(n, k, seed):
    rng = np.random.default_rng(seed)
    return ranks_frame([rng.permutation(k) + 1 for _ in range(n)])


@pytest.mark.parametrize("n, k, seed", [(6, 5, 0), (12, 4, 1), (3, 7, 2)])
def test_nemenyi_p_values_are_the_studentized_range_of_the_mean_rank_gaps(n, k, seed):
    ranks = random_ranks(n, k, seed)
    p = cmp.nemenyi(ranks)
    mean = ranks.mean(axis=0)
    se = math.sqrt(k * (k + 1) / (6.0 * n))
    for a in ranks.columns:
        for b in ranks.columns:
            if a != b:
                q = abs(mean[a] - mean[b]) / se * math.sqrt(2)
                assert p.loc[a, b] == pytest.approx(sps.studentized_range.sf(q, k, np.inf), abs=2e-3)


def test_the_critical_difference_is_demsars():
    # Demšar (2006), table 5(a): q_0.05 for k = 2..6 is 1.960, 2.343, 2.569, 2.728, 2.850
    for k, q in zip(range(2, 7), (1.960, 2.343, 2.569, 2.728, 2.850)):
        assert cmp.critical_difference(k, 10) == pytest.approx(q * math.sqrt(k * (k + 1) / 60.0), abs=2e-3)


def test_a_pair_is_separated_exactly_when_its_gap_exceeds_the_critical_difference():
    ranks = random_ranks(30, 4, 3)
    ranks["a0"], ranks["a3"] = 1.0, 4.0  # a0 always first, a3 always last
    ranks[["a1", "a2"]] = np.where(np.arange(30)[:, None] % 2 == 0, [2.0, 3.0], [3.0, 2.0])
    studies = [cmp.ComparedStudy(name, None, pd.DataFrame({"label": ranks.columns, "accuracy": 1 - ranks.loc[name] / 10}))
               for name in ranks.index]
    result = cmp.compare(studies)
    cd = result["cd"]
    assert result["friedman"]["p"] < 0.05
    for pair in result["pairs"]:
        assert pair["separated"] == (abs(pair["rank_difference"]) > cd), pair
    assert any(p["separated"] for p in result["pairs"]) and not all(p["separated"] for p in result["pairs"])


def test_friedman_is_the_textbook_statistic_without_ties():
    ranks = random_ranks(8, 5, 4)
    n, k = ranks.shape
    expected = 12 * n / (k * (k + 1)) * ((ranks.mean(axis=0) ** 2).sum() - k * (k + 1) ** 2 / 4)
    statistic, p = cmp.friedman(ranks)
    assert statistic == pytest.approx(expected) and p == pytest.approx(sps.chi2.sf(expected, k - 1))


def test_ranks_put_failures_last_and_share_ties():
    scores = ranks_frame([[0.9, 0.9, np.nan, 0.5]], ["a", "b", "c", "d"])
    assert cmp.rank_table(scores).iloc[0].tolist() == [1.5, 1.5, 4.0, 3.0]


def _study(name, accuracies):
    return cmp.ComparedStudy(name, None, pd.DataFrame({"label": list(accuracies), "accuracy": list(accuracies.values())}))


def test_two_studies_are_too_few_and_the_verdict_says_so_without_ties():
    studies = [_study("mnist", {"relu": 0.98, "tanh": 0.97, "sigmoid": 0.95}),
               _study("digits", {"relu": 0.96, "tanh": 0.95, "sigmoid": 0.90})]
    text = " ".join(cmp.compare(studies)["verdict"])
    assert "Too few studies to separate anything" in text and "at least 3 studies" in text
    assert "not separated" in text and "tied" not in text
    single = " ".join(cmp.compare(studies[:1])["verdict"])
    assert "A single study cannot show" in single and "tied" not in single
    two = " ".join(cmp.compare([_study(name, {"relu": 0.98, "tanh": 0.97}) for name in ("a", "b", "c")])["verdict"])
    assert "The pair is not separated" in two and "1 pairs" not in two


def test_studies_without_a_shared_activation_say_none_is_common():
    disjoint = cmp.compare([_study("a", {"relu": 0.98, "tanh": 0.97}), _study("b", {"selu": 0.96, "gelu": 0.95})])
    assert disjoint["verdict"] == ["No activation is common to all studies: there is nothing to compare."]
    one = cmp.compare([_study("a", {"relu": 0.98, "tanh": 0.97}), _study("b", {"relu": 0.96, "gelu": 0.95})])
    assert one["verdict"] == ["Only 1 activation is common to all studies: there is nothing to compare."]


def test_many_consistent_studies_separate_the_first_from_the_last():
    studies = [_study(f"s{i}", {"selu": 0.99, "relu": 0.98 - 0.001 * (i % 2), "tanh": 0.975, "sigmoid": 0.9})
               for i in range(12)]
    result = cmp.compare(studies)
    table = result["table"].set_index("activation")
    assert table.loc["sigmoid", "separated_from_best"] and not table.loc["relu", "separated_from_best"]
    assert any(line.startswith("sigmoid ranks worse than selu") for line in result["verdict"])


def test_studies_on_the_same_rows_are_named_as_not_independent():
    """Seeds on one data set share every row (their splits differ), a depth sweep shares rows and
    splits; subsets drawn by different seeds, or other data sets, are independent."""
    def study(name, seed, subset=None, data="digits"):
        config = {"data": {"name": data, "subset": subset}, "seed": seed, "cv": {"folds": 3, "repeats": 1}}
        return cmp.ComparedStudy(name, None, pd.DataFrame({"label": ["relu", "tanh", "gelu"], "accuracy": [0.9, 0.8, 0.7]}),
                         config)

    seeds = cmp.compare([study(f"seed={i}", i) for i in range(3)])
    assert seeds["shared_data"] == [{"studies": ["seed=0", "seed=1", "seed=2"], "same_splits": False}]
    assert any(line.startswith("Studies seed=0, seed=1, seed=2 were trained on the same rows (the same data settings; "
                               "only their seeds or cross-validation, and so their splits, differ)")
               for line in seeds["verdict"])
    depths = cmp.compare([study(f"depth={i}", 0) for i in range(3)])
    assert depths["shared_data"] == [{"studies": ["depth=0", "depth=1", "depth=2"], "same_splits": True}]
    assert any("were trained on the same rows and splits" in line for line in depths["verdict"])
    subsets = cmp.compare([study(f"seed={i}", i, subset=300) for i in range(3)])
    other_data = cmp.compare([study(name, 0, data=name) for name in ("digits", "mnist", "fashion_mnist")])
    for independent in (subsets, other_data):
        assert independent["shared_data"] == []
        assert not any("were trained on" in line for line in independent["verdict"])


def test_the_separated_pairs_are_named_with_the_right_number():
    studies = [_study(f"s{i}", {"selu": 0.99, "relu": 0.98 - 0.001 * (i % 2), "tanh": 0.975, "sigmoid": 0.9})
               for i in range(12)]
    lines = cmp.compare(studies)["verdict"]
    line = next(line for line in lines if "pairs is separated" in line or "pairs are separated" in line)
    separated = [p for p in cmp.compare(studies)["pairs"] if p["separated"]]
    verb = "is" if len(separated) == 1 else "are"
    named = ", ".join(f"{p['first']} and {p['second']}" for p in separated)
    assert line.startswith(f"{len(separated)} of the 6 pairs {verb} separated ({named}; Nemenyi")


def fake_grid(folder, accuracies, costs, stopped=()):
    folder.mkdir(parents=True)
    (folder / "search.json").write_text(json.dumps({"dataset": folder.name}))
    pd.DataFrame({"rank": range(1, len(accuracies) + 1), "label": list(accuracies),
                  "activation": list(accuracies), "accuracy_mean": list(accuracies.values()),
                  "step_cost": [costs[a] for a in accuracies],
                  "status": ["stopped" if a in stopped else "ok" for a in accuracies],
                  "halted_at": [4 if a in stopped else np.nan for a in accuracies]}).to_csv(
        folder / "summary.csv", index=False)
    return folder


def test_a_candidate_stopped_by_halving_is_left_out_not_ranked_as_failed(tmp_path):
    costs = {"relu": 1.0, "tanh": 1.0, "sigmoid": 1.0}
    dirs = [fake_grid(tmp_path / name, {"relu": 0.9, "tanh": 0.8, "sigmoid": np.nan if name == "a" else 0.7},
                      costs, stopped=("sigmoid",) if name == "a" else ())
            for name in ("a", "b", "c")]
    studies = cmp.collect(dirs)
    assert "sigmoid" not in studies[0].rows["label"].values
    scores, left_out = cmp.accuracy_table(studies)
    assert list(scores.columns) == ["relu", "tanh"] and left_out == ["sigmoid"]


def test_the_command_writes_table_diagram_and_page(tmp_path, capsys):
    costs = {"relu": 1.0, "gelu": 1.4, "tanh": 1.1, "extra": 1.0}
    dirs = [fake_grid(tmp_path / name, {"relu": 0.9 + d, "gelu": 0.91 + d, "tanh": 0.85 + d, **extra}, costs)
            for name, d, extra in (("a", 0.0, {}), ("b", 0.02, {}), ("c", -0.1, {"extra": 0.99}))]
    out = tmp_path / "out"
    assert main([*map(str, dirs), "--out", str(out)]) == 0
    table = pd.read_csv(out / "compare.csv")
    assert table["activation"].tolist() == ["gelu", "relu", "tanh"]
    assert table["mean_rank"].tolist() == [1.0, 2.0, 3.0]
    assert table["step_cost"].tolist() == pytest.approx([1.4, 1.0, 1.1])
    assert (out / "cd_diagram.png").stat().st_size > 5_000
    page = (out / "compare.html").read_text()
    assert "critical-difference diagram" in page and "Nemenyi" in page and "extra" in page  # left out, and said
    stats = json.loads((out / "compare.json").read_text())
    assert stats["post_hoc"].startswith("Nemenyi") and stats["left_out"] == ["extra"]
    assert "gelu has the best mean rank" in capsys.readouterr().out


def test_a_folder_without_studies_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.csv").write_text("epoch\n1\n")
    assert main([str(tmp_path / "run"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "a single run" in err


def test_an_unfinished_grid_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "killed").mkdir()  # killed after its search, before its tables
    (tmp_path / "killed" / "search.json").write_text("{}")
    assert main([str(tmp_path / "killed"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "grid without summary.csv: it did not finish" in err
    assert not (tmp_path / "out").exists()


def test_the_critical_difference_bar_stays_clear_of_the_rank_axis_labels():
    from src.reporting.present.across_page import cd_figure

    studies = [_study(f"s{i}", {"selu": 0.99, "relu": 0.98 - 0.001 * (i % 2), "tanh": 0.975, "sigmoid": 0.9})
               for i in range(12)]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = cd_figure(cmp.compare(studies))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    cd_text = next(t for t in ax.texts if t.get_text().startswith("CD = "))
    bar = ax.lines[-1].get_window_extent(renderer)
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all(not cd_text.get_window_extent(renderer).overlaps(box) for box in ticks)
    assert bar.y0 > max(box.y1 for box in ticks)  # the bar runs above the labels, not through them


def test_the_shown_table_names_its_columns_for_reading_and_rounds_ranks():
    from src.reporting.present.across_page import markdown

    studies = [_study(f"s{i}", {"selu": 0.99, "relu": 0.98 - 0.001 * (i % 2), "tanh": 0.975}) for i in range(4)]
    text = markdown(cmp.compare(studies))
    header = next(line for line in text.splitlines() if line.startswith("| activation"))
    assert [c.strip() for c in header.strip("|").split("|")] == [
        "activation", "rank in s0", "rank in s1", "rank in s2", "rank in s3", "mean rank", "mean accuracy",
        "step cost vs relu", "p vs best (Nemenyi)", "vs best"]
    selu = next(line for line in text.splitlines() if line.startswith("| selu"))
    assert [c.strip() for c in selu.strip("|").split("|")][:6] == ["selu", "1.00", "1.00", "1.00", "1.00", "1.00"]


def test_the_rank_axis_runs_from_1_to_k_in_whole_ranks_even_when_the_ranks_are_close():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from src.reporting.present.across_page import cd_figure

    # two studies that rank three activations in opposite orders: every mean rank is 2
    studies = [_study("a", {"relu": 0.9, "tanh": 0.8, "gelu": 0.85}),
               _study("b", {"relu": 0.8, "tanh": 0.9, "gelu": 0.85})]
    fig = cd_figure(cmp.compare(studies))
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[0]
    low, high = sorted(ax.get_xlim())
    assert low <= 1 < 1.1 and 2.9 < 3 <= high  # not 1.99 to 2.01
    assert [t.get_text() for t in ax.get_xticklabels() if low <= t.get_position()[0] <= high] == ["1", "2", "3"]


@pytest.mark.parametrize("value,shown", [("[128,128,128,128]", "[128]*4"), ("[128, 128, 128]", "[128]*3"),
                                         ("[128,128]", "[128,128]"), ("[256,128,128]", "[256,128,128]"),
                                         ("[[1,1],[1,1],[1,1]]", "[[1,1],[1,1],[1,1]]"), ("relu", "relu"), (3, "3")])
def test_a_study_named_by_a_long_list_of_one_size_is_named_short(value, shown):
    from src.params import short

    assert short(value) == shown


def test_the_depth_plot_names_each_activations_init():
    from src.reporting.compute.depth import depth_frame
    from src.reporting.present.depth_plot import legend_label

    def study(hidden, init):
        rows = pd.DataFrame({"label": ["relu", "gelu", "selu", "examples.my_activation:Fancy", "gone.module:Act"],
                             "accuracy": [0.9, 0.8, 0.85, 0.7, 0.6], "layer1_std": [1.0, 0.5, 1.0, 1.0, 1.0]})
        return cmp.ComparedStudy(f"model.hidden={hidden}", Path("."), rows, {"model": {"hidden": hidden, "init": init}})

    frame = depth_frame([study([8, 8], "auto"), study([8, 8, 8, 8], "auto")])
    shown = [legend_label(label, frame) for label in ("relu", "gelu", "selu", "examples.my_activation:Fancy")]
    assert shown == ["relu (He)", "gelu (PyTorch's default)", "selu (LeCun)",
                     "examples.my_activation:Fancy (PyTorch's default)"]
    assert legend_label("gone.module:Act", frame) == "gone.module:Act"  # no longer importable: no init named
    fixed = depth_frame([study([8, 8], "xavier_normal"), study([8, 8, 8, 8], "xavier_normal")])
    assert legend_label("relu", fixed) == "relu (Glorot)"
    mixed = depth_frame([study([8, 8], "auto"), study([8, 8, 8, 8], "xavier_normal")])
    assert legend_label("relu", mixed) == "relu"
