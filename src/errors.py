"""The one exception type that ends a run with a single clear line instead of a traceback."""
import sys


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


def refuse(exc):
    """Say ``exc`` (a `UserError`, or a message) as its one ``error:`` line on stderr; return 2.

    The one place the refusal's line is written: every entry point's ``main`` returns what
    this returns, and `or_exit` exits with it.
    """
    print(f"error: {exc}", file=sys.stderr)
    return 2


def or_exit(function, *args):
    """Call ``function(*args)``; a `UserError` ends the process with its one line and status 2.

    Returns
    -------
    object
        What ``function`` returns.
    """
    try:
        return function(*args)
    except UserError as exc:
        sys.exit(refuse(exc))


class Damaged(UserError):
    """A result file that cannot be read back: missing, empty, cut short or of the wrong shape.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What is wrong with it, e.g. ``"cut short: not JSON (Expecting value: line 1 column 1)"``.
    """

    def __init__(self, path, what):
        super().__init__(f"{path}: {what}")
        self.path, self.what = str(path), what

    def __reduce__(self):  # pickled as its two arguments (fits in worker processes raise it)
        return type(self), (self.path, self.what)


class WriteFailed(Exception):
    """A file that could not be written (a full disk, no permission): the run stops with one line.

    Nothing is left behind at ``path`` (see `src.files.atomic_path`); results written before it
    are whole, so a rerun continues from them.

    Parameters
    ----------
    path : str or Path
        The file that could not be written.
    cause : str
        Why, e.g. ``"No space left on device"``.
    """

    def __init__(self, path, cause):
        super().__init__(f"could not write {path}: {cause}; the files written before it are whole, "
                         f"so running the same command again continues from the finished fits")
        self.path, self.cause = str(path), cause

    def __reduce__(self):
        return type(self), (self.path, self.cause)


class Interrupted(BaseException):
    """Ctrl-C during a fit. skorch ends a fit quietly on ``KeyboardInterrupt`` and keeps its
    partly trained weights, which would then be scored, and recorded, as a finished fit; the
    project's net raises this instead (`src.training.net.Net.fit_loop`). Not an ``Exception``:
    nothing that records a failed fit (the fit's record, scikit-learn's ``error_score``)
    catches it, and the run ends with one line (`src.modes.job_failures.interrupted`).
    """
