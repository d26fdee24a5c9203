"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test 28 x 28 grayscale
images of garments in 10 classes, read straight from the four IDX files.

Looked for under --data-root, then $BENCH_DATA, then /usr/share/datasets/fashion-mnist, where
Debian's package `dataset-fashion-mnist` installs them; under each root in the root itself,
`fashion-mnist/` or torchvision's layout `FashionMNIST/raw/`, gzip-compressed or not. `--download`
fetches them with torchvision into --data-root (or $BENCH_DATA). Images are padded to 32 x 32 with
2 background pixels per side and scaled to [-1, 1]; the held-out set is drawn from the test split.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.data.idx import read_idx
from bench.data.images import ImageTensors, pad_to_32
from bench.data.locate import describe_roots, download_root, search_roots
from bench.data.registry import DATASETS
from bench.errors import BenchError

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
APT_PACKAGE = "dataset-fashion-mnist"
FILES = {  # role -> file name without .gz
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SUBDIRS = (".", "fashion-mnist", "FashionMNIST/raw")


def _files_in(folder: Path) -> dict[str, Path] | None:
    """The four files in `folder` (each .gz or plain), or None if any is missing."""
    found = {}
    for role, stem in FILES.items():
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                found[role] = candidate
                break
        else:
            return None
    return found


def find_files(data_root=None) -> tuple[str, dict[str, Path]] | None:
    """(which root, {role: path}) for the first root holding all four files, else None."""
    for label, root in search_roots(data_root, SYSTEM_DIR):
        for sub in SUBDIRS:
            files = _files_in(root / sub)
            if files:
                return label, files
    return None


def load_idx_pair(images: Path, labels: Path, fix: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images [N, 1, 32, 32] (padded) and int64 labels [N], checked against each other."""
    x = read_idx(images, fix)
    y = read_idx(labels, fix)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or x.dtype != "uint8":
        raise BenchError(f"{images} holds {x.dtype} of shape {x.shape}, not 28 x 28 uint8 images; {fix}")
    if y.ndim != 1 or len(y) != len(x):
        raise BenchError(f"{labels} holds {y.shape} labels for {len(x)} images in {images.name}; {fix}")
    return pad_to_32(torch.from_numpy(x.copy()).unsqueeze(1)), torch.from_numpy(y.astype("int64"))


def fashion_mnist(data_root=None, download: bool = False, **_) -> ImageTensors:
    if download:
        _download(data_root)
    hit = find_files(data_root)
    if hit is None:
        looked = describe_roots(search_roots(data_root, SYSTEM_DIR))
        raise BenchError(
            f"fashion-mnist: no IDX files ({FILES['train_images']}[.gz] ...) found in {looked}; "
            f"install them with `apt-get install {APT_PACKAGE}`, or pass --data-root DIR --download to fetch them"
        )
    label, files = hit
    fix = f"reinstall the files (`apt-get install --reinstall {APT_PACKAGE}`) or fetch them again with --download"
    train, train_y = load_idx_pair(files["train_images"], files["train_labels"], fix)
    test, test_y = load_idx_pair(files["test_images"], files["test_labels"], fix)
    source = {
        "found_via": label,
        "root": str(files["train_images"].parent),
        "files": [p.name for p in files.values()],
        "preprocessing": "28x28 padded to 32x32 with 2 background pixels per side; uint8 / 127.5 - 1",
    }
    return ImageTensors("fashion-mnist", train, test, source, train_y, test_y)


def _download(data_root) -> None:
    from torchvision.datasets import FashionMNIST

    root = download_root(data_root, "fashion-mnist")
    try:
        for train in (True, False):
            FashionMNIST(str(root), train=train, download=True)
    except Exception as exc:  # torchvision raises RuntimeError / URLError / OSError on a failed fetch
        raise BenchError(
            f"fashion-mnist: download into {root} failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
            f"without internet, install the files with `apt-get install {APT_PACKAGE}`"
        ) from None


DATASETS.add("fashion-mnist", fashion_mnist,
             "Fashion-MNIST, 60k/10k grayscale garments, 28x28 padded to 32x32 (apt: dataset-fashion-mnist)")
