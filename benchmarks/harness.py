"""What every benchmark shares: build our runner's trainers, time them next to a plain PyTorch loop in
the same process, in interleaved repeats, and print the medians and the ratios.

A contestant is one generator step (with its critic steps) as a callable. Each repeat times every
contestant for the same number of steps, one after the other, so a machine that slows down or speeds
up (a shared CPU, GPU clocks) affects them all alike. The table reports each contestant's median rate
over repeats and, as its ratio to the baseline, the median of the per-repeat ratios (each against the
baseline's rate in the same repeat, so drift between repeats cancels) with their range.
Warm-up steps (CUDA-graph capture, torch.compile, cuDNN autotuning, allocator growth) are not timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch

from bench.errors import BenchError


@dataclass
class Contestant:
    name: str
    step: Callable[[], None]  # one generator step, preceded by its critic steps
    runs: int = 1  # runs advanced by one step (K for a pack)


def parse_args(description: str, argv=None, **defaults) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, help="timed generator steps per contestant and repeat "
                                             "[default: 200 on cuda, 10 on cpu]")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repeats; the table shows medians")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (graph capture, compilation)")
    p.add_argument("--modes", help="our runner's --compile modes to time, comma-separated "
                                   "[default: none,graph,compile on cuda; none on cpu]")
    p.add_argument("--packs", help="pack sizes K to time with the fastest mode, comma-separated "
                                   "[default: 8,32 on cuda; none on cpu]")
    p.add_argument("--threads", type=int, help="CPU threads (torch.set_num_threads) [default: PyTorch's]")
    p.add_argument("--tf32", action="store_true", help="allow TF32 (ours: --tf32; plain loop: the same setting)")
    p.add_argument("--json", metavar="PATH", help="also write the table's rows to PATH as JSON (benchmarks.gpu_check)")
    # The workload is fixed by the benchmark; these exist to smoke-test the scripts quickly.
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"], help=argparse.SUPPRESS)
    p.add_argument("--width", type=int, default=defaults.get("width"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        p.error("--device cuda, but PyTorch sees no CUDA device; use --device cpu")
    args.steps = args.steps or (200 if cuda else 10)
    args.modes = (args.modes or ("none,graph,compile" if cuda else "none")).split(",")
    args.packs = [int(k) for k in (args.packs or ("8,32" if cuda else "")).split(",") if k]
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def require(dataset: str, arch: str) -> None:
    """Fail with one line when this checkout lacks the data set or architecture a workload needs."""
    from bench.arch import ARCHS
    from bench.data import DATASETS

    for kind, name, registry in (("data set", dataset, DATASETS), ("arch", arch, ARCHS)):
        if name not in registry:
            raise BenchError(f"this workload needs the {kind} {name!r}, which this checkout does not register "
                             f"(it comes with the image data and architectures); registered: "
                             f"{', '.join(registry.names())}")


def ours(variant: str, arch: str, dataset: str, args, modes: list[str], packs: list[int],
         sets: dict[str, str]) -> tuple[list[Contestant], object]:
    """Our runner's trainers for the workload: one per --compile mode, and a pack per K (fastest mode).
    Returns them and a single-run trainer whose G and D the plain loop copies (same model, same init)."""
    from bench.config import RunOptions, plan_runs
    from bench.speed import Speed
    from bench.train.engine import Engine
    from bench.train.member import Member
    from bench.train.packed import PackedEngine

    def plan(seeds, speed):
        return plan_runs([variant], arch, dataset, seeds, preset="standard", sets=sets,
                         options=RunOptions.of(batch_size=args.batch_size, device=args.device,
                                               **dataclasses.asdict(speed)))

    out, reference = [], None
    for mode in modes:
        (cfg,) = plan([0], Speed(compile=mode, tf32=args.tf32))
        trainer = Engine(Member(cfg))
        reference = reference or trainer
        out.append(Contestant(f"bench run --compile {mode}", trainer.train_step))
    fastest = "graph" if "graph" in modes else modes[0]
    for k in packs:
        cfgs = plan(list(range(k)), Speed(compile=fastest, pack=k, tf32=args.tf32))
        members = [Member(cfgs[0])]
        members += [Member(c, dataset=members[0].dataset) for c in cfgs[1:]]
        out.append(Contestant(f"bench run --compile {fastest} --pack {k}", PackedEngine(members).train_step, runs=k))
    if reference is None:
        (cfg,) = plan([0], Speed(compile="none", tf32=args.tf32))
        reference = Engine(Member(cfg))
    return out, reference


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(contestants: list[Contestant], args) -> dict[str, list[float]]:
    """Generator steps per second of each contestant, one figure per repeat."""
    for c in contestants:
        for _ in range(args.warmup):
            c.step()
    _sync(args.device)
    rates: dict[str, list[float]] = {c.name: [] for c in contestants}
    for _ in range(args.repeats):
        for c in contestants:
            _sync(args.device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                c.step()
            _sync(args.device)
            rates[c.name].append(args.steps / (time.perf_counter() - t0))
    return rates


def report(title: str, contestants: list[Contestant], rates: dict[str, list[float]], args,
           baseline: str, file=sys.stdout) -> list[dict]:
    """Print the table (medians; ratios against `baseline`) and return its rows."""
    from bench.train.record import describe_device

    device = describe_device(torch.device(args.device))
    rows = []
    for c in contestants:
        med = statistics.median(rates[c.name])
        ratios = [r * c.runs / b for r, b in zip(rates[c.name], rates[baseline])]
        rows.append({"contestant": c.name, "gen_steps_per_s": med, "run_steps_per_s": med * c.runs,
                     "x_plain": statistics.median(ratios), "x_plain_range": (min(ratios), max(ratios)),
                     "repeats": [round(r, 2) for r in rates[c.name]]})
    print(f"{title}\n{device}; {args.steps} timed steps x {args.repeats} interleaved repeats, medians "
          f"(x plain: of the per-repeat ratios, with their range){'; TF32 on' if args.tf32 else ''}", file=file)
    width = max(len(r["contestant"]) for r in rows)
    print(f"{'contestant':<{width}}  {'gen steps/s':>11}  {'run-steps/s':>11}  {'x plain':>7}  {'range':>9}",
          file=file)
    for r in rows:
        low, high = r["x_plain_range"]
        print(f"{r['contestant']:<{width}}  {_num(r['gen_steps_per_s']):>11}  {_num(r['run_steps_per_s']):>11}  "
              f"{r['x_plain']:>7.2f}  {f'{low:.2f}-{high:.2f}':>9}", file=file)
    if getattr(args, "json", None):
        import json

        with open(args.json, "w") as f:
            json.dump({"title": title, "device": device, "steps": args.steps, "repeats": args.repeats,
                       "rows": rows}, f, indent=1)
    return rows


def _num(x: float) -> str:
    """Three significant figures at least, no exponent: 0.213, 5.27, 41.3, 1302."""
    return f"{x:.{max(0, 2 - int(math.floor(math.log10(x))))}f}" if x > 0 else "0"


def main(run: Callable[[argparse.Namespace], None], description: str, argv=None, **defaults) -> None:
    """Parse the arguments and run; a problem the user can fix is one line on stderr and exit 2."""
    args = parse_args(description, argv, **defaults)
    try:
        run(args)
    except BenchError as e:
        print(f"benchmark: error: {description.split(':')[0]}: {e}", file=sys.stderr)
        sys.exit(2)


def arch_sets(args) -> dict[str, str]:
    return {} if args.width is None else {"width": str(args.width)}

