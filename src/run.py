"""Entry point: ``python -m src.run [overrides]`` (add ``-m`` for a Hydra multirun sweep)."""
import gc

# Importing torch, scikit-learn and Hydra creates about a million long-lived objects; the
# cyclic garbage collector would walk them again and again while they load (about a third
# of the start-up time). Collect nothing until they are loaded, then freeze them out of
# every later collection.
gc.disable()
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

if __name__ == "__main__":
    # Every value of every override is checked first, and a bad one gets its one line before
    # torch and the rest of the pipeline are imported (only the registries' own checks, such
    # as an activation's name, import torch).
    from .config.preflight import check_command_line
    from .errors import or_exit

    or_exit(check_command_line, sys.argv[1:])

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from hydra.types import RunMode  # noqa: E402

from .config.validate import validate  # noqa: E402
from .data.datasets import load  # noqa: E402
from .layout import fits_dir, kind_of  # noqa: E402
from .modes.grid import run_grid  # noqa: E402
from .modes.jobs import run_job  # noqa: E402
from .modes.single import run_single  # noqa: E402
from .reporting.writers import write_grid, write_single  # noqa: E402

gc.freeze()
gc.enable()

# mode -> (compute a result, write it, the mode's resumable state in the output folder)
MODES = {"single": (run_single, write_single, lambda out_dir: {}),
         "grid": (run_grid, write_grid, lambda out_dir: {"record_dir": fits_dir(out_dir)})}


def run(cfg, out_dir):
    """Check the config, load the data, run the configured mode and write its results.

    Returns
    -------
    float
        The mode's objective (what a hyperparameter sweep optimises).
    """
    net_kwargs, data_kwargs, mode_kwargs = validate(cfg)
    dataset = load(**data_kwargs)
    compute, write, state = MODES[cfg.mode]
    result = compute(dataset, net_kwargs, **state(Path(out_dir)), **mode_kwargs)
    write(result, Path(out_dir))
    if cfg.get("tracking") is not None:
        track(cfg, Path(out_dir))
    return result.objective


def track(cfg, out_dir):
    """Log the finished run or grid to the configured tracker (``+tracking=mlflow``).

    The store goes to ``tracking.dir``; by default the run dir, or the sweep's root for a job
    of a sweep, so that every job of a sweep lands in one store.
    """
    from omegaconf import OmegaConf

    from .reporting.tracking import TRACKERS

    settings = cfg.tracking
    store = Path(settings.dir) if settings.dir else (out_dir.parent if kind_of(out_dir.parent) == "sweep" else out_dir)
    plain = OmegaConf.to_container(cfg, resolve=True)
    params = {k: v for k, v in _flat(plain).items() if not k.startswith(("hydra.", "tracking."))}
    ids = TRACKERS[settings.name](out_dir, store, settings.experiment, params)
    print(f"{settings.name}: {len(ids)} runs logged to {store} (experiment {settings.experiment})", flush=True)


def _flat(node, prefix=""):
    """A nested config as ``{"model.hidden": [128, 64], ...}``."""
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    """Run one job: a single run, or one job of a sweep (``-m``), resumable in its sweep dir."""
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    return run_job(run, cfg, Path(hydra_cfg.runtime.output_dir),
                   sweep_dir=Path(hydra_cfg.sweep.dir) if multirun else None,
                   launcher=hydra_cfg.launcher, sweeper=hydra_cfg.sweeper)


if __name__ == "__main__":
    main()
