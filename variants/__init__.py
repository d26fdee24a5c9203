"""GAN variants, one module each. Importing this package registers the built-in six."""

from variants import ebgan, gan, lsgan, sngan, wgan, wgan_gp  # noqa: F401  (registration)
from variants.base import Hyper, LossOut, Variant, scores_samples_independently
from variants.registry import VARIANTS, register

__all__ = ["VARIANTS", "Hyper", "LossOut", "Variant", "register", "scores_samples_independently"]
