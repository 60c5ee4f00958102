"""Batched folds give the same fold models as the plain path; records are reused."""
import numpy as np
import pandas as pd
import pytest

from src.run import run
from src.training.net import make_net
from src.training.settings import NetSettings
from src.training.grouping import stackable

GRID = ["mode=grid", "cv.n_jobs=1", "train.epochs=4", "cv.refit=false", "train.threads=1"]


def plain_and_stacked(make_cfg, tmp_path, overrides):
    """The folds tables of the same grid fit by fit and stacked (into ``tmp_path/false`` and ``/true``)."""
    folds = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + [f"cv.batched={batched}", *overrides]), tmp_path / batched)
        folds[batched] = pd.read_csv(tmp_path / batched / "folds.csv").sort_values(["label", "split"])
    return folds["false"], folds["true"]


def test_batched_folds_agree_fold_for_fold_with_the_plain_path(make_cfg, tmp_path):
    plain, stacked = plain_and_stacked(make_cfg, tmp_path, ["grid.activation=[relu,tanh,elu]"])
    assert len(plain) == len(stacked) == 9
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    np.testing.assert_allclose(stacked["test_log_loss"], plain["test_log_loss"], rtol=1e-3)
    import json
    records = [json.loads(p.read_text()) for p in (tmp_path / "true" / "fits").glob("*.json")]
    assert len(records) == 9 and all(r.get("batched") == 9 for r in records)  # 3 candidates x 3 folds
    assert all(len(r["history"]) == 4 for r in records)


def test_batched_folds_with_dropout_and_rrelu_agree_fold_for_fold_with_the_plain_path(make_cfg, tmp_path):
    # each member draws from its own fit's generator, the same draws as its fit alone (padding rows draw none)
    plain, stacked = plain_and_stacked(make_cfg, tmp_path, ["grid.activation=[relu,rrelu,selu]", "model.dropout=0.2",
                                                                "data.subset=1000"])  # folds of unequal sizes
    assert len(plain) == len(stacked) == 9 and plain["n_fit"].nunique() > 1  # the stack pads some folds
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    np.testing.assert_allclose(stacked["test_log_loss"], plain["test_log_loss"], rtol=1e-3)


@pytest.mark.parametrize("activation", ["relu", "prelu", "swish(learnable=True)", "pau"])
def test_learnable_activations_stack_and_per_fit_callbacks_do_not(activation):
    assert stackable(make_net(64, 10, NetSettings.of(activation=activation))) is True
    assert stackable(make_net(64, 10, NetSettings.of(activation=activation, early_stopping=3))) is False


class FirstAxisCoefficients:
    """Coefficients read by index on their first axis: a member axis put in front of them breaks the
    module's forward, so the stack must apply it fold by fold."""

    @staticmethod
    def build():
        import torch

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.c = torch.nn.Parameter(torch.tensor([0.5, 2.0]))

            def forward(self, x):
                return self.c[0] * x + self.c[1]

        return Module()


@pytest.mark.parametrize("activation, broadcast", [("prelu", True), ("prelu(per_unit=true)", True), ("star_relu", True),
                                                   ("pau", True), ("snake", True), ("xielu", True),
                                                   ("swish(learnable=true)", True), (None, False)])
def test_a_learnable_activation_runs_in_one_broadcast_call_when_that_gives_what_vmap_gives(activation, broadcast):
    import torch

    from src.model import activations
    from src.training.stack import MemberParams

    generator = torch.Generator().manual_seed(1)
    members = [activations.build(activation, width=16) if activation else FirstAxisCoefficients.build()
               for _ in range(3)]
    with torch.no_grad():  # every fold its own parameters
        for member in members:
            for p in member.parameters():
                p.add_(0.2 * torch.randn(p.shape, generator=generator))
    stacked = MemberParams(members, torch.device("cpu"))
    h = torch.randn(3, 40, 16, generator=generator)
    out = stacked(h)
    assert (stacked._call is not stacked._vmapped) == broadcast
    for f, member in enumerate(members):
        np.testing.assert_allclose(out[f].detach().numpy(), member(h[f]).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_learnable_activations_train_in_stacks_each_member_its_own_parameters(make_cfg, tmp_path):
    """Stacked and plain fits of learnable activations agree, weights and activation parameters alike."""
    from src.training import fit_records

    grid = ["grid.activation=[prelu,star_relu,pau,snake,'swish(learnable=True)']", "+grid.lr=[0.01,0.05]",
            "train.epochs=3"]
    folds = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + grid + [f"cv.batched={batched}"]), tmp_path / batched)
        folds[batched] = pd.read_csv(tmp_path / batched / "folds.csv").sort_values(["label", "split"])
    plain, stacked = folds["false"], folds["true"]
    assert len(plain) == len(stacked) == 30 and (stacked["status"] == "ok").all()
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    np.testing.assert_allclose(stacked["test_log_loss"], plain["test_log_loss"], rtol=5e-3)
    keys = [p.stem for p in (tmp_path / "true" / "fits").glob("*.json")]
    assert len(keys) == 30
    for key in keys:
        record, state = fit_records.load(tmp_path / "true" / "fits", key)
        assert record["batched"] == 30
        _, plain_state = fit_records.load(tmp_path / "false" / "fits", key)
        assert len(state) > 6, list(state)  # the activations' parameters besides the 3 Linear layers'
        for name in state:  # float32 rounding carried over 3 epochs (see the learning-rate test below)
            np.testing.assert_allclose(state[name].numpy(), plain_state[name].numpy(), rtol=2e-3, atol=2e-4,
                                       err_msg=f"{record['params']['module__activation']} {name}")


