"""Pictures a run writes as it trains: toy samples over the critic's contour map; image sample grids."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.store.atomic import atomic_target  # noqa: E402  (no half-written picture left by a kill or a full disk)

GRID = 96  # critic evaluations per axis for the contour map
SCATTER_POINTS = 1000  # points of each kind drawn in a picture (the .npz keeps every evaluation sample)


def critic_grid(score, real: torch.Tensor, fake: torch.Tensor) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The critic's realness on a GRID x GRID lattice covering the real and generated points."""
    pts = torch.cat([real[:2000], fake[:2000]]).float().cpu().numpy()
    lo = np.minimum(np.percentile(pts, 0.5, axis=0), real.cpu().numpy().min(0)) - 0.25
    hi = np.maximum(np.percentile(pts, 99.5, axis=0), real.cpu().numpy().max(0)) + 0.25
    xs, ys = np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID)
    xx, yy = np.meshgrid(xs, ys)
    lattice = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=real.dtype, device=real.device)
    values = score(lattice).float().cpu().numpy().reshape(GRID, GRID)
    return values, (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


def draw_toy(ax, values, extent, real: np.ndarray, fake: np.ndarray, title: str = "",
             colorbar: bool = True, legend: bool = True) -> None:
    """Generated and held-out real points over the critic's realness. bench report draws grids of
    these, with one legend for the figure and no per-panel colour bar (colorbar=False, legend=False)."""
    x0, x1, y0, y1 = extent
    xs, ys = np.linspace(x0, x1, values.shape[1]), np.linspace(y0, y1, values.shape[0])
    if np.isfinite(values).all() and np.ptp(values) > 0:
        cs = ax.contourf(xs, ys, values, levels=20, cmap="viridis", alpha=0.85)
        if colorbar:
            ax.figure.colorbar(cs, ax=ax, fraction=0.046, pad=0.02, label="critic realness")
    real, fake = real[:SCATTER_POINTS], fake[:SCATTER_POINTS]
    ax.scatter(real[:, 0], real[:, 1], s=2, c="white", alpha=0.6, label="held-out real", linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="#ff6f3c", alpha=0.8, label="generated", linewidths=0)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    if legend:
        ax.legend(loc="upper right", fontsize=7, markerscale=4, framealpha=0.6)
    ax.set_title(title, fontsize=9)


def save_toy_snapshot(path: Path, score, real: torch.Tensor, fake: torch.Tensor, title: str,
                      draw: bool = True) -> None:
    """Write <path>.npz (the critic on its lattice and every evaluation sample, real and generated, so
    bench report can redraw the picture and modes or W1 can be recomputed from the file) and, if
    `draw`, <path>.png (the picture; ~0.25 s of matplotlib, hence not at every evaluation)."""
    values, extent = critic_grid(score, real, fake)
    real_np, fake_np = real.float().cpu().numpy(), fake.float().cpu().numpy()
    with atomic_target(path.with_suffix(".npz")) as tmp:
        np.savez_compressed(tmp, critic=values, extent=np.array(extent), real=real_np, fake=fake_np)
    if not draw:
        return
    fig, ax = plt.subplots(figsize=(5, 4.4), dpi=110)
    draw_toy(ax, values, extent, real_np, fake_np, title)
    fig.tight_layout()
    try:
        with atomic_target(path.with_suffix(".png")) as tmp:
            fig.savefig(tmp, bbox_inches="tight")  # keep the tick labels the colorbar crowds
    finally:
        plt.close(fig)


GRID_SAMPLES = 64  # an 8 x 8 grid


def save_image_grid(path: Path, fake: torch.Tensor) -> None:
    """Write <path>.png: the first 64 samples of the fixed latent bank, 8 per row, [-1, 1] -> [0, 255].

    The latent bank is the same for every run and step, so grids of one run show the same latents
    getting better, and grids of different runs are comparable cell by cell.
    """
    from torchvision.utils import save_image

    with atomic_target(path.with_suffix(".png")) as tmp:
        save_image(fake[:GRID_SAMPLES].float().cpu(), tmp, nrow=8, padding=2, normalize=True, value_range=(-1, 1))
