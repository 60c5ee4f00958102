"""``python -m src.bench``: the reference grid three ways, timed side by side in one invocation.

The work unit is the origin notebook's search, as ``experiment=notebook`` composes it
(`notebook`): a 784-128-64-10 MLP, SGD (lr 0.01, momentum 0.95), batch 128, 3-fold CV over
relu, tanh and leaky_relu on the 60,000 MNIST training images (9 fits). It is run as the
project's grid mode and its variants (`parts`), as a naive skorch setup and as a hand-written
PyTorch loop (`baselines`), each in its own process, its wall time and peak memory measured
from outside (`sampler`); asked for (``--parts cnn,cnn_b``), the same grid on the CNN of
``model=cnn``, as the project trains it and as naive skorch does, read against the rate of the
CNN's convolutions alone. Before the parts, the machine's limits are measured (`limits`), which
the figures (`figures`) are read against; what a part's run dir holds is read through its study
(`src.reporting.read.study`). docs/performance.md describes the parts and the figures.
"""
