"""The configuration: its schema (every key's type, range and choices) and the named experiments."""
from . import experiments, schema  # noqa: F401  (store the schema and the experiments in Hydra's ConfigStore)
