"""Automatic retries of array tasks that ended OUT_OF_MEMORY, NODE_FAIL or PREEMPTED (to_retry says how a
preempted task that saved its checkpoint in its grace time is recognised).

Those ends say nothing against the run itself (a node died, another job took the node, a peak of
memory on a busy node), and the run resumes exactly from its checkpoint, so they are worth a second
try without the user. With each job array, bench.sweep.submit also submits a small retry job
(`--dependency=afterany:<array>`: it starts once every task of the array has ended, however). It
reads each task's end from the scheduler (bench.store.scheduler: each task's own record), and submits the
unfinished runs of the tasks that ended so again, as a new array with its own retry job, at most the
profile's `max_retries` times in a row; the new jobs import the same code snapshot. A run whose task
ended otherwise (FAILED, CANCELLED, TIMEOUT after max_timeouts requeues) is left for the user:
`bench status` says why, and submitting the sweep again resumes it.

The runs' configs are pickled next to the logs (.retry/<array>.pkl) and read only when something
needs a retry, so that a retry job with nothing to do never imports torch.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from pathlib import Path

from bench.store import scheduler
from bench.sweep.profile import Profile
from bench.store.runstate import latest_jobs, read_record
from bench.sweep.status import RETRY_JOBS, append_jobs

RETRY_DIR = ".retry"
WATCH_TIME = "0:15:00"


class RetryJob:
    """What the retry job runs (a plain picklable callable, as submitit submits it)."""

    def __call__(self, folder: str, array: str, profile: Profile, code: str, retry: int) -> list[str]:
        return retry_array(Path(folder), array, profile, Path(code), retry)


def submit_watch(folder: Path, array: str, tasks: list, profile: Profile, code: Path, retry: int) -> dict:
    """Submit the retry job of `array` (one CPU, a few minutes, after every task has ended)."""
    from bench.sweep.executors import make_executor

    store = folder / RETRY_DIR / f"{array}.pkl"
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.with_name(f".{store.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        pickle.dump(tasks, f)
    os.replace(tmp, store)
    small = dataclasses.replace(profile, cpus_per_task=1, gpus_per_task=0, mem_gb=None, time=WATCH_TIME,
                                array_parallelism=None, constraint=None)
    extra = {"slurm_additional_parameters": {**profile.sbatch, "dependency": f"afterany:{array}",
                                             "kill-on-invalid-dep": "yes"}}
    ex = make_executor("slurm", folder / "slurm-logs", small, f"bench-{folder.name}-retry", code, extra)
    job = ex.submit(RetryJob(), str(folder), array, profile, str(code), retry)
    record = {"job_id": job.job_id, "executor": "slurm", "kind": "retry", "watches": array, "retry": retry,
              "folder": str(folder / "slurm-logs"), "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "submitted_ts": time.time()}
    append_jobs(folder, [record], RETRY_JOBS)
    return record


def to_retry(folder: Path, array: str) -> dict[str, str]:
    """run id -> how its task ended, for the unfinished runs of `array` (not submitted again since)
    whose task ended OUT_OF_MEMORY, NODE_FAIL or PREEMPTED.

    A task preempted with PreemptMode=CANCEL gets SIGTERM and GraceTime seconds: a run saves its
    checkpoint and the job exits, so SLURM records COMPLETED (or FAILED), not PREEMPTED, which it
    keeps for jobs killed at the end of the grace time. A task that ended so while one of its runs
    was interrupted by SIGTERM was therefore preempted: scancel would have left CANCELLED, and
    scontrol requeue would have left the job in the queue."""
    mine = {rid: r for rid, r in latest_jobs(folder).items() if r.get("array") == array}
    tasks = scheduler.query({r["job_id"] for r in mine.values()})
    records = {rid: read_record(folder / rid) or {} for rid in mine}
    ended = {}
    for rid, r in mine.items():
        state = tasks[r["job_id"]].state
        if state in scheduler.RETRYABLE:
            ended[r["job_id"]] = state
        elif state in ("COMPLETED", "FAILED") and _stopped_by_sigterm_in(records[rid], r["job_id"]):
            ended[r["job_id"]] = f"{state} after SIGTERM: preempted"
    return {rid: ended[r["job_id"]] for rid, r in mine.items()
            if r["job_id"] in ended and records[rid].get("status") not in ("done", "diverged")}


def _stopped_by_sigterm_in(record: dict, job: str) -> bool:
    attempts = record.get("attempts") or []
    return record.get("status") == "interrupted" and str(record.get("interrupted_by", "")).startswith("SIGTERM") \
        and bool(attempts) and attempts[-1].get("job") == job


def retry_array(folder: Path, array: str, profile: Profile, code: Path, retry: int) -> list[str]:
    """In the retry job: submit again the runs to_retry finds; returns their ids."""
    found = to_retry(folder, array)
    if not found:
        print(f"bench: array {array}: no task ended OUT_OF_MEMORY, NODE_FAIL or PREEMPTED; nothing to retry",
              flush=True)
        return []
    with open(folder / RETRY_DIR / f"{array}.pkl", "rb") as f:
        tasks = pickle.load(f)
    todo = [cfg for task in tasks for pack in task for cfg in pack if cfg.run_id in found]
    for rid, state in sorted(found.items()):
        print(f"bench: {rid}: its task ended {state}; retry {retry + 1} of {profile.max_retries}", flush=True)
    from bench.sweep.submit import submit_slurm

    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("SLURM_", "SBATCH_")) and k != "SLURM_CONF"]:
        del os.environ[key]  # this job's own settings must not leak into the jobs it submits
    try:
        records = submit_slurm(todo, folder.parent, folder.name, profile, code, retry=retry + 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    print(f"bench: submitted job array {records[0]['array']} for {len(todo)} run(s)", flush=True)
    return [r["run_id"] for r in records]
