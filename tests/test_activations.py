"""The activation registry: closed forms, gradients, learnable parameters, init recipes, specs."""
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from src.errors import UserError
from src.model import activations, modules, randomness
from src.model.mlp import MLP, resolve_init

# -0.5 and 1.0 sit on the thresholds of `threshold`: Keras' ThresholdedReLU is 0 there (x > theta, strictly).
POINTS = [-7.0, -3.2, -1.4, -0.6, -0.5, -0.2, 0.0, 0.15, 0.45, 0.8, 1.0, 1.7, 2.6, 4.5, 7.3]
# Away from every kink and jump of the default parameters (0, +-0.5, +-1, +-3, 6) and of
# the non-default ones checked below (+-0.8, 2, -2, +-1.5).
SMOOTH_POINTS = [-4.3, -2.6, -1.7, -1.2, -0.7, -0.3, 0.2, 0.35, 0.65, 1.3, 2.4, 4.1, 7.5]
SELU_LAMBDA, SELU_ALPHA = 1.0507009873554805, 1.6732632423543772


pytestmark = pytest.mark.usefixtures("one_thread")


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def softplus(x, beta=1.0):
    return math.log1p(math.exp(beta * x)) / beta


def elu(x, alpha=1.0):
    return x if x > 0 else alpha * (math.exp(x) - 1.0)


def clamp(x, lo, hi):
    return min(max(x, lo), hi)


def leaky(slope):
    return lambda x: x if x >= 0 else slope * x


def f32(value):
    """``value`` rounded to float32, as a parameter stores it."""
    return float(np.float32(value))


def softplus_f32_roundtrip(value):
    """softplus(float32(softplus^-1(value))): a parameter kept as its softplus-inverse, read back."""
    return softplus(f32(math.log(math.expm1(value))))


def xielu(x, alpha_p, alpha_n, beta, eps):
    a_p = softplus_f32_roundtrip(alpha_p)
    a_n = beta + softplus_f32_roundtrip(alpha_n - beta)
    if x > 0:
        return a_p * x * x + beta * x
    return a_n * (math.expm1(min(x, eps)) - x) + beta * x


# ml-research/pau's "pade_optimized_leakyrelu": numerator a_0..a_5, denominator b_1..b_4.
PAU_COEFFICIENTS = ((3.35583603e-02, 5.05000375e-01, 1.65343934e+00, 2.01001052e+00, 9.31901999e-01, 1.52424124e-01),
                    (3.30847488e-06, 3.98021568e+00, 5.12471206e-07, 3.01830109e-01))


def rational(x, numerator, denominator):
    """The safe PAU: sum a_j x^j / (1 + sum_k |b_k| |x|^k), with float32 coefficients."""
    p = sum(f32(a) * x ** j for j, a in enumerate(numerator))
    return p / (1.0 + sum(abs(f32(b)) * abs(x) ** k for k, b in enumerate(denominator, start=1)))


