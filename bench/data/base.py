"""The data-set interface the runner and the metrics rely on."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor


class Dataset:
    """A source of training batches and a fixed held-out evaluation set.

    family: "toy" (vectors with exact ground truth) or "image" (C x 32 x 32 in [-1, 1]).
    shape:  the shape of one sample.
    modes:  [K, *shape] mode centres for mixtures, else None; mode_std: their std, else None.
    """

    family: ClassVar[str]
    name: str
    shape: tuple[int, ...]
    modes: Tensor | None = None
    mode_std: float | None = None
    max_heldout: int | None = None  # the most held-out samples heldout() can give (None: unlimited)

    def to(self, device: torch.device) -> "Dataset":
        """Move whatever the data set keeps in memory to `device` (training batches are drawn there)."""
        return self

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        """n training samples, on rng's device, drawn from rng alone (so a seed fixes the data order)."""
        raise NotImplementedError

    def heldout(self, n: int, seed: int) -> Tensor:
        """n evaluation samples that no training batch uses, identical for every run given `seed` (CPU)."""
        raise NotImplementedError

    def describe(self) -> dict:
        """What run.json records about the data."""
        return {"name": self.name, "family": self.family, "shape": list(self.shape)}
