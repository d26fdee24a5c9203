"""Fully connected generator and critic: 3 hidden layers of 512 ReLU units in both networks; width
and depth are knobs. For EBGAN, an autoencoder critic of the same family: an encoder with
depth // 2 hidden layers to a linear code of size `width`, and a decoder with the remaining hidden
layers back to the input.

Toy data: the WGAN-GP toy setting (gan_toy.py, 3 x 512 ReLU), identity output (the data is unbounded).
Images: the WGAN paper's MLP (Arjovsky et al. 2017, Fig. 6: "a 4-layer ReLU-MLP with 512 hidden
units per layer"), whose depth we take from the reference code (martinarjovsky/WassersteinGAN,
models/mlp.py MLP_G / MLP_D): four linear layers, i.e. 3 hidden ReLU layers, on the flattened image,
run with ngf = ndf = 512. The reference G has a linear output; ours ends in tanh so that samples
share the data's [-1, 1] range like every other image generator here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bench.arch.base import Arch
from bench.arch.registry import register


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class VectorGenerator(nn.Module):
    def __init__(self, z_dim: int, width: int, depth: int, data_shape: tuple[int, ...], out_act: nn.Module):
        super().__init__()
        self.data_shape = data_shape
        self.net = mlp([z_dim] + [width] * depth + [math.prod(data_shape)])
        self.out_act = out_act

    def forward(self, z):
        return self.out_act(self.net(z)).view(-1, *self.data_shape)


class VectorCritic(nn.Module):
    def __init__(self, width: int, depth: int, data_shape: tuple[int, ...]):
        super().__init__()
        self.net = mlp([math.prod(data_shape)] + [width] * depth + [1])

    def forward(self, x):
        return self.net(x.flatten(1)).view(-1)

    def input_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """d sum(self(x)) / dx, per sample, in closed form and differentiable in the weights.

        For a ReLU MLP, grad_x D(x) = W_1^T diag(m_1) W_2^T diag(m_2) ... W_k^T diag(m_k) w^T, with
        m_l the 0/1 pattern of the units that are on at x and w the output layer's weight row. The
        gradient penalty (WGAN-GP) differentiates this gradient with respect to the weights. Autograd
        gets there by a backward with create_graph and a second backward through that one, which also
        carries relu's zero second derivative back through the forward pass as explicit zero tensors.
        Written out as ordinary tensor operations, one ordinary backward does it: the forward pass to
        the masks builds no graph, the masks carry no gradient, and w folded into the rows of W_k (an
        elementwise product) saves one more matrix product. Toy critic: 7 large matrix products for
        the penalty and its weight gradients instead of autograd's 12; the toy WGAN-GP step ran
        ~1.1x faster on the CPU than with autograd's penalty (benchmarks/toy_wgan_gp.py).

        At a pre-activation of exactly 0 the mask is 0, as in torch.relu's derivative.
        """
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            h, masks = x.flatten(1), []
            for layer in linears[:-1]:
                h = F.linear(h, layer.weight, layer.bias).clamp_min_(0.0)
                masks.append(torch.sign(h))  # 1 where the unit is on, 0 where it is off
        # the output row w scales the rows of the last hidden layer's weight: diag(m_k) (w^T * W_k)
        u = masks[-1] @ (linears[-1].weight.T * linears[-2].weight)
        for layer, mask in zip(reversed(linears[:-2]), reversed(masks[:-1])):
            u = (u * mask) @ layer.weight
        return u.view_as(x)


class VectorAutoencoder(nn.Module):
    """EBGAN critic: returns (reconstruction, code)."""

    def __init__(self, width: int, depth: int, data_shape: tuple[int, ...]):
        super().__init__()
        d = math.prod(data_shape)
        enc_hidden = max(1, depth // 2)
        dec_hidden = max(1, depth - enc_hidden)
        self.data_shape = data_shape
        self.encoder = mlp([d] + [width] * enc_hidden + [width])
        self.decoder = nn.Sequential(nn.ReLU(), mlp([width] * (dec_hidden + 1) + [d]))

    def forward(self, x):
        code = self.encoder(x.flatten(1))
        return self.decoder(code).view(-1, *self.data_shape), code


@register
class Mlp(Arch):
    """MLP generator and critic, 3 x 512 ReLU (WGAN-GP toy; WGAN paper's image MLP); autoencoder critic for EBGAN."""

    name = "mlp"
    families = ("toy", "image")

    def build(self, params, data_shape, critic_kind, critic_norm):
        # Toy data is unbounded; images live in [-1, 1]. (A 1-D shape is a toy vector.)
        out_act = nn.Identity() if len(data_shape) == 1 else nn.Tanh()
        G = VectorGenerator(params.z_dim, params.width, params.depth, data_shape, out_act)
        if critic_kind == "autoencoder":
            D = VectorAutoencoder(params.width, params.depth, data_shape)
        else:
            D = VectorCritic(params.width, params.depth, data_shape)
        return G, D
