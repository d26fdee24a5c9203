"""The one run state (bench.store.runstate) from run.json, the lock and the scheduler's tasks, and `bench status`
grouping it by reason. The scheduler's answers are given here as Task objects (parsing real squeue and
sacct output is tests/unit/test_scheduler.py; the real cluster is exercised in tests/slurm)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.cli.app import cli
from bench.errors import BenchError
from bench.store.runstate import run_state, sweep_states
from bench.store.scheduler import Task
from bench.store.logs import tail
from bench.sweep.status import append_jobs, groups, sweep_status, write_sweep

DEAD_PID = 2 ** 22 + 12345  # a pid no process has


def make_run(folder: Path, run_id: str, status: str, step: int = 10, **extra) -> Path:
    (folder / run_id).mkdir(parents=True, exist_ok=True)
    record = {"run_id": run_id, "status": status, "step": step, "config": {"schedule": {"steps": 100}},
              "host": socket.gethostname(), "pid": DEAD_PID, **extra}
    (folder / run_id / "run.json").write_text(json.dumps(record))
    return folder / run_id


def lock(run: Path, **holder) -> dict:
    holder = {"pid": DEAD_PID, "host": socket.gethostname(), "since": 0, **holder}
    (run / ".lock").write_text(json.dumps(holder))
    return holder


def slurm_job(folder: Path, job_id: str, **extra) -> dict:
    return {"run_id": "r", "executor": "slurm", "job_id": job_id, "folder": str(folder / "slurm-logs"), **extra}


def state_of(tmp_path, status, job_state, reason=None):
    record = json.loads((tmp_path / "r" / "run.json").read_text()) if status else None
    job = slurm_job(tmp_path, "7_1") if job_state else None
    tasks = {"7_1": Task("7_1", job_state, reason)} if job_state else {}
    return run_state(tmp_path / "r", record, job, tasks)


@pytest.mark.parametrize("status, job_state, expected", [
    (None, None, "pending"),  # never submitted
    (None, "PENDING", "pending"),
    (None, "RUNNING", "running"),  # importing, no run.json yet
    (None, "FAILED", "failed"),  # died before the run started
    (None, "CANCELLED", "interrupted"),  # cancelled before it started: submitting again starts it
    (None, "UNKNOWN", "interrupted"),  # cancelled while pending leaves no accounting record
    ("running", "RUNNING", "running"),
    ("running", "REQUEUED", "pending"),  # requeued after preemption, waiting
    ("running", "OUT_OF_MEMORY", "failed"),  # killed without a chance to write
    ("running", "NODE_FAIL", "failed"),
    ("running", "TIMEOUT", "failed"),
    ("running", "CANCELLED", "interrupted"),  # scancel'd while training, without its last words
    ("interrupted", "PENDING", "pending"),  # checkpointed and requeued
    ("interrupted", "COMPLETED", "interrupted"),  # not requeued: a re-submission resumes it
    ("failed", "FAILED", "failed"),
    ("failed", "RUNNING", "running"),  # a re-submission is retrying it
    ("done", "COMPLETED", "done"),
    ("done", "RUNNING", "done"),  # the job is still exiting; the run is done
    ("diverged", "COMPLETED", "diverged"),
])
def test_state_from_run_json_and_job(tmp_path, status, job_state, expected):
    if status:
        make_run(tmp_path, "r", status, error="RuntimeError: boom" if status == "failed" else None)
    s = state_of(tmp_path, status, job_state)
    assert s.state == expected
    if expected in ("failed", "interrupted", "pending"):
        assert s.reason  # every such run says why
    if job_state:
        assert s.log == tmp_path / "slurm-logs" / "7_1_0_log.err"


def test_pending_shows_the_schedulers_reason(tmp_path):
    s = state_of(tmp_path, None, "PENDING", reason="PartitionConfig")
    assert (s.state, s.reason, s.held) == ("pending", "queued (PartitionConfig)", True)


def test_a_live_lock_holder_wins_over_a_newer_job(tmp_path):
    """Fault 1's duplicate: the run's original job still trains it (it holds the lock) while the newest
    job in jobs.jsonl failed on that lock: the run is running, held by the older job."""
    run = make_run(tmp_path, "r", "running")
    holder = lock(run, host="node7", pid=13363, slurm_job="8", slurm_task="7_4")
    job = slurm_job(tmp_path, "9_0")
    tasks = {"9_0": Task("9_0", "FAILED"), "7_4": Task("7_4", "RUNNING")}
    s = run_state(run, json.loads((run / "run.json").read_text()), job, tasks, holder)
    assert (s.state, s.held) == ("running", True) and "held by job 7_4 on node7" in s.detail


def test_a_lock_whose_job_ended_does_not_hold(tmp_path):
    run = make_run(tmp_path, "r", "running")
    holder = lock(run, host="node7", pid=13363, slurm_job="8", slurm_task="7_4")
    tasks = {"7_4": Task("7_4", "OUT_OF_MEMORY")}
    s = run_state(run, json.loads((run / "run.json").read_text()), slurm_job(tmp_path, "7_4"), tasks, holder)
    assert (s.state, s.held) == ("failed", False)
    assert s.reason == "its job ended OUT_OF_MEMORY while the run was training"


def test_running_without_a_job_trusts_a_live_process(tmp_path):
    for rid, pid, host in (("dead", DEAD_PID, socket.gethostname()), ("alive", os.getpid(), socket.gethostname()),
                           ("elsewhere", DEAD_PID, "some-other-node")):
        lock(make_run(tmp_path, rid, "running", pid=pid, host=host), pid=pid, host=host)
    states = {s.run_id: s for s in sweep_states(tmp_path, ["dead", "alive", "elsewhere"])}
    assert states["dead"].state == "interrupted" and "gone without a word" in states["dead"].reason
    assert states["alive"].state == "running"
    assert states["elsewhere"].state == "running" and "cannot be checked from here" in states["elsewhere"].detail


def test_sweep_lists_planned_and_found_runs(tmp_path):
    make_run(tmp_path, "a", "done")
    make_run(tmp_path, "extra", "diverged")
    write_sweep(tmp_path, {"name": "x"}, ["a", "b"], "local", "default")
    write_sweep(tmp_path, {"name": "x"}, ["b", "c"], "local", "default")  # a re-submission with more runs
    append_jobs(tmp_path, [{"run_id": "b", "executor": "local", "job_id": str(DEAD_PID),
                            "folder": str(tmp_path / "local-logs"), "host": socket.gethostname()}])
    states = {s.run_id: s for s in sweep_status(tmp_path)}
    assert {k: s.state for k, s in states.items()} == {"a": "done", "b": "failed", "c": "pending", "extra": "diverged"}
    # b's local process is gone and it never wrote run.json
    assert states["b"].error == "its job ended (EXITED) before the run started"


def test_groups_put_runs_in_the_same_situation_on_one_line(tmp_path):
    for i in range(30):
        make_run(tmp_path, f"oom{i:02d}", "running")
    make_run(tmp_path, "boom", "failed", error="RuntimeError: boom")
    jobs = [slurm_job(tmp_path, f"5_{i}", run_id=f"oom{i:02d}") for i in range(30)]
    append_jobs(tmp_path, jobs)
    tasks = {j["job_id"]: Task(j["job_id"], "OUT_OF_MEMORY") for j in jobs}
    states = [run_state(tmp_path / j["run_id"], json.loads((tmp_path / j["run_id"] / "run.json").read_text()), j,
                        tasks) for j in jobs]
    states.append(run_state(tmp_path / "boom", json.loads((tmp_path / "boom" / "run.json").read_text()), None, {}))
    g = groups(states)
    assert [(x.state, len(x.runs), x.reason) for x in g] == [
        ("failed", 30, "its job ended OUT_OF_MEMORY while the run was training"),
        ("failed", 1, "RuntimeError: boom")]


def test_tail_returns_the_last_lines(tmp_path):
    log = tmp_path / "x.err"
    log.write_text("Traceback (most recent call last):\n" + "".join(f"  line {i}\n" for i in range(20))
                   + "\nValueError: bad\n")
    assert tail(log, 3) == ["  line 18", "  line 19", "ValueError: bad"]
    assert tail(tmp_path / "missing.err") == [] and tail(None) == []


def test_status_command_groups_and_lists(tmp_path):
    folder = tmp_path / "results" / "sw"
    make_run(folder, "ok", "done")
    make_run(folder, "bad", "failed", error="RuntimeError: the critic exploded")
    make_run(folder, "bad2", "failed", error="RuntimeError: the critic exploded")
    make_run(folder, "div", "diverged")
    logs = folder / "local-logs"
    logs.mkdir()
    (logs / "4242_0_log.err").write_text("Traceback (most recent call last):\n  File x\nRuntimeError: the critic "
                                         "exploded\n")
    append_jobs(folder, [{"run_id": "bad", "executor": "local", "job_id": "4242", "folder": str(logs),
                          "host": "another-host"}])
    res = CliRunner().invoke(cli, ["status", str(folder)])
    assert res.exit_code == 0, res.output
    assert "4 runs: 0 pending, 0 running, 1 done, 2 failed, 1 diverged, 0 interrupted" in res.output
    assert "  failed          2  RuntimeError: the critic exploded" in res.output
    assert "e.g. bad  job 4242 EXITED, step 10/100" in res.output
    assert f"log: {logs / '4242_0_log.err'}" in res.output
    assert "bad2" not in res.output  # one example per reason
    res = CliRunner().invoke(cli, ["status", str(folder), "--state", "failed"])
    assert "bad2" in res.output and "| RuntimeError: the critic exploded" in res.output
    # without a folder: every folder of runs under the results root, from bench sweep or bench run
    make_run(tmp_path / "results" / "from-bench-run", "solo", "done")
    res = CliRunner().invoke(cli, ["status", "--results", str(tmp_path / "results"), "-v"])
    assert res.exit_code == 0 and "from-bench-run: 1 run: 0 pending, 0 running, 1 done" in res.output
    assert "ok" in res.output and "solo" in res.output


def test_status_of_a_folder_without_runs(tmp_path):
    with pytest.raises(BenchError, match="holds no runs"):
        sweep_status(tmp_path)
    with pytest.raises(BenchError, match="is not a results folder"):
        sweep_status(tmp_path / "nope")


def test_a_run_folder_with_another_config_stops_the_submission(tmp_path):
    from bench.config import RunOptions, plan_runs
    from bench.sweep.submit import triage

    [cfg] = plan_runs(["gan"], "mlp", "8gaussians", [0], options=RunOptions.of(steps=20))
    make_run(tmp_path, cfg.run_id, "done")  # its config differs from cfg's
    with pytest.raises(BenchError, match="different configuration under the same id: .*; submit the sweep under another"):
        triage([cfg], tmp_path)


def test_report_labels_runs_as_status_does(tmp_path):
    """Fault 3: a run.json that says running with a lock left by a dead process (kill -9) was `running`
    in the report forever; the report now asks the same function as `bench status`."""
    from bench.report.load import run_status

    run = make_run(tmp_path, "r", "running")
    lock(run)
    record = json.loads((run / "run.json").read_text())
    [s] = sweep_states(tmp_path, ["r"])
    assert run_status(run, record) == s.state == "interrupted"


def test_a_run_waiting_in_a_running_task_of_several_runs_is_pending(tmp_path):
    """runs_per_task: the task runs, this run's turn has not come (or a pack of one starts up)."""
    tasks = {"7_1": Task("7_1", "RUNNING")}
    waiting = run_state(tmp_path / "r", None, slurm_job(tmp_path, "7_1", task_packs=3), tasks)
    assert (waiting.state, waiting.reason, waiting.held) == ("pending", "waiting for the other runs of its job", True)
    starting = run_state(tmp_path / "r", None, slurm_job(tmp_path, "7_1", task_packs=1), tasks)
    assert (starting.state, starting.reason, starting.held) == ("running", "starting", True)
