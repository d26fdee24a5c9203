"""The data-set registry: name -> factory(**options) -> Dataset."""

from __future__ import annotations

from typing import Callable

from bench.data.base import Dataset
from bench.registry import Registry

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


def build_dataset(name: str, **options) -> Dataset:
    """Build a registered data set; `options` (e.g. data_root) are passed to factories that take them."""
    return DATASETS.get(name)(**options)
