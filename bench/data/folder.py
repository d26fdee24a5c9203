"""Any folder of images: `--dataset folder:PATH`.

Every file under PATH (recursively) whose extension torchvision's ImageFolder accepts is decoded
once with PIL, its shorter side resized to 32 (bilinear, antialiased) and centre-cropped to
32 x 32 — the recipe of the DCGAN / WGAN reference code (Resize + CenterCrop) — and kept as one
uint8 tensor. Grayscale when every image is grayscale, else RGB. Sub-folder names, if any, become
class labels. A fixed 10% of the files (at most 10,000; chosen by a seeded permutation of the
sorted paths, the same for every run) is held out as the test split.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.data.images import SIZE, ImageTensors
from bench.data.registry import DATASETS
from bench.errors import BenchError

SPLIT_SEED = 0  # fixes which files are held out; never change it (it would change the test split)
HELDOUT_FRACTION, HELDOUT_MAX = 0.1, 10_000


def image_files(root: Path) -> list[Path]:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return sorted(p for p in root.rglob("*") if p.is_file() and p.name.lower().endswith(IMG_EXTENSIONS))


def decode(paths: list[Path]) -> torch.Tensor:
    """uint8 [N, C, 32, 32]: shorter side resized to 32, centre crop; C = 1 if all are grayscale."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2 import functional as TF

    images, modes = [], set()
    for path in paths:
        try:
            with Image.open(path) as im:
                im.load()
                modes.add("L" if im.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB")
                images.append(im.copy())
        except (OSError, UnidentifiedImageError) as exc:
            raise BenchError(f"folder: cannot decode {path} ({type(exc).__name__}: {exc}); remove or replace it") from None
    mode = "L" if modes == {"L"} else "RGB"
    out = torch.empty(len(images), 1 if mode == "L" else 3, SIZE, SIZE, dtype=torch.uint8)
    for i, im in enumerate(images):
        t = TF.pil_to_tensor(im.convert(mode))
        t = TF.center_crop(TF.resize(t, SIZE, antialias=True), [SIZE, SIZE])
        out[i] = t
    return out


def folder(path: str | None = None, **_) -> ImageTensors:
    if not path:
        raise BenchError("dataset folder needs a path: use --dataset folder:PATH (a folder of images)")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise BenchError(f"--dataset folder:{path}: {root} is not a directory; give a folder of images")
    paths = image_files(root)
    if len(paths) < 2:
        raise BenchError(f"--dataset folder:{path}: found {len(paths)} image files (png, jpg, ...) under {root}; "
                         f"need at least 2 (one to train on, one to hold out)")
    n_test = min(HELDOUT_MAX, max(1, round(HELDOUT_FRACTION * len(paths))))
    order = torch.randperm(len(paths), generator=torch.Generator().manual_seed(SPLIT_SEED))
    images = decode(paths)
    classes = sorted({p.parent.relative_to(root).as_posix() for p in paths})
    labels = torch.tensor([classes.index(p.parent.relative_to(root).as_posix()) for p in paths])
    test_idx, train_idx = order[:n_test], order[n_test:]
    source = {
        "root": str(root.resolve()),
        "files": len(paths),
        "classes": len(classes),
        "preprocessing": "shorter side resized to 32 (antialiased bilinear), centre crop 32x32; uint8 / 127.5 - 1",
        "split": f"seeded permutation (seed {SPLIT_SEED}) of the sorted paths; first {n_test} held out",
    }
    return ImageTensors(f"folder:{root.resolve()}", images[train_idx], images[test_idx], source,
                        labels[train_idx], labels[test_idx])


DATASETS.add("folder", folder, "Any image folder, as --dataset folder:PATH (resized + centre-cropped to 32x32)")
