"""Fixtures for the image tests: tiny data sets in their real formats (see tests/images/files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.images.files import write_cifar, write_mnist_like


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


@pytest.fixture


def cifar_root(tmp_path, monkeypatch) -> Path:
    """A tiny CIFAR-10 (5 x 4 training, 6 test images); torchvision's expected MD5s set to the fixture's."""
    from torchvision.datasets import CIFAR10

    _, md5 = write_cifar(tmp_path, per_batch=4, n_test=6)
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {**CIFAR10.meta, "md5": md5["batches.meta"]})
    return tmp_path
