"""Where a stacked training step's time goes, and the step compiled with torch.compile against it.

Run from the repository root: ``python -m scripts.step_budget [--steps 150] [--rounds 3]``.

The notebook grid's stack (relu, tanh and leaky_relu x 3 folds; 784-128-64-10; batches of 128;
SGD with momentum, fused) on random MNIST-shaped data, in one process, the variants taking turns
(round by round) so that a drift of the machine's speed touches them alike. Per step, in ms:

- ``eager``: the step as `src.training.loop` runs it (forward, loss, backward, update);
- ``compiled``: the same, with forward and loss compiled by ``torch.compile`` (inductor; its
  backward compiled with it); the compile time is printed first;
- ``products``: the step's matrix products alone (`src.bench.limits.products_rate`);
- ``update``: the eager step less the same step without the optimizer's update;
- ``dispatch``: the same step on a network 4 units wide: every operation and none of the arithmetic;
- ``gather``: gathering the batch rows.
"""
import argparse
import time

import torch

from src.bench.limits import products_rate, stack_epoch_flops
from src.model.mlp import MLP
from src.training import loop
from src.training.net import with_fused
from src.training.stack import Stack

ACTIVATIONS = ("relu", "tanh", "leaky_relu")
FOLDS, BATCH = 3, 128


def _stack(n_features, hidden):
    torch.manual_seed(0)
    modules = [MLP(n_features=n_features, hidden=hidden, activation=a) for a in ACTIVATIONS for _ in range(FOLDS)]
    stack = Stack(modules, FOLDS, torch.device("cpu"))
    optimizer = torch.optim.SGD(stack.parameters(), **with_fused(torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}))
    return stack, optimizer


def _objective(stack, xb, yb, counts):
    summed = loop._member_losses(stack(xb), yb, None, len(ACTIVATIONS))
    return (summed.view(len(ACTIVATIONS), FOLDS) / counts).sum()


def _step(n_features=784, hidden=(128, 64), update=True, compiled=False):
    stack, optimizer = _stack(n_features, hidden)
    objective = torch.compile(_objective, dynamic=False) if compiled else _objective

    def step(xb, yb, counts):
        optimizer.zero_grad()
        objective(stack, xb, yb, counts).backward()
        if update:
            optimizer.step()
    return step


def _ms(step, data, steps, warmup=5):
    X, Y, rows = data
    done, start = 0, None
    for xb, yb, _, counts in loop._batches(X, Y, rows, BATCH, torch.device("cpu")):
        if done == warmup:
            start = time.perf_counter()
        if step is not None:
            step(xb, yb, counts)
        done += 1
        if done == steps + warmup:
            break
    return (time.perf_counter() - start) / steps * 1e3


def main(argv=None):
    """Print the step's budget and the compiled step's time, round by round."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n_fit = 60000 * 2 // 3 * 4 // 5
    data = (torch.randn(60000, 784), torch.randint(0, 10, (60000,)), [torch.randperm(60000)[:n_fit] for _ in range(FOLDS)])
    narrow = (torch.randn(60000, 4),) + data[1:]
    gflop = stack_epoch_flops(BATCH, 0, len(ACTIVATIONS) * FOLDS) / 1e9
    products = gflop / products_rate(args.threads) * 1e3
    print(f"products alone: {products:.2f} ms per step ({gflop / products * 1e3:.1f} GFLOP/s)", flush=True)
    eager, bare, tiny = _step(), _step(update=False), _step(4, (4, 4))
    start = time.perf_counter()
    compiled = _step(compiled=True)
    _ms(compiled, data, 3)
    print(f"compiled: first 8 steps (compiling) {time.perf_counter() - start:.1f} s", flush=True)
    for r in range(args.rounds):
        e, c, b = _ms(eager, data, args.steps), _ms(compiled, data, args.steps), _ms(bare, data, args.steps)
        d, g = _ms(tiny, narrow, args.steps), _ms(None, data, args.steps)
        print(f"round {r + 1}: eager {e:.2f} ms ({products / e:.3f} of the products' rate); compiled {c:.2f} ms "
              f"({c / e:.3f} of eager); products {products:.2f}, update {e - b:.2f}, dispatch {d:.2f}, "
              f"gather {g:.2f}, rest {e - products - (e - b) - d - g:.2f}", flush=True)


if __name__ == "__main__":
    main()
