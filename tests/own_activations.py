"""Activations for the tests of `src.model.contract`: one that keeps the contract, and one
breaking each of its clauses."""
import torch
from torch import nn

NOT_CALLABLE = 3
_calls = [0]


def scaled_tanh(x, scale=1.0):
    """An elementwise function with a parameter."""
    return scale * torch.tanh(x)


class Halves(nn.Module):
    """Drops half of the units: its output's shape is not its input's."""

    def forward(self, x):
        return x[..., ::2]


class LogOf(nn.Module):
    """NaN for negative inputs."""

    def forward(self, x):
        return torch.log(x)


class _InfGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("inf")


class InfiniteGradient(nn.Module):
    """The identity, with an infinite gradient."""

    def forward(self, x):
        return _InfGrad.apply(x)


class HoldsALambda(nn.Module):
    """A module that pickle cannot copy (it holds a lambda)."""

    def __init__(self):
        super().__init__()
        self.f = lambda x: x

    def forward(self, x):
        return self.f(x)


class Drifts(nn.Module):
    """Its output changes from call to call whatever the seed."""

    def forward(self, x):
        _calls[0] += 1
        return x * _calls[0]


class NoisyReLU(nn.Module):
    """ReLU with noise drawn from torch's global generator in training."""

    def forward(self, x):
        return torch.relu(x) + (0.01 * torch.randn_like(x) if self.training else 0)


class Raises(nn.Module):
    """Fails when called."""

    def forward(self, x):
        raise RuntimeError("not implemented")
