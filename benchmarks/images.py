"""The Fashion-MNIST workloads' shared part: the plain loop's data pipeline and the run itself.

The plain loop reads its batches the way a plain script does: a torch DataLoader over the training
images in host memory (shuffled, batch 64, no worker processes), each batch converted to [-1, 1] and
copied to the device. (The popular reference scripts also decode each image from PIL in the loader,
which is slower still; the images here are already decoded tensors.) Our runner keeps the uint8
training tensor on the device and draws every batch there (bench/data/images.py).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from benchmarks.harness import arch_sets, measure, ours, report, require
from benchmarks.plain_wgan_gp import plain_contestants
from bench.errors import BenchError

DATASET = "fashion-mnist"


def dataloader_batches(train_uint8: torch.Tensor, batch_size: int, device: torch.device):
    """sample(n) -> the next batch of an endless shuffled DataLoader, in [-1, 1], on the device."""
    loader = DataLoader(TensorDataset(train_uint8), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = iter(loader)

    def sample(n: int) -> torch.Tensor:
        nonlocal batches
        try:
            (x,) = next(batches)
        except StopIteration:  # a new epoch
            batches = iter(loader)
            (x,) = next(batches)
        return x.to(device).float().div_(127.5).sub_(1.0)

    return sample


def run_workload(args, arch: str, title: str) -> None:
    require(DATASET, arch)
    contestants, reference = ours("wgan-gp", arch, DATASET, args, args.modes, args.packs, arch_sets(args))
    train = getattr(reference.dataset, "train", None)
    if not isinstance(train, torch.Tensor):
        raise BenchError(f"{DATASET} keeps no training tensor to feed the plain loop's DataLoader")
    plain = plain_contestants(reference, dataloader_batches(train.cpu(), args.batch_size, reference.device),
                              args.batch_size)
    everyone = plain + contestants
    report(f"{title}, batch {args.batch_size}, {reference.variant.hp.n_critic} critic steps, Adam",
           everyone, measure(everyone, args), args, baseline=plain[0].name)
