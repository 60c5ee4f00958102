"""model=cnn and model.norm: the CNN's keys and shapes, the norm's place, every activation in the CNN, a CNN grid."""
import math

import pandas as pd
import pytest
import torch
from torch import nn

from src.config import schema
from src.data.datasets import LOADERS
from src.errors import UserError
from src.model import activations, networks
from src.model.cnn import CNN, PerChannel
from src.model.mlp import MLP
from src.training.diagnostics import layer_pairs
from src.training.grouping import stackable
from src.training.net import make_net
from src.training.settings import NetSettings
from src.validate import validate
from tests.conftest import api_study

pytestmark = pytest.mark.usefixtures("one_thread")

DIGITS = dict(n_classes=10, image_shape=(1, 8, 8))


def small_cnn(activation="relu", **kwargs):
    return CNN(**{**DIGITS, "hidden": [8], "channels": [3, 4], "activation": activation, **kwargs})


@pytest.mark.parametrize("override, needle", [
    ("model.channels=[]", "model.channels must list at least one"),
    ("model.channels=[16,0]", "every channel count in model.channels must be in [1, 1024], got 0"),
    ("model.kernel_size=12", "model.kernel_size must be in [1, 11], got 12"),
    ("model.pool=0", "model.pool must be in [1, 4], got 0"),
    ("model.norm=group", "model.norm"),
    ("model.layer=glu", "gated layers are the MLP's (model=mlp)"),
    ("search.halving=true", "only the MLP without a norm"),
])
def test_a_bad_cnn_key_is_refused_in_one_line(make_cfg, override, needle):
    with pytest.raises(UserError) as refused:
        schema.check(make_cfg(["model=cnn", "mode=grid", override]))
    assert needle in str(refused.value) and "\n" not in str(refused.value)


def test_a_bad_cnn_key_on_the_command_line_exits_2_in_one_line(cli):
    done = cli(["model=cnn", "model.kernel_size=0", "data=digits"])
    assert done.returncode == 2 and done.stderr.strip() == "error: model.kernel_size must be in [1, 11], got 0"


def test_the_mlp_refuses_the_cnns_keys_and_a_norm_in_a_halving_grid(make_cfg):
    with pytest.raises(Exception, match="model.channels"):
        make_cfg(["model.channels=[8]"])
    with pytest.raises(UserError, match="search.halving=true"):
        schema.check(make_cfg(["mode=grid", "model.norm=layer", "search.halving=true"]))


def test_a_cnn_grid_cannot_sweep_the_mlps_layer_kind(make_cfg):
    with pytest.raises(UserError, match=r"grid layer: model=cnn has no layer kind to sweep \(its layers are linear"):
        validate(make_cfg(["model=cnn", "mode=grid", "+grid.layer=[linear]"]))


def test_pooling_an_image_below_one_pixel_is_refused_before_any_data_are_loaded(make_cfg):
    with pytest.raises(UserError, match=r"a 8x8 image shrinks below one pixel; use at most 3 blocks"):
        validate(make_cfg(["model=cnn", "model.channels=[4,4,4,4]"]))


