"""Issue 17's faults, each reproduced on the real local cluster (slurm/local): a stale array record, a
run hard-killed on one node resuming on another, report and status agreeing about it, SIGTERM
(scancel, scontrol requeue) checkpointing, USR2 during a job's start-up, status at scale with the
scheduler's pending reason and `bench cancel`, and jobs running the code that was submitted.

Each test fails on the code before issue 17 (main 5128a40); tests/slurm/cluster.py says how they
watch the cluster."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.store.scheduler import expand
from tests.slurm.cluster import (
    TOY,
    bench,
    cancel_all,
    job_pids,
    jobs,
    kill9,
    live_jobs,
    record,
    reference,
    report_states,
    rows,
    sacct_lines,
    signal_job,
    slurm,
    states,
    task_runs,
    training,
    wait_for_jobs,
    wait_until,
)

pytestmark = pytest.mark.slurm
REPO = Path(__file__).resolve().parents[2]


def sweep(root: Path, name: str, seeds: str, steps: int, evals: int, *extra: str) -> tuple[Path, str]:
    out = bench("sweep", *TOY, "--seeds", seeds, "--steps", str(steps), "--evals", str(evals), "--name", name,
                "--results", str(root), *extra)
    return root / name, out


def array_of(folder: Path) -> str:
    return jobs(folder)[0]["job_id"].split("_")[0]


def run_of(folder: Path, job_id: str) -> str:
    [rid] = task_runs(folder)[job_id]
    return rid


def cancelled_ranges_spanning(array: str, task: str) -> list[str]:
    """sacct's CANCELLED range records (`A_[1-2%1]`) whose range includes `task`."""
    found = []
    for job, state in sacct_lines(array):
        m = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job)
        if m and state.startswith("CANCELLED") and task in expand(*m.groups()):
            found.append(job)
    return found


# -- fault 1 --------------------------------------------------------------------------------------------
def test_a_stale_array_record_neither_misreports_a_running_task_nor_duplicates_it(slurm_cluster, tmp_path):
    """Cancelling pending tasks of an array leaves sacct a record `A_[1-2%1] CANCELLED` that spans
    task 1 while task 1 runs. Status must still say running, and a re-submission must not queue it."""
    folder, _ = sweep(tmp_path, "stale", "0-3", 4000, 1, "--array-parallelism", "1")
    array = array_of(folder)
    try:
        slurm("scancel", f"{array}_3")  # pending: the array's record is split from here on
        first = run_of(folder, f"{array}_1")
        wait_until("task 1 to train", lambda: training(folder, first), timeout=240)
        slurm("scancel", f"{array}_2")  # pending, and the holder of the array's leftover record
        # The fault: a CANCELLED range record that spans the running task 1, beside task 1's own RUNNING
        # line. slurmdbd writes the two at its own pace (under load the range came seconds before the
        # running line), so the test waits for both rather than reading sacct once.
        wait_until("sacct's leftover range record spanning task 1, beside task 1's own RUNNING line",
                   lambda: cancelled_ranges_spanning(array, f"{array}_1")
                   and (f"{array}_1", "RUNNING") in sacct_lines(array), timeout=60)

        assert states(folder)[first] == "running"
        out = bench("sweep", *TOY, "--seeds", "0-3", "--steps", "4000", "--evals", "1", "--name", "stale",
                    "--results", str(tmp_path), "--array-parallelism", "1")
        line = next(ln for ln in out.splitlines() if first in ln)
        assert line.split()[0] == "running", out  # left alone, not resumed a second time
        assert "submitting 2 runs" in out, out  # the two cancelled ones only
        assert training(folder, first)  # (the check above happened while it trained)
        assert [j["job_id"] for j in jobs(folder) if j["run_id"] == first] == [f"{array}_1"]
    finally:
        cancel_all(folder)
    wait_for_jobs(folder)
    attempts = record(folder, first).get("attempts", [])
    assert len(attempts) == 1 and attempts[0]["job"] == f"{array}_1"  # nobody else ever trained it


# -- faults 2, 3 and 4: one array, three ways to stop a run ---------------------------------------------
@dataclass
class Stopped:
    folder: Path
    ids: dict[str, str]  # killed | cancelled | requeued -> run id
    seen: dict = field(default_factory=dict)  # what status and report said, and re-submission's output
    reference: dict = field(default_factory=dict)


