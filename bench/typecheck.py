"""Type checks for values read from YAML (sweep files, SLURM profiles) against dataclass or function
annotations, so a wrong type is one clear error before anything is submitted."""

from __future__ import annotations

import typing


def fits(value, hint) -> bool:
    """Whether a YAML value fits an annotation (int, float, str, bool, dict, tuple[str, ...], X | None)."""
    if typing.get_origin(hint) is tuple:  # tuple[str, ...]: a YAML list of strings
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if typing.get_args(hint):  # X | None
        return any(fits(value, t) for t in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint in (int, float) and isinstance(value, bool):  # YAML's true is no number
        return False
    if hint is float:
        return isinstance(value, (int, float))
    return isinstance(value, typing.get_origin(hint) or hint)


def describe(hint) -> str:
    """An annotation in words, for error messages."""
    if typing.get_origin(hint) is tuple:
        return "a list of text lines"
    args = typing.get_args(hint) or (hint,)
    words = {str: "text", int: "an integer", float: "a number", bool: "true or false", dict: "a mapping"}
    named = [words.get(a, getattr(a, "__name__", str(a))) for a in args if a is not type(None)]
    return " or ".join(named) + (" (or null)" if type(None) in args else "")
