"""Submitting a sweep's runs with submitit: what to submit, and the three ways to run it.

    slurm   one job array per submission, one run per array task (or `runs_per_task` runs one after
            another), resources from a profile; `bench sweep` returns once the array is queued. A
            retry job waits for the array (bench.sweep.retry) and submits again the tasks that ended
            OUT_OF_MEMORY, NODE_FAIL or PREEMPTED.
    local   submitit's local executor: each run in its own process on this machine, at most
            `array_parallelism` at once (default: CPUs / cpus_per_task); `bench sweep` waits.
    debug   in this process, one run after another, stopping at the first error with its traceback
            (for pdb); nothing is pickled or spawned.

Runs are decided before anything is written (`triage`, on bench.store.runstate's one state of each run): a
finished (done or diverged) run is skipped, a run that a live process or job holds (running, queued,
requeued) is left alone, and the rest are submitted; the runner resumes an interrupted one from its
checkpoint. Jobs import a snapshot of the code taken now (bench.sweep.snapshot), so editing the checkout
while they wait changes nothing they run. Runs whose config asks for packing (`pack: K`) go K to a
job (bench.train.loop.plan_packs): one array task trains them together.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import RunConfig
from bench.errors import BenchError
from bench.sweep.executors import make_executor, python_path
from bench.train.loop import plan_packs
from bench.sweep.profile import Profile
from bench.store.runstate import sweep_states
from bench.sweep.status import RETRY_JOBS, all_jobs, append_jobs
from bench.store.rundir import ConfigClash, RunDir, decide, read_jsonl


@dataclass
class Planned:
    cfg: RunConfig
    action: str  # new | resume | restart | skip (done or diverged) | queued | running (a live job has it)
    note: str = ""


def triage(runs: list[RunConfig], folder: Path, force: bool = False) -> list[Planned]:
    """What to do with each run; raises (before anything is written) when a run folder holds another config.
    A run that a live process or job holds is never submitted again (bench.store.runstate decides which).
    With `force`, every other run that has a folder is "replace": moved aside, then submitted anew."""
    states = {s.run_id: s for s in sweep_states(folder, [r.run_id for r in runs])} if folder.is_dir() else {}
    out = []
    for cfg in runs:
        run = RunDir(folder / cfg.run_id)
        try:  # (the device is compared where it is resolved: by the job that trains the run)
            action = decide(run, cfg.to_dict(), force=force)  # new | resume | restart | skip | replace
        except ConfigClash as e:
            raise BenchError(f"{run.path} holds a run with a different configuration under the same id: "
                             f"{e.differences}; submit the sweep under another --name, pass --force, or move that "
                             "folder away") from None
        rec = run.read() or {}
        state = states.get(cfg.run_id)
        note = ""
        if action == "skip":
            note = rec.get("status", "")
        elif state is not None and state.held:  # (also under --force: a live job's run is left alone)
            action, note = ("running" if state.state == "running" else "queued"), state.detail or state.reason
        elif action == "replace":
            note = f"moving its {rec.get('status', '?')} run aside (--force)"
        elif action == "resume":
            note = f"from step {rec.get('step', '?')}"
        out.append(Planned(cfg, action, note))
    return out


def plan_tasks(todo: list[RunConfig], runs_per_task: int) -> list[list[list[RunConfig]]]:
    """Array tasks: each a list of packs (bench.train.loop.plan_packs) holding at most runs_per_task runs
    in all (a pack larger than that gets a task of its own)."""
    tasks: list[list[list[RunConfig]]] = []
    for pack in plan_packs(todo):
        if tasks and sum(len(p) for p in tasks[-1]) + len(pack) <= runs_per_task:
            tasks[-1].append(pack)
        else:
            tasks.append([pack])
    return tasks


def job_arg(task: list[list[RunConfig]]) -> RunConfig | list:
    """What a TrainJob is called with: a run's config, a pack's list of configs, or a list of packs."""
    if len(task) == 1:
        return task[0] if len(task[0]) > 1 else task[0][0]
    return task


def submit_slurm(todo: list[RunConfig], root: Path, name: str, profile: Profile, code: Path | None = None,
                 retry: int = 0) -> list[dict]:
    """One job array for all of `todo` (and its retry job); returns the jobs.jsonl records (one per run).
    `code`: the snapshot the jobs import (default: one taken now, bench.sweep.snapshot). If sbatch refuses,
    nothing is left behind."""
    from bench.sweep import snapshot
    from bench.sweep.jobs import TrainJob

    folder = root / name
    logs = folder / "slurm-logs"
    snaps = folder / snapshot.SNAPSHOTS
    made = [p for p in (logs, snaps, folder, root) if not p.exists()]  # folders this attempt creates
    before = set(logs.iterdir()) if logs.exists() else set()
    before_code = set(snaps.iterdir()) if snaps.exists() else set()
    if code is None:
        code = snapshot.take(folder)
    ex = make_executor("slurm", logs, profile, f"bench-{name}", code)
    tasks = plan_tasks(todo, profile.runs_per_task)
    n = len(tasks)
    try:
        jobs = ex.map_array(TrainJob(), [job_arg(t) for t in tasks], [str(root)] * n, [name] * n)
    except Exception as e:  # sbatch refused: unknown partition, account, too much memory...
        # leave the folder as it was: remove submitit's files for this attempt, and folders it made
        for path in set(logs.iterdir()) - before if logs.exists() else ():
            path.unlink()
        for path in set(snaps.iterdir()) - before_code if snaps.exists() else ():
            shutil.rmtree(path)
        for path in made:
            if path.exists() and not any(path.iterdir()):
                path.rmdir()
        lines = [ln for ln in str(e).splitlines() if ln.strip()]
        raise BenchError(f"sbatch refused the job array: {lines[-1] if lines else e}; check the profile "
                         f"({profile.name}) and the cluster (sinfo)") from None
    now, ts = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.time()
    array = jobs[0].job_id.split("_")[0]
    records = [{"run_id": cfg.run_id, "executor": "slurm", "job_id": job.job_id, "array": array,
                "folder": str(logs), "submitted_at": now, "submitted_ts": ts, "task_packs": len(task),
                "retry": retry, "code": str(code)}
               for task, job in zip(tasks, jobs) for pack in task for cfg in pack]
    append_jobs(folder, records)
    if profile.max_retries > retry:
        from bench.sweep.retry import submit_watch

        submit_watch(folder, array, tasks, profile, code, retry)
    return records


def run_local(todo: list[RunConfig], root: Path, name: str, profile: Profile, code: Path, echo) -> None:
    """Each run in its own process through submitit's local executor, a few at a time; waits for all.
    SIGTERM or Ctrl-C to this process stops starting runs and asks the running ones to checkpoint."""
    from bench.store.faults import sigterm_interrupts

    folder = root / name
    logs = folder / "local-logs"
    ex = make_executor("local", logs, profile, f"bench-{name}", code)
    limit = profile.array_parallelism or max(1, (os.cpu_count() or 1) // profile.cpus_per_task)
    waiting, running = plan_packs(todo), []
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = python_path(code, before)  # submitit's controller hands on this environment
    try:
        with sigterm_interrupts():  # (a second SIGTERM during the clean-up below is ignored)
            try:
                _local_loop(ex, waiting, running, limit, folder, logs, root, name, echo)
            except (KeyboardInterrupt, SystemExit):
                echo(f"stopping: {len(running)} running job(s) checkpoint and stop; {len(waiting)} not started")
                for _, job in running:
                    _signal(int(job.job_id), signal.SIGTERM)  # its controller hands it on to the run (bench.sweep.jobs)
                end = time.time() + 300
                while any(not j.done() for _, j in running) and time.time() < end:
                    time.sleep(0.5)
                _reap(running, echo)
                raise
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _local_loop(ex, waiting, running, limit, folder, logs, root, name, echo) -> None:
    from bench.sweep.jobs import TrainJob

    while waiting or running:
        while waiting and len(running) < limit:
            pack = waiting.pop(0)
            job = ex.submit(TrainJob(), pack if len(pack) > 1 else pack[0], str(root), name)
            append_jobs(folder, [{"run_id": cfg.run_id, "executor": "local", "job_id": job.job_id,
                                  "folder": str(logs), "host": socket.gethostname(), "submitter": os.getpid(),
                                  "submitted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                  "submitted_ts": time.time()} for cfg in pack])
            echo(f"{_ids(pack)}: started (pid {job.job_id})")
            running.append((pack, job))
        time.sleep(0.5)
        _reap(running, echo)


def _reap(running: list, echo) -> None:
    """Report and forget the jobs that ended."""
    for pack, job in [(p, j) for p, j in running if j.done()]:
        running.remove((pack, job))
        try:
            result = job.result()
        except Exception as exc:  # noqa: BLE001 (the job's exception, as text)
            echo(f"{_ids(pack)}: failed ({_last_line(exc)}); log {job.paths.stderr}")
            continue
        results = result if isinstance(result, list) else [result]
        statuses = sorted({r["status"] for r in results}) or ["not started"]
        echo(f"{_ids(pack)}: {', '.join(statuses)}")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_debug(todo: list[RunConfig], root: Path, name: str, echo) -> None:
    """In this process, in order; an error propagates with its traceback."""
    from bench.sweep.jobs import TrainJob

    for pack in plan_packs(todo):
        results = TrainJob()(pack if len(pack) > 1 else pack[0], str(root), name)
        for result in results if isinstance(results, list) else [results]:
            echo(f"{result['run_id']}: {result['status']}")


def wait_for(folder: Path, echo, poll_s: float = 2.0) -> None:
    """Block until no job of the sweep is queued or running: its arrays, their requeues, the retry jobs
    and the arrays those submit (jobs.jsonl and retry-jobs.jsonl are read afresh each time)."""
    from bench.store import scheduler

    last = None
    while True:
        jobs = [j for j in all_jobs(folder) if j.get("executor") == "slurm"]
        tasks = scheduler.query({j["job_id"] for j in jobs})  # squeue holds a job from its submission on
        active = sorted(i for i, t in tasks.items() if t.live)
        retries = len(read_jsonl(folder / RETRY_JOBS))
        summary = f"{len(tasks) - len(active)}/{len(tasks)} jobs ended" + (
            f" ({retries} retry job{'s' if retries != 1 else ''} so far)" if retries else "")
        if summary != last:
            echo(summary)
            last = summary
        if not active:
            return
        time.sleep(poll_s)


def _ids(pack: list[RunConfig]) -> str:
    return ", ".join(cfg.run_id for cfg in pack)


def _last_line(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
