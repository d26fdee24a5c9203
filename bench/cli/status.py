"""`bench status` and `bench cancel`: where a sweep stands on one screen, and stopping exactly its jobs.
Attached to the `bench` group in bench/cli/app.py."""

from __future__ import annotations

from pathlib import Path

import click

from bench.errors import BenchError

STATE_CHOICES = ["pending", "running", "done", "failed", "diverged", "interrupted"]


@click.command("status")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULTS/NAME]...")
@click.option("--results", default="results", show_default=True, type=click.Path(path_type=Path),
              help="Results root, for when no folder is given (then every folder of runs under it is shown, "
                   "from `bench sweep` or `bench run`).")
@click.option("--state", "only", multiple=True, type=click.Choice(STATE_CHOICES),
              show_default="none: each state is counted, with one example run",
              help="List each run in this state (repeatable), with its job, step, error and log.")
@click.option("-v", "--verbose", is_flag=True, help="List every run, in every state.")
def status_cmd(folders, results, only, verbose):
    """Where each sweep stands: counts by state, then one line per reason (e.g. 40 pending, queued
    (Priority); 3 failed, their job ended OUT_OF_MEMORY) with an example run and its log. A run's state
    combines its run.json, its lock and the scheduler's record of each of its jobs."""
    from bench.sweep.status import find_folders

    for folder in folders or find_folders(results):
        print_status(folder, set(only) or (set(STATE_CHOICES) if verbose else set()))


def print_status(folder: Path, listed: set[str]) -> None:
    from bench.store.logs import tail
    from bench.sweep.status import STATES, counts, groups, sweep_status

    states = sweep_status(folder)
    n = counts(states)
    attempts = sum(s.attempts for s in states)
    click.echo(f"{shown(folder)}: {_n(len(states), 'run')}: " + ", ".join(f"{n[s]} {s}" for s in STATES)
               + (f" ({_n(attempts, 'attempt')})" if attempts > len(states) else ""))
    for g in groups(states):
        if g.state == "done" and not listed & {"done"}:
            continue
        click.echo(f"  {g.state:<11} {len(g.runs):>5}  {g.reason}".rstrip())
        if g.state in listed:
            for s in g.runs:
                _run_lines(s, tail, log_lines=s.state == "failed")
            continue
        ex = g.example
        click.echo(f"{'':20}e.g. {ex.run_id}  {ex.detail}".rstrip())
        if ex.log is not None and ex.log.exists() and g.state in ("failed", "interrupted"):
            click.echo(f"{'':20}log: {shown(ex.log)}")
    _retry_jobs(folder)


def _run_lines(s, tail, log_lines: bool) -> None:
    click.echo(f"{'':20}{s.run_id}  {s.detail}".rstrip())
    if log_lines and s.log is not None and s.log.exists():
        click.echo(f"{'':24}log: {shown(s.log)}")
        for line in tail(s.log, 3):
            click.echo(f"{'':24}| {line}")


def _retry_jobs(folder: Path) -> None:
    """One line when retry jobs (bench.sweep.retry) are still waiting or running."""
    from bench.store import scheduler
    from bench.sweep.status import RETRY_JOBS, read_jsonl

    jobs = read_jsonl(folder / RETRY_JOBS)
    if not jobs or not scheduler.available():
        return
    try:
        live = [j for j, t in scheduler.query({r["job_id"] for r in jobs}).items() if t.live]
    except scheduler.SchedulerError:
        return
    if live:
        click.echo(f"  retry jobs waiting for their arrays: {', '.join(sorted(live))} (tasks that end OUT_OF_MEMORY, "
                   f"NODE_FAIL or PREEMPTED are submitted again)")


@click.command("cancel")
@click.argument("folder", type=click.Path(path_type=Path), metavar="RESULTS/NAME")
@click.option("--dry-run", is_flag=True, help="Print the jobs that would be cancelled; cancel nothing.")
def cancel_cmd(folder, dry_run):
    """Cancel exactly one sweep's jobs: its SLURM job arrays (queued and running tasks, requeues
    included) and its retry jobs, or the processes of a local sweep. Running runs get SIGTERM, save a
    checkpoint at their next step and stop as interrupted; submitting the sweep again resumes them."""
    import os
    import signal
    import socket

    from bench.store import scheduler
    from bench.sweep.status import all_jobs
    from bench.store.rundir import pid_alive

    if not folder.is_dir():
        raise BenchError(f"{folder} is not a results folder; pass RESULTS/NAME, e.g. bench cancel results/my-sweep")
    jobs = all_jobs(folder)
    if not jobs:
        raise BenchError(f"{folder} has no jobs.jsonl: nothing was submitted from it with `bench sweep`")
    slurm = [j for j in jobs if j.get("executor") == "slurm"]
    targets: list[str] = []
    if slurm:
        tasks = scheduler.query({j["job_id"] for j in slurm})
        retry = {j["job_id"] for j in slurm if j.get("kind") == "retry"}
        live = {i for i, t in tasks.items() if t.live}
        # retry jobs first, so that none starts to resubmit what is being cancelled
        targets = sorted(live & retry) + sorted({scheduler.base_id(i) for i in live - retry})
    here = socket.gethostname()
    local = [j for j in jobs if j.get("executor") == "local" and j.get("host") == here]
    pids = sorted({int(j["submitter"]) for j in local if j.get("submitter") and pid_alive(int(j["submitter"]))}) or \
        sorted({int(j["job_id"]) for j in local if pid_alive(int(j["job_id"]))})
    if not targets and not pids:
        click.echo(f"nothing to cancel: no job of {shown(folder)} is queued or running")
        return
    if dry_run:
        click.echo(f"would cancel: {', '.join(targets + [f'pid {p}' for p in pids])}")
        return
    if targets:
        scheduler.cancel(targets)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    click.echo(f"cancelled {', '.join(['job ' + t for t in targets] + [f'pid {p}' for p in pids])} of {shown(folder)}; "
               f"running runs checkpoint and stop (interrupted); `bench sweep` with the same arguments resumes them")


def shown(path: Path) -> str:
    """A path relative to the working directory when it is under it (shorter to read and to copy)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
