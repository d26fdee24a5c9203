"""Wasserstein GAN with the one-sided Lipschitz penalty, WGAN-LP (Petzka, Fischer & Lukovnicov 2018).

WGAN-GP's two-sided penalty pushes the critic's gradient norm towards 1 everywhere it samples; the
Lipschitz constraint only asks that it not exceed 1. WGAN-LP penalizes only gradients steeper than 1:
Critic:    min  E[D(G(z))] - E[D(x)] + lambda E[max(0, ||grad D(x_hat)||_2 - 1)^2],
           x_hat = eps x + (1 - eps) G(z), eps ~ U[0, 1] drawn per sample (as in WGAN-GP)
Generator: min  -E[D(G(z))]
The critic's gap (without the penalty) estimates W1 as WGAN-GP's does: for a critic that is at most
1-Lipschitz, E[D(x)] - E[D(G(z))] <= W1 (Kantorovich-Rubinstein duality), with equality for the best one.
"""

from __future__ import annotations

from dataclasses import dataclass

from variants import losses
from variants.base import Hyper
from variants.registry import register
from variants.wgan_gp import WganGp


@dataclass(frozen=True)
class WganLpHyper(Hyper):
    # Petzka et al. define the penalty as a drop-in replacement of Gulrajani et al.'s; we keep
    # that training setup's values (Gulrajani et al. 2017, Alg. 1: lambda = 10, n_critic = 5, Adam
    # alpha = 1e-4, beta1 = 0, beta2 = 0.9), so that wgan-lp differs from wgan-gp in the penalty's side
    # only. Override lambda with --set lp_weight=...
    optimizer: str = "adam"
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    n_critic: int = 5
    lp_weight: float = 10.0

    def problems(self):
        out = super().problems()
        if not self.lp_weight >= 0:
            out.append(f"lp_weight={self.lp_weight}: must be >= 0")
        return out


@register
class WganLp(WganGp):
    """Wasserstein GAN with the one-sided Lipschitz penalty, lambda = 10 (Petzka et al. 2018)."""

    # WGAN-GP's losses, eps per sample (critic_noise) and critic normalization (layer norm: the penalty
    # is per sample, which batch norm would couple); only the penalty differs.
    name = "wgan-lp"
    Hyper = WganLpHyper
    gap_meaning = ("E[D(x)] - E[D(G(z))] without the penalty: a W1 estimate for a critic that is at most "
                   "~1-Lipschitz (one-sided penalty)")

    def penalty(self, D, real, fake, noise=None):
        eps = noise if noise is not None else self.critic_noise(real)
        return self.hp.lp_weight * losses.lipschitz_penalty(D, real, fake, eps)
