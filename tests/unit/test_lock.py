"""A run's lock file: a lock left by the same SLURM job (before it was requeued, maybe on another node)
is stale, and so is one whose SLURM job has ended by the scheduler's accounting, from whichever node;
any other live holder keeps the run. The scheduler's answer is given here (bench.store.scheduler.query);
tests/slurm/test_cluster_faults.py takes over a lock of a really ended job."""

from __future__ import annotations

import json

import pytest

from bench.store import scheduler
from bench.errors import BenchError
from bench.store.scheduler import Task
from bench.store.rundir import LOCK, RunDir


def held_by(tmp_path, **holder) -> RunDir:
    (tmp_path / LOCK).write_text(json.dumps({"pid": 1, "host": "node-a", "since": 0, **holder}))
    return RunDir(tmp_path)


@pytest.fixture
def accounting(monkeypatch):
    """The scheduler's state for each job id asked about (default: the job is unknown)."""
    states: dict[str, str] = {}
    asked: list[str] = []

    def query(ids):
        asked.extend(ids)
        return {i: Task(i, states.get(i, "UNKNOWN")) for i in ids}

    monkeypatch.setattr(scheduler, "available", lambda: True)
    monkeypatch.setattr(scheduler, "query", query)
    states["asked"] = asked  # type: ignore[assignment]
    return states


def test_lock_of_the_same_slurm_job_is_stale(tmp_path, monkeypatch, accounting):
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    run = held_by(tmp_path, slurm_job="77")
    run.lock()
    assert json.loads((tmp_path / LOCK).read_text())["slurm_job"] == "77"


@pytest.mark.parametrize("mine, theirs", [("78", "77"), (None, "77"), ("77", None)])
def test_lock_of_another_live_job_or_process_holds(tmp_path, monkeypatch, accounting, mine, theirs):
    accounting["77"] = "RUNNING"
    if mine:
        monkeypatch.setenv("SLURM_JOB_ID", mine)
    else:
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    run = held_by(tmp_path, slurm_job=theirs)
    with pytest.raises(BenchError, match="is in use by pid 1 on node-a"):
        run.lock()


@pytest.mark.parametrize("ended", ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL",
                                   "PREEMPTED"])
def test_lock_of_an_ended_job_on_another_node_is_taken_over(tmp_path, monkeypatch, accounting, capsys, ended):
    """Fault 2: a run OOM-killed (or scancel'd, or on a dead node) on node7 resumes on any node."""
    monkeypatch.setenv("SLURM_JOB_ID", "91")
    accounting["12_3"] = ended
    run = held_by(tmp_path, host="node7", pid=13363, slurm_job="40", slurm_task="12_3")
    run.lock()
    assert json.loads((tmp_path / LOCK).read_text())["slurm_job"] == "91"
    assert f"its SLURM job 12_3 has ended ({ended})" in capsys.readouterr().err


@pytest.mark.parametrize("state", ["RUNNING", "PENDING", "REQUEUED", "UNKNOWN"])
def test_lock_of_a_job_not_known_to_have_ended_holds(tmp_path, monkeypatch, accounting, state):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    accounting["12_3"] = state
    run = held_by(tmp_path, host="node7", pid=13363, slurm_job="40", slurm_task="12_3")
    with pytest.raises(BenchError, match=r"in use by pid 13363 on node7 \(SLURM job 12_3\)"):
        run.lock()


def test_no_answer_from_the_scheduler_keeps_off(tmp_path, monkeypatch):
    def down(ids):
        raise scheduler.SchedulerError("sacct: slurmdbd down")

    monkeypatch.setattr(scheduler, "available", lambda: True)
    monkeypatch.setattr(scheduler, "query", down)
    run = held_by(tmp_path, host="node7", slurm_job="40")
    with pytest.raises(BenchError, match="in use by pid 1 on node-a|in use by pid 1 on node7"):
        run.lock()
