"""``python -m src.report PATH``: rebuild the tables and HTML of a run, grid or sweep dir."""
import argparse
import logging
import sys
from pathlib import Path

from . import layout
from .errors import UserError, refuse
from .logs import paths, showing, to_console
from .reporting.write.grid_dir import print_summary, write_grid_tables
from .reporting.write.run_dir import rebuild_run
from .reporting.write.sweep_dir import write_sweep

log = logging.getLogger(__name__)


def _sweep(path):
    return write_sweep(path)[0]


REBUILD = {"sweep": _sweep, "grid": write_grid_tables, "single": rebuild_run}


def damage(path, kind):
    """What is wrong with the results that ``rebuild`` would read (`src.layout.results_damage`).

    A sweep's finished jobs are checked for what its summary reads (`src.layout.JOB_RESULTS`),
    a grid or run for what its pages are rebuilt from (`src.layout.SOURCES`).

    Returns
    -------
    list of src.errors.Damaged
    """
    if kind != "sweep":
        return layout.results_damage(path, layout.SOURCES)
    jobs = [job for job in layout.job_dirs(path) if not layout.failed(layout.read_status(job))
            and any((job / name).exists() for names in layout.JOB_RESULTS.values() for name in names)]
    return [exc for job in jobs for exc in layout.results_damage(job)]


def rebuild(path):
    """Rebuild everything derived from the results in ``path``; train nothing.

    The results are checked first (`damage`): a damaged file stops it before anything is written.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} is not a directory")
    kind = layout.kind_of(path)
    if kind is None:
        raise UserError(f"{path} holds no results (none of {', '.join(layout.KINDS.values())}); "
                        f"give a run, grid or sweep dir")
    damaged = damage(path, kind)
    if damaged:
        raise UserError(f"{damaged[0]}; nothing was rebuilt (running the same command again with its "
                        f"output dir sets the file aside and redoes it)")
    return REBUILD[kind](path)


def main(argv=None):
    """Command line entry point."""
    to_console()
    parser = argparse.ArgumentParser(prog="python -m src.report", description=__doc__)
    parser.add_argument("path", help="a run, grid or sweep directory under outputs/")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print a grid's summary.md and every file written, not only its decision, table "
                             "and report")
    args = parser.parse_args(argv)
    with showing(verbose=args.verbose):
        try:
            written = rebuild(args.path)
        except UserError as exc:
            return refuse(exc)
        if layout.kind_of(Path(args.path)) == "grid":
            print_summary(Path(args.path), written)
            return 0
        if "summary_md" in written:  # a sweep's table and its jobs' verdicts
            log.info(Path(written["summary_md"]).read_text())
        paths(log, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
