"""A run's checkpoints: when they are taken, how they are written, and how a resume trusts one.

Layout under <run>/ckpt/:

    last.pt          the newest full-state checkpoint (bench.train.member.Member.state())
    prev.pt          the one before it: the fallback when last.pt turns out damaged
    checksums.json   {"checkpoints": [{file, step, sha256, bytes, saved_at}, ...]}, the record of
                     what each good checkpoint's bytes are (SHA-256), written atomically
    G_step_*.pt      the generator's weights at each evaluation step (for `bench eval`)

**Writing** (`Checkpoints.save`): the state goes to a temporary file, is fsynced and hashed; the
record is rewritten to list the new checkpoint and the current good one; then the current one is
renamed to prev.pt and the new one to last.pt. A file is trusted on resume only if its SHA-256 is in
the record, whatever its name, so a process killed between any two of these steps leaves at least
one trusted checkpoint (the old one until the rename, the new one after), never a trusted half file.

**Resuming** (`Checkpoints.load_latest`): last.pt, then prev.pt; a file that is missing from the
record's hashes (truncated, altered, or half-replaced) or cannot be read is skipped with a note that
says what was wrong, and the caller prints which checkpoint it resumed from, or that it restarts.
Files are read with torch.load(weights_only=True): a checkpoint can hold tensors and plain
containers only, never code to run.

**After a run finishes** (`prune`, `--keep-checkpoints`): `last` (the default) keeps last.pt, the
final full state, and drops prev.pt; `none` drops both (and checksums.json); `all` keeps everything.
The generator snapshots G_step_*.pt, which `bench eval` recomputes metrics from, are always kept.

**When** (`Cadence`): at every evaluation step (the runner's), every `every_steps` generator steps
if set, and after `every_s` seconds of wall time since the last checkpoint (default 10 minutes), so
a hard kill of a long run between evaluations loses at most that much work.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.options import option
from bench.store.atomic import atomic_target, disk_errors_named, fsync_file, sha256_file, temporary_name
from bench.store.rundir import atomic_write_json

LAST, PREV, RECORD = "last.pt", "prev.pt", "checksums.json"
DEFAULT_EVERY_S = 600.0  # a hard-killed run loses at most 10 minutes of training
KEEP = ("last", "all", "none")  # what a finished run keeps (prune)


@dataclass(frozen=True)
class Policy:
    """How often a run checkpoints between evaluation steps (it always does at them). Not part of
    a run's identity: checkpointing more or less often changes no number."""

    every_steps: int = field(default=0, metadata=option(  # 0: not by step count
        "Also checkpoint every N generator steps (0: only at evaluation steps and by --ckpt-every-s).",
        key="ckpt_every", metavar="N"))
    every_s: float = field(default=DEFAULT_EVERY_S, metadata=option(  # 0: not by wall time
        "Also checkpoint when this much wall time has passed since the last checkpoint (0: never by time). "
        "A killed run resumes from its newest checkpoint.", key="ckpt_every_s", metavar="SECONDS"))
    keep: str = field(default="last", metadata=option(  # what a finished run keeps (prune)
        "What a finished run keeps: last (its final full state, ckpt/last.pt), all (also the previous one) "
        "or none; the generator snapshots `bench eval` needs are always kept.", key="keep_checkpoints",
        choices=KEEP))

    def problems(self) -> list[str]:
        out = []
        if self.keep not in KEEP:
            out.append(f"--keep-checkpoints {self.keep}: choose one of {', '.join(KEEP)}")
        if self.every_steps < 0:
            out.append(f"--ckpt-every {self.every_steps}: must be >= 0 (0 = only at evaluation steps)")
        if not self.every_s >= 0:  # also catches nan
            out.append(f"--ckpt-every-s {self.every_s}: must be >= 0 (0 = no wall-time checkpoints)")
        return out


def make_policy(every_steps: int, every_s: float, keep: str = "last") -> Policy:
    policy = Policy(every_steps=every_steps, every_s=float(every_s), keep=keep)
    problems = policy.problems()
    if problems:
        raise BenchError(f"invalid checkpoint cadence: {'; '.join(problems)}")
    return policy


class Cadence:
    """Says when a checkpoint is due between evaluation steps. `clock` is injectable for tests."""

    def __init__(self, policy: Policy, clock=time.monotonic):
        self.policy, self.clock = policy, clock
        self.last_t = clock()

    def due(self, step: int) -> bool:
        p = self.policy
        if p.every_steps and step % p.every_steps == 0:
            return True
        return bool(p.every_s) and self.clock() - self.last_t >= p.every_s

    def saved(self) -> None:
        self.last_t = self.clock()


@dataclass
class Resumed:
    """What load_latest found: the state to resume (None: restart), its record entry, and what was wrong."""

    state: dict | None
    entry: dict | None
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str | None:
        """One line for the user when anything was wrong, naming what the run does about it."""
        if not self.problems:
            return None
        what = "; ".join(self.problems)
        if self.state is None:
            return f"{what}; no good checkpoint left: restarting from step 0"
        e = self.entry
        return f"{what}; resuming from the previous good checkpoint ckpt/{e['file']} (step {e['step']})"


