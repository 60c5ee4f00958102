"""The configuration: its schema, its validation and the command line's preflight check."""
from . import schema  # noqa: F401  (stores the schema in Hydra's ConfigStore)
