"""The activation registry: one dict from name to `Entry`, and the functions that read specs through it.

A spec's grammar (names, calls, mappings, import paths) is `src.model.spec`'s; the modules torch
lacks are `src.model.modules`'s (imported here, so that ``src.model.activations.Swish`` and the
like still name them).
"""
import functools
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Tuple

from torch import nn

from ..errors import UserError, choices_error
from . import randomness
from .modules import (
    PAU,
    XIELU,
    AutogradReLU,
    CReLU,
    Elementwise,
    Exponential,
    PReLU,
    ReLU2,
    ReLUFunction,
    Snake,
    StarReLU,
    Swish,
    ThresholdedReLU,
)
from .spec import imported, join, resolve, split  # noqa: F401  (imported: public here too)


@dataclass(frozen=True)
class Entry:
    """How to build an activation and what the rest of the project needs to know about it.

    Attributes
    ----------
    factory : callable
        Builds the module from keyword parameters (and ``width`` when ``wants_width``). Its
        keyword parameters and their defaults are the activation's parameters.
    init : str
        The weight initialisation that ``model.init=auto`` picks for it (a key of
        `src.model.mlp.INITS`).
    bounds : tuple, optional
        Lower and upper bound of a bounded activation (used for saturation diagnostics);
        each a number or the name of the parameter that sets it. See `bounds`.
    width_factor : int
        How many outputs it produces per input unit (2 for CReLU).
    wants_width : bool
        Whether the factory takes the layer width (per-unit parameters).
    smooth : bool
        Whether it is continuously differentiable everywhere (with default parameters).
    choices : mapping
        The allowed values of string parameters.
    checks : tuple of (callable, str)
        Conditions on the parameters (all of them, defaults filled in), with the message
        given when one fails.
    doc : str
        A one-line formula.
    slope : callable, optional
        The slope on the negative side, from the parameters (defaults filled in), for the
        He init's gain ``sqrt(2 / (1 + slope**2))``; None means 0 (ReLU's gain).
    same_as : str, optional
        The registered name that computes exactly the same function (values and gradients)
        when this one has its default parameters; a grid then trains only that one.
    parameters : mapping, optional
        The parameters and their defaults, when they are not the factory's keyword parameters
        (a user's function wrapped in `Elementwise`).
    """

    factory: Callable
    init: str = "default"
    bounds: Optional[Tuple] = None
    width_factor: int = 1
    wants_width: bool = False
    smooth: bool = True
    choices: Mapping = field(default_factory=dict, compare=False)
    checks: Tuple = field(default=(), compare=False)
    doc: str = field(default="", compare=False)
    slope: Optional[Callable] = field(default=None, compare=False)
    same_as: Optional[str] = field(default=None, compare=False)
    parameters: Optional[Mapping] = field(default=None, compare=False)


RELU, GLOROT, LECUN, DEFAULT = "kaiming_normal", "xavier_normal", "lecun_normal", "default"

