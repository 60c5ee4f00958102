"""A user's own activation by import path: labels, per-layer instances, the contract, grids."""
import pandas as pd
import pytest
import torch

from src.errors import UserError
from src.model import activations
from src.model.mlp import MLP
from src.preflight import check_command_line
from src.run import run
from tests.test_bad_input import assert_nothing_written, assert_one_line_error

pytestmark = pytest.mark.usefixtures("one_thread")

FANCY = "examples.my_activation:Fancy"
OWN = "tests.own_activations"
FAST = ["data=digits", "train.epochs=1", "train.verbose=0", "device=cpu"]


@pytest.mark.parametrize("spec", [FANCY, "examples.my_activation.Fancy", {"_target_": "examples.my_activation.Fancy"},
                                  "examples.my_activation:Fancy(beta=1.0)", {"_target_": FANCY, "gamma": 0.1}])
def test_every_spelling_of_a_path_gets_one_label(spec):
    assert activations.label(spec) == FANCY


def test_the_label_carries_the_non_default_parameters_and_reads_back():
    label = activations.label({"_target_": "examples.my_activation.Fancy", "beta": 2, "_partial_": True})
    assert label == "examples.my_activation:Fancy(beta=2.0)"
    assert activations.parse(label) == (FANCY, {"beta": 2.0})
    assert activations.build(label).beta.item() == 2.0


def test_an_unknown_parameter_names_the_accepted_ones():
    with pytest.raises(UserError, match="no parameter 'alpha'; its parameters: beta, gamma"):
        activations.label(f"{FANCY}(alpha=1.0)")


def test_a_function_is_wrapped_in_a_module_with_its_parameters():
    module = activations.build(f"{OWN}:scaled_tanh(scale=2.0)")
    x = torch.linspace(-2, 2, 9)
    assert isinstance(module, torch.nn.Module)
    torch.testing.assert_close(module(x), 2.0 * torch.tanh(x))
    assert activations.label(f"{OWN}.scaled_tanh(scale=1)") == f"{OWN}:scaled_tanh"


def test_each_layer_gets_its_own_instance_and_parameters():
    mlp = MLP(n_features=8, n_classes=3, hidden=(6, 5, 4), activation=f"{FANCY}(beta=2.0)")
    acts = [m for m in mlp.hidden if type(m).__name__ == "Fancy"]
    assert len(acts) == 3 and len({id(a.beta) for a in acts}) == 3
    assert all(float(a.beta) == 2.0 for a in acts)


# clause -> (spec, what the line must say)
CONTRACT = {
    "a module that is not there": ("no_such_pkg.acts:Fancy", ["cannot import module 'no_such_pkg'", "workers"]),
    "an attribute that is not there": ("examples.my_activation:Nope", ["has no attribute 'Nope'", "workers"]),
    "not callable": (f"{OWN}:NOT_CALLABLE", ["is not callable"]),
    "a shape that changes": (f"{OWN}:Halves", ["output shape (64, 8) differs from its input's (64, 16)"]),
    "a non-finite output": (f"{OWN}:LogOf", ["output is not finite on a standard-normal batch"]),
    "a non-finite gradient": (f"{OWN}:InfiniteGradient", ["gradient is not finite on a standard-normal batch"]),
    "not picklable": (f"{OWN}:HoldsALambda", ["cannot be pickled", "parallel backends"]),
    "not the same output twice": (f"{OWN}:Drifts", ["not give the same output twice under the same seed"]),
    "raises when called": (f"{OWN}:Raises", ["raised RuntimeError: not implemented"]),
    "random from the global generator": (f"{OWN}:NoisyReLU", ["draws random numbers from torch's global generator",
                                                               "src.model.randomness.Seeded"]),
}


@pytest.mark.parametrize("name", list(CONTRACT))
def test_each_broken_contract_is_one_line_naming_the_activation(name):
    spec, needles = CONTRACT[name]
    with pytest.raises(UserError) as info:
        check_command_line([f"activation={spec}", *FAST])
    line = str(info.value)
    assert "\n" not in line and f"activation '{spec.split('(')[0]}'" in line, line
    for needle in needles:
        assert needle in line, line


def test_a_broken_activation_in_a_grid_is_refused_before_training():
    with pytest.raises(UserError, match="Halves.*output shape"):
        check_command_line(["mode=grid", f"grid.activation=[relu,{OWN}:Halves]", *FAST])


def test_a_broken_activation_exits_2_with_one_line_and_writes_nothing(cli, tmp_path):
    out = tmp_path / "out"
    done = cli([f"activation={OWN}:LogOf", *FAST, f"hydra.run.dir={out}"])
    assert done.returncode == 2
    assert_one_line_error(done, f"activation '{OWN}:LogOf'", "not finite")
    assert_nothing_written(out)


OUTSIDE = '''
import torch
from torch import nn


class Bent(nn.Module):
    def __init__(self, slope=0.1):
        super().__init__()
        self.slope = nn.Parameter(torch.tensor(float(slope)))

    def forward(self, x):
        return torch.where(x > 0, x, self.slope * x)
'''


@pytest.fixture
def outside(tmp_path, monkeypatch):
    """A module defined in a folder outside the project, on the path (as PYTHONPATH would put it)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "outside_acts.py").write_text(OUTSIDE)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", f"{folder}:{tmp_path}")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["threads", pytest.param("dask", marks=pytest.mark.cluster)])
def test_an_activation_from_outside_the_project_runs_in_a_grid(make_cfg, tmp_path, outside, backend):
    cfg = make_cfg(["mode=grid", f"search.backend={backend}", "cv.n_jobs=2", "cv.refit=false",
                    "grid.activation=[relu,outside_acts:Bent,'outside_acts:Bent(slope=0.3)']"])
    out = tmp_path / "out"
    run(cfg, out)
    summary = pd.read_csv(out / "summary.csv")
    labels = set(summary["label"] if "label" in summary else summary.iloc[:, 0])
    assert {"relu", "outside_acts:Bent", "outside_acts:Bent(slope=0.3)"} <= labels, labels
    folds = pd.read_csv(out / "folds.csv")
    assert (folds["status"] == "ok").all()


@pytest.mark.slow
def test_the_readme_example_compares_with_relu_and_gelu(make_cfg, tmp_path):
    run(make_cfg(["mode=grid", "cv.n_jobs=1", "cv.refit=false", f"grid.activation=[relu,gelu,{FANCY}]"]), tmp_path)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["label"]) == {"relu", "gelu", FANCY} and (summary["status"] == "ok").all()
