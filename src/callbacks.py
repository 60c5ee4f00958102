"""Hydra callbacks of this project (named in ``conf/config.yaml`` under ``hydra.callbacks``)."""
import logging
import sys
import time
from pathlib import Path

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, summarise every job at the sweep root.

    A sweep whose jobs form two or more studies (grids, or groups of single runs that differ
    only in their activation) also gets the comparison across them (`src.compare`) at its root.
    A sweep with failed jobs exits with status 1 after writing its summary, which lists them (a job
    that another live run still writes, started again in the same sweep dir, is ``running``, not failed); a
    summary that cannot be made (a damaged result, say) ends the sweep with its one line, status 2.
    At the start the sweep dir gets its ``multirun.yaml`` where the sweeper writes none (Optuna's).
    """

    started = None  # when this sweep's run began: the jobs whose status is newer ran in it

    def on_multirun_start(self, config, **kwargs):
        # Hydra's basic sweeper marks its sweep dir with multirun.yaml; the Optuna sweeper writes none,
        # and without it the sweep's dir would not be known as one (by its summary, `src.report`, `src.compare`)
        from omegaconf import OmegaConf

        from . import files, layout

        self.started = time.time()
        marker = Path(config.hydra.sweep.dir) / layout.MULTIRUN
        if not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            files.write_text(marker, OmegaConf.to_yaml(config))

    def on_multirun_end(self, config, **kwargs):
        # Hydra turns a callback's exception into a warning: a summary that cannot be made must end the sweep
        # with its one line and status 2 instead
        from .errors import or_exit

        or_exit(self._summarize, config)

    def _summarize(self, config):
        # imported here: Hydra builds its callbacks for every run, and a single run needs none of these
        from . import logs
        from .reporting.write.sweep_dir import write_sweep
        from .words import counted

        sweep_dir = Path(config.hydra.sweep.dir)
        written, frame = write_sweep(sweep_dir)
        log.info(Path(written["summary_md"]).read_text())
        if "compare_markdown" in written:
            log.info(Path(written["compare_markdown"]).read_text())
        logs.paths(log, written)
        redone = damaged_in_run(sweep_dir, self.started)
        if redone:
            n = sum(redone.values())
            log.info(f"damaged: {counted(n, 'damaged result')} set aside in {counted(len(redone), 'job')} "
                     f"of this sweep ({', '.join(redone)}) and computed again")
        running = frame[frame["status"] == "running"]
        if len(running):
            log.info(f"running: {counted(len(running), 'row')} of jobs that another run is writing "
                     f"({', '.join(sorted(set(running['job'].astype(str))))}); its own summary, at its end, covers them")
        failed = frame[~frame["status"].isin(["ok", "running"])]
        if len(failed):
            print(f"error: {len(failed)} of {len(frame)} rows failed: see {written['summary']}", file=sys.stderr)
            sys.exit(1)


def damaged_in_run(sweep_dir, started):
    """``{job folder name: damaged results it set aside}`` over the jobs that finished since ``started``
    (a time stamp; None counts every job), those with none left out."""
    from .layout import STATUS, job_dirs, read_status

    found = {}
    for job in job_dirs(sweep_dir):
        status, path = read_status(job) or {}, Path(job) / STATUS
        if status.get("damaged") and (started is None or path.stat().st_mtime >= started):
            found[Path(job).name] = int(status["damaged"])
    return found
