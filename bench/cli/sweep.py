"""`bench sweep`: submit a grid of runs (SLURM job array, local processes or in process). Attached to
the `bench` group in bench/cli/app.py; `bench status` and `bench cancel` are in bench/cli/status.py."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import click

from bench.cli.options import run_options
from bench.errors import BenchError
from bench.sweep.profile import Profile


def _profile(key: str) -> str:
    """How --help shows a profile key's default: the profile's value, else the built-in one."""
    default = next(f.default for f in dataclasses.fields(Profile) if f.name == key)
    return f"the profile's; else {'none' if default is None else default}"


# Heavy imports (torch, submitit) happen inside the commands, so `bench --help` stays quick.
SCHEDULES = ["quick", "standard"]
EXECUTORS = ["slurm", "local", "debug"]


@click.command("sweep")
@click.argument("sweep_file", required=False, type=click.Path(path_type=Path), metavar="[SWEEP.yaml]")
@click.option("--variants", metavar="LIST", show_default="the sweep file's",
              help="Comma-separated variants, e.g. wgan,wgan-gp.")
@click.option("--archs", "--arch", "archs", metavar="LIST", show_default="the sweep file's",
              help="Comma-separated architectures, e.g. mlp,dcgan.")
@click.option("--datasets", "--dataset", "datasets", metavar="LIST", show_default="the sweep file's",
              help="Comma-separated data sets, e.g. 8gaussians,25gaussians.")
@click.option("--seeds", metavar="LIST", show_default="the sweep file's", help="Seeds, e.g. 0-4 or 0,1,2.")
@click.option("--schedule", type=click.Choice(SCHEDULES), show_default="quick", help="Common schedule preset.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", show_default="none",
              help="Override a variant hyperparameter or arch knob for every run (repeatable).")
@click.option("--name", metavar="NAME", show_default="the sweep file's name",
              help="Folder under the results root; re-submitting the same name skips finished runs.")
@click.option("--force", is_flag=True,
              help="Redo runs that already finished (or hold another configuration under the same id): the old "
                   "run folder is moved aside, not deleted, before the run is submitted again. Runs that a "
                   "live job holds are left alone.")
@click.option("--results", default="results", show_default=True, type=click.Path(path_type=Path),
              help="Results root directory.")
@click.option("--executor", type=click.Choice(EXECUTORS), default="slurm", show_default=True,
              help="slurm: one job array; local: processes on this machine; debug: in this process.")
@click.option("--profile", metavar="NAME", show_default="none: the built-in defaults",
              help="SLURM resources from slurm/profiles/NAME.yaml.")
@click.option("--partition", show_default=_profile("partition"),
              metavar="NAME", help="SLURM partition (overrides the profile).")
@click.option("--gpus", "gpus_per_task", show_default=_profile("gpus_per_task"),
              type=int, metavar="N", help="GPUs per run (overrides the profile).")
@click.option("--cpus", "cpus_per_task", show_default=_profile("cpus_per_task"),
              type=int, metavar="N", help="CPUs per run (overrides the profile).")
@click.option("--mem-gb", show_default=_profile("mem_gb"),
              type=float, metavar="GB", help="Memory per run (overrides the profile).")
@click.option("--time", show_default=_profile("time"),
              metavar="LIMIT", help="Wall-clock limit per job, e.g. 4:00:00 (overrides the profile).")
@click.option("--account", show_default=_profile("account"),
              metavar="NAME", help="SLURM account (overrides the profile).")
@click.option("--qos", show_default=_profile("qos"), metavar="NAME", help="SLURM QOS (overrides the profile).")
@click.option("--constraint", show_default=_profile("constraint"),
              metavar="EXPR", help="SLURM node constraint (overrides the profile).")
@click.option("--array-parallelism", show_default=_profile("array_parallelism"),
              type=int, metavar="N", help="Most runs at once (overrides the profile).")
@click.option("--runs-per-task", type=int, metavar="N",
              help="Runs one array task trains one after another, for many short runs whose job start-up "
                   "would dominate (overrides the profile) [default: 1].")
@click.option("--max-retries", type=int, metavar="N",
              help="Times a task that ended OUT_OF_MEMORY, NODE_FAIL or PREEMPTED is submitted again, "
                   "resuming its runs from their checkpoints (overrides the profile) [default: 2].")
@click.option("--dry-run", is_flag=True, help="Print the runs and the resources; submit nothing.")
@click.option("--wait/--no-wait", default=False, show_default=True,
              help="With --executor slurm, return only when every job has ended, requeues and automatic "
                   "retries included (local and debug always wait).")
@run_options("sweep")  # --steps ... --pictures: every field of bench.config.RunOptions, also sweep-file keys
def sweep_cmd(sweep_file, variants, archs, datasets, seeds, schedule, sets, name, force, results, executor, profile,
              partition, gpus_per_task, cpus_per_task, mem_gb, time, account, qos, constraint, array_parallelism,
              runs_per_task, max_retries, dry_run, wait, options):
    """Run a grid of variants x archs x data sets x seeds, from flags or a SWEEP.yaml file.

    Each run is one task of a SLURM job array (or one local process). Run ids are stable: submitting
    the same sweep again skips finished runs, leaves queued ones alone and resumes interrupted ones
    from their checkpoints. A job warned of its time limit or preemption checkpoints and requeues
    itself; one cancelled, preempted or requeued (SIGTERM) checkpoints and stops. Jobs run a snapshot
    of the code taken at submission. Follow a sweep with `bench status RESULTS/NAME`, stop it with
    `bench cancel RESULTS/NAME`.
    """
    from bench.config import parse_seeds, parse_sets
    from bench.sweep.profile import load_profile
    from bench.sweep import snapshot
    from bench.sweep.status import write_sweep
    from bench.cli.status import print_status, shown
    from bench.store.rundir import RunDir, check_results_root, move_aside
    from bench.sweep.submit import run_debug, run_local, submit_slurm, triage, wait_for
    from bench.sweep.grid import load_sweep_file, plan, spec_from_mapping

    if seeds is not None:
        parse_seeds(seeds)  # a bad --seeds flag is named as the flag, not as a key of the sweep file
    values = load_sweep_file(sweep_file) if sweep_file else {}
    flags = {"variants": variants, "archs": archs, "datasets": datasets, "seeds": seeds, "schedule": schedule,
             "name": name, **options}  # given flags override the file's keys
    values.update({k: v for k, v in flags.items() if v is not None})
    if sets:
        values["set"] = {**(values.get("set") or {}), **parse_sets(sets)}
    if not values.get("name"):
        raise BenchError("a sweep from flags needs --name NAME (the folder a re-submission finds again)")
    spec = spec_from_mapping(values, str(sweep_file) if sweep_file else "bench sweep")
    runs = plan(spec)
    if executor != "slurm":  # the runs train on this machine: a device it lacks is refused before anything is written
        from bench.train.member import resolve_device

        for device in sorted({r.device for r in runs}):
            resolve_device(device)
    resources = load_profile(profile, {
        "partition": partition, "gpus_per_task": gpus_per_task, "cpus_per_task": cpus_per_task, "mem_gb": mem_gb,
        "time": time, "account": account, "qos": qos, "constraint": constraint,
        "array_parallelism": array_parallelism, "runs_per_task": runs_per_task, "max_retries": max_retries})
    root = results.resolve()
    folder = root / spec.name
    planned = triage(runs, folder, force=force)
    todo = [p.cfg for p in planned if p.action in ("new", "resume", "restart", "replace")]

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
               + (f" ({skipped} finished, running or queued: left alone)" if skipped else ""))
    if executor != "debug":
        click.echo(f"resources: {resources.describe(executor)}")
    if dry_run or not todo:
        return
    if executor == "slurm" and not shutil.which("sbatch"):
        raise BenchError("--executor slurm, but there is no sbatch on PATH; run on a SLURM login node, use "
                         "--executor local, or start the test cluster (slurm/local/start)")

    check_results_root(results)
    for p in planned:
        if p.action == "replace":  # --force: the old folder is kept under a new name (RunDir's lock guards it)
            moved = move_aside(RunDir(folder / p.cfg.run_id))
            click.echo(f"{p.cfg.run_id}: moved the old run aside to {moved.name}")

    def record_sweep():
        write_sweep(folder, spec.to_dict(), [r.run_id for r in runs], executor, resources.name)

    if executor == "debug":
        folder.mkdir(parents=True, exist_ok=True)
        record_sweep()
        run_debug(todo, root, spec.name, click.echo)
    elif executor == "local":
        folder.mkdir(parents=True, exist_ok=True)
        record_sweep()
        run_local(todo, root, spec.name, resources, snapshot.take(folder), click.echo)
    else:
        records = submit_slurm(todo, root, spec.name, resources)  # writes nothing if sbatch refuses
        record_sweep()
        tasks = len({r["job_id"] for r in records})
        click.echo(f"submitted job array {records[0]['array']} ({_n(tasks, 'task')} for {_n(len(records), 'run')}); "
                   f"code snapshot {shown(Path(records[0]['code']))}; logs in {shown(folder / 'slurm-logs')}")
        if not wait:
            click.echo(f"follow it with: bench status {shown(folder)}")
            return
        wait_for(folder, click.echo)
    print_status(folder, set())


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
