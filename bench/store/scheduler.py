"""What SLURM says of each array task: one `squeue` and one `sacct` call for a whole sweep, read so
that no line about a range of tasks ever overrides a task's own line.

Why not submitit's SlurmInfoWatcher: it expands every range record of `sacct` (e.g. `7_[4-5%6]`) to
all its tasks and lets the later line win. After a pending task of an array is cancelled, or while
the array's pending remainder is still being split, sacct keeps such a leftover record spanning tasks
that have since started (`14_[4,6-7%2] PENDING` beside `14_4 RUNNING`), so a running task read as
pending or cancelled. Here:

    1. `squeue -r -t all` lists every task slurmctld still holds, one line each (`-r`), queued,
       running or recently ended, with the scheduler's reason (e.g. PartitionConfig for a request no
       node can meet). It is authoritative: it is the controller's own state. It runs first, so a
       task missing from it has ended before `sacct` runs.
    2. `sacct -X` (allocations only) gives each task's own line for tasks squeue no longer holds.
    3. A range record fills in only a task that has no line of its own, and only with a final state
       (a pending range record about a task squeue does not hold is stale by construction).

A task neither knows (cancelled while still pending leaves no accounting record) is UNKNOWN.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from bench.errors import BenchError

# SLURM job states by what they mean for a run.
QUEUED = frozenset({"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "RESV_DEL_HOLD",
                    "CONFIGURING", "SPECIAL_EXIT"})
ACTIVE = QUEUED | {"RUNNING", "COMPLETING", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED"}
ENDED = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
                   "BOOT_FAIL", "DEADLINE", "REVOKED"})
# Ends that say nothing about the run itself: a retry of the same task may well succeed.
RETRYABLE = frozenset({"OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"})
TIMEOUT_S = 60


class SchedulerError(BenchError):
    """squeue or sacct did not answer (controller or accounting down)."""


@dataclass(frozen=True)
class Task:
    """One job or array task as the scheduler sees it."""

    job_id: str  # "14_4" for an array task, "21" for a plain job
    state: str  # SLURM's word (PENDING, RUNNING, COMPLETED, OUT_OF_MEMORY, ...) or UNKNOWN
    reason: str | None = None  # the scheduler's reason (a pending task's: Priority, PartitionConfig, ...)
    node: str | None = None
    exit_code: str | None = None  # sacct's "code:signal"
    end: str | None = None  # sacct's End time (ISO), once ended
    source: str = "none"  # squeue | sacct | sacct-range | none

    @property
    def live(self) -> bool:
        return self.state in ACTIVE

    @property
    def queued(self) -> bool:
        return self.state in QUEUED

    @property
    def ended(self) -> bool:
        return self.state in ENDED


def base_id(job_id: str) -> str:
    """"14_4" -> "14" (the array), "21" -> "21"."""
    return str(job_id).split("_")[0].split(".")[0]


def available() -> bool:
    return shutil.which("squeue") is not None and shutil.which("sacct") is not None


def query(job_ids: Iterable[str]) -> dict[str, Task]:
    """job id -> Task for every given job or array task (task ids "A_i", plain ids, or the raw id
    of an array task as SLURM_JOB_ID gives it, which comes back under its own key too)."""
    wanted = sorted({str(j) for j in job_ids if j})
    if not wanted:
        return {}
    bases = sorted({base_id(j) for j in wanted}, key=lambda b: (len(b), b))
    live = parse_squeue(_run(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(bases),
                              "-o", "%i|%A|%T|%r|%N"], "squeue"))
    acct = parse_sacct(_run(["sacct", "-X", "-n", "-P", "-j", ",".join(bases),
                             "-o", "JobID,JobIDRaw,State,NodeList,ExitCode,End"], "sacct"))
    return {j: resolve(j, live, acct) for j in wanted}


def resolve(job_id: str, live: dict[str, Task], acct: tuple[dict[str, Task], list[tuple[set[str], Task]]]) -> Task:
    """The one state of a task: squeue's line, else sacct's own line, else a final range record."""
    own, ranges = acct
    if job_id in live:
        task = live[job_id]
        if task.ended and job_id in own:  # recently ended: squeue's state, sacct's exit code and end time
            return Task(task.job_id, task.state, task.reason, task.node, own[job_id].exit_code, own[job_id].end,
                        "squeue")
        return task
    if job_id in own:
        return own[job_id]
    for members, task in ranges:
        if job_id in members and task.state in ENDED:
            return Task(job_id, task.state, task.reason, task.node, task.exit_code, task.end, "sacct-range")
    return Task(job_id, "UNKNOWN")


def parse_squeue(text: str) -> dict[str, Task]:
    """`squeue -h -r -o %i|%A|%T|%r|%N` lines -> task id (and raw id) -> Task."""
    out: dict[str, Task] = {}
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 5 or not parts[0]:
            continue
        jid, raw, state, reason, node = parts[:5]
        task = Task(jid, state.split()[0].upper(), None if reason in ("", "None") else reason, node or None,
                    source="squeue")
        out[jid] = task
        if raw and raw != jid:
            out.setdefault(raw, task)
    return out


_RANGE = re.compile(r"^(?P<base>\d+)_\[(?P<spec>[^\]]+)\]$")


def parse_sacct(text: str) -> tuple[dict[str, Task], list[tuple[set[str], Task]]]:
    """`sacct -X -n -P -o JobID,JobIDRaw,State,NodeList,ExitCode,End` lines -> (each task's own
    line by task id and raw id, and the range records with the task ids they span)."""
    own: dict[str, Task] = {}
    ranges: list[tuple[set[str], Task]] = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 3 or not parts[0] or "." in parts[0] or "+" in parts[0]:
            continue
        jid, raw, state = parts[0], parts[1], parts[2].split()[0].upper()  # "CANCELLED by 0" -> CANCELLED
        node = parts[3] if len(parts) > 3 and parts[3] not in ("", "None assigned") else None
        exit_code = parts[4] if len(parts) > 4 and parts[4] else None
        end = parts[5] if len(parts) > 5 and parts[5] not in ("", "Unknown") else None
        m = _RANGE.match(jid)
        if m:
            ranges.append((expand(m["base"], m["spec"]), Task(jid, state, None, node, exit_code, end, "sacct-range")))
            continue
        task = Task(jid, state, None, node, exit_code, end, "sacct")
        own[jid] = task
        if raw and raw != jid:
            own.setdefault(raw, task)
    return own, ranges


def expand(base: str, spec: str) -> set[str]:
    """"4,6-7%2" of array 14 -> {"14_4", "14_6", "14_7"} (the %N throttle is not a task)."""
    out = set()
    for part in spec.split("%")[0].split(","):
        lo, _, hi = part.partition("-")
        if lo.isdigit() and (not hi or hi.isdigit()):
            out.update(f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1))
    return out


def cancel(job_ids: Iterable[str]) -> str:
    """scancel these jobs or tasks (SIGTERM to running ones, which checkpoint); returns scancel's output."""
    ids = sorted({str(j) for j in job_ids})
    if not ids:
        return ""
    return _run(["scancel", *ids], "scancel")


def _run(cmd: list[str], what: str) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise SchedulerError(f"no {what} on PATH; run this where the SLURM commands are (a login node)") from None
    except subprocess.TimeoutExpired:
        raise SchedulerError(f"`{what}` did not answer within {TIMEOUT_S} s; check the cluster (sinfo), "
                             f"then try again") from None
    if out.returncode != 0:
        err = (out.stderr or out.stdout).strip()
        if "Invalid job id" in err:  # squeue: none of these jobs is held any more (they all ended long ago)
            return out.stdout
        raise SchedulerError(f"`{' '.join(cmd[:2])} ...` failed: {err.splitlines()[-1] if err else out.returncode}; "
                             f"check the cluster (sinfo, sacct), then try again")
    return out.stdout