STEPS, EVALS = 4000, 2  # an evaluation (and checkpoint) at step 2000


@pytest.fixture(scope="module")
def stopped(slurm_cluster, tmp_path_factory) -> Stopped:
    root = tmp_path_factory.mktemp("stopped")
    folder, _ = sweep(root, "stops", "0-2", STEPS, EVALS)
    array = array_of(folder)
    ids = {"killed": run_of(folder, f"{array}_0"), "cancelled": run_of(folder, f"{array}_1"),
           "requeued": run_of(folder, f"{array}_2")}
    s = Stopped(folder, ids)
    try:
        # kill -9 once past its first checkpoint (step 2000); scancel (SIGTERM) the other mid-interval
        wait_until("two runs past step 2000", lambda: all(
            training(folder, ids[k]) and record(folder, ids[k]).get("checkpoint", {}).get("step") == 2000
            for k in ("killed", "cancelled")), timeout=240)
        kill9(json.loads((folder / ids["killed"] / ".lock").read_text())["pid"])  # the training process
        slurm("scancel", f"{array}_1")
        wait_until("the third run to train", lambda: training(folder, ids["requeued"]), timeout=240)
        time.sleep(0.5)
        slurm("scontrol", "requeue", f"{array}_2")  # SIGTERM, then SLURM puts it back in the queue
        wait_until("tasks 0 and 1 to end", lambda: not {f"{array}_0", f"{array}_1"} & set(live_jobs(folder)), 120)
        s.seen["status"] = states(folder)
        s.seen["report"] = report_states(folder)
        s.seen["status_after"] = states(folder)
        s.seen["cancelled_record"] = record(folder, ids["cancelled"])
        # the killed run's lock, as if it had been left on another node
        lock = folder / ids["killed"] / ".lock"
        holder = json.loads(lock.read_text())
        lock.write_text(json.dumps({**holder, "host": "node7", "pid": 13363}))
        s.seen["resubmitted"] = bench("sweep", *TOY, "--seeds", "0-2", "--steps", str(STEPS), "--evals", str(EVALS),
                                      "--name", "stops", "--results", str(root))
        s.reference = reference(root, [0, 1, 2], STEPS, EVALS)
        wait_for_jobs(folder)
    finally:
        cancel_all(folder)
    return s


def test_a_hard_killed_run_resumes_on_another_node(stopped):
    """Fault 2: its lock names pid 13363 on node7 and a job that has ended (FAILED after kill -9): the
    re-submitted job takes the lock over from this node and resumes from the checkpoint."""
    rid = stopped.ids["killed"]
    assert "resume" in next(ln for ln in stopped.seen["resubmitted"].splitlines() if rid in ln)
    rec = record(stopped.folder, rid)
    assert rec["status"] == "done" and rec["resumed_from_step"] == 2000
    assert rows(stopped.folder / rid) == rows(stopped.reference[rid])
    first, second = rec["attempts"]
    assert first["ended"].startswith("killed without a word: its job ended")  # from the scheduler's accounting
    assert second["resumed_from_step"] == 2000


def test_report_and_status_agree_about_a_killed_run(stopped):
    """Fault 3: after kill -9 run.json says running and the lock is left behind; the report called it
    running forever while status said failed."""
    for rid in stopped.ids.values():
        assert stopped.seen["report"].get(rid) in (stopped.seen["status"][rid], stopped.seen["status_after"][rid])
    assert stopped.seen["status"][stopped.ids["killed"]] == "failed"  # its job ended FAILED while it trained


def test_sigterm_checkpoints_at_the_next_step(stopped):
    """Fault 4: scancel and scontrol requeue send SIGTERM; the run saves a checkpoint at the next step
    boundary (between evaluations) and stops as interrupted; the requeued job resumes from there."""
    cancelled = stopped.seen["cancelled_record"]
    assert cancelled["status"] == "interrupted" and cancelled["interrupted_by"].startswith("SIGTERM")
    assert cancelled["checkpoint"]["step"] == cancelled["step"] > 2000  # saved where it stopped, not at an eval
    assert stopped.seen["status"][stopped.ids["cancelled"]] == "interrupted"
    rec = record(stopped.folder, stopped.ids["cancelled"])
    assert rec["status"] == "done" and rec["resumed_from_step"] == cancelled["step"]

    rec = record(stopped.folder, stopped.ids["requeued"])
    first, second = rec["attempts"]
    assert rec["status"] == "done" and first["job"] == second["job"] and second["requeues"] == 1
    assert first["ended"].startswith("interrupted by SIGTERM") and second["resumed_from_step"] > 0
    for rid in stopped.ids.values():
        assert rows(stopped.folder / rid) == rows(stopped.reference[rid]), rid


