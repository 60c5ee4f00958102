"""How the project's sentences count things: ``1 run``, ``3 runs``, ``2 studies``."""


def counted(n, noun, plural=None):
    """``n`` and ``noun``, in the plural unless ``n`` is 1.

    Parameters
    ----------
    n : int
    noun : str
        The singular.
    plural : str, optional
        The plural where adding "s" is wrong (``"studies"``).

    Returns
    -------
    str
        ``counted(1, "run")`` is ``"1 run"``; ``counted(2, "study", "studies")`` is ``"2 studies"``.
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
