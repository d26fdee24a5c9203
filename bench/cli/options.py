"""Click options generated from the config dataclasses' fields (bench.options, bench.config.OPTIONS).

`run_options("run")` adds every run option to a command and hands it `options`, a dict {key: value}
holding the options given on the command line (and, for `bench run`, the fields' defaults), ready for
bench.config.RunOptions.of or, in `bench sweep`, to override a sweep file's keys rather than reset
them. Every option shows its default: the field's, or, for the schedule's knobs, the preset's words.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from bench.config import OPTIONS
from bench.options import Option


def _decl(opt: Option, command: str):
    meta = opt.meta
    kwargs = {"help": meta.help, "default": None, "show_default": opt.shown_default()}
    if command == "run" and not meta.preset and opt.default is not None:
        # bench run: the field's own default (sweep and eval pass None: a flag not given leaves the
        # sweep file's key, or the run's own setting, alone)
        kwargs.update(default=opt.default, show_default=True)
    if opt.is_flag:
        kwargs.update(is_flag=True)
    elif meta.choices:
        kwargs.update(type=click.Choice(meta.choices))
    elif meta.path:
        kwargs.update(type=click.Path(path_type=Path))
    elif meta.parse is not None:  # text, parsed by the field's own parser (not typed from the default)
        kwargs.update(type=str)
    else:
        base = [t for t in (getattr(opt.hint, "__args__", None) or (opt.hint,)) if t is not type(None)][0]
        kwargs.update(type=base)
    if meta.metavar:
        kwargs.update(metavar=meta.metavar)
    return click.option(opt.flag, opt.key, **kwargs)


def for_command(command: str) -> list[Option]:
    return [o for o in OPTIONS if command in o.meta.commands]


def run_options(command: str):
    """Decorator: the options of `command` ("run", "sweep" or "eval"), passed on as `options`."""
    chosen = for_command(command)

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            given = {}
            for opt in chosen:
                value = kwargs.pop(opt.key)
                if value is not None and opt.meta.parse is not None:
                    value = opt.meta.parse(value)
                if opt.meta.path and value is not None:
                    value = str(value)
                if value is not None and not (opt.is_flag and value is False):
                    given[opt.key] = value
            return fn(*args, options=given, **kwargs)

        for opt in reversed(chosen):
            wrapper = _decl(opt, command)(wrapper)
        return wrapper

    return decorate
