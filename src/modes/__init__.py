"""What a run does: a single fit, a grid search, jobs and sweeps."""
