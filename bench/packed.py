"""Packed runs (`--pack K`): K runs of one config that differ only in seed, trained as one.

The K members' parameters and buffers are stacked on a new leading axis
(torch.func.stack_module_state), and each step evaluates the variant's own hooks once per member
under torch.func.vmap with torch.func.functional_call: the members' matmuls become batched matmuls,
one kernel for K runs. Everything else stays per member and exactly as it would be alone:

- each member is an ordinary bench.runner.Trainer, built from its own seed (initialization,
  spectral-norm vectors, the data / latent / loss streams), so its random numbers are the ones it
  would draw alone: every batch, latent and gradient-penalty eps is drawn from the member's own
  streams and stacked;
- losses are per member (vmap) and their sum is backpropagated, so each member gets its own gradient;
  Adam and RMSprop are elementwise, so one optimizer over the stacked parameters is K optimizers;
  weight clipping is elementwise; spectral norm's power iteration runs on each member's own vectors;
- at each evaluation the stacked state is copied back into the members, and each member evaluates,
  checkpoints and writes run.json / metrics.jsonl / samples in its own run directory with the code
  a single run uses (bench.runner). A member's checkpoint resumes alone, and vice versa.

The results agree with the same seeds run one by one within float tolerance (batched and single
matmuls round differently), which tests/unit/test_packed.py checks for every variant.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from bench.capture import Stepper, set_capturable
from bench.checkpoint import Cadence, Checkpoints, save_generator
from bench.config import RunConfig
from bench.divergence import nonfinite_row_keys, poll
from bench.divergence import record as divergence_record
from bench.faults import sigterm_interrupts
from bench import attempts
from bench.runner import (
    RunResult,
    Trainer,
    _finite,
    _fmt,
    _previous_record,
    accumulate,
    checkpoint,
    finish_record,
    keep_checkpoints,
    record_fallback,
    resume,
    run_one,
    start_record,
    stop_reason,
    write_last_words,
)
from bench.store import RunDir, decide, move_aside, read_jsonl
from variants.base import LossOut


class Stacked(nn.Module):
    """K modules of one architecture as one: every parameter and buffer stacked on a leading axis.

    `parameters()` yields the stacked parameters (so an optimizer over them, or a variant's
    after_critic_step clipping them, treats each member's entries as that member's own);
    `member(p, b)` is one member's forward, for use inside vmap.
    """

    def __init__(self, modules: list[nn.Module]):
        super().__init__()
        params, buffers = stack_module_state(modules)
        self.param_names, self.buffer_names = list(params), list(buffers)
        for name, p in params.items():
            self.register_parameter(_key(name), nn.Parameter(p.detach().clone()))
        for name, b in buffers.items():
            self.register_buffer(_key(name), b.detach().clone())
        # The structure to call with each member's tensors (kept out of this module's parameters),
        # and its closed-form input gradient as a module, where it has one (see Member).
        base = copy.deepcopy(modules[0]).to("meta")
        self._base = [base, _InputGradient(base) if hasattr(base, "input_gradient") else None]

    def params(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, _key(n)) for n in self.param_names}

    def buffers_by_name(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, _key(n)) for n in self.buffer_names}

    def member(self, params: dict, buffers: dict) -> "Member":
        """One member's module as a function (its tensors: slices of the stacked ones, inside vmap)."""
        return Member(*self._base, params, buffers)

    def forward(self, x: torch.Tensor):
        """[K, N, ...] -> each member applied to its own slice."""
        return vmap(lambda p, b, xi: self.member(p, b)(xi))(self.params(), self.buffers_by_name(), x)

    @torch.no_grad()
    def copy_into(self, k: int, module: nn.Module) -> None:
        """Member k's current parameters and buffers -> `module` (a member's own copy)."""
        own = dict(module.named_parameters())
        for n in self.param_names:
            own[n].copy_(getattr(self, _key(n))[k])
        own_b = dict(module.named_buffers())
        for n in self.buffer_names:
            own_b[n].copy_(getattr(self, _key(n))[k])


