"""The benchmark command: its options, and one tiny run of the three setups side by side."""
import pandas as pd
import pytest

from tests.conftest import MNIST_READY


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "--epochs must be > 0"),
    # one process is the entry point's smoke test; the other options start one each
    pytest.param(["--subset", "-5"], "--subset must be > 0", marks=pytest.mark.slow),
    pytest.param(["--parts", "a,zzz"], "unknown part 'zzz'", marks=pytest.mark.slow),
    pytest.param(["--device", "tpu"], "unknown device 'tpu'", marks=pytest.mark.slow),
    pytest.param(["--repeat", "0"], "--repeat must be > 0", marks=pytest.mark.slow),
])
def test_bad_options_get_one_line(cli, args, needle, tmp_path):
    done = cli([*args, "--out", str(tmp_path)], module="src.bench")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and needle in done.stderr
    assert not (tmp_path / "bench.csv").exists()


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not MNIST_READY, reason="MNIST is not prepared (make data)")
def test_three_setups_side_by_side(cli, tmp_path):
    done = cli(["--epochs", "1", "--subset", "900", "--parts", "a,b,c", "--device", "cpu", "--out", str(tmp_path)],
               module="src.bench")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    table = pd.read_csv(tmp_path / "bench.csv").set_index("part")
    assert list(table.index) == ["a", "b", "c"]
    assert (table["wall_s"] > 0).all() and (table["peak_mem_mb"] > 100).all()
    assert table.loc["a", "ratio_to_b"] == pytest.approx(table.loc["a", "wall_s"] / table.loc["b", "wall_s"], abs=1e-3)
    for activation in ("relu", "tanh", "leaky_relu"):
        assert table[f"cv_acc_{activation}"].between(0.1, 1.0).all()  # ten classes: chance is 0.1
    # 900 images, 2/3 per fold, 80% after the validation split, 1 epoch, 9 fits
    assert table.loc["c", "train_samples_per_s"] == pytest.approx(900 * 2 / 3 * 0.8 * 9 / table.loc["c", "wall_s"],
                                                                rel=0.02)
    text = (tmp_path / "bench.md").read_text()
    assert "| a " in text and "matrix-product peak at" in text and "products alone" in text and "floor" in text
    # the stacked grid's own records give its training time, inside its wall time, and its rate
    a = table.loc["a"]
    assert 0 < a["train_s"] < a["wall_s"] and a["fixed_s"] == pytest.approx(a["wall_s"] - a["train_s"], abs=0.2)
    assert 0 < a["peak_frac"] < 1.5 and a["train_gflop_per_s"] > 0
    # the floor: a part of the fixed cost, timed on its own (on a busy machine it can come out above it)
    assert a["fixed_s"] - a["fixed_over_floor_s"] > 0


def test_repeated_parts_report_their_median_wall_time_and_highest_memory():
    from src.bench.figures import figures_table
    from src.bench.parts import PartRun

    scores = {"relu": 0.9, "tanh": 0.8, "leaky_relu": 0.85}
    runs = {"a": [PartRun(30.0, 900, scores, 60000, {}), PartRun(36.0, 950, scores, 60000, {}),
                  PartRun(31.0, 920, {**scores, "relu": 0.91}, 60000, {})],
            "b": [PartRun(100.0, 800, scores, 60000, {}), PartRun(120.0, 800, scores, 60000, {}),
                  PartRun(104.0, 810, scores, 60000, {})]}
    table = figures_table(runs, epochs=25, repeat=3).set_index("part")
    assert table.loc["a", "wall_s"] == 31.0 and table.loc["b", "wall_s"] == 104.0
    assert table.loc["a", "wall_s_runs"] == "30.0 36.0 31.0"
    assert table.loc["a", "peak_mem_mb"] == 950 and table.loc["a", "cv_acc_relu"] == 0.91  # the last run's scores
    assert table.loc["a", "ratio_to_b"] == round(31.0 / 104.0, 3)
    assert "wall_s_runs" not in figures_table({"a": runs["a"][:1]}, epochs=25, repeat=1)


def test_an_epoch_of_the_stack_counts_every_product_once():
    from src.bench.limits import stack_epoch_flops

    # one member, one fit row, no validation: 784-128-64-10 forward, every weight gradient,
    # and the input gradients of the second and third layers
    forward = 2 * (784 * 128 + 128 * 64 + 64 * 10)
    assert stack_epoch_flops(1, 0, 1) == forward + forward + 2 * (128 * 64 + 64 * 10)
    assert stack_epoch_flops(32000, 8000, 9) == 9 * (32000 * stack_epoch_flops(1, 0, 1) + 8000 * forward)


def test_the_rate_of_a_stacked_grid_is_its_flops_over_its_training_seconds():
    from src.bench.figures import figures_table
    from src.bench.parts import PartRun

    scores = {"relu": 0.9, "tanh": 0.8, "leaky_relu": 0.85}
    figures = {"train_s": 20.0, "outside_s": 5.0, "train_gflop": 2000.0, "search_s": 21.0, "refit_s": 3.0}
    runs = {"a_refit": [PartRun(25.0, 900, scores, 60000, figures)]}
    limits = {"peak": 200.0, "products": 160.0, "floor": 3.5}
    row = figures_table(runs, epochs=25, repeat=1, limits=limits).set_index("part").loc["a_refit"]
    assert row["train_gflop_per_s"] == 100.0 and row["peak_frac"] == 0.5 and row["products_frac"] == 0.625
    assert row["fixed_s"] == 5.0 and row["fixed_frac"] == 0.2 and row["fixed_over_floor_s"] == 1.5
    assert row["refit_frac"] == round(3 / 25, 3) and row["candidate_frac"] == round(21 / 3 / 25, 3)


