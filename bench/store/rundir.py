"""The run store: results/<name>/<run-id>/ with run.json, metrics.jsonl, samples/ and ckpt/.

Every JSON file is written to a temporary file and renamed, so a reader never sees half a file;
metrics.jsonl is appended one flushed line per evaluation. A finished run is never overwritten:
re-running it skips it, and --force moves it aside rather than deleting it. A lock file keeps two
processes off the same run.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError

RUN_JSON = "run.json"
METRICS = "metrics.jsonl"
LOCK = ".lock"
CKPT = "ckpt/last.pt"


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk: the message should name the file (bench.store.faults)
        exc.filename = exc.filename or str(path)
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line cut short by a crash: everything before it is intact
    return rows


def check_results_root(root: Path) -> None:
    """Fail early, before anything is written, if the results root cannot hold runs."""
    for parent in [root, *root.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise BenchError(f"results path {parent} is a file, not a directory; pass --results DIR with a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise BenchError(f"results path {parent} is not writable; pass --results DIR with a writable directory")
            return


@dataclass
class RunDir:
    path: Path

    @property
    def run_json(self) -> Path:
        return self.path / RUN_JSON

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def ckpt(self) -> Path:
        return self.path / CKPT

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    def read(self) -> dict | None:
        return read_json(self.run_json) if self.run_json.exists() else None

    def write(self, record: dict) -> None:
        atomic_write_json(self.run_json, record)

    def append_metrics(self, row: dict) -> None:
        """Append one line; if the write fails (a full disk), cut the file back to where it was, so
        no half line is left for a later append to bury in the middle of the file."""
        data = (json.dumps(row, sort_keys=False) + "\n").encode()
        fd = os.open(self.metrics, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:
                os.ftruncate(fd, start)
                exc.filename = exc.filename or str(self.metrics)
                raise
        finally:
            os.close(fd)

    def keep_metrics_up_to(self, step: int) -> None:
        """On resume: drop rows past the checkpoint's step (they will be recomputed identically)."""
        rows = [r for r in read_jsonl(self.metrics) if r["step"] <= step]
        atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))

    # -- locking ---------------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run's lock file, or raise naming the process that holds it.

        A lock is stale, and taken over, when its process is gone from this host, when it was left by
        this very SLURM job before a requeue, or when the scheduler's accounting says its job has
        ended (COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED...): then
        SLURM has killed every process of that job, on whichever node it ran."""
        lock = self.path / LOCK
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
              "slurm_job": os.environ.get("SLURM_JOB_ID"), "slurm_task": _slurm_task()}
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = read_json(lock)
                except (OSError, json.JSONDecodeError):
                    holder = {}
                why = stale_because(holder, me)
                if why:
                    print(f"bench: {self.path.name}: taking over the lock of pid {holder.get('pid')} on "
                          f"{holder.get('host')}: {why}", file=sys.stderr, flush=True)
                    lock.unlink(missing_ok=True)
                    continue
                job = holder.get("slurm_task") or holder.get("slurm_job")
                raise BenchError(
                    f"run {self.path} is in use by pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
                    + (f" (SLURM job {job})" if job else "") + f" (lock file {lock}); wait for it to finish, or "
                    f"delete the lock file if that process is gone"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            return

    def unlock(self) -> None:
        (self.path / LOCK).unlink(missing_ok=True)


def stale_because(holder: dict, me: dict) -> str | None:
    """Why a lock held by `holder` may be taken over by `me` (None: it may not)."""
    if not holder:
        return None  # being written right now, or unreadable: leave it
    if holder.get("host") == me["host"] and not pid_alive(int(holder.get("pid") or -1)):
        return "its process is gone from this host"
    if me["slurm_job"] and holder.get("slurm_job") == me["slurm_job"]:
        # SLURM runs one instance of a job at a time, so a lock left by the same job id is from before
        # it was requeued (perhaps on another node, killed before unlocking)
        return "left by this job before it was requeued"
    job = holder.get("slurm_task") or holder.get("slurm_job")
    if job and job != me.get("slurm_task"):
        from bench.store import scheduler

        if scheduler.available():
            try:
                state = scheduler.query([job])[job].state
            except scheduler.SchedulerError:
                return None  # the scheduler cannot say: keep off
            if state in scheduler.ENDED:
                return f"its SLURM job {job} has ended ({state})"
    return None


def _slurm_task() -> str | None:
    """This process's array task id as sacct and squeue name it ("14_4"), or its plain job id."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID")


