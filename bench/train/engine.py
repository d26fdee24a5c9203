"""The engine: one generator step of a run (preceded by the variant's critic steps), and nothing else.

Per critic step it draws a real batch, the variant's noise and a latent batch from the run's seeded
streams on the device, computes the variant's critic loss, backpropagates, steps the optimizer and
applies the variant's constraint; then one generator step the same way. Loss parts are added into
device-side sums in place; nothing is read back to the host, so bench.train.capture can run a step
eagerly, compile its forward parts, or capture it whole as a CUDA graph.

`Steps` is what the single-run engine (here) and the packed engine (bench.train.packed) share: the
step protocol, the counters, and how their state reaches the members. Speed is decided here, not in
the variant: where the critic treats each sample on its own and the variant's loss is a function of
the two batches' scores, both batches are scored in one call (`joint`).
"""

from __future__ import annotations

import torch
from torch import nn

from bench.train.capture import Stepper
from bench.train.member import Member
from variants.base import LossOut


def scores_samples_independently(D: nn.Module) -> bool:
    """True when D(cat([a, b])) computes what cat([D(a), D(b)]) does: no layer mixes the samples of a
    batch (batch norm) or keeps running statistics, and no call changes state or runs hooks (spectral
    norm's power iteration runs once per call)."""
    from torch.nn.utils import parametrize

    for m in D.modules():
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)) \
                or getattr(m, "track_running_stats", False):
            return False
        if m._forward_pre_hooks or m._forward_hooks or parametrize.is_parametrized(m):
            return False
    return True


def critic_loss(variant, D, real: torch.Tensor, fake: torch.Tensor, noise, joint: bool) -> LossOut:
    """The variant's critic loss; with `joint`, its two batches scored in one call: the same numbers
    (up to float rounding) from one matrix product per layer instead of two plus a sum of their weight
    gradients."""
    if joint:
        s = variant.score(D, torch.cat([real, fake]))
        return variant.critic_loss_given_scores(D, real, fake, noise, s[: real.shape[0]], s[real.shape[0]:])
    return variant.critic_loss(D, real, fake, noise)  # VARIANT HOOK: critic loss (+ penalty)


def generator_loss(variant, D, fake: torch.Tensor, real: torch.Tensor | None) -> LossOut:
    if variant.generator_needs_real:
        return variant.generator_loss(D, fake, real)  # VARIANT HOOK: a relativistic loss
    return variant.generator_loss(D, fake)  # VARIANT HOOK: generator loss


def accumulate(acc: dict[str, torch.Tensor], parts: dict[str, torch.Tensor]) -> None:
    """acc[k] += parts[k], in place, so the sums keep their addresses (see Member.reset_sums)."""
    for k, v in parts.items():
        if k not in acc:
            acc[k] = torch.zeros_like(v)
        acc[k].add_(v)


class Steps:
    """The step protocol of an engine over K >= 1 members; subclasses provide critic_step,
    generator_step, their forwards, and `sync()` (the engine's state back into the members)."""

    def __init__(self, members: list[Member]):
        m0 = members[0]
        self.members, self.K = members, len(members)
        self.cfg, self.device, self.variant, self.dataset = m0.cfg, m0.device, m0.variant, m0.dataset
        self.step, self.n_d, self.n_g = m0.step, m0.n_d, m0.n_g
        self.train_s = 0.0  # trained by this engine; each member adds it to what it had (sync)
        self.member_train_s0 = [m.train_s for m in members]
        self.compile_mode = m0.compile_mode
        self.label = m0.cfg.run_id + (f" (+{self.K - 1} packed)" if self.K > 1 else "")
        self.stepper: Stepper | None = None

    def train_step(self) -> None:
        """One generator step, preceded by the variant's number of critic steps. No host syncs."""
        if self.stepper is None:
            self.stepper = Stepper(self, self.compile_mode)
        for _ in range(self.variant.critic_steps(self.step)):  # VARIANT HOOK: critic steps per G step
            self.stepper.critic()  # (the same number for every member of a pack)
            self.n_d += 1
        self.stepper.generator()
        self.n_g += 1
        self.step += 1

    def generators(self) -> list[torch.Generator]:
        """Every random stream a step draws from (a CUDA graph must know them)."""
        return [g for m in self.members for g in m.streams.values()]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_d, self.opt_g]

    def sync(self) -> None:
        """Bring each member's step, counters and time up to the engine's (to evaluate or checkpoint it)."""
        for k, m in enumerate(self.members):
            m.step, m.n_d, m.n_g = self.step, self.n_d, self.n_g
            m.train_s = self.member_train_s0[k] + self.train_s

    def reset_sums(self) -> None:
        self.n_d = self.n_g = 0


class Engine(Steps):
    """One run's steps (K = 1), on the member's own networks, optimizers and loss sums."""

    def __init__(self, member: Member):
        super().__init__([member])
        self.member = member
        self.G, self.D, self.opt_g, self.opt_d = member.G, member.D, member.opt_g, member.opt_d
        self.joint = self.variant.scores_both_batches() and scores_samples_independently(self.D)

    @property
    def acc_d(self) -> dict[str, torch.Tensor]:
        return self.member.acc_d

    @property
    def acc_g(self) -> dict[str, torch.Tensor]:
        return self.member.acc_g

    def critic_step(self) -> None:
        m = self.member
        real = m.real_batch()
        noise = self.variant.critic_noise(real)  # VARIANT HOOK: randomness the loss needs (GP's eps)
        out = self.critic_forward(real, m.latents(self.cfg.schedule.batch_size), noise)
        self.opt_d.zero_grad(set_to_none=True)
        out.total.backward()
        self.opt_d.step()
        self.variant.after_critic_step(self.D)  # VARIANT HOOK: constraint (e.g. clipping)
        accumulate(m.acc_d, out.parts)

    def critic_forward(self, real: torch.Tensor, z: torch.Tensor, noise: torch.Tensor | None) -> LossOut:
        with torch.no_grad():
            fake = self.G(z)
        return critic_loss(self.variant, self.D, real, fake, noise, self.joint)

    def generator_step(self) -> None:
        m = self.member
        self.D.requires_grad_(False)  # the generator step needs no critic parameter gradients
        z = m.latents(self.cfg.schedule.batch_size)
        out = self.generator_forward(z, m.real_batch("real_g") if self.variant.generator_needs_real else None)
        self.opt_g.zero_grad(set_to_none=True)
        out.total.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        accumulate(m.acc_g, out.parts)

    def generator_forward(self, z: torch.Tensor, real: torch.Tensor | None = None) -> LossOut:
        return generator_loss(self.variant, self.D, self.G(z), real)

    def reset_sums(self) -> None:
        super().reset_sums()
        self.member.reset_sums()
