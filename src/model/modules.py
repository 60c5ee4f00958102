"""The activations' modules that torch lacks, each an ``nn.Module`` the registry builds.

The registry (`src.model.activations.REGISTRY`) names them; ``Elementwise`` wraps a user's
elementwise function. A stack of members (`src.training.stack`) reads their parameters along
the last axis.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F


class ReLUFunction(torch.autograd.Function):
    """ReLU with a hand-written backward: the gradient passes where the input is positive.

    At exactly zero the gradient is 0, as for `torch.relu`.
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return torch.where(x > 0, grad_output, torch.zeros_like(grad_output))


class AutogradReLU(nn.Module):
    """`ReLUFunction` as a module."""

    def forward(self, x):
        return ReLUFunction.apply(x)


class Swish(nn.Module):
    """``x * sigmoid(beta * x)``; ``learnable=True`` makes ``beta`` a trained parameter.

    Parameters
    ----------
    beta : float (default=1.0)
        Initial (or fixed) value of ``beta``.
    learnable : bool (default=False)
        Train ``beta`` with the network; each module owns its own parameter.
    """

    def __init__(self, beta=1.0, learnable=False):
        super().__init__()
        beta = torch.tensor(float(beta))
        if learnable:
            self.beta = nn.Parameter(beta)
        else:
            self.register_buffer("beta", beta)

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)

    def extra_repr(self):
        return f"beta={float(self.beta):g}, learnable={isinstance(self.beta, nn.Parameter)}"


class ThresholdedReLU(nn.Module):
    """Keras' ThresholdedReLU: ``x`` where ``x > theta``, else 0."""

    def __init__(self, theta=1.0):
        super().__init__()
        self.theta = float(theta)

    def forward(self, x):
        return torch.where(x > self.theta, x, torch.zeros_like(x))

    def extra_repr(self):
        return f"theta={self.theta}"


class Exponential(nn.Module):
    """Keras' exponential activation, ``exp(x)``."""

    def forward(self, x):
        return torch.exp(x)


class CReLU(nn.Module):
    """Concatenated ReLU: ``[relu(x), relu(-x)]`` along the last axis (doubles the width)."""

    def forward(self, x):
        return torch.cat([F.relu(x), F.relu(-x)], dim=-1)


class PReLU(nn.PReLU):
    """PReLU with one learnable slope, or one per unit when ``per_unit=True``.

    Parameters
    ----------
    per_unit : bool (default=False)
        One slope per unit of the layer (needs ``width``); otherwise one slope for the layer.
        Without a ``width`` (e.g. when plotting the function) there is a single slope.
    init : float (default=0.25)
        Initial slope for negative inputs.
    width : int, optional
        Width of the layer, passed by the model.
    """

    def __init__(self, per_unit=False, init=0.25, width=None):
        super().__init__(num_parameters=width if per_unit and width else 1, init=init)

    def forward(self, x):
        # torch.nn.PReLU's value and gradients (the slope's at x = 0 too), written so that the
        # slope broadcasts along the last axis, as a stack's member axis needs
        return torch.where(x > 0, x, self.weight * x)


class ReLU2(nn.Module):
    """Squared ReLU (So et al. 2021, Primer): ``relu(x) ** 2``."""

    def forward(self, x):
        return torch.square(F.relu(x))


class StarReLU(nn.Module):
    """StarReLU (Yu et al. 2022, MetaFormer baselines): ``scale * relu(x) ** 2 + bias``.

    Parameters
    ----------
    scale, bias : float (default=0.8944, -0.4472)
        Initial values of the learnable scale and bias: the paper's ``1 / sqrt(1.25)`` and
        ``-0.5 / sqrt(1.25)``, which give a standard-normal input an output of mean 0 and
        variance 1.
    """

    def __init__(self, scale=0.8944, bias=-0.4472):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([float(scale)]))
        self.bias = nn.Parameter(torch.tensor([float(bias)]))

    def forward(self, x):
        return self.scale * torch.square(F.relu(x)) + self.bias


def _softplus_inverse(y):
    return math.log(math.expm1(y))


