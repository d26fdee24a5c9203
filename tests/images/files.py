"""Tiny image data sets in the real on-disk formats, written by the tests themselves:
IDX (.gz and plain, for Fashion-MNIST and torchvision's MNIST layout), CIFAR-10's pickled
batches (torchvision's layout), and a folder of PNGs."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np

from bench.data.idx import write_idx


def digits(n: int, seed: int) -> np.ndarray:
    """n 28 x 28 uint8 images: a bright square on a black field, at varying positions."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        r, c = rng.integers(4, 16, size=2)
        out[i, r : r + 8, c : c + 8] = rng.integers(128, 256)
    return out


def write_mnist_like(folder: Path, n_train: int, n_test: int, gz: bool) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": digits(n_train, 1),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": digits(n_test, 2),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


def write_cifar(root: Path, per_batch: int, n_test: int) -> tuple[Path, dict[str, str]]:
    """CIFAR-10's python pickles under root/cifar-10-batches-py; returns (folder, {file: md5})."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    md5 = {}

    def dump(name, obj):
        path = folder / name
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=2)
        md5[name] = hashlib.md5(path.read_bytes()).hexdigest()

    for i in range(1, 6):
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        dump(f"data_batch_{i}", {"batch_label": f"training batch {i} of 5", "data": data,
                                 "labels": list(rng.integers(0, 10, per_batch)), "filenames": []})
    test = rng.integers(0, 256, size=(n_test, 3072), dtype=np.uint8)
    test[0, :1024] = 255  # red channel of the first test image all bright: a layout check
    test[0, 1024:] = 0
    dump("test_batch", {"batch_label": "testing batch 1 of 1", "data": test,
                        "labels": list(rng.integers(0, 10, n_test)), "filenames": []})
    dump("batches.meta", {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                          "horse", "ship", "truck"], "num_cases_per_batch": per_batch, "num_vis": 3072})
    return folder, md5


def write_pngs(folder: Path, n: int, mode: str, size: tuple[int, int], seed: int = 0) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        path = folder / f"img_{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode=mode).save(path)
        paths.append(path)
    return paths
