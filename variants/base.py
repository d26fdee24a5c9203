"""The variant interface: a variant states its hyperparameters and its losses; the runner owns the loop.

A variant never calls backward() or step(). The runner asks it, in order:
    critic_steps(gen_step)        how many critic updates before this generator update
    prepare_critic(D)             once, before training (e.g. spectral normalization)
    critic_noise(real)            random numbers the critic loss needs (e.g. GP's eps), or None
    critic_loss(D, real, fake, noise)  -> LossOut, backpropagated into D
    after_critic_step(D)          after each critic update (e.g. weight clipping)
    generator_loss(D, fake)       -> LossOut, backpropagated into G
and `score(D, x)` gives the critic's "realness" per sample (higher = more real); the runner records
E[score(real)] - E[score(fake)] on held-out data for every variant as `critic_gap`.

Inside critic_loss and generator_loss, D is only ever called (D(x)); the runner may pass a module or,
for packed runs (bench.packed), a function that evaluates one member's critic. Randomness a loss
needs is drawn by critic_noise, outside the loss, from the run's own stream, so that K packed runs
each draw theirs from their own stream exactly as they would alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn


class LossOut(NamedTuple):
    """A loss to backpropagate and its named parts (detached scalars, logged for every variant)."""

    total: Tensor
    parts: dict[str, Tensor]


@dataclass(frozen=True)
class Hyper:
    """Hyperparameters common to every variant; subclasses add their knobs and paper defaults.

    Every field can be overridden from the command line with `--set name=value`.
    """

    optimizer: str = "adam"  # adam | rmsprop
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    n_critic: int = 1  # critic updates per generator update

    def problems(self) -> list[str]:
        """What is wrong with these values, as '<name>=<value>: <why>' strings (empty when valid)."""
        out = []
        if self.optimizer not in ("adam", "rmsprop"):
            out.append(f"optimizer={self.optimizer}: must be adam or rmsprop")
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                out.append(f"{name}={getattr(self, name)}: must be > 0")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"{name}={getattr(self, name)}: must be in [0, 1)")
        if self.n_critic < 1:
            out.append(f"n_critic={self.n_critic}: must be >= 1")
        return out


class Variant:
    """Base class. Subclasses set the class attributes and implement `critic_loss_from_scores`
    and `generator_loss_from_scores` (or override `critic_loss` / `generator_loss`)."""

    name: ClassVar[str]
    Hyper: ClassVar[type[Hyper]] = Hyper
    critic_kind: ClassVar[str] = "scalar"  # "scalar" (D: x -> [N]) or "autoencoder" (D: x -> (recon, code))
    # True where E[D(x)] - E[D(G(z))] is, by the variant's theory, a (scaled) Wasserstein-1 estimate.
    estimates_wasserstein: ClassVar[bool] = False
    gap_meaning: ClassVar[str] = ""  # what the critic gap is for this variant, written into run.json
    # Normalization the critic may not use, and what replaces it (recorded in run.json).
    critic_norm_rule: ClassVar[dict[str, str]] = {}
    # False for a variant whose losses cannot run once per member under torch.func.vmap (e.g. they
    # draw random numbers inside the loss instead of in critic_noise); `--pack` refuses it.
    packable: ClassVar[bool] = True

    def __init__(self, hp: Hyper, rng: torch.Generator | None = None):
        self.hp = hp
        self.rng = rng  # the run's seeded stream, for any randomness inside a loss (e.g. GP's eps)
        # Set by the runner: the critic may score real and fake batches in one call (see score_pair).
        self.score_jointly = False

    # -- schedule ------------------------------------------------------------------------------
    def critic_steps(self, gen_step: int) -> int:
        """Critic updates to run before generator update number `gen_step` (0-based)."""
        return self.hp.n_critic

    # -- constraints ---------------------------------------------------------------------------
    def prepare_critic(self, D: nn.Module) -> nn.Module:
        return D

    @torch.no_grad()
    def after_critic_step(self, D: nn.Module) -> None:
        pass

    # -- losses --------------------------------------------------------------------------------
    def score(self, D: nn.Module, x: Tensor) -> Tensor:
        """Per-sample realness, shape [N]."""
        return D(x).view(-1)

    def critic_noise(self, real: Tensor) -> Tensor | None:
        """Random numbers critic_loss needs for this batch, drawn from self.rng (None: it needs none)."""
        return None

    def score_pair(self, D: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """score(D, real), score(D, fake). With score_jointly, one call on both batches: the same
        numbers (up to float rounding) from one matrix product per layer instead of two plus a sum of
        their weight gradients; the runner sets it only for a critic that treats each sample on its
        own and has no per-call state (scores_samples_independently)."""
        if self.score_jointly:
            s = self.score(D, torch.cat([real, fake]))
            return s[: real.shape[0]], s[real.shape[0]:]
        return self.score(D, real), self.score(D, fake)

    def critic_loss(self, D: nn.Module, real: Tensor, fake: Tensor, noise: Tensor | None = None) -> LossOut:
        s_real, s_fake = self.score_pair(D, real, fake)
        loss = self.critic_loss_from_scores(s_real, s_fake)
        parts = {"d_loss": loss.detach(), "gap": (s_real.mean() - s_fake.mean()).detach()}
        penalty = self.penalty(D, real, fake, noise)
        if penalty is not None:
            parts["penalty"] = penalty.detach()
            loss = loss + penalty
        return LossOut(loss, parts)

    def generator_loss(self, D: nn.Module, fake: Tensor) -> LossOut:
        loss = self.generator_loss_from_scores(self.score(D, fake))
        return LossOut(loss, {"g_loss": loss.detach()})

    def penalty(self, D: nn.Module, real: Tensor, fake: Tensor, noise: Tensor | None = None) -> Tensor | None:
        """An extra critic term, already weighted (e.g. the gradient penalty); None for no term.
        `noise` is critic_noise(real) (drawn here when the caller passes None)."""
        return None

    def critic_loss_from_scores(self, s_real: Tensor, s_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def generator_loss_from_scores(self, s_fake: Tensor) -> Tensor:
        raise NotImplementedError

    # -- optimizers ----------------------------------------------------------------------------
    def optimizers(self, G: nn.Module, D: nn.Module) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
        hp = self.hp
        if hp.optimizer == "rmsprop":
            return torch.optim.RMSprop(G.parameters(), lr=hp.lr_g), torch.optim.RMSprop(D.parameters(), lr=hp.lr_d)
        betas = (hp.beta1, hp.beta2)
        # PyTorch's fused Adam: the same update in one kernel (CUDA) or one pass per tensor (CPU), instead of
        # the default foreach implementation's dozen kernels and temporaries per step; it also captures into
        # a CUDA graph (bench.capture sets capturable=True).
        return (
            torch.optim.Adam(G.parameters(), lr=hp.lr_g, betas=betas, fused=True),
            torch.optim.Adam(D.parameters(), lr=hp.lr_d, betas=betas, fused=True),
        )

    @classmethod
    def describe(cls) -> dict:
        """What run.json records about the variant beyond its hyperparameters."""
        return {
            "critic_kind": cls.critic_kind,
            "estimates_wasserstein": cls.estimates_wasserstein,
            "gap_meaning": cls.gap_meaning,
            "critic_norm_rule": dict(cls.critic_norm_rule),
        }


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


def hyper_fields(cls: type[Hyper]) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}
