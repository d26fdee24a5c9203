"""One typed configuration per run, resolved and validated before anything is written.

`plan_runs` turns a grid cell (variants, arch, data set, seeds, schedule preset, `--set KEY=VALUE`)
and the run options (RunOptions: every other option of `bench run` and `bench sweep`, declared once
on its fields, bench.options) into RunConfigs. A `--set` key must name a hyperparameter of at least
one selected variant or a knob of the architecture (check_sets, the one check); its value is parsed
with that field's type; unknown keys, bad values and impossible combinations raise BenchError naming
the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import variants as variant_pkg
from bench.arch import ARCHS, ArchParams
from bench.arch.base import DEFAULT_Z_DIM
from bench.data import build_dataset, canonical_name
from bench.errors import BenchError
from bench.eval_options import EvalOptions
from bench.eval_options import resolve as resolve_evaluation
from bench.options import build, option, options_of
from bench.schedule import Overrides, Schedule, make_schedule
from bench.speed import Speed
from bench.speed import check as check_speed
from bench.store.checkpoint import Policy, make_policy
from variants.base import Hyper


@dataclass(frozen=True)
class RunOptions:
    """Every option of a run beyond its grid cell: one field each (here or in a group), from which the
    flags of `bench run`, `bench sweep` and `bench eval` and the sweep-file keys are made (bench.options)."""

    schedule: Overrides = Overrides()
    device: str = field(default="auto", metadata=option(
        "Training device; auto picks CUDA when PyTorch sees one. A run resumes under any spelling of the device "
        "it trained on (auto that picked the CPU = cpu).", choices=("auto", "cpu", "cuda")))
    data_root: str | None = field(default=None, metadata=option(
        "Where image data sets are looked for (before $BENCH_DATA and system folders) and where --download "
        "saves them.", metavar="DIR", path=True))
    download: bool = field(default=False, metadata=option(
        "Let torchvision fetch fashion-mnist, mnist or cifar10 into --data-root if missing (needs internet)."))
    speed: Speed = Speed()  # --compile, --pack, --tf32 (bench.speed)
    ckpt: Policy = Policy()  # --ckpt-every, --ckpt-every-s, --keep-checkpoints (bench.store.checkpoint)
    evaluation: EvalOptions = EvalOptions()  # --extractor ... --pictures (bench.eval_options)

    @classmethod
    def of(cls, **values) -> "RunOptions":
        """From option keys (sweep-file keys), e.g. RunOptions.of(steps=20, pack=2); None = the default."""
        unknown = sorted(set(values) - {o.key for o in OPTIONS})
        if unknown:
            raise TypeError(f"unknown run options {unknown}; known: {', '.join(o.key for o in OPTIONS)}")
        return build(cls, values)


OPTIONS = options_of(RunOptions)


@dataclass(frozen=True)
class RunConfig:
    variant: str
    arch: str
    dataset: str
    seed: int
    schedule: Schedule
    hyper: Hyper
    arch_params: ArchParams
    device: str = "auto"  # auto | cpu | cuda (resolved when the run starts)
    sets: tuple[tuple[str, str], ...] = ()  # the --set overrides that apply to this run, as typed
    # Where image files are looked for and whether torchvision may fetch them. Deliberately not part
    # of to_dict() or run_id: the same data read from another folder is the same run (run.json
    # records the folder actually used under "data").
    data_root: str | None = None
    download: bool = False
    speed: Speed = Speed()  # how it runs (--compile, --pack, --tf32); not part of run_id (bench.speed)
    ckpt: Policy = Policy()  # checkpoints between evaluations (bench.store.checkpoint); not part of run_id
    # how it is measured (--extractor, --inception-weights, --w-indep-steps, --n-modes, --pictures); like speed,
    # recorded in run.json but not part of to_dict() or run_id (bench.eval_options)
    evaluation: EvalOptions = EvalOptions()

    @property
    def run_id(self) -> str:
        """Stable: the same variant, arch, data, seed and non-default settings give the same id."""
        base = f"{self.variant}-{self.arch}-{dataset_slug(self.dataset)}-s{self.seed}"
        changed = self.non_defaults()
        if not changed:
            return base
        digest = hashlib.sha1(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:8]
        return f"{base}-{digest}"

    def non_defaults(self) -> dict:
        """Settings that differ from the preset schedule and the defaults (they name the run)."""
        preset = make_schedule(self.schedule.family, self.schedule.preset)
        out = {f"schedule.{k}": v for k, v in dataclasses.asdict(self.schedule).items() if getattr(preset, k) != v}
        out.update({k: v for k, v in self.sets})
        return out

    def to_dict(self) -> dict:
        """The run's identity as run.json records it (and a resumed run must match). Capture and
        packing are not in it: they do not change what is computed. TF32 does, so it is, when on."""
        out = {
            "variant": self.variant,
            "arch": self.arch,
            "dataset": self.dataset,
            "seed": self.seed,
            "device": self.device,
            "schedule": self.schedule.to_dict(),
            "hyper": dataclasses.asdict(self.hyper),
            "arch_params": dataclasses.asdict(self.arch_params),
            "sets": dict(self.sets),
        }
        if self.speed.tf32:
            out["tf32"] = True
        return out


def dataset_slug(dataset: str) -> str:
    """The data set's part of a run id: its name, or for NAME:PATH the folder's name and a hash of
    the full path (a run id is a folder name, so it cannot hold the path itself)."""
    base, sep, arg = dataset.partition(":")
    if not sep:
        return dataset
    stem = re.sub(r"[^a-z0-9]+", "-", Path(arg).name.lower()).strip("-") or "root"
    return f"{base}-{stem}-{hashlib.sha1(arg.encode()).hexdigest()[:6]}"


def parse_seeds(text: str, where: str | None = None) -> list[int]:
    """'0,1,2' or '0-4' or '0-2,7' -> sorted unique ints. `where`: the sweep file they come from
    (the error names it and its key instead of the --seeds flag)."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m or (m.group(2) and int(m.group(2)) < int(m.group(1))):
            if where:
                raise BenchError(f"{where}: seeds {text!r} is malformed: use a list like [0, 1, 2] or a range like 0-4")
            raise BenchError(f"malformed --seeds {text!r}: use a list like 0,1,2 or a range like 0-4")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        seeds.extend(range(lo, hi + 1))
    return sorted(set(seeds))


