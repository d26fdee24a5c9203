"""The training loop: the only one, for K >= 1 members (a single run is K = 1; `--pack K` trains K
runs of one config that differ only in seed together). Read top to bottom:

  decide     each run is new, resumed, replaced or skipped (bench.store.rundir.decide); the rest are locked
  build      each member (bench.train.member) from its seed; resumed from its newest trusted checkpoint
  step       the engine (bench.train.engine for K = 1, bench.train.packed for K > 1) trains every member
  evaluate   at the schedule's evaluation steps each member writes one metrics row and a checkpoint
  poll       every 1 % of the steps one host read of the loss sums catches divergence (bench.train.divergence)
  save       between evaluations, on the checkpoint cadence or a stop request (bench.store.checkpoint.Cadence)
  stop       a scheduler's stop request (bench.sweep.jobs) checkpoints and returns "interrupted"
  finish     each member's run.json gets its status and timings; a finished run prunes its checkpoints

A member that diverges stops as it would alone; the others go on. Every member's folder ends up as
if it had trained alone.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from tqdm.auto import tqdm

from bench.store.atomic import remove_leftovers
from bench.store.checkpoint import Cadence, Checkpoints, save_generator
from bench.config import RunConfig
from bench.train.divergence import nonfinite_row_keys, poll
from bench.train.divergence import record as divergence_record
from bench.store.faults import sigterm_interrupts
from bench.store.rundir import RunDir, atomic_write_text, decide, move_aside, read_jsonl
from bench.train import record as R
from bench.train.engine import Engine, Steps
from bench.train.evaluate import evaluate
from bench.train.member import Member, resolve_device
from bench.train.packed import PackedEngine


@dataclass
class RunResult:
    run_id: str
    path: Path
    status: str  # done | diverged | failed | interrupted | skipped
    action: str  # new | resume | restart | replace | skip
    last: dict = field(default_factory=dict)  # the last metrics row
    steps_per_s: float | None = None


@dataclass
class Ledger:
    """What the loop keeps for one run besides its training state (the Member)."""

    cfg: RunConfig
    run: RunDir
    action: str
    member: Member | None = None
    previous: dict | None = None  # the run.json this run replaces (its attempts go on, bench.store.attempts)
    problems: str | None = None  # what was wrong with a damaged checkpoint, and what was done instead
    record: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    ckpts: Checkpoints | None = None
    since: int = 0  # the last step known finite (bench.train.divergence)
    last_finite: dict | None = None  # the last finite metrics row


def plan_packs(cfgs: list[RunConfig]) -> list[list[RunConfig]]:
    """Split runs into packs: runs whose configs differ only in seed, in order, at most `pack` each."""
    groups: dict[RunConfig, list[RunConfig]] = {}
    for cfg in cfgs:
        groups.setdefault(dataclasses.replace(cfg, seed=0), []).append(cfg)
    return [members[i : i + members[0].speed.pack] for members in groups.values()
            for i in range(0, len(members), members[0].speed.pack)]


def run_many(cfgs: list[RunConfig], root: Path, name: str, force: bool = False,
             progress: bool = True) -> Iterator[tuple[RunConfig, RunResult]]:
    """Every run, packed where its config asks (`--pack K`), one by one otherwise."""
    for pack in plan_packs(cfgs):
        yield from run(pack, root, name, force=force, progress=progress)


def run_one(cfg: RunConfig, root: Path, name: str, force: bool = False, progress: bool = True,
            stop: Callable[[], bool] | None = None) -> RunResult:
    return run([cfg], root, name, force=force, progress=progress, stop=stop)[0][1]


def run(cfgs: list[RunConfig], root: Path, name: str, force: bool = False, progress: bool = True,
        stop: Callable[[], bool] | None = None) -> list[tuple[RunConfig, RunResult]]:
    """Train (or resume, or skip) runs that differ only in seed under root/name/<run-id>, as one pack.

    `stop` is polled between generator steps (bench.sweep.jobs passes "has the scheduler asked this job to
    stop?"); when it returns True every member saves a checkpoint at that step boundary, records
    "interrupted" and returns, so a requeued job resumes from exactly there."""
    results: dict[str, RunResult] = {}
    todo: list[Ledger] = []
    # decide every run first: a clash (or --device cuda without CUDA) raises before anything is written
    for cfg in cfgs:
        run_dir = RunDir(root / name / cfg.run_id)
        action = decide(run_dir, cfg.to_dict(), force, device=resolve_device(cfg.device).type)
        if action == "skip":
            rows, rec = read_jsonl(run_dir.metrics), run_dir.read() or {}
            results[cfg.run_id] = RunResult(cfg.run_id, run_dir.path, "skipped", action, rows[-1] if rows else {},
                                            rec.get("timings", {}).get("steps_per_s"))
        else:
            todo.append(Ledger(cfg, run_dir, action))
    locked: list[RunDir] = []
    try:
        with sigterm_interrupts():  # `kill PID` -> a clean interruption, as Ctrl-C (bench.store.faults)
            for ledger in todo:
                if ledger.action == "replace":
                    move_aside(ledger.run)
                ledger.run.path.mkdir(parents=True, exist_ok=True)
                ledger.run.lock()
                locked.append(ledger.run)
            by_step: dict[int, list[Ledger]] = {}
            for i, ledger in enumerate(todo):
                ledger.previous = R.previous_record(ledger.run)
                # one data set for all members: the first one's, built as a single run builds it
                ledger.member = Member(ledger.cfg, dataset=todo[0].member.dataset if i else None)
                ledger.problems = resume(ledger)
                by_step.setdefault(ledger.member.step, []).append(ledger)  # resumed at different steps: apart
            for k, group in enumerate(by_step.values()):
                if k and stop is not None and stop():
                    break  # interrupted between packs: the rest resume from where they are when run again
                for ledger, result in zip(group, train(group, progress, stop)):
                    results[ledger.cfg.run_id] = result
    finally:
        for run_dir in locked:
            run_dir.unlock()
    return [(cfg, results[cfg.run_id]) for cfg in cfgs if cfg.run_id in results]


def resume(ledger: Ledger) -> str | None:
    """Load the newest trusted checkpoint into the member (action "resume"), or prepare a restart
    (action "restart" when no checkpoint could be trusted). Returns, when a checkpoint was damaged,
    the line saying so and what was done instead (also printed)."""
    m, run_dir, problems = ledger.member, ledger.run, None
    ledger.ckpts = Checkpoints(run_dir.path)
    remove_leftovers(run_dir.path)  # temporary files of a killed process (we hold the run's lock)
    if ledger.action == "resume":
        found = ledger.ckpts.load_latest(m.device)  # verifies each file's SHA-256 (bench.store.checkpoint)
        problems = found.describe()
        if problems:
            print(f"bench: {ledger.cfg.run_id}: {problems}", file=sys.stderr, flush=True)
        if found.state is not None:
            m.load_state(found.state)
        else:
            ledger.action = "restart"
        run_dir.keep_metrics_up_to(m.step)  # rows past the checkpoint are recomputed identically
    elif run_dir.metrics.exists():
        atomic_write_text(run_dir.metrics, "")  # a restart without checkpoint: earlier rows are recomputed
    ledger.since, ledger.last_finite = m.step, (read_jsonl(run_dir.metrics) or [None])[-1]
    return problems


def checkpoint(ledger: Ledger) -> None:
    """Save a checkpoint (bench.store.checkpoint) and record it, with the step reached, in run.json."""
    entry = ledger.ckpts.save(ledger.member.state(), ledger.member.step)
    ledger.record.update(step=ledger.member.step, checkpoint=entry)
    ledger.run.write(ledger.record)


def train(ledgers: list[Ledger], progress: bool, stop: Callable[[], bool] | None) -> list[RunResult]:
    """Train the members of one pack (K >= 1) from their common step to the end of the schedule."""
    members = [g.member for g in ledgers]
    engine: Steps = Engine(members[0]) if len(members) == 1 else PackedEngine(members)
    seeds = [g.cfg.seed for g in ledgers]
    for i, g in enumerate(ledgers):
        g.run.samples.mkdir(exist_ok=True)
        g.record = R.start_record(g.member, g.cfg.to_dict(), g.action, g.previous)
        if g.problems:
            g.record["checkpoint_problems"] = g.problems
        if len(ledgers) > 1:
            g.record["speed"].update(pack=len(ledgers), pack_seeds=seeds, pack_index=i)
        g.run.write(g.record)

    cfg = ledgers[0].cfg
    eval_steps, steps = set(cfg.schedule.eval_steps()), cfg.schedule.steps
    refresh = max(1, steps // 100)
    start_step, seg_start = engine.step, time.perf_counter()
    start_train_s = [m.train_s for m in members]
    live = list(range(len(ledgers)))
    status = "done"
    cadence = Cadence(cfg.ckpt)  # checkpoints between evaluations: by steps and by wall time

    def diverged(i: int, where: str, keys: list[str]) -> None:  # member i stops, as it would alone
        g = ledgers[i]
        live.remove(i)
        if where != "evaluation":  # a member's step and time are brought up to date at evaluations only
            g.member.step = engine.step
            g.member.train_s = engine.member_train_s0[i] + engine.train_s + time.perf_counter() - t0
        g.record["divergence"] = divergence_record(engine.step, g.since, where, keys, g.last_finite)
        R.finish_record(g.record, g.member, "diverged", start_step, start_train_s[i], seg_start)
        g.run.write(g.record)
        d = g.record["divergence"]
        kept = (f"its metrics up to step {d['last_finite_step']} are kept" if d["last_finite_step"] is not None
                else "before its first evaluation")
        print(f"bench: {g.cfg.run_id}: diverged: {d['reason']}; stopped, {kept} (run.json: divergence)",
              file=sys.stderr, flush=True)

    bar = tqdm(total=steps, initial=engine.step, desc=engine.label, unit="step", disable=not progress,
               dynamic_ncols=True, leave=True, file=sys.stderr)
    try:
        t0 = time.perf_counter()
        while engine.step < steps and live:
            engine.train_step()
            bar.update(1)
            if engine.stepper.fallback is not None and "fallback" not in ledgers[0].record["speed"]:
                for g in ledgers:
                    R.record_fallback(g.run, g.record, engine.stepper.fallback)
            evaluated = engine.step in eval_steps
            if evaluated:  # -- evaluate: one row and one checkpoint per member ---------------------
                if engine.device.type == "cuda":
                    torch.cuda.synchronize(engine.device)
                engine.train_s += time.perf_counter() - t0
                engine.sync()
                for i in list(live):
                    g, m = ledgers[i], ledgers[i].member
                    t1 = time.perf_counter()
                    row = evaluate(m, g.run.samples / f"step_{m.step:07d}")
                    m.eval_s += time.perf_counter() - t1
                    row["wall_s"] = round(m.train_s + m.eval_s, 3)
                    g.run.append_metrics(row)
                    R.declare_losses(g.record, row, m)
                    g.last = row
                    if nonfinite_row_keys(row):  # this member stops, as it would alone; the others go on
                        diverged(i, "evaluation", nonfinite_row_keys(row))
                        continue
                    g.since, g.last_finite = engine.step, row
                    checkpoint(g)
                    save_generator(m.G, g.run.path, m.step)  # for `bench eval` to recompute rows
                cadence.saved()
                engine.reset_sums()
                bar.set_postfix(gap=_fmt(ledgers[0].last.get("critic_gap")), w1=_fmt(ledgers[0].last.get("w1_exact")))
                t0 = time.perf_counter()
            stopping = stop is not None and engine.step < steps and stop()
            saving = not evaluated and (stopping or cadence.due(engine.step))
            if not evaluated and (saving or engine.step % refresh == 0):  # -- poll: divergence --------
                sums = poll(engine.acc_d, engine.acc_g, engine.n_d)  # one host sync per 1 % of the steps
                for i in list(live):
                    if sums.nonfinite(i):  # a NaN/inf loss since `since`: stop before it reaches a checkpoint
                        diverged(i, "training losses", sums.nonfinite(i))
                    else:
                        ledgers[i].since = engine.step
                if progress:
                    bar.set_postfix(gap=_fmt(sums.running_gap()), refresh=False)
            if saving and live:  # -- save: the checkpoints carry the loss sums so far (Member.state) ---
                engine.train_s += time.perf_counter() - t0
                engine.sync()
                for i in live:
                    checkpoint(ledgers[i])
                cadence.saved()
                t0 = time.perf_counter()
            if stopping:  # -- stop: a scheduler asked -------------------------------------------------
                status = "interrupted"
                for i in live:
                    ledgers[i].record["interrupted_by"] = R.stop_reason(stop)
                break
    except BaseException as exc:
        # Ctrl-C, or a scheduler's handler exiting the process, is an interruption, not a failure:
        # the run resumes from its last checkpoint when run again.
        for i in live:
            R.last_words(ledgers[i].run, ledgers[i].record, ledgers[i].ckpts, engine.step, exc)
        raise
    finally:
        bar.close()
    for i in live:  # -- finish -------------------------------------------------------------------
        g = ledgers[i]
        R.finish_record(g.record, g.member, status, start_step, start_train_s[i], seg_start)
        g.run.write(g.record)
    for g in ledgers:
        if g.record["status"] in ("done", "diverged"):
            R.keep_checkpoints(g.run, g.cfg.ckpt.keep, g.record)  # a finished run keeps what `bench eval` needs
    return [RunResult(g.cfg.run_id, g.run.path, g.record["status"], g.action, g.last,
                      g.record["timings"]["steps_per_s"]) for g in ledgers]


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"
