"""A run's lock file: a lock left by the same SLURM job (before it was requeued, maybe on another node)
is stale; any other live holder keeps the run."""

from __future__ import annotations

import json

import pytest

from bench.errors import BenchError
from bench.store import LOCK, RunDir


def held_by(tmp_path, **holder) -> RunDir:
    (tmp_path / LOCK).write_text(json.dumps({"pid": 1, "host": "node-a", "since": 0, **holder}))
    return RunDir(tmp_path)


def test_lock_of_the_same_slurm_job_is_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    run = held_by(tmp_path, slurm_job="77")
    run.lock()
    assert json.loads((tmp_path / LOCK).read_text())["slurm_job"] == "77"


@pytest.mark.parametrize("mine, theirs", [("78", "77"), (None, "77"), ("77", None)])
def test_lock_of_another_job_or_process_holds(tmp_path, monkeypatch, mine, theirs):
    if mine:
        monkeypatch.setenv("SLURM_JOB_ID", mine)
    else:
        monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    run = held_by(tmp_path, slurm_job=theirs)
    with pytest.raises(BenchError, match="is in use by pid 1 on node-a"):
        run.lock()
