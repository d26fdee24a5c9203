"""Options declared once, on the dataclass fields they fill.

A run's options (`--steps`, `--pack`, `--ckpt-every`, `--extractor`...) are fields of the config
dataclasses (bench.config.RunOptions and the groups it holds: the schedule's overrides, speed, the
checkpoint policy, the evaluation options). Each such field carries `option(help=...)` in its
metadata, and from there come the click options of `bench run`, `bench sweep` and `bench eval`
(bench.cli.options), the sweep-file keys and their type checks (bench.sweep.grid), and the keyword
form `RunOptions.of(steps=..., pack=...)`. A new option is one field.

This module knows no click and no bench tier: the lowest tiers (bench.store.checkpoint's policy)
declare their options with it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

META = "bench.option"
COMMANDS = ("run", "sweep")  # the commands a run option appears in unless it says otherwise


@dataclass(frozen=True)
class OptionMeta:
    """What a field's metadata says about its option (see `option`)."""

    help: str
    key: str | None = None  # the sweep-file key and keyword, when not the field's name
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    path: bool = False  # a file or folder: click gives a Path, the config keeps the text
    parse: typing.Callable[[str], object] | None = None  # text from the command line -> value
    preset: str | None = None  # the default comes from the schedule preset: these words say what it is
    commands: tuple[str, ...] = COMMANDS


def option(help: str, **how) -> dict:
    """Field metadata that makes a dataclass field a command-line option and a sweep-file key."""
    return {META: OptionMeta(help=help, **how)}


@dataclass(frozen=True)
class Option:
    """One option, as the commands and the sweep files see it."""

    key: str  # sweep-file key, keyword and click parameter name: steps, ckpt_every, ...
    path: tuple[str, ...]  # where it lives: ("speed", "pack") is RunOptions().speed.pack
    hint: object  # the field's type annotation (sweep values are checked against it)
    default: object  # the field's default (None with `preset`: the preset decides)
    meta: OptionMeta

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")

    @property
    def is_flag(self) -> bool:
        return self.hint is bool

    def shown_default(self) -> str:
        """The default as --help shows it."""
        if self.meta.preset:
            return self.meta.preset
        if self.default is None:
            return "none"
        return str(self.default).lower() if isinstance(self.default, bool) else str(self.default)


def options_of(cls, path: tuple[str, ...] = ()) -> list[Option]:
    """Every option of a dataclass, nested dataclass fields included, in field order."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            out += options_of(type(default), path + (f.name,))
        elif META in f.metadata:
            meta = f.metadata[META]
            out.append(Option(meta.key or f.name, path + (f.name,), hints[f.name], default, meta))
    keys = [o.key for o in out]
    duplicated = {k for k in keys if keys.count(k) > 1}
    assert not duplicated, f"option keys declared twice in {cls.__name__}: {duplicated}"
    return out


def build(cls, values: dict, path: tuple[str, ...] = ()):
    """An instance of the dataclass from flat option values ({key: value}; absent or None: the default)."""
    by_path = {o.path: o.key for o in options_of(cls, path)}
    kwargs = {}
    for f in dataclasses.fields(cls):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            kwargs[f.name] = build(type(default), values, path + (f.name,))
        elif path + (f.name,) in by_path and values.get(by_path[path + (f.name,)]) is not None:
            kwargs[f.name] = values[by_path[path + (f.name,)]]
    return cls(**kwargs)


def flat(obj) -> dict:
    """{key: value} of every option of a dataclass instance (the inverse of build)."""
    out = {}
    for o in options_of(type(obj)):
        value = obj
        for name in o.path:
            value = getattr(value, name)
        out[o.key] = value
    return out
