"""Progress, summaries and warnings: Python's logging, shown on the console as plain lines.

Every module logs to its own logger (``logging.getLogger(__name__)``). Under Hydra
(``python -m src.run``) the job's logging config (``hydra.job_logging`` in ``conf/config.yaml``)
sends each record to the console as its bare message and to the job's ``.log`` file with its
time, logger and level, so that a sweep job's log and a Slurm job's output show its progress.
The other entry points call `to_console`.
"""
import logging
import os
import sys

CONSOLE_FORMAT = "%(message)s"


class Console(logging.StreamHandler):
    """A handler writing each record to the ``sys.stdout`` of the moment it is emitted.

    ``sys.stdout`` may be replaced after the handler is made (a test's captured output, a
    redirected stream); a plain ``StreamHandler`` would keep writing to the old one.
    """

    def __init__(self, stream=None):  # ``stream`` is accepted, as a config may give one, and not kept
        super().__init__(sys.stdout)

    def emit(self, record):
        """Write ``record`` to the current ``sys.stdout``."""
        self.stream = sys.stdout
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


def paths(logger, written):
    """Log where each file went, one ``name: path`` line per file, the names right-aligned.

    Parameters
    ----------
    logger : logging.Logger
    written : mapping
        File name (as `src.layout` names it) -> its path.
    """
    width = max((len(name) for name in written), default=0)
    for name, path in written.items():
        logger.info(f"{name:>{width}}: {path}")