class Member:
    """One member's module, called with its own tensors (functional_call). Where the module has its
    input gradient in closed form (bench.arch.mlp.VectorCritic.input_gradient, which the gradient
    penalty uses in place of a double backward), the member has it too, with its own weights."""

    def __init__(self, base: nn.Module, input_gradient: nn.Module | None, params: dict, buffers: dict):
        self.base, self.tensors = base, (params, buffers)
        if input_gradient is not None:
            prefixed = tuple({f"of.{k}": v for k, v in t.items()} for t in self.tensors)
            self.input_gradient = lambda x: functional_call(input_gradient, prefixed, (x,))

    def __call__(self, *args):
        return functional_call(self.base, self.tensors, args)


class _InputGradient(nn.Module):
    """A module's input_gradient as a forward, which is what functional_call calls."""

    def __init__(self, of: nn.Module):
        super().__init__()
        self.of = of

    def forward(self, x):
        return self.of.input_gradient(x)


def _key(name: str) -> str:
    return name.replace(".", "__")  # attribute names cannot contain dots


def _flat_params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for g in opt.param_groups for p in g["params"]]


def _is_per_element(v, like: torch.Tensor) -> bool:
    """Optimizer state shaped like its parameter (Adam's moments, RMSprop's averages), as opposed to
    scalars shared by all elements (the step count, the same for every member of a pack)."""
    return torch.is_tensor(v) and v.shape == like.shape


def stack_optimizer_state(stacked: torch.optim.Optimizer, members: list[torch.optim.Optimizer]) -> None:
    """Resumed members' optimizer states -> the stacked optimizer's."""
    member_params = [_flat_params(o) for o in members]
    for j, p in enumerate(_flat_params(stacked)):
        states = [o.state.get(ps[j]) for o, ps in zip(members, member_params)]
        if not any(states):
            continue
        ref, like = states[0], member_params[0][j]
        stacked.state[p] = {k: torch.stack([s[k] for s in states]) if _is_per_element(v, like) else copy.deepcopy(v)
                            for k, v in ref.items()}


def unstack_optimizer_state(stacked: torch.optim.Optimizer, k: int, member: torch.optim.Optimizer) -> None:
    """Member k's slice of the stacked optimizer state -> its own optimizer (for its checkpoint)."""
    for p, own in zip(_flat_params(stacked), _flat_params(member)):
        if p in stacked.state:
            member.state[own] = {n: v[k].clone() if torch.is_tensor(v) and v.shape == p.shape else
                                 (v.clone() if torch.is_tensor(v) else v) for n, v in stacked.state[p].items()}
    set_capturable(member, False)  # as a single run's eager optimizer keeps it (step count on the host)


