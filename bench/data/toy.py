"""2-D toy mixtures with the parameters of Gulrajani et al.'s gan_toy.py (WGAN-GP, 2017).

8gaussians:  8 modes on a circle of radius 2, std 0.02, all divided by 1.414
25gaussians: a 5 x 5 grid with spacing 2 over -4..4, std 0.05, all divided by 2.828
swissroll:   sklearn's make_swiss_roll(noise=0.25), coordinates (x, z), divided by 7.5
Samples are drawn on the fly from a seeded generator; the mixtures know their modes and std
(after scaling) for the mode-coverage metrics.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from bench.data.base import Dataset
from bench.data.registry import DATASETS


class GaussianMixture(Dataset):
    """Equal-weight isotropic Gaussians with a common std."""

    family = "toy"

    def __init__(self, name: str, centers: Tensor, std: float, scale: float):
        self.name = name
        self.shape = (2,)
        self.scale = scale
        self.modes = centers / scale
        self.mode_std = std / scale
        self._raw_std = std

    def to(self, device):
        self.modes = self.modes.to(device)
        return self

    def _draw(self, n: int, rng: torch.Generator, modes: Tensor) -> Tensor:
        idx = torch.randint(len(modes), (n,), generator=rng, device=modes.device)
        noise = torch.randn(n, 2, generator=rng, device=modes.device)
        return modes[idx] + self.mode_std * noise

    def sample(self, n, rng):
        modes = self.modes if self.modes.device == rng.device else self.modes.to(rng.device)
        return self._draw(n, rng, modes)

    def heldout(self, n, seed):
        return self._draw(n, torch.Generator().manual_seed(seed), self.modes.cpu())

    def describe(self):
        return {**super().describe(), "modes": len(self.modes), "mode_std": self.mode_std, "scale": self.scale}


class SwissRoll(Dataset):
    """sklearn.datasets.make_swiss_roll's recipe: t = 1.5 pi (1 + 2u), (t cos t, 21 v, t sin t) + noise."""

    family = "toy"

    def __init__(self, noise: float = 0.25, scale: float = 7.5):
        self.name = "swissroll"
        self.shape = (2,)
        self.noise = noise
        self.scale = scale

    def _draw(self, n: int, rng: torch.Generator, device) -> Tensor:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=rng, device=device))
        eps = torch.randn(n, 3, generator=rng, device=device) * self.noise
        # Column 1 (the roll's height) is dropped, but drawn so the noise matches sklearn's.
        x = t * torch.cos(t) + eps[:, 0]
        z = t * torch.sin(t) + eps[:, 2]
        return torch.stack([x, z], dim=1) / self.scale

    def sample(self, n, rng):
        return self._draw(n, rng, rng.device)

    def heldout(self, n, seed):
        return self._draw(n, torch.Generator().manual_seed(seed), "cpu")

    def describe(self):
        return {**super().describe(), "noise": self.noise, "scale": self.scale}


def eight_gaussians() -> GaussianMixture:
    angles = torch.arange(8, dtype=torch.float64) * (math.pi / 4)
    centers = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture("8gaussians", centers.float(), std=0.02, scale=1.414)


def twenty_five_gaussians() -> GaussianMixture:
    grid = torch.arange(-4, 5, 2, dtype=torch.float32)
    centers = torch.cartesian_prod(grid, grid)
    return GaussianMixture("25gaussians", centers, std=0.05, scale=2.828)


DATASETS.add("8gaussians", lambda **_: eight_gaussians(), "8 Gaussians on a circle (radius 2, std 0.02, /1.414)")
DATASETS.add("25gaussians", lambda **_: twenty_five_gaussians(), "5x5 grid of Gaussians (-4..4 step 2, std 0.05, /2.828)")
DATASETS.add("swissroll", lambda **_: SwissRoll(), "Swiss roll (noise 0.25, /7.5); no discrete modes")
