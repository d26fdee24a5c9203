"""Sweeps through a real SLURM cluster (slurm/local/start): a job array of three toy runs; a run sent
USR2 mid-training (submitit's preemption signal) that checkpoints, requeues and ends with the metrics
of an uninterrupted run; re-submission that submits nothing; a failing run in `bench status`.

All sweeps are submitted at once (the cluster runs two jobs at a time), then the tests read the results.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from bench.cli.app import cli
from bench.store.rundir import read_jsonl
from tests.slurm.cluster import live_jobs

pytestmark = pytest.mark.slurm

# 800 steps take several seconds, so the signal lands mid-training; one evaluation halfway, one at the end.
TOY = ["--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--steps", "800", "--evals", "2",
       "--batch-size", "16", "--set", "width=32", "--executor", "slurm", "--profile", "local"]
TIMEOUT_S = 900


def bench(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, f"bench {' '.join(args)}:\n{res.output}\n{res.exception!r}"
    return res.output


def wait_until(what: str, check, timeout: float = TIMEOUT_S, every: float = 0.2):
    end = time.time() + timeout
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def only_job(folder: Path) -> dict:
    [job] = read_jsonl(folder / "jobs.jsonl")
    return job


@dataclass
class Sweeps:
    root: Path
    three: Path  # three runs, seeds 0-2
    interrupted: Path  # seed 0 again, sent USR2 mid-training
    failing: Path  # --device cuda on a node without CUDA
    while_queued: str  # output of re-submitting `interrupted` while its job was requeued or running
    interrupted_at: float


@pytest.fixture(scope="module")
def sweeps(slurm_cluster, tmp_path_factory) -> Sweeps:
    root = tmp_path_factory.mktemp("slurm-results")
    res = ["--results", str(root)]
    bench("sweep", *TOY, "--seeds", "0", "--name", "interrupted", *res)  # first, so it starts first
    bench("sweep", *TOY, "--seeds", "0-2", "--name", "three", *res)
    bench("sweep", *TOY, "--seeds", "0", "--name", "failing", "--device", "cuda", *res)

    # USR2 once the run trains (submitit's job._interrupt(): SIGTERM then USR2, as a preemption does)
    import submitit

    folder = root / "interrupted"
    job = only_job(folder)
    run_json = folder / job["run_id"] / "run.json"
    wait_until("the run to start training",
               lambda: run_json.exists() and json.loads(run_json.read_text())["status"] == "running")
    time.sleep(1.0)
    submitit.SlurmJob(folder=job["folder"], job_id=job["job_id"])._interrupt()
    interrupted_at = time.time()
    while_queued = bench("sweep", *TOY, "--seeds", "0", "--name", "interrupted", *res)

    wait_until("every job to end", lambda: not any(live_jobs(root / n) for n in ("three", "interrupted", "failing")),
               every=2)
    return Sweeps(root, root / "three", folder, root / "failing", while_queued, interrupted_at)


def metric_rows(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_jsonl(run_dir / "metrics.jsonl")]


def test_job_array_of_three_runs_completes(sweeps):
    jobs = read_jsonl(sweeps.three / "jobs.jsonl")
    assert len(jobs) == 3 and len({j["job_id"].split("_")[0] for j in jobs}) == 1  # one job array
    assert sorted(j["job_id"].split("_")[1] for j in jobs) == ["0", "1", "2"]
    for job in jobs:
        run = sweeps.three / job["run_id"]
        record = json.loads((run / "run.json").read_text())
        assert record["status"] == "done" and record["step"] == 800
        assert record["slurm"]["SLURM_ARRAY_JOB_ID"] == job["job_id"].split("_")[0]
        rows = read_jsonl(run / "metrics.jsonl")  # what `bench report` reads
        assert [r["step"] for r in rows] == [400, 800]
        assert all(isinstance(r["critic_gap"], float) and isinstance(r["w1_exact"], float) for r in rows)
    out = bench("status", str(sweeps.three))
    assert "3 runs: 0 pending, 0 running, 3 done, 0 failed, 0 diverged, 0 interrupted" in out


def test_interrupted_run_requeues_resumes_and_matches_an_uninterrupted_run(sweeps):
    job = only_job(sweeps.interrupted)
    run = sweeps.interrupted / job["run_id"]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "done"
    assert record["slurm"]["SLURM_RESTART_COUNT"] == "1"  # the same job, requeued once
    assert 0 < record["resumed_from_step"] < 800
    log = Path(job["folder"], f"{job['job_id']}_0_log.out").read_text()
    assert "on USR2 (the scheduler's warning of a time limit or preemption)" in log and "(requeued 1x)" in log
    # its first attempt says how it ended (issue 17, fault 9: interrupted_by was null)
    first = record["attempts"][0]
    assert first["ended"].startswith("interrupted by USR2") and first["job"] == job["job_id"]
    assert record["attempts"][-1]["resumed_from_step"] == record["resumed_from_step"]
    # seed 0 of the three-run sweep is the same configuration, never interrupted
    assert metric_rows(run) == metric_rows(sweeps.three / job["run_id"])
    # while the requeued job was queued or running, re-submitting left it alone
    line = next(ln for ln in sweeps.while_queued.splitlines() if job["run_id"] in ln)
    assert line.split()[0] in ("queued", "running") and f"job {job['job_id']}" in line, line
    assert "submitting 0 runs" in sweeps.while_queued


def test_resubmitting_a_finished_sweep_submits_nothing(sweeps):
    before = read_jsonl(sweeps.three / "jobs.jsonl")
    out = bench("sweep", *TOY, "--seeds", "0-2", "--name", "three", "--results", str(sweeps.root))
    assert "submitting 0 runs as one SLURM job array (3 finished, running or queued: left alone)" in out
    assert out.count("skip     ") == 3
    assert read_jsonl(sweeps.three / "jobs.jsonl") == before
    assert "submitted job array" not in out


def test_failed_run_shows_its_error_and_log(sweeps):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA, so --device cuda does not fail here")
    job = only_job(sweeps.failing)
    out = bench("status", str(sweeps.failing))
    assert "1 run: 0 pending, 0 running, 0 done, 1 failed" in out
    assert ("  failed          1  its job ended (FAILED) before the run started: bench.errors.BenchError: --device "
            "cuda, but PyTorch sees no CUDA device") in out  # one line per reason
    assert f"e.g. {job['run_id']}  job {job['job_id']} FAILED" in out
    assert f"log: {Path(job['folder']) / (job['job_id'] + '_0_log.err')}" in out
    out = bench("status", str(sweeps.failing), "--state", "failed")  # each failed run, with its log's last lines
    assert f"{job['run_id']}  job {job['job_id']} FAILED" in out
    assert "| bench.errors.BenchError: --device cuda, but PyTorch sees no CUDA device" in out


def test_a_refused_submission_writes_nothing(slurm_cluster, tmp_path):
    root = tmp_path / "results"
    res = CliRunner().invoke(cli, ["sweep", *TOY, "--seeds", "0", "--name", "refused", "--partition", "nope",
                                   "--results", str(root)])
    assert res.exit_code != 0
    assert "sbatch refused the job array" in str(res.exception) and "Invalid partition" in str(res.exception)
    assert not root.exists()