class PackedTrainer:
    """Trains K member Trainers (same config, different seeds) as one; same step protocol as Trainer."""

    def __init__(self, members: list[Trainer]):
        m0 = members[0]
        self.members, self.K = members, len(members)
        self.cfg, self.device, self.variant, self.dataset = m0.cfg, m0.device, m0.variant, m0.dataset
        self.G = Stacked([m.G for m in members])
        self.D = Stacked([m.D for m in members])
        self.opt_g, self.opt_d = self.variant.optimizers(self.G, self.D)
        stack_optimizer_state(self.opt_g, [m.opt_g for m in members])
        stack_optimizer_state(self.opt_d, [m.opt_d for m in members])
        self.step = m0.step
        self.train_s = 0.0  # this pack's training time; each member adds it to its own
        self.member_train_s0 = [m.train_s for m in members]
        # loss sums carried over from a resumed checkpoint (all members hold the same keys)
        self.acc_d = {k: torch.stack([m.acc_d[k] for m in members]) for k in m0.acc_d}
        self.acc_g = {k: torch.stack([m.acc_g[k] for m in members]) for k in m0.acc_g}
        self.n_d, self.n_g = m0.n_d, m0.n_g
        self.compile_mode, self.compile_why = m0.compile_mode, m0.compile_why
        self.stepper: Stepper | None = None

    # -- the hot loop: Trainer's own step protocol, on [K, ...] tensors ---------------------------
    # (it only touches stepper, variant, step and the counters, which a pack has as a Trainer does;
    # critic_steps(step) is the same for every member)
    train_step = Trainer.train_step

    def _latents(self, n: int) -> torch.Tensor:
        return torch.stack([m._latents(n) for m in self.members])

    def critic_step(self) -> None:
        B = self.cfg.schedule.batch_size
        real = torch.stack([self.dataset.sample(B, m.streams["data"]) for m in self.members])
        noise = [m.variant.critic_noise(real[i]) for i, m in enumerate(self.members)]  # each from its own stream
        out = self.critic_forward(real, self._latents(B), None if noise[0] is None else torch.stack(noise))
        self.opt_d.zero_grad(set_to_none=True)
        out.total.sum().backward()  # members' losses are independent: each gets its own gradient
        self.opt_d.step()
        self.variant.after_critic_step(self.D)  # VARIANT HOOK: elementwise, so per member
        accumulate(self.acc_d, out.parts)

    def critic_forward(self, real: torch.Tensor, z: torch.Tensor, noise: torch.Tensor | None) -> LossOut:
        G, D, variant = self.G, self.D, self.variant

        def member(pg, bg, pd, bd, real, z, noise):
            with torch.no_grad():
                fake = G.member(pg, bg)(z)
            return variant.critic_loss(D.member(pd, bd), real, fake, noise)  # VARIANT HOOK, per member

        in_dims = (0, 0, 0, 0, 0, 0, None if noise is None else 0)
        return vmap(member, in_dims=in_dims)(G.params(), G.buffers_by_name(), D.params(), D.buffers_by_name(),
                                             real, z, noise)

    def generator_step(self) -> None:
        self.D.requires_grad_(False)
        out = self.generator_forward(self._latents(self.cfg.schedule.batch_size))
        self.opt_g.zero_grad(set_to_none=True)
        out.total.sum().backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        accumulate(self.acc_g, out.parts)

    def generator_forward(self, z: torch.Tensor) -> LossOut:
        G, D, variant = self.G, self.D, self.variant

        def member(pg, bg, pd, bd, z):
            return variant.generator_loss(D.member(pd, bd), G.member(pg, bg)(z))  # VARIANT HOOK, per member

        return vmap(member)(G.params(), G.buffers_by_name(), D.params(), D.buffers_by_name(), z)

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_d, self.opt_g]

    def generators(self) -> list[torch.Generator]:
        return [g for m in self.members for g in m.generators()]

    def reset_accumulators(self) -> None:
        for v in [*self.acc_d.values(), *self.acc_g.values()]:
            v.zero_()  # in place, as Trainer's (a captured step adds into them)
        self.n_d = self.n_g = 0

    @torch.no_grad()
    def sync_members(self) -> None:
        """Copy each member's slice of everything back into its Trainer (to evaluate and checkpoint)."""
        for k, m in enumerate(self.members):
            self.G.copy_into(k, m.G)
            self.D.copy_into(k, m.D)
            unstack_optimizer_state(self.opt_g, k, m.opt_g)
            unstack_optimizer_state(self.opt_d, k, m.opt_d)
            m.step, m.train_s = self.step, self.member_train_s0[k] + self.train_s
            m.acc_d = {n: v[k].clone() for n, v in self.acc_d.items()}
            m.acc_g = {n: v[k].clone() for n, v in self.acc_g.items()}
            m.n_d, m.n_g = self.n_d, self.n_g


# -- running packs -----------------------------------------------------------------------------------
def plan_packs(cfgs: list[RunConfig]) -> list[list[RunConfig]]:
    """Split runs into packs: runs whose configs differ only in seed, in order, at most `pack` each."""
    groups: dict[RunConfig, list[RunConfig]] = {}
    for cfg in cfgs:
        groups.setdefault(dataclasses.replace(cfg, seed=0), []).append(cfg)
    packs = []
    for members in groups.values():
        k = members[0].speed.pack
        packs.extend(members[i : i + k] for i in range(0, len(members), k))
    return packs


def run_many(cfgs: list[RunConfig], root: Path, name: str, force: bool = False,
             progress: bool = True) -> Iterator[tuple[RunConfig, RunResult]]:
    """Every run, packed where its config asks (`--pack K`), one by one otherwise."""
    for pack in plan_packs(cfgs):
        yield from run_pack(pack, root, name, force=force, progress=progress)