# -- fault 5 --------------------------------------------------------------------------------------------
def test_usr2_during_start_up_requeues_the_job(slurm_cluster, tmp_path):
    """USR2 while the job still imports (before submitit's handler existed) killed it without a requeue."""
    folder, _ = sweep(tmp_path, "early", "0", 300, 1)
    [job] = jobs(folder)
    try:
        wait_until("the job's python process", lambda: job_pids(folder), timeout=240, every=0.05)
        time.sleep(0.3)  # inside Python now, still importing torch (seconds)
        assert not record(folder, job["run_id"])  # nothing trained yet
        signal_job(job["job_id"], "USR2")
        wait_for_jobs(folder, timeout=300)
    finally:
        cancel_all(folder)
    rec = record(folder, job["run_id"])
    assert rec.get("status") == "done"
    assert [s for _, s in sacct_lines(job["job_id"])] == ["COMPLETED"]
    assert "(requeued 1x)" in Path(job["folder"], f"{job['job_id']}_0_log.out").read_text()


# -- fault 6 --------------------------------------------------------------------------------------------
def test_status_shows_the_pending_reason_finds_every_folder_and_cancel_is_exact(slurm_cluster, tmp_path):
    impossible, _ = sweep(tmp_path, "impossible", "0-2", 300, 1, "--cpus", "64")
    short, _ = sweep(tmp_path, "short", "0", 300, 1)
    reference(tmp_path, [0], 300, 1)  # a folder written by `bench run`-style training, without sweep.json
    try:
        out = bench("status", str(impossible))
        assert "3 runs: 3 pending" in out
        assert "  pending         3  queued (PartitionConfig)" in out  # one line for the three, with SLURM's reason
        out = bench("cancel", str(impossible))
        assert f"job {array_of(impossible)}" in out
        assert not live_jobs(impossible)
        assert live_jobs(short)  # the other sweep's job is untouched
        out = bench("status", "--results", str(tmp_path))
        for name in ("impossible", "short", "alone"):
            assert f"{tmp_path / name}: " in out or f"{name}: " in out, out
        assert "3 interrupted" in out  # the cancelled ones: submitting the sweep again starts them
        wait_for_jobs(short)
        assert states(short) == {jobs(short)[0]["run_id"]: "done"}
    finally:
        cancel_all(impossible)
        cancel_all(short)


# -- fault 7 --------------------------------------------------------------------------------------------
def test_jobs_run_the_code_that_was_submitted(slurm_cluster, tmp_path):
    """Editing the checkout while an array waits must not change what its later tasks run; run.json
    says which commit ran, whether it had uncommitted changes, and a hash of them."""
    checkout = tmp_path / "checkout"
    for pkg in ("bench", "variants", "slurm/profiles"):
        shutil.copytree(REPO / pkg, checkout / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot test"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    with open(checkout / "bench" / "schedule.py", "a") as f:
        f.write("# an uncommitted change\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(checkout)}
    results = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "bench", "sweep", *TOY, "--seeds", "0-1", "--steps", "300", "--evals", "1",
                    "--name", "code", "--results", str(results), "--array-parallelism", "1"],
                   cwd=checkout, env=env, check=True, capture_output=True, timeout=300)
    folder = results / "code"
    with open(checkout / "bench" / "__init__.py", "a") as f:  # edited while the array waits
        f.write("import sys\nprint('EDITED CHECKOUT', file=sys.stderr)\n")
    try:
        wait_for_jobs(folder, timeout=400)
    finally:
        cancel_all(folder)
    logs = [p.read_text() for p in (folder / "slurm-logs").glob("*_log.err")]
    assert logs and not any("EDITED CHECKOUT" in text for text in logs)
    for job in jobs(folder):
        rec = record(folder, job["run_id"])
        assert rec["status"] == "done"
        assert rec["git_commit"] == commit and rec["git_dirty"] is True and len(rec["git_diff_sha256"]) == 64
