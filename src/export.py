"""``python -m src.export DIR [--out DIR]``: a study's table, figures, method and references for a paper.

DIR is a grid (fixed, tuned or halving), sweep or comparison dir. Writes ``summary.tex``, ``summary.csv``,
``methods.tex``, ``references.bib``, ``preview.tex`` and the figures as PDF and SVG into ``--out``
(default: DIR/paper); see docs/paper.md.
"""
import argparse
import logging
import sys
from pathlib import Path

from .errors import UserError, refuse
from .logs import paths, to_console
from .reporting.write.paper import export

log = logging.getLogger(__name__)


def main(argv=None):
    """Command line entry point; returns the exit status (2 for bad input)."""
    to_console()
    parser = argparse.ArgumentParser(prog="python -m src.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="a grid, sweep or comparison directory")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: DIR/paper)")
    args = parser.parse_args(argv)
    try:
        written = export(args.dir, args.out)
    except UserError as exc:
        return refuse(exc)
    paths(log, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