def test_each_data_set_says_its_image_shape_and_the_cnn_gets_it(make_cfg):
    assert {name: source.image_shape for name, source in LOADERS.items()} == {
        "mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "digits": (1, 8, 8)}
    cnn = validate(make_cfg(["model=cnn", "model.norm=batch"]))[0].network
    assert cnn.model == "cnn" and cnn.hidden == [128]
    assert cnn.module_kwargs == {"channels": [16, 32], "kernel_size": 5, "pool": 2, "norm": "batch",
                                 "image_shape": [1, 8, 8]}
    mlp = validate(make_cfg([]))[0].network
    assert mlp.model == "mlp" and mlp.module_kwargs == {}  # no norm: the fit keys studies had before


def test_the_rows_are_read_as_images_through_a_view_of_their_memory():
    cnn = small_cnn()
    seen = []
    cnn.hidden[0].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    X = torch.randn(5, 64)
    cnn(X)
    assert seen[0].shape == (5, 1, 8, 8) and seen[0].data_ptr() == X.data_ptr() and seen[0]._base is X


@pytest.mark.parametrize("norm, dense, conv", [("batch", nn.BatchNorm1d, nn.BatchNorm2d),
                                               ("layer", nn.LayerNorm, nn.GroupNorm)])
def test_the_norm_sits_between_each_linear_or_convolution_and_its_activation(norm, dense, conv):
    mlp = MLP(64, 10, [16, 8], "tanh", norm=norm)
    kinds = [type(layer) for layer in mlp.hidden]
    assert kinds == [nn.Linear, dense, nn.Tanh, nn.Linear, dense, nn.Tanh]
    assert [layer.normalized_shape if norm == "layer" else layer.num_features
            for layer in mlp.hidden if isinstance(layer, dense)] == ([(16,), (8,)] if norm == "layer" else [16, 8])
    cnn = small_cnn("tanh", norm=norm)
    kinds = [type(layer) for layer in cnn.hidden]
    assert kinds == [nn.Conv2d, conv, PerChannel, nn.MaxPool2d, nn.Conv2d, conv, PerChannel, nn.MaxPool2d,
                     nn.Flatten, nn.Linear, dense, nn.Tanh]
    assert [type(act) for _, act in layer_pairs(cnn)] == [nn.Tanh] * 3  # diagnostics skip the norm
    assert [type(layer) for layer in MLP(64, 10, [16], "tanh").hidden] == [nn.Linear, nn.Tanh]  # none: as before


def test_a_network_with_a_norm_or_a_cnn_trains_fit_by_fit_and_an_mlp_in_stacks():
    assert stackable(make_net(64, 10))
    assert not stackable(make_net(64, 10, NetSettings.of(module_kwargs={"norm": "batch"})))
    assert not stackable(make_net(64, 10, NetSettings.of(model="cnn", module_kwargs={"image_shape": [1, 8, 8]})))
    assert networks.stacks("mlp") and not networks.stacks("mlp", "layer") and not networks.stacks("cnn")


def _labels():
    own = ["examples.my_activation:Fancy", "prelu(per_unit=true)", "snake"]  # a user's, and per-unit parameters
    return activations.available() + own


@pytest.mark.parametrize("spec", _labels())
def test_every_activation_builds_and_steps_in_the_cnn(spec):
    torch.manual_seed(0)
    cnn = small_cnn(spec, init="auto")
    X = torch.randn(6, 64)
    out = cnn(X)
    assert out.shape == (6, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in cnn.parameters() if p.grad is not None)
    width = activations.entry(spec).width_factor
    convs = [m for m in cnn.hidden if isinstance(m, nn.Conv2d)]
    assert convs[1].in_channels == 3 * width  # CReLU doubles the channels, not the image's width
    assert sum(isinstance(m, PerChannel) for m in cnn.modules()) == 2  # a fresh activation per block


def test_a_per_unit_activation_has_a_parameter_per_channel_and_the_init_follows_the_activation():
    cnn = small_cnn("prelu(per_unit=true)")
    assert [m.activation.weight.shape[0] for m in cnn.hidden if isinstance(m, PerChannel)] == [3, 4]
    assert small_cnn("selu").init_scheme == "lecun_normal" and small_cnn("relu").init_scheme == "kaiming_normal"
    conv = small_cnn("selu").hidden[3].weight  # LeCun normal over the inputs of an output: 3 channels x 5 x 5
    assert conv.std().item() == pytest.approx(1 / math.sqrt(3 * 25), rel=0.25)
    with pytest.raises(UserError, match="the cnn reads rows of 100 features as 1x8x8 images, which hold 64"):
        make_net(100, 10, NetSettings.of(model="cnn", module_kwargs={"image_shape": [1, 8, 8]}))


def test_dropout_in_the_head_draws_from_the_fits_generator():
    from src.model import randomness

    cnn = small_cnn("selu", dropout=0.3)
    assert [type(m) for m in randomness.seeded_layers(cnn)] == [randomness.AlphaDropout]


def test_the_network_is_named_in_words():
    assert networks.describe({"name": "mlp", "hidden": [128, 64]}) == "an MLP (hidden layers of 128 and 64 units)"
    assert networks.describe({"name": "cnn", "hidden": [128], "channels": [16, 32], "kernel_size": 5, "pool": 2,
                              "norm": "batch"}) == (
        "a CNN (2 convolution blocks of 16 and 32 channels, 5x5 kernels, 2x2 max pooling; a dense head of 128 "
        "units) with batch norm before each activation")
    assert networks.describe(None) == ""


@pytest.fixture(scope="session")
def cnn_study(tmp_path_factory):
    """A small grid of the CNN on digits, run from Python."""
    return api_study(tmp_path_factory, "cnn", "model=cnn")


@pytest.mark.slow
def test_a_digits_grid_of_the_cnn_gives_a_full_summary(cnn_study):
    summary = cnn_study.summary
    assert list(summary["label"]) and set(summary["label"]) == {"relu", "tanh", "leaky_relu"}
    assert summary["accuracy_mean"].between(0.1, 1).all()
    assert not summary["status"].fillna("").astype(str).str.contains("failed|diverged").any()
    assert {"ci_low", "p_holm", "outcome", "step_cost", "n_params", "layer3_dead"} <= set(summary.columns)
    assert (summary["n_params"] == sum(p.numel() for p in CNN(**DIGITS, hidden=[128]).parameters())).all()
    assert "a CNN (2 convolution blocks of 16 and 32 channels" in (cnn_study.path / "summary.md").read_text()
    assert (cnn_study.path / "report.html").exists()


@pytest.mark.slow
def test_comparing_an_mlp_grid_and_a_cnn_grid_states_kendalls_tau(grid_study, cnn_study, tmp_path):
    from src.compare import main

    assert main([str(grid_study.path), str(cnn_study.path), "--out", str(tmp_path)]) == 0
    stats = pd.read_json(tmp_path / "compare.json", typ="series")
    pair = stats["transfer"][0]
    assert pair["n"] == 3 and -1 <= pair["tau"] <= 1 and pair["paired"]  # the same splits: resampled together
    assert pair["tau_low"] <= pair["tau"] <= pair["tau_high"] or not math.isfinite(pair["tau_low"])
    assert any(line.startswith("Between ") and "Kendall's tau" in line for line in stats["verdict"])
    assert "Does the ranking transfer?" in (tmp_path / "compare.html").read_text()


def test_the_architecture_study_composes_each_network_before_any_job_starts(tmp_path):
    from src.preflight import check_command_line, compose_config

    check_command_line(["-m", "experiment=architecture_study", f"hydra.sweep.dir={tmp_path}"])
    cfg = compose_config(["experiment=architecture_study", "model=cnn_batchnorm"], keep_hydra=True)
    assert cfg.hydra.sweeper.params.model == "mlp,cnn,cnn_batchnorm"
    assert cfg.model.name == "cnn" and cfg.model.norm == "batch"
    assert list(cfg.grid.activation)[:2] == ["relu", "leaky_relu"]  # the common grid
