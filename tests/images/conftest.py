"""Tiny image data sets in the real on-disk formats, written by the tests themselves:
IDX (.gz and plain, for Fashion-MNIST and torchvision's MNIST layout), CIFAR-10's pickled
batches (torchvision's layout), and a folder of PNGs."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.data.idx import write_idx

REPO = Path(__file__).resolve().parents[2]
FASHION_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


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


@pytest.fixture
def fashion_root(tmp_path) -> Path:
    """A --data-root holding a 40/12-image Fashion-MNIST in its own IDX .gz format."""
    write_mnist_like(tmp_path / "fmnist", 40, 12, gz=True)
    return tmp_path / "fmnist"


@pytest.fixture
def no_system_data(monkeypatch, tmp_path):
    """Hide the system copy of Fashion-MNIST and $BENCH_DATA (as on a machine without them)."""
    import bench.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "no-system-copy")
    monkeypatch.delenv("BENCH_DATA", raising=False)


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


@pytest.fixture
def cifar_root(tmp_path, monkeypatch) -> Path:
    """A tiny CIFAR-10 (5 x 4 training, 6 test images); torchvision's expected MD5s set to the fixture's."""
    from torchvision.datasets import CIFAR10

    _, md5 = write_cifar(tmp_path, per_batch=4, n_test=6)
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5["batches.meta"]})
    return tmp_path


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


def run_bench(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m bench ...` from this checkout, in a subprocess, one thread."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)
