"""Hydra callbacks of this project (named in ``conf/config.yaml`` under ``hydra.callbacks``)."""
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from .reporting.html import write_sweep_report
from .reporting.sweeps import summarize_sweep


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, summarise every job at the sweep root.

    A sweep with failed jobs exits with status 1 after writing its summary, which lists them.
    """

    def on_multirun_end(self, config, **kwargs):
        sweep_dir = Path(config.hydra.sweep.dir)
        written, frame = summarize_sweep(sweep_dir)
        written.update(write_sweep_report(sweep_dir))
        print(Path(written["summary_md"]).read_text())
        for name, path in written.items():
            print(f"{name:>11}: {path}")
        failed = frame[frame["status"] != "ok"]
        if len(failed):
            print(f"error: {len(failed)} of {len(frame)} rows failed: see {written['summary']}", file=sys.stderr)
            sys.exit(1)
