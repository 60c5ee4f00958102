"""How numbers read in the verdicts' sentences: lists, confidence levels, p-values, ranges, differences, margins."""
import numpy as np

from ...defaults import ALPHA

# How differences are written: accuracy-like scores (fractions) in percentage points.
UNITS = {True: (100.0, 2, " points"), False: (1.0, 4, "")}


def listing(items, final="and"):
    """``items`` as a list in a sentence: ``a, b and c`` (``a, b, c`` when ``final`` is None); when an
    item holds ``", "`` itself (a label with parameters, ``pau, layer=glu``), ``;`` separates them
    instead: ``a, x; b, y; and c, z``."""
    items = [str(item) for item in items]
    if len(items) < 2:
        return "".join(items)
    sep = "; " if any(", " in item for item in items) else ", "
    end = sep if final is None else (f"; {final} " if sep == "; " else f" {final} ")
    return sep.join(items[:-1]) + end + items[-1]


def level_text(alpha):
    """The confidence level of ``alpha`` as text: ``95%``, ``99%``."""
    return f"{(1 - alpha) * 100:.4g}%"


def p_text(p, alpha=ALPHA):
    """A p-value as text: ``0.412``, ``0.0496`` or ``<0.001``; empty when there is none.

    Rounding never moves a p-value across ``alpha``: digits are added until the rounded value
    lies on the same side of it as ``p``.

    Parameters
    ----------
    p : float
    alpha : float (default=`src.defaults.ALPHA`)

    Returns
    -------
    str
    """
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001 and alpha >= 0.001:
        return "<0.001"
    for digits in range(3, 12):
        text = f"{p:.{digits}f}"
        if (float(text) < alpha) == (p < alpha):
            return text
    return repr(float(p))


def fmt_p(p, alpha, name="p"):
    """``p = 0.412``, ``p < 0.001`` or ``p n/a`` (see `p_text`)."""
    text = p_text(p, alpha)
    if not text:
        return f"{name} n/a"
    return f"{name} < 0.001" if text == "<0.001" else f"{name} = {text}"


def fmt_range(low, high, digits=4):
    """``0.9690-0.9734``, or ``-0.2000 to -0.1000`` when a bound is negative."""
    sep = " to " if min(low, high) < 0 else "-"
    return f"{low:.{digits}f}{sep}{high:.{digits}f}"


def amount(value, percent=True, signed=False):
    """A difference as text: ``0.70 points`` (``+0.70`` with ``signed``), or ``0.0070``.

    Parameters
    ----------
    value : float
        In the metric's units.
    percent : bool, default True
        The metric is a fraction (accuracy): write percentage points.
    signed : bool, default False
        Always write the sign.

    Returns
    -------
    str
    """
    scale, digits, unit = UNITS[bool(percent)]
    return f"{value * scale:{'+' if signed else ''}.{digits}f}{unit}"


def within_text(margin, percent=True):
    """The margin as text: ``±0.50 points``."""
    return f"±{amount(margin, percent)}"


def the_margin(margin, percent=True):
    """``the ±0.50-point margin``."""
    return f"the {within_text(margin, percent).replace(' points', '-point')} margin"
