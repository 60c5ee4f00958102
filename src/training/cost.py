"""What each activation costs: the time of one training step of the configured network, relative to relu.

Measured where the study runs, just before it trains: every activation's MLP takes a few
forward + backward + SGD steps on one random mini-batch, the activations in turn, round after
round, so that a slow spell of a shared machine falls on all of them alike. On a CPU the steps
run on one thread (threads contending with other work make the figures erratic). Each
activation's time is that of its fastest round: other work only ever adds time, so the minimum
is the best estimate of the step itself (as `timeit` advises). The figure is the cost of the arithmetic of a step (the
activation's forward and backward kernels and the rest of the network), not of data loading. A network whose steps
are slow (a CNN on 28x28 images) takes fewer rounds and steps, so that the measure stays within a few seconds.
"""
import time

import torch
from torch import nn

from ..model import activations
from ..model.networks import module_class
from ..model.randomness import seeded_build
from .settings import Network

REFERENCE = "relu"
BUDGET = 1.0  # seconds the timed rounds may take, at most (at least 2 rounds of 1 step each)


def synchronize(device):
    """Wait for the work queued on ``device`` (a GPU's kernels run asynchronously); no-op on the CPU."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def step_cost(specs, n_features, n_classes, network=None, batch_size=128, device="cpu", steps=5, rounds=8, seed=0,
              budget=BUDGET):
    """Seconds per training step of the network with each activation, and that time relative to relu.

    Parameters
    ----------
    specs : iterable of str or mapping
        The activations (names, labels or specs).
    n_features, n_classes : int
        The data's input width and number of classes.
    network : src.training.settings.Network, optional
        The configured network (None: the default MLP); its activation is replaced by each of ``specs``.
    batch_size : int (default=128)
        The configured mini-batch size.
    device : str (default="cpu")
    steps : int (default=5)
        Steps per round and activation.
    rounds : int (default=8)
        Rounds; the fastest counts.
    seed : int (default=0)
        Seed of the random mini-batch and the weights.
    budget : float (default=1.0)
        Seconds the rounds may take: fewer rounds (at least 2), then fewer steps (at least 1),
        where the warm-up steps say that ``rounds`` x ``steps`` would take longer.

    Returns
    -------
    dict
        ``reference`` (``"relu"``), ``seconds`` and ``relative`` (activation label -> seconds per
        step, and that divided by relu's), ``hidden``, ``batch_size``, ``device`` and ``threads``.
    """
    network = network or Network()
    labels = list(dict.fromkeys([REFERENCE, *(activations.label(s) for s in specs)]))
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(batch_size, n_features, generator=generator).to(device)
    y = torch.randint(0, n_classes, (batch_size,), generator=generator).to(device)
    loss_fn = nn.CrossEntropyLoss()
    nets = {}
    for label in labels:
        args = {**network.module_args(n_features, n_classes), "activation": label}
        module = seeded_build(seed, lambda args=args: module_class(network.model)(**args)).to(device)
        nets[label] = (module, torch.optim.SGD(module.parameters(), lr=1e-3))

    def step(module, optimizer):
        optimizer.zero_grad(set_to_none=True)
        loss_fn(module(X), y).backward()  # (batch, n_classes) logits -> scalar loss -> gradients
        optimizer.step()

    threads = torch.get_num_threads()
    if not str(device).startswith("cuda"):
        torch.set_num_threads(1)
    try:
        warm = time.perf_counter()
        for module, optimizer in nets.values():  # warm-up: first calls allocate and pick kernels
            step(module, optimizer)
        synchronize(device)
        per_round = time.perf_counter() - warm  # one step of each: an overestimate of a round's step
        rounds = int(min(rounds, max(2, budget / (per_round * steps))))
        steps = int(min(steps, max(1, budget / (per_round * rounds))))
        times = {label: [] for label in labels}
        for _ in range(rounds):
            for label, (module, optimizer) in nets.items():
                synchronize(device)
                start = time.perf_counter()
                for _ in range(steps):
                    step(module, optimizer)
                synchronize(device)
                times[label].append((time.perf_counter() - start) / steps)
    finally:
        torch.set_num_threads(threads)
    seconds = {label: min(values) for label, values in times.items()}
    return {"reference": REFERENCE, "seconds": seconds,
            "relative": {label: s / seconds[REFERENCE] for label, s in seconds.items()},
            "hidden": list(network.hidden), "batch_size": int(batch_size), "device": str(device),
            "threads": 1 if not str(device).startswith("cuda") else threads}
