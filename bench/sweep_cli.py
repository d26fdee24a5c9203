"""`bench sweep` and `bench status`: submit a grid of runs (SLURM job array, local processes or in
process) and follow it. Attached to the `bench` group in bench/cli.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from bench.checkpoint import click_options as ckpt_options
from bench.errors import BenchError
from bench.speed import click_options as speed_options

# Heavy imports (torch, submitit) happen inside the commands, so `bench --help` stays quick.
SCHEDULES = ["quick", "standard"]
EXECUTORS = ["slurm", "local", "debug"]


@click.command("sweep")
@click.argument("sweep_file", required=False, type=click.Path(path_type=Path), metavar="[SWEEP.yaml]")
@click.option("--variants", metavar="LIST", help="Comma-separated variants, e.g. wgan,wgan-gp.")
@click.option("--archs", metavar="LIST", help="Comma-separated architectures, e.g. mlp,dcgan.")
@click.option("--datasets", metavar="LIST", help="Comma-separated data sets, e.g. 8gaussians,25gaussians.")
@click.option("--seeds", metavar="LIST", help="Seeds, e.g. 0-4 or 0,1,2.")
@click.option("--schedule", type=click.Choice(SCHEDULES), help="Common schedule preset [default: quick].")
@click.option("--steps", type=int, metavar="N", help="Generator steps (overrides the schedule).")
@click.option("--batch-size", type=int, metavar="N", help="Batch size (overrides the schedule).")
@click.option("--evals", type=int, metavar="N", help="Evaluation points (overrides the schedule).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Training device [default: auto].")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a variant hyperparameter or arch knob for every run (repeatable).")
@click.option("--name", metavar="NAME", help="Folder under the results root; re-submitting the same name "
                                             "skips finished runs [default: the sweep file's name].")
@click.option("--results", default="results", show_default=True, type=click.Path(path_type=Path),
              help="Results root directory.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="slurm", show_default=True,
              help="slurm: one job array; local: processes on this machine; debug: in this process.")
@click.option("--profile", metavar="NAME", help="SLURM resources from slurm/profiles/NAME.yaml.")
@click.option("--partition", metavar="NAME", help="SLURM partition (overrides the profile).")
@click.option("--gpus", "gpus_per_task", type=int, metavar="N", help="GPUs per run (overrides the profile).")
@click.option("--cpus", "cpus_per_task", type=int, metavar="N", help="CPUs per run (overrides the profile).")
@click.option("--mem-gb", type=float, metavar="GB", help="Memory per run (overrides the profile).")
@click.option("--time", metavar="LIMIT", help="Wall-clock limit per job, e.g. 4:00:00 (overrides the profile).")
@click.option("--account", metavar="NAME", help="SLURM account (overrides the profile).")
@click.option("--qos", metavar="NAME", help="SLURM QOS (overrides the profile).")
@click.option("--constraint", metavar="EXPR", help="SLURM node constraint (overrides the profile).")
@click.option("--array-parallelism", type=int, metavar="N", help="Most runs at once (overrides the profile).")
@click.option("--dry-run", is_flag=True, help="Print the runs and the resources; submit nothing.")
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="With --executor slurm, return only when every job has ended (local and debug always wait).")
@speed_options(sweep=True)  # --compile, --pack, --tf32 (bench.speed); also sweep-file keys
@ckpt_options(sweep=True)  # --ckpt-every, --ckpt-every-s (bench.checkpoint); also sweep-file keys
def sweep_cmd(sweep_file, variants, archs, datasets, seeds, schedule, steps, batch_size, evals, device, sets,
              name, results, executor, profile, partition, gpus_per_task, cpus_per_task, mem_gb, time, account,
              qos, constraint, array_parallelism, dry_run, wait, speed, ckpt):
    """Run a grid of variants x archs x data sets x seeds, from flags or a SWEEP.yaml file.

    Each run is one task of a SLURM job array (or one local process). Run ids are stable: submitting
    the same sweep again skips finished runs, leaves queued ones alone and resumes interrupted ones
    from their checkpoints. A job warned of its time limit or preemption checkpoints and requeues
    itself. Follow a sweep with `bench status RESULTS/NAME`.
    """
    from bench.config import parse_sets
    from bench.profile import load_profile
    from bench.status import write_sweep
    from bench.store import check_results_root
    from bench.submit import run_debug, run_local, submit_slurm, triage, wait_for
    from bench.sweep import load_sweep_file, plan, spec_from_mapping

    values = load_sweep_file(sweep_file) if sweep_file else {}
    flags = {"variants": variants, "archs": archs, "datasets": datasets, "seeds": seeds, "schedule": schedule,
             "steps": steps, "batch_size": batch_size, "evals": evals, "device": device, "name": name, **speed,
             **ckpt}
    values.update({k: v for k, v in flags.items() if v is not None})
    if sets:
        values["set"] = {**(values.get("set") or {}), **parse_sets(sets)}
    if not values.get("name"):
        raise BenchError("a sweep from flags needs --name NAME (the folder a re-submission finds again)")
    spec = spec_from_mapping(values, str(sweep_file) if sweep_file else "bench sweep")
    runs = plan(spec)
    resources = load_profile(profile, {
        "partition": partition, "gpus_per_task": gpus_per_task, "cpus_per_task": cpus_per_task, "mem_gb": mem_gb,
        "time": time, "account": account, "qos": qos, "constraint": constraint,
        "array_parallelism": array_parallelism})
    root = results.resolve()
    folder = root / spec.name
    planned = triage(runs, folder)
    todo = [p.cfg for p in planned if p.action in ("new", "resume", "restart")]

    axes = [(spec.variants, "variant"), (spec.archs, "arch"), (spec.datasets, "data set"), (spec.seeds, "seed")]
    axes += [(spec.overrides, "override")] if len(spec.overrides) > 1 else []
    grid = " x ".join(_n(len(items), word) for items, word in axes)
    some = sum(o.variants is not None for o in spec.overrides)
    grid += f", {some} of them for some variants only" if some else ""
    click.echo(f"sweep {spec.name}: {_n(len(runs), 'run')} ({grid}) in {folder}")
    width = max(len(p.cfg.run_id) for p in planned)
    for p in planned:
        click.echo(f"  {p.action:<8} {p.cfg.run_id:<{width}}  {p.note}".rstrip())
    skipped = len(planned) - len(todo)
    how = {"slurm": "as one SLURM job array", "local": "as local processes", "debug": "in this process"}[executor]
    click.echo(f"{'would submit' if dry_run else 'submitting'} {_n(len(todo), 'run')} {how}"
               + (f" ({skipped} finished or queued: left alone)" if skipped else ""))
    if executor != "debug":
        click.echo(f"resources: {resources.describe()}")
    if dry_run or not todo:
        return
    if executor == "slurm" and not shutil.which("sbatch"):
        raise BenchError("--executor slurm, but there is no sbatch on PATH; run on a SLURM login node, use "
                         "--executor local, or start the test cluster (slurm/local/start)")

    check_results_root(results)

    def record_sweep():
        write_sweep(folder, spec.to_dict(), [r.run_id for r in runs], executor, resources.name)

    if executor == "debug":
        folder.mkdir(parents=True, exist_ok=True)
        record_sweep()
        run_debug(todo, root, spec.name, click.echo)
    elif executor == "local":
        folder.mkdir(parents=True, exist_ok=True)
        record_sweep()
        run_local(todo, root, spec.name, resources, click.echo)
    else:
        records = submit_slurm(todo, root, spec.name, resources)  # writes nothing if sbatch refuses
        record_sweep()
        array = records[0]["job_id"].split("_")[0]
        click.echo(f"submitted job array {array} ({_n(len(records), 'task')}); logs in {folder / 'slurm-logs'}")
        if not wait:
            click.echo(f"follow it with: bench status {_shown(folder)}")
            return
        wait_for(records, click.echo)
    _print_status(folder, verbose=False)


@click.command("status")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULTS/NAME]...")
@click.option("--results", default="results", show_default=True, type=click.Path(path_type=Path),
              help="Results root, for when no folder is given (then every sweep under it is shown).")
@click.option("-v", "--verbose", is_flag=True, help="List every run, not only failures.")
def status_cmd(folders, results, verbose):
    """Counts of pending, running, done, failed and diverged runs in a sweep folder, with each failure's
    last error lines and its log."""
    if not folders:
        if not results.is_dir():
            raise BenchError(f"no results folder {results}; pass RESULTS/NAME or --results DIR")
        folders = sorted(p.parent for p in results.glob("*/sweep.json")) or sorted(
            {p.parent.parent for p in results.glob("*/*/run.json")})
        if not folders:
            raise BenchError(f"no sweeps or runs under {results}; pass RESULTS/NAME")
    for folder in folders:
        _print_status(folder, verbose)


def _print_status(folder: Path, verbose: bool) -> None:
    from bench.status import STATES, counts, sweep_status, tail

    states = sweep_status(folder)
    n = counts(states)
    click.echo(f"{_shown(folder)}: {_n(len(states), 'run')}: " + ", ".join(f"{n[s]} {s}" for s in STATES))
    for s in states:
        if verbose or s.state == "failed":
            click.echo(f"  {s.state:<11} {s.run_id}  {s.detail}".rstrip())
        if s.state == "failed":
            if s.error:
                click.echo(f"      error: {s.error}")
            lines = tail(s.log)
            if s.log is not None:
                click.echo(f"      log: {_shown(s.log)}")
            for line in lines:
                click.echo(f"      | {line}")


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is under it (shorter to read and to copy)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
