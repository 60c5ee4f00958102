"""The benchmark command: its options, and one tiny run of the three setups side by side."""
import pandas as pd
import pytest

from tests.conftest import MNIST_READY


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "--epochs must be > 0"),
    (["--subset", "-5"], "--subset must be > 0"),
    (["--parts", "a,zzz"], "unknown part 'zzz'"),
    (["--device", "tpu"], "unknown device 'tpu'"),
])
def test_bad_options_get_one_line(cli, args, needle, tmp_path):
    done = cli([*args, "--out", str(tmp_path)], module="src.bench")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and needle in done.stderr
    assert not (tmp_path / "bench.csv").exists()


@pytest.mark.slow
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
    assert "| a " in (tmp_path / "bench.md").read_text()
