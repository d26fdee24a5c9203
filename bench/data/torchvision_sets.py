"""MNIST and CIFAR-10 through torchvision's dataset classes, in torchvision's on-disk layout.

mnist:   DIR/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte   (LeCun et al. 1998; 60k/10k,
         28 x 28 grayscale, padded to 32 x 32 like Fashion-MNIST)
cifar10: DIR/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}   (Krizhevsky 2009;
         50k/10k, 32 x 32 RGB, used as is; torchvision checks each file's MD5)
DIR is --data-root, else $BENCH_DATA; `--download` lets torchvision fetch the files there (on a
machine with internet). torchvision decodes the files into one array; we keep it as a uint8 tensor
and never use the classes' per-item __getitem__ (no PIL, no DataLoader).
"""

from __future__ import annotations

import numpy as np
import torch

from bench.data.images import ImageTensors, pad_to_32
from bench.data.locate import ENV, describe_roots, download_root, search_roots
from bench.data.registry import DATASETS
from bench.errors import BenchError


def _open(cls, name: str, layout: str, data_root, download: bool):
    """(train set, test set, which root, root) from the first search root torchvision accepts."""
    if download:
        root = download_root(data_root, name)
        try:
            return cls(str(root), train=True, download=True), cls(str(root), train=False, download=True), \
                "--download", root
        except Exception as exc:  # a failed fetch: RuntimeError / URLError / OSError
            raise BenchError(f"{name}: download into {root} failed ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160]}); copy the files to {root}/{layout} instead") from None
    roots = search_roots(data_root)
    why = ""
    for label, root in roots:
        try:
            train = cls(str(root), train=True, download=False)
        except RuntimeError as exc:
            if "not found" in str(exc):  # torchvision: "Dataset not found [or corrupted]. You can use ..."
                why = f" (torchvision: {str(exc).split('.')[0]})"
                continue
            raise BenchError(f"{name}: cannot read the files under {root}/{layout} ({exc}); "
                             f"replace them, or fetch them again with --download") from None
        except Exception as exc:  # a malformed file fails inside torchvision's reader
            raise BenchError(f"{name}: cannot read the files under {root}/{layout} ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:160] if str(exc) else 'malformed file'}); "
                             f"replace them, or fetch them again with --download") from None
        try:
            test = cls(str(root), train=False, download=False)
        except Exception as exc:
            raise BenchError(f"{name}: found the training files under {root}/{layout} but cannot read the test "
                             f"files ({type(exc).__name__}: {exc}); replace them or fetch them with --download") from None
        return train, test, label, root
    where = describe_roots(roots) if roots else f"nowhere (no --data-root, ${ENV} unset)"
    raise BenchError(f"{name}: no data found in {where}{why}; pass --data-root DIR with DIR/{layout}, "
                     f"or add --download to fetch it there with torchvision")


def mnist(data_root=None, download: bool = False, **_) -> ImageTensors:
    from torchvision.datasets import MNIST

    train, test, label, root = _open(MNIST, "mnist", "MNIST/raw", data_root, download)
    source = {"found_via": label, "root": str(root / "MNIST" / "raw"),
              "preprocessing": "28x28 padded to 32x32 with 2 background pixels per side; uint8 / 127.5 - 1"}
    return ImageTensors("mnist", pad_to_32(train.data.unsqueeze(1)), pad_to_32(test.data.unsqueeze(1)), source,
                        torch.as_tensor(train.targets), torch.as_tensor(test.targets))


def _chw(hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(hwc.transpose(0, 3, 1, 2)))


def cifar10(data_root=None, download: bool = False, **_) -> ImageTensors:
    from torchvision.datasets import CIFAR10

    train, test, label, root = _open(CIFAR10, "cifar10", CIFAR10.base_folder, data_root, download)
    source = {"found_via": label, "root": str(root / CIFAR10.base_folder), "preprocessing": "uint8 / 127.5 - 1"}
    return ImageTensors("cifar10", _chw(train.data), _chw(test.data), source,
                        torch.as_tensor(train.targets), torch.as_tensor(test.targets))


DATASETS.add("mnist", mnist, "MNIST digits via torchvision, 60k/10k, 28x28 padded to 32x32 (--data-root, --download)")
DATASETS.add("cifar10", cifar10, "CIFAR-10 via torchvision, 50k/10k RGB 32x32 (--data-root, --download)")
