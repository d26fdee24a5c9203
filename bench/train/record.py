"""The run record, run.json: how a number was made (environment, config, protocol, what every
metrics key means), when the run started and finished, and its last words when it is interrupted or
fails. Every member of a pack writes exactly these fields, as it would alone."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time

import torch

import bench
from bench.store import attempts
from bench.store.checkpoint import Checkpoints, prune
from bench.metrics import METRICS
from bench.metrics.registry import declarations, diagnostic
from bench.store.rundir import RunDir
from bench.train.member import Member

# The keys the loop itself writes into every metrics row (the loss parts are added as they appear).
LOOP_KEYS = (diagnostic("step"), diagnostic("wall_s", "seconds"), diagnostic("critic_gap_train", "critic gap (train)"))


def environment() -> dict:
    """Package versions, git commit, host: what run.json needs to say how a number was made."""
    import numpy
    import ot

    from bench.store.code import identity

    return {
        "versions": {
            "bench": bench.__version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "pot": ot.__version__,
        },
        # the code: git commit, uncommitted changes (dirty, their SHA-256) and, in a sweep's job, the
        # snapshot of the packages taken at submission that it imports (bench.sweep.snapshot)
        **identity(),
        "host": socket.gethostname(),
        "argv": sys.argv,
        # Which scheduler job ran this process, and how often SLURM had requeued it (preemption, time limit).
        "slurm": {k: os.environ[k] for k in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                                             "SLURM_RESTART_COUNT") if k in os.environ} or None,
    }


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"


def metric_keys(m: Member) -> dict[str, dict]:
    """What each key of the run's metrics rows means (bench.metrics.registry.Key): the loop's own keys,
    then the registered metrics' that apply to the data; loss parts join as diagnostics (declare_losses)."""
    return {**{k.name: k.declaration("training", ()) for k in LOOP_KEYS}, **declarations(m.dataset.family)}


def declare_losses(record: dict, row: dict, m: Member) -> None:
    """Loss parts are diagnostics, whatever a variant names them (bench report never correlates them)."""
    keys = record.setdefault("metric_keys", {})
    for name in [*m.acc_d, *m.acc_g]:
        name = "critic_gap_train" if name == "gap" else name
        if name in row and name not in keys:
            keys[name] = diagnostic(name).declaration("training", ())


def start_record(m: Member, config: dict, action: str, previous: dict | None = None) -> dict:
    cfg = m.cfg
    resumed_from = m.step if action == "resume" else None
    return {
        "run_id": cfg.run_id,
        "status": "running",
        "config": config,
        "variant": m.variant.describe(),
        "critic_norm": m.critic_norm,
        "data": m.dataset.describe(),
        "protocol": {n: METRICS.get(n).protocol for n in METRICS.names()
                     if METRICS.get(n).applies_to(m.dataset.family)},  # only the metrics this data has
        "metric_keys": metric_keys(m),
        "evaluation": cfg.evaluation.to_record(),  # extractor and metric sample counts (bench.eval_options)
        "device": describe_device(m.device),
        # how the steps ran (bench.speed): not part of the config, the numbers agree within float tolerance;
        # "pack": how many runs trained together (the loop updates it for the members of a pack)
        "speed": {**cfg.speed.to_record(), "compile": m.compile_mode, "compile_why": m.compile_why, "pack": 1},
        **environment(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "step": m.step,  # where it starts (resumes); updated at every checkpoint
        "resumed_from_step": resumed_from,  # the latest resume; every one is in attempts
        "attempts": attempts.begin(previous, resumed_from),  # every process that trained it (bench.store.attempts)
        "checkpoint_every": {"steps": cfg.ckpt.every_steps, "seconds": cfg.ckpt.every_s},
        "pid": os.getpid(),
    }


def finish_record(record: dict, m: Member, status: str, start_step: int, start_train_s: float,
                  seg_start: float) -> None:
    trained = m.step - start_step
    sps = trained / max(m.train_s - start_train_s, 1e-9) if trained else None
    record.update(
        status=status,
        step=m.step,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        timings={
            "train_s": round(m.train_s, 3),
            "eval_s": round(m.eval_s, 3),
            "eval_split_s": {k: round(v, 3) for k, v in m.eval_split.items()},
            "steps_per_s": round(sps, 3) if sps else None,
            "this_process_s": round(time.perf_counter() - seg_start, 3),
        },
    )
    if status == "diverged":
        record["diverged_at_step"] = m.step
    attempts.end(record, attempts.how(status, record))


def record_fallback(run: RunDir, record: dict, fallback: dict) -> None:
    """A speed trick failed and the run went on eagerly (bench.train.capture.Stepper): say so in run.json now."""
    record["speed"].update(compile="none", fallback=fallback)
    run.write(record)


def last_words(run: RunDir, record: dict, ckpts: Checkpoints, step: int, exc: BaseException) -> None:
    """Record an interruption (Ctrl-C, a scheduler's exit) or a failure in run.json and say on stderr how
    the run goes on. The disk that just failed may refuse this write too: then run.json keeps saying
    "running", which bench.store.runstate (bench status, bench report) reads as interrupted once no live
    process holds it."""
    failed = not isinstance(exc, (KeyboardInterrupt, SystemExit))
    record.update({"status": "failed" if failed else "interrupted", "step": step,
                   "error" if failed else "interrupted_by": f"{type(exc).__name__}: {exc}",
                   "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    attempts.end(record, attempts.how(record["status"], record))
    try:
        run.write(record)
    except OSError:
        pass
    if not failed:
        at = ckpts.good["step"] if ckpts.good else 0
        print(f"bench: {record['run_id']}: interrupted at step {record['step']} ({record['interrupted_by']}); "
              f"run the same command again to resume from step {at}", file=sys.stderr, flush=True)


def previous_record(run: RunDir) -> dict | None:
    try:
        return run.read()
    except (OSError, ValueError):
        return None


def stop_reason(stop) -> str:
    """What asked a run to stop between steps (bench.sweep.jobs.StopRequest says which signal)."""
    return getattr(stop, "why", None) or "a stop request"


def keep_checkpoints(run: RunDir, keep: str, record: dict) -> None:
    """Prune a finished run's checkpoints (bench.store.checkpoint.prune) and say what is left in run.json."""
    record["checkpoints_kept"] = prune(run.path, keep)
    run.write(record)
