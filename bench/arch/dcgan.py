"""DCGAN at 32 x 32 (Radford, Metz & Chintala 2016) and the WGAN paper's generator without batch norm.

Shapes follow the WGAN reference code (martinarjovsky/WassersteinGAN, models/dcgan.py) at
isize = 32, with width = its ngf = ndf (default 64):
  G: z -> ConvT 4x4 -> [4w, 4, 4] -> ConvT s2 -> [2w, 8, 8] -> [w, 16, 16] -> ConvT s2 -> [C, 32, 32], tanh;
     BatchNorm + ReLU after every layer but the last.
  D: [C, 32, 32] -> Conv 4x4 s2 -> [w, 16, 16] -> [2w, 8, 8] -> [4w, 4, 4] -> Conv 4x4 -> one score;
     LeakyReLU(0.2) after every layer but the last; the critic normalization (batch by default)
     after every conv but the first and the last.
dcgan-nobn is the WGAN paper's robustness experiment (Arjovsky et al. 2017, Sec. 4.3 and Fig. 7:
"a generator without batch normalization and with a constant number of filters at every layer"):
the same G with no normalization and w filters in every hidden layer; the critic as in dcgan.
(The reference code's DCGAN_G_nobn drops batch norm but still halves the filters; we follow the
paper's text.)
EBGAN's autoencoder critic (Zhao et al. 2017, App. C: a conv encoder and a deconv decoder, batch
norm and leaky ReLU): the critic's three strided convs as encoder, whose [4w, 4, 4] output is the
code, and a mirrored transposed-conv decoder back to [C, 32, 32] (linear output).
Weights are initialized as in DCGAN: conv weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02).
A layer followed by a normalization has no bias; the others have one.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from bench.arch.base import Arch, LatentParams
from bench.arch.norms import has_bias, norm2d
from bench.arch.registry import register


@dataclass(frozen=True)
class DcganParams(LatentParams):
    """width: filters of the first critic layer and last generator layer (the reference's ngf = ndf);
    z_dim: latent size (0 = the data family's default, 128 for images)."""

    width: int = 64


def check_shape(data_shape):
    if len(data_shape) != 3 or tuple(data_shape[1:]) != (32, 32):
        raise ValueError(f"the convolutional archs expect [C, 32, 32] images, got {data_shape}")


def _up(cin: int, cout: int, norm: str | None, first: bool = False) -> list[nn.Module]:
    conv = nn.ConvTranspose2d(cin, cout, 4, 1, 0, bias=has_bias(norm)) if first else \
        nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=has_bias(norm))
    return [conv, norm2d(norm, cout), nn.ReLU(True)]


def _down(cin: int, cout: int, norm: str | None) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1, bias=has_bias(norm)), norm2d(norm, cout), nn.LeakyReLU(0.2, True)]


class ConvGenerator(nn.Module):
    """[N, z] -> [N, C, 32, 32] in (-1, 1). `filters` = the three hidden layers' channel counts."""

    def __init__(self, z_dim: int, filters: tuple[int, int, int], channels: int, norm: str | None):
        super().__init__()
        a, b, c = filters
        self.net = nn.Sequential(
            *_up(z_dim, a, norm, first=True), *_up(a, b, norm), *_up(b, c, norm),
            nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(*z.shape, 1, 1))


def _encoder(channels: int, w: int, norm: str | None) -> nn.Sequential:
    """[N, C, 32, 32] -> [N, 4w, 4, 4]; no normalization after the first conv (DCGAN)."""
    return nn.Sequential(
        nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2, True), *_down(w, 2 * w, norm), *_down(2 * w, 4 * w, norm)
    )


class ConvCritic(nn.Module):
    def __init__(self, channels: int, w: int, norm: str | None):
        super().__init__()
        self.features = _encoder(channels, w, norm)
        self.out = nn.Conv2d(4 * w, 1, 4, 1, 0)

    def forward(self, x):
        return self.out(self.features(x)).view(-1)


class ConvAutoencoder(nn.Module):
    """EBGAN critic: x -> (reconstruction [N, C, 32, 32], code [N, 4w * 16])."""

    def __init__(self, channels: int, w: int, norm: str | None):
        super().__init__()
        self.encoder = _encoder(channels, w, norm)
        self.decoder = nn.Sequential(*_up(4 * w, 2 * w, norm), *_up(2 * w, w, norm), nn.ConvTranspose2d(w, channels, 4, 2, 1))

    def forward(self, x):
        code = self.encoder(x)
        return self.decoder(code), code.flatten(1)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2016, Sec. 4: weights from N(0, 0.02); BN scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _critic(params: DcganParams, channels: int, critic_kind: str, critic_norm: str | None) -> nn.Module:
    cls = ConvAutoencoder if critic_kind == "autoencoder" else ConvCritic
    return cls(channels, params.width, critic_norm)


@register
class Dcgan(Arch):
    """DCGAN generator and critic at 32x32 (Radford et al. 2016; WGAN reference code shapes)."""

    name = "dcgan"
    Params = DcganParams
    families = ("image",)
    critic_norms = ("batch",)

    def generator(self, params, channels):
        w = params.width
        return ConvGenerator(params.z_dim, (4 * w, 2 * w, w), channels, "batch")

    def build(self, params, data_shape, critic_kind, critic_norm):
        check_shape(data_shape)
        G = self.generator(params, data_shape[0])
        D = _critic(params, data_shape[0], critic_kind, critic_norm)
        G.apply(dcgan_init)
        D.apply(dcgan_init)
        return G, D


@register
class DcganNoBn(Dcgan):
    """WGAN paper's robustness G: no batch norm, constant filter count; DCGAN critic (Arjovsky et al. 2017)."""

    name = "dcgan-nobn"

    def generator(self, params, channels):
        w = params.width
        return ConvGenerator(params.z_dim, (w, w, w), channels, "none")
