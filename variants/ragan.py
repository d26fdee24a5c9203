"""Relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2019).

The critic judges whether a real sample is more realistic than the average fake one, and a fake
sample more realistic than the average real one; the generator's loss is the same with real and fake
swapped, so it needs a real batch too (generator_needs_real). With C the critic's raw output:
Critic:    min  -E[log sigmoid(C(x) - E C(G(z)))] - E[log(1 - sigmoid(C(G(z)) - E C(x)))]
Generator: min  -E[log sigmoid(C(G(z)) - E C(x))] - E[log(1 - sigmoid(C(x) - E C(G(z))))]
The critic gap E[C(x)] - E[C(G(z))] is the quantity the relativistic losses push apart, a difference of
logits with no Lipschitz constraint: not a distance estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from variants import losses
from variants.base import LossOut, Variant
from variants.gan import GanHyper
from variants.registry import register


@dataclass(frozen=True)
class RaganHyper(GanHyper):
    """The author's CIFAR-10 "DCGAN setup" (AlexiaJM/RelativisticGAN, code/stable.sh: --lr_D .0002
    --lr_G .0002 --beta1 .50 --beta2 .999 --Diters 1), the setting of the paper's CIFAR-10 comparison:
    the standard GAN's defaults (variants.gan: Adam, lr 2e-4, betas (0.5, 0.999), one critic step)."""


@register
class Ragan(Variant):
    """Relativistic average standard GAN, RaSGAN (Jolicoeur-Martineau 2019)."""

    name = "ragan"
    Hyper = RaganHyper
    generator_needs_real = True
    gap_meaning = "difference of mean logits of a relativistic average critic; not a distance estimate"

    def critic_loss_from_scores(self, s_real: Tensor, s_fake: Tensor) -> Tensor:
        return losses.relativistic_average_critic(s_real, s_fake)

    def generator_loss(self, D, fake: Tensor, real: Tensor | None = None) -> LossOut:
        if real is None:
            raise ValueError("ragan's generator loss needs a real batch (generator_needs_real)")
        loss = losses.relativistic_average_generator(self.score(D, real.detach()), self.score(D, fake))
        return LossOut(loss, {"g_loss": loss.detach()})
