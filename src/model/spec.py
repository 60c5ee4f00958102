"""The grammar of an activation spec: a spec to its name and parameters (`split`), and back (`join`).

A *spec* names an activation and its parameters. It may be a plain name (``"selu"``), a call
(``"leaky_relu(negative_slope=0.2)"``) or a mapping (``{"name": "leaky_relu",
"negative_slope": 0.2}``). Specs are normalised (`src.model.activations.parse`) to a canonical
*label*, which is what configs, grids, tables and plots carry around: a plain string, cheap to
clone and readable. Aliases resolve to their canonical name (``softrelu`` -> ``softplus``,
``logistic`` -> ``sigmoid``, ``swish`` without a non-default ``beta`` or ``learnable`` ->
``silu``), and parameters left at their default are dropped, so equal activations get equal labels.

A spec may also name the user's own activation by import path, as Hydra's ``_target_`` does:
``"my_pkg.acts:Fancy"``, ``"my_pkg.acts:Fancy(beta=2.0)"`` or ``{"_target_": "my_pkg.acts.Fancy",
"beta": 2.0}``: an ``nn.Module`` class, or an elementwise function (wrapped in
`src.model.modules.Elementwise`). Its label is ``module:attribute`` with its non-default
parameters, and a worker that builds it imports it by that path (`resolve`).
"""
import ast
import importlib
import re
from typing import Mapping

from ..errors import UserError

CALL = re.compile(r"^\s*([A-Za-z_][\w.:]*)\s*(?:\((.*)\))?\s*$", re.S)
WORDS = {"true": True, "false": False, "null": None}
WORKERS = ("the workers of a grid (joblib, Dask, Slurm) must be able to import it too: run from the folder "
           "that holds it or put that folder on PYTHONPATH")


def _literal(text):
    text = text.strip()
    if text.lower() in WORDS:
        return WORDS[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def split(spec):
    """Return the ``(name, params)`` a spec is written with, before any checking.

    Parameters
    ----------
    spec : str or mapping
        ``NAME``, ``NAME(param=value, ...)``, ``{name: NAME, ...}`` or ``{_target_: module.Class, ...}``.

    Returns
    -------
    (str, dict)
    """
    if isinstance(spec, str):
        match = CALL.match(spec)
        if not match:
            raise UserError(f"cannot read activation {spec!r}; write NAME or NAME(param=value, ...)")
        params = {}
        for part in filter(str.strip, (match.group(2) or "").split(",")):
            if "=" not in part:
                raise UserError(f"activation {spec!r}: parameters are written param=value, got {part.strip()!r}")
            key, value = part.split("=", 1)
            params[key.strip()] = _literal(value)
        return match.group(1), params
    if isinstance(spec, Mapping) and "name" in spec:
        return str(spec["name"]), {str(k): v for k, v in spec.items() if k != "name"}
    if isinstance(spec, Mapping) and "_target_" in spec:  # Hydra's form; each layer builds its own
        return str(spec["_target_"]), {str(k): v for k, v in spec.items() if k not in ("_target_", "_partial_")}
    raise UserError(f"cannot read activation {spec!r}; write NAME, NAME(param=value), {{name: NAME, ...}} "
                    f"or {{_target_: module.Class, ...}}")


def _format(value):
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_]\w*", value) and value.lower() not in WORDS:
        return value
    return repr(value)


def join(name, params):
    """Return the label ``name(key=value, ...)`` of a name and its parameters (sorted), `split` read back."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={_format(v)}' for k, v in sorted(params.items()))})"


def imported(spec):
    """Whether a spec names the user's own activation by import path (``my_pkg.acts:Fancy``)."""
    name = split(spec)[0]
    return ":" in name or "." in name


def _candidates(path):
    """``(module, attribute)`` readings of an import path, the longest module first."""
    if ":" in path:
        return [tuple(path.split(":", 1))]
    parts = path.split(".")
    return [(".".join(parts[:i]), ".".join(parts[i:])) for i in range(len(parts) - 1, 0, -1)]


def resolve(path):
    """Return ``(canonical "module:attribute", object)`` for an import path, or raise one line."""
    missing = None
    for module_name, attribute in _candidates(path):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
                missing = missing or exc
                continue
            raise UserError(f"activation {path!r}: importing {module_name!r} failed ({exc}); {WORKERS}") from None
        except Exception as exc:  # the user's module raised while being imported
            raise UserError(f"activation {path!r}: importing {module_name!r} raised "
                            f"{type(exc).__name__}: {exc}; {WORKERS}") from None
        obj = module
        for part in attribute.split("."):
            if not hasattr(obj, part):
                if missing is not None:  # a longer module path was meant
                    break
                raise UserError(f"activation {path!r}: module {module_name!r} has no attribute {attribute!r}; "
                                f"{WORKERS}")
            obj = getattr(obj, part)
        else:
            return f"{module_name}:{attribute}", obj
    raise UserError(f"activation {path!r}: cannot import module {missing.name!r}; {WORKERS}")
