"""Wasserstein GAN with weight clipping (Arjovsky, Chintala & Bottou 2017).

Critic:    max  E[f(x)] - E[f(G(z))]   over f with weights clipped to [-c, c]  (Alg. 1)
Generator: min  -E[f(G(z))]
The critic's gap E[f(x)] - E[f(G(z))] estimates K * W1(P_r, P_g) for the Lipschitz constant K that
the clipping box implies (Theorem 3), which is why the paper plots it as a "loss" that tracks quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from variants import losses
from variants.base import Hyper, Variant
from variants.registry import register


@dataclass(frozen=True)
class WganHyper(Hyper):
    # Arjovsky et al. 2017, Alg. 1 defaults: alpha = 5e-5, c = 0.01, n_critic = 5, RMSProp
    # ("momentum based methods such as Adam ... cause instability", Sec. 4.1).
    optimizer: str = "rmsprop"
    lr_g: float = 5e-5
    lr_d: float = 5e-5
    beta1: float = 0.5  # unused with rmsprop
    beta2: float = 0.999  # unused with rmsprop
    n_critic: int = 5
    clip: float = 0.01
    # Reference code (martinarjovsky/WassersteinGAN main.py): "train the discriminator Diters times":
    # 100 critic iterations while gen_iterations < 25 and whenever gen_iterations % 500 == 0.
    warmup_critic_steps: int = 100
    warmup_gen_steps: int = 25
    burst_every: int = 500

    def problems(self):
        out = super().problems()
        if not self.clip > 0:
            out.append(f"clip={self.clip}: must be > 0")
        if self.warmup_critic_steps < 1:
            out.append(f"warmup_critic_steps={self.warmup_critic_steps}: must be >= 1")
        if self.warmup_gen_steps < 0:
            out.append(f"warmup_gen_steps={self.warmup_gen_steps}: must be >= 0")
        if self.burst_every < 1:
            out.append(f"burst_every={self.burst_every}: must be >= 1 (use a number above --steps to disable)")
        return out


@register
class Wgan(Variant):
    """Wasserstein GAN, weight clipping, RMSProp (Arjovsky et al. 2017)."""

    name = "wgan"
    Hyper = WganHyper
    estimates_wasserstein = True
    gap_meaning = "E[f(x)] - E[f(G(z))] with f clipped to [-c, c]: K * W1 for an unknown K (Arjovsky et al. Thm. 3)"

    def critic_steps(self, gen_step):
        hp = self.hp
        if gen_step < hp.warmup_gen_steps or gen_step % hp.burst_every == 0:
            return hp.warmup_critic_steps
        return hp.n_critic

    def prepare_critic(self, D):
        self.after_critic_step(D)  # start inside the clipping box, as every later critic is
        return D

    @torch.no_grad()
    def after_critic_step(self, D):
        # Alg. 1, line 7: w <- clip(w, -c, c) after every critic update.
        for p in D.parameters():
            p.clamp_(-self.hp.clip, self.hp.clip)

    def critic_loss_from_scores(self, s_real, s_fake):
        return losses.wasserstein_critic(s_real, s_fake)

    def generator_loss_from_scores(self, s_fake):
        return losses.wasserstein_generator(s_fake)
