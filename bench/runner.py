"""The one training loop, the same for every variant.

Per generator step: the variant says how many critic updates to run; each draws a real batch and a
latent batch on the device, computes the variant's critic loss, steps the critic and applies the
variant's constraint; then one generator update. Losses accumulate on the device and are read only
at the schedule's evaluation steps, where the evaluator writes one row to metrics.jsonl and the run
saves a full checkpoint (networks, optimizers, random streams), so an interrupted run resumes
exactly where it stopped.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

import bench
import variants as variant_pkg
from bench.arch import ARCHS
from bench.arch.norms import evaluation_mode
from bench.atomic import atomic_target, remove_leftovers
from bench.capture import Stepper
from bench import attempts
from bench.checkpoint import Cadence, Checkpoints, prune, save_generator
from bench.config import RunConfig
from bench.data import build_dataset
from bench.divergence import nonfinite_row_keys, poll
from bench.divergence import record as divergence_record
from bench.faults import sigterm_interrupts
from bench.metrics import METRICS, EvalContext, Missing
from bench.plots import save_image_grid, save_toy_snapshot
from bench.speed import resolve_compile, set_tf32
from bench.store import RunDir, atomic_write_text, decide, move_aside, read_jsonl
from variants.base import LossOut

EVAL_BATCH = 1000  # samples per forward pass at evaluation


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        from bench.errors import BenchError

        raise BenchError("--device cuda, but PyTorch sees no CUDA device; use --device cpu or auto")
    return torch.device(requested)


def batched(fn, x: torch.Tensor, size: int = EVAL_BATCH) -> torch.Tensor:
    return torch.cat([fn(x[i : i + size]) for i in range(0, len(x), size)])


@dataclass
class RunResult:
    run_id: str
    path: Path
    status: str  # done | diverged | failed | skipped
    action: str  # new | resume | restart | replace | skip
    last: dict = field(default_factory=dict)  # the last metrics row
    steps_per_s: float | None = None


class Trainer:
    """Builds everything a run needs from its RunConfig and trains it.

    `dataset`: an already built data set for cfg.dataset (packed runs share one); None builds it.
    """

    def __init__(self, cfg: RunConfig, dataset=None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        if self.device.type == "cpu":
            # Clipped weights and RMSprop's running averages produce subnormal floats, which x86 CPUs
            # handle ~100x slower; flushing them to zero changes no result that is not ~1e-38.
            torch.set_flush_denormal(True)
        torch.manual_seed(cfg.seed)  # network initialization
        # plan_runs already found (and, with --download, fetched) the files; here they are only read.
        self.dataset = (dataset if dataset is not None else
                        build_dataset(cfg.dataset, data_root=cfg.data_root)).to(self.device)
        self.streams = {  # independent seeded streams: data order, latents, randomness inside losses
            name: torch.Generator(device=self.device).manual_seed(cfg.seed * 1_000_003 + i)
            for i, name in enumerate(("data", "z", "loss"), start=1)
        }
        self.variant = variant_pkg.VARIANTS.get(cfg.variant)(cfg.hyper, rng=self.streams["loss"])
        arch = ARCHS.get(cfg.arch)
        default_norm = arch.critic_norms[0] if arch.critic_norms else None
        self.critic_norm = self.variant.critic_norm_rule.get(default_norm, default_norm) if default_norm else None
        G, D = arch.build(cfg.arch_params, self.dataset.shape, self.variant.critic_kind, self.critic_norm)
        self.G = G.to(self.device)
        self.D = self.variant.prepare_critic(D.to(self.device))
        self.variant.score_jointly = variant_pkg.scores_samples_independently(self.D)
        self.opt_g, self.opt_d = self.variant.optimizers(self.G, self.D)
        s = cfg.schedule
        self.eval_real = self.dataset.heldout(s.n_eval, s.eval_seed).to(self.device)
        bank_rng = torch.Generator().manual_seed(s.eval_seed + 1)
        self.z_bank = torch.randn(s.n_eval, cfg.arch_params.z_dim, generator=bank_rng).to(self.device)
        self.step = 0
        self.train_s = self.eval_s = 0.0
        # Evaluation seconds by part (each metric, "samples": G on the latent bank, "pictures": the sample
        # picture and its data), summed over the run: run.json's timings.eval_split_s.
        self.eval_split: dict[str, float] = {}
        self.picture_steps = cfg.evaluation.picture_steps(cfg.schedule.eval_steps())  # --pictures
        self._reset_accumulators()
        # How the steps run (bench.capture, bench.speed): resolved now for run.json, built at the first step.
        set_tf32(self.device, cfg.speed.tf32)
        self.compile_mode, self.compile_why = resolve_compile(cfg.speed.compile, self.device)
        self.stepper: Stepper | None = None

    # -- the hot loop --------------------------------------------------------------------------
    def _reset_accumulators(self) -> None:
        # Zeroed in place, not replaced: a captured step (bench.capture) adds into these very tensors.
        self.acc_d: dict[str, torch.Tensor] = getattr(self, "acc_d", {})
        self.acc_g: dict[str, torch.Tensor] = getattr(self, "acc_g", {})
        for v in [*self.acc_d.values(), *self.acc_g.values()]:
            v.zero_()
        self.n_d = self.n_g = 0

    def _latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.cfg.arch_params.z_dim, device=self.device, generator=self.streams["z"])

    def train_step(self) -> None:
        """One generator step, preceded by the variant's number of critic steps. No host syncs."""
        if self.stepper is None:
            self.stepper = Stepper(self, self.compile_mode)
        for _ in range(self.variant.critic_steps(self.step)):  # VARIANT HOOK: critic steps per G step
            self.stepper.critic()
            self.n_d += 1
        self.stepper.generator()
        self.n_g += 1
        self.step += 1

    # One critic step and one generator step: everything stays on the device, so bench.capture can
    # run them eagerly, compile their forward parts, or capture each whole into a CUDA graph.
    def critic_step(self) -> None:
        B = self.cfg.schedule.batch_size
        real = self.dataset.sample(B, self.streams["data"])
        noise = self.variant.critic_noise(real)  # VARIANT HOOK: randomness the loss needs (GP's eps)
        out = self.critic_forward(real, self._latents(B), noise)
        self.opt_d.zero_grad(set_to_none=True)
        out.total.backward()
        self.opt_d.step()
        self.variant.after_critic_step(self.D)  # VARIANT HOOK: constraint (e.g. clipping)
        accumulate(self.acc_d, out.parts)

    def critic_forward(self, real: torch.Tensor, z: torch.Tensor, noise: torch.Tensor | None) -> LossOut:
        with torch.no_grad():
            fake = self.G(z)
        return self.variant.critic_loss(self.D, real, fake, noise)  # VARIANT HOOK: critic loss (+ penalty)

    def generator_step(self) -> None:
        self.D.requires_grad_(False)  # the generator step needs no critic parameter gradients
        out = self.generator_forward(self._latents(self.cfg.schedule.batch_size))
        self.opt_g.zero_grad(set_to_none=True)
        out.total.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        accumulate(self.acc_g, out.parts)

    def generator_forward(self, z: torch.Tensor) -> LossOut:
        return self.variant.generator_loss(self.D, self.G(z))  # VARIANT HOOK: generator loss

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_d, self.opt_g]

    def generators(self) -> list[torch.Generator]:
        """Every random stream a step draws from (a CUDA graph must know them)."""
        return list(self.streams.values())

    # -- evaluation ----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, snapshot: Path | None) -> dict:
        """One metrics row for the current step; resets the loss accumulators."""
        # Networks are evaluated as the training step uses them: batch norm with batch statistics
        # (of each EVAL_BATCH chunk), running statistics left untouched (see evaluation_mode).
        clock = _Clock(self.eval_split, self.device)
        with evaluation_mode(self.G, self.D):
            fake = batched(self.G, self.z_bank)
            clock.lap("samples")

            def score(x):
                return batched(lambda b: self.variant.score(self.D, b), x)

            ctx = EvalContext(fake=fake, real=self.eval_real, dataset=self.dataset, score=score, step=self.step,
                              sample=self.fixed_samples, **self.cfg.evaluation.context())  # (bench.eval_options)
            row: dict = {"step": self.step}
            missing: dict[str, str] = {}
            losses = {k: float(v / self.n_d) for k, v in self.acc_d.items()}
            losses.update({k: float(v / self.n_g) for k, v in self.acc_g.items()})
            row["critic_gap_train"] = losses.pop("gap", None)
            row.update(losses)
            if not torch.isfinite(fake).all():
                missing["*"] = "the generator's output is not finite"
            else:
                for name in METRICS.names():
                    metric = METRICS.get(name)
                    if not metric.applies_to(self.dataset.family):  # e.g. FID on toy data: no key, not null
                        continue
                    result = metric.compute(ctx)
                    clock.lap(name)
                    if isinstance(result, Missing):
                        row.update({k: None for k in metric.keys})
                        missing.update({k: result.reason for k in metric.keys})
                    else:
                        row.update(result)
                draw = self.step in self.picture_steps  # --pictures: drawn at a few steps (bench.eval_options)
                if snapshot is not None and self.dataset.family == "toy":
                    title = f"{self.cfg.run_id}  step {self.step}"
                    save_toy_snapshot(snapshot, score, self.eval_real, fake, title, draw=draw)  # .npz always
                elif snapshot is not None and self.dataset.family == "image" and draw:
                    save_image_grid(snapshot, fake)  # the first 64 samples of the fixed latent bank
                clock.lap("pictures")
            if missing:
                row["missing"] = missing
            self._reset_accumulators()
            return row

    def fixed_samples(self, n: int):
        """G of n latents from a fixed seed (the same for every run), EVAL_BATCH at a time: for metrics that
        need more samples than the latent bank holds (the stacked-image mode count). Call it inside
        evaluation_mode, as evaluate() does."""
        rng = torch.Generator().manual_seed(self.cfg.schedule.eval_seed + 2)  # the bank uses eval_seed + 1
        for i in range(0, n, EVAL_BATCH):
            yield self.G(torch.randn(min(EVAL_BATCH, n - i), self.cfg.arch_params.z_dim, generator=rng).to(self.device))

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "step": self.step,
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "streams": {k: g.get_state() for k, g in self.streams.items()},
            "train_s": self.train_s,
            "eval_s": self.eval_s,
            "eval_split": dict(self.eval_split),
            # Loss sums since the last evaluation: a checkpoint taken between evaluations (when a job
            # is stopped, see run_one's `stop`) must carry them for the next row to match.
            "acc": {"d": self.acc_d, "g": self.acc_g, "n_d": self.n_d, "n_g": self.n_g},
        }

    def save(self, path: Path) -> None:
        """One checkpoint file (runs use bench.checkpoint.Checkpoints: checksums and a fallback)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_target(path, durable=True) as tmp, open(tmp, "wb") as f:
            torch.save(self.state(), f)

    def load(self, path: Path) -> None:
        self.load_state(torch.load(path, map_location=self.device, weights_only=True))  # cannot run pickled code

    def load_state(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        for k, g in self.streams.items():
            g.set_state(state["streams"][k].cpu())
        self.step, self.train_s, self.eval_s = state["step"], state["train_s"], state["eval_s"]
        self.eval_split = dict(state.get("eval_split", {}))  # absent from checkpoints written before it was added
        if "acc" in state:  # absent from checkpoints written before it was added (always at an eval step)
            acc = state["acc"]
            self.acc_d, self.acc_g, self.n_d, self.n_g = acc["d"], acc["g"], acc["n_d"], acc["n_g"]


class _Clock:
    """Adds the seconds since the previous lap to totals[part] (Trainer.eval_split); on CUDA it waits
    for the device first, so that queued work is counted where it was queued."""

    def __init__(self, totals: dict[str, float], device: torch.device):
        self.totals, self.device, self.t = totals, device, time.perf_counter()

    def lap(self, part: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.totals[part] = self.totals.get(part, 0.0) + now - self.t
        self.t = now


def accumulate(acc: dict[str, torch.Tensor], parts: dict[str, torch.Tensor]) -> None:
    """acc[k] += parts[k], in place, so the sums keep their addresses (see _reset_accumulators)."""
    for k, v in parts.items():
        if k not in acc:
            acc[k] = torch.zeros_like(v)
        acc[k].add_(v)


def environment() -> dict:
    """Package versions, git commit, host: what run.json needs to say how a number was made."""
    import numpy
    import ot

    from bench.snapshot import identity

    return {
        "versions": {
            "bench": bench.__version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "pot": ot.__version__,
        },
        # the code: git commit, uncommitted changes (dirty, their SHA-256) and, in a sweep's job, the
        # snapshot of the packages taken at submission that it imports (bench.snapshot)
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


def run_one(cfg: RunConfig, root: Path, name: str, force: bool = False, progress: bool = True,
            stop: Callable[[], bool] | None = None) -> RunResult:
    """Train (or resume, or skip) one run under root/name/run_id and return its outcome.

    `stop` is polled between generator steps (bench.jobs passes "has the scheduler asked this job to
    stop?"); when it returns True the run saves a checkpoint at that step boundary, records status
    "interrupted" and returns, so a requeued job resumes from exactly there.
    """
    run = RunDir(root / name / cfg.run_id)
    config = cfg.to_dict()
    action = decide(run, config, force)
    if action == "skip":
        rows = read_jsonl(run.metrics)
        rec = run.read() or {}
        return RunResult(cfg.run_id, run.path, "skipped", action, rows[-1] if rows else {},
                         rec.get("timings", {}).get("steps_per_s"))
    if action == "replace":
        move_aside(run)
    run.path.mkdir(parents=True, exist_ok=True)
    run.lock()
    try:
        with sigterm_interrupts():  # `kill PID` -> a clean interruption, as Ctrl-C (bench.faults)
            return _train(cfg, run, config, action, progress, stop)
    finally:
        run.unlock()


def _train(cfg: RunConfig, run: RunDir, config: dict, action: str, progress: bool,
           stop: Callable[[], bool] | None) -> RunResult:
    previous = _previous_record(run)  # its attempts go on in the new record (bench.attempts)
    trainer = Trainer(cfg)
    ckpts = Checkpoints(run.path)
    action, ckpt_problems = resume(trainer, ckpts, run, action)
    run.samples.mkdir(exist_ok=True)
    record = start_record(cfg, trainer, config, action, previous)
    if ckpt_problems:
        record["checkpoint_problems"] = ckpt_problems
    run.write(record)

    eval_steps = set(cfg.schedule.eval_steps())
    steps = cfg.schedule.steps
    refresh = max(1, steps // 100)
    start_step, start_train_s, seg_start = trainer.step, trainer.train_s, time.perf_counter()
    status, last = "done", {}
    # Divergence (bench.divergence): the last step known finite, and the last finite metrics row.
    since, last_finite = trainer.step, (read_jsonl(run.metrics) or [None])[-1]
    cadence = Cadence(cfg.ckpt)  # checkpoints between evaluations: by steps and by wall time
    bar = tqdm(total=steps, initial=trainer.step, desc=cfg.run_id, unit="step", disable=not progress,
               dynamic_ncols=True, leave=True, file=sys.stderr)
    try:
        t0 = time.perf_counter()
        while trainer.step < steps:
            trainer.train_step()
            bar.update(1)
            if trainer.stepper.fallback is not None and "fallback" not in record["speed"]:
                record_fallback(run, record, trainer.stepper.fallback)
            evaluated = trainer.step in eval_steps
            if evaluated:
                if trainer.device.type == "cuda":
                    torch.cuda.synchronize(trainer.device)
                t1 = time.perf_counter()
                trainer.train_s += t1 - t0
                row = trainer.evaluate(run.samples / f"step_{trainer.step:07d}")
                trainer.eval_s += time.perf_counter() - t1
                row["wall_s"] = round(trainer.train_s + trainer.eval_s, 3)
                run.append_metrics(row)
                last = row
                bar.set_postfix(gap=_fmt(row.get("critic_gap")), w1=_fmt(row.get("w1_exact")))
                if not _finite(row):
                    status = "diverged"
                    record["divergence"] = divergence_record(trainer.step, since, "evaluation",
                                                             nonfinite_row_keys(row), last_finite)
                    break
                since, last_finite = trainer.step, row
                checkpoint(trainer, ckpts, run, record)
                cadence.saved()
                save_generator(trainer.G, run.path, trainer.step)  # for `bench eval` to recompute rows
                t0 = time.perf_counter()
            stopping = stop is not None and trainer.step < steps and stop()
            saving = not evaluated and (stopping or cadence.due(trainer.step))
            if not evaluated and (saving or trainer.step % refresh == 0):
                sums = poll(trainer.acc_d, trainer.acc_g, trainer.n_d)  # one host sync per 1 % of the steps
                if sums.nonfinite():  # a NaN/inf loss since `since`: stop before it reaches a checkpoint
                    trainer.train_s += time.perf_counter() - t0
                    status = "diverged"
                    record["divergence"] = divergence_record(trainer.step, since, "training losses",
                                                             sums.nonfinite(), last_finite)
                    break
                since = trainer.step
                if progress:
                    bar.set_postfix(gap=_fmt(sums.running_gap()), refresh=False)
            if saving:  # between evaluations: the checkpoint carries the loss sums (Trainer.state)
                trainer.train_s += time.perf_counter() - t0
                checkpoint(trainer, ckpts, run, record)
                cadence.saved()
                t0 = time.perf_counter()
            if stopping:
                status = "interrupted"
                record["interrupted_by"] = stop_reason(stop)
                break
    except BaseException as exc:
        # Ctrl-C, or a scheduler's handler exiting the process, is an interruption, not a failure:
        # the run resumes from its last checkpoint when run again.
        failed = not isinstance(exc, (KeyboardInterrupt, SystemExit))
        record.update({"status": "failed" if failed else "interrupted", "step": trainer.step,
                       "error" if failed else "interrupted_by": f"{type(exc).__name__}: {exc}",
                       "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        attempts.end(record, attempts.how(record["status"], record))
        write_last_words(run, record, ckpts, failed)
        raise
    finally:
        bar.close()
    finish_record(record, trainer, status, start_step, start_train_s, seg_start)
    run.write(record)
    if status in ("done", "diverged"):
        keep_checkpoints(run, cfg.ckpt.keep, record)  # a finished run keeps what `bench eval` needs
    if status == "diverged":
        d = record["divergence"]
        kept = (f"its metrics up to step {d['last_finite_step']} are kept" if d["last_finite_step"] is not None
                else "before its first evaluation")
        print(f"bench: {cfg.run_id}: diverged: {d['reason']}; stopped, {kept} (run.json: divergence)",
              file=sys.stderr, flush=True)
    return RunResult(cfg.run_id, run.path, status, action, last, record["timings"]["steps_per_s"])


def resume(trainer: Trainer, ckpts: Checkpoints, run: RunDir, action: str) -> tuple[str, str | None]:
    """Load the newest trusted checkpoint into `trainer` (action "resume"), or prepare a restart.

    Returns the action actually taken ("restart" when no checkpoint could be trusted) and, when a
    checkpoint was damaged, the line saying so and what was done instead (also printed)."""
    problems = None
    remove_leftovers(run.path)  # temporary files of a killed process (we hold the run's lock)
    if action == "resume":
        found = ckpts.load_latest(trainer.device)  # verifies each file's SHA-256 (bench.checkpoint)
        problems = found.describe()
        if problems:
            print(f"bench: {trainer.cfg.run_id}: {problems}", file=sys.stderr, flush=True)
        if found.state is not None:
            trainer.load_state(found.state)
        else:
            action = "restart"
        run.keep_metrics_up_to(trainer.step)  # rows past the checkpoint are recomputed identically
    elif run.metrics.exists():
        atomic_write_text(run.metrics, "")  # a restart without checkpoint: earlier rows are recomputed
    return action, problems


def checkpoint(trainer: Trainer, ckpts: Checkpoints, run: RunDir, record: dict) -> None:
    """Save a checkpoint (bench.checkpoint) and record it, with the step reached, in run.json."""
    entry = ckpts.save(trainer.state(), trainer.step)
    record.update(step=trainer.step, checkpoint=entry)
    run.write(record)


def record_fallback(run: RunDir, record: dict, fallback: dict) -> None:
    """A speed trick failed and the run went on eagerly (bench.capture.Stepper): say so in run.json now."""
    record["speed"].update(compile="none", fallback=fallback)
    run.write(record)


def write_last_words(run: RunDir, record: dict, ckpts: Checkpoints, failed: bool) -> None:
    """Record an interruption or failure in run.json and say on stderr how the run goes on. The disk
    that just failed may refuse this write too: then run.json keeps saying "running", which
    bench.runstate (bench status, bench report) reads as interrupted once no live process holds it."""
    try:
        run.write(record)
    except OSError:
        pass
    if not failed:
        at = ckpts.good["step"] if ckpts.good else 0
        print(f"bench: {record['run_id']}: interrupted at step {record['step']} ({record['interrupted_by']}); "
              f"run the same command again to resume from step {at}", file=sys.stderr, flush=True)


def _previous_record(run: RunDir) -> dict | None:
    try:
        return run.read()
    except (OSError, ValueError):
        return None


def stop_reason(stop) -> str:
    """What asked a run to stop between steps (bench.jobs.StopRequest says which signal)."""
    return getattr(stop, "why", None) or "a stop request"


def keep_checkpoints(run: RunDir, keep: str, record: dict) -> None:
    """Prune a finished run's checkpoints (bench.checkpoint.prune) and say what is left in run.json."""
    record["checkpoints_kept"] = prune(run.path, keep)
    run.write(record)


# run.json's fields, shared with packed runs (bench.packed), whose members write exactly these.
def start_record(cfg: RunConfig, trainer: Trainer, config: dict, action: str, previous: dict | None = None) -> dict:
    resumed_from = trainer.step if action == "resume" else None
    return {
        "run_id": cfg.run_id,
        "status": "running",
        "config": config,
        "variant": trainer.variant.describe(),
        "critic_norm": trainer.critic_norm,
        "data": trainer.dataset.describe(),
        "protocol": {m: METRICS.get(m).protocol for m in METRICS.names()
                     if METRICS.get(m).applies_to(trainer.dataset.family)},  # only the metrics this data has
        "evaluation": cfg.evaluation.to_record(),  # extractor and metric sample counts (bench.eval_options)
        "device": describe_device(trainer.device),
        # how the steps ran (bench.speed): not part of the config, the numbers agree within float tolerance;
        # "pack": how many runs trained together (bench.packed updates it for its members)
        "speed": {**cfg.speed.to_record(), "compile": trainer.compile_mode, "compile_why": trainer.compile_why,
                  "pack": 1},
        **environment(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "step": trainer.step,  # where it starts (resumes); updated at every checkpoint
        "resumed_from_step": resumed_from,  # the latest resume; every one is in attempts
        "attempts": attempts.begin(previous, resumed_from),  # every process that trained it (bench.attempts)
        "checkpoint_every": {"steps": cfg.ckpt.every_steps, "seconds": cfg.ckpt.every_s},
        "pid": os.getpid(),
    }


def finish_record(record: dict, trainer: Trainer, status: str, start_step: int, start_train_s: float,
                  seg_start: float) -> None:
    trained = trainer.step - start_step
    sps = trained / max(trainer.train_s - start_train_s, 1e-9) if trained else None
    record.update(
        status=status,
        step=trainer.step,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        timings={
            "train_s": round(trainer.train_s, 3),
            "eval_s": round(trainer.eval_s, 3),
            "eval_split_s": {k: round(v, 3) for k, v in trainer.eval_split.items()},
            "steps_per_s": round(sps, 3) if sps else None,
            "this_process_s": round(time.perf_counter() - seg_start, 3),
        },
    )
    if status == "diverged":
        record["diverged_at_step"] = trainer.step
    attempts.end(record, attempts.how(status, record))


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4g}"


def _finite(row: dict) -> bool:
    if row.get("missing", {}).get("*"):
        return False
    return all(v is None or math.isfinite(v) for k, v in row.items() if isinstance(v, float))
