"""The layers that draw random numbers in training, each from the generator of the fit it belongs to.

torch's own dropout and RReLU draw from torch's global generator, which every fit of a process
shares: fits training side by side in threads would take each other's draws, and seeding a new
fit would reseed the stream of the fit beside it. These layers compute the same functions but
draw from ``self.generator``, which `give_generator` sets to the fit's own (`fit_generator`),
so a fit's draws depend on its seed alone, and a checkpoint saves and restores them.
Without a generator (a module used on its own) they draw from torch's global one.
"""
import threading

import numpy as np
import torch
from torch import nn

# SELU's negative saturation, scale * alpha: what alpha dropout sets a dropped unit to.
ALPHA_PRIME = 1.7580993408473766
# The stream of a fit's random ops is its seed's second child (the batch order uses the seed itself).
RANDOM_OPS_STREAM = 1


class Seeded:
    """A layer that draws random numbers in training from ``generator`` (torch's global one when None)."""

    generator = None

    def __getstate__(self):
        # a generator belongs to the fit that runs the layer, not to a copy (a CUDA one would not
        # unpickle on a machine without CUDA): a copy draws from the global one until given its own
        state = dict(super().__getstate__())
        state.pop("generator", None)
        return state

    def _noise(self, x):
        return torch.empty_like(x)


class Dropout(Seeded, nn.Dropout):
    """`torch.nn.Dropout`, its mask drawn from the layer's generator: ``x * mask / (1 - p)``."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1.0 - self.p
        mask = self._noise(x).bernoulli_(keep, generator=self.generator)
        return x * mask.div_(keep)


def alpha_dropout(x, mask, p):
    """Alpha dropout of ``x`` with the keep ``mask`` (1 kept, 0 dropped): torch's formula.

    A dropped unit becomes SELU's saturation ``-alpha'`` and the result is scaled by ``a`` and
    shifted by ``b`` so that zero mean and unit variance are kept:
    ``a = ((1 - p) (1 + p alpha'^2))^(-1/2)``, ``b = a alpha' p``.
    """
    a = ((1.0 - p) * (1.0 + p * ALPHA_PRIME ** 2)) ** -0.5
    return x * mask * a + (mask - 1.0) * (ALPHA_PRIME * a) + ALPHA_PRIME * a * p


class AlphaDropout(Seeded, nn.AlphaDropout):
    """`torch.nn.AlphaDropout` (SELU's dropout), its mask drawn from the layer's generator."""

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        return alpha_dropout(x, self._noise(x).bernoulli_(1.0 - self.p, generator=self.generator), self.p)


class RReLU(Seeded, nn.RReLU):
    """`torch.nn.RReLU`: ``x`` where ``x >= 0``, else ``a x``, ``a ~ U(lower, upper)`` drawn from the layer's
    generator in training; ``(lower + upper) / 2`` in eval."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        slope = self._noise(x).uniform_(self.lower, self.upper, generator=self.generator)
        return torch.where(x >= 0, x, x * slope)


SEEDING_LOCK = threading.Lock()


def seeded_build(seed, build):
    """``build()`` under torch's global generator seeded with ``seed``, that generator's state kept.

    Initial weights come from torch's global generator (the layers' own initialisers): builds in
    threads must not interleave between seeding and building, and the caller's stream (a notebook's,
    the fit beside it) is left where it was.
    """
    with SEEDING_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return build()


def seeded_layers(module):
    """The layers of ``module`` that draw from a fit's generator (`Seeded`), in order."""
    return [layer for layer in module.modules() if isinstance(layer, Seeded)]


def unseeded_layers(module):
    """torch's own random layers in ``module``: they would draw from the global generator."""
    return [layer for layer in module.modules()
            if isinstance(layer, (nn.Dropout, nn.AlphaDropout, nn.FeatureAlphaDropout, nn.RReLU, nn.Dropout1d,
                                  nn.Dropout2d, nn.Dropout3d)) and not isinstance(layer, Seeded)]


def stream_seed(seed, stream=RANDOM_OPS_STREAM):
    """A seed for one of a fit's streams, derived from its ``seed`` (`numpy.random.SeedSequence`)."""
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, np.uint64)[0] >> 1)


def fit_generator(seed, device="cpu"):
    """The generator of a fit's random ops (dropout, RReLU) on ``device``, from the fit's ``seed``."""
    return torch.Generator(device=torch.device(device)).manual_seed(stream_seed(seed))


def give_generator(module, generator):
    """Make every `Seeded` layer of ``module`` draw from ``generator``; return the module."""
    for layer in seeded_layers(module):
        layer.generator = generator
    return module


def generator_state(generator):
    """The state of a fit's random-op generator, on the CPU (what a checkpoint keeps)."""
    return generator.get_state().clone()


def restore_generator(generator, state):
    """Set a fit's random-op generator back to ``state`` (`generator_state`); None leaves it as seeded."""
    if state is not None:
        generator.set_state(state.to("cpu") if torch.is_tensor(state) else state)
