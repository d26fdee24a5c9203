"""FID, IS, KID and precision/recall through torch-fidelity, in one feature-extractor pass.

`fidelity_metrics` takes generated and real images as [-1, 1] tensors and returns our row keys. Only
the options listed here reach torch-fidelity (a misspelled option cannot be silently ignored), and the
real set's features are cached by torch-fidelity under a name built from (data set, split, extractor
and its weights hash, sample count), so the reference statistics are computed once per protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch_fidelity
from torch.utils.data import Dataset

from bench.metrics.classifier import to_uint8

KEYS = ("fid", "is_mean", "is_std", "kid_mean", "kid_std", "precision", "recall")
INCEPTION = "inception-v3-compat"  # torch-fidelity's InceptionV3 (the TF-FID port)


class UInt8Images(Dataset):
    """A tensor of [-1, 1] images as torch-fidelity input: uint8, 3 channels for Inception."""

    def __init__(self, images: torch.Tensor, channels: int | None = None):
        self.images = to_uint8(images.cpu())
        if channels == 3 and self.images.shape[1] == 1:
            self.images = self.images.expand(-1, 3, -1, -1).contiguous()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


@dataclass(frozen=True)
class Extractor:
    """Which network gives the features: torch-fidelity name, weights file and its hash, input channels."""

    name: str  # "inception" or "classifier"
    fidelity_name: str
    weights_path: Path
    weights_hash: str
    channels: int | None  # force this many input channels (Inception takes RGB)

    def describe(self) -> str:
        return f"{self.name}:{self.weights_hash}"


def fidelity_metrics(fake: torch.Tensor, real: torch.Tensor, extractor: Extractor, cache_dir: Path,
                     real_cache_name: str, device: torch.device, kid_subset_size: int = 1000,
                     kid_subsets: int = 100) -> dict:
    """Compute our KEYS for generated vs real images ([N, C, H, W] in [-1, 1])."""
    n = min(len(fake), len(real))
    out = torch_fidelity.calculate_metrics(
        input1=UInt8Images(fake, extractor.channels),
        input2=UInt8Images(real, extractor.channels),
        input2_cache_name=real_cache_name,
        cache_root=str(cache_dir),
        cache=True,
        cuda=device.type == "cuda",
        batch_size=200,
        isc=True,
        fid=True,
        kid=True,
        prc=True,
        feature_extractor=extractor.fidelity_name,
        feature_extractor_weights_path=str(extractor.weights_path),
        kid_subset_size=min(kid_subset_size, n),
        kid_subsets=kid_subsets,
        samples_shuffle=False,
        save_cpu_ram=True,  # = no DataLoader worker processes: our inputs are already tensors in memory
        verbose=False,
    )
    return {
        "fid": float(out["frechet_inception_distance"]),
        "is_mean": float(out["inception_score_mean"]),
        "is_std": float(out["inception_score_std"]),
        "kid_mean": float(out["kernel_inception_distance_mean"]),
        "kid_std": float(out["kernel_inception_distance_std"]),
        "precision": float(out["precision"]),
        "recall": float(out["recall"]),
    }