class XIELU(nn.Module):
    """xIELU (Huang and Schlag 2024, used by Apertus), with learnable ``alpha_p`` and ``alpha_n``.

    ``alpha_p x**2 + beta x`` for ``x > 0``, else ``alpha_n (expm1(min(x, eps)) - x) + beta x``,
    where ``alpha_p = softplus(a_p)`` and ``alpha_n = beta + softplus(a_n)`` keep both positive
    (``alpha_n > beta``): the trained parameters are ``a_p`` and ``a_n``, as in the reference
    implementation.

    Parameters
    ----------
    alpha_p, alpha_n : float (default=0.8)
        Initial ``alpha_p`` and ``alpha_n`` (``alpha_n`` must exceed ``beta``).
    beta : float (default=0.5)
        The fixed linear term.
    eps : float (default=-1e-6)
        The negative side's exponent is clamped to ``eps``: its gradient at 0 is then finite.
    """

    def __init__(self, alpha_p=0.8, alpha_n=0.8, beta=0.5, eps=-1e-6):
        super().__init__()
        self.beta, self.eps = float(beta), float(eps)
        self.alpha_p = nn.Parameter(torch.tensor([_softplus_inverse(alpha_p)]))
        self.alpha_n = nn.Parameter(torch.tensor([_softplus_inverse(alpha_n - beta)]))

    def forward(self, x):
        alpha_p = F.softplus(self.alpha_p)
        alpha_n = self.beta + F.softplus(self.alpha_n)
        negative = (torch.expm1(x.clamp(max=self.eps)) - x) * alpha_n
        return torch.where(x > 0, alpha_p * x * x, negative) + self.beta * x


class Snake(nn.Module):
    """Snake (Liu Ziyin et al. 2020; BigVGAN): ``x + sin(alpha x) ** 2 / alpha``, ``alpha`` learnable per unit.

    Parameters
    ----------
    alpha : float (default=1.0)
        Initial frequency (BigVGAN's default).
    width : int, optional
        Width of the layer, passed by the model: one ``alpha`` per unit (one without it).
    """

    NO_DIV_BY_ZERO = 1e-9  # BigVGAN's guard against alpha = 0

    def __init__(self, alpha=1.0, width=None):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((width or 1,), float(alpha)))

    def forward(self, x):
        return x + torch.square(torch.sin(self.alpha * x)) / (self.alpha + self.NO_DIV_BY_ZERO)


# Padé approximation of leaky ReLU (slope 0.01) on [-3, 3], the initial coefficients of the
# PAU paper (Molina et al. 2020, "pade_optimized_leakyrelu" of ml-research/pau): numerator
# a_0 .. a_5, denominator b_1 .. b_4.
PAU_LEAKY_RELU = ((3.35583603e-02, 5.05000375e-01, 1.65343934e+00, 2.01001052e+00, 9.31901999e-01, 1.52424124e-01),
                  (3.30847488e-06, 3.98021568e+00, 5.12471206e-07, 3.01830109e-01))


class PAU(nn.Module):
    """Padé Activation Unit (Molina et al. 2020), in pure PyTorch, with the paper's safe denominator.

    ``P(x) / Q(x)`` with ``P(x) = a_0 + a_1 x + ... + a_5 x**5`` and
    ``Q(x) = 1 + |b_1| |x| + |b_2| |x|**2 + ... + |b_4| |x|**4``, which is at least 1, so the
    function has no poles. The coefficients are learnable, one set per layer, initialised to
    the paper's Padé approximation of leaky ReLU (`PAU_LEAKY_RELU`).
    """

    def __init__(self):
        super().__init__()
        self.numerator = nn.Parameter(torch.tensor(PAU_LEAKY_RELU[0]))
        self.denominator = nn.Parameter(torch.tensor(PAU_LEAKY_RELU[1]))

    def forward(self, x):
        a, b = self.numerator, self.denominator.abs()  # read along the last axis (a stack adds axes before it)
        p = a[..., 5]
        for k in range(4, -1, -1):  # Horner's scheme
            p = p * x + a[..., k]
        ax = x.abs()
        q = b[..., 3]
        for k in range(2, -1, -1):
            q = q * ax + b[..., k]
        return p / (1 + q * ax)


class Elementwise(nn.Module):
    """A user's elementwise function as a module: ``function(x, **params)``.

    Parameters
    ----------
    function : callable
        A function importable by its path (so that the module pickles by reference).
    **params
        Its keyword parameters.
    """

    def __init__(self, function, **params):
        super().__init__()
        self.function, self.params = function, params

    def forward(self, x):
        return self.function(x, **self.params)

    def extra_repr(self):
        return f"{self.function.__module__}.{self.function.__qualname__}"
