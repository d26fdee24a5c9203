"""GAN variants, one module each. Importing this package imports every module in it, and each
variant module registers its variants (variants.registry.register): a new variant is one new file
here, listed nowhere else. Other packages add theirs through the `bench.variants` entry-point group."""

import importlib
import pkgutil

from variants.base import Hyper, LossOut, Variant
from variants.registry import VARIANTS, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["VARIANTS", "Hyper", "LossOut", "Variant", "register"]
