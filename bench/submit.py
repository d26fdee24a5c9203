"""Submitting a sweep's runs with submitit: what to submit, and the three ways to run it.

    slurm   one job array per submission (submitit.AutoExecutor(cluster="slurm").map_array), one run
            per array task, resources from a profile; `bench sweep` returns once the array is queued.
    local   submitit's local executor: each run in its own process on this machine, at most
            `array_parallelism` at once (default: CPUs / cpus_per_task); `bench sweep` waits.
    debug   in this process, one run after another, stopping at the first error with its traceback
            (for pdb); nothing is pickled or spawned.

Runs are decided before anything is written: a finished (done or diverged) run is skipped, a run whose
latest job is still queued or running is left alone, and the rest are submitted; the runner resumes an
interrupted one from its checkpoint. Every run is a bench.jobs.TrainJob, so a job that gets the
scheduler's stop signal checkpoints and requeues itself. Runs whose config asks for packing
(`pack: K`) go K to a job (bench.packed.plan_packs): one array task trains them together.
"""

from __future__ import annotations

import os
import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import RunConfig
from bench.errors import BenchError
from bench.packed import plan_packs
from bench.profile import Profile
from bench.status import append_jobs, job_states, latest_jobs, live
from bench.store import RunDir, decide

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Planned:
    cfg: RunConfig
    action: str  # new | resume | restart | skip (done or diverged) | queued (a live job has it)
    note: str = ""


def triage(runs: list[RunConfig], folder: Path) -> list[Planned]:
    """What to do with each run; raises (before anything is written) when a run folder holds another config."""
    jobs = latest_jobs(folder) if folder.is_dir() else {}
    states = job_states({r.run_id: jobs[r.run_id] for r in runs if r.run_id in jobs})
    out = []
    for cfg in runs:
        run = RunDir(folder / cfg.run_id)
        try:
            action = decide(run, cfg.to_dict(), force=False)  # new | resume | restart | skip
        except BenchError:
            raise BenchError(f"{run.path} holds a run with a different configuration under the same id; submit "
                             f"the sweep under another --name, or move that folder away") from None
        rec = run.read() or {}
        note = ""
        if action == "skip":
            note = rec.get("status", "")
        elif cfg.run_id in jobs and live(jobs[cfg.run_id], states.get(cfg.run_id)):
            action, note = "queued", f"job {jobs[cfg.run_id]['job_id']} {states[cfg.run_id]}"
        elif action == "resume":
            note = f"from step {rec.get('step', '?')}"
        out.append(Planned(cfg, action, note))
    return out


def job_setup(profile: Profile) -> list[str]:
    """Shell lines run before each job: the profile's, then make the job import this checkout's code
    (the one that submitted it), whatever the job's environment puts first on the path."""
    return [*profile.setup, f"export PYTHONPATH={shlex.quote(str(REPO))}${{PYTHONPATH:+:$PYTHONPATH}}"]


def make_executor(kind: str, folder: Path, profile: Profile, job_name: str):
    import submitit

    params = profile.submitit_parameters(kind)
    if kind == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm", slurm_max_num_timeout=profile.max_timeouts)
        ex.update_parameters(name=job_name, slurm_setup=job_setup(profile), **params)
    elif kind == "local":
        ex = submitit.AutoExecutor(folder=folder, cluster="local")
        ex.update_parameters(name=job_name, local_setup=job_setup(profile), **params)
    else:
        raise ValueError(kind)
    return ex


def submit_slurm(todo: list[RunConfig], root: Path, name: str, profile: Profile) -> list[dict]:
    """One job array for all of `todo`; returns the jobs.jsonl records (one per run)."""
    from bench.jobs import TrainJob

    folder = root / name
    logs = folder / "slurm-logs"
    made = [p for p in (logs, folder, root) if not p.exists()]  # folders this attempt creates
    before = set(logs.iterdir()) if logs.exists() else set()
    ex = make_executor("slurm", logs, profile, f"bench-{name}")
    packs = plan_packs(todo)
    n = len(packs)
    try:
        jobs = ex.map_array(TrainJob(), [_job_arg(p) for p in packs], [str(root)] * n, [name] * n)
    except Exception as e:  # sbatch refused: unknown partition, account, too much memory...
        # leave the folder as it was: remove submitit's files for this attempt, and folders it made
        for path in set(logs.iterdir()) - before if logs.exists() else ():
            path.unlink()
        for path in made:
            if path.exists() and not any(path.iterdir()):
                path.rmdir()
        lines = [ln for ln in str(e).splitlines() if ln.strip()]
        raise BenchError(f"sbatch refused the job array: {lines[-1] if lines else e}; check the profile "
                         f"({profile.name}) and the cluster (sinfo)") from None
    now, ts = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.time()
    records = [{"run_id": cfg.run_id, "executor": "slurm", "job_id": job.job_id, "folder": str(logs),
                "submitted_at": now, "submitted_ts": ts} for pack, job in zip(packs, jobs) for cfg in pack]
    append_jobs(folder, records)
    return records


def run_local(todo: list[RunConfig], root: Path, name: str, profile: Profile, echo) -> None:
    """Each run in its own process through submitit's local executor, a few at a time; waits for all."""
    from bench.jobs import TrainJob

    folder = root / name
    logs = folder / "local-logs"
    ex = make_executor("local", logs, profile, f"bench-{name}")
    limit = profile.array_parallelism or max(1, (os.cpu_count() or 1) // profile.cpus_per_task)
    waiting, running = plan_packs(todo), []
    while waiting or running:
        while waiting and len(running) < limit:
            pack = waiting.pop(0)
            job = ex.submit(TrainJob(), _job_arg(pack), str(root), name)
            append_jobs(folder, [{"run_id": cfg.run_id, "executor": "local", "job_id": job.job_id,
                                  "folder": str(logs), "host": socket.gethostname(),
                                  "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")} for cfg in pack])
            echo(f"{_ids(pack)}: started (pid {job.job_id})")
            running.append((pack, job))
        time.sleep(0.5)
        for pack, job in [(p, j) for p, j in running if j.done()]:
            running.remove((pack, job))
            exc = job.exception()
            outcome = "finished" if exc is None else f"failed ({_last_line(exc)}); log {job.paths.stderr}"
            echo(f"{_ids(pack)}: {outcome}")


def run_debug(todo: list[RunConfig], root: Path, name: str, echo) -> None:
    """In this process, in order; an error propagates with its traceback."""
    from bench.jobs import TrainJob

    for pack in plan_packs(todo):
        results = TrainJob()(_job_arg(pack), str(root), name)
        for result in results if isinstance(results, list) else [results]:
            echo(f"{result['run_id']}: {result['status']}")


def wait_for(records: list[dict], echo, poll_s: float = 2.0) -> None:
    """Block until none of these SLURM jobs is queued or running (requeues included)."""
    jobs = {r["run_id"]: r for r in records}
    last = None
    while True:
        states = job_states(jobs)
        active = sorted(rid for rid, s in states.items() if live(jobs[rid], s))
        summary = f"{len(jobs) - len(active)}/{len(jobs)} jobs ended"
        if summary != last:
            echo(summary)
            last = summary
        if not active:
            return
        time.sleep(poll_s)


def _job_arg(pack: list[RunConfig]) -> RunConfig | list[RunConfig]:
    """What a TrainJob is called with: the run's config, or a pack's list of configs."""
    return pack if len(pack) > 1 else pack[0]


def _ids(pack: list[RunConfig]) -> str:
    return ", ".join(cfg.run_id for cfg in pack)


def _last_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
