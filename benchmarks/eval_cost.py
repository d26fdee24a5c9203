"""What evaluation costs next to training, on the `standard` image schedule: the issue's "< 10 %" check.

    python -m benchmarks.eval_cost --threads 1                         # fashion-mnist, wgan-gp, dcgan
    python -m benchmarks.eval_cost --threads 1 --dataset stacked-fashion-mnist
    python -m benchmarks.eval_cost --device cuda

Times (1) the runner's generator step of `wgan-gp --arch dcgan` at the standard batch (5 critic steps
with the gradient penalty, one generator step), median of --repeats blocks of --steps steps after a
warm-up, and (2) one evaluation (bench.train.evaluate) at the standard sample counts with every metric (FID/IS/KID/PR
on 10,000 samples, exact and sliced W1, w_indep at its standard steps, stacked modes on 26,000
samples where the data is stacked): the first evaluation of a process, which also computes the
real set's features (cached on disk by torch-fidelity for later evaluations and runs), and a second
one. Then eval / (eval + training between two evaluations), with steps / evals generator steps
between evaluations. A per-metric breakdown of the second evaluation follows.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="evaluation cost vs training cost on the standard image schedule")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--variant", default="wgan-gp")
    p.add_argument("--arch", default="dcgan")
    p.add_argument("--steps", type=int, default=5, help="timed generator steps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, help="torch.set_num_threads [default: PyTorch's]")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON (benchmarks.gpu_check)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from bench.config import RunOptions, plan_runs
    from bench.metrics import METRICS
    from bench.train.engine import Engine
    from bench.train.evaluate import evaluate
    from bench.train.member import Member

    (cfg,) = plan_runs([args.variant], args.arch, args.dataset, [0], "standard",
                       options=RunOptions.of(device=args.device))
    s = cfg.schedule
    trainer = Engine(Member(cfg))

    def sync():  # CUDA work is asynchronous: wait for it before reading the clock
        if trainer.device.type == "cuda":
            torch.cuda.synchronize(trainer.device)

    for _ in range(3 if trainer.device.type == "cuda" else 1):  # warm-up: allocator growth, CUDA-graph capture
        trainer.train_step()
    blocks = []
    for _ in range(args.repeats):
        sync()
        t = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step()
        sync()
        blocks.append((time.perf_counter() - t) / args.steps)
    step_s = statistics.median(blocks)

    # a per-metric breakdown: wrap each registered metric's compute with a timer (benchmark only)
    spent: dict[str, float] = {}
    for name in METRICS.names():
        metric = METRICS.get(name)

        def timed(ctx, _compute=metric.compute, _name=name):
            t0 = time.perf_counter()
            try:
                return _compute(ctx)
            finally:
                spent[_name] = time.perf_counter() - t0

        METRICS._entries[name] = dataclasses.replace(metric, compute=timed)

    evals = []
    for _ in range(2):
        spent.clear()
        sync()
        t = time.perf_counter()
        trainer.sync()
        row = evaluate(trainer.member, None)  # reads its results back to the host, so it ends synchronized
        evals.append(time.perf_counter() - t)
    interval = s.steps / s.evals
    print(f"{args.variant} {args.arch} {args.dataset} on {args.device}, standard schedule (batch {s.batch_size}, "
          f"n_eval {s.n_eval}, {s.evals} evaluations in {s.steps} steps), {torch.get_num_threads()} thread(s)")
    print(f"training: {step_s:.3f} s per generator step (median of {args.repeats} x {args.steps}: "
          f"{', '.join(f'{b:.3f}' for b in blocks)}); {interval:.0f} steps between evaluations = "
          f"{interval * step_s:.0f} s")
    for label, e in (("first evaluation (real features computed)", evals[0]),
                     ("later evaluation (real features cached)", evals[1])):
        print(f"{label}: {e:.1f} s = {100 * e / (e + interval * step_s):.2f} % of eval + training")
    print("later evaluation by metric: " + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    print("row keys: " + ", ".join(k for k, v in row.items() if v is not None))
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"device": str(trainer.device), "compile": trainer.compile_mode, "step_s": step_s,
                       "blocks_s": blocks, "steps_between_evals": interval, "first_eval_s": evals[0],
                       "later_eval_s": evals[1],
                       "later_eval_percent": 100 * evals[1] / (evals[1] + interval * step_s),
                       "first_eval_percent": 100 * evals[0] / (evals[0] + interval * step_s),
                       "by_metric_s": spent}, f, indent=1)


if __name__ == "__main__":
    main()