REGISTRY = {
    "sigmoid": Entry(nn.Sigmoid, GLOROT, (0.0, 1.0), doc="1 / (1 + exp(-x))"),
    "tanh": Entry(nn.Tanh, GLOROT, (-1.0, 1.0), doc="2 sigmoid(2x) - 1"),
    "softsign": Entry(nn.Softsign, GLOROT, (-1.0, 1.0), doc="x / (1 + |x|)"),
    "relu": Entry(nn.ReLU, RELU, smooth=False, doc="max(0, x)"),
    "relu_autograd": Entry(AutogradReLU, RELU, smooth=False, same_as="relu",
                           doc="max(0, x), with a hand-written autograd backward"),
    "leaky_relu": Entry(nn.LeakyReLU, RELU, smooth=False, slope=lambda p: p["negative_slope"],
                         doc="x if x > 0 else negative_slope x"),
    "prelu": Entry(PReLU, RELU, wants_width=True, smooth=False, slope=lambda p: p["init"],
                   doc="x if x > 0 else a x, a learned (one per layer, or per unit)"),
    "rrelu": Entry(randomness.RReLU, RELU, smooth=False,
                   checks=((lambda p: p["lower"] <= p["upper"], "lower must be <= upper"),),
                   slope=lambda p: (p["lower"] + p["upper"]) / 2,
                   doc="x if x >= 0 else a x, a ~ U(lower, upper) in training, (lower + upper) / 2 in eval"),
    "relu6": Entry(nn.ReLU6, RELU, (0.0, 6.0), smooth=False, doc="min(max(0, x), 6)"),
    "crelu": Entry(CReLU, RELU, width_factor=2, smooth=False,
                   doc="[relu(x), relu(-x)] (doubles the layer's width)"),
    "threshold": Entry(ThresholdedReLU, RELU, smooth=False, doc="x if x > theta else 0"),
    "elu": Entry(nn.ELU, DEFAULT, doc="x if x > 0 else alpha (exp(x) - 1)"),
    "selu": Entry(nn.SELU, LECUN, smooth=False,
                  doc="scale (x if x > 0 else alpha (exp(x) - 1)), scale = 1.0507, alpha = 1.6733"),
    "celu": Entry(nn.CELU, DEFAULT, checks=((lambda p: p["alpha"] != 0, "alpha must not be 0"),), same_as="elu",
                  doc="max(0, x) + min(0, alpha (exp(x / alpha) - 1))"),
    "gelu": Entry(nn.GELU, DEFAULT, choices={"approximate": ("none", "tanh")},
                  doc="x Phi(x), Phi the standard normal CDF (approximate=tanh: its tanh formula)"),
    "silu": Entry(nn.SiLU, DEFAULT, doc="x sigmoid(x)"),
    "swish": Entry(Swish, DEFAULT, same_as="silu", doc="x sigmoid(beta x) (learnable=True trains beta)"),
    "mish": Entry(nn.Mish, DEFAULT, doc="x tanh(softplus(x))"),
    "softplus": Entry(nn.Softplus, DEFAULT, checks=((lambda p: p["beta"] > 0, "beta must be > 0"),),
                      doc="log(1 + exp(beta x)) / beta (linear where beta x > threshold)"),
    "hardtanh": Entry(nn.Hardtanh, DEFAULT, ("min_val", "max_val"), smooth=False,
                      checks=((lambda p: p["min_val"] < p["max_val"], "min_val must be < max_val"),),
                      doc="min(max(x, min_val), max_val)"),
    "hardsigmoid": Entry(nn.Hardsigmoid, DEFAULT, (0.0, 1.0), smooth=False, doc="min(max(x / 6 + 1 / 2, 0), 1)"),
    "hardswish": Entry(nn.Hardswish, DEFAULT, smooth=False, doc="x hardsigmoid(x)"),
    "logsigmoid": Entry(nn.LogSigmoid, DEFAULT, doc="log(sigmoid(x)) = -softplus(-x)"),
    "softshrink": Entry(nn.Softshrink, DEFAULT, smooth=False,
                        checks=((lambda p: p["lambd"] >= 0, "lambd must be >= 0"),),
                        doc="x - lambd sign(x) if |x| > lambd else 0"),
    "hardshrink": Entry(nn.Hardshrink, DEFAULT, smooth=False,
                        checks=((lambda p: p["lambd"] >= 0, "lambd must be >= 0"),),
                        doc="x if |x| > lambd else 0"),
    "tanhshrink": Entry(nn.Tanhshrink, DEFAULT, doc="x - tanh(x)"),
    "exponential": Entry(Exponential, DEFAULT, doc="exp(x) (unbounded gradient: prone to diverge)"),
    "linear": Entry(nn.Identity, DEFAULT, doc="x (no non-linearity: the baseline)"),
    "relu2": Entry(ReLU2, DEFAULT, doc="relu(x)^2 (Primer)"),
    "star_relu": Entry(StarReLU, DEFAULT, doc="scale relu(x)^2 + bias, scale and bias learned (MetaFormer)"),
    "xielu": Entry(XIELU, DEFAULT,
                   checks=((lambda p: p["alpha_p"] > 0, "alpha_p must be > 0"),
                           (lambda p: p["alpha_n"] > p["beta"], "alpha_n must be > beta"),
                           (lambda p: p["eps"] <= 0, "eps must be <= 0")),
                   doc="alpha_p x^2 + beta x if x > 0 else alpha_n (expm1(min(x, eps)) - x) + beta x, "
                       "alpha_p and alpha_n learned (Apertus)"),
    "snake": Entry(Snake, DEFAULT, wants_width=True, checks=((lambda p: p["alpha"] > 0, "alpha must be > 0"),),
                   doc="x + sin(alpha x)^2 / alpha, alpha learned per unit (BigVGAN)"),
    "pau": Entry(PAU, DEFAULT, smooth=False,
                 doc="P(x) / (1 + sum |b_k| |x|^k), degrees 5 / 4, learned, initialised as leaky ReLU (PAU)"),
}