def parse_list(text: str, option: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise BenchError(f"empty {option}: give a comma-separated list, e.g. {option} wgan,gan")
    return list(dict.fromkeys(items))


def parse_sets(items: typing.Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", key) or not value:
            raise BenchError(f"malformed --set {item!r}: expected KEY=VALUE, e.g. --set clip=0.02")
        out[key] = value
    return out


def _coerce(cls: type, key: str, text: str, owner: str):
    kind = typing.get_type_hints(cls)[key]
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        return str(text)
    except ValueError:
        raise BenchError(f"--set {key}={text}: {owner}'s {key} takes a {kind.__name__}, e.g. --set {key}="
                         f"{getattr(cls(), key)}") from None


def _apply(cls: type, sets: dict[str, str], owner: str):
    fields = {f.name for f in dataclasses.fields(cls)}
    mine = {k: v for k, v in sets.items() if k in fields}
    values = {k: _coerce(cls, k, v, owner) for k, v in mine.items()}
    obj = cls(**values)
    problems = obj.problems()
    if problems:
        raise BenchError(f"invalid setting for {owner}: {'; '.join(problems)}")
    return obj, mine


def plan_runs(
    variants: list[str],
    arch: str,
    dataset: str,
    seeds: list[int],
    preset: str = "quick",
    sets: dict[str, str] | None = None,
    options: RunOptions = RunOptions(),
) -> list[RunConfig]:
    """Resolve and validate every run before any of them starts (so bad input writes nothing).

    The data set is built here once (finding, downloading and checking its files), so that missing
    or corrupt data fails before any run directory exists.
    """
    sets = sets or {}
    variant_classes = [variant_pkg.VARIANTS.get(v) for v in variants]
    arch_obj = ARCHS.get(arch)
    dataset = canonical_name(dataset)
    device, download = options.device, options.download
    data_root = options.data_root  # resolved: jobs may run elsewhere
    data_root = str(Path(data_root).expanduser().resolve()) if data_root else None
    data = build_dataset(dataset, data_root=data_root, download=download)
    if data.family not in arch_obj.families:
        raise BenchError(
            f"arch {arch!r} does not support {data.family} data ({dataset}); "
            f"choose an arch for {data.family} data: "
            + ", ".join(n for n in ARCHS.names() if data.family in ARCHS.get(n).families)
        )
    for cls in variant_classes:  # a pair that cannot work: the variant needs a critic the arch cannot build
        if cls.critic_kind not in arch_obj.critic_kinds:
            able = [n for n in ARCHS.names() if cls.critic_kind in ARCHS.get(n).critic_kinds and
                    data.family in ARCHS.get(n).families]
            kind = f"{'an' if cls.critic_kind[0] in 'aeiou' else 'a'} {cls.critic_kind} critic"
            raise BenchError(f"variant {cls.name!r} needs {kind}, which arch {arch!r} does not "
                             f"build (it builds: {', '.join(arch_obj.critic_kinds)}); choose an arch that does: "
                             f"{', '.join(able) or 'none registered'}")
    if device not in ("auto", "cpu", "cuda"):
        raise BenchError(f"unknown --device {device!r}; choose one of: auto, cpu, cuda")
    schedule = make_schedule(data.family, preset, **dataclasses.asdict(options.schedule))
    if data.max_heldout is not None and schedule.n_eval > data.max_heldout:
        raise BenchError(f"n_eval {schedule.n_eval} exceeds the {data.max_heldout} held-out images of {dataset}; "
                         f"pass --n-eval {data.max_heldout} or less")
    # how the runs execute (--compile, --pack, --tf32; bench.speed), checked before anything is written
    speed = options.speed
    check_speed(speed, device, variant_classes)
    c = options.ckpt
    ckpt = make_policy(c.every_steps, c.every_s, c.keep)  # --ckpt-every(-s), --keep-checkpoints
    # how the runs are measured (bench.eval_options): checked here too, knobs from the preset
    evaluation = resolve_evaluation(preset, options.evaluation)

    check_sets(sets, variants, [arch], "--set")

    arch_params, arch_sets = _apply(arch_obj.Params, sets, f"arch {arch}")
    if arch_params.z_dim == 0:
        arch_params = dataclasses.replace(arch_params, z_dim=DEFAULT_Z_DIM[data.family])
    runs = []
    for name, cls in zip(variants, variant_classes):
        hyper, hyper_sets = _apply(cls.Hyper, sets, f"variant {name}")
        applied = tuple(sorted({**arch_sets, **hyper_sets}.items()))
        for seed in seeds:
            runs.append(RunConfig(name, arch, dataset, seed, schedule, hyper, arch_params, device, applied,
                                  data_root=data_root, download=download, speed=speed, ckpt=ckpt,
                                  evaluation=evaluation))
    return runs


def setting_keys(variants: list[str], archs: list[str]) -> set[str]:
    """The --set keys the variants and archs know: their hyperparameters and knobs."""
    keys = set()
    for name in variants:
        keys |= {f.name for f in dataclasses.fields(variant_pkg.VARIANTS.get(name).Hyper)}
    for name in archs:
        keys |= {f.name for f in dataclasses.fields(ARCHS.get(name).Params)}
    return keys


def check_sets(sets, variants: list[str], archs: list[str], where: str) -> None:
    """The one check of --set keys (bench run, bench sweep flags, a sweep file's set and overrides):
    each must be a hyperparameter of some variant or a knob of some arch given; `where` names the source."""
    known = setting_keys(variants, archs)
    unknown = sorted(set(sets) - known)
    if unknown:
        raise BenchError(f"{where} {unknown[0]}: no variant ({', '.join(variants)}) or arch ({', '.join(archs)}) "
                         f"given has this setting; valid keys: {', '.join(sorted(known))}")
