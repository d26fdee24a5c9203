"""`bench status`: each run's state from its run.json and its job's scheduler state, and for each failure
its error, its log path and the log's last lines. The scheduler states are given here; the real
cluster's are exercised in tests/slurm."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.cli import cli
from bench.errors import BenchError
from bench.status import append_jobs, run_state, sweep_status, tail, write_sweep


def make_run(folder: Path, run_id: str, status: str, step: int = 10, **extra) -> None:
    (folder / run_id).mkdir(parents=True)
    record = {"run_id": run_id, "status": status, "step": step, "config": {"schedule": {"steps": 100}},
              "host": socket.gethostname(), "pid": 2 ** 22 + 12345, **extra}  # a pid no process has
    (folder / run_id / "run.json").write_text(json.dumps(record))


def slurm_job(folder: Path, job_id: str) -> dict:
    return {"run_id": "r", "executor": "slurm", "job_id": job_id, "folder": str(folder / "slurm-logs")}


@pytest.mark.parametrize("status, job_state, expected", [
    (None, None, "pending"),  # never submitted
    (None, "PENDING", "pending"),
    (None, "UNKNOWN", "pending"),  # sacct does not know a fresh job yet
    (None, "RUNNING", "running"),  # importing, no run.json yet
    (None, "FAILED", "failed"),  # died before the run started
    ("running", "RUNNING", "running"),
    ("running", "REQUEUED", "pending"),  # requeued after preemption, waiting
    ("running", "OUT_OF_MEMORY", "failed"),  # killed without a chance to write
    ("running", "TIMEOUT", "failed"),
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
    job = slurm_job(tmp_path, "7_1") if job_state else None
    s = run_state(tmp_path, "r", job, job_state)
    assert s.state == expected
    if expected == "failed":
        assert s.error  # every failure says why
    if job:
        assert s.log == tmp_path / "slurm-logs" / "7_1_0_log.err"


def test_running_without_a_job_trusts_a_live_process(tmp_path):
    make_run(tmp_path, "dead", "running")
    make_run(tmp_path, "alive", "running", pid=__import__("os").getpid())
    make_run(tmp_path, "elsewhere", "running", host="some-other-node")
    assert run_state(tmp_path, "dead", None, None).state == "failed"
    assert "is gone" in run_state(tmp_path, "dead", None, None).error
    assert run_state(tmp_path, "alive", None, None).state == "running"
    assert run_state(tmp_path, "elsewhere", None, None).state == "running"


def test_sweep_lists_planned_and_found_runs(tmp_path):
    make_run(tmp_path, "a", "done")
    make_run(tmp_path, "extra", "diverged")
    write_sweep(tmp_path, {"name": "x"}, ["a", "b"], "local", "default")
    write_sweep(tmp_path, {"name": "x"}, ["b", "c"], "local", "default")  # a re-submission with more runs
    append_jobs(tmp_path, [{"run_id": "b", "executor": "local", "job_id": str(2 ** 22 + 12345),
                            "folder": str(tmp_path / "local-logs"), "host": socket.gethostname()}])
    states = {s.run_id: s for s in sweep_status(tmp_path)}
    assert {k: s.state for k, s in states.items()} == {"a": "done", "b": "failed", "c": "pending", "extra": "diverged"}
    # b's local process is gone and it never wrote run.json
    assert states["b"].error == "its job ended (EXITED) before the run started"


def test_tail_returns_the_last_lines(tmp_path):
    log = tmp_path / "x.err"
    log.write_text("Traceback (most recent call last):\n" + "".join(f"  line {i}\n" for i in range(20))
                   + "\nValueError: bad\n")
    assert tail(log, 3) == ["  line 18", "  line 19", "ValueError: bad"]
    assert tail(tmp_path / "missing.err") == [] and tail(None) == []


def test_status_command_shows_counts_errors_and_logs(tmp_path):
    folder = tmp_path / "results" / "sw"
    make_run(folder, "ok", "done")
    make_run(folder, "bad", "failed", error="RuntimeError: the critic exploded")
    make_run(folder, "div", "diverged")
    logs = folder / "local-logs"
    logs.mkdir()
    (logs / "4242_0_log.err").write_text("Traceback (most recent call last):\n  File x\nRuntimeError: the critic "
                                         "exploded\n")
    append_jobs(folder, [{"run_id": "bad", "executor": "local", "job_id": "4242", "folder": str(logs),
                          "host": "another-host"}])
    res = CliRunner().invoke(cli, ["status", str(folder)])
    assert res.exit_code == 0, res.output
    assert "3 runs: 0 pending, 0 running, 1 done, 1 failed, 1 diverged, 0 interrupted" in res.output
    assert "failed      bad" in res.output
    assert "error: RuntimeError: the critic exploded" in res.output
    assert f"log: {logs / '4242_0_log.err'}" in res.output
    assert "| RuntimeError: the critic exploded" in res.output
    # without a folder: every sweep under the results root
    res = CliRunner().invoke(cli, ["status", "--results", str(tmp_path / "results"), "-v"])
    assert res.exit_code == 0 and "done        ok" in res.output


def test_status_of_a_folder_without_runs(tmp_path):
    with pytest.raises(BenchError, match="holds no runs"):
        sweep_status(tmp_path)
    with pytest.raises(BenchError, match="is not a results folder"):
        sweep_status(tmp_path / "nope")


def test_a_run_folder_with_another_config_stops_the_submission(tmp_path):
    from bench.config import plan_runs
    from bench.submit import triage

    [cfg] = plan_runs(["gan"], "mlp", "8gaussians", [0], steps=20)
    make_run(tmp_path, cfg.run_id, "done")  # its config differs from cfg's
    with pytest.raises(BenchError, match="different configuration under the same id; submit the sweep under another"):
        triage([cfg], tmp_path)


def test_a_job_sacct_does_not_know_yet_counts_as_live_only_while_fresh():
    import time

    from bench.status import FRESH_S, live

    assert live({"submitted_ts": time.time()}, "UNKNOWN")
    assert not live({"submitted_ts": time.time() - FRESH_S - 1}, "UNKNOWN")
    assert live({}, "RUNNING") and live({}, "REQUEUED") and not live({}, "COMPLETED")
