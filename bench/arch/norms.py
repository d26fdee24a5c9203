"""Normalization layers by the names architectures and variants use for them.

"batch": BatchNorm2d (Ioffe & Szegedy 2015), as in DCGAN.
"layer": layer normalization of each sample over (C, H, W) with a per-channel scale and shift, the
         critic normalization of WGAN-GP (Gulrajani et al. 2017, Sec. 4; their tflib Layernorm over
         axes [1, 2, 3]); in PyTorch that is GroupNorm with one group.
"none":  no normalization (SN-GAN's critic, Miyato et al. 2018, App. B).
A convolution followed by a normalization has no bias (the normalization's shift replaces it).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

NORM2D = {
    "batch": nn.BatchNorm2d,
    "layer": lambda channels: nn.GroupNorm(1, channels),
    "none": lambda channels: nn.Identity(),
}


def norm2d(kind: str | None, channels: int) -> nn.Module:
    kind = kind or "none"
    if kind not in NORM2D:
        raise ValueError(f"unknown normalization {kind!r}; known: {', '.join(NORM2D)}")
    return NORM2D[kind](channels)


def has_bias(kind: str | None) -> bool:
    """Whether a layer followed by this normalization needs its own bias."""
    return (kind or "none") == "none"


@contextmanager
def evaluation_mode(*modules: nn.Module):
    """Evaluate networks as the training step uses them, without changing them.

    Everything is put in eval mode except batch normalization, which keeps normalizing with the
    statistics of the batch it is given (as in every training step); its running statistics are
    restored afterwards, so an evaluation leaves no trace and a resumed run matches an uninterrupted
    one. Why not running statistics: early in training they lag far behind the weights, and a BN
    generator evaluated with them draws samples from a distribution that no critic or loss ever saw
    (often saturated); the WGAN and DCGAN reference scripts also draw their samples in training mode.
    """
    saved = []
    for module in modules:
        bns = [m for m in module.modules() if isinstance(m, _BatchNorm)]
        saved.append((module, module.training, [(m, {k: v.clone() for k, v in m.named_buffers()}) for m in bns]))
        module.eval()
        for m in bns:
            m.train()
    try:
        yield
    finally:
        with torch.no_grad():
            for module, was_training, bns in saved:
                for m, buffers in bns:
                    for k, v in m.named_buffers():
                        v.copy_(buffers[k])
                module.train(was_training)
