"""``python -m src.prepare [data=NAME] [data.root=DIR]``: fetch and check a dataset's files."""
import sys

from .data import datasets as data
from .errors import or_exit
from .logs import to_console
from .preflight import compose_config


def main(argv):
    """Compose the data config from ``argv`` overrides, then load it once (fetching files)."""
    to_console()
    cfg = compose_config(argv)
    dataset = data.load(cfg.data.name, root=cfg.data.root, download=cfg.data.download)
    print(f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images "
          f"under {cfg.data.root}/")


if __name__ == "__main__":
    or_exit(main, sys.argv[1:])
