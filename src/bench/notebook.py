"""The notebook's search as the project's config composes it: the settings every part shares."""
import functools
from dataclasses import asdict, dataclass

MNIST_PIXELS, MNIST_CLASSES = 784, 10  # the network's input and output widths on MNIST


@dataclass(frozen=True)
class Notebook:
    """The settings of ``experiment=notebook`` (and ``tuned_notebook``'s rates) that the bench computes with.

    Attributes
    ----------
    activations : tuple of str
        The grid's activations (``grid.activation``).
    folds : int
        ``cv.folds``.
    valid_fraction : float
        ``train.valid_fraction``: the validation rows of each fit.
    batch_size : int
    lr, momentum : float
        The SGD optimizer's.
    hidden : tuple of int
        ``model.hidden``.
    tuned_rates : tuple of float
        ``tune.lr`` of ``experiment=tuned_notebook``.
    cnn : tuple of (str, value)
        The keys of ``model=cnn`` with the notebook's (channels, kernel size, pooling, head and
        init), for the CNN parts.
    """

    activations: tuple
    folds: int
    valid_fraction: float
    batch_size: int
    lr: float
    momentum: float
    hidden: tuple
    tuned_rates: tuple
    cnn: tuple = ()

    @property
    def cnn_keys(self):
        """``model=cnn``'s keys as a dict (lists as tuples)."""
        return dict(self.cnn)

    @property
    def sizes(self):
        """Layer widths from the input to the classes, e.g. ``(784, 128, 64, 10)``."""
        return (MNIST_PIXELS, *self.hidden, MNIST_CLASSES)

    def to_json(self):
        """The settings as a plain dict (`from_json` reads it back)."""
        return asdict(self)

    @classmethod
    def from_json(cls, values):
        """The settings from `to_json`'s dict."""
        def tupled(value):
            return tuple(tupled(v) for v in value) if isinstance(value, list) else value

        return cls(**{k: tupled(v) for k, v in values.items()})


@functools.lru_cache(maxsize=None)
def notebook():
    """Compose ``experiment=notebook``, ``experiment=tuned_notebook`` and the notebook with ``model=cnn``, and
    return their `Notebook`."""
    from omegaconf import OmegaConf

    from ..preflight import compose_config

    cfg, tuned = compose_config(["experiment=notebook"]), compose_config(["experiment=tuned_notebook"])
    cnn = OmegaConf.to_container(compose_config(["experiment=notebook", "model=cnn"]).model, resolve=True)
    return Notebook(activations=tuple(cfg.grid.activation), folds=int(cfg.cv.folds),
                    valid_fraction=float(cfg.train.valid_fraction), batch_size=int(cfg.train.batch_size),
                    lr=float(cfg.optimizer.lr), momentum=float(cfg.optimizer.momentum),
                    hidden=tuple(cfg.model.hidden), tuned_rates=tuple(float(r) for r in tuned.tune.lr),
                    cnn=tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in cnn.items()
                              if k in ("channels", "kernel_size", "pool", "hidden", "init")))
