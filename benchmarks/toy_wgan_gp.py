"""Toy WGAN-GP: MLP 2-512-512-512 for G and D, batch 256, 5 critic steps per generator step, Adam
(Gulrajani et al.'s gan_toy.py setting, 8 Gaussians).

    python -m benchmarks.toy_wgan_gp --device cuda|cpu

Times our runner's training step (each --compile mode, and packs of K seeds) next to the plain loop
of benchmarks/plain_wgan_gp.py on the same model (copied from our trainer: same initial weights),
batch, data and hyperparameters, in this one process, and prints generator steps/s, run-steps/s and
the ratio to the plain loop that logs its losses every step.
"""

from __future__ import annotations

import math

import torch

from benchmarks.harness import arch_sets, main, measure, ours, report
from benchmarks.plain_wgan_gp import plain_contestants


def eight_gaussians(device: torch.device):
    """gan_toy.py's 8 Gaussians: centres 2 (cos, sin)(k pi / 4), std 0.02, all divided by 1.414."""
    angles = torch.arange(8, device=device) * (math.pi / 4)
    centers = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)

    def sample(n: int) -> torch.Tensor:
        idx = torch.randint(8, (n,), device=device)
        return (centers[idx] + 0.02 * torch.randn(n, 2, device=device)) / 1.414

    return sample


def run(args) -> None:
    contestants, reference = ours("wgan-gp", "mlp", "8gaussians", args, args.modes, args.packs, arch_sets(args))
    plain = plain_contestants(reference, eight_gaussians(reference.device), args.batch_size)
    everyone = plain + contestants
    report(f"toy WGAN-GP: MLP 2-{reference.cfg.arch_params.width}x{reference.cfg.arch_params.depth}, "
           f"batch {args.batch_size}, {reference.variant.hp.n_critic} critic steps, Adam",
           everyone, measure(everyone, args), args, baseline=plain[0].name)


if __name__ == "__main__":
    main(run, "Toy WGAN-GP: generator steps/s, our runner vs a plain PyTorch loop", batch_size=256)
