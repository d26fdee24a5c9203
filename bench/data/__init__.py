"""Data sets: the built-in 2-D toy mixtures (exact ground truth) and real images.

Every data set offers the same three things to the runner: `sample(n, rng)` for training batches
(drawn on the training device, no host work), `heldout(n)` for the fixed evaluation set, and
`modes` / `mode_std` when it is a mixture (for the coverage metrics). Images are served as
C x 32 x 32 in [-1, 1] from one uint8 tensor on the training device (bench.data.images).
"""

from __future__ import annotations

from bench.data.base import Dataset
from bench.data.registry import DATASETS, build_dataset, canonical_name
from bench.data import toy, fashion_mnist, stacked, torchvision_sets, folder  # noqa: F401  (registration)

__all__ = ["DATASETS", "Dataset", "build_dataset", "canonical_name"]
