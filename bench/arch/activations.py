"""ReLU and leaky ReLU for critics, with a double backward that does no work on zeros.

A gradient penalty (WGAN-GP) differentiates the critic's input gradient with respect to its
weights: a double backward. PyTorch's relu / leaky_relu backward ops report their derivative with
respect to the activation as an explicit zero tensor (derivatives.yaml, threshold_backward and
leaky_relu_backward: `self: zeros_like(grad)`), and autograd then back-propagates those zeros
through every earlier layer of the penalty's forward pass: on the toy MLP critic, 4 of the 24 large
matrix products of a critic step multiply by zero. Written with ops whose backward selects by a
boolean mask (clamp_min: where(x >= 0, grad, 0); where(x > 0, ...)), which carries no gradient,
the double backward stops at the mask.

Same values as torch.relu / F.leaky_relu (NaN and infinities included) and the same derivatives,
except relu's at exactly 0, which is 1 here (clamp_min's convention) and 0 in torch.relu: both are
subgradients, and a pre-activation of exactly 0.0 practically never occurs in float arithmetic. Plain aten ops rather than a custom
autograd.Function: torch.compile drops a Function's double backward (checked with torch 2.14:
silently wrong penalty gradients), vmap and CUDA graphs need nothing special.
"""

from __future__ import annotations

import torch
from torch import nn


def relu(x: torch.Tensor) -> torch.Tensor:
    """torch.relu(x), its mask free of gradient (one kernel forward, as relu)."""
    return x.clamp_min(0.0)


def leaky_relu(x: torch.Tensor, slope: float) -> torch.Tensor:
    """F.leaky_relu(x, slope), its mask free of gradient."""
    return torch.where(x > 0, x, x * slope)


class ReLU(nn.Module):
    def forward(self, x):
        return relu(x)


class LeakyReLU(nn.Module):
    def __init__(self, slope: float):
        super().__init__()
        self.slope = float(slope)

    def forward(self, x):
        return leaky_relu(x, self.slope)

    def extra_repr(self):
        return f"slope={self.slope}"
