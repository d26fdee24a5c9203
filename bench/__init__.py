"""GAN Bench: one protocol for GAN variants, to ask whether the critic's Wasserstein estimate tracks sample quality."""

__version__ = "0.1.0"