def pid_alive(pid: int) -> bool:
    """Whether a process of this id lives on this host (one of another user counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


SHOWN = 6  # differences named in a configuration clash's one-line error (another version's run.json may differ in many)
_ABSENT = object()  # a setting one of the two configurations does not have


class ConfigClash(BenchError):
    """A run folder holds another configuration under the same run id; `differences` names the settings."""

    def __init__(self, message: str, differences: str):
        super().__init__(message)
        self.differences = differences


def decide(run: RunDir, config: dict, force: bool, device: str | None = None) -> str:
    """What to do with a run directory: 'new', 'resume', 'restart' or 'skip'.

    `device`: where this process would train it ("cpu" or "cuda"), None where that is not known here (a
    login node submitting to SLURM). Raises ConfigClash, naming the settings that differ, when the
    directory holds a different configuration (unless force).
    """
    record = run.read()
    if record is None:
        return "new"
    if force:
        return "replace"
    clash = differences(record, config, device)
    if clash:
        raise ConfigClash(f"{run.path} holds a run with a different configuration: {clash}; choose another --name, "
                          f"or pass --force to move it aside and start again", clash)
    if record.get("status") in ("done", "diverged"):
        return "skip"
    # prev.pt: the fallback checkpoint (bench.store.checkpoint), alone after a kill mid-rotation
    return "resume" if run.ckpt.exists() or run.ckpt.with_name("prev.pt").exists() else "restart"


def differences(record: dict, config: dict, device: str | None = None) -> str:
    """The settings in which run.json's config and `config` differ, as "KEY STORED (stored) vs ASKED (asked)",
    "; "-separated ("" when they agree).

    The device is compared as resolved, not as spelled: `--device auto` that picked the CPU is `--device
    cpu` (a run may resume under either), while a run trained on CUDA is another run on the CPU (other
    random streams, other rounding). run.json's "device" says where a stored `auto` run trained;
    `device` says where this one would. Where either side cannot be resolved, the device is not compared
    here (the process that trains the run compares it again)."""
    stored, asked = _flat(record.get("config") or {}), _flat(config)
    ran_on = str(record.get("device") or "").split(" ")[0] or None  # "cpu (2 cores, ...)", "cuda (NVIDIA ...)"
    for side, actual in ((stored, ran_on), (asked, device)):
        if side.get("device") == "auto" and actual in ("cpu", "cuda"):
            side["device"] = actual
    if "auto" in (stored.get("device"), asked.get("device")):
        stored.pop("device", None)
        asked.pop("device", None)
    keys = [k for k in dict.fromkeys([*asked, *stored]) if stored.get(k, _ABSENT) != asked.get(k, _ABSENT)]
    if "schedule.steps" in keys or "schedule.evals" in keys:  # eval_steps follow from them
        keys = [k for k in keys if k != "schedule.eval_steps"]
    # a --set shows twice (under sets and where it applies, e.g. hyper.lr_d): name it once
    keys = [k for k in keys if not (k.startswith("sets.") and any(o.endswith("." + k[5:]) for o in keys if o != k))]
    shown = [f"{k} {_shown(stored.get(k, _ABSENT))} (stored) vs {_shown(asked.get(k, _ABSENT))} (asked)"
             for k in keys[:SHOWN]]
    return "; ".join(shown + ([f"and {len(keys) - SHOWN} more"] if len(keys) > SHOWN else []))


def _flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in config.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _shown(value) -> str:
    if value is _ABSENT:
        return "absent"
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def move_aside(run: RunDir) -> Path:
    """--force: keep the old run under a new name instead of deleting it. Never a run that another
    process is training: taking its lock first raises, naming that process."""
    run.lock()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = run.path.with_name(f"{run.path.name}.replaced-{stamp}")
    os.replace(run.path, target)
    (target / LOCK).unlink(missing_ok=True)  # our lock moved with it
    return target
