"""Per-epoch diagnostics: what they measure, where they land, and that training is unchanged."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from src.data import datasets as data
from src.model.mlp import MLP
from src.columns import diagnostic_columns, is_diagnostic, last_values
from src.run import run
from src.training.diagnostics import bounds_of, layer_pairs, measure, probe_count, probe_rows
from src.training.net import make_net
from src.training.settings import NetSettings

CE = nn.CrossEntropyLoss()


def _batch(n=64, features=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def test_dead_units_and_gradients_of_a_relu_layer():
    torch.manual_seed(0)
    model = MLP(8, 3, hidden=[6, 4], activation="relu")
    with torch.no_grad():
        model.hidden[0].bias[:3] = -1e3  # units 0-2 of layer 1 never fire
    X, y = _batch()
    found = measure(model, X, y, CE)
    assert found["layer1_dead"] == pytest.approx(3 / 6)
    with torch.no_grad():
        h2 = model.hidden[:4](X)  # the second hidden layer's output
    assert found["layer2_dead"] == pytest.approx((h2 == 0).all(dim=0).float().mean().item())
    assert "layer1_saturated" not in found  # ReLU is unbounded
    assert found["layer1_grad_norm"] > 0 and found["output_grad_norm"] > 0
    assert set(found) == {f"layer{k}_{s}" for k in (1, 2) for s in ("dead", "mean", "std", "grad_norm")} | {
        "output_grad_norm"}
    out = torch.relu(model.hidden[0](X))
    assert found["layer1_mean"] == pytest.approx(out.mean().item(), rel=1e-5)
    assert found["layer1_std"] == pytest.approx(out.std().item(), rel=1e-5)


def test_gradient_norm_matches_autograd_and_leaves_grad_alone():
    torch.manual_seed(1)
    model = MLP(8, 3, hidden=[5], activation="tanh")
    X, y = _batch()
    found = measure(model, X, y, CE)
    CE(model(X), y).backward()
    expected = torch.sqrt(model.hidden[0].weight.grad.pow(2).sum() + model.hidden[0].bias.grad.pow(2).sum())
    assert found["layer1_grad_norm"] == pytest.approx(expected.item(), rel=1e-5)
    model.zero_grad(set_to_none=True)
    measure(model, X, y, CE)
    assert all(p.grad is None for p in model.parameters())


def test_saturation_of_bounded_activations():
    torch.manual_seed(0)
    model = MLP(8, 3, hidden=[16], activation="tanh")
    with torch.no_grad():
        model.hidden[0].weight.mul_(100.0)  # drive tanh into its bounds
    X, y = _batch()
    assert measure(model, X, y, CE)["layer1_saturated"] > 0.9
    with torch.no_grad():
        model.hidden[0].weight.mul_(1e-6)
        model.hidden[0].bias.zero_()
    assert measure(model, X, y, CE)["layer1_saturated"] == 0.0


def test_bounds_come_from_the_registry_or_the_module():
    assert bounds_of(nn.Sigmoid()) == (0.0, 1.0)
    assert bounds_of(nn.ReLU6()) == (0.0, 6.0)
    assert bounds_of(nn.Hardtanh(-2.0, 3.0)) == (-2.0, 3.0)
    assert bounds_of(nn.ReLU()) is None and bounds_of(nn.SELU()) is None


def test_crelu_layers_count_both_halves_and_dropout_is_skipped():
    model = MLP(8, 3, hidden=[4, 5], activation="crelu", dropout=0.5)
    assert [type(act).__name__ for _, act in layer_pairs(model)] == ["CReLU", "CReLU"]
    with torch.no_grad():
        model.hidden[0].weight.zero_()
        model.hidden[0].bias.zero_()
        model.hidden[0].bias[0] = 1.0  # only relu(x) of unit 0 fires: 1 of 2 x 4 outputs is alive
    found = measure(model, *_batch(), CE)
    assert found["layer1_dead"] == pytest.approx(7 / 8)
    assert model.training  # the probe restores the training mode


def test_probe_size_and_rows():
    assert probe_count(48000) == 256 and probe_count(6400) == 200 and probe_count(1000) == 32
    assert probe_count(20) == 20
    rows = probe_rows(6400, seed=3)
    assert len(rows) == 200 and len(set(rows)) == 200 and rows.max() < 6400
    np.testing.assert_array_equal(rows, probe_rows(6400, seed=3))
    state = torch.random.get_rng_state()
    probe_rows(6400)
    assert torch.equal(state, torch.random.get_rng_state())  # the global generator is untouched


def test_column_names():
    names = ["epoch", "layer2_dead", "output_grad_norm", "layer1_std", "layer10_mean", "layer1_dead", "output_dead",
             "layer0_dead", "dur"]
    assert diagnostic_columns(names) == ["layer1_dead", "layer1_std", "layer2_dead", "layer10_mean", "output_grad_norm"]
    assert not is_diagnostic("output_dead") and not is_diagnostic("layer0_dead")
    assert last_values([{"layer1_dead": 0.5, "epoch": 1}, {"layer1_dead": 0.25, "epoch": 2}]) == {"layer1_dead": 0.25}
    assert last_values([]) == {}


def test_training_is_the_same_with_and_without_diagnostics():
    dataset = data.load("digits", root="data")
    histories = []
    for enabled in (True, False):
        settings = NetSettings.of(hidden=[32, 16], dropout=0.2, epochs=3, verbose=0)
        net = make_net(dataset.n_features, dataset.n_classes, settings)
        if not enabled:
            net.set_params(callbacks__diagnostics=None)
        net.fit(dataset.X_train, dataset.y_train)
        histories.append([(row["train_loss"], row["valid_loss"], row["valid_acc"]) for row in net.history])
        if enabled:
            assert all("layer2_grad_norm" in row for row in net.history)
            diagnostics = dict(net.callbacks_)["diagnostics"]
            assert len(diagnostics.seconds_) == 3 and all(s > 0 for s in diagnostics.seconds_)
    assert histories[0] == histories[1]


def test_the_printed_log_keeps_its_usual_columns(capsys):
    dataset = data.load("digits", root="data")
    settings = NetSettings.of(hidden=[16], epochs=1, verbose=1)
    make_net(dataset.n_features, dataset.n_classes, settings).fit(dataset.X_train, dataset.y_train)
    out = capsys.readouterr().out
    assert "valid_acc" in out and "layer1" not in out and "grad_norm" not in out


def test_single_run_records_diagnostics(make_cfg, tmp_path):
    run(make_cfg(["activation=sigmoid", "model.hidden=[16,8]"]), tmp_path)
    history = pd.read_csv(tmp_path / "history.csv")
    expected = [f"layer{k}_{s}" for k in (1, 2) for s in ("dead", "saturated", "mean", "std", "grad_norm")]
    assert diagnostic_columns(history.columns) == expected + ["output_grad_norm"]
    assert history[expected].notna().all().all()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for name in expected + ["output_grad_norm"]:
        assert metrics[name] == pytest.approx(history[name].iloc[-1])


def test_grid_summary_has_mean_last_epoch_diagnostics(make_cfg, tmp_path):
    run(make_cfg(["mode=grid", "cv.n_jobs=1", "train.epochs=1", "grid.activation=[relu,tanh]", "cv.folds=2",
                  "cv.refit=false"]), tmp_path)
    folds = pd.read_csv(tmp_path / "folds.csv")
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("label")
    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "fits").glob("*.json")}
    for row in folds.itertuples():
        assert row.layer1_dead == pytest.approx(records[row.fit]["history"][-1]["layer1_dead"])
    for label, group in folds.groupby("label"):
        for column in ("layer1_dead", "layer2_mean", "layer1_grad_norm", "output_grad_norm"):
            assert summary.loc[label, column] == pytest.approx(group[column].mean())
    assert np.isnan(summary.loc["relu", "layer1_saturated"]) and summary.loc["tanh", "layer1_saturated"] == pytest.approx(
        folds.loc[folds.label == "tanh", "layer1_saturated"].mean())
    hiplot = (tmp_path / "hiplot.html").read_text()
    assert "layer1_dead" in hiplot and "layer2_grad_norm" in hiplot
