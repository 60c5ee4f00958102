"""The named studies of ``experiments/``, offered as the config group ``experiment``.

Each ``experiments/NAME.yaml`` is stored in Hydra's ConfigStore as ``experiment/NAME`` at the
global package, so that ``experiment=NAME`` selects it as if it were a file under ``conf/``,
without a link from ``conf/`` to ``experiments/`` (links break on Windows, in zip archives
and in wheels).
"""
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"


def register(folder=EXPERIMENTS_DIR):
    """Store every ``*.yaml`` of ``folder`` as an option of the ``experiment`` group.

    Returns
    -------
    list of str
        The names stored.
    """
    store = ConfigStore.instance()
    names = []
    for path in sorted(Path(folder).glob("*.yaml")):
        store.store(group="experiment", name=path.stem, node=OmegaConf.load(path), package="_global_",
                    provider="experiments")
        names.append(path.stem)
    return names


register()