@dataclass
class _Member:
    cfg: RunConfig
    run: RunDir
    config: dict
    action: str
    trainer: Trainer | None = None
    record: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    ckpts: Checkpoints | None = None
    ckpt_problems: str | None = None
    previous: dict | None = None  # the run.json this run replaces (its attempts go on, bench.attempts)
    since: int = 0  # the last step known finite (bench.divergence)
    last_finite: dict | None = None


def run_pack(cfgs: list[RunConfig], root: Path, name: str, force: bool = False, progress: bool = True,
             stop: Callable[[], bool] | None = None) -> list[tuple[RunConfig, RunResult]]:
    """Train (or resume, or skip) runs that differ only in seed as packs; each member's run directory
    ends up as if it had run alone. A single run is bench.runner.run_one's. `stop` is run_one's: polled
    between generator steps; when it says so every member checkpoints there and is "interrupted"."""
    if len(cfgs) == 1:
        return [(cfgs[0], run_one(cfgs[0], root, name, force=force, progress=progress, stop=stop))]
    results: dict[str, RunResult] = {}
    todo: list[_Member] = []
    for cfg in cfgs:  # decide every member first: a clash raises before anything is moved or written
        run = RunDir(root / name / cfg.run_id)
        config = cfg.to_dict()
        action = decide(run, config, force)
        if action == "skip":
            results[cfg.run_id] = run_one(cfg, root, name, force=False, progress=False)
        else:
            todo.append(_Member(cfg, run, config, action))
    locked: list[RunDir] = []
    try:
        for m in todo:
            if m.action == "replace":
                move_aside(m.run)
            m.run.path.mkdir(parents=True, exist_ok=True)
            m.run.lock()
            locked.append(m.run)
        for i, m in enumerate(todo):
            # one data set for all members: the first member's, built as a single run builds it
            m.previous = _previous_record(m.run)
            m.trainer = Trainer(m.cfg, dataset=todo[0].trainer.dataset if i else None)
            m.ckpts = Checkpoints(m.run.path)
            m.action, m.ckpt_problems = resume(m.trainer, m.ckpts, m.run, m.action)  # as a single run resumes
            m.since, m.last_finite = m.trainer.step, (read_jsonl(m.run.metrics) or [None])[-1]
        by_step: dict[int, list[_Member]] = {}
        for m in todo:  # members resumed from different steps cannot share a pack
            by_step.setdefault(m.trainer.step, []).append(m)
        with sigterm_interrupts():  # `kill PID` -> a clean interruption of every member (bench.faults)
            for group in by_step.values():
                if stop is not None and stop():
                    break  # interrupted between packs: the rest resume from where they are when run again
                for m, result in zip(group, _train_pack(group, progress, stop)):
                    results[m.cfg.run_id] = result
    finally:
        for run in locked:
            run.unlock()
    return [(cfg, results[cfg.run_id]) for cfg in cfgs if cfg.run_id in results]


