"""The machine's limits, measured before the parts run: what the parts' figures are read against.

- `sgemm_peak`: the float32 matrix-product peak;
- `products_rate`: the rate of a stacked step's products alone, the most the training could reach
  if nothing but its products ran (counted by `stack_epoch_flops`);
- `import_floor`: the start-up floor, the least any run spends before training;
- `conv_rate`: the rate of the CNN's convolutions and products alone (counted by `cnn_row_flops`),
  the most a CNN grid's training could reach.
"""
import math
import subprocess
import sys
import time

from .notebook import notebook


def stack_epoch_flops(n_fit, n_valid, members, sizes=None):
    """Floating-point operations of one epoch of ``members`` stacked fits of an MLP.

    A multiply-add counts 2. Training runs every fit row forward (``2 * n_in * n_out`` per
    layer) and backward: the weight gradient of every layer (as much again) and the input
    gradient of every layer but the first (the pixels need none). Validation runs its rows
    forward once. Activations, the loss and the optimizer step are not counted (a few
    operations per value, against hundreds per value in the products).

    Parameters
    ----------
    n_fit, n_valid : int
        Training and validation rows of each fit.
    members : int
        Fits trained together (candidates x folds).
    sizes : sequence of int, optional
        Layer widths from the input to the classes; the notebook's network by default.
    """
    sizes = notebook().sizes if sizes is None else sizes
    products = [2 * n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    forward = sum(products)
    backward = sum(products) + sum(products[1:])
    return members * (n_fit * (forward + backward) + n_valid * forward)


def _fastest(run, threads, repeats, device, warmup=1):
    """Seconds of the fastest of ``repeats`` calls of ``run()``, after ``warmup`` untimed ones,
    with torch at ``threads`` threads (restored after) and ``device``'s queue waited for."""
    import torch

    from ..training.cost import synchronize

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            run()
        best = math.inf
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return best


def sgemm_peak(threads, size=2048, repeats=5, device="cpu"):
    """The float32 matrix-product rate of this machine at ``threads`` threads, in GFLOP/s.

    The best of ``repeats`` products of two ``size`` x ``size`` matrices (after one warm-up),
    in this process, with torch's own kernels: the ceiling that the training's products
    are measured against. On a GPU (``device="cuda"``, ``threads`` unused) the products are
    four times larger and in full float32 (no TF32), as the training runs them by default.
    """
    import torch

    size = size * 4 if device == "cuda" else size
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    out = torch.empty(size, size, device=device)
    return 2 * size ** 3 / _fastest(lambda: torch.mm(a, b, out=out), threads, repeats, device) / 1e9


def products_rate(threads, candidates=None, folds=None, batch=None, sizes=None, repeats=30, device="cpu"):
    """The rate of a stacked training step's matrix products alone, in GFLOP/s: the training's ceiling.

    A step of the stacked grid (``candidates`` x ``folds`` members of an MLP with layer widths
    ``sizes``, ``batch`` rows per fold; the notebook's by default) does these products, as
    `src.training.stack` does them (its bias additions aside): per fold, the first layer's
    forward product against the candidates' weights side by side and its weight gradient; over
    all members, every later layer's batched forward, input-gradient and weight-gradient
    products. Here they run back to back on random matrices of those shapes, and nothing else
    does (no activation, loss, gather or optimizer step): the best of ``repeats`` steps, after
    two warm-up steps, counted in FLOPs as `stack_epoch_flops` counts a training row. The
    training's rate can only come near it.
    """
    import torch

    if None in (candidates, folds, batch, sizes):
        setup = notebook()
        candidates = len(setup.activations) if candidates is None else candidates
        folds = setup.folds if folds is None else folds
        batch = setup.batch_size if batch is None else batch
        sizes = setup.sizes if sizes is None else sizes
    members = candidates * folds
    x = torch.randn(folds, batch, sizes[0], device=device)
    first = torch.randn(folds, sizes[0], candidates * sizes[1], device=device)
    first_grad = torch.randn(folds, batch, candidates * sizes[1], device=device)
    later = [(torch.randn(members, batch, n_in, device=device), torch.randn(members, n_in, n_out, device=device),
              torch.randn(members, batch, n_out, device=device)) for n_in, n_out in zip(sizes[1:-1], sizes[2:])]

    def step():
        for f in range(folds):
            torch.mm(x[f], first[f])
            torch.mm(x[f].t(), first_grad[f])
        for h, weight, grad in later:
            torch.bmm(h, weight)
            torch.bmm(grad, weight.transpose(1, 2))
            torch.bmm(h.transpose(1, 2), grad)

    seconds = _fastest(step, threads, repeats, device, warmup=2)
    return stack_epoch_flops(batch, 0, members, sizes) / seconds / 1e9


def cnn_row_flops(setup=None, image_shape=(1, 28, 28), n_classes=10):
    """Floating-point operations of one row's forward pass through the CNN of ``model=cnn`` (``setup.cnn``).

    A multiply-add counts 2: each block's convolution (same padding, so every pixel of its input
    has an output) and each Linear layer of the head and the output. Activations, norms and
    pooling are not counted (a few operations per value, against hundreds in a convolution).

    Returns
    -------
    (int, int)
        All the layers' operations, and the first convolution's (whose input needs no gradient).
    """
    keys = (setup or notebook()).cnn_keys
    channels, height, width = image_shape
    total, first = 0, None
    for out in keys["channels"]:
        total += 2 * height * width * out * channels * keys["kernel_size"] ** 2
        first = total if first is None else first
        channels, height, width = out, height // keys["pool"], width // keys["pool"]
    features = channels * height * width
    for size in (*keys["hidden"], n_classes):
        total += 2 * features * size
        features = size
    return total, first


def cnn_epoch_flops(n_fit, n_valid, fits, setup=None):
    """Floating-point operations of one epoch of ``fits`` fits of the CNN: every fit row forward and backward (the
    weight gradient of every layer, the input gradient of every layer but the first), the validation rows forward."""
    forward, first = cnn_row_flops(setup)
    return fits * (n_fit * (3 * forward - first) + n_valid * forward)


def conv_rate(threads, setup=None, batch=None, repeats=10, device="cpu"):
    """The rate of the CNN's convolutions and products alone, in GFLOP/s: the ceiling of a CNN grid's training.

    One training step's layers of the CNN of ``model=cnn`` (``batch`` rows, the notebook's batch
    size by default), each on random inputs of its shape: every convolution (channels-last
    weights, as `src.model.cnn.CNN` keeps them) and Linear layer forward, then backward with its
    weight gradient and, but for the first, its input gradient. Nothing else runs (no
    activation, pooling, loss or optimizer step): the best of ``repeats`` steps after a warm-up,
    counted as `cnn_epoch_flops` counts a training row. On a CPU the step runs on one thread and
    its rate is multiplied by ``threads``: a CNN grid trains one single-threaded fit per core,
    and no core can run its fit's convolutions faster than one core runs them alone (at these
    shapes two threads on one step reach less than twice one thread's rate). On a GPU it runs as is.
    """
    import torch
    from torch import nn

    setup = setup or notebook()
    batch = batch or setup.batch_size
    keys = setup.cnn_keys
    generator = torch.Generator().manual_seed(0)
    layers, channels, side = [], 1, 28
    for out in keys["channels"]:
        conv = nn.Conv2d(channels, out, keys["kernel_size"], padding="same")
        conv = conv.to(device, memory_format=torch.channels_last)
        x = torch.randn(batch, channels, side, side, generator=generator).to(device)
        layers.append((conv, x.requires_grad_(bool(layers)), torch.randn(batch, out, side, side, generator=generator)
                       .to(device).contiguous(memory_format=torch.channels_last)))
        channels, side = out, side // keys["pool"]
    features = channels * side * side
    for size in (*keys["hidden"], 10):
        x = torch.randn(batch, features, generator=generator).to(device).requires_grad_()
        grad = torch.randn(batch, size, generator=generator).to(device)
        layers.append((nn.Linear(features, size).to(device), x, grad))
        features = size

    def step():
        for layer, x, grad in layers:
            layer(x).backward(grad)

    cores = 1 if str(device).startswith("cuda") else threads
    seconds = _fastest(step, 1, repeats, device)
    return cores * cnn_epoch_flops(batch, 0, 1, setup) / seconds / 1e9


# What every run imports before it trains, and the torch optimizer it builds (its first
# optimizer imports torch's compiler): the least start-up any run of the project can have.
FLOOR_CODE = ("import gc; gc.disable(); import torch, skorch, sklearn.model_selection, hydra; "
              "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)")


def import_floor(repeats=3):
    """Seconds a fresh Python takes to run `FLOOR_CODE`, the fastest of ``repeats`` runs."""
    def once():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR_CODE], check=True, capture_output=True)
        return time.perf_counter() - start

    return min(once() for _ in range(repeats))


def cpu_name():
    """The CPU's model name and torch's kernel level, e.g. ``AMD EPYC (torch AVX2)``."""
    import platform

    import torch

    name = platform.processor() or "cpu"
    try:
        with open("/proc/cpuinfo") as fh:
            name = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{name} (torch {torch.backends.cpu.get_cpu_capability()})"


def torch_device_name(device):
    """The GPU's name for the table's title."""
    import torch

    return torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