def test_the_peak_is_a_positive_rate():
    from src.bench.limits import sgemm_peak

    assert sgemm_peak(1, size=256, repeats=2) > 1.0  # GFLOP/s: any CPU of this century


def test_the_products_ceiling_runs_the_products_the_flop_count_counts(monkeypatch):
    """Every product of a stacked step, counted as they run, adds up to `stack_epoch_flops` of one batch."""
    import torch

    from src.bench.limits import products_rate, stack_epoch_flops

    done = []

    def counted(product):
        def run(a, b, *args, **kwargs):
            done.append(2 * a.shape[-2] * a.shape[-1] * b.shape[-1] * (a.shape[0] if a.dim() == 3 else 1))
            return product(a, b, *args, **kwargs)
        return run

    monkeypatch.setattr(torch, "mm", counted(torch.mm))
    monkeypatch.setattr(torch, "bmm", counted(torch.bmm))
    sizes = (40, 24, 12, 5)
    assert products_rate(1, candidates=2, folds=3, batch=16, sizes=sizes, repeats=3) > 0
    assert sum(done) == 5 * stack_epoch_flops(16, 0, 2 * 3, sizes)  # two warm-up steps and three timed


def test_measure_sees_a_childs_peak_memory_and_returns_when_it_ends():
    import sys
    import time

    from src.bench.sampler import measure

    code = "import time; import numpy as np; a = np.ones(200 * 2 ** 20 // 8); print('held', flush=True); time.sleep(1.5)"
    tic = time.perf_counter()
    wall, peak_mb, out = measure([sys.executable, "-c", code])
    elapsed = time.perf_counter() - tic
    assert out.strip() == "held" and wall >= 1.5
    assert peak_mb > 190  # the 200 MB it held, seen by a sample
    assert elapsed < wall + 0.5  # the sampler stops with the child, not after its next wait


@pytest.mark.slow
@pytest.mark.long
def test_the_step_budget_prints_each_part_of_the_step_and_the_compiled_step(capsys):
    import re

    from scripts.step_budget import main

    main(["--steps", "3", "--rounds", "1", "--threads", "1"])
    out = capsys.readouterr().out
    assert "compiled: first 8 steps (compiling)" in out
    line = next(row for row in out.splitlines() if row.startswith("round 1:"))
    figures = dict(re.findall(r"(eager|compiled|products|update|dispatch|gather) (\d+\.\d+) ms", line)
                   + re.findall(r"(products|update|dispatch|gather) (-?\d+\.\d+)", line))
    assert set(figures) == {"eager", "compiled", "products", "update", "dispatch", "gather"}
    assert all(float(v) > 0 for k, v in figures.items() if k != "update")  # the update is a difference of two timings: at 3 steps noise can make it negative
    assert float(figures["products"]) < float(figures["eager"])


def test_the_cnns_flops_count_each_convolution_and_linear_layer():
    from src.bench.limits import cnn_epoch_flops, cnn_row_flops
    from src.bench.notebook import notebook

    setup = notebook()
    keys = setup.cnn_keys
    assert keys["channels"] == (16, 32) and keys["kernel_size"] == 5 and keys["pool"] == 2
    first = 2 * 28 * 28 * 16 * 1 * 25
    second = 2 * 14 * 14 * 32 * 16 * 25
    widths = [32 * 7 * 7, *keys["hidden"], 10]
    forward = first + second + 2 * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
    assert cnn_row_flops(setup) == (forward, first)
    # forward, every weight gradient, every input gradient but the pixels'; validation rows forward only
    assert cnn_epoch_flops(10, 4, 3, setup) == 3 * (10 * (3 * forward - first) + 4 * forward)


def test_the_convolutions_rate_is_positive_and_the_cnn_part_is_read_against_it():
    from src.bench.figures import figures_table
    from src.bench.limits import conv_rate
    from src.bench.parts import PartRun

    assert conv_rate(1, batch=4, repeats=2) > 0.1  # GFLOP/s
    scores = {"relu": 0.9, "tanh": 0.8, "leaky_relu": 0.85}
    runs = {"cnn": [PartRun(100.0, 900, scores, 6000, {})], "cnn_b": [PartRun(200.0, 800, scores, 6000, {})]}
    table = figures_table(runs, epochs=2, repeat=1, limits={"convs": 50.0}).set_index("part")
    assert table.loc["cnn", "ratio_to_cnn_b"] == 0.5
    gflop = table.loc["cnn", "train_gflop"]
    assert table.loc["cnn", "conv_floor_s"] == pytest.approx(gflop / 50.0, abs=0.1)
    assert table.loc["cnn", "conv_floor_frac"] == pytest.approx(gflop / 50.0 / 100.0, abs=1e-3)
