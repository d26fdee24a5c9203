"""Where a sweep stands: each run's state from its run.json and from the scheduler, and for each failure
its last error lines and its log.

A sweep folder (results/<name>/) holds the runs (<run-id>/run.json), sweep.json (the grid and its run
ids, written by `bench sweep`) and jobs.jsonl (one line per submitted run: executor, job id, log folder).
run.json says what the run itself last wrote; the scheduler (SLURM's accounting, through submitit)
says what became of its job, which matters when a job was killed before it could write anything
(time limit without requeue, out of memory, scancel, a node failure) or is waiting in the queue.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.store import RUN_JSON, _alive, atomic_write_json, read_json, read_jsonl

SWEEP_JSON = "sweep.json"
JOBS_JSONL = "jobs.jsonl"
STATES = ("pending", "running", "done", "failed", "diverged", "interrupted")

# SLURM job states (sacct) by what they mean for a run.
QUEUED = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED", "RESV_DEL_HOLD", "CONFIGURING"}
ACTIVE = QUEUED | {"RUNNING", "COMPLETING", "RESIZING", "SIGNALING", "STAGE_OUT"}
FRESH_S = 300  # a job sacct does not know yet is taken as queued for this long after its submission


@dataclass
class RunState:
    run_id: str
    state: str  # one of STATES
    detail: str = ""  # e.g. "job 123_4 PENDING", "step 300/300"
    error: str | None = None  # run.json's error line, or what the scheduler says
    log: Path | None = None  # the job's stderr log, when there is one
    job_id: str | None = None
    job_state: str | None = None


# -- the sweep folder -----------------------------------------------------------------------------------
def write_sweep(folder: Path, spec: dict, run_ids: list[str], executor: str, profile: str) -> None:
    """Record the grid; run ids of earlier submissions of this folder are kept, so status still lists them."""
    path = folder / SWEEP_JSON
    old = read_json(path).get("runs", []) if path.exists() else []
    atomic_write_json(path, {"spec": spec, "executor": executor, "profile": profile,
                             "runs": list(dict.fromkeys([*old, *run_ids]))})


def append_jobs(folder: Path, records: list[dict]) -> None:
    """One line per submitted run (appended and flushed; the latest line for a run id wins)."""
    import json

    with open(folder / JOBS_JSONL, "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
        f.flush()
        os.fsync(f.fileno())


def latest_jobs(folder: Path) -> dict[str, dict]:
    return {r["run_id"]: r for r in read_jsonl(folder / JOBS_JSONL)}


def run_ids(folder: Path) -> list[str]:
    """The sweep's runs: those sweep.json lists, then any other run folder (e.g. from `bench run`)."""
    listed = read_json(folder / SWEEP_JSON).get("runs", []) if (folder / SWEEP_JSON).exists() else []
    on_disk = sorted(p.parent.name for p in folder.glob(f"*/{RUN_JSON}"))
    return list(dict.fromkeys([*listed, *on_disk]))


# -- the scheduler's view -------------------------------------------------------------------------------
def job_states(jobs: dict[str, dict]) -> dict[str, str]:
    """run id -> the scheduler's state of its latest job (SLURM: one sacct call for all of them)."""
    out: dict[str, str] = {}
    slurm = {rid: j for rid, j in jobs.items() if j["executor"] == "slurm"}
    if slurm:
        from submitit.slurm.slurm import SlurmInfoWatcher

        # A watcher of our own, not submitit's shared one: that one caches a job it once saw in a
        # final state, and a requeued job passes through such states.
        watcher = SlurmInfoWatcher()
        for j in slurm.values():
            watcher.register_job(j["job_id"])
        watcher.update()  # one sacct call for all of them
        for rid, j in slurm.items():
            # "CANCELLED by 0" -> CANCELLED; UNKNOWN: sacct does not know the job (yet)
            out[rid] = watcher.get_state(j["job_id"], mode="cache").split()[0].upper()
    for rid, j in jobs.items():
        if j["executor"] == "local":  # job id = the pid of submitit's controller on the submitting host
            alive = j.get("host") == socket.gethostname() and _alive(int(j["job_id"]))
            out[rid] = "RUNNING" if alive else "EXITED"
    return out


