"""The activation registry: one dict from name to entry, plus spec parsing and labels.

A *spec* names an activation and its parameters. It may be a plain name (``"selu"``), a call
(``"leaky_relu(negative_slope=0.2)"``) or a mapping (``{"name": "leaky_relu",
"negative_slope": 0.2}``). Specs are normalised to a canonical *label*, which is what
configs, grids, tables and plots carry around: a plain string, cheap to clone and readable.
"""
import ast
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import torch
from torch import nn
from torch.nn import functional as F

from .errors import UserError, choices_error


class ReLUFunction(torch.autograd.Function):
    """ReLU with a hand-written backward: the gradient passes where the input is positive."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * (x > 0).to(grad_output.dtype)


class AutogradReLU(nn.Module):
    """`ReLUFunction` as a module."""

    def forward(self, x):
        return ReLUFunction.apply(x)


class Swish(nn.Module):
    """``x * sigmoid(beta * x)``; ``learnable=True`` makes ``beta`` a trained parameter."""

    def __init__(self, beta=1.0, learnable=False):
        super().__init__()
        beta = torch.tensor(float(beta))
        if learnable:
            self.beta = nn.Parameter(beta)
        else:
            self.register_buffer("beta", beta)

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


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
    """PReLU with one learnable slope, or one per unit when ``per_unit=True``."""

    def __init__(self, per_unit=False, init=0.25, width=None):
        super().__init__(num_parameters=width if per_unit and width else 1, init=init)


@dataclass(frozen=True)
class Entry:
    """How to build an activation and what the rest of the project needs to know about it.

    Attributes
    ----------
    factory : callable
        Builds the module from keyword parameters (and ``width`` when ``wants_width``).
    init : str
        The weight initialisation that ``model.init=auto`` picks for it.
    bounds : tuple of float, optional
        Lower and upper bound of a bounded activation (used for saturation diagnostics).
    width_factor : int
        How many outputs it produces per input unit (2 for CReLU).
    wants_width : bool
        Whether the factory takes the layer width (per-unit parameters).
    """

    factory: Callable
    init: str = "default"
    bounds: Optional[Tuple[float, float]] = None
    width_factor: int = 1
    wants_width: bool = False
    smooth: bool = True
    doc: str = field(default="", compare=False)


RELU, GLOROT, LECUN, DEFAULT = "kaiming_normal", "xavier_normal", "lecun_normal", "default"

REGISTRY = {
    "sigmoid": Entry(nn.Sigmoid, GLOROT, (0.0, 1.0), doc="1 / (1 + exp(-x))"),
    "tanh": Entry(nn.Tanh, GLOROT, (-1.0, 1.0), doc="2 sigmoid(2x) - 1"),
    "softsign": Entry(nn.Softsign, GLOROT, (-1.0, 1.0), doc="x / (1 + |x|)"),
    "relu": Entry(nn.ReLU, RELU, smooth=False, doc="max(0, x)"),
    "relu_autograd": Entry(AutogradReLU, RELU, smooth=False, doc="ReLU with a hand-written backward"),
    "leaky_relu": Entry(nn.LeakyReLU, RELU, smooth=False, doc="x if x > 0 else negative_slope * x"),
    "prelu": Entry(PReLU, RELU, wants_width=True, smooth=False, doc="leaky ReLU with a learned slope"),
    "rrelu": Entry(nn.RReLU, RELU, smooth=False, doc="random slope in [lower, upper]; mean slope in eval"),
    "relu6": Entry(nn.ReLU6, RELU, (0.0, 6.0), smooth=False, doc="min(max(0, x), 6)"),
    "crelu": Entry(CReLU, RELU, width_factor=2, smooth=False, doc="[relu(x), relu(-x)]"),
    "threshold": Entry(ThresholdedReLU, RELU, smooth=False, doc="x if x > theta else 0"),
    "elu": Entry(nn.ELU, DEFAULT, doc="x if x > 0 else alpha (exp(x) - 1)"),
    "selu": Entry(nn.SELU, LECUN, doc="scale * elu(x, alpha) with fixed scale and alpha"),
    "celu": Entry(nn.CELU, DEFAULT, doc="max(0, x) + min(0, alpha (exp(x / alpha) - 1))"),
    "gelu": Entry(nn.GELU, DEFAULT, doc="x Phi(x)"),
    "silu": Entry(nn.SiLU, DEFAULT, doc="x sigmoid(x)"),
    "swish": Entry(Swish, DEFAULT, doc="x sigmoid(beta x)"),
    "mish": Entry(nn.Mish, DEFAULT, doc="x tanh(softplus(x))"),
    "softplus": Entry(nn.Softplus, DEFAULT, doc="log(1 + exp(beta x)) / beta"),
    "hardtanh": Entry(nn.Hardtanh, GLOROT, (-1.0, 1.0), smooth=False, doc="clamp(x, min_val, max_val)"),
    "hardsigmoid": Entry(nn.Hardsigmoid, GLOROT, (0.0, 1.0), smooth=False, doc="clamp(x / 6 + 1 / 2, 0, 1)"),
    "hardswish": Entry(nn.Hardswish, DEFAULT, smooth=False, doc="x hardsigmoid(x)"),
    "logsigmoid": Entry(nn.LogSigmoid, DEFAULT, doc="log(sigmoid(x))"),
    "softshrink": Entry(nn.Softshrink, DEFAULT, smooth=False, doc="x - lambd sign(x) if |x| > lambd else 0"),
    "hardshrink": Entry(nn.Hardshrink, DEFAULT, smooth=False, doc="x if |x| > lambd else 0"),
    "tanhshrink": Entry(nn.Tanhshrink, DEFAULT, doc="x - tanh(x)"),
    "exponential": Entry(Exponential, DEFAULT, doc="exp(x)"),
    "linear": Entry(nn.Identity, DEFAULT, doc="x (no non-linearity: the baseline)"),
}

ALIASES = {"softrelu": "softplus", "logistic": "sigmoid"}

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def available():
    """Return the canonical names of every registered activation, sorted."""
    return sorted(REGISTRY)


def _literal(text):
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.strip().lower() in lowered:
        return lowered[text.strip().lower()]
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def _parse_call(text):
    match = _CALL.match(text)
    if not match:
        raise UserError(f"cannot read activation {text!r}; write NAME or NAME(param=value, ...)")
    name, args = match.group(1), match.group(2)
    params = {}
    for part in filter(str.strip, (args or "").split(",")):
        if "=" not in part:
            raise UserError(f"activation {text!r}: parameters are written param=value, got {part.strip()!r}")
        key, value = part.split("=", 1)
        params[key.strip()] = _literal(value)
    return name, params


def _accepted(name):
    signature = inspect.signature(REGISTRY[name].factory)
    return {k: p.default for k, p in signature.parameters.items()
            if k not in ("self", "width", "inplace") and p.kind is p.POSITIONAL_OR_KEYWORD}


def parse(spec):
    """Turn a spec into ``(canonical_name, params)``, dropping parameters left at their default.

    Parameters
    ----------
    spec : str or mapping
        ``"selu"``, ``"leaky_relu(negative_slope=0.2)"`` or ``{"name": ..., **params}``.

    Returns
    -------
    (str, dict)
    """
    if isinstance(spec, str):
        name, params = _parse_call(spec)
    elif hasattr(spec, "keys") and "name" in spec:
        params = {k: spec[k] for k in spec.keys() if k != "name"}
        name = str(spec["name"])
    else:
        raise UserError(f"cannot read activation {spec!r}; write NAME, NAME(param=value) or {{name: NAME, ...}}")
    name = name.lower()
    if name == "swish" and "beta" not in params and not params.get("learnable"):
        name = "silu"
    name = ALIASES.get(name, name)
    if name not in REGISTRY:
        raise choices_error("activation", name, list(REGISTRY) + list(ALIASES))
    accepted = _accepted(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        valid = ", ".join(sorted(accepted)) or "none"
        raise UserError(f"activation {name!r} has no parameter {unknown[0]!r}; its parameters: {valid}")
    kept = {k: v for k, v in params.items() if v != accepted[k]}
    return name, dict(sorted(kept.items()))


def label(spec):
    """Return the canonical, readable label of a spec, e.g. ``leaky_relu(negative_slope=0.2)``."""
    name, params = parse(spec)
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={v!r}' if isinstance(v, str) else f'{k}={v}' for k, v in params.items())})"


def entry(spec):
    """Return the registry `Entry` of a spec."""
    return REGISTRY[parse(spec)[0]]


def build(name, width=None, **params):
    """Build a fresh activation module.

    Parameters
    ----------
    name : str
        A registered name or alias, or a full spec such as ``"elu(alpha=0.5)"``.
    width : int, optional
        Width of the layer it follows (used by per-unit parameters such as PReLU's).
    **params
        Parameters of the activation, e.g. ``negative_slope=0.2``.

    Returns
    -------
    torch.nn.Module
    """
    base_name, base_params = parse(name)
    canonical, params = parse({"name": base_name, **base_params, **params}) if params else (base_name, base_params)
    item = REGISTRY[canonical]
    kwargs = dict(params)
    if item.wants_width:
        kwargs["width"] = width
    try:
        return item.factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise UserError(f"activation {label(name)!r}: {exc}") from None
