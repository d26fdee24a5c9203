"""Energy-based GAN with an autoencoder critic and the pull-away term (Zhao, Mathieu & LeCun 2017).

The critic is an autoencoder; its energy is the reconstruction error D(x) = mean((Dec(Enc(x)) - x)^2)
(Sec. 2.3; we average over dimensions so one margin serves every data shape).
Critic:    min  E[D(x)] + E[max(0, m - D(G(z)))]                              (Eq. 1)
Generator: min  E[D(G(z))] + lambda_PT f_PT(Enc(G(z)))                       (Eq. 2, Eq. 7 "EBGAN-PT")
The runner's realness score is the negative energy, so its critic gap is E[-D(x)] + E[D(G(z))].
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from variants import losses
from variants.base import Hyper, LossOut, Variant
from variants.registry import register


@dataclass(frozen=True)
class EbganHyper(Hyper):
    # Zhao et al. 2017, App. C: Adam with beta1 = 0.5 as in DCGAN, whose lr 2e-4 we use.
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1
    # The paper grid-searches m per data set (Sec. 4.1, m in {1, 2, 4, 8, 16, 24, 32} for a
    # summed energy); with our per-dimension mean energy, m = 1 sits well above the energy of
    # real data at convergence and below that of an untrained generator's samples.
    margin: float = 1.0
    pt_weight: float = 0.1  # Sec. 4.1 / App. C: "lambda_PT = 0.1" for EBGAN-PT

    def problems(self):
        out = super().problems()
        if not self.margin > 0:
            out.append(f"margin={self.margin}: must be > 0")
        if not self.pt_weight >= 0:
            out.append(f"pt_weight={self.pt_weight}: must be >= 0")
        return out


def energy(D, x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample reconstruction error [N] and the encoder's code [N, d]."""
    recon, code = D(x)
    return ((recon - x) ** 2).flatten(1).mean(1), code


@register
class Ebgan(Variant):
    """Energy-based GAN: autoencoder critic, margin loss, pull-away term (Zhao et al. 2017)."""

    name = "ebgan"
    Hyper = EbganHyper
    critic_kind = "autoencoder"
    gap_meaning = "E[energy(G(z))] - E[energy(x)] (reconstruction errors); not a distance estimate"

    def score(self, D, x):
        return -energy(D, x)[0]

    def critic_loss(self, D, real, fake, noise=None):
        e_real, e_fake = energy(D, real)[0], energy(D, fake)[0]
        loss = losses.margin_energy_critic(e_real, e_fake, self.hp.margin)
        return LossOut(loss, {"d_loss": loss.detach(), "gap": (e_fake.mean() - e_real.mean()).detach()})

    def generator_loss(self, D, fake, real=None):
        e_fake, code = energy(D, fake)
        pt = losses.pull_away(code)
        loss = e_fake.mean() + self.hp.pt_weight * pt
        return LossOut(loss, {"g_loss": loss.detach(), "pull_away": pt.detach()})
