"""SLURM resource profiles: slurm/profiles/NAME.yaml says where and with what each run of a sweep runs.

A profile is a small YAML mapping (unknown keys are an error, values are type-checked), chosen with
`bench sweep --profile NAME` and overridden key by key by flags (`--partition`, `--gpus`, `--time`...).
It becomes submitit parameters: one job array per sweep, one run per array task, each task with
`cpus_per_task` CPUs, `gpus_per_task` GPUs, `mem_gb` of memory and `time` of wall clock; a run that
reaches its time limit checkpoints and is requeued, at most `max_timeouts` times; a task that ends
OUT_OF_MEMORY, NODE_FAIL or PREEMPTED is submitted again, at most `max_retries` times (bench.sweep.retry).
`runs_per_task` puts several runs in one array task, trained one after another: for many short runs,
where a job's start-up (seconds of imports, the scheduler's own latency) would dominate.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.errors import BenchError
from bench.typecheck import describe, fits

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TIME_MIN = 60  # a SLURM job needs a limit; runs longer than this requeue from their checkpoints
LOCAL_TIME_MIN = 30 * 24 * 60  # local processes: no limit worth the name


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    partition: str | None = None  # None: the cluster's default partition
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    mem_gb: float | None = None  # None: the cluster's default memory per CPU
    # Wall-clock limit per job (minutes, H:MM:SS or D-HH:MM:SS); a longer run spans several jobs.
    time: str | None = None  # None: DEFAULT_TIME_MIN (slurm), no practical limit (local)
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None  # node features, e.g. "a100|h100"
    array_parallelism: int | None = None  # most tasks of the array running at once (None: no limit)
    max_timeouts: int = 10  # requeues after hitting the time limit before a run counts as failed
    max_retries: int = 2  # resubmissions of a task ended OUT_OF_MEMORY, NODE_FAIL or PREEMPTED (bench.sweep.retry)
    runs_per_task: int = 1  # runs trained one after another by one array task (packs count as their runs)
    setup: tuple[str, ...] = ()  # shell lines run before each job, e.g. "module load cuda/12.1"
    sbatch: dict = field(default_factory=dict)  # any other sbatch option, e.g. {reservation: gans}

    def time_min(self, executor: str) -> int:
        if self.time is not None:
            return parse_time(self.time)
        return DEFAULT_TIME_MIN if executor == "slurm" else LOCAL_TIME_MIN

    def problems(self) -> list[str]:
        out = []
        for key in ("gpus_per_task", "max_timeouts", "max_retries"):
            if getattr(self, key) < 0:
                out.append(f"{key}={getattr(self, key)}: must be >= 0")
        for key in ("cpus_per_task", "array_parallelism", "runs_per_task"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                out.append(f"{key}={getattr(self, key)}: must be >= 1")
        if self.mem_gb is not None and self.mem_gb <= 0:
            out.append(f"mem_gb={self.mem_gb}: must be > 0")
        try:
            if self.time is not None:
                parse_time(self.time)
        except ValueError as e:
            out.append(str(e))
        return out

    def submitit_parameters(self, executor: str) -> dict:
        """Parameters for submitit.AutoExecutor.update_parameters (None = leave submitit's default)."""
        params = {"timeout_min": self.time_min(executor), "cpus_per_task": self.cpus_per_task,
                  "gpus_per_node": self.gpus_per_task, "tasks_per_node": 1, "nodes": 1}
        if executor == "slurm":
            params.update(
                mem_gb=self.mem_gb,
                slurm_partition=self.partition,
                slurm_account=self.account,
                slurm_qos=self.qos,
                slurm_constraint=self.constraint,
                slurm_array_parallelism=self.array_parallelism,
                slurm_additional_parameters=dict(self.sbatch) or None,
            )
        return {k: v for k, v in params.items() if v is not None}

    def describe(self, executor: str = "slurm") -> str:
        parts = [f"profile {self.name}: partition {self.partition or '(default)'}",
                 f"{self.cpus_per_task} cpu", f"{self.gpus_per_task} gpu",
                 f"mem {str(self.mem_gb) + ' GB' if self.mem_gb else '(default)'}",
                 f"time {self.time or f'{DEFAULT_TIME_MIN} min (default)'}"]
        for key in ("account", "qos", "constraint", "array_parallelism"):
            if getattr(self, key) is not None:
                parts.append(f"{key} {getattr(self, key)}")
        if executor == "slurm":
            if self.runs_per_task > 1:
                parts.append(f"{self.runs_per_task} runs per task")
            parts.append(f"max_retries {self.max_retries}")
        if self.sbatch:
            parts.append("sbatch " + " ".join(f"--{k}={v}" for k, v in self.sbatch.items()))
        return ", ".join(parts)


def parse_time(text: str | int) -> int:
    """A wall-clock limit -> whole minutes: 90 (minutes), '4:00:00' (H:MM:SS), '2-00:00:00' (D-HH:MM:SS)."""
    text = str(text).strip()
    m = re.fullmatch(r"(\d+)|(?:(\d+)-)?(\d+):([0-5]\d):([0-5]\d)", text)
    if not m:
        raise ValueError(f"time={text!r}: use minutes, H:MM:SS or D-HH:MM:SS, e.g. time: '4:00:00'")
    if m.group(1):
        minutes = int(m.group(1))
    else:
        days, hours, mins, secs = (int(g or 0) for g in m.groups()[1:])
        minutes = days * 1440 + hours * 60 + mins + (secs > 0)  # round seconds up
    if minutes < 1:
        raise ValueError(f"time={text!r}: must be at least one minute")
    return minutes


def profile_path(name: str) -> Path:
    """A profile name -> its file: ./slurm/profiles/NAME.yaml, then this checkout's; or a path to a file."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name)
        if not path.is_file():
            raise BenchError(f"--profile {name}: no such file; give a profile name or an existing YAML file")
        return path
    dirs = list(dict.fromkeys([Path.cwd() / "slurm" / "profiles", REPO / "slurm" / "profiles"]))
    for d in dirs:
        if (d / f"{name}.yaml").is_file():
            return d / f"{name}.yaml"
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.yaml")})
    raise BenchError(f"--profile {name}: no slurm/profiles/{name}.yaml; choose one of: {', '.join(known) or 'none'}"
                     f" (or write that file)")


def load_profile(name: str | None, overrides: dict | None = None) -> Profile:
    """The named profile (or the defaults), with flag overrides (None = not given); validated."""
    values: dict = {}
    if name:
        path = profile_path(name)
        try:
            values = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise BenchError(f"profile {path}: not valid YAML ({str(e).splitlines()[0]}); fix the file") from None
        if not isinstance(values, dict):
            raise BenchError(f"profile {path}: expected a mapping of keys like partition: gpu; fix the file")
        values = {**check_keys(values, f"profile {path}"), "name": Path(path).stem}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "setup" in values:
        values["setup"] = tuple(values["setup"])
    profile = Profile(**values)
    problems = profile.problems()
    if problems:
        raise BenchError(f"invalid SLURM resources ({profile.name}): {'; '.join(problems)}")
    return profile


def check_keys(values: dict, where: str) -> dict:
    """Reject unknown keys and values of the wrong type, naming the valid ones."""
    hints = typing.get_type_hints(Profile)
    keys = [f.name for f in dataclasses.fields(Profile) if f.name != "name"]
    for key, value in values.items():
        if key not in keys:
            raise BenchError(f"{where}: unknown key {key!r}; valid keys: {', '.join(keys)}")
        if not fits(value, hints[key]) and not (key == "time" and fits(value, int)):  # time: 90 (minutes)
            raise BenchError(f"{where}: {key}={value!r} has the wrong type; expected {describe(hints[key])}")
    return values