def live(job: dict, state: str | None) -> bool:
    """Whether a job may still run its run: queued or running, or too fresh for sacct to know it."""
    fresh = time.time() - job.get("submitted_ts", 0) < FRESH_S
    return state in ACTIVE or (state == "UNKNOWN" and fresh)


def log_path(job: dict) -> Path:
    from submitit.core.utils import JobPaths

    return JobPaths(job["folder"], job_id=job["job_id"], task_id=0).stderr


# -- one run --------------------------------------------------------------------------------------------
def run_state(folder: Path, run_id: str, job: dict | None, job_state: str | None) -> RunState:
    rec = _read_run(folder / run_id)
    status = rec.get("status") if rec else None
    log = log_path(job) if job else None
    jid = job["job_id"] if job else None
    step = f"step {rec.get('step', 0)}/{rec['config']['schedule']['steps']}" if rec and "config" in rec else ""
    where = f"job {jid} {job_state}" if jid else ""

    def state(name: str, detail: str = "", error: str | None = None) -> RunState:
        return RunState(run_id, name, detail, error, log, jid, job_state)

    if status in ("done", "diverged"):
        return state(status, step)
    if job_state in QUEUED:
        return state("pending", ", ".join(x for x in (where, step and f"resumes at {step}") if x))
    if job_state in ACTIVE:
        return state("running", ", ".join(x for x in (where, step) if x))
    # No live job: what the run last wrote decides.
    both = ", ".join(x for x in (where, step) if x)
    if status == "failed":
        return state("failed", both, rec.get("error"))
    if status == "interrupted":
        return state("interrupted", f"{both}; submit the sweep again to resume", None)
    if status == "running":
        if job_state in (None, "UNKNOWN") and _may_be_alive(rec):
            return state("running", step)
        reason = f"its job ended ({job_state}) while the run was training" if job_state else \
            f"its process (pid {rec.get('pid')} on {rec.get('host')}) is gone"
        return state("failed", both, reason)
    if job_state and job_state not in ("COMPLETED", "UNKNOWN"):
        raised = exception_line(log)
        return state("failed", where, f"its job ended ({job_state}) before the run started"
                     + (f": {raised}" if raised else ""))
    return state("pending", where or "not submitted")


def _read_run(path: Path) -> dict | None:
    try:
        return read_json(path / RUN_JSON) if (path / RUN_JSON).exists() else None
    except ValueError:
        return None


def _may_be_alive(rec: dict) -> bool:
    """A run.json that says running, with no job to ask: trust it unless its process is gone from this host."""
    if rec.get("host") != socket.gethostname():
        return True
    return _alive(int(rec.get("pid") or -1))


# -- the whole sweep ------------------------------------------------------------------------------------
def sweep_status(folder: Path) -> list[RunState]:
    if not folder.is_dir():
        raise BenchError(f"{folder} is not a results folder; pass RESULTS/NAME, e.g. bench status results/my-sweep")
    ids = run_ids(folder)
    if not ids:
        raise BenchError(f"{folder} holds no runs and no sweep.json; pass the folder a `bench sweep` or `bench run` "
                         f"wrote, e.g. results/<name>")
    jobs = latest_jobs(folder)
    states = job_states({rid: j for rid, j in jobs.items() if rid in ids})
    return [run_state(folder, rid, jobs.get(rid), states.get(rid)) for rid in ids]


def counts(states: list[RunState]) -> Counter:
    return Counter(s.state for s in states)


def exception_line(log: Path | None) -> str | None:
    """The last 'SomeError: message' line of a log (the exception a job died of), if any."""
    for line in reversed(tail(log, 200)):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line):
            return line
    return None


def tail(path: Path | None, n: int = 5) -> list[str]:
    """The last n non-empty lines of a log (a traceback ends with the exception)."""
    if path is None or not path.exists():
        return []
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 64_000))
        lines = [ln.rstrip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    return lines[-n:]
