"""The skorch classifier's own choices: its settings objects, fused optimizer steps."""
import numpy as np
import pytest
import torch

from src.training.net import make_net, with_fused
from src.training.settings import NetSettings

EPS = torch.finfo(torch.float32).eps  # 2**-23: the spacing of float32 numbers in [1, 2)


def _fit(**optimizer_kwargs):
    X = np.random.default_rng(0).normal(size=(200, 12)).astype(np.float32)
    y = np.arange(200) % 3
    net = make_net(12, 3, NetSettings.of(hidden=[16], epochs=3, verbose=0, threads=1,
                                         optimizer_kwargs={"momentum": 0.9, **optimizer_kwargs}))
    return net.fit(X, y)


def test_one_fused_sgd_step_equals_the_looped_step_to_float32_rounding():
    # The fused kernel computes buf = momentum * buf + grad and p -= lr * buf in one pass; the
    # for-loop does the same operations one at a time. Whether either contracts a multiply and
    # an add into one FMA depends on the CPU's kernels (AVX2 and AVX-512 differ), so the two may
    # differ by a rounding or two per operation: at most 4 units in the last place of each
    # parameter (4 * eps * |p|), never more.
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(64, 33, generator=generator), torch.randn(33, generator=generator)]
    grads = [[torch.randn(p.shape, generator=generator) for p in start] for _ in range(3)]
    results = []
    for kwargs in ({"fused": True}, {"foreach": False}):
        params = [p.clone().requires_grad_(True) for p in start]
        optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, **kwargs)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.clone()
            optimizer.step()
        results.append([p.detach() for p in params])
    for fused, looped, before in zip(*results, start):
        assert (fused - before).abs().median() > 1e4 * EPS  # the steps moved the parameters far beyond the tolerance
        torch.testing.assert_close(fused, looped, rtol=4 * EPS, atol=4 * EPS)


def test_sgd_fits_are_fused_and_agree_with_looped_fits():
    fused, looped = _fit(), _fit(foreach=False)
    assert fused.optimizer_.defaults["fused"] is True
    assert not looped.optimizer_.defaults.get("fused")
    # 3 epochs of 2 steps: each step's rounding differences (<= 4 ulp, see above) pass through
    # the next steps' gradients; 1e-5 relative (about 80 ulp) bounds them with a wide margin
    # and is still a thousand times smaller than one step's change of the weights.
    for (name, a), (_, b) in zip(fused.module_.state_dict().items(), looped.module_.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)
    np.testing.assert_allclose(fused.history[:, "train_loss"], looped.history[:, "train_loss"], rtol=1e-5)


@pytest.mark.parametrize("optimizer, kwargs, fused", [
    (torch.optim.SGD, {}, True),
    (torch.optim.AdamW, {"weight_decay": 0.1}, True),
    (torch.optim.SGD, {"foreach": True}, None),     # the caller's choice stands
    (torch.optim.Adam, {"fused": False}, False),
    (torch.optim.RMSprop, {}, None),                # no fused kernel
])
def test_fused_is_added_only_where_it_exists_and_nothing_was_chosen(optimizer, kwargs, fused):
    settings = with_fused(optimizer, kwargs)
    assert settings.get("fused") is fused
    optimizer([torch.zeros(2, requires_grad=True)], lr=0.1, **settings)  # accepted as given


def test_ctrl_c_during_a_fit_is_raised_not_kept_as_a_finished_fit(tmp_path):
    from skorch.callbacks import Callback

    from src.errors import Interrupted
    from src.layout import record_keys

    class CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    X = np.random.default_rng(0).normal(size=(200, 12)).astype(np.float32)
    y = np.arange(200) % 3
    net = make_net(12, 3, NetSettings.of(hidden=[16], epochs=5, verbose=0, threads=1))
    net.set_params(record_dir=str(tmp_path))
    net.callbacks = [*net.callbacks, ("ctrl_c", CtrlC())]
    # skorch alone ends the fit quietly after 2 of 5 epochs and returns it as fitted
    with pytest.raises(Interrupted):
        net.fit(X, y)
    assert record_keys(tmp_path) == []  # nothing recorded: a rerun trains the fit in full


def test_early_stopping_still_ends_a_fit_as_finished(tmp_path):
    # skorch's EarlyStopping ends a fit by raising KeyboardInterrupt too: that one is not Ctrl-C
    from src.layout import read_record, record_keys

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    y = rng.integers(0, 3, size=300)  # labels without signal: the validation loss soon stops improving
    net = make_net(12, 3, NetSettings.of(hidden=[64], epochs=200, verbose=0, threads=1, lr=0.1, early_stopping=2))
    net.set_params(record_dir=str(tmp_path)).fit(X, y)
    assert 3 <= len(net.history) < 200
    [key] = record_keys(tmp_path)
    record = read_record(tmp_path, key)
    assert record["status"] == "ok" and len(record["history"]) == len(net.history)


def test_net_settings_take_each_name_where_it_lives_and_refuse_an_unknown_one(make_cfg):
    from src.validate import validate

    settings = NetSettings.of(hidden=[8], lr=0.1, epochs=3, threads=1)
    assert (settings.network.hidden, settings.optimization.lr, settings.training.epochs,
            settings.compute.threads) == ([8], 0.1, 3, 1)
    again = settings.replace(seed=4, dropout=0.2)
    assert (again.training.seed, again.network.dropout, again.training.epochs, settings.training.seed) == (4, 0.2, 3, 0)
    with pytest.raises(TypeError, match=r"unknown net settings \['epoch'\]"):
        settings.replace(epoch=2)
    # built once from the config: the net it makes carries every setting as skorch's parameter
    net = make_net(64, 10, validate(make_cfg(["train.epochs=2", "model.hidden=[16]", "optimizer.lr=0.05"]))[0])
    params = net.get_params()
    assert params["max_epochs"] == 2 and params["module__hidden"] == [16] and params["lr"] == 0.05
    assert params["module__n_features"] == 64 and params["optimizer__momentum"] == 0.95