# spec -> the activation written out by hand (per scalar input)
CLOSED_FORMS = {
    "sigmoid": sigmoid,
    "logistic": sigmoid,
    "tanh": lambda x: 2.0 * sigmoid(2.0 * x) - 1.0,
    "softsign": lambda x: x / (1.0 + abs(x)),
    "relu": lambda x: max(0.0, x),
    "relu_autograd": lambda x: max(0.0, x),
    "softplus": softplus,
    "softrelu": softplus,
    "softplus(beta=2.5)": lambda x: softplus(x, 2.5),
    "leaky_relu": leaky(0.01),
    "leaky_relu(negative_slope=0.2)": leaky(0.2),
    "prelu": leaky(0.25),
    "prelu(init=0.1)": leaky(0.1),
    "rrelu": leaky((1 / 8 + 1 / 3) / 2),
    "rrelu(lower=0.1, upper=0.3)": leaky(0.2),
    "elu": elu,
    "elu(alpha=0.5)": lambda x: elu(x, 0.5),
    "selu": lambda x: SELU_LAMBDA * (x if x > 0 else SELU_ALPHA * (math.exp(x) - 1.0)),
    "celu": elu,
    "celu(alpha=2.0)": lambda x: max(0.0, x) + min(0.0, 2.0 * (math.exp(x / 2.0) - 1.0)),
    "gelu": lambda x: 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0))),
    "gelu(approximate=tanh)": lambda x: 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi)
                                                                    * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * sigmoid(x),
    "swish": lambda x: x * sigmoid(x),
    "swish(beta=2.0)": lambda x: x * sigmoid(2.0 * x),
    "swish(beta=0.5, learnable=True)": lambda x: x * sigmoid(0.5 * x),
    "mish": lambda x: x * math.tanh(softplus(x)),
    "relu6": lambda x: clamp(x, 0.0, 6.0),
    "hardtanh": lambda x: clamp(x, -1.0, 1.0),
    "hardtanh(min_val=-2.0, max_val=3.0)": lambda x: clamp(x, -2.0, 3.0),
    "hardsigmoid": lambda x: clamp(x / 6.0 + 0.5, 0.0, 1.0),
    "hardswish": lambda x: x * clamp(x + 3.0, 0.0, 6.0) / 6.0,
    "logsigmoid": lambda x: -math.log1p(math.exp(-x)),
    "softshrink": lambda x: x - 0.5 if x > 0.5 else (x + 0.5 if x < -0.5 else 0.0),
    "softshrink(lambd=1.5)": lambda x: x - 1.5 if x > 1.5 else (x + 1.5 if x < -1.5 else 0.0),
    "hardshrink": lambda x: x if abs(x) > 0.5 else 0.0,
    "hardshrink(lambd=1.5)": lambda x: x if abs(x) > 1.5 else 0.0,
    "tanhshrink": lambda x: x - math.tanh(x),
    "threshold": lambda x: x if x > 1.0 else 0.0,
    "threshold(theta=-0.5)": lambda x: x if x > -0.5 else 0.0,
    "exponential": math.exp,
    "linear": lambda x: x,
    # The modern pack, each against its published formula with the constants as stored (float32).
    # relu2, Primer (So et al. 2021): relu(x)^2.
    "relu2": lambda x: max(0.0, x) ** 2,
    # star_relu, MetaFormer (Yu et al. 2022): s relu(x)^2 + b, s = 1/sqrt(1.25) ~ 0.8944, b = -0.5 s ~ -0.4472.
    "star_relu": lambda x: f32(0.8944) * max(0.0, x) ** 2 + f32(-0.4472),
    "star_relu(bias=0.0, scale=1.0)": lambda x: max(0.0, x) ** 2,
    # xielu, as the reference implementation computes it (Hugging Face's XIELUActivation): the
    # trained parameters are softplus-inverses, alpha_p = softplus(a_p), alpha_n = beta + softplus(a_n).
    "xielu": lambda x: xielu(x, 0.8, 0.8, 0.5, -1e-6),
    "xielu(alpha_n=1.5, alpha_p=0.3, beta=0.25)": lambda x: xielu(x, 0.3, 1.5, 0.25, -1e-6),
    # snake, BigVGAN: x + sin(alpha x)^2 / (alpha + 1e-9), alpha = 1 at the start.
    "snake": lambda x: x + math.sin(x) ** 2 / (1.0 + 1e-9),
    "snake(alpha=2.0)": lambda x: x + math.sin(2.0 * x) ** 2 / (2.0 + 1e-9),
    # pau, the PAU paper's safe rational function with its leaky-ReLU coefficients.
    "pau": lambda x: rational(x, *PAU_COEFFICIENTS),
}


def _apply(spec, values, **build_kwargs):
    module = activations.build(spec, **build_kwargs).double().eval()
    with torch.no_grad():
        return module(torch.tensor(values, dtype=torch.float64))


def test_every_activation_has_a_closed_form_check():
    covered = {activations.parse(spec)[0] for spec in CLOSED_FORMS} | {"crelu"}
    assert covered == set(activations.available())


@pytest.mark.parametrize("spec", sorted(CLOSED_FORMS))
def test_forward_matches_the_closed_form(spec):
    expected = torch.tensor([CLOSED_FORMS[spec](x) for x in POINTS], dtype=torch.float64)
    # rtol covers parameters stored in float32 (prelu(init=0.1)) before the cast to float64
    torch.testing.assert_close(_apply(spec, POINTS), expected, rtol=1e-7, atol=1e-10)


def test_crelu_concatenates_both_halves_and_doubles_the_width():
    x = [[-2.0, 0.0, 3.0], [1.5, -0.5, -4.0]]
    expected = [[0.0, 0.0, 3.0, 2.0, 0.0, 0.0], [1.5, 0.0, 0.0, 0.0, 0.5, 4.0]]
    torch.testing.assert_close(_apply("crelu", x), torch.tensor(expected, dtype=torch.float64))
    assert activations.entry("crelu").width_factor == 2


