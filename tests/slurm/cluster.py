"""Helpers for the tests against the local SLURM cluster: the CLI in this process, waiting, the
scheduler's own commands, a sweep's processes, and runs trained alone in this process for reference.

They use only what a user has (the CLI, run folders, squeue/sacct/scancel) and the loader functions
`bench.sweep.status.sweep_status` and `bench.report.load.load`, so the same tests run against older code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.cli.app import cli
from bench.store.rundir import read_jsonl

TOY = ["--variants", "gan", "--archs", "mlp", "--datasets", "8gaussians", "--batch-size", "16", "--set", "width=32",
       "--executor", "slurm", "--profile", "local"]


def bench(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, f"bench {' '.join(args)}:\n{res.output}\n{res.exception!r}"
    return res.output


def wait_until(what: str, check, timeout: float = 300, every: float = 0.2):
    end = time.time() + timeout
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def slurm(*cmd: str, check: bool = True) -> str:
    out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, f"{' '.join(cmd)}: {out.stderr}"
    return out.stdout


def signal_job(job: str, sig: str) -> None:
    """`scancel --signal=SIG JOB`. For an array task SLURM 22.05 delivers the signal but answers "Job can
    not be altered now, try again later", and scancel then retries for a minute (re-sending it): the
    first try is the one wanted, so scancel is stopped after two seconds."""
    proc = subprocess.Popen(["scancel", f"--signal={sig}", job], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def sacct_lines(job: str) -> list[tuple[str, str]]:
    """(JobID, State) of each line sacct prints for a job or array, range records included."""
    text = slurm("sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", job)
    return [tuple(line.split("|")[:2]) for line in text.splitlines() if line.strip()]


def jobs(folder: Path) -> list[dict]:
    return [j for j in read_jsonl(folder / "jobs.jsonl") if j.get("run_id")]


def task_runs(folder: Path) -> dict[str, list[str]]:
    """job id -> the run ids it trains, for every job submitted from a sweep folder."""
    out: dict[str, list[str]] = {}
    for j in jobs(folder):
        out.setdefault(j["job_id"], []).append(j["run_id"])
    return out


def record(folder: Path, run_id: str) -> dict:
    path = folder / run_id / "run.json"
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}


def training(folder: Path, run_id: str) -> bool:
    """The run is training now: run.json says running and a lock is held."""
    return record(folder, run_id).get("status") == "running" and (folder / run_id / ".lock").exists()


def live_jobs(folder: Path) -> list[str]:
    ids = {j["job_id"] for j in read_jsonl(folder / "jobs.jsonl") + read_jsonl(folder / "retry-jobs.jsonl")}
    if not ids:
        return []
    bases = sorted({i.split("_")[0] for i in ids})
    text = slurm("squeue", "-h", "-r", "-j", ",".join(bases), "-o", "%i", check=False)
    return [i for i in text.split() if i.split("_")[0] in bases]


def cancel_all(folder: Path) -> None:
    """End every job of a sweep folder without waiting (scancel; the tests' own clean-up)."""
    ids = sorted({j.split("_")[0] for j in live_jobs(folder)})
    if ids:
        slurm("scancel", *ids, check=False)


def wait_for_jobs(folder: Path, timeout: float = 600) -> None:
    wait_until(f"every job of {folder.name} to end", lambda: not live_jobs(folder), timeout, every=1)


def job_pids(folder: Path) -> list[int]:
    """Python processes of a sweep's SLURM jobs on this machine (their command names the logs folder)."""
    logs = str(folder / "slurm-logs")
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and b"python" in cmd[0] and logs.encode() in cmd and any(
                b"jobstart" in c or c == b"submitit.core._submit" for c in cmd):
            out.append(int(proc.name))
    return out


def kill9(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def rows(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in read_jsonl(run_dir / "metrics.jsonl")]


def reference(tmp: Path, seeds: list[int], steps: int, evals: int, variants=("gan",), **plan) -> dict[str, Path]:
    """The same runs trained alone and uninterrupted, in this process: run id -> run folder."""
    import torch

    from bench.config import RunOptions, plan_runs
    from bench.train.loop import run_one

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as a job with one CPU (bench.sweep.jobs sets the threads from SLURM_CPUS_PER_TASK)
    try:
        out = {}
        for cfg in plan_runs(list(variants), "mlp", "8gaussians", seeds, "quick", sets={"width": "32"},
                             options=RunOptions.of(steps=steps, batch_size=16, evals=evals, **plan)):
            out[cfg.run_id] = run_one(cfg, tmp, "alone", progress=False).path
        return out
    finally:
        torch.set_num_threads(threads)


def states(folder: Path) -> dict[str, str]:
    """run id -> state, as `bench status` computes it."""
    from bench.sweep.status import sweep_status

    return {s.run_id: s.state for s in sweep_status(folder)}


def report_states(folder: Path) -> dict[str, str]:
    """run id -> status, as `bench report` labels each run folder holding a run.json."""
    from bench.report.load import load

    res = load([folder])
    return dict(zip(res.runs["run_id"], res.runs["status"]))
