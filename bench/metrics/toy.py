"""Ground-truth metrics: exact W1 (POT; toy data, and images in pixel space) and mode coverage
(VEEGAN / PacGAN)."""

from __future__ import annotations

import numpy as np
import ot
import torch
from torch import Tensor

from bench.metrics.registry import EvalContext, Key, Missing, register


def w1_exact(x: np.ndarray, y: np.ndarray) -> float:
    """Exact W1 between two empirical measures with uniform weights, Euclidean ground cost (ot.emd2)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    cost = ot.dist(x, y, metric="euclidean")
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, cost, numItermax=10_000_000))


def mode_coverage(samples: Tensor, modes: Tensor, std: float, radius_in_std: float = 3.0) -> tuple[int, float]:
    """(modes captured, fraction of high-quality samples).

    A sample is high quality when it lies within `radius_in_std` standard deviations of its nearest
    mode; a mode is captured when it is the nearest mode of at least one high-quality sample
    (Srivastava et al. 2017, VEEGAN, Sec. 5.1; Lin et al. 2018, PacGAN, Sec. 5).
    """
    d = torch.cdist(samples.flatten(1).double(), modes.flatten(1).double().to(samples.device))
    dist, nearest = d.min(dim=1)
    hq = dist <= radius_in_std * std
    return int(nearest[hq].unique().numel()), float(hq.double().mean())


W1_IMAGE_POINTS = 2000  # images: exact W1 on this many flattened pixel vectors per side


@register(
    "w1_exact",
    (Key("w1_exact", "W1 exact", "lower"), Key("w1_exact_space", "W1 space", None, "info")),
    "exact W1 (POT ot.emd2, Euclidean cost, uniform weights) between G of the fixed latent bank "
    "and the held-out real set: toy data on all n_eval points in data space; images on the first "
    f"min(n_eval, {W1_IMAGE_POINTS}) of each, flattened pixel vectors in [-1, 1] (w1_exact_space: pixel)",
    "Exact Wasserstein-1 between generated and held-out real samples (POT; images: pixel space)",
)
def w1_metric(ctx: EvalContext):
    if ctx.dataset.family == "toy":
        return {"w1_exact": w1_exact(ctx.fake.cpu().numpy(), ctx.real.cpu().numpy()), "w1_exact_space": "data"}
    n = W1_IMAGE_POINTS
    return {"w1_exact": w1_exact(ctx.fake[:n].flatten(1).cpu().numpy(), ctx.real[:n].flatten(1).cpu().numpy()),
            "w1_exact_space": "pixel"}


@register(
    "modes",
    (Key("modes", "modes", "higher"), Key("hq_frac", "HQ %", "higher", scale=100.0)),
    "toy mixtures: over G of the fixed latent bank, hq_frac = fraction within 3 std of the nearest mode; "
    "modes = modes captured = mixture modes nearest to at least one such sample (VEEGAN / PacGAN)",
    "Mixture modes captured and fraction of high-quality samples (within 3 std of a mode)",
    families=("toy",),  # stacked images count their modes in bench.metrics.stacked_modes
)
def modes_metric(ctx: EvalContext):
    if ctx.dataset.modes is None:
        return Missing(f"{ctx.dataset.name} has no discrete modes")
    captured, hq = mode_coverage(ctx.fake, ctx.dataset.modes, ctx.dataset.mode_std)
    return {"modes": captured, "hq_frac": hq}
