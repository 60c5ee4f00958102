"""End-to-end single runs on digits: the files, their contents, seeding and bad input."""
import json

import pandas as pd
import pytest

from src.run import run


def test_single_run_writes_history_metrics_and_hiplot(make_cfg, tmp_path):
    cfg = make_cfg(["train.epochs=8"])
    objective = run(cfg, tmp_path)
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history.columns[:6]) == ["epoch", "train_loss", "valid_loss", "valid_acc", "dur", "lr"]
    assert history["epoch"].tolist() == list(range(1, 9))
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert (history["lr"] == 0.01).all()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8
    assert metrics["activation"] == "relu" and metrics["dataset"] == "digits" and metrics["epochs"] == 8
    assert metrics["n_params"] == 64 * 128 + 128 + 128 * 64 + 64 + 64 * 10 + 10
    assert metrics["init"] == "kaiming_normal" and metrics["device"] == "cpu"
    assert objective == pytest.approx(history["valid_acc"].iloc[-1])
    html = (tmp_path / "history.html").read_text()
    assert "valid_acc" in html and '"hide": ["uid", "from_uid"]' in html.replace('\\"', '"')


def test_same_seed_same_history(make_cfg, tmp_path):
    histories = []
    for name in ("a", "b", "c"):
        seed = 3 if name != "c" else 4
        run(make_cfg([f"seed={seed}", "model.dropout=0.1"]), tmp_path / name)
        history = pd.read_csv(tmp_path / name / "history.csv")
        histories.append(history.drop(columns=[c for c in history.columns if c.endswith("dur")]))
    pd.testing.assert_frame_equal(histories[0], histories[1])
    assert not histories[0]["train_loss"].equals(histories[2]["train_loss"])


def test_activation_parameters_from_the_command_line(make_cfg, tmp_path):
    run(make_cfg(["activation={name:leaky_relu,negative_slope:0.2}"]), tmp_path / "dict")
    run(make_cfg(['activation="leaky_relu(negative_slope=0.2)"']), tmp_path / "call")
    for sub in ("dict", "call"):
        metrics = json.loads((tmp_path / sub / "metrics.json").read_text())
        assert metrics["activation"] == "leaky_relu(negative_slope=0.2)"


@pytest.mark.slow
def test_cli_single_run_and_bad_activation(cli, tmp_path):
    done = cli(["data=digits", "train.epochs=1", f"hydra.run.dir={tmp_path}/ok", "activation=selu"])
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "ok" / "metrics.json").read_text())["init"] == "lecun_normal"
    assert str(tmp_path / "ok") in done.stdout
    bad = cli(["activation=nope", f"hydra.run.dir={tmp_path}/bad"])
    assert bad.returncode != 0
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and "selu" in lines[0] and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()
