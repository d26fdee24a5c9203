"""Architectures: generator/critic builders, independent of the variant.

An architecture declares its knobs (a frozen dataclass, settable with `--set`), the data families it
supports, and `build(params, data_shape, critic_kind, critic_norm) -> (G, D)`.
"""

from bench.arch.base import Arch, ArchParams
from bench.arch.registry import ARCHS
from bench.arch import mlp, dcgan, resnet  # noqa: F401,I001  (registration, in `bench list` order)

__all__ = ["ARCHS", "Arch", "ArchParams"]
