"""The data-set registry: name -> factory(**options) -> Dataset.

A data set that needs an argument is named NAME:ARG on the command line (`folder:PATH`); its
factory takes the argument as `path`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Callable

from bench.data.base import Dataset
from bench.errors import BenchError
from bench.registry import Registry

DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")


def _takes_path(factory: Callable) -> bool:
    param = inspect.signature(factory).parameters.get("path")
    return param is not None and param.kind is not inspect.Parameter.VAR_KEYWORD


def canonical_name(name: str) -> str:
    """NAME:PATH with PATH made absolute (a run's identity must not depend on the working directory)."""
    base, sep, arg = name.partition(":")
    if not sep or not arg:
        return name
    return f"{base}:{Path(arg).expanduser().resolve()}"


def build_dataset(name: str, **options) -> Dataset:
    """Build a registered data set; `options` (e.g. data_root, download) are passed to its factory."""
    base, sep, arg = name.partition(":")
    factory = DATASETS.get(base)
    if sep:
        if not _takes_path(factory):
            raise BenchError(f"dataset {base!r} takes no ':PATH' argument; use --dataset {base}")
        options["path"] = arg
    return factory(**options)
