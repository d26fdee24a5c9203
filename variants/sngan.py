"""Spectrally normalized GAN with the hinge loss (Miyato et al. 2018).

Every weight of the critic is divided by its largest singular value, estimated with one step of
power iteration per forward pass (Sec. 2.1), which bounds the critic's Lipschitz constant by 1.
Critic:    min  E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]                      (Eq. 16, hinge)
Generator: min  -E[D(G(z))]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from variants import losses
from variants.base import Hyper, Variant
from variants.registry import register


@dataclass(frozen=True)
class SnganHyper(Hyper):
    # Miyato et al. 2018, Sec. 4.2 / App. B.3 (the ResNet setting, after Gulrajani et al.):
    # Adam, alpha = 2e-4, beta1 = 0, beta2 = 0.9, n_dis = 5.
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    n_critic: int = 5
    power_iterations: int = 1  # Sec. 2.1: "one round of the power iteration" per update

    def problems(self):
        out = super().problems()
        if self.power_iterations < 1:
            out.append(f"power_iterations={self.power_iterations}: must be >= 1")
        return out


class _SpectralNormInPlace(_SpectralNorm):
    """PyTorch's spectral-norm parametrization, with the power iteration's in-place update of u and v
    written as copy_ instead of F.normalize(..., out=u): the same numbers, but torch.func.vmap can
    batch it, so a packed run (bench.train.packed) runs each member's own power iteration."""

    @torch.no_grad()
    def _power_method(self, weight_mat: torch.Tensor, n_power_iterations: int) -> None:
        for _ in range(n_power_iterations):
            self._u.copy_(F.normalize(torch.mv(weight_mat, self._v), dim=0, eps=self.eps))
            self._v.copy_(F.normalize(torch.mv(weight_mat.H, self._u), dim=0, eps=self.eps))


def spectral_norm(module: nn.Module, n_power_iterations: int) -> nn.Module:
    """torch.nn.utils.parametrizations.spectral_norm(module) for Linear/Conv (dim 0) and ConvTranspose (dim 1)."""
    dim = 1 if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, "weight", _SpectralNormInPlace(module.weight, n_power_iterations, dim))
    return module


@register
class Sngan(Variant):
    """Spectral normalization on the critic + hinge loss (Miyato et al. 2018)."""

    name = "sngan"
    Hyper = SnganHyper
    gap_meaning = "E[D(x)] - E[D(G(z))] for a spectrally normalized hinge critic (Lipschitz <= 1, hinge-trained)"
    # App. B: the SN critic uses no batch normalization.
    critic_norm_rule = {"batch": "none"}

    def prepare_critic(self, D):
        for module in list(D.modules()):
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                spectral_norm(module, self.hp.power_iterations)
        return D

    def critic_loss_from_scores(self, s_real, s_fake):
        return losses.hinge_critic(s_real, s_fake)

    def generator_loss_from_scores(self, s_fake):
        return losses.wasserstein_generator(s_fake)
