"""The baseline: a WGAN-GP training step as it is usually written, in plain PyTorch, no harness.

Gulrajani et al. 2017, Alg. 1, the way their PyTorch ports and most training scripts write it: for
each of n_critic critic steps, a real batch and a latent batch, the penalty through
torch.autograd.grad(create_graph=True), one backward and an Adam step; then the critic is frozen
for one generator step. The losses are read back every generator step (`log_every_step`), as a
script that prints or logs its losses does; with log_every_step=False nothing is read back.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import nn


class PlainWganGp:
    def __init__(self, G: nn.Module, D: nn.Module, *, lr: float, betas: tuple[float, float], n_critic: int,
                 gp_weight: float, batch_size: int, z_dim: int, sample_real: Callable[[int], torch.Tensor],
                 device: torch.device, log_every_step: bool = True):
        self.G, self.D = G, D
        self.opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
        self.n_critic, self.gp_weight, self.B, self.z_dim = n_critic, gp_weight, batch_size, z_dim
        self.sample_real, self.device, self.log_every_step = sample_real, device, log_every_step
        self.log: list[tuple[float, float]] = []

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=self.device)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.D(x_hat).sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def step(self) -> None:
        for _ in range(self.n_critic):
            real = self.sample_real(self.B)
            with torch.no_grad():
                fake = self.G(torch.randn(self.B, self.z_dim, device=self.device))
            d_loss = self.D(fake).mean() - self.D(real).mean() + self.gp_weight * self.gradient_penalty(real, fake)
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()
        for p in self.D.parameters():
            p.requires_grad_(False)
        g_loss = -self.D(self.G(torch.randn(self.B, self.z_dim, device=self.device))).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()
        for p in self.D.parameters():
            p.requires_grad_(True)
        if self.log_every_step:
            self.log.append((d_loss.item(), g_loss.item()))


def plain_contestants(reference, sample_real: Callable[[int], torch.Tensor], batch_size: int):
    """The plain loop with and without per-step logging, on copies of our trainer's G and D (the same
    model and initial weights) and with its variant's hyperparameters."""
    from benchmarks.harness import Contestant

    hp, device = reference.variant.hp, reference.device
    out = []
    for log, label in ((True, "plain loop (losses logged every step)"), (False, "plain loop (no per-step logging)")):
        loop = PlainWganGp(copy.deepcopy(reference.G), copy.deepcopy(reference.D), lr=hp.lr_d,
                           betas=(hp.beta1, hp.beta2), n_critic=hp.n_critic, gp_weight=hp.gp_weight,
                           batch_size=batch_size, z_dim=reference.cfg.arch_params.z_dim, sample_real=sample_real,
                           device=device, log_every_step=log)
        out.append(Contestant(label, loop.step))
    return out
