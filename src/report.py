"""``python -m src.report PATH``: rebuild the tables and HTML of a run, grid or sweep dir."""
import argparse
import sys
from pathlib import Path

import pandas as pd

from .errors import UserError
from .hiplot_page import write_hiplot
from .report_page import write_single_report, write_sweep_report
from .single import HISTORY_COLUMNS
from .sweep import summarize_sweep
from .tables import print_summary, write_grid_tables


def _single(path):
    history = pd.read_csv(path / "history.csv")
    return {"history_html": write_hiplot(history.to_dict("records"), path / "history.html",
                                         order=HISTORY_COLUMNS, color_by="valid_acc", title="history"),
            **write_single_report(path)}


def _grid(path):
    return write_grid_tables(path)


def _sweep(path):
    return {**summarize_sweep(path)[0], **write_sweep_report(path)}


KINDS = {  # marker file -> rebuild function, most specific first
    "multirun.yaml": _sweep,
    "search.json": _grid,
    "history.csv": _single,
}


def rebuild(path):
    """Rebuild everything derived from the results in ``path``; train nothing.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} is not a directory")
    for marker, builder in KINDS.items():
        if (path / marker).exists():
            return builder(path)
    raise UserError(f"{path} holds no results (none of {', '.join(KINDS)}); give a run, grid or sweep dir")


def main(argv=None):
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m src.report", description=__doc__)
    parser.add_argument("path", help="a run, grid or sweep directory under outputs/")
    args = parser.parse_args(argv)
    try:
        written = rebuild(args.path)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_summary(args.path, written) if "summary_md" in written else None
    if "summary_md" not in written:
        for name, path in written.items():
            print(f"{name:>13}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
