"""A sweep: a grid of variants x archs x data sets x seeds (x overrides), from flags or a YAML file,
expanded into RunConfigs with stable run ids.

A sweep file holds the same things as `bench run`'s flags, as YAML (read with yaml.safe_load):

    name: wgan-paper-archs          # the folder under the results root (default: the file's name)
    variants: [wgan, wgan-gp]       # or "wgan,wgan-gp"
    archs: [mlp, dcgan]
    datasets: [fashion-mnist]
    seeds: 0-2                      # or [0, 1, 2]
    schedule: standard              # quick | standard
    set: {width: 256}               # --set overrides for every run
    overrides: [{}, {lr_d: 1e-4}]   # one more grid axis: each entry is a further set of overrides
    steps: 5000                     # ... and every option of `bench run` (bench.config.OPTIONS), as key

An `overrides` entry with a `variants` key applies to those variants only (the others are not run
with it), e.g. a reference-code setting beside the paper's for one variant:

    overrides:
      - {}                                                   # every variant, its defaults
      - {variants: [wgan-gp], gp_weight: 0.1, beta1: 0.5}    # and wgan-gp once more, as gan_toy.py

Unknown keys are an error. The option keys are bench.config.OPTIONS, made from the fields of the
config dataclasses (bench.options), so an option added there is a sweep key and a `bench sweep` flag
with no change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.config import OPTIONS, RunConfig, RunOptions, check_sets, parse_list, parse_seeds, plan_runs, setting_keys
from bench.errors import BenchError
from bench.typecheck import describe, fits

PLAN_OPTIONS = {o.key: o for o in OPTIONS if "sweep" in o.meta.commands}
SPEC_KEYS = ["name", "variants", "archs", "datasets", "seeds", "schedule", "set", "overrides", *PLAN_OPTIONS]


@dataclass(frozen=True)
class Override:
    """One entry of the overrides axis: --set values, for the listed variants only (None: for all)."""

    settings: dict[str, str] = field(default_factory=dict)
    variants: list[str] | None = None

    def to_dict(self) -> dict:
        return {**({"variants": self.variants} if self.variants is not None else {}), **self.settings}


@dataclass(frozen=True)
class SweepSpec:
    name: str
    variants: list[str]
    archs: list[str]
    datasets: list[str]
    seeds: list[int]
    schedule: str = "quick"
    set: dict[str, str] = field(default_factory=dict)
    overrides: list[Override] = field(default_factory=lambda: [Override()])
    options: dict = field(default_factory=dict)  # the run options given ({key: value}, bench.config.OPTIONS)

    def to_dict(self) -> dict:
        """The spec as a sweep file would hold it (written into the sweep's folder)."""
        out = {k: getattr(self, k) for k in ("name", "variants", "archs", "datasets", "seeds", "schedule")}
        if self.set:
            out["set"] = self.set
        if self.overrides != [Override()]:
            out["overrides"] = [o.to_dict() for o in self.overrides]
        return {**out, **self.options}


def spec_from_mapping(values: dict, where: str) -> SweepSpec:
    """Validate a sweep mapping (a parsed file, with flags merged in) into a SweepSpec."""
    unknown = [k for k in values if k not in SPEC_KEYS]
    if unknown:
        raise BenchError(f"{where}: unknown key {unknown[0]!r}; valid keys: {', '.join(SPEC_KEYS)}")
    for key in ("variants", "archs", "datasets", "seeds"):
        if values.get(key) in (None, "", []):
            raise BenchError(f"{where}: no {key}; give them, e.g. {key}: {_EXAMPLES[key]}")
    name = values.get("name")
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise BenchError(f"{where}: name {name!r} must be a plain folder name (no '/'), e.g. name: wgan-archs")
    options = {}
    for key, opt in PLAN_OPTIONS.items():
        if values.get(key) is not None:
            value = values[key]
            if not fits(value, opt.hint):
                raise BenchError(f"{where}: {key}={value!r} has the wrong type; expected {describe(opt.hint)}"
                                 f" (default {opt.shown_default()})")
            options[key] = value
    overrides = values.get("overrides") or [{}]
    if not isinstance(overrides, list):
        raise BenchError(f"{where}: overrides must be a list of mappings, "
                         f"e.g. overrides: [{{clip: 0.01}}, {{clip: 0.1}}]")
    schedule = values.get("schedule") or "quick"
    if not isinstance(schedule, str):
        raise BenchError(f"{where}: schedule={schedule!r}: expected a preset name, e.g. schedule: quick")
    return SweepSpec(
        name=name,
        variants=_names(values["variants"], "variants", where),
        archs=_names(values["archs"], "archs", where),
        datasets=_names(values["datasets"], "datasets", where),
        seeds=_seeds(values["seeds"], where),
        schedule=schedule,
        set=_settings(values.get("set") or {}, "set", where),
        overrides=[_override(o, where) for o in overrides],
        options=options,
    )


def load_sweep_file(path: Path) -> dict:
    """A sweep file's mapping (not yet validated), named after the file unless it says otherwise."""
    if not path.is_file():
        raise BenchError(f"sweep file {path} not found; give a YAML file such as sweeps/wgan-paper-archs.yaml")
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BenchError(f"sweep file {path}: not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
    if not isinstance(values, dict):
        raise BenchError(f"sweep file {path}: expected a mapping with keys such as variants, archs, datasets, seeds")
    values.setdefault("name", path.stem)
    return values


def plan(spec: SweepSpec) -> list[RunConfig]:
    """Every run of the grid, validated before anything is written, in a stable order, without duplicates.

    A --set key must belong to some variant or arch of the grid; for each (arch, data set) it applies
    where it is known (e.g. a width knob to the archs that have one).
    """
    options = RunOptions.of(**spec.options)
    check_sets(spec.set, spec.variants, spec.archs, "set")  # (also raises naming unknown variants and archs)
    arch_keys = {a: setting_keys([], [a]) for a in spec.archs}
    runs: dict[str, RunConfig] = {}
    for override in spec.overrides:
        chosen = spec.variants if override.variants is None else override.variants
        outside = [v for v in chosen if v not in spec.variants]
        if outside:
            raise BenchError(f"overrides: variants {outside[0]!r} is not among the sweep's variants "
                             f"({', '.join(spec.variants)}); add it to variants or drop it from the entry")
        check_sets(override.settings, chosen, spec.archs, "set")
        keys = setting_keys(chosen, [])
        sets = {**spec.set, **override.settings}
        for arch in spec.archs:
            mine = {k: v for k, v in sets.items() if k in keys or k in arch_keys[arch]}
            for dataset in spec.datasets:
                for cfg in plan_runs(chosen, arch, dataset, spec.seeds, spec.schedule, sets=mine,
                                     options=options):
                    runs.setdefault(cfg.run_id, cfg)
    return list(runs.values())


_EXAMPLES = {"variants": "[wgan, wgan-gp]", "archs": "[mlp]", "datasets": "[8gaussians]", "seeds": "0-2"}


def _names(value, key: str, where: str) -> list[str]:
    if isinstance(value, str):
        return parse_list(value, key)
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(dict.fromkeys(value))
    raise BenchError(f"{where}: {key} must be a list of names, e.g. {key}: {_EXAMPLES[key]}")


def _seeds(value, where: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, str):
        return parse_seeds(value, where)
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return sorted(set(value))
    raise BenchError(f"{where}: seeds must be a list of integers or a range, e.g. seeds: 0-2")


def _override(value, where: str) -> Override:
    """An overrides entry: --set values, and optionally `variants`, the only variants it applies to."""
    if not isinstance(value, dict) or "variants" not in value:
        return Override(_settings(value, "overrides", where))
    rest = {k: v for k, v in value.items() if k != "variants"}
    variants = value["variants"]
    if isinstance(variants, str):
        variants = parse_list(variants, "overrides: variants")
    elif not (isinstance(variants, list) and variants and all(isinstance(v, str) and v for v in variants)):
        raise BenchError(f"{where}: overrides: variants must list variant names, "
                         f"e.g. {{variants: [wgan-gp], gp_weight: 0.1}}")
    return Override(_settings(rest, "overrides", where), list(dict.fromkeys(variants)))


def _settings(value, key: str, where: str) -> dict[str, str]:
    """A mapping of --set overrides; values as text, as plan_runs parses --set KEY=VALUE."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise BenchError(f"{where}: {key} must map setting names to values, e.g. {key}: {{clip: 0.01}}")
    out = {}
    for k, v in value.items():
        if isinstance(v, (dict, list)) or v is None:
            raise BenchError(f"{where}: {key}.{k}={v!r}: a setting takes one value, e.g. {k}: 0.01")
        out[k] = str(v).lower() if isinstance(v, bool) else str(v)
    return out
