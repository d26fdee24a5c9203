"""The data set's own classifier, used as torch-fidelity's feature extractor when Inception weights are
not at hand (they cannot be downloaded here): penultimate features for FID / KID / precision-recall,
logits for IS, and per-channel labels for the stacked-data mode count (a single-channel classifier
given stacked images looks at each channel on its own, see features_and_logits).

It is trained once per data set on the training split, cached with its test accuracy, and registered
with torch-fidelity under the name `bench-classifier`; the cached file is the "weights path" that
torch-fidelity passes to the extractor, so the same file always gives the same features.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

EXTRACTOR_NAME = "bench-classifier"
FEATURES = ("penultimate", "logits_unbiased")


class SmallCNN(nn.Module):
    """Three conv blocks (width, 2 width, 4 width channels) and a feature_dim-unit penultimate layer
    for 32x32 images in [-1, 1]. The width is a knob because training cost on a CPU scales with its
    square: the shipped Fashion-MNIST classifier uses width 24 (12 epochs, test accuracy 0.9196; 52 minutes
    on one shared CPU core), 413 kB."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, feature_dim: int = 128, width: int = 32):
        super().__init__()
        self.in_channels, self.num_classes, self.feature_dim, self.width = in_channels, num_classes, feature_dim, width
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),  # 16x16
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),  # 8x8
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(), nn.AdaptiveAvgPool2d(2),  # 2x2
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * w, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x):
        """x: [N, C, 32, 32] in [-1, 1] -> (features [N, feature_dim], logits [N, num_classes])."""
        f = self.body(x)
        return f, self.head(f)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> [0, 255] uint8, the input type torch-fidelity extractors take."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 127.5 - 1


@torch.no_grad()
def accuracy(model: SmallCNN, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    hits = sum(int((model(x[i:i + batch])[1].argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    return hits / len(x)


def train_classifier(train_x, train_y, test_x, test_y, epochs: int = 3, batch: int = 128, seed: int = 0,
                     progress: bool = True, width: int = 32) -> tuple[SmallCNN, float]:
    """Train on [N, C, 32, 32] images in [-1, 1] (float or uint8) and return (model, test accuracy)."""
    from tqdm.auto import tqdm

    if train_x.dtype == torch.uint8:
        train_x, test_x = from_uint8(train_x), from_uint8(test_x)
    batch = min(batch, len(train_x))  # a tiny data set still gets one batch per epoch
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SmallCNN(train_x.shape[1], int(max(train_y.max(), test_y.max())) + 1, width=width)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = epochs * (len(train_x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    bar = tqdm(total=steps, desc="training the feature classifier", disable=not progress, unit="batch")
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(train_x), generator=gen)
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            x = train_x[idx]
            # augmentation: shift the batch by up to 2 pixels (label-preserving for every data set)
            shift = torch.randint(-2, 3, (2,), generator=gen).tolist()
            x = torch.roll(x, shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(model(x)[1], train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
    bar.close()
    return model, accuracy(model, test_x, test_y)


def save_classifier(model: SmallCNN, acc: float, path: Path, about: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "state_dict": model.state_dict(),
        "in_channels": model.in_channels,
        "num_classes": model.num_classes,
        "feature_dim": model.feature_dim,
        "width": model.width,
        "test_accuracy": acc,
        **about,
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_classifier(path: Path, device="cpu") -> tuple[SmallCNN, dict]:
    state = torch.load(path, map_location=device, weights_only=True)
    model = SmallCNN(state["in_channels"], state["num_classes"], state["feature_dim"], state.get("width", 32))
    model.load_state_dict(state["state_dict"])
    return model.to(device).eval(), {k: v for k, v in state.items() if k != "state_dict"}


def features_and_logits(model: SmallCNN, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x: [N, C, 32, 32] in [-1, 1] -> (features, logits), also for stacked images.

    A classifier of single-channel images given C channels (stacked data, bench.data.stacked) looks
    at each channel on its own: the features are the channels' features side by side, [N, C * F],
    and the logits are those of the joint label, [N, K^C] with logit(l_1..l_C) = sum_c logit_c(l_c),
    whose softmax is the product of the channels' class probabilities (so IS scores label tuples).
    """
    if x.shape[1] == model.in_channels:
        return model(x)
    if model.in_channels != 1:
        raise ValueError(f"a {model.in_channels}-channel classifier cannot label {x.shape[1]}-channel images")
    parts = [model(x[:, c:c + 1]) for c in range(x.shape[1])]
    joint = parts[0][1]
    for _, logits in parts[1:]:  # outer sum, first channel's label most significant
        joint = (joint[:, :, None] + logits[:, None, :]).flatten(1)
    return torch.cat([f for f, _ in parts], 1), joint


@torch.no_grad()
def channel_labels(model: SmallCNN, x: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """[N, C, 32, 32] in [-1, 1] -> [N, C] predicted class of each channel (single-channel model)."""
    flat = x.reshape(-1, 1, *x.shape[2:])
    labels = torch.cat([model(flat[i:i + batch])[1].argmax(1) for i in range(0, len(flat), batch)])
    return labels.view(len(x), x.shape[1])


@functools.lru_cache(maxsize=4)
def cached_classifier(path: str, hash_: str) -> SmallCNN:
    """load_classifier once per process and weights file (the hash keys a file that was replaced)."""
    return load_classifier(Path(path))[0]


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class ClassifierExtractor(FeatureExtractorBase):
    """torch-fidelity feature extractor over a cached SmallCNN (weights from `feature_extractor_weights_path`)."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError("the bench classifier extractor needs feature_extractor_weights_path")
        self.model, _ = load_classifier(Path(feature_extractor_weights_path))

    @staticmethod
    def get_provided_features_list():
        return FEATURES

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits_unbiased", "fid": "penultimate", "kid": "penultimate", "prc": "penultimate"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return None

    def forward(self, x):
        features, logits = features_and_logits(self.model, from_uint8(x))
        out = {"penultimate": features.double(), "logits_unbiased": logits.double()}
        return tuple(out[name] for name in self.features_list)


if EXTRACTOR_NAME not in FEATURE_EXTRACTORS_REGISTRY:
    register_feature_extractor(EXTRACTOR_NAME, ClassifierExtractor)
