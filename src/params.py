"""Parameter values and the readable labels of candidates, as tables, records and logs show them."""
import json

import numpy as np

# skorch parameter -> the short name tables and HiPlot pages use
FRIENDLY = {"module__activation": "activation", "module__hidden": "hidden", "module__dropout": "dropout",
            "module__init": "init", "module__layer": "layer", "module__norm": "norm", "optimizer__momentum": "momentum",
            "optimizer__weight_decay": "weight_decay", "max_epochs": "epochs"}
# a grid's or tune's short name -> the skorch parameter it sets
GRID_KEYS = {**{short: key for key, short in FRIENDLY.items()}, "lr": "lr", "batch_size": "batch_size"}


def plain(value):
    """A parameter value as plain JSON data.

    Classes and functions by name, tuples as lists, estimator-like objects (skorch callbacks)
    by their class and ``get_params``, other objects whose repr is only an address (skorch's
    ``ValidSplit``) by their class and public attributes, the rest by repr.
    """
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "get_params"):  # settings only: skorch callbacks also list private run-time state
        return {"class": type(value).__qualname__,
                **plain({k: v for k, v in value.get_params(deep=False).items() if not k.startswith("_")})}
    if " at 0x" in repr(value) and hasattr(value, "__dict__"):
        return {"class": type(value).__qualname__,
                **plain({k: v for k, v in vars(value).items() if not k.startswith("_")})}
    return repr(value)


def cell(value):
    """A parameter value for a table cell: numbers stay numbers, lists and classes become text."""
    value = plain(value)
    if isinstance(value, list):
        return json.dumps(value)
    return value


def friendly(key):
    """The short name of a skorch parameter (``module__activation`` -> ``activation``)."""
    return FRIENDLY.get(key, key)


def short(text):
    """An override's value as a heading shows it: a list of three or more equal items as ``[x]*n``.

    ``short("[128,128,128,128]")`` is ``"[128]*4"``; anything else comes back as it was.
    """
    text = str(text)
    items = [item.strip() for item in text[1:-1].split(",")] if text.startswith("[") and text.endswith("]") else []
    if len(items) >= 3 and len(set(items)) == 1 and "[" not in items[0]:
        return f"[{items[0]}]*{len(items)}"
    return text


def candidate_label(params):
    """A readable label for a candidate: its activation label, then any other swept values."""
    params = {k.removeprefix("param_"): v for k, v in params.items()}
    parts = [str(params["module__activation"])] if "module__activation" in params else []
    parts += [f"{friendly(k)}={cell(v)}" for k, v in params.items() if k != "module__activation"]
    return ", ".join(parts) or "default"
