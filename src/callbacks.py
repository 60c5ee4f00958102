"""Hydra callbacks of this project (named in ``conf/config.yaml`` under ``hydra.callbacks``)."""
import logging
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, summarise every job at the sweep root.

    A sweep whose jobs form two or more studies (grids, or groups of single runs that differ
    only in their activation) also gets the comparison across them (`src.compare`) at its root.
    A sweep with failed jobs exits with status 1 after writing its summary, which lists them.
    """

    def on_multirun_end(self, config, **kwargs):
        # imported here: Hydra builds its callbacks for every run, and a single run needs none of these
        from .reporting.compare import studies_of
        from .reporting.compare_page import write_compare
        from .reporting.html import write_sweep_report
        from .reporting.sweeps import summarize_sweep

        sweep_dir = Path(config.hydra.sweep.dir)
        written, frame = summarize_sweep(sweep_dir)
        written.update(write_sweep_report(sweep_dir))
        log.info(Path(written["summary_md"]).read_text())
        if len(studies_of(sweep_dir)) >= 2:
            compared, _ = write_compare([sweep_dir], sweep_dir)
            log.info(Path(compared["markdown"]).read_text())
            written.update({f"compare_{name}": path for name, path in compared.items()})
        for name, path in written.items():
            log.info(f"{name:>11}: {path}")
        failed = frame[frame["status"] != "ok"]
        if len(failed):
            print(f"error: {len(failed)} of {len(frame)} rows failed: see {written['summary']}", file=sys.stderr)
            sys.exit(1)