def test_rrelu_is_random_in_training_and_uses_the_mean_slope_in_eval():
    module = activations.build("rrelu(lower=0.1, upper=0.3)").double()
    x = -torch.ones(2000, dtype=torch.float64)
    torch.manual_seed(0)
    slopes = -module.train()(x)
    assert 0.1 <= slopes.min() < slopes.max() <= 0.3 and slopes.std() > 0.03
    torch.testing.assert_close(module.eval()(x), torch.full_like(x, -0.2))


GRADCHECK_SPECS = activations.available() + [
    "elu(alpha=0.5)", "celu(alpha=2.0)", "softplus(beta=2.5)", "gelu(approximate=tanh)", "swish(beta=2.0)",
    "swish(beta=0.5, learnable=True)", "leaky_relu(negative_slope=0.2)", "hardtanh(min_val=-2.0, max_val=3.0)",
    "softshrink(lambd=0.8)", "hardshrink(lambd=0.8)", "rrelu(lower=0.1, upper=0.3)", "threshold(theta=2.0)",
]


@pytest.mark.parametrize("spec", GRADCHECK_SPECS)
def test_gradcheck_in_float64(spec):
    module = activations.build(spec).double().eval()
    x = torch.tensor(SMOOTH_POINTS, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_relu_autograd_matches_torch_relu_forward_and_backward():
    generator = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        base = torch.randn(4, 257, generator=generator, dtype=dtype)
        base[:, ::5] = 0.0
        base[0, 1] = -0.0
        grad_out = torch.randn(base.shape, generator=generator, dtype=dtype)
        mine, ref = base.clone().requires_grad_(True), base.clone().requires_grad_(True)
        out_mine = activations.build("relu_autograd")(mine)
        out_ref = torch.relu(ref)
        assert torch.equal(out_mine, out_ref)
        out_mine.backward(grad_out)
        out_ref.backward(grad_out)
        assert torch.equal(mine.grad, ref.grad)
        assert (mine.grad[base == 0] == 0).all()
    # a non-finite upstream gradient where the input is not positive still gives 0, as torch.relu does
    x_mine, x_ref = (torch.tensor([-1.0, 0.0, 1.0], requires_grad=True) for _ in range(2))
    upstream = torch.tensor([float("nan"), float("inf"), 2.0])
    activations.build("relu_autograd")(x_mine).backward(upstream)
    torch.relu(x_ref).backward(upstream)
    assert torch.equal(x_mine.grad, x_ref.grad) and x_mine.grad.tolist() == [0.0, 0.0, 2.0]
    assert isinstance(activations.build("relu_autograd")(torch.ones(1, requires_grad=True)).grad_fn,
                      torch.autograd.function.BackwardCFunction)


def _one_step(model, n_features, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(32, n_features, generator=generator)
    y = torch.randint(0, 3, (32,), generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = nn.functional.cross_entropy(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@pytest.mark.parametrize("spec, attr, start", [
    ("prelu", "weight", 0.25), ("prelu(per_unit=True)", "weight", 0.25), ("prelu(init=0.1)", "weight", 0.1),
    ("swish(beta=1.5, learnable=True)", "beta", 1.5), ("swish(learnable=True)", "beta", 1.0)])
def test_learnable_parameters_train_and_are_separate_per_layer(spec, attr, start):
    torch.manual_seed(0)
    model = MLP(n_features=6, n_classes=3, hidden=(8, 5), activation=spec)
    modules = [m for m in model.hidden if not isinstance(m, nn.Linear)]
    params = [getattr(m, attr) for m in modules]
    assert len(params) == 2 and all(isinstance(p, nn.Parameter) for p in params)
    assert params[0] is not params[1]
    assert len({id(p) for p in model.parameters()}) == len(list(model.parameters()))
    before = [p.detach().clone() for p in params]
    assert all(torch.allclose(b, torch.full_like(b, start)) for b in before)
    _one_step(model, 6)
    assert all(not torch.equal(b, p.detach()) for b, p in zip(before, params))
    if "per_unit" in spec:
        assert [p.shape for p in params] == [torch.Size([8]), torch.Size([5])]
    else:
        assert all(p.numel() == 1 for p in params)


def test_a_fixed_swish_beta_is_not_trained():
    model = MLP(n_features=6, n_classes=3, hidden=(8,), activation="swish(beta=2.0)")
    swish = model.hidden[1]
    assert not isinstance(swish.beta, nn.Parameter) and "beta" in dict(swish.named_buffers())
    _one_step(model, 6)
    assert float(swish.beta) == 2.0


def test_crelu_network_has_doubled_widths_and_trains():
    torch.manual_seed(0)
    model = MLP(n_features=4, n_classes=3, hidden=(16, 8), activation="crelu")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 16), (32, 8), (16, 3)]
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(128, 4, generator=generator)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_selu_with_lecun_normal_keeps_activations_normalised():
    torch.manual_seed(0)
    model = MLP(n_features=256, n_classes=10, hidden=[128] * 8, activation="selu", init="auto")
    assert model.init_scheme == "lecun_normal"
    X = torch.randn(4096, 256)
    X = (X - X.mean(0)) / X.std(0)
    stats, h = [], X
    with torch.no_grad():
        for layer in model.hidden:
            h = layer(h)
            if isinstance(layer, nn.SELU):
                stats.append((h.mean().item(), h.std().item()))
    assert len(stats) == 8
    for mean, std in stats:
        assert abs(mean) < 0.1 and 0.8 < std < 1.2, stats
    torch.manual_seed(0)
    default = MLP(n_features=256, n_classes=10, hidden=[128] * 8, activation="selu", init="default")
    with torch.no_grad():
        assert default.hidden(X).std() < 0.5  # without the recipe the signal fades


@pytest.mark.parametrize("spec, init, slope", [
    ("relu", "kaiming_normal", 0.0),
    ("leaky_relu(negative_slope=0.5)", "kaiming_normal", 0.5),
    ("leaky_relu(negative_slope=0.5)", "kaiming_uniform", 0.5),
    ("prelu(init=0.5)", "kaiming_normal", 0.5),
    ("rrelu(lower=0.2, upper=0.6)", "kaiming_normal", 0.4),
    ("selu", "lecun_normal", None),
    ("tanh", "xavier_normal", None),
])
def test_init_scales_the_weights_for_the_activation(spec, init, slope):
    torch.manual_seed(0)
    fan_in, fan_out = 1000, 2000
    weight = MLP(n_features=fan_in, n_classes=10, hidden=[fan_out], activation=spec, init=init).hidden[0].weight
    expected = {
        "kaiming_normal": lambda: math.sqrt(2.0 / (1.0 + (slope or 0.0) ** 2)) / math.sqrt(fan_in),
        "kaiming_uniform": lambda: math.sqrt(2.0 / (1.0 + (slope or 0.0) ** 2)) / math.sqrt(fan_in),
        "lecun_normal": lambda: 1.0 / math.sqrt(fan_in),
        "xavier_normal": lambda: math.sqrt(2.0 / (fan_in + fan_out)),
    }[init]()
    assert weight.std().item() == pytest.approx(expected, rel=0.02)
    if slope is not None:
        assert activations.negative_slope(spec) == pytest.approx(slope)


def test_selu_gets_alpha_dropout_and_others_plain_dropout():
    selu = MLP(n_features=20, n_classes=3, hidden=[16, 8], activation="selu", dropout=0.1)
    relu = MLP(n_features=20, n_classes=3, hidden=[16, 8], activation="relu", dropout=0.1)
    assert sum(isinstance(m, nn.AlphaDropout) for m in selu.modules()) == 2
    assert not any(type(m) is randomness.Dropout for m in selu.modules())
    assert sum(type(m) is randomness.Dropout for m in relu.modules()) == 2
    assert not randomness.unseeded_layers(selu) and not randomness.unseeded_layers(relu)  # each draws from its fit's
    assert not any(isinstance(m, nn.AlphaDropout) for m in relu.modules())
    assert not any(isinstance(m, (nn.Dropout, nn.AlphaDropout)) for m in MLP(20, 3, [16], "selu").modules())


@pytest.mark.parametrize("spec, scheme", [
    ("selu", "lecun_normal"),
    *[(name, "kaiming_normal") for name in ("relu", "relu_autograd", "leaky_relu", "prelu", "rrelu", "relu6",
                                            "crelu", "threshold", "leaky_relu(negative_slope=0.2)")],
    *[(name, "xavier_normal") for name in ("tanh", "sigmoid", "softsign", "logistic")],
    *[(name, "default") for name in ("elu", "celu", "gelu", "silu", "swish(beta=2.0)", "mish", "softplus",
                                     "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "softshrink",
                                     "hardshrink", "tanhshrink", "exponential", "linear")],
])
def test_auto_init_recipes(spec, scheme):
    assert resolve_init("auto", spec) == scheme
    assert resolve_init("orthogonal", spec) == "orthogonal"


EXPECTED_NAMES = {
    "sigmoid", "tanh", "softsign", "relu", "softplus", "leaky_relu", "prelu", "rrelu", "elu", "selu", "celu",
    "gelu", "silu", "swish", "mish", "relu6", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
    "softshrink", "hardshrink", "tanhshrink", "threshold", "exponential", "crelu", "relu_autograd", "linear",
}


def test_available_names():
    names = activations.available()
    assert len(names) >= 28 and EXPECTED_NAMES <= set(names)
    assert names == sorted(names) and all(n == n.lower() and " " not in n for n in names)
    assert not {"softrelu", "logistic"} & set(names)


@pytest.mark.parametrize("spec, expected", [
    ("softrelu", "softplus"), ("logistic", "sigmoid"), ("swish", "silu"), ("swish(beta=1)", "silu"),
    ("softrelu(beta=2)", "softplus(beta=2.0)"), ("Logistic", "sigmoid"),
    ("swish(beta=2)", "swish(beta=2.0)"), ("swish(learnable=true)", "swish(learnable=True)"),
    ("leaky_relu(negative_slope=0.2)", "leaky_relu(negative_slope=0.2)"),
    ({"name": "leaky_relu", "negative_slope": 0.2}, "leaky_relu(negative_slope=0.2)"),
    ("leaky_relu(negative_slope=0.01)", "leaky_relu"), ("elu(alpha=1)", "elu"), ("relu()", "relu"),
    ("gelu(approximate=none)", "gelu"), ("gelu(approximate='tanh')", "gelu(approximate=tanh)"),
    ("hardtanh(min_val=-2, max_val=2)", "hardtanh(max_val=2.0, min_val=-2.0)"),
    ({"name": "prelu", "per_unit": True, "init": 0.25}, "prelu(per_unit=True)"),
])
def test_labels_are_canonical_and_read_back(spec, expected):
    assert activations.label(spec) == expected
    assert activations.label(expected) == expected
    assert activations.parse(expected) == activations.parse(spec)


def test_aliases_are_listed_under_their_canonical_names():
    assert activations.aliases("softplus") == ["softrelu"]
    assert activations.aliases("sigmoid") == ["logistic"]
    assert activations.aliases("silu") == ["swish"]
    assert activations.entry("softrelu") is activations.REGISTRY["softplus"]


@pytest.mark.parametrize("spec, words", [
    ("nope", ["nope", "selu", "leaky_relu", "softrelu"]),
    ({"name": "nope"}, ["nope", "selu"]),
    ("elu(beta=2)", ["beta", "alpha"]),
    ("relu(alpha=1)", ["alpha", "no parameters"]),
    ("hardtanh(min_value=0)", ["min_value", "max_val", "min_val"]),
    ("gelu(approximate=exact)", ["exact", "none", "tanh"]),
    ("leaky_relu(negative_slope=abc)", ["negative_slope", "abc"]),
    ("swish(learnable=1)", ["learnable"]),
    ("hardtanh(min_val=2, max_val=1)", ["min_val"]),
    ("rrelu(lower=0.5, upper=0.1)", ["lower"]),
    ("softshrink(lambd=-1)", ["lambd"]),
    ("celu(alpha=0)", ["alpha"]),
    ("softplus(beta=0)", ["beta"]),
    ("leaky_relu(0.2)", ["param=value"]),
    ("relu(", ["relu("]),
    (3, ["NAME"]),
])
def test_bad_specs_raise_user_errors(spec, words):
    with pytest.raises(UserError) as info:
        activations.parse(spec)
    for word in words:
        assert word in str(info.value)


def test_build_accepts_aliases_and_keyword_parameters():
    swish = activations.build("swish", beta=2.0)
    assert isinstance(swish, modules.Swish)
    torch.testing.assert_close(swish(torch.tensor([1.0])), torch.sigmoid(torch.tensor([2.0])))  # x * sigmoid(2x)
    assert isinstance(activations.build("swish"), nn.SiLU)
    torch.testing.assert_close(activations.build("softrelu", beta=3)(torch.ones(1)),
                               nn.functional.softplus(torch.ones(1), beta=3))
    assert activations.build("leaky_relu(negative_slope=0.3)", negative_slope=0.2).negative_slope == 0.2
    assert activations.build("prelu(per_unit=True)", width=7).weight.shape == (7,)
    assert activations.build("relu") is not activations.build("relu")
    with pytest.raises(UserError, match="alpha"):
        activations.build("elu", beta=1.0)


def test_a_module_named_by_its_old_path_in_the_registry_module_still_builds():
    """Configs written before the modules moved to src.model.modules may name them there."""
    spec = {"_target_": "src.model.activations.Swish", "beta": 2.0}
    assert activations.label(spec) == "src.model.activations:Swish(beta=2.0)"
    assert isinstance(activations.build(spec), modules.Swish)


def test_bounds_follow_the_parameters():
    assert activations.bounds("sigmoid") == (0.0, 1.0)
    assert activations.bounds("hardtanh") == (-1.0, 1.0)
    assert activations.bounds("hardtanh(min_val=-2, max_val=3)") == (-2.0, 3.0)
    assert activations.bounds("relu") is None


@pytest.fixture
def without_report(monkeypatch):
    """Leave out a single run's report and pictures (about 2 s a run; drawn in the test below)."""
    import src.reporting.write.run_dir

    monkeypatch.setattr(src.reporting.write.run_dir, "write_single_report",
                        lambda study: {"report": study.path / "report.html"})


@pytest.mark.parametrize("name", activations.available())
def test_every_activation_runs_end_to_end(make_cfg, tmp_path, name, without_report):
    from src.run import run

    run(make_cfg([f"activation={name}", "train.epochs=1"]), tmp_path / name)
    metrics = json.loads((tmp_path / name / "metrics.json").read_text())
    # every name is its own label except plain swish, which is SiLU
    assert metrics["activation"] == activations.label(name) == (name if name != "swish" else "silu")
    assert metrics["status"] == "ok" and math.isfinite(metrics["test_loss"])


def test_a_parametrised_activation_runs_with_its_picture(make_cfg, tmp_path):
    from src.run import run

    run(make_cfg(['activation="elu(alpha=0.5)"', "train.epochs=1"]), tmp_path)
    assert json.loads((tmp_path / "metrics.json").read_text())["activation"] == "elu(alpha=0.5)"
    assert (tmp_path / "activation_elu_alpha=0.5.png").read_bytes()[:4] == b"\x89PNG"


def test_pau_starts_as_the_papers_leaky_relu_approximation():
    x = torch.linspace(-3, 3, 601, dtype=torch.float64)
    with torch.no_grad():
        got = activations.build("pau").double()(x)
    # The paper's fit of leaky ReLU (slope 0.01) on [-3, 3]: close, not exact (a rational function is smooth).
    assert (got - torch.nn.functional.leaky_relu(x, 0.01)).abs().max() < 0.05
    module = activations.build("pau")
    assert [p.numel() for p in module.parameters()] == [6, 4]


def test_the_pau_denominator_is_safe_whatever_its_coefficients():
    module = activations.build("pau").double()
    with torch.no_grad():
        module.denominator.copy_(torch.tensor([-3.0, 2.0, -5.0, -0.5]))  # would cross zero without |b_k|
        x = torch.linspace(-10, 10, 2001, dtype=torch.float64)
        assert torch.isfinite(module(x)).all()


def test_star_relu_gives_a_standard_normal_input_mean_0_and_variance_1():
    x = torch.randn(2_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        y = activations.build("star_relu").double()(x)
    assert abs(y.mean().item()) < 0.005 and abs(y.var().item() - 1) < 0.01


@pytest.mark.parametrize("spec, names", [
    ("star_relu", ["bias", "scale"]), ("xielu", ["alpha_n", "alpha_p"]), ("snake", ["alpha"]),
    ("pau", ["denominator", "numerator"])])
def test_the_modern_pack_learns_its_parameters_per_layer(spec, names):
    torch.manual_seed(0)
    model = MLP(n_features=6, n_classes=3, hidden=(8, 5), activation=spec)
    modules = [m for m in model.hidden if not isinstance(m, nn.Linear)]
    assert [sorted(n for n, _ in m.named_parameters()) for m in modules] == [names, names]
    before = [p.detach().clone() for m in modules for p in m.parameters()]
    _one_step(model, 6)
    after = [p.detach() for m in modules for p in m.parameters()]
    assert all(not torch.equal(b, a) for b, a in zip(before, after))


def test_snake_has_one_alpha_per_unit():
    assert activations.build("snake", width=7).alpha.shape == (7,)
    assert activations.build("snake").alpha.shape == (1,)
