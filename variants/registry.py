"""The variant registry: built-in variants register on import; other packages through the
`bench.variants` entry-point group (name = "package.module:VariantClass")."""

from __future__ import annotations

from importlib.metadata import entry_points

from bench.registry import Registry
from variants.base import Variant


def _load_entry_points(registry: Registry) -> None:
    for ep in entry_points(group="bench.variants"):
        if ep.name not in registry._entries:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Variant)):
                raise TypeError(f"entry point {ep.name!r} ({ep.value}) is not a variants.base.Variant subclass")
            registry.add(ep.name, cls, cls.__doc__ or "")


VARIANTS: Registry[type[Variant]] = Registry("variant", loader=_load_entry_points)


def register(cls: type[Variant]) -> type[Variant]:
    """Class decorator: register a Variant subclass under its `name`, described by its docstring."""
    if not issubclass(cls, Variant):
        raise TypeError(f"{cls!r} is not a Variant subclass")
    VARIANTS.add(cls.name, cls, cls.__doc__ or "")
    return cls