def test_batched_folds_record_the_same_diagnostics_as_the_plain_path(make_cfg, tmp_path):
    import json

    histories = {}
    for batched in ("false", "true"):
        run(make_cfg(GRID + [f"cv.batched={batched}", "grid.activation=[tanh]"]), tmp_path / batched)
        records = sorted((json.loads(p.read_text()) for p in (tmp_path / batched / "fits").glob("*.json")),
                         key=lambda r: r["data"])
        histories[batched] = [pd.DataFrame(r["history"]) for r in records]
    assert len(histories["true"]) == len(histories["false"]) == 3
    for plain, stacked in zip(histories["false"], histories["true"]):
        for column in ("layer1_dead", "layer1_saturated", "layer2_mean", "layer2_std", "layer1_grad_norm",
                       "output_grad_norm"):
            assert column in stacked, column
            np.testing.assert_allclose(stacked[column], plain[column], rtol=0.05, atol=0.02, err_msg=column)


def test_folds_with_different_batch_counts_take_the_plain_path():
    from src.training.grouping import same_batch_count

    net = make_net(4, 2, NetSettings.of(batch_size=10, valid_fraction=0.0))
    y = np.arange(40) % 2
    assert same_batch_count(net, y, [np.arange(20), np.arange(20, 40)])
    assert not same_batch_count(net, y, [np.arange(20), np.arange(19, 40)])  # 20 rows: 2 batches; 21 rows: 3


@pytest.mark.slow
def test_compiled_fits_record_diagnostics_and_reload_their_weights(tmp_path):
    """train.compile: the diagnostics see the layers, and a fit record reloads into the compiled module."""
    import torch

    X = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    y = np.arange(300) % 3
    fitted = {}
    for activation in ("relu", "tanh"):
        settings = NetSettings.of(hidden=[8], activation=activation, epochs=2, verbose=0, compile=True, threads=1)
        net = make_net(16, 3, settings)
        net.set_params(record_dir=str(tmp_path))
        net.fit(X, y)
        history = pd.DataFrame(net.history.to_list())
        assert {"layer1_dead", "layer1_mean", "output_grad_norm"} <= set(history.columns)
        fitted[activation] = net
    again = make_net(16, 3, NetSettings.of(hidden=[8], activation="tanh", epochs=2, verbose=0, compile=True, threads=1))
    again.set_params(record_dir=str(tmp_path)).fit(X, y)  # found in the records: loaded, not trained
    with torch.no_grad():
        np.testing.assert_allclose(again.predict_proba(X), fitted["tanh"].predict_proba(X), rtol=1e-5)


def _digits_folds(n_folds=3):
    from sklearn.model_selection import StratifiedKFold

    from src.data import datasets as data

    ds = data.load("digits")
    return ds.X_train, ds.y_train, [tr for tr, _ in StratifiedKFold(n_folds, shuffle=True, random_state=0)
                                    .split(ds.X_train, ds.y_train)]


def _records(record_dir, keys):

    from src.training import fit_records

    found = [fit_records.load(record_dir, key) for key in keys]
    assert all(found), "every member writes its record"
    return [(record, {k: v.clone() for k, v in state.items()}) for record, state in found]


@pytest.mark.parametrize("hidden", [[32, 16], [32]])
def test_candidates_stacked_together_match_each_stacked_alone(tmp_path, one_thread, hidden):
    """Several candidates in one stack (shared first-layer product) train as they would one by one."""
    from src.training.loop import train_and_record

    X, y, folds = _digits_folds()
    specs = [("relu", "auto", 0.0), ("tanh", "xavier_uniform", 0.0), ("elu", "auto", 0.0)]
    nets = [make_net(64, 10, NetSettings.of(hidden=hidden, activation=a, init=i, dropout=d, epochs=3, verbose=0))
            for a, i, d in specs]
    together = _records(tmp_path / "together", train_and_record(nets, X, y, folds, str(tmp_path / "together")))
    alone = []
    for net in nets:
        alone += _records(tmp_path / "alone", train_and_record([net], X, y, folds, str(tmp_path / "alone")))
    assert len(together) == len(alone) == 9
    assert {r["batched"] for r, _ in together} == {9} and {r["batched"] for r, _ in alone} == {3}
    for (rec_t, state_t), (rec_a, state_a) in zip(together, alone):
        assert rec_t["params"] == rec_a["params"] and rec_t["data"] == rec_a["data"]
        for name in state_a:
            np.testing.assert_allclose(state_t[name].numpy(), state_a[name].numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=name)
        np.testing.assert_allclose([h["valid_loss"] for h in rec_t["history"]],
                                   [h["valid_loss"] for h in rec_a["history"]], rtol=1e-4)


