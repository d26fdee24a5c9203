"""The CIFAR-10 ResNet of WGAN-GP (Gulrajani et al. 2017, App. C; gan_cifar_resnet.py), also the
32 x 32 ResNet of SN-GAN (Miyato et al. 2018, App. B.4, Table 4).

G: z -> Linear -> [w, 4, 4] -> 3 up-sampling residual blocks -> [w, 32, 32] -> BN, ReLU,
   3x3 conv -> [C, 32, 32], tanh. A block: BN, ReLU, 2x nearest upsample, 3x3 conv, BN, ReLU, 3x3 conv;
   shortcut: upsample, 1x1 conv.
D: 4 residual blocks [C, 32, 32] -> [w, 16, 16] -> [w, 8, 8] -> [w, 8, 8] -> [w, 8, 8] (the first
   "optimized" block: 3x3 conv, ReLU, 3x3 conv, 2x2 mean pool; shortcut: mean pool, 1x1 conv; the
   others: norm, ReLU, 3x3 conv, norm, ReLU, 3x3 conv [, mean pool], shortcut identity or 1x1 conv
   [+ mean pool]), ReLU, global mean pooling (gan_cifar_resnet.py; SN-GAN sums instead, a
   constant factor), Linear -> one score.
width w = 128 (WGAN-GP's DIM_G = DIM_D; SN-GAN uses 256 in G, `--set width=256` for both).
The critic's normalization defaults to none (gan_cifar_resnet.py: NORMALIZATION_D = False;
SN-GAN: none); the generator always uses batch norm.
EBGAN's autoencoder critic for this family: the first three critic blocks as encoder down to
[w, 4, 4] (the code; the third block down-samples here) and three up-sampling generator-style
blocks plus norm, ReLU, 3x3 conv back to [C, 32, 32] (linear output), normalized with the critic norm.
Initialization: Xavier-uniform, gain sqrt(2) inside residual branches and 1 for shortcuts and the
input/output layers, as in the SN-GAN reference implementation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch.nn.functional as F
from torch import nn

from bench.arch.base import Arch, LatentParams
from bench.arch.dcgan import check_shape
from bench.arch.norms import has_bias, norm2d
from bench.arch.registry import register


@dataclass(frozen=True)
class ResnetParams(LatentParams):
    """width: channels of every residual block (WGAN-GP's DIM_G = DIM_D = 128); z_dim: latent size
    (0 = the data family's default, 128 for images)."""

    width: int = 128


def _conv(cin, cout, k, gain, bias=True):
    conv = nn.Conv2d(cin, cout, k, 1, k // 2, bias=bias)
    nn.init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class UpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str | None):
        super().__init__()
        self.n1, self.c1 = norm2d(norm, cin), _conv(cin, cout, 3, math.sqrt(2), bias=has_bias(norm))
        self.n2, self.c2 = norm2d(norm, cout), _conv(cout, cout, 3, math.sqrt(2))
        self.shortcut = _conv(cin, cout, 1, 1.0)

    def forward(self, x):
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        h = self.c1(F.interpolate(F.relu(self.n1(x)), scale_factor=2, mode="nearest"))
        return self.shortcut(up) + self.c2(F.relu(self.n2(h)))


class DownBlock(nn.Module):
    """Pre-activation residual block; `down` adds 2x2 mean pooling to both paths."""

    def __init__(self, cin: int, cout: int, norm: str | None, down: bool):
        super().__init__()
        self.down = down
        self.n1, self.c1 = norm2d(norm, cin), _conv(cin, cin, 3, math.sqrt(2), bias=has_bias(norm))
        self.n2, self.c2 = norm2d(norm, cin), _conv(cin, cout, 3, math.sqrt(2))
        self.shortcut = _conv(cin, cout, 1, 1.0) if (cin != cout or down) else nn.Identity()

    def forward(self, x):
        h = self.c2(F.relu(self.n2(self.c1(F.relu(self.n1(x))))))
        s = self.shortcut(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return s + h


class FirstBlock(nn.Module):
    """The critic's first ("optimized") block: no activation before the first conv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.c1, self.c2 = _conv(cin, cout, 3, math.sqrt(2)), _conv(cout, cout, 3, math.sqrt(2))
        self.shortcut = _conv(cin, cout, 1, 1.0)

    def forward(self, x):
        return self.shortcut(F.avg_pool2d(x, 2)) + F.avg_pool2d(self.c2(F.relu(self.c1(x))), 2)


class ResnetGenerator(nn.Module):
    def __init__(self, z_dim: int, w: int, channels: int):
        super().__init__()
        self.w = w
        self.input = nn.Linear(z_dim, 4 * 4 * w)
        nn.init.xavier_uniform_(self.input.weight)
        self.blocks = nn.Sequential(*(UpBlock(w, w, "batch") for _ in range(3)))
        self.out = nn.Sequential(nn.BatchNorm2d(w), nn.ReLU(), _conv(w, channels, 3, 1.0), nn.Tanh())

    def forward(self, z):
        return self.out(self.blocks(self.input(z).view(-1, self.w, 4, 4)))


class ResnetCritic(nn.Module):
    def __init__(self, channels: int, w: int, norm: str | None):
        super().__init__()
        self.blocks = nn.Sequential(
            FirstBlock(channels, w), DownBlock(w, w, norm, down=True),
            DownBlock(w, w, norm, down=False), DownBlock(w, w, norm, down=False),
        )
        self.out = nn.Linear(w, 1)
        nn.init.xavier_uniform_(self.out.weight)

    def forward(self, x):
        return self.out(F.relu(self.blocks(x)).mean(dim=(2, 3))).view(-1)


class ResnetAutoencoder(nn.Module):
    """EBGAN critic: x -> (reconstruction [N, C, 32, 32], code [N, w * 16])."""

    def __init__(self, channels: int, w: int, norm: str | None):
        super().__init__()
        self.encoder = nn.Sequential(FirstBlock(channels, w), DownBlock(w, w, norm, True), DownBlock(w, w, norm, True))
        self.decoder = nn.Sequential(
            *(UpBlock(w, w, norm) for _ in range(3)), norm2d(norm, w), nn.ReLU(), _conv(w, channels, 3, 1.0)
        )

    def forward(self, x):
        code = self.encoder(x)
        return self.decoder(code), code.flatten(1)


@register
class Resnet(Arch):
    """WGAN-GP / SN-GAN CIFAR ResNet: 3 up blocks in G; 4 blocks, mean pooling, linear in D."""

    name = "resnet"
    Params = ResnetParams
    families = ("image",)
    critic_norms = ("none",)

    def build(self, params, data_shape, critic_kind, critic_norm):
        check_shape(data_shape)
        G = ResnetGenerator(params.z_dim, params.width, data_shape[0])
        cls = ResnetAutoencoder if critic_kind == "autoencoder" else ResnetCritic
        return G, cls(data_shape[0], params.width, critic_norm)
