"""The `bench` command line (click). Every problem the user can fix is one line on stderr and exit 2."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from bench.cli.options import run_options
from bench.errors import BenchError

SCHEDULES = ["quick", "standard"]


def _choices(kind: str) -> list[tuple[str, str]]:
    import variants
    from bench.arch import ARCHS
    from bench.data import DATASETS
    from bench.metrics import METRICS

    reg = {"variants": variants.VARIANTS, "archs": ARCHS, "datasets": DATASETS, "metrics": METRICS}[kind]
    # the question the bench asks of each variant: is its critic gap a W1 estimate? (run.json: gap_meaning)
    if kind == "variants":
        return [(name, f"{reg.about(name)} [critic gap estimates W1: "
                       f"{'yes' if reg.get(name).estimates_wasserstein else 'no'}]") for name in reg.names()]
    return [(name, reg.about(name)) for name in reg.names()]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="gan-bench")
def cli():
    """GAN Bench: train GAN variants on one common schedule and measure whether the critic's
    Wasserstein estimate tracks sample quality."""


@cli.command("list")
@click.argument("what", type=click.Choice(["variants", "archs", "datasets", "metrics"]), required=False)
def list_cmd(what):
    """List the registered variants, architectures, data sets and metrics (all four by default). Each variant's
    line names its paper and says whether theory makes its critic gap a (scaled) W1 estimate."""
    for kind in [what] if what else ["variants", "archs", "datasets", "metrics"]:
        if not what:
            click.echo(f"{kind}:")
        for name, about in _choices(kind):
            click.echo(f"{'  ' if not what else ''}{name:<14} {about}")


@cli.command("run")
@click.option("--variants", "variant_list", required=True, metavar="LIST",
              help="Comma-separated variants to train, e.g. wgan,gan (see `bench list variants`).")
@click.option("--arch", required=True, metavar="NAME", help="Architecture for G and D (see `bench list archs`).")
@click.option("--dataset", default="8gaussians", show_default=True, metavar="NAME",
              help="Data set (see `bench list datasets`); folder:PATH for a folder of images.")
@click.option("--schedule", "preset", type=click.Choice(SCHEDULES), default="quick", show_default=True,
              help="Common schedule preset: quick (seconds to a minute per run on a CPU) or standard "
                   "(the published protocol for the data set).")
@click.option("--seeds", default="0", show_default=True, metavar="LIST",
              help="Seeds, e.g. 0,1,2 or 0-4; one run per variant and seed.")
@click.option("--results", default="results", show_default=True, type=click.Path(path_type=Path),
              help="Results root directory.")
@click.option("--name", metavar="NAME", show_default="<schedule>-<YYYY-MM-DD>", help="Folder under the results root.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", show_default="none",
              help="Override a variant hyperparameter or arch knob, e.g. clip=0.02, gp_weight=5, width=256 "
                   "(repeatable; applies to each selected variant or arch that has the key).")
@click.option("--force", is_flag=True,
              help="Redo runs that already finished (the old run is moved aside, not deleted).")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar per run.")
@run_options("run")  # --steps ... --pictures: every field of bench.config.RunOptions
def run_cmd(variant_list, arch, dataset, preset, seeds, results, name, sets, force, progress, options):
    """Train each variant x seed on one architecture and data set, writing results/<name>/<run-id>/.

    Each run writes run.json (config, versions, device, status, timings), metrics.jsonl (one row per
    evaluation step), samples/ and ckpt/last.pt. A finished run is skipped when run again; an
    interrupted one resumes from its checkpoint.
    """
    from bench.config import RunOptions, parse_list, parse_seeds, parse_sets, plan_runs
    from bench.store.rundir import check_results_root

    runs = plan_runs(
        parse_list(variant_list, "--variants"), arch, dataset, parse_seeds(seeds), preset, sets=parse_sets(sets),
        options=RunOptions.of(**options),
    )
    name = name or f"{preset}-{time.strftime('%Y-%m-%d')}"
    if "/" in name or name in (".", ".."):
        raise BenchError(f"--name {name!r} must be a plain folder name (no '/'), e.g. --name wgan-vs-gan")
    check_results_root(results)

    from bench.cli.summary import print_summary
    from bench.train.loop import run_many

    outcomes = []
    for cfg, outcome in run_many(runs, results, name, force=force, progress=progress):  # packs where --pack asks
        if outcome.action == "skip":
            click.echo(f"{cfg.run_id}: already finished in {outcome.path}; skipped (--force to redo)", err=True)
        elif outcome.action == "resume":
            click.echo(f"{cfg.run_id}: resumed from its checkpoint", err=True)
        outcomes.append(outcome)
    print_summary(outcomes, results / name)


from bench.report.command import report_cmd  # noqa: E402  (its heavy imports happen when it runs)

cli.add_command(report_cmd)

from bench.cli.status import cancel_cmd, status_cmd  # noqa: E402
from bench.cli.sweep import sweep_cmd  # commands in their own module, attached here

cli.add_command(sweep_cmd)
cli.add_command(status_cmd)
cli.add_command(cancel_cmd)

from bench.cli.classifier import classifier_cmd  # noqa: E402

cli.add_command(classifier_cmd)

from bench.cli.eval import eval_cmd  # noqa: E402

cli.add_command(eval_cmd)


def main(argv: list[str] | None = None) -> None:
    """Entry point: click's own usage errors and our BenchErrors become one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="bench", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("bench: aborted", err=True)
        sys.exit(130)
    except click.UsageError as e:
        hint = f" (see `bench {e.ctx.command.name} --help`)" if e.ctx and e.ctx.command.name != "cli" else ""
        click.echo(f"bench: error: {e.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as e:
        click.echo(f"bench: error: {e.format_message()}", err=True)
        sys.exit(2)
    except BenchError as e:
        click.echo(f"bench: error: {e}", err=True)
        sys.exit(2)
    except OSError as e:  # a full, read-only or forbidden disk under the results: one line (bench.store.faults)
        from bench.store.faults import storage_problem

        problem = storage_problem(e)
        if problem is None:
            raise
        click.echo(f"bench: error: {problem}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
