"""The golden runs: `bench run` commands whose metrics rows must not change when the code around the
numbers does (issue 16's proof: a redesign changes no number).

Each case is one or two real `bench run` processes on the CPU, one thread (OMP_NUM_THREADS=1), and
its result is every run's status and metrics.jsonl rows, timing keys aside. `python -m
tests.golden.record` writes them to tests/golden/data/<case>.json; tests/golden/test_golden.py
runs the same commands again and asserts identical rows. The `full` cases are the issue's list (the
quick toy run of each of the six variants, a `--pack 2` run, a quick fashion-mnist DCGAN run, a run
killed after its first checkpoint and resumed); the `mini` cases are the same commands at a few
steps, fast enough for every test run.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
TIMING_KEYS = frozenset({"wall_s"})  # seconds: differ between any two runs
FASHION = "/usr/share/datasets/fashion-mnist"
SIX = ["gan", "lsgan", "wgan", "wgan-gp", "sngan", "ebgan"]
# mini: a few steps; WGAN's 100 warm-up critic steps per generator step would dominate
MINI = ["--steps", "12", "--evals", "2", "--n-eval", "300", "--batch-size", "16", "--set", "width=64",
        "--set", "warmup_critic_steps=7", "--set", "warmup_gen_steps=2"]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]  # `bench run` arguments, without --results / --name
    kill_after_checkpoint: bool = False  # SIGKILL once run.json records a checkpoint, then run again
    slow: bool = False  # the full-size runs: minutes on a loaded 2-core machine
    needs: str | None = None  # a data folder that must exist


def _cases() -> list[Case]:
    toy = ("--arch", "mlp", "--dataset", "8gaussians", "--device", "cpu", "--schedule", "quick")
    fashion = ("--arch", "dcgan", "--dataset", "fashion-mnist", "--data-root", FASHION, "--device", "cpu",
               "--schedule", "quick", "--seeds", "0")
    out = [Case(f"toy-{v}", ("--variants", v, *toy, "--seeds", "0"), slow=True) for v in SIX]
    out += [
        Case("packed", ("--variants", "wgan-gp,sngan", *toy, "--seeds", "0,1", "--pack", "2"), slow=True),
        Case("fashion", ("--variants", "wgan-gp,gan", *fashion), slow=True, needs=FASHION),
        # a checkpoint every 40 steps: the kill lands between evaluations, so the resume carries loss sums
        Case("resume", ("--variants", "wgan-gp", *toy, "--seeds", "0", "--ckpt-every", "40"),
             kill_after_checkpoint=True, slow=True),
        Case("mini-toy", ("--variants", ",".join(SIX), *toy, "--seeds", "0", *MINI)),
        Case("mini-packed", ("--variants", "wgan-gp,sngan,wgan", *toy, "--seeds", "0,1", "--pack", "2", *MINI)),
        Case("mini-fashion", ("--variants", "wgan-gp,gan", *fashion, "--steps", "3", "--evals", "1",
                              "--n-eval", "200", "--batch-size", "8"), needs=FASHION),
        Case("mini-resume", ("--variants", "wgan-gp,lsgan", *toy, "--seeds", "0", "--steps", "40", "--evals", "2",
                             "--n-eval", "300", "--batch-size", "16", "--set", "width=64", "--ckpt-every", "5"),
             kill_after_checkpoint=True),
    ]
    return out


CASES = {c.name: c for c in _cases()}


def environment() -> dict:
    """What bit-identical floats depend on besides the code: a different CPU or torch rounds differently."""
    import torch

    return {"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "machine": platform.machine(), "python": platform.python_version()}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _bench(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "bench", "run", *args, "--no-progress"]


def _run(args: list[str], timeout: float) -> None:
    p = subprocess.run(_bench(args), env=_env(), cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"bench run {' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")


def _run_killed_then_resumed(args: list[str], root: Path, timeout: float) -> None:
    """Start the command, SIGKILL it as soon as any run's run.json records a checkpoint, then run it again."""
    child = subprocess.Popen(_bench(args), env=_env(), cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    killed = False
    while child.poll() is None and time.monotonic() < deadline:
        for rec in root.glob("*/*/run.json"):
            try:
                killed = json.loads(rec.read_text()).get("checkpoint") is not None
            except (OSError, ValueError):  # being replaced right now
                continue
            if killed:
                break
        if killed:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    child.wait(30)
    if not killed:
        raise RuntimeError(f"the run ended (exit {child.returncode}) before a checkpoint could be killed: "
                           f"{child.stderr.read()[-2000:]}")
    _run(args, timeout)


def produce(case: Case, root: Path, timeout: float = 3600) -> dict:
    """Run the case under `root` and return {run_id: {"status", "rows"}} (rows without timing keys)."""
    args = [*case.args, "--results", str(root), "--name", case.name]
    if case.kill_after_checkpoint:
        _run_killed_then_resumed(args, root, timeout)
    else:
        _run(args, timeout)
    out, resumed = {}, False
    for run in sorted((root / case.name).iterdir()):
        if not (run / "run.json").exists():
            continue
        record = json.loads((run / "run.json").read_text())
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
        out[run.name] = {"status": record["status"],
                         "rows": [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in rows]}
        resumed |= bool(record.get("resumed_from_step"))
    if case.kill_after_checkpoint and not resumed:  # (where the kill landed differs between runs)
        raise RuntimeError(f"{case.name}: no run resumed from a checkpoint; the case proves nothing")
    return out


def load(case: Case) -> dict:
    return json.loads((DATA / f"{case.name}.json").read_text())
