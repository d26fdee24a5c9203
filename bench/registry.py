"""Validated name -> object registries for variants, architectures, data sets and metrics.

Names are checked when registered (no whitespace or separators, no duplicates), so a typo fails
at import time, and lookups of unknown names fail with the list of valid ones.
"""

from __future__ import annotations

import re
from typing import Callable, Generic, Iterator, TypeVar

from bench.errors import BenchError

T = TypeVar("T")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Registry(Generic[T]):
    """A dictionary of named entries with a one-line description each."""

    def __init__(self, kind: str, loader: Callable[["Registry[T]"], None] | None = None):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._about: dict[str, str] = {}
        self._loader = loader  # called once, on first lookup (e.g. to load entry points)
        self._loaded = loader is None

    def add(self, name: str, obj: T, about: str) -> T:
        if not _NAME.match(name):
            raise ValueError(f"invalid {self.kind} name {name!r}: use lowercase letters, digits, '-' or '_'")
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj
        self._about[name] = about.strip().splitlines()[0] if about.strip() else ""
        return obj

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._loader(self)  # type: ignore[misc]

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            raise BenchError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._entries[name]

    def about(self, name: str) -> str:
        self._load()
        return self._about[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
