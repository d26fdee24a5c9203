"""Automatic retries (bench.sweep.retry) on the local cluster: a job in partition "urgent" preempts a sweep's
two running tasks (PreemptMode=CANCEL, GraceTime=10, slurm/local/start); each run saves a checkpoint
on the SIGTERM, the retry job submits them again, they resume, and `bench sweep --wait` returns only
then, with both runs done and the metrics of runs never preempted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.slurm.cluster import TOY, cancel_all, jobs, record, reference, rows, slurm, training, wait_until

pytestmark = pytest.mark.slurm
REPO = Path(__file__).resolve().parents[2]
STEPS = 2500


def test_preempted_tasks_are_retried_and_wait_waits_for_them(slurm_cluster, tmp_path):
    if "urgent" not in slurm("sinfo", "-h", "-o", "%P"):
        pytest.fail("the local cluster has no partition 'urgent': restart it with slurm/local/start (it rewrites an "
                    "older slurm.conf)")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    folder = tmp_path / "pre"
    sweep = subprocess.Popen([sys.executable, "-m", "bench", "sweep", *TOY, "--seeds", "0-1", "--steps", str(STEPS),
                              "--evals", "2", "--name", "pre", "--results", str(tmp_path), "--wait"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until("the sweep's two runs to train", lambda: folder.is_dir() and len(jobs(folder)) == 2 and all(
            training(folder, j["run_id"]) for j in jobs(folder)), timeout=240)
        time.sleep(1.0)
        slurm("sbatch", "-p", "urgent", "-c", "2", "--mem=100M", "-o", "/dev/null", "--wrap", "sleep 1")
        out, _ = sweep.communicate(timeout=420)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        cancel_all(folder)
    assert sweep.returncode == 0, out
    assert "2 runs: 0 pending, 0 running, 2 done" in out, out
    retry_logs = [p.read_text() for p in (folder / "slurm-logs").glob("*_log.out") if "retry" in p.read_text()]
    assert any("after SIGTERM: preempted; retry 1 of 2" in text for text in retry_logs), retry_logs
    alone = reference(tmp_path / "alone", [0, 1], STEPS, 2)
    for rid, path in alone.items():
        rec = record(folder, rid)
        first, second = rec["attempts"]
        assert first["ended"].startswith("interrupted by SIGTERM") and second["resumed_from_step"] > 0
        assert [j["retry"] for j in jobs(folder) if j["run_id"] == rid] == [0, 1]
        assert rows(folder / rid) == rows(path)