class Checkpoints:
    """The checkpoints of one run directory (see the module docstring)."""

    def __init__(self, run_path: Path):
        self.folder = Path(run_path) / "ckpt"
        self.good: dict | None = None  # record entry of the newest trusted checkpoint on disk, with its file

    def any(self) -> bool:
        return (self.folder / LAST).exists() or (self.folder / PREV).exists()

    def _read_record(self) -> list[dict] | None:
        """The recorded checkpoints; None when there is no usable record."""
        try:
            with open(self.folder / RECORD) as f:
                entries = json.load(f)["checkpoints"]
            return [e for e in entries if isinstance(e.get("sha256"), str)]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    # -- writing -------------------------------------------------------------------------------
    def save(self, state: dict, step: int) -> dict:
        """Write `state` as last.pt, keeping the current good checkpoint as prev.pt; returns its entry."""
        self.folder.mkdir(parents=True, exist_ok=True)
        last, prev = self.folder / LAST, self.folder / PREV
        tmp = temporary_name(last)
        try:
            with disk_errors_named(last):
                with open(tmp, "wb") as f:  # a file object: a full disk raises OSError(ENOSPC), not RuntimeError
                    torch.save(state, f)
                fsync_file(tmp)
                entry = {"file": LAST, "step": step, "sha256": sha256_file(tmp), "bytes": tmp.stat().st_size,
                         "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                keep = [entry] + ([{**self.good, "file": PREV}] if self.good is not None else [])
                # From here on both the new bytes and the current good ones are trusted, under either name.
                atomic_write_json(self.folder / RECORD, {"checkpoints": keep})
                if self.good is None:
                    prev.unlink(missing_ok=True)  # whatever is there is not trusted (nothing was loaded from it)
                elif self.good["file"] == LAST:
                    os.replace(last, prev)
                # (good in prev.pt: last.pt was found damaged at resume; it is simply replaced)
                os.replace(tmp, last)
        finally:
            tmp.unlink(missing_ok=True)
        self.good = entry
        return entry

    # -- reading -------------------------------------------------------------------------------
    def load_latest(self, device: torch.device | str = "cpu") -> Resumed:
        """The newest trusted, readable checkpoint (last.pt, else prev.pt), or state None and why."""
        record = self._read_record()
        problems: list[str] = []
        if record is None and self.any():
            if (self.folder / RECORD).exists():
                problems.append(f"ckpt/{RECORD} is unreadable, so no checkpoint can be verified")
                record = []
            # else: written before checksums were recorded; trusted if torch can read it (weights only)
        known = {e["sha256"]: e for e in record or []}
        for name in (LAST, PREV):
            path = self.folder / name
            if not path.exists():
                continue
            digest = sha256_file(path)
            if record is not None and digest not in known:
                problems.append(self._mismatch(name, path, digest, record))
                continue
            try:
                state = torch.load(path, map_location=device, weights_only=True)  # cannot run pickled code
            except Exception as exc:  # noqa: BLE001 (any unreadable file is skipped, with the reason)
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                problems.append(f"ckpt/{name} cannot be loaded ({type(exc).__name__}: {first[:160]})")
                continue
            entry = {**known.get(digest, {"step": state.get("step"), "sha256": digest,
                                          "bytes": path.stat().st_size}), "file": name}
            self.good = entry
            return Resumed(state, entry, problems)
        return Resumed(None, None, problems)

    @staticmethod
    def _mismatch(name: str, path: Path, digest: str, record: list[dict]) -> str:
        mine = next((e for e in record if e.get("file") == name), None)
        if mine is None:
            return f"ckpt/{name} is not in the checkpoint record ckpt/{RECORD} (sha256 {digest[:12]})"
        size = path.stat().st_size
        if isinstance(mine.get("bytes"), int) and size < mine["bytes"]:
            return (f"ckpt/{name} is truncated ({size} of {mine['bytes']} bytes; sha256 {digest[:12]}, "
                    f"recorded {mine['sha256'][:12]})")
        return (f"ckpt/{name} does not match its recorded checksum (sha256 {digest[:12]}, "
                f"recorded {mine['sha256'][:12]})")


def prune(run_path: Path, keep: str) -> str:
    """A finished run's checkpoints, cut down to what `keep` asks (see the module docstring); returns
    `keep`. Each file goes only after the record stops listing it, so no record names a missing file."""
    folder = Path(run_path) / "ckpt"
    if keep == "all" or not folder.is_dir():
        return keep
    record = Checkpoints(run_path)._read_record() or []
    if keep == "last":
        atomic_write_json(folder / RECORD, {"checkpoints": [e for e in record if e.get("file") == LAST]})
        (folder / PREV).unlink(missing_ok=True)
    elif keep == "none":
        (folder / RECORD).unlink(missing_ok=True)
        for name in (PREV, LAST):
            (folder / name).unlink(missing_ok=True)
    return keep


def save_generator(G: torch.nn.Module, run_path: Path, step: int) -> Path:
    """The generator's weights at an evaluation step (small), so `bench eval` can recompute any row
    later, e.g. with another feature extractor."""
    path = Path(run_path) / "ckpt" / f"G_step_{step:07d}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        torch.save(G.state_dict(), f)
    return path
