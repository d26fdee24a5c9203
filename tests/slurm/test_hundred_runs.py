"""A hundred runs through the local cluster, stopped in every way issue 17 lists, submitted again until
done: pending tasks cancelled (leaving sacct's stale range records), USR2 during a job's start-up and
mid-training (requeue), kill -9 of a training process, scancel (SIGTERM) and scontrol requeue of running
tasks. At every check `bench status` and `bench report` agree; at the end every run is done with the
metrics of the same run trained alone, and no run was ever trained by two processes at once.

Tiny runs (150 steps, one evaluation on 200 samples), ten to an array task (`--runs-per-task 10`), so
that the job start-ups (seconds of imports each) stay a small part of the time: about 5 minutes on
two cores. The time and the final `bench status` are printed (pytest -s shows them)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.slurm.cluster import (
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
    signal_job,
    slurm,
    states,
    task_runs,
)

pytestmark = pytest.mark.slurm

VARIANTS, SEEDS, STEPS = ["gan", "lsgan"], list(range(50)), 150
SWEEP = f"""\
name: hundred
variants: [{", ".join(VARIANTS)}]
archs: [mlp]
datasets: [8gaussians]
seeds: 0-{SEEDS[-1]}
steps: {STEPS}
evals: 1
batch_size: 16
n_eval: 200
set: {{width: 32}}
"""
ARGS = ["--profile", "local", "--runs-per-task", "10", "--executor", "slurm"]
BUDGET_S = 600


class Checks:
    """Status and report, compared at every check: report's label must be what status said just before
    or just after it (a run may finish between the two)."""

    def __init__(self, folder: Path):
        self.folder, self.count, self.last = folder, 0, 0.0

    def __call__(self, every: float = 6.0) -> None:
        if time.time() - self.last < every or not list(self.folder.glob("*/run.json")):
            return
        before = states(self.folder)
        report = report_states(self.folder)
        after = states(self.folder)
        for rid, label in report.items():
            assert label in (before[rid], after[rid]), (rid, label, before[rid], after[rid])
        self.count += 1
        self.last = time.time()


def _ts(value) -> float | None:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        return time.mktime(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S"))
    return None


def overlaps(attempts: list[dict]) -> list[str]:
    """Attempts of one run that trained at the same time: each must end before the next one starts
    (its own ended_ts, or for a process killed without a word the scheduler's end of its job)."""
    out = []
    spans = sorted((_ts(a.get("started_ts") or a.get("started_at")), a) for a in attempts)
    for (start, a), (next_start, b) in zip(spans, spans[1:]):
        end = _ts(a.get("ended_ts") or a.get("ended_at"))
        if end is None or end > next_start + 1e-3:
            out.append(f"{a.get('job')} ({start}-{end}) and {b.get('job')} (from {next_start})")
    return out


def test_a_hundred_runs_stopped_every_way_end_done_and_identical(slurm_cluster, tmp_path, capsys):
    t0 = time.time()
    sweep_file = tmp_path / "hundred.yaml"
    sweep_file.write_text(SWEEP)
    root = tmp_path / "results"
    folder = root / "hundred"
    submit = ["sweep", str(sweep_file), *ARGS, "--results", str(root)]
    check = Checks(folder)
    done_to: dict[str, str] = {}
    seen: dict[str, float] = {}
    try:
        out = bench(*submit)
        assert "submitting 100 runs as one SLURM job array" in out and "(10 tasks for 100 runs)" in out
        array = jobs(folder)[0]["array"]
        tasks = task_runs(folder)
        slurm("scancel", f"{array}_9")  # pending, the array's leftover record with it
        stops = {"usr2 at start-up": f"{array}_0", "kill -9": f"{array}_1", "scancel": f"{array}_2",
                 "scontrol requeue": f"{array}_3", "usr2 mid-training": f"{array}_4", "scancel pending": f"{array}_8"}

        def training_in(job: str) -> str | None:
            """The run a task is training now (its lock), if any."""
            for rid in tasks[job]:
                lock = folder / rid / ".lock"
                if lock.exists() and record(folder, rid).get("status") == "running":
                    try:
                        return json.loads(lock.read_text())["pid"]
                    except (OSError, ValueError, KeyError):
                        return None
            return None

        def stop(how: str) -> bool:
            job = stops[how]
            if how == "usr2 at start-up":
                if not any(f"{array}_0" == _environ(p) for p in job_pids(folder)):
                    return False
                seen.setdefault(job, time.time())
                if time.time() - seen[job] < 0.3 or any(record(folder, r) for r in tasks[job]):
                    return False  # inside Python (importing), not yet training: the start-up
                signal_job(job, "USR2")
            elif how == "scancel pending":
                if not any(record(folder, r) for r in tasks[f"{array}_5"]):
                    return False  # once the first tasks have come and gone
                slurm("scancel", job)
            else:
                pid = training_in(job)
                if pid is None:
                    return False
                if how == "kill -9":
                    kill9(pid)
                elif how == "scancel":
                    slurm("scancel", job)
                elif how == "scontrol requeue":
                    slurm("scontrol", "requeue", job)
                else:
                    signal_job(job, "USR2")
            done_to[how] = job
            return True

        rounds = 0
        while True:
            for how in [h for h in stops if h not in done_to]:
                stop(how)
            check()
            if not live_jobs(folder):
                check(every=0)
                if all(s == "done" for s in states(folder).values()):
                    break
                rounds += 1
                assert rounds <= 4, states(folder)
                out = bench(*submit)  # submit the sweep again: the unfinished runs resume
                assert "submitting 0 runs" not in out, out
            assert time.time() - t0 < BUDGET_S, f"over {BUDGET_S} s; stops done: {done_to}"
            time.sleep(0.5)
    finally:
        cancel_all(folder)
    elapsed = time.time() - t0
    final = bench("status", str(folder))

    assert set(done_to) == set(stops), f"stops that never found their moment: {set(stops) - set(done_to)}"
    assert check.count >= 5
    assert "100 runs: 0 pending, 0 running, 100 done" in final
    alone = reference(tmp_path / "alone", SEEDS, STEPS, 1, variants=VARIANTS, n_eval=200)
    assert len(alone) == 100
    for rid, path in alone.items():
        rec = record(folder, rid)
        assert rec["status"] == "done" and rows(folder / rid) == rows(path), rid
        assert not overlaps(rec["attempts"]), (rid, overlaps(rec["attempts"]))
    resumed = [rid for rid in alone if record(folder, rid)["resumed_from_step"]]
    assert resumed  # some run really resumed from a checkpoint mid-way
    with capsys.disabled():
        print(f"\n100-run sweep: {elapsed:.0f} s to all done ({rounds} re-submission(s), {check.count} status/report "
              f"checks, stops: {', '.join(f'{h} {j}' for h, j in done_to.items())})\n{final}")


def _environ(pid: int) -> str:
    """A process's environment as one string ('SLURM_ARRAY_TASK_ID=0 ...'), '' if it is gone."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    pairs = dict(e.decode(errors="replace").split("=", 1) for e in env if b"=" in e)
    return f"{pairs.get('SLURM_ARRAY_JOB_ID')}_{pairs.get('SLURM_ARRAY_TASK_ID')}"
