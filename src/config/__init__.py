"""The configuration: its schema, its validation and the command line's preflight check."""
from . import experiments, schema  # noqa: F401  (store the schema and the experiments in Hydra's ConfigStore)
