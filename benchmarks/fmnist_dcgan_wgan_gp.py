"""Fashion-MNIST DCGAN WGAN-GP: DCGAN G and D at 32 x 32, batch 64, 5 critic steps per generator step, Adam.

    python -m benchmarks.fmnist_dcgan_wgan_gp --device cuda|cpu

Times our runner's training step (each --compile mode, and packs of K seeds) next to the plain loop
of benchmarks/plain_wgan_gp.py fed by a DataLoader (benchmarks/images.py), on the same model, batch
and hyperparameters, in this one process. Needs the `fashion-mnist` data set and the `dcgan` arch.
"""

from __future__ import annotations

from benchmarks.harness import main
from benchmarks.images import run_workload


def run(args) -> None:
    run_workload(args, "dcgan", "Fashion-MNIST DCGAN WGAN-GP")


if __name__ == "__main__":
    main(run, "Fashion-MNIST DCGAN WGAN-GP: generator steps/s, our runner vs a plain PyTorch loop", batch_size=64)