def test_a_grid_over_activation_and_lr_trains_one_stack(make_cfg, tmp_path, capsys):
    import json

    run(make_cfg(GRID + ["cv.batched=true", "train.epochs=2", "grid.activation=[relu,tanh]", "+grid.lr=[0.01,0.1]"]),
        tmp_path)
    out = capsys.readouterr().out
    assert "training 4 candidates x 3 folds in 1 stack," in out
    records = [json.loads(p.read_text()) for p in (tmp_path / "fits").glob("*.json")]
    assert len(records) == 12 and {r["batched"] for r in records} == {12}  # 2 activations x 2 rates x 3 folds
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 4 and summary["accuracy_mean"].between(0.1, 1.0).all()


def test_stack_keys_ignore_only_what_may_differ_inside_a_stack():
    from src.training.grouping import stack_key

    base = make_net(64, 10, NetSettings.of(hidden=[32, 16]))
    free = NetSettings.of(hidden=[32, 16], activation="tanh", init="xavier_normal", dropout=0.2, lr=0.1)
    assert stack_key(base) == stack_key(make_net(64, 10, free))
    momentum = NetSettings.of(hidden=[32, 16], optimizer_kwargs={"momentum": 0.5})
    assert stack_key(base) != stack_key(make_net(64, 10, momentum))
    assert stack_key(base) != stack_key(make_net(64, 10, NetSettings.of(hidden=[32, 8])))
    assert stack_key(base) != stack_key(make_net(64, 10, NetSettings.of(hidden=[32, 16], seed=1)))


@pytest.mark.slow
def test_medium_matmul_precision_is_its_own_fit_and_scores_within_noise(make_cfg, tmp_path):
    """train.matmul_precision=medium: keyed apart from float32 fits, accuracies within noise."""
    import json

    import torch

    means = {}
    try:
        for precision in ("highest", "medium"):
            run(make_cfg(GRID + ["train.epochs=6", "grid.activation=[relu,tanh]",
                                 f"train.matmul_precision={precision}"]), tmp_path / precision)
            assert torch.get_float32_matmul_precision() == precision  # the stack set it for its fits
            means[precision] = pd.read_csv(tmp_path / precision / "summary.csv").set_index("label")["accuracy_mean"]
            keys = {p.stem for p in (tmp_path / precision / "fits").glob("*.json")}
            params = {json.loads(p.read_text())["params"]["matmul_precision"]
                      for p in (tmp_path / precision / "fits").glob("*.json")}
            assert len(keys) == 6 and params == {precision}
            means[precision + "_keys"] = keys
    finally:
        torch.set_float32_matmul_precision("highest")
    assert not means["highest_keys"] & means["medium_keys"]
    assert (means["medium"] - means["highest"]).abs().max() < 0.03


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_candidates_at_their_own_learning_rates_share_one_stack_and_agree_with_the_plain_path(
        make_cfg, tmp_path, optimizer):
    """Activations x learning rates train as one stack; each member steps at its own rate."""
    import json

    rates = "[0.003,0.03]" if optimizer == "adam" else "[0.01,0.1]"
    plain, stacked = plain_and_stacked(make_cfg, tmp_path, [f"optimizer={optimizer}", "train.epochs=3",
                                                            "grid.activation=[relu,tanh]", f"+grid.lr={rates}"])
    assert len(plain) == len(stacked) == 12
    np.testing.assert_allclose(stacked["test_accuracy"], plain["test_accuracy"], atol=0.005)
    # a rescaled step differs from the plain one by float32 rounding, which training then carries
    # on (Adam's normalised steps the most: 0.3% of one loss after 3 epochs at rate 0.03)
    np.testing.assert_allclose(stacked["test_log_loss"], plain["test_log_loss"], rtol=5e-3)
    records = [json.loads(p.read_text()) for p in (tmp_path / "true" / "fits").glob("*.json")]
    assert len(records) == 12 and all(r["batched"] == 12 for r in records)  # one stack: 2 x 2 candidates x 3 folds
    assert {r["history"][-1]["lr"] for r in records} == set(json.loads(rates))
    # the two rates really differ in effect: the same activation and fold, other scores
    by_rate = stacked.groupby(stacked["label"].str.contains(rates.strip("[]").split(",")[0]))
    assert by_rate["test_log_loss"].mean().diff().abs().iloc[-1] > 1e-3
