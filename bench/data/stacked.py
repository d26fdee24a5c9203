"""Stacked Fashion-MNIST: three random Fashion-MNIST images as the three channels of one image, so a
sample's mode is its label triple, one of 10^3 = 1,000 — the Fashion-MNIST analogue of Stacked MNIST
(Metz et al. 2017, Unrolled GANs; Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN).

As in PacGAN's Stacked-MNIST experiments (fjxmlzn/PacGAN, VEEGAN_experiment/config.py:
num_training_sample = 128000), the training set is a fixed set of 128,000 triples drawn with a fixed
seed from the 60,000 training images, and the held-out set is 10,000 triples from the 10,000 test
images. Only the triples' indices are stored; a batch is gathered from the single-channel images
on the fly (128,000 stacked images would be 390 MB).

The mode-coverage metrics (bench.metrics.modes) classify each channel with the Fashion-MNIST
classifier, which is why the data set keeps the single-channel source as `channel_source`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.data.base import Dataset
from bench.data.fashion_mnist import fashion_mnist
from bench.data.images import ImageTensors, to_unit_range
from bench.data.registry import DATASETS
from bench.errors import BenchError

CHANNELS = 3
TRAIN_TRIPLES = 128_000  # PacGAN's num_training_sample
TEST_TRIPLES = 10_000
TRIPLE_SEED = 20171212  # arXiv date of PacGAN (1712.04086): fixes which images are stacked together


def draw_triples(n_images: int, n: int, seed: int) -> Tensor:
    """[n, 3] indices of images, each channel drawn uniformly and independently (a fixed seed)."""
    return torch.randint(n_images, (n, CHANNELS), generator=torch.Generator().manual_seed(seed))


class StackedImages(Dataset):
    """Images of a labelled single-channel data set stacked three at a time as RGB channels."""

    family = "image"

    def __init__(self, name: str, source: ImageTensors, n_train: int = TRAIN_TRIPLES, n_test: int = TEST_TRIPLES):
        if source.shape[0] != 1 or source.train_labels is None:
            raise ValueError(f"{name}: stacking needs a labelled single-channel source, got {source.name}")
        self.name = name
        self.channel_source = source  # its classifier labels each channel (bench.metrics.modes)
        self.num_classes = int(source.train_labels.max()) + 1
        self.shape = (CHANNELS, *source.shape[1:])
        self.base_train = source.train  # [N, 1, 32, 32] uint8
        self.base_test = source.test
        self.train_triples = draw_triples(len(source.train), n_train, TRIPLE_SEED)
        self.test_triples = draw_triples(len(source.test), n_test, TRIPLE_SEED + 1)
        self.test = self._stack(self.base_test, self.test_triples)  # [n_test, 3, 32, 32] uint8
        self.max_heldout = n_test
        self.location = "cpu"

    @staticmethod
    def _stack(images: Tensor, triples: Tensor) -> Tensor:
        """images [N, 1, H, W], triples [n, 3] -> [n, 3, H, W]."""
        return images[triples.to(images.device).flatten()].view(len(triples), CHANNELS, *images.shape[2:])

    def mode_labels(self, split: str = "train") -> Tensor:
        """[n] mode ids (l0 * 100 + l1 * 10 + l2) of a split's triples, from the source's labels."""
        triples, labels = ((self.train_triples, self.channel_source.train_labels) if split == "train" else
                           (self.test_triples, self.channel_source.test_labels))
        per_channel = labels[triples.cpu()]  # [n, 3]
        weights = self.num_classes ** torch.arange(CHANNELS - 1, -1, -1)
        return (per_channel * weights).sum(1)

    def to(self, device: torch.device) -> "StackedImages":
        device = torch.device(device)
        self.base_train = self.base_train.to(device)
        self.train_triples = self.train_triples.to(device)
        self.location = str(device)
        return self

    def sample(self, n: int, rng: torch.Generator) -> Tensor:
        idx = torch.randint(len(self.train_triples), (n,), device=rng.device, generator=rng)
        return to_unit_range(self._stack(self.base_train, self.train_triples[idx.to(self.train_triples.device)])
                             .to(rng.device))

    def heldout(self, n: int, seed: int) -> Tensor:
        """The first n stacked test images of a seeded permutation (never trained on)."""
        if n > len(self.test):
            raise BenchError(f"{self.name}: n_eval={n} exceeds its {len(self.test)} held-out images; lower n_eval")
        order = torch.randperm(len(self.test), generator=torch.Generator().manual_seed(seed))[:n]
        return to_unit_range(self.test[order])

    def describe(self) -> dict:
        source = self.channel_source
        return {
            **super().describe(),
            "train_size": len(self.train_triples),
            "test_size": len(self.test),
            "modes": self.num_classes ** CHANNELS,
            "range": [-1.0, 1.0],
            "stacking": f"{CHANNELS} images of {source.name} as channels, triples drawn uniformly with seed "
                        f"{TRIPLE_SEED} (train, from its {len(source.train)} training images) and "
                        f"{TRIPLE_SEED + 1} (test, from its {len(source.test)} test images)",
            "train_tensor_on": self.location,
            "batches": "uniform with replacement from the fixed training triples, gathered on the device",
            **{k: v for k, v in source.source.items()},
        }


def stacked_fashion_mnist(data_root=None, download: bool = False, **_) -> StackedImages:
    return StackedImages("stacked-fashion-mnist", fashion_mnist(data_root=data_root, download=download))


DATASETS.add("stacked-fashion-mnist", stacked_fashion_mnist,
             "Three Fashion-MNIST images as RGB channels, 1,000 modes (label triples); Stacked-MNIST analogue")
