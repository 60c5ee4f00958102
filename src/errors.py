"""The one exception type that ends a run with a single clear line instead of a traceback."""


class UserError(Exception):
    """Bad input from the user: a config value, a file, a path.

    The message is printed as one line (``error: <message>``) and the process exits with
    status 2. It should name the bad value and, where there is a fixed set, the valid choices.
    """


def choices_error(kind, value, choices):
    """Build a `UserError` for a value outside a fixed set of choices.

    Parameters
    ----------
    kind : str
        What the value is, e.g. ``"activation"``.
    value : object
        The value that was given.
    choices : iterable of str
        The valid choices, listed in the message.

    Returns
    -------
    UserError
    """
    return UserError(f"unknown {kind} {value!r}; choose one of: {', '.join(sorted(choices))}")


def or_exit(function, *args):
    """Call ``function(*args)``; a `UserError` ends the process with its one line and status 2.

    Returns
    -------
    object
        What ``function`` returns.
    """
    import sys

    try:
        return function(*args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
