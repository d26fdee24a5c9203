"""`bench eval`: recompute metrics of finished runs from their checkpoints and append the rows,
marked `recomputed: true` (e.g. FID with Inception once its weights are at hand). `bench report`
merges each appended row into the run's original row of the same step (bench.report.load)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from bench.cli.options import run_options


@click.command("eval")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--metrics", "metric_list", required=True, metavar="LIST", help="Comma-separated, e.g. fidelity,w1_feat.")
@click.option("--step", "which", type=click.Choice(["all", "last"]), default="last", show_default=True,
              help="Which generator snapshots (ckpt/G_step_*.pt) to evaluate: the last one, or all of them.")
@click.option("--data-root", type=click.Path(path_type=Path), metavar="DIR",
              show_default="where the run found its data", help="Where the run's image data set is looked for.")
@run_options("eval")  # --extractor, --inception-weights, --w-indep-steps, --n-modes, as for bench run
def eval_cmd(run_dirs, metric_list, which, data_root, options):
    """Recompute metrics for existing runs from ckpt/G_step_*.pt and append rows marked recomputed.

    The sample-count knobs default to the run's schedule preset (e.g. no w_indep for quick runs unless
    --w-indep-steps N is given)."""
    import torch

    from bench.arch.norms import evaluation_mode
    from bench.config import RunOptions, parse_list, plan_runs
    from bench.errors import BenchError
    from bench.eval_options import check as check_evaluation
    from bench.metrics import METRICS, EvalContext, Missing
    from bench.train.evaluate import batched
    from bench.train.member import Member
    from bench.store.rundir import RunDir

    names = parse_list(metric_list, "--metrics")
    for n in names:
        metric = METRICS.get(n)  # unknown names are a BenchError listing the choices
        if "critic" in metric.needs:  # what a metric needs, it declares (bench.metrics.registry)
            raise BenchError(f"--metrics {n}: needs the training critic, which is not kept per step; drop it")
    evaluation = options
    check_evaluation(**evaluation)  # e.g. a missing --inception-weights file fails before any run is read
    plans = []
    for d in run_dirs:
        run = RunDir(d)
        rec = run.read()
        ckpts = sorted((d / "ckpt").glob("G_step_*.pt")) if rec else []
        if not ckpts:
            raise BenchError(f"{d}: no run.json or no ckpt/G_step_*.pt (runs from before `bench eval` existed "
                             "keep no per-step weights); pass a run directory written by `bench run`")
        c = rec["config"]
        s = c["schedule"]
        root = data_root or rec.get("data", {}).get("root")  # default: where the run found its files
        # min(): a run written before --evals > --steps was refused evaluated at every step, as evals = steps does
        given = RunOptions.of(steps=s["steps"], batch_size=s["batch_size"], evals=min(s["evals"], s["steps"]),
                              n_eval=s["n_eval"], device="cpu", data_root=root, **evaluation)
        (cfg,) = plan_runs([c["variant"]], c["arch"], c["dataset"], [c["seed"]], s["preset"], sets=c["sets"],
                           options=given)  # bad options fail here, before any write
        options = cfg.evaluation  # the knobs not given come from the run's preset
        if "w_indep" in names and options.w_indep_steps == 0:
            raise BenchError(f"--metrics w_indep: the independent critic is off in {d}'s {s['preset']} schedule; "
                             "pass --w-indep-steps N (the standard schedule uses 500)")
        plans.append((run, cfg, options, ckpts if which == "all" else ckpts[-1:]))
    for run, cfg, options, ckpts in plans:
        trainer = Member(cfg)
        for path in ckpts:
            trainer.G.load_state_dict(torch.load(path, map_location=trainer.device, weights_only=True))
            step = int(path.stem.rsplit("_", 1)[1])
            row = {"step": step, "recomputed": True, "recomputed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            # G as in training and in the run's evaluations (bench.arch.norms.evaluation_mode), also for the
            # extra samples a metric draws through ctx.sample
            with torch.no_grad(), evaluation_mode(trainer.G, trainer.D):
                fake = batched(trainer.G, trainer.z_bank)
                ctx = EvalContext(fake=fake, real=trainer.eval_real, dataset=trainer.dataset, score=None, step=step,
                                  sample=trainer.fixed_samples, **options.context())
                for n in names:
                    metric = METRICS.get(n)
                    if not metric.applies_to(trainer.dataset.family):
                        continue
                    out = metric.compute(ctx)
                    row.update({k: None for k in metric.keys} if isinstance(out, Missing) else out)
            run.append_metrics(row)
            click.echo(f"{run.path.name} step {step}: " + ", ".join(
                f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float)))
