"""A new activation to compare with the established ones (see docs/comparisons.md, "Your own activation")."""
import torch
from torch import nn


class Fancy(nn.Module):
    """x * sigmoid(beta * x) + gamma * tanh(x), with a learnable beta."""

    def __init__(self, beta=1.0, gamma=0.1):
        super().__init__()
        self.beta, self.gamma = nn.Parameter(torch.tensor(float(beta))), gamma

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x) + self.gamma * torch.tanh(x)
