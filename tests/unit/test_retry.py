"""Which runs a retry job submits again (bench.sweep.retry.to_retry): those of tasks that ended OUT_OF_MEMORY,
NODE_FAIL or PREEMPTED, or that checkpointed on a preemption's SIGTERM and exited in their grace time
(SLURM then says COMPLETED); never a cancelled, failed or finished run, nor one submitted again since.
The scheduler's answers are given; tests/slurm/test_retries.py preempts real jobs."""

from __future__ import annotations

import json

from bench.store import scheduler
from bench.sweep import retry
from bench.store.scheduler import Task
from bench.sweep.status import append_jobs


def run(folder, rid, status, job, **extra):
    (folder / rid).mkdir(parents=True)
    rec = {"run_id": rid, "status": status, "attempts": [{"job": job}], **extra}
    (folder / rid / "run.json").write_text(json.dumps(rec))


def test_runs_to_retry(tmp_path, monkeypatch):
    ends = {"9_0": "OUT_OF_MEMORY", "9_1": "NODE_FAIL", "9_2": "PREEMPTED", "9_3": "CANCELLED", "9_4": "FAILED",
            "9_5": "COMPLETED", "9_6": "OUT_OF_MEMORY", "9_7": "COMPLETED", "12_0": "RUNNING"}
    monkeypatch.setattr(scheduler, "query", lambda ids: {i: Task(i, ends[i]) for i in ids})
    run(tmp_path, "oom", "running", "9_0")
    run(tmp_path, "node", "running", "9_1")
    run(tmp_path, "pre", "interrupted", "9_2", interrupted_by="SIGTERM (...)")
    run(tmp_path, "cancelled", "interrupted", "9_3", interrupted_by="SIGTERM (...)")
    run(tmp_path, "failed", "failed", "9_4", error="RuntimeError: boom")
    run(tmp_path, "graced", "interrupted", "9_5", interrupted_by="SIGTERM (scancel, ...)")
    run(tmp_path, "done", "done", "9_6")
    run(tmp_path, "again", "running", "9_7")
    append_jobs(tmp_path, [{"run_id": r, "job_id": j, "array": j.split("_")[0], "executor": "slurm"} for r, j in [
        ("oom", "9_0"), ("node", "9_1"), ("pre", "9_2"), ("cancelled", "9_3"), ("failed", "9_4"), ("graced", "9_5"),
        ("done", "9_6"), ("again", "9_7"), ("again", "12_0")]])  # "again" was submitted anew since
    assert retry.to_retry(tmp_path, "9") == {"oom": "OUT_OF_MEMORY", "node": "NODE_FAIL", "pre": "PREEMPTED",
                                             "graced": "COMPLETED after SIGTERM: preempted"}


def test_runs_per_task_groups_packs_into_array_tasks():
    from bench.config import RunOptions, plan_runs
    from bench.sweep.jobs import units
    from bench.sweep.submit import job_arg, plan_tasks

    cfgs = plan_runs(["gan", "wgan"], "mlp", "8gaussians", [0, 1, 2], options=RunOptions.of(steps=10))
    tasks = plan_tasks(cfgs, 4)
    assert [[len(p) for p in t] for t in tasks] == [[1, 1, 1, 1], [1, 1]]
    assert [c.run_id for t in tasks for p in t for c in p] == [c.run_id for c in cfgs]  # every run, once, in order
    assert plan_tasks(cfgs, 1) == [[[c]] for c in cfgs]
    # what a job is called with, and how it reads it back
    assert job_arg(tasks[1]) == [[cfgs[4]], [cfgs[5]]] and units(job_arg(tasks[1])) == tasks[1]
    assert job_arg([[cfgs[0]]]) is cfgs[0] and units(cfgs[0]) == [[cfgs[0]]]
    packed = plan_runs(["gan"], "mlp", "8gaussians", [0, 1, 2], options=RunOptions.of(steps=10, pack=3))
    assert plan_tasks(packed, 2) == [[packed]]  # a pack larger than runs_per_task gets a task of its own
    assert units(job_arg([packed])) == [packed]
