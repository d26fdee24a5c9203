"""Image data sets held as one uint8 tensor on the training device.

Every image data set ends up as two uint8 tensors, train [N, C, 32, 32] and test [M, C, 32, 32].
The training tensor is moved to the training device once; a batch is `train[randint(N)]` scaled to
[-1, 1] there, drawn from the run's data stream: no DataLoader, no worker processes, no per-batch
host work, and the stream's state (checkpointed by the runner) fixes the data order on resume.
Batches are drawn uniformly with replacement rather than in epochs: nothing but the generator's
state is needed to continue a run exactly.

If the training tensor would not fit in half of the free device memory, it stays in pinned host
memory and each batch is gathered there and copied over (the only case with per-batch host work).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from bench.data.base import Dataset
from bench.errors import BenchError

SIZE = 32  # every image data set is served at 32 x 32


def to_unit_range(x: Tensor) -> Tensor:
    """uint8 pixels 0..255 -> float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    return x.float().mul_(2.0 / 255.0).sub_(1.0)


def pad_to_32(images: Tensor) -> Tensor:
    """[N, C, 28, 28] uint8 -> [N, C, 32, 32]: 2 pixels of background (value 0) on each side.

    MNIST-style digits and garments are centred on a black field; padding keeps every pixel as it
    was (no interpolation), which is also what the WGAN-GP and SN-GAN MNIST code did at 32 x 32.
    """
    if images.shape[-2:] != (28, 28):
        raise ValueError(f"pad_to_32 expects 28 x 28 images, got {tuple(images.shape[-2:])}")
    return F.pad(images, (2, 2, 2, 2), value=0)


class ImageTensors(Dataset):
    """A train/test pair of uint8 image tensors [N, C, 32, 32], served in [-1, 1]."""

    family = "image"

    def __init__(self, name: str, train: Tensor, test: Tensor, source: dict,
                 train_labels: Tensor | None = None, test_labels: Tensor | None = None):
        for split, t in (("train", train), ("test", test)):
            if t.dtype != torch.uint8 or t.dim() != 4 or tuple(t.shape[-2:]) != (SIZE, SIZE):
                raise ValueError(f"{name} {split}: expected uint8 [N, C, 32, 32], got {t.dtype} {tuple(t.shape)}")
            if len(t) == 0:
                raise BenchError(f"{name}: its {split} split holds no images; check the files in {source.get('root')}")
        if train.shape[1] != test.shape[1]:
            raise ValueError(f"{name}: train has {train.shape[1]} channels, test {test.shape[1]}")
        self.name = name
        self.shape = tuple(train.shape[1:])
        self.train = train.contiguous()
        self.test = test.contiguous()
        self.source = source  # where the files came from (recorded in run.json)
        # Class labels where the data set has them (kept on the host; a classifier for the quality
        # metrics can use them), else None.
        self.train_labels, self.test_labels = train_labels, test_labels
        self.location = "cpu"

    @property
    def max_heldout(self) -> int:
        return len(self.test)

    def to(self, device: torch.device) -> "ImageTensors":
        device = torch.device(device)
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if self.train.nbytes > free // 2:
                self.train = self.train.pin_memory()
                self.location = "host (pinned; too large for the device)"
                return self
        self.train = self.train.to(device)
        self.location = str(device)
        return self

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        idx = torch.randint(len(self.train), (n,), device=rng.device, generator=rng)
        if self.train.device != idx.device:  # host-resident fallback (see the module docstring)
            return to_unit_range(self.train[idx.cpu()].to(rng.device, non_blocking=True))
        return to_unit_range(self.train[idx])

    def heldout(self, n: int, seed: int) -> Tensor:
        """The first n images of a seeded permutation of the test split (never trained on)."""
        if n > len(self.test):
            raise BenchError(f"{self.name}: n_eval={n} exceeds its {len(self.test)} test images; lower n_eval")
        order = torch.randperm(len(self.test), generator=torch.Generator().manual_seed(seed))[:n]
        return to_unit_range(self.test[order])

    def describe(self) -> dict:
        return {
            **super().describe(),
            "train_size": len(self.train),
            "test_size": len(self.test),
            "range": [-1.0, 1.0],
            "train_tensor_on": self.location,
            "batches": "uniform with replacement from the training tensor, on the device, from the run's data stream",
            **self.source,
        }
