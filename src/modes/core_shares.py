"""A job's share of the cores under a launcher that runs several jobs at once."""
from omegaconf import open_dict

from ..cores import plan_cores


def share_cores(cfg, cores):
    """Fit a job into its share of the cores, unless its config already says how.

    The job's settings become those that `src.cores.plan_cores` plans on ``cores``: a null
    ``train.threads`` becomes ``cores``, and in grid mode ``cv.n_jobs: auto`` becomes
    ``cores`` parallel fits. The config, tracked as the job's, then says how the job ran.
    """
    if not cores:
        return
    plan = plan_cores(cfg.train.threads, cfg.cv.n_jobs if cfg.mode == "grid" else 1, share=cores)
    with open_dict(cfg):
        cfg.train.threads = plan.cores
        if cfg.mode == "grid":
            cfg.cv.n_jobs = plan.n_jobs
