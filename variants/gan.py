"""Standard GAN with the non-saturating generator loss (Goodfellow et al. 2014).

Critic:    min  -E[log sigmoid(D(x))] - E[log(1 - sigmoid(D(G(z))))]      (Eq. 1)
Generator: min  -E[log sigmoid(D(G(z)))]                                  (Sec. 3, "maximize log D(G(z))")
"""

from __future__ import annotations

from dataclasses import dataclass

from variants import losses
from variants.base import Hyper, Variant
from variants.registry import register


@dataclass(frozen=True)
class GanHyper(Hyper):
    # Goodfellow et al. give no optimizer for Eq. 1; we use DCGAN's (Radford et al. 2016, Sec. 4):
    # Adam, lr 2e-4, beta1 0.5 (beta2 is PyTorch's default 0.999), one D step per G step.
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1  # Goodfellow et al. 2014, Alg. 1: "k = 1, the least expensive option"


@register
class Gan(Variant):
    """Standard GAN, non-saturating generator loss (Goodfellow et al. 2014)."""

    name = "gan"
    Hyper = GanHyper
    gap_meaning = "difference of mean logits; not a distance estimate"

    def critic_loss_from_scores(self, s_real, s_fake):
        return losses.bce_critic(s_real, s_fake)

    def generator_loss_from_scores(self, s_fake):
        return losses.bce_nonsaturating_generator(s_fake)
