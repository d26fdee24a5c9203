"""Least-squares GAN (Mao et al. 2017).

Critic:    min  1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]
Generator: min  1/2 E[(D(G(z)) - c)^2]                                    (Eq. 2, a = 0, b = c = 1)
"""

from __future__ import annotations

from dataclasses import dataclass

from variants import losses
from variants.base import Hyper, Variant
from variants.registry import register


@dataclass(frozen=True)
class LsganHyper(Hyper):
    # Mao et al. 2017, Sec. 4.1: Adam, lr 2e-4 (beta1 0.5 as in the DCGAN code it builds on).
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1
    # Mao et al. 2017, Eq. 9: the 0-1 coding scheme a = 0 (fake), b = 1 (real), c = 1 (G's target).
    target_fake: float = 0.0
    target_real: float = 1.0
    target_gen: float = 1.0


@register
class Lsgan(Variant):
    """Least-squares GAN, a-b-c = 0-1-1 coding (Mao et al. 2017)."""

    name = "lsgan"
    Hyper = LsganHyper
    gap_meaning = "difference of mean least-squares scores; not a distance estimate"

    def critic_loss_from_scores(self, s_real, s_fake):
        return losses.least_squares_critic(s_real, s_fake, a=self.hp.target_fake, b=self.hp.target_real)

    def generator_loss_from_scores(self, s_fake):
        return losses.least_squares_generator(s_fake, c=self.hp.target_gen)
