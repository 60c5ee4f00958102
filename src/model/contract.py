"""The contract a user's activation must keep before anything trains with it.

`check` builds the activation as a layer would and tries it on a standard-normal batch: the
output has the input's shape, each output element depends on its own input element only
(elementwise: its Jacobian on a probe batch is diagonal), output and gradient are finite, the module pickles (joblib,
Dask and Slurm workers receive it that way), in eval mode it gives the same output twice
under the same seed, and in training it draws no random numbers from torch's global generator,
which the fits of a process share (a random activation draws from its fit's own,
`src.model.randomness.Seeded`). Importing it and its being callable are checked when its spec is read
(`src.model.activations.parse`). Each failure is one `UserError` line naming the activation.
"""
import pickle

import torch

from ..errors import UserError
from . import activations, randomness

BATCH, WIDTH = 64, 16
PROBE = 4  # rows of the probe batch whose Jacobian must be diagonal
SEED = 0


def _run(label, module, x):
    try:
        return module(x)
    except Exception as exc:
        raise UserError(f"activation {label!r}: calling it on a ({BATCH}, {WIDTH}) batch raised "
                        f"{type(exc).__name__}: {exc}") from None


def _output(spec, label):
    """A fresh module built under `SEED`, in eval mode, and its output on the seeded batch."""
    module = randomness.seeded_build(SEED, lambda: activations.build(spec, width=WIDTH)).eval()
    x = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(SEED))
    with torch.no_grad():
        return module, _run(label, module, x)


def _elementwise(label, module, x):
    """Refuse an activation whose output element depends on another input element (softmax, a norm)."""
    jacobian = torch.autograd.functional.jacobian(lambda v: _run(label, module, v), x).reshape(x.numel(), x.numel())
    across = jacobian - torch.diag(torch.diagonal(jacobian))
    if across.abs().max() > 1e-6 * (1 + jacobian.abs().max()):
        out, inp = divmod(int(across.abs().argmax()), x.numel())
        raise UserError(f"activation {label!r}: it is not elementwise: output {divmod(out, x.shape[1])} depends on "
                        f"input {divmod(inp, x.shape[1])} of a ({PROBE}, {WIDTH}) probe batch (a softmax or a "
                        f"normalisation mixes units); an activation maps each unit on its own")


def _own_randomness(label, module, x):
    """Refuse an activation that draws from torch's global generator in training: fits side by side share it."""
    if randomness.seeded_layers(module):
        return
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        first = _run(label, module.train(), x)
        torch.manual_seed(SEED + 1)
        second = _run(label, module, x)
    if not torch.equal(first, second):
        raise UserError(f"activation {label!r}: in training it draws random numbers from torch's global generator, "
                        f"which the fits of a process share, so the same command would not give the same "
                        f"numbers; subclass src.model.randomness.Seeded and draw from self.generator")


def check(spec):
    """Raise a one-line `UserError` unless the activation ``spec`` keeps the contract.

    Parameters
    ----------
    spec : str or mapping
        An activation spec (`src.model.activations.parse`); importing it happens here too.
    """
    label = activations.label(spec)
    module = activations.build(spec, width=WIDTH)
    x = torch.randn(BATCH, WIDTH, generator=torch.Generator().manual_seed(SEED), requires_grad=True)
    y = _run(label, module, x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise UserError(f"activation {label!r}: its output shape {got} differs from its input's {tuple(x.shape)}; "
                        f"an activation must be elementwise")
    _elementwise(label, module, x.detach()[:PROBE])
    if not torch.isfinite(y).all():
        raise UserError(f"activation {label!r}: its output is not finite on a standard-normal batch")
    if not y.requires_grad:
        raise UserError(f"activation {label!r}: its output has no gradient with respect to its input")
    (grad,) = torch.autograd.grad(y.sum(), x)
    if not torch.isfinite(grad).all():
        raise UserError(f"activation {label!r}: its gradient is not finite on a standard-normal batch")
    try:
        pickle.loads(pickle.dumps(module))
    except Exception as exc:
        raise UserError(f"activation {label!r}: it cannot be pickled ({type(exc).__name__}: {exc}); the parallel "
                        f"backends (joblib processes, Dask, Slurm) need this: define it at the top level of "
                        f"a module") from None
    first, second = _output(spec, label)[1], _output(spec, label)[1]
    if not torch.equal(first, second):
        raise UserError(f"activation {label!r}: it does not give the same output twice under the same seed "
                        f"in eval mode")
    _own_randomness(label, module, x.detach())