ALIASES = {"softrelu": "softplus", "logistic": "sigmoid"}

# Constructor arguments that are not activation parameters: the layer width, in-place
# operation (never wanted here) and Hardtanh's deprecated spellings of min_val and max_val.
_NOT_PARAMETERS = ("self", "width", "inplace", "min_value", "max_value")


def available():
    """Return the canonical names of every registered activation, sorted.

    Returns
    -------
    list of str
        Aliases (see `aliases`) are not listed: they resolve to these names.
    """
    return sorted(REGISTRY)


def aliases(name):
    """Return the alias names (sorted) that resolve to the canonical ``name``.

    ``swish`` is listed under ``silu``, which it means when given no ``beta``.
    """
    found = [alias for alias, target in ALIASES.items() if target == name]
    return sorted(found + (["swish"] if name == "silu" else []))


@functools.lru_cache(maxsize=None)
def _user(path):
    """Return ``(canonical path, Entry)`` of a user's activation: an nn.Module class or an elementwise function."""
    canonical, obj = resolve(path)
    if isinstance(obj, type) and not issubclass(obj, nn.Module):
        raise UserError(f"activation {canonical!r} is a class but not a torch.nn.Module; give an nn.Module "
                        f"class or an elementwise function")
    if not callable(obj):
        raise UserError(f"activation {canonical!r} is not callable (it is a {type(obj).__name__}); give an "
                        f"nn.Module class or an elementwise function")
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # a builtin without one: no parameters
        signature = inspect.Signature()
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = [p for p in signature.parameters.values() if p.kind in keyword]
    if isinstance(obj, type):
        factory = obj
    else:  # a function: its first argument is the input
        factory, params = functools.partial(Elementwise, obj), params[1:]
    defaults = {p.name: p.default for p in params if p.name not in _NOT_PARAMETERS}
    doc = (inspect.getdoc(obj) or canonical).strip().splitlines()[0]
    return canonical, Entry(factory, DEFAULT, wants_width="width" in signature.parameters, parameters=defaults,
                            doc=doc)


def _lookup(name):
    """The `Entry` of a canonical name: the registry's, or a user's activation by its import path."""
    return REGISTRY[name] if name in REGISTRY else _user(name)[1]


def distinct(specs):
    """Keep one spec per function: drop those that compute the same as another in ``specs``.

    Two specs compute the same function when their labels are equal (``swish`` is
    ``silu``) or when one is a registered name at its default parameters whose entry says
    it is the same as the other (``celu`` is ``elu``, see `Entry.same_as`). The one kept is
    the canonical name when it is among ``specs``, else the first of them.

    Parameters
    ----------
    specs : iterable
        Specs as `parse` accepts them.

    Returns
    -------
    kept : list of str
        Labels, in the order of their first appearance.
    aliases : dict
        Kept label -> the specs (as written, or their labels) dropped in its favour; only
        labels with aliases appear.
    """
    groups, order = {}, []
    for spec in specs:
        name, params = parse(spec)
        lab = join(name, params)
        same_as = _lookup(name).same_as
        key = same_as if not params and same_as else lab
        written = spec if isinstance(spec, str) else lab
        groups.setdefault(key, []).append((written, lab))
        order.append((key, lab))
    chosen = {key: key if key in {lab for _, lab in members} else members[0][1] for key, members in groups.items()}
    kept = list(dict.fromkeys(lab for key, lab in order if lab == chosen[key]))
    aliases = {}
    for key, members in groups.items():
        base = chosen[key].split("(", 1)[0].strip().lower()  # an import path's class name has capitals
        dropped = [written for written, _ in members if written.split("(", 1)[0].strip().lower() != base]
        if dropped:
            aliases[chosen[key]] = list(dict.fromkeys(dropped))
    return kept, aliases


@functools.lru_cache(maxsize=None)
def _defaults(name):
    item = _lookup(name)
    if item.parameters is not None:
        return dict(item.parameters)
    signature = inspect.signature(item.factory)
    return {k: p.default for k, p in signature.parameters.items()
            if k not in _NOT_PARAMETERS and p.kind is p.POSITIONAL_OR_KEYWORD}


def defaults(name):
    """Return the parameters of a registered activation with their default values.

    Parameters
    ----------
    name : str
        A canonical name.

    Returns
    -------
    dict
    """
    return dict(_defaults(name))


