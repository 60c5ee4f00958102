"""One colour per candidate across every figure of a study."""
import numpy as np
from matplotlib import colormaps


def colours(n):
    """``n`` distinguishable colours: tab10, then tab20, then samples of a continuous map."""
    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]


def palette(labels):
    """``{label: colour}`` for a study's candidates in one order, so that every figure draws a candidate alike.

    Parameters
    ----------
    labels : iterable of str
        The study's candidates (or activations), each once, in the order their colours are given.
    """
    labels = list(dict.fromkeys(str(label) for label in labels))
    return dict(zip(labels, colours(len(labels))))
