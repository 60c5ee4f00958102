"""The checks a config key carries beside it: a range, choices, a rule, each of a list, a parser.

Each is called with the dotted key and the value, and raises a one-line `src.errors.UserError`;
`src.config.schema.check` applies them all.
"""
import importlib
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf

from ..errors import UserError, choices_error


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)



@dataclass(frozen=True)
class Range:
    """Numbers from ``low`` to ``high`` (None: unbounded); ``low_open``/``high_open`` exclude an end.

    ``integer=True`` also words the message for integers. None passes (an optional key).
    """

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def allows(self, value):
        """Whether ``value`` is a number inside the range."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (self.integer and not _is_int(value)):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def allowed(self):
        """The range in words, e.g. ``a positive integer`` or ``in [0, 1)``."""
        if self.integer and self.high is None:
            return "a positive integer" if self.low == 1 else f"an integer >= {self.low}"
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low}"
        return f"in {'(' if self.low_open else '['}{self.low}, {self.high}{')' if self.high_open else ']'}"

    def __call__(self, key, value):
        if value is not None and not self.allows(value):
            raise UserError(f"{key} must be {self.allowed()}, got {value!r}")



@dataclass(frozen=True)
class OneOf:
    """One of a fixed set: a tuple, or a function returning a registry (imported when checked)."""

    choices: Any

    def __call__(self, key, value):
        choices = self.choices() if callable(self.choices) else self.choices
        if value not in choices:
            raise choices_error(key, value, choices)

    @property
    def imports(self):
        """Whether checking imports a registry (and so torch)."""
        return callable(self.choices)



@dataclass(frozen=True)
class Rule:
    """Any test of one value, with what it allows in words."""

    test: Any
    allowed: str

    def __call__(self, key, value):
        if not self.test(value):
            raise UserError(f"{key} must be {self.allowed}, got {value!r}")



@dataclass(frozen=True)
class Each:
    """A non-empty list whose every item passes ``item``; ``empty`` is the message for an empty one."""

    item: Any
    empty: str
    items: str = "item"

    def __call__(self, key, value):
        if value is None or not len(value):
            raise UserError(self.empty)
        for entry in value:
            self.item(f"every {self.items} in {key}", entry)



@dataclass(frozen=True)
class Parses:
    """A value that ``parse`` accepts (it raises a `UserError` naming the key otherwise)."""

    parse: Any

    imports = True  # the parsers are the registries' own

    def __call__(self, key, value):
        self.parse(OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value)



def setting(default=MISSING, check=None, factory=None):
    """A dataclass field whose ``check`` (a `Range`, `OneOf`, `Rule`, ...) the function `check` applies."""
    metadata = {"check": check} if check is not None else {}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)



# Registries: each is named by its module and attribute and imported when a value is checked
# (they import torch), the way a ``_target_`` names a class; the schema itself imports only the
# project's base modules.
def registry(module, name, extra=()):
    """A function returning the registry ``name`` of ``module`` (a dict or list), plus ``extra`` choices."""

    def choices():
        return [*importlib.import_module(module).__dict__[name], *extra]

    choices.__qualname__ = f"{module}.{name}"
    return choices
