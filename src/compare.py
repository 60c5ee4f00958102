"""``python -m src.compare DIR ...``: does a ranking of activations hold across independent studies?

Each DIR is a grid dir or a sweep dir (each grid job of a sweep is a study; single runs that
differ only in their activation form one study). Writes the ranks per study, the Friedman
and Nemenyi tests, a critical-difference diagram and ``compare.html`` into ``--out``.
"""
import argparse
import logging
import sys
import time
from pathlib import Path

from .errors import UserError, refuse
from .logs import paths, to_console
from .defaults import ALPHA
from .reporting.write.comparison import write_compare

log = logging.getLogger(__name__)


def main(argv=None):
    """Command line entry point; returns the exit status (2 for bad input)."""
    to_console()
    parser = argparse.ArgumentParser(prog="python -m src.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="grid or sweep directories")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write (default: outputs/compare/<time>)")
    parser.add_argument("--alpha", type=float, default=ALPHA, help=f"significance level (default {ALPHA:g})")
    args = parser.parse_args(argv)
    out = args.out or Path("outputs/compare") / time.strftime("%Y-%m-%d_%H-%M-%S")
    try:
        if not 0 < args.alpha < 1:
            raise UserError(f"--alpha must be in (0, 1), got {args.alpha}")
        written, result = write_compare(args.dirs, out, alpha=args.alpha)
    except UserError as exc:
        return refuse(exc)
    log.info(Path(written["markdown"]).read_text())
    paths(log, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
