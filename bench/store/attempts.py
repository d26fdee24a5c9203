"""A run's attempts: every process (and SLURM job) that trained it, in its run.json.

    "attempts": [{"job": "14_4", "host": "node7", "pid": 1234, "requeues": 0,
                  "started_at": "...", "started_ts": 1795988394.685, "resumed_from_step": null,
                  "ended_at": "...", "ended_ts": ..., "ended": "interrupted by USR2 (...)"}, ...]

A process adds its attempt when it starts training and says how it ended when it stops (done,
diverged, interrupted by a signal, failed with an error). A process killed without a chance to write
(kill -9, out of memory, a lost node) leaves its attempt open; the next attempt closes it with what
the scheduler's accounting says of its job (e.g. "killed: its job ended OUT_OF_MEMORY"), so the
history reads whole even across nodes. `bench status` shows the latest attempt and the count.
"""

from __future__ import annotations

import os
import socket
import time


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def this_job() -> str | None:
    """The SLURM task ("14_4") or job running this process, or submitit's local job; None outside both."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    if os.environ.get("SLURM_JOB_ID"):
        return os.environ["SLURM_JOB_ID"]
    local = os.environ.get("SUBMITIT_LOCAL_JOB_ID")
    return f"local {local}" if local else None


def begin(previous: dict | None, resumed_from_step: int | None) -> list[dict]:
    """The attempts so far (from the run.json being replaced), the last one closed, plus this one."""
    attempts = [dict(a) for a in (previous or {}).get("attempts") or []]
    if previous and not attempts and previous.get("started_at"):  # written before attempts were kept
        slurm = previous.get("slurm") or {}
        attempts.append({"job": slurm.get("SLURM_JOB_ID"), "host": previous.get("host"), "pid": previous.get("pid"),
                         "started_at": previous.get("started_at"),
                         "resumed_from_step": previous.get("resumed_from_step"),
                         **({} if previous.get("status") == "running" else
                            {"ended_at": previous.get("finished_at"), "ended": previous.get("status")})})
    if attempts and "ended" not in attempts[-1]:
        attempts[-1].update(verdict(attempts[-1]))
    attempts.append({"job": this_job(), "host": socket.gethostname(), "pid": os.getpid(),
                     "requeues": int(os.environ.get("SLURM_RESTART_COUNT") or 0), "started_at": now(),
                     "started_ts": round(time.time(), 3), "resumed_from_step": resumed_from_step})
    return attempts


def end(record: dict, how: str) -> None:
    """Close this process's attempt (the last one) in `record`."""
    attempts = record.get("attempts") or []
    if attempts:
        attempts[-1].update(ended_at=now(), ended_ts=round(time.time(), 3), ended=how)


def verdict(attempt: dict) -> dict:
    """How an attempt that never said so ended: its job's end by the scheduler's accounting, if any."""
    job = attempt.get("job")
    if job and not str(job).startswith("local"):
        from bench.store import scheduler

        if scheduler.available():
            try:
                task = scheduler.query([job])[job]
            except scheduler.SchedulerError:
                task = None
            if task is not None and task.ended:
                return {"ended": f"killed without a word: its job ended {task.state}", "ended_at": task.end}
    return {"ended": "killed without a word (kill -9, out of memory or a lost node?)", "ended_at": None}


def how(status: str, record: dict) -> str:
    """The `ended` words for a run that stops with `status` (its record says why)."""
    if status == "interrupted":
        return f"interrupted by {record.get('interrupted_by') or 'a stop request'}"
    if status == "failed":
        return f"failed: {record.get('error')}"
    return status
