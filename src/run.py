"""Entry point: ``python -m src.run [overrides]`` (add ``-m`` for a Hydra multirun sweep)."""
import gc

# Importing torch, scikit-learn and Hydra creates about a million long-lived objects; the
# cyclic garbage collector would walk them again and again while they load (about a third
# of the start-up time). Collect nothing until they are loaded, then freeze them out of
# every later collection.
gc.disable()
import contextlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

if __name__ == "__main__":
    # Every value of every override is checked first, and a bad one gets its one line before
    # torch and the rest of the pipeline are imported (only the registries' own checks, such
    # as an activation's name, import torch).
    from .errors import or_exit
    from .preflight import check_command_line

    or_exit(check_command_line, sys.argv[1:])

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402

from .data.datasets import load  # noqa: E402
from .layout import fits_dir  # noqa: E402
from .logs import printed_to_log, showing  # noqa: E402
from .modes.grid import run_grid  # noqa: E402
from .modes.job_failures import interrupted  # noqa: E402
from .modes.jobs import run_job  # noqa: E402
from .modes.single import run_single  # noqa: E402
from .progress import bars  # noqa: E402
from .reporting.write.grid_dir import write_grid  # noqa: E402
from .reporting.write.run_dir import write_single  # noqa: E402
from .training.fit_records import set_aside_damaged  # noqa: E402
from .validate import validate  # noqa: E402

gc.freeze()
gc.enable()

log = logging.getLogger(__name__)



def grid_state(out_dir):
    """A grid's resumable state: its fit records, each damaged one set aside (and so trained again)."""
    set_aside_damaged(fits_dir(out_dir))
    return {"record_dir": fits_dir(out_dir)}


# mode -> (compute a result, write it, the mode's resumable state in the output folder)
MODES = {"single": (run_single, write_single, lambda out_dir: {}),
         "grid": (run_grid, write_grid, grid_state)}


# train.verbose from which the console shows the long form (`src.logs.showing`): GridSearchCV's line per
# fit, each fit's epoch table, summary.md and every file written; below it, the progress, the decision, the
# compact table and the report's path
VERBOSE = 2


def run(cfg, out_dir):
    """Check the config, load the data, run the configured mode and write its results.

    The console stays quiet (`src.logs.showing`) unless ``train.verbose`` is `VERBOSE` or more; what is
    printed while the mode computes (GridSearchCV's lines) goes to the job's log (`src.logs.printed_to_log`).

    Returns
    -------
    float
        The mode's objective (what a hyperparameter sweep optimises).
    """
    net, data_kwargs, mode_kwargs = validate(cfg)
    with showing(verbose=cfg.train.verbose >= VERBOSE, tables=cfg.mode == "single"):
        dataset = load(**data_kwargs)
        compute, write, state = MODES[cfg.mode]
        with printed_to_log(log):
            result = compute(dataset, net, **state(Path(out_dir)), **mode_kwargs)
        write(result, Path(out_dir))
    if cfg.get("tracking") is not None:
        from omegaconf import OmegaConf

        from .reporting.write.tracking import track

        settings = OmegaConf.to_container(cfg.tracking, resolve=True)
        track(Path(out_dir), settings["name"], settings["experiment"], settings["dir"],
              OmegaConf.to_container(cfg, resolve=True))
    return result.objective


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    """Run one job: a single run, or one job of a sweep (``-m``), resumable in its sweep dir."""
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    with contextlib.nullcontext() if multirun else bars():  # one job on a terminal: its progress as bars
        return run_job(run, cfg, Path(hydra_cfg.runtime.output_dir),
                       sweep_dir=Path(hydra_cfg.sweep.dir) if multirun else None,
                       launcher=hydra_cfg.launcher, sweeper=hydra_cfg.sweeper)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # outside a job (a launcher waiting for its workers, Hydra's own steps)
        interrupted()
