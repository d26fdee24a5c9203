"""The architecture interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

# Latent sizes when the user sets none: 2 for the toy data (as in gan_toy.py), 128 for images
# (the WGAN-GP / SN-GAN CIFAR-10 ResNets).
DEFAULT_Z_DIM = {"toy": 2, "image": 128}


@dataclass(frozen=True)
class LatentParams:
    """Knobs every architecture has: a width and the latent size.
    z_dim = 0 means the data family's default (DEFAULT_Z_DIM)."""

    width: int = 512
    z_dim: int = 0

    def problems(self) -> list[str]:
        out = []
        if self.width < 1:
            out.append(f"width={self.width}: must be >= 1")
        if self.z_dim < 0:
            out.append(f"z_dim={self.z_dim}: must be >= 1 (or 0 for the data's default)")
        return out


@dataclass(frozen=True)
class ArchParams(LatentParams):
    """Knobs of the fully connected architecture: LatentParams plus the number of hidden layers."""

    depth: int = 3

    def problems(self) -> list[str]:
        out = super().problems()
        if self.depth < 1:
            out.append(f"depth={self.depth}: must be >= 1")
        return out


class Arch:
    """Subclasses set name, Params and families, and implement build()."""

    name: ClassVar[str]
    Params: ClassVar[type[ArchParams]] = ArchParams
    families: ClassVar[tuple[str, ...]] = ("toy",)
    # Critic normalizations this architecture uses (a variant's critic_norm_rule may replace them).
    critic_norms: ClassVar[tuple[str, ...]] = ()
    # The critic kinds build() can make (a variant's critic_kind must be one: EBGAN's is "autoencoder").
    critic_kinds: ClassVar[tuple[str, ...]] = ("scalar", "autoencoder")

    def build(
        self, params: ArchParams, data_shape: tuple[int, ...], critic_kind: str, critic_norm: str | None
    ) -> tuple[nn.Module, nn.Module]:
        """Return (G, D). G maps [N, z_dim] -> [N, *data_shape]. D maps [N, *data_shape] -> [N]
        (critic_kind "scalar") or -> (reconstruction [N, *data_shape], code [N, d]) ("autoencoder")."""
        raise NotImplementedError