def _train_pack(members: list[_Member], progress: bool, stop: Callable[[], bool] | None) -> list[RunResult]:
    """The loop of bench.runner._train, for a pack: one step trains every member; at each evaluation
    step every member still running evaluates, checkpoints and writes its own files."""
    pack = PackedTrainer([m.trainer for m in members])
    seeds = [m.cfg.seed for m in members]
    for i, m in enumerate(members):
        m.run.samples.mkdir(exist_ok=True)
        m.record = start_record(m.cfg, m.trainer, m.config, m.action, m.previous)
        m.record["speed"].update(pack=len(members), pack_seeds=seeds, pack_index=i)
        if m.ckpt_problems:
            m.record["checkpoint_problems"] = m.ckpt_problems
        m.run.write(m.record)

    cfg = members[0].cfg
    eval_steps, steps = set(cfg.schedule.eval_steps()), cfg.schedule.steps
    refresh = max(1, steps // 100)
    start_step, seg_start = pack.step, time.perf_counter()
    start_train_s = [m.trainer.train_s for m in members]
    live = list(range(len(members)))
    status = "done"
    cadence = Cadence(cfg.ckpt)  # checkpoints between evaluations, as bench.runner._train

    def diverged(i: int, where: str, keys: list[str]) -> None:  # member i stops, as it would alone
        m = members[i]
        live.remove(i)
        if where != "evaluation":  # a member's own step and time are brought up to date at evaluations only
            m.trainer.step = pack.step
            m.trainer.train_s = pack.member_train_s0[i] + pack.train_s + time.perf_counter() - t0
        m.record["divergence"] = divergence_record(pack.step, m.since, where, keys, m.last_finite)
        finish_record(m.record, m.trainer, "diverged", start_step, start_train_s[i], seg_start)
        m.run.write(m.record)

    bar = tqdm(total=steps, initial=pack.step, desc=f"{cfg.run_id} (+{len(members) - 1} packed)", unit="step",
               disable=not progress, dynamic_ncols=True, leave=True)
    try:
        t0 = time.perf_counter()
        while pack.step < steps and live:
            pack.train_step()
            bar.update(1)
            if pack.stepper.fallback is not None and "fallback" not in members[0].record["speed"]:
                for m in members:
                    record_fallback(m.run, m.record, pack.stepper.fallback)
            if pack.step in eval_steps:
                if pack.device.type == "cuda":
                    torch.cuda.synchronize(pack.device)
                pack.train_s += time.perf_counter() - t0
                pack.sync_members()
                for i in list(live):
                    m, trainer = members[i], members[i].trainer
                    t1 = time.perf_counter()
                    row = trainer.evaluate(m.run.samples / f"step_{trainer.step:07d}")
                    trainer.eval_s += time.perf_counter() - t1
                    row["wall_s"] = round(trainer.train_s + trainer.eval_s, 3)
                    m.run.append_metrics(row)
                    m.last = row
                    if not _finite(row):  # this member stops, as it would alone; the others go on
                        diverged(i, "evaluation", nonfinite_row_keys(row))
                    else:
                        m.since, m.last_finite = pack.step, row
                        checkpoint(trainer, m.ckpts, m.run, m.record)
                        save_generator(trainer.G, m.run.path, trainer.step)  # for `bench eval`, as alone
                cadence.saved()
                pack.reset_accumulators()
                bar.set_postfix(gap=_fmt(members[0].last.get("critic_gap")))
                t0 = time.perf_counter()
                evaluated = True
            else:
                evaluated = False
            stopping = stop is not None and pack.step < steps and stop()  # as bench.runner._train
            saving = not evaluated and (stopping or cadence.due(pack.step))
            if not evaluated and (saving or pack.step % refresh == 0):
                sums = poll(pack.acc_d, pack.acc_g, pack.n_d)  # one host sync for every member
                for i in list(live):
                    if sums.nonfinite(i):
                        diverged(i, "training losses", sums.nonfinite(i))
                    else:
                        members[i].since = pack.step
                if progress:
                    bar.set_postfix(gap=_fmt(sums.running_gap()), refresh=False)
            if saving and live:
                pack.train_s += time.perf_counter() - t0
                pack.sync_members()  # the loss sums since the last evaluation go into the checkpoints
                for i in live:
                    checkpoint(members[i].trainer, members[i].ckpts, members[i].run, members[i].record)
                cadence.saved()
                t0 = time.perf_counter()
            if stopping:
                status = "interrupted"
                for i in live:
                    members[i].record["interrupted_by"] = stop_reason(stop)
                break
    except BaseException as exc:
        # as bench.runner._train: Ctrl-C or a scheduler's exit is an interruption, anything else a failure
        failed = not isinstance(exc, (KeyboardInterrupt, SystemExit))
        for i in live:
            m = members[i]
            m.record.update({"status": "failed" if failed else "interrupted", "step": pack.step,
                             "error" if failed else "interrupted_by": f"{type(exc).__name__}: {exc}",
                             "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            attempts.end(m.record, attempts.how(m.record["status"], m.record))
            write_last_words(m.run, m.record, m.ckpts, failed)
        raise
    finally:
        bar.close()
    for i in live:
        m = members[i]
        finish_record(m.record, m.trainer, status, start_step, start_train_s[i], seg_start)
        m.run.write(m.record)
    for m in members:
        if m.record["status"] in ("done", "diverged"):
            keep_checkpoints(m.run, m.cfg.ckpt.keep, m.record)  # as a run alone (bench.runner)
    return [RunResult(m.cfg.run_id, m.run.path, m.record["status"], m.action, m.last,
                      m.record["timings"]["steps_per_s"]) for m in members]
