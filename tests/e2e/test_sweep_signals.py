"""SIGTERM under `bench sweep --executor local` (issue 17, fault 9): submitit's handler used to swallow it
and the run trained on. Now `kill PID` on a run's process checkpoints it at the next step and stops it
as interrupted, and SIGTERM to the whole `bench sweep` process group stops every run the same way and
ends the sweep, leaving no process behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def wait(what: str, check, timeout: float = 180):
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def test_sigterm_stops_a_local_run_and_the_whole_sweep(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    log = open(tmp_path / "sweep.log", "w")
    sweep = subprocess.Popen(
        [sys.executable, "-m", "bench", "sweep", "--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians",
         "--seeds", "0-1", "--steps", "1000000", "--evals", "1", "--batch-size", "8", "--set", "width=8",
         "--ckpt-every", "50", "--name", "sig", "--results", str(tmp_path), "--executor", "local",
         "--array-parallelism", "2"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    folder = tmp_path / "sig"
    try:
        wait("both runs to train", lambda: len([p for p in folder.glob("*/.lock")]) == 2 and all(
            read(p.parent / "run.json").get("status") == "running" and read(p.parent / "run.json").get("checkpoint")
            for p in folder.glob("*/.lock")))
        first, second = sorted(p.parent for p in folder.glob("*/.lock"))

        # `kill PID` on one run's own process
        pid = read(first / ".lock")["pid"]
        os.kill(pid, signal.SIGTERM)
        wait("the run to stop as interrupted", lambda: read(first / "run.json").get("status") == "interrupted", 60)
        rec = read(first / "run.json")
        assert rec["interrupted_by"].startswith("SIGTERM")
        assert rec["checkpoint"]["step"] == rec["step"] > 0  # saved where it stopped
        wait("its process to exit", lambda: not os.path.exists(f"/proc/{pid}"), 30)
        assert read(second / "run.json").get("status") == "running"  # the other one trains on

        # SIGTERM to the whole process group: bench sweep, submitit's controllers, the runs
        os.killpg(sweep.pid, signal.SIGTERM)
        assert sweep.wait(timeout=120) == 128 + signal.SIGTERM
        rec = read(second / "run.json")
        assert rec["status"] == "interrupted" and rec["interrupted_by"].startswith("SIGTERM")
        wait("every process of the sweep to exit", lambda: not group_alive(sweep.pid), 30)
    finally:
        if group_alive(sweep.pid):
            os.killpg(sweep.pid, signal.SIGKILL)
        log.close()
    out = (tmp_path / "sweep.log").read_text()
    assert "running job(s) checkpoint and stop; 0 not started" in out, out
    assert out.count(": interrupted\n") == 2, out
