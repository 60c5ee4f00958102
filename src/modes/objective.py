"""What a job tells an Optuna sweep: the worst value of its direction for a failed job."""
import math


FAILED_OBJECTIVE = {"maximize": -math.inf, "minimize": math.inf}  # what Optuna is told for a failed job


def failed_objective(sweeper):
    """What a failed job returns: the worst value of an Optuna sweep's direction, else NaN.

    Optuna is then told a value for every trial (its sampler steers away from settings
    that diverge, and the study has a best trial even when every job failed).
    """
    direction = sweeper.get("direction") if sweeper is not None else None
    name = getattr(direction, "name", direction)
    return FAILED_OBJECTIVE.get(str(name), math.nan) if isinstance(name, str) else math.nan
