"""Gated hidden layers: SwiGLU and GeGLU, with their widths matched to the plain MLP's parameter count."""
import pytest
import torch
from torch import nn

from src.model.mlp import MLP, Gated, count_params, matched_widths
from src.validate import validate

pytestmark = pytest.mark.usefixtures("one_thread")


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("n_features, n_classes, hidden", [
    (784, 10, [128, 64]), (784, 10, [512, 256]), (64, 10, [128, 64]), (784, 10, [128] * 8), (64, 10, [32])])
@pytest.mark.parametrize("activation", ["silu", "gelu", "relu"])
def test_a_gated_network_has_the_plain_ones_parameter_count_within_2_percent(n_features, n_classes, hidden,
                                                                            activation):
    plain = n_params(MLP(n_features, n_classes, hidden, activation))
    gated = n_params(MLP(n_features, n_classes, hidden, activation, layer="glu"))
    assert plain == count_params(n_features, n_classes, hidden)
    assert abs(gated - plain) <= 0.02 * plain, (gated, plain)


def test_swiglu_is_silu_of_the_gate_times_the_value():
    torch.manual_seed(0)
    mlp = MLP(6, 3, [8], "silu", layer="glu")
    linear, gated = mlp.hidden[0], mlp.hidden[1]
    width = matched_widths(6, 3, [8], 2)[0]
    assert isinstance(gated, Gated) and linear.out_features == 2 * width
    x = torch.randn(5, 6)
    h = linear(x)
    expected = mlp.output(nn.functional.silu(h[:, :width]) * h[:, width:])
    torch.testing.assert_close(mlp(x), expected)


def test_geglu_uses_gelu_and_each_layer_its_own_gate():
    mlp = MLP(6, 3, [8, 8], "gelu", layer="glu")
    gates = [m for m in mlp.hidden if isinstance(m, Gated)]
    assert len(gates) == 2 and all(isinstance(g.activation, nn.GELU) for g in gates)
    assert gates[0].activation is not gates[1].activation


def test_model_layer_reaches_the_network(make_cfg):
    net = validate(make_cfg(["model.layer=glu", "activation=silu"]))[0]
    assert net.network.layer == "glu"


@pytest.mark.slow
def test_the_tables_show_every_candidates_parameter_count(make_cfg, tmp_path):
    import pandas as pd

    from src.run import run

    run(make_cfg(["mode=grid", "activation=silu", "grid.activation=[silu]", "+grid.layer=[linear,glu]",
                  "cv.refit=false", "cv.n_jobs=1"]), tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("label")
    plain, gated = summary.loc["silu, layer=linear", "n_params"], summary.loc["silu, layer=glu", "n_params"]
    assert plain == count_params(64, 10, [128, 64]) and abs(gated - plain) <= 0.02 * plain
    assert (summary["status"] == "ok").all()
    header = next(line for line in (tmp_path / "summary.md").read_text().splitlines() if line.startswith("| rank"))
    assert "params" in header
