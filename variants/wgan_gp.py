"""Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

Critic:    min  E[D(G(z))] - E[D(x)] + lambda E[(||grad D(x_hat)||_2 - 1)^2],
           x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] drawn per sample              (Alg. 1)
Generator: min  -E[D(G(z))]
The critic's gap (without the penalty) estimates W1 for a critic that is ~1-Lipschitz.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from variants import losses
from variants.base import Hyper, Variant
from variants.registry import register


@dataclass(frozen=True)
class WganGpHyper(Hyper):
    # Gulrajani et al. 2017, Alg. 1 defaults: lambda = 10, n_critic = 5, alpha = 1e-4,
    # beta1 = 0, beta2 = 0.9. (Their toy script gan_toy.py uses lambda = 0.1 and beta1 = 0.5;
    # we keep the paper's values for every data set, so one protocol holds; override with --set.)
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    n_critic: int = 5
    gp_weight: float = 10.0

    def problems(self):
        out = super().problems()
        if not self.gp_weight >= 0:
            out.append(f"gp_weight={self.gp_weight}: must be >= 0")
        return out


@register
class WganGp(Variant):
    """Wasserstein GAN with gradient penalty, lambda = 10 (Gulrajani et al. 2017)."""

    name = "wgan-gp"
    Hyper = WganGpHyper
    estimates_wasserstein = True
    gap_meaning = "E[D(x)] - E[D(G(z))] without the penalty: a W1 estimate for a ~1-Lipschitz critic"
    # Sec. 4: "we use layer normalization as a drop-in replacement for batch normalization" in the
    # critic, because the penalty is per sample and batch norm couples the samples of a batch.
    critic_norm_rule = {"batch": "layer"}

    def critic_noise(self, real):
        # Alg. 1, line 4: eps ~ U[0, 1], one draw per sample
        return torch.rand(real.shape[0], device=real.device, generator=self.rng)

    def penalty(self, D, real, fake, noise=None):
        eps = noise if noise is not None else self.critic_noise(real)
        return self.hp.gp_weight * losses.gradient_penalty(D, real, fake, eps)

    def critic_loss_from_scores(self, s_real, s_fake):
        return losses.wasserstein_critic(s_real, s_fake)

    def generator_loss_from_scores(self, s_fake):
        return losses.wasserstein_generator(s_fake)