def _coerce(name, key, value, default, choices):
    """Check one parameter value against the type of its default; ints become floats."""
    where = f"activation {name!r}: {key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{where} must be a finite number, got {value!r}")
        return float(value) if isinstance(default, float) else value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise UserError(f"{where} must be a string, got {value!r}")
        if key in choices and value not in choices[key]:
            raise UserError(f"{where} {value!r} is not one of: {', '.join(choices[key])}")
    return value


def _canonical(name, params):
    """Resolve aliases (or an import path), check parameters and drop those at their default."""
    if ":" in name or "." in name:
        name = _user(name.strip())[0]
    else:
        name = name.strip().lower()
        name = ALIASES.get(name, name)
        if name not in REGISTRY:
            raise choices_error("activation", name, list(REGISTRY) + list(ALIASES))
    item, accepted = _lookup(name), _defaults(name)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        valid = f"its parameters: {', '.join(sorted(accepted))}" if accepted else "it takes no parameters"
        raise UserError(f"activation {name!r} has no parameter {unknown[0]!r}; {valid}")
    values = {k: _coerce(name, k, v, accepted[k], item.choices) for k, v in params.items()}
    full = {**accepted, **values}
    for holds, message in item.checks:
        if not holds(full):
            raise UserError(f"activation {join(name, values)!r}: {message}")
    kept = {k: v for k, v in values.items() if v != accepted[k]}
    if name == "swish" and not kept:
        name = "silu"  # x sigmoid(1 x), with a fixed beta: that is SiLU
    return name, dict(sorted(kept.items()))


def parse(spec):
    """Turn a spec into ``(canonical_name, params)``, dropping parameters left at their default.

    Parameters
    ----------
    spec : str or mapping
        ``"selu"``, ``"leaky_relu(negative_slope=0.2)"`` or ``{"name": ..., **params}``.

    Returns
    -------
    (str, dict)
        The canonical name and the non-default parameters, sorted by name. Integers given
        for float parameters become floats.

    Raises
    ------
    UserError
        For an unknown name or parameter (naming the valid ones) or a bad value.
    """
    return _canonical(*split(spec))


def label(spec):
    """Return the canonical, readable label of a spec.

    Parameters
    ----------
    spec : str or mapping
        Any spec `parse` accepts.

    Returns
    -------
    str
        E.g. ``leaky_relu(negative_slope=0.2)``; ``leaky_relu`` when the slope is the
        default; ``softplus`` for ``softrelu``. `parse` reads it back to the same activation.
    """
    return join(*parse(spec))


def entry(spec):
    """Return the registry `Entry` of a spec.

    Parameters
    ----------
    spec : str or mapping

    Returns
    -------
    Entry
    """
    return _lookup(parse(spec)[0])


def bounds(spec):
    """Return the ``(lower, upper)`` bounds of a bounded activation, with its parameters.

    Parameters
    ----------
    spec : str or mapping

    Returns
    -------
    tuple of float or None
        None when the activation is not bounded on both sides.
    """
    name, params = parse(spec)
    item = _lookup(name)
    if item.bounds is None:
        return None
    full = {**_defaults(name), **params}
    return tuple(float(full[b] if isinstance(b, str) else b) for b in item.bounds)


def negative_slope(spec):
    """Return the slope of an activation on the negative side, as the He init needs it.

    Parameters
    ----------
    spec : str or mapping

    Returns
    -------
    float
        ``negative_slope`` for leaky_relu, the initial slope for prelu, the mean slope for
        rrelu, 0 for every other activation.
    """
    name, params = parse(spec)
    item = _lookup(name)
    return 0.0 if item.slope is None else float(item.slope({**_defaults(name), **params}))


def build(name, width=None, **params):
    """Build a fresh activation module.

    Parameters
    ----------
    name : str or mapping
        A registered name or alias, or a full spec such as ``"elu(alpha=0.5)"``.
    width : int, optional
        Width of the layer it follows (used by per-unit parameters such as PReLU's).
    **params
        Parameters of the activation, e.g. ``negative_slope=0.2``; they override those
        written in ``name``.

    Returns
    -------
    torch.nn.Module
        A new module on every call, so learnable parameters are never shared.
    """
    raw_name, raw_params = split(name)
    canonical, kept = _canonical(raw_name, {**raw_params, **params})
    item = _lookup(canonical)
    kwargs = dict(kept)
    if item.wants_width:
        kwargs["width"] = width
    try:
        return item.factory(**kwargs)
    except Exception as exc:  # a user's class may raise anything
        raise UserError(f"activation {join(canonical, kept)!r}: {exc}") from None
