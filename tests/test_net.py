"""The skorch classifier's own choices: fused optimizer steps."""
import numpy as np
import pytest
import torch

from src.net import make_net, with_fused


def _fit(**optimizer_kwargs):
    X = np.random.default_rng(0).normal(size=(200, 12)).astype(np.float32)
    y = np.arange(200) % 3
    net = make_net(12, 3, hidden=[16], epochs=3, verbose=0, threads=1,
                   optimizer_kwargs={"momentum": 0.9, **optimizer_kwargs})
    return net.fit(X, y)


def test_sgd_steps_are_fused_and_change_nothing():
    fused, looped = _fit(), _fit(foreach=False)
    assert fused.optimizer_.defaults["fused"] is True
    assert not looped.optimizer_.defaults.get("fused")
    for (name, a), (_, b) in zip(fused.module_.state_dict().items(), looped.module_.state_dict().items()):
        assert torch.equal(a, b), name


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
