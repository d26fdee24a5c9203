"""ReLU for the MLP critic, with a double backward that does no work on zeros.

A gradient penalty (WGAN-GP) differentiates the critic's input gradient with respect to its
weights: a double backward. PyTorch's relu backward op reports its derivative with respect to the
activation as an explicit zero tensor (derivatives.yaml, threshold_backward: `self: zeros_like(grad)`),
and autograd then back-propagates those zeros through every earlier layer of the penalty's forward
pass: on the toy MLP critic, 4 of the 24 large matrix products of a critic step multiply by zero.
clamp_min's backward selects by a boolean mask (where(x >= 0, grad, 0)), which carries no gradient,
so the double backward stops there.

Same values as torch.relu (NaN and infinities included) and the same derivatives, except at exactly
0, where it is 1 here (clamp_min's convention) and 0 in torch.relu: both are subgradients, and a
pre-activation of exactly 0.0 practically never occurs in float arithmetic.

Used where it was measured to pay (bench/arch/mlp.py: toy WGAN-GP step 1.08-1.12x, Fashion-MNIST MLP
more). Not in the convolutional critics: a mask-selecting leaky ReLU (3 elementwise ops instead of
1 on large activations) made the DCGAN WGAN-GP step 15 % slower on the CPU, and on the ResNet critic
this ReLU measured no faster. Plain aten ops rather than a custom autograd.Function: torch.compile
drops a Function's double backward (tried with torch 2.14: silently wrong penalty gradients).
"""

from __future__ import annotations

import torch
from torch import nn


def relu(x: torch.Tensor) -> torch.Tensor:
    """torch.relu(x), its mask free of gradient (one kernel forward, as relu)."""
    return x.clamp_min(0.0)


class ReLU(nn.Module):
    def forward(self, x):
        return relu(x)
