"""Progress, summaries and warnings: Python's logging, shown on the console as plain lines.

Every module logs to its own logger (``logging.getLogger(__name__)``). Under Hydra
(``python -m src.run``) the job's logging config (``hydra.job_logging`` in ``conf/config.yaml``)
sends each record to the console as its bare message and to the job's ``.log`` file with its
time, logger and level, so that a sweep job's log and a Slurm job's output show its progress.
The other entry points call `to_console`.

The console is quiet (`showing`): a study's long form (``summary.md``, every file written,
GridSearchCV's line per fit, skorch's epoch table of each fit) is logged as `FULL` and reaches the
job's log only, unless ``verbose``; its short answer (the decision, the compact table, the report's
path) is logged as `BRIEF`, which a notebook leaves to the study's display. Anything printed to
stdout meanwhile (GridSearchCV's lines) becomes `FULL` records (`printed_to_log`).
"""
import contextlib
import io
import logging
import os
import sys
import threading

CONSOLE_FORMAT = "%(message)s"
BRIEF = {"shown": "brief"}  # the console's short answer: the decision, the compact table, the report's path
FULL = {"shown": "full"}    # the long form: the console shows it only when verbose; the job's log always
FIT_TABLES = "src.training.net"  # skorch's epoch table of each fit (`src.training.net.make_net`'s print log)


class Console(logging.StreamHandler):
    """A handler writing each record to the ``sys.stdout`` of the moment it is emitted.

    ``sys.stdout`` may be replaced after the handler is made (a test's captured output, a
    redirected stream); a plain ``StreamHandler`` would keep writing to the old one.
    """

    def __init__(self, stream=None):  # ``stream`` is accepted, as a config may give one, and not kept
        super().__init__(sys.stdout)

    def emit(self, record):
        """Write ``record`` to the current ``sys.stdout`` (the one `printed_to_log` took over, while it does)."""
        self.stream = getattr(sys.stdout, "original", sys.stdout)
        super().emit(record)

    def handleError(self, record):
        """Say nothing more once the reader has gone (``python -m src.report DIR | head``): the rest of
        the output goes nowhere, instead of a logging traceback per line."""
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # as Python's docs advise
            except (OSError, ValueError):
                pass
            return
        super().handleError(record)


def to_console(level=logging.INFO):
    """Show the log on the console as bare messages, once, at ``level`` and above.

    Parameters
    ----------
    level : int
        The least level shown (the root logger is lowered to it when above).
    """
    root = logging.getLogger()
    if not any(isinstance(handler, Console) for handler in root.handlers):
        handler = Console()
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)


def paths(logger, written, extra=None):
    """Log where each file went, one ``name: path`` line per file, the names right-aligned.

    Parameters
    ----------
    logger : logging.Logger
    written : mapping
        File name (as `src.layout` names it) -> its path.
    extra : dict, optional
        The records' `BRIEF` or `FULL` mark.
    """
    width = max((len(name) for name in written), default=0)
    for name, path in written.items():
        logger.info(f"{name:>{width}}: {path}", extra=extra)


class Shown(logging.Filter):
    """What the console shows of a job's records (`showing`).

    Parameters
    ----------
    verbose : bool
        Show the long form (`FULL` records and each fit's epoch table) instead of the short answer.
    brief : bool
        Show the short answer (`BRIEF` records); a notebook's study display shows it instead.
    tables : bool
        Show each fit's epoch table (a single run's progress) even when not ``verbose``.
    """

    def __init__(self, verbose=False, brief=True, tables=False):
        super().__init__()
        self.verbose, self.brief, self.tables = verbose, brief, tables

    def filter(self, record):
        """Whether the console shows ``record``."""
        kind = getattr(record, "shown", None)
        if kind is None and record.name == FIT_TABLES and not self.tables:
            kind = "full"
        if kind == "full":
            return self.verbose
        if kind == "brief":
            return self.brief and not self.verbose
        return True


@contextlib.contextmanager
def showing(verbose=False, brief=True, tables=False):
    """While inside, the console handlers of the root logger show what `Shown` lets through.

    An enclosing `showing` decides: `src.api.run` sets the notebook's, and the job it runs keeps it.
    """
    consoles = [h for h in logging.getLogger().handlers if isinstance(h, Console)]
    if any(isinstance(f, Shown) for handler in consoles for f in handler.filters):
        yield
        return
    shown = Shown(verbose, brief, tables)
    for handler in consoles:
        handler.addFilter(shown)
    try:
        yield
    finally:
        for handler in consoles:
            handler.removeFilter(shown)


class _Lines(io.TextIOBase):
    """A text stream that logs each line written to it as a `FULL` record (each thread its own line)."""

    def __init__(self, logger, original):
        super().__init__()
        self.logger, self.original, self.pending = logger, original, threading.local()

    def writable(self):
        return True

    def write(self, text):
        """Log every finished line of ``text``; keep the unfinished rest for the next write of this thread."""
        lines = (getattr(self.pending, "text", "") + text).split("\n")
        self.pending.text = lines.pop()
        for line in lines:
            if line.strip():
                self.logger.info(line.rstrip(), extra=FULL)
        return len(text)


@contextlib.contextmanager
def printed_to_log(logger):
    """While inside, what is printed to stdout (in this process) becomes ``logger``'s `FULL` records.

    Console handlers keep writing to the stdout of before (`Console.emit`).
    """
    lines = _Lines(logger, sys.stdout)
    try:
        with contextlib.redirect_stdout(lines):
            yield
    finally:
        lines.write("\n")  # this thread's unfinished line
